//! Stacks: which pages of a batch entry are separator sheets, and where its documents begin
//! (SPEC §6).
//!
//! A page is looked at only as far as the profile's `split_on` needs: the patch reader
//! (cheap, ~15 ms a page) for `patch_*` and `cover`, the barcode readers for `barcode:TEXT`,
//! and for a cover sheet the 2D barcode only on pages whose Patch T bars were found (a cover
//! sheet carries both). [`split_stack`] then turns the page marks into documents: a separator
//! starts the next document; pages before the first separator are a document of their own;
//! two separators in a row make no empty document but a notice; a page whose patch bars could
//! not be read stays a page and is flagged.
//!
//! Document ids: the `n`-th document of a stack whose entry id is `E` is `E_n` (1-based, in
//! stack order), e.g. `scan0001_1`, `scan0001_2`. The number depends only on the sheets of the
//! stack, so re-running the same stack gives the same ids; an entry with no separator keeps its
//! id `E` unchanged. Two entries' ids cannot collide unless an entry is itself named `E_n`,
//! which [`split_ids_collide`] finds so intake can refuse the batch.

use std::collections::BTreeMap;

use crate::barcode::patch::{PatchCode, PatchRead};
use crate::barcode::{Barcode, Symbology};
use crate::image::GrayImage;
use crate::profile::SplitOn;

/// The first line of a cover sheet's payload; the number is the payload format's version.
pub const COVER_MAGIC: &str = "RESISCAN-COVER/1";

/// What a cover sheet carries: the e-file and index fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CoverPayload {
    pub efile: String,
    pub fields: BTreeMap<String, String>,
}

impl CoverPayload {
    /// The payload text (format version 1):
    ///
    /// ```text
    /// RESISCAN-COVER/1
    /// efile=<e-file id>
    /// <field>=<value>        one line per field, in name order
    /// ```
    ///
    /// Ids, names and values are UTF-8; `%`, `=`, CR and LF inside them are written `%25`,
    /// `%3D`, `%0D`, `%0A`.
    pub fn encode(&self) -> String {
        let mut out = format!("{COVER_MAGIC}\nefile={}", escaped(&self.efile));
        for (k, v) in &self.fields {
            out.push_str(&format!("\n{}={}", escaped(k), escaped(v)));
        }
        out
    }

    /// The payload read back; `None` when the text is not a version-1 cover payload.
    pub fn decode(text: &str) -> Option<CoverPayload> {
        let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
        if lines.next()? != COVER_MAGIC {
            return None;
        }
        let (k, efile) = lines.next()?.split_once('=')?;
        if k != "efile" {
            return None;
        }
        let mut fields = BTreeMap::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (k, v) = line.split_once('=')?;
            fields.insert(unescaped(k)?, unescaped(v)?);
        }
        Some(CoverPayload {
            efile: unescaped(efile)?,
            fields,
        })
    }
}

fn escaped(s: &str) -> String {
    s.replace('%', "%25")
        .replace('=', "%3D")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn unescaped(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3)?;
        out.push(match code {
            "25" => '%',
            "3D" => '=',
            "0D" => '\r',
            "0A" => '\n',
            _ => return None,
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// Why `coversheet` refuses to print a sheet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoverRefusal {
    #[error("the profile has no e-file '{0}' (its e-files: {1})")]
    UnknownEfile(String, String),
    #[error("--field '{0}' is not NAME=VALUE")]
    NotNameValue(String),
    #[error("e-file '{efile}' defines no field '{field}' (its fields: {known})")]
    UnknownField {
        efile: String,
        field: String,
        known: String,
    },
    #[error("field '{field}': value '{value}' is not what the field's pattern '{pattern}' reads")]
    Rejected {
        field: String,
        value: String,
        pattern: String,
    },
    #[error("field '{0}' is given twice")]
    Twice(String),
}

/// The payload for `coversheet`: the e-file and fields checked against the profile (an
/// e-file it defines, fields that e-file defines, values its patterns would read).
pub fn cover_payload_for(
    profile: &crate::profile::Profile,
    efile: &str,
    fields: &[String],
) -> Result<CoverPayload, CoverRefusal> {
    let Some(rule) = profile.efiles.iter().find(|r| r.id.value == efile) else {
        let ids: Vec<&str> = profile.efiles.iter().map(|r| r.id.value.as_str()).collect();
        return Err(CoverRefusal::UnknownEfile(efile.into(), ids.join(", ")));
    };
    let mut out = BTreeMap::new();
    for f in fields {
        let Some((name, value)) = f.split_once('=') else {
            return Err(CoverRefusal::NotNameValue(f.clone()));
        };
        let (name, value) = (name.trim(), value.trim());
        if !rule.defines_field(name) {
            let known: Vec<&str> = rule
                .fields
                .keys()
                .chain(rule.barcode_fields.keys())
                .map(String::as_str)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            return Err(CoverRefusal::UnknownField {
                efile: efile.into(),
                field: name.into(),
                known: known.join(", "),
            });
        }
        let accepted = rule
            .barcode_fields
            .get(name)
            .map(|p| group_accepts(&p.value, value))
            .or_else(|| {
                rule.fields
                    .get(name)
                    .map(|p| group_accepts(&p.value, value))
            })
            .unwrap_or(false);
        if !accepted {
            let pattern = rule
                .barcode_fields
                .get(name)
                .or_else(|| rule.fields.get(name))
                .map(|p| p.value.clone())
                .unwrap_or_default();
            return Err(CoverRefusal::Rejected {
                field: name.into(),
                value: value.into(),
                pattern,
            });
        }
        if out.insert(name.to_string(), value.to_string()).is_some() {
            return Err(CoverRefusal::Twice(name.into()));
        }
    }
    Ok(CoverPayload {
        efile: efile.into(),
        fields: out,
    })
}

/// Whether the capture group of a field's pattern (`Aktenzeichen:?\s*(VB-\d{4}-\d{5})`) matches
/// `value` whole: the value is what the group would read from a page.
fn group_accepts(pattern: &str, value: &str) -> bool {
    let Some(inner) = capture_group(pattern) else {
        return false;
    };
    crate::classify::compile_pattern(&format!("^(?:{inner})$"))
        .map(|re| re.is_match(value))
        .unwrap_or(false)
}

/// The text inside the first capturing group of `pattern`.
fn capture_group(pattern: &str) -> Option<&str> {
    let b = pattern.as_bytes();
    let (mut i, mut in_class) = (0, false);
    let mut start = None;
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class => {
                if start.is_none() {
                    let rest = &pattern[i + 1..];
                    let capturing = !rest.starts_with('?')
                        || rest.starts_with("?P<")
                        || (rest.starts_with("?<")
                            && !rest.starts_with("?<=")
                            && !rest.starts_with("?<!"));
                    if capturing {
                        let skip = if rest.starts_with('?') {
                            rest.find('>')? + 1
                        } else {
                            0
                        };
                        start = Some(i + 1 + skip);
                        depth = 0;
                    }
                } else {
                    depth += 1;
                }
            }
            b')' if !in_class => {
                if let Some(s) = start {
                    if depth == 0 {
                        return pattern.get(s..i);
                    }
                    depth -= 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The kind of a separator sheet, as the note and `report.json` name it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum SheetKind {
    Patch(PatchCode),
    Barcode(String),
    Cover(CoverPayload),
}

impl SheetKind {
    /// `patch_t`, `patch_2`, `patch_3`, `barcode`, `cover` (SPEC §6).
    pub fn name(&self) -> &'static str {
        match self {
            SheetKind::Patch(c) => c.name(),
            SheetKind::Barcode(_) => "barcode",
            SheetKind::Cover(_) => "cover",
        }
    }
}

/// What one page of a stack is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageMark {
    /// A page of a document.
    Page,
    /// A page of a document that looks like a damaged separator sheet: kept, flagged.
    Suspect(String),
    /// A separator sheet.
    Sheet(SheetKind),
}

/// The barcodes read on each page of an entry (1-based page within the entry).
pub type PageCodes = BTreeMap<usize, Vec<Barcode>>;

/// Looks at one page for the separators `split_on` asks for, reading no more than that needs.
pub fn page_mark(page: &GrayImage, dpi: u32, split_on: &[SplitOn]) -> PageMark {
    page_mark_and_codes(page, dpi, split_on, false).0
}

/// As [`page_mark`]; with `all_codes` (the profile has barcode fields, which read every page
/// for the four symbologies anyway) the page's barcodes are read once here, used for
/// `barcode:TEXT` and cover sheets, and handed back for the page stage.
pub fn page_mark_and_codes(
    page: &GrayImage,
    dpi: u32,
    split_on: &[SplitOn],
    all_codes: bool,
) -> (PageMark, Option<Vec<Barcode>>) {
    let codes = all_codes.then(|| crate::barcode::read_barcodes(page, dpi, &Symbology::ALL));
    let mark = page_mark_with(page, dpi, split_on, codes.as_deref());
    (mark, codes)
}

fn page_mark_with(
    page: &GrayImage,
    dpi: u32,
    split_on: &[SplitOn],
    codes: Option<&[Barcode]>,
) -> PageMark {
    if split_on.is_empty() {
        return PageMark::Page;
    }
    let wants_cover = split_on.contains(&SplitOn::Cover);
    let wanted_patches: Vec<PatchCode> = split_on
        .iter()
        .filter_map(|s| match s {
            SplitOn::Patch(c) => Some(*c),
            _ => None,
        })
        .collect();
    let texts: Vec<&str> = split_on
        .iter()
        .filter_map(|s| match s {
            SplitOn::Barcode(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let mut suspect = None;
    let mut patch = None;
    if wants_cover || !wanted_patches.is_empty() {
        match crate::barcode::patch::patch_code(page, dpi) {
            PatchRead::Code(c) => patch = Some(c),
            PatchRead::Unrecognised(why) => suspect = Some(why),
            PatchRead::None => {}
        }
    }
    // A cover sheet carries Patch T bars: its QR code is only looked for where they are, so
    // plain pages do not pay for the 2D reader.
    if wants_cover && patch == Some(PatchCode::PatchT) {
        // Scanner noise (specks on the paper) can break the finder patterns at full
        // resolution; binned by two the specks average out and the 0.6 mm modules still have
        // 3–4 px. Only tried on Patch T pages, so cheap.
        let cover = || match codes {
            Some(codes) => codes.iter().find_map(|b| CoverPayload::decode(&b.text)),
            None => crate::barcode::read_barcodes(page, dpi, &[Symbology::Qr])
                .iter()
                .find_map(|b| CoverPayload::decode(&b.text)),
        };
        let binned = || {
            let small = crate::barcode::binned(page, 2);
            let codes = crate::barcode::read_barcodes(&small, dpi / 2, &[Symbology::Qr]);
            codes.iter().find_map(|b| CoverPayload::decode(&b.text))
        };
        if let Some(cover) = cover().or_else(binned) {
            return PageMark::Sheet(SheetKind::Cover(cover));
        }
    }
    if let Some(c) = patch
        && wanted_patches.contains(&c)
    {
        return PageMark::Sheet(SheetKind::Patch(c));
    }
    if !texts.is_empty() {
        let read;
        let codes = match codes {
            Some(c) => c,
            None => {
                read = crate::barcode::read_barcodes(page, dpi, &Symbology::ALL);
                &read[..]
            }
        };
        if let Some(b) = codes.iter().find(|b| texts.contains(&b.text.as_str())) {
            return PageMark::Sheet(SheetKind::Barcode(b.text.clone()));
        }
    }
    match (patch, suspect) {
        // A clean patch code the profile does not split on (Patch 1, 4, 6, or T without
        // `patch_t`): an ordinary page; a patch the operator did not mean is worth a look.
        (Some(c), _) => PageMark::Suspect(format!(
            "a {} patch code that separation.split_on does not list",
            c.name()
        )),
        (None, Some(why)) => PageMark::Suspect(why),
        (None, None) => PageMark::Page,
    }
}

/// A separator sheet found in a stack.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sheet {
    /// 1-based page within the entry.
    pub page: usize,
    pub kind: SheetKind,
}

/// One document of a stack: its pages (1-based within the entry, separators left out unless
/// kept) and the cover sheet that routes it, if one starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackDoc {
    /// 1-based number in the stack (the id's suffix).
    pub number: usize,
    pub pages: Vec<usize>,
    /// The separator that started it.
    pub started_by: Option<Sheet>,
    pub cover: Option<CoverPayload>,
    /// Pages kept but flagged (damaged separator sheets), with the reason.
    pub flagged: Vec<(usize, String)>,
}

/// The documents of a stack, and notices (two separators in a row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub docs: Vec<StackDoc>,
    pub sheets: Vec<Sheet>,
    pub notices: Vec<String>,
}

/// Cuts a stack's pages at its separator sheets (see the module comment).
pub fn split_stack(marks: &[PageMark], keep_sheets: bool) -> Split {
    let mut docs: Vec<StackDoc> = Vec::new();
    let mut sheets = Vec::new();
    let mut notices = Vec::new();
    // The separator read since the last page of a document, waiting for its first page.
    let mut pending: Option<Sheet> = None;
    let mut pending_pages: Vec<usize> = Vec::new();
    let mut current: Option<StackDoc> = None;
    for (i, mark) in marks.iter().enumerate() {
        let page = i + 1;
        match mark {
            PageMark::Sheet(kind) => {
                let sheet = Sheet {
                    page,
                    kind: kind.clone(),
                };
                sheets.push(sheet.clone());
                if let Some(prev) = pending.replace(sheet) {
                    notices.push(format!(
                        "separator sheets on pages {} and {page} follow each other: no empty \
                         document was made between them",
                        prev.page
                    ));
                }
                if keep_sheets {
                    pending_pages.push(page);
                }
                if let Some(doc) = current.take() {
                    docs.push(doc);
                }
            }
            PageMark::Page | PageMark::Suspect(_) => {
                let doc = current.get_or_insert_with(|| {
                    let started_by = pending.take();
                    StackDoc {
                        number: docs.len() + 1,
                        pages: std::mem::take(&mut pending_pages),
                        cover: started_by.as_ref().and_then(|s| match &s.kind {
                            SheetKind::Cover(c) => Some(c.clone()),
                            _ => None,
                        }),
                        started_by,
                        flagged: Vec::new(),
                    }
                });
                doc.pages.push(page);
                if let PageMark::Suspect(why) = mark {
                    doc.flagged.push((page, why.clone()));
                }
            }
        }
    }
    if let Some(doc) = current.take() {
        docs.push(doc);
    }
    if let Some(last) = pending {
        notices.push(format!(
            "separator sheet on page {} ends the stack: no document follows it",
            last.page
        ));
        // Kept sheets with no document after them join the last document, so nothing is lost.
        if keep_sheets && let Some(doc) = docs.last_mut() {
            doc.pages.extend(pending_pages);
        }
    }
    Split {
        docs,
        sheets,
        notices,
    }
}

/// One document cut from a stack, as the pipeline carries it on its [`DocumentSource`].
///
/// [`DocumentSource`]: crate::intake::DocumentSource
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackPart {
    /// The entry's own id (the document's id is `entry_id_number`).
    pub entry_id: String,
    pub number: usize,
    /// Pages of the entry (1-based) that go into this document, in order.
    pub pages: Vec<usize>,
    /// The separator sheets of this part of the stack: the one that starts the document, and
    /// any with no document after them (the stack's end, or twice in a row).
    pub sheets: Vec<crate::note::SeparatorSheet>,
    /// Lines for the note's flags: pages flagged as damaged sheets, notices, cover routing.
    pub flags: Vec<String>,
    /// The cover sheet that starts the document.
    pub cover: Option<CoverPayload>,
}

/// Where each page of the entry is: (source file as the note names it, page in that file).
pub type PageSources = Vec<(String, usize)>;

/// The documents an entry becomes: itself when the stack has no separator sheet (and no
/// flagged page), else one per [`StackDoc`], ids `entry_id_n`.
pub fn stack_parts(entry_id: &str, split: &Split, at: &PageSources) -> Option<Vec<StackPart>> {
    let where_ = |page: usize| {
        at.get(page - 1)
            .map(|(f, p)| format!("{f} page {p}"))
            .unwrap_or_else(|| format!("page {page}"))
    };
    // A sheet is kept when `keep_sheets` made it a page of some document.
    let listed = |s: &Sheet| crate::note::SeparatorSheet {
        kind: s.kind.name().to_string(),
        source: at
            .get(s.page - 1)
            .map(|(f, _)| f.clone())
            .unwrap_or_default(),
        source_page: at.get(s.page - 1).map(|(_, p)| *p).unwrap_or(0),
        stack_page: s.page,
        payload: match &s.kind {
            SheetKind::Patch(_) => None,
            SheetKind::Barcode(t) => Some(t.clone()),
            SheetKind::Cover(c) => Some(c.encode()),
        },
        kept: split.docs.iter().any(|d| d.pages.contains(&s.page)),
    };
    if split.sheets.is_empty() && split.docs.iter().all(|d| d.flagged.is_empty()) {
        return None;
    }
    let parts = split
        .docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut flags = Vec::new();
            let mut sheets = Vec::new();
            if let Some(sheet) = &d.started_by {
                sheets.push(listed(sheet));
            }
            // Sheets with no document after them (the stack's end, or twice in a row) are
            // listed with the document before them, so every sheet is in some note.
            let next_start = split.docs.get(i + 1).and_then(|n| n.started_by.as_ref());
            for s in &split.sheets {
                let after_this = s.page > d.pages.iter().copied().max().unwrap_or(0);
                let before_next = next_start.is_none_or(|n| s.page < n.page);
                let starts_this = d.started_by.as_ref().is_some_and(|x| x.page == s.page);
                if after_this && before_next && !starts_this {
                    sheets.push(listed(s));
                }
            }
            for (page, why) in &d.flagged {
                flags.push(format!(
                    "page {page} of the stack ({}) kept as a page: {why}",
                    where_(*page)
                ));
            }
            if i == 0 {
                flags.extend(split.notices.iter().map(|n| format!("notice: {n}")));
            }
            if let Some(c) = &d.cover {
                flags.push(format!(
                    "routing from cover sheet: {}",
                    c.encode().replace('\n', " | ")
                ));
            }
            StackPart {
                entry_id: entry_id.to_string(),
                number: d.number,
                pages: d.pages.clone(),
                sheets,
                flags,
                cover: d.cover.clone(),
            }
        })
        .collect();
    Some(parts)
}

/// The id of the `number`-th document of the stack `entry_id` (see the module comment).
pub fn split_id(entry_id: &str, number: usize) -> String {
    format!("{entry_id}_{number}")
}

/// Entry ids of one batch that a split id of another entry could take (`a` and `a_2`): such
/// a batch is refused when `separation` is on, naming both.
pub fn split_ids_collide<'a>(ids: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    for &id in ids {
        if let Some((base, n)) = id.rsplit_once('_')
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && let Some(&other) = ids.iter().find(|&&o| o == base)
        {
            out.push((other, id));
        }
    }
    out
}

/// The barcodes found on a page, for `explain` and barcode fields.
pub fn page_barcodes(page: &GrayImage, dpi: u32) -> Vec<Barcode> {
    crate::barcode::read_barcodes(page, dpi, &Symbology::ALL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> PageMark {
        PageMark::Sheet(SheetKind::Patch(PatchCode::PatchT))
    }
    use PageMark::Page as P;

    #[test]
    fn cover_payload_round_trips_with_awkward_values() {
        let p = CoverPayload {
            efile: "bau=amt".into(),
            fields: BTreeMap::from([
                ("az".into(), "VB-2024-00042".into()),
                ("note".into(), "50% off\nline=2".into()),
            ]),
        };
        let text = p.encode();
        assert!(text.starts_with("RESISCAN-COVER/1\nefile=bau%3Damt\n"));
        assert_eq!(CoverPayload::decode(&text), Some(p));
        assert_eq!(CoverPayload::decode("RESISCAN-COVER/2\nefile=x"), None);
        assert_eq!(CoverPayload::decode("PATCHT"), None);
        assert_eq!(
            CoverPayload::decode("RESISCAN-COVER/1\nefile=x\naz=%ZZ"),
            None
        );
    }

    #[test]
    fn coversheet_refuses_what_the_profile_does_not_define_or_read() {
        let profile = crate::profile::parse(
            "name: t\norganisation: o\nprotection: {integrity: normal}\nefiles:\n  - id: bau\n    match: {all: [x]}\n    fields:\n      az: 'Aktenzeichen:?\\s*(VB-\\d{4}-\\d{5})'\n      kd: {barcode: '^K(\\d{6})$'}\n    path: 'B/{az}'\n",
        )
        .unwrap();
        let ok = cover_payload_for(&profile, "bau", &["az=VB-2024-00042".into()]).unwrap();
        assert_eq!(ok.fields["az"], "VB-2024-00042");
        let err = |efile: &str, f: &[&str]| {
            let f: Vec<String> = f.iter().map(|s| s.to_string()).collect();
            cover_payload_for(&profile, efile, &f)
                .unwrap_err()
                .to_string()
        };
        assert!(err("gone", &[]).contains("no e-file 'gone' (its e-files: bau)"));
        assert!(err("bau", &["nr=1"]).contains("defines no field 'nr' (its fields: az, kd)"));
        assert!(err("bau", &["az=VB-24-1"]).contains("value 'VB-24-1'"));
        assert!(err("bau", &["az"]).contains("not NAME=VALUE"));
        // The value is what the group reads: 123456 of a barcode K123456.
        assert!(err("bau", &["kd=K123456"]).contains("value 'K123456'"));
        assert!(cover_payload_for(&profile, "bau", &["kd=123456".into()]).is_ok());
        assert_eq!(
            capture_group(r"A:?\s*(?P<x>V-\d+(?:a|b))"),
            Some(r"V-\d+(?:a|b)")
        );
        assert_eq!(capture_group(r"[(]x(\d)"), Some(r"\d"));
    }

    #[test]
    fn a_stack_without_separators_is_one_document() {
        let s = split_stack(&[P, P, P], false);
        assert_eq!(s.docs.len(), 1);
        assert_eq!(s.docs[0].pages, [1, 2, 3]);
        assert!(s.sheets.is_empty() && s.notices.is_empty());
    }

    #[test]
    fn separators_start_documents_and_leave_the_pdf_unless_kept() {
        // P T P P T P: the first page starts a document without a separator.
        let marks = [P, t(), P, P, t(), P];
        let s = split_stack(&marks, false);
        let pages: Vec<_> = s.docs.iter().map(|d| d.pages.clone()).collect();
        assert_eq!(pages, [vec![1], vec![3, 4], vec![6]]);
        assert_eq!(s.sheets.iter().map(|x| x.page).collect::<Vec<_>>(), [2, 5]);
        assert_eq!(
            s.docs.iter().map(|d| d.number).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let kept = split_stack(&marks, true);
        let pages: Vec<_> = kept.docs.iter().map(|d| d.pages.clone()).collect();
        assert_eq!(pages, [vec![1], vec![2, 3, 4], vec![5, 6]]);
    }

    #[test]
    fn two_separators_in_a_row_make_no_empty_document_but_a_notice() {
        let s = split_stack(&[t(), P, t(), t(), P, t()], false);
        let pages: Vec<_> = s.docs.iter().map(|d| d.pages.clone()).collect();
        assert_eq!(pages, [vec![2], vec![5]]);
        assert_eq!(s.sheets.len(), 4);
        assert_eq!(s.notices.len(), 2, "{:?}", s.notices);
        assert!(s.notices[0].contains("pages 3 and 4"));
        assert!(s.notices[1].contains("page 6 ends the stack"));
        // Kept: every sheet is still in some PDF.
        let k = split_stack(&[t(), P, t(), t(), P, t()], true);
        let all: Vec<usize> = k.docs.iter().flat_map(|d| d.pages.clone()).collect();
        assert_eq!(all, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_damaged_sheet_stays_a_flagged_page() {
        let s = split_stack(&[P, PageMark::Suspect("torn".into()), P], false);
        assert_eq!(s.docs.len(), 1);
        assert_eq!(s.docs[0].pages, [1, 2, 3]);
        assert_eq!(s.docs[0].flagged, [(2, "torn".to_string())]);
    }

    #[test]
    fn a_cover_sheet_routes_the_document_it_starts() {
        let cover = CoverPayload {
            efile: "bauamt".into(),
            fields: BTreeMap::new(),
        };
        let s = split_stack(
            &[
                PageMark::Sheet(SheetKind::Cover(cover.clone())),
                P,
                P,
                t(),
                P,
            ],
            false,
        );
        assert_eq!(s.docs[0].cover.as_ref(), Some(&cover));
        assert_eq!(s.docs[0].pages, [2, 3]);
        assert_eq!(s.docs[1].cover, None);
    }

    #[test]
    fn every_sheet_is_listed_with_its_file_page_payload_and_whether_it_was_kept() {
        let code = PageMark::Sheet(SheetKind::Barcode("PATCHT".into()));
        let cover = CoverPayload {
            efile: "bauamt".into(),
            fields: BTreeMap::from([("az".into(), "VB-2024-00042".into())]),
        };
        // P | PATCHT | P | cover | T (end): sheets on pages 2, 4, 5.
        let marks = [
            P,
            code,
            P,
            PageMark::Sheet(SheetKind::Cover(cover.clone())),
            t(),
        ];
        let at: PageSources = vec![
            ("s/a.tif".into(), 1),
            ("s/a.tif".into(), 2),
            ("s/b.png".into(), 1),
            ("s/c.tif".into(), 1),
            ("s/c.tif".into(), 2),
        ];
        let parts = stack_parts("e", &split_stack(&marks, false), &at).unwrap();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].sheets.is_empty(), "{:?}", parts[0].sheets);
        let listed: Vec<_> = parts[1]
            .sheets
            .iter()
            .map(|s| {
                (
                    s.kind.as_str(),
                    s.source.as_str(),
                    s.source_page,
                    s.stack_page,
                    s.kept,
                )
            })
            .collect();
        // The PATCHT sheet starts document 2; nothing follows the cover and the Patch T, so
        // document 2 lists them too (the cover routes no document: no flag says it does).
        assert_eq!(
            listed,
            [
                ("barcode", "s/a.tif", 2, 2, false),
                ("cover", "s/c.tif", 1, 4, false),
                ("patch_t", "s/c.tif", 2, 5, false)
            ]
        );
        assert_eq!(parts[1].sheets[0].payload.as_deref(), Some("PATCHT"));
        assert_eq!(parts[1].sheets[1].payload, Some(cover.encode()));
        assert_eq!(parts[1].sheets[2].payload, None);
        assert!(!parts[1].flags.iter().any(|f| f.starts_with("routing")));
        // keep_sheets: the sheet that starts a document is a page of it; a sheet at the end
        // joins the last document.
        let kept = stack_parts("e", &split_stack(&marks, true), &at).unwrap();
        assert!(
            kept[1].sheets.iter().all(|s| s.kept),
            "{:?}",
            kept[1].sheets
        );
    }

    #[test]
    fn barcodes_read_for_the_fields_are_read_once_and_handed_on() {
        use crate::barcode::testutil::{draw, page};
        let m = crate::barcode::encoded_modules(Symbology::Code39, "PATCHT").unwrap();
        let mut p = page(8.27, 11.69, 300);
        draw(&mut p, &m, 300, 600, 4, 150);
        let split_on = [SplitOn::Barcode("PATCHT".into())];
        let (mark, codes) = page_mark_and_codes(&p, 300, &split_on, true);
        assert_eq!(mark, PageMark::Sheet(SheetKind::Barcode("PATCHT".into())));
        let codes = codes.expect("read for the fields");
        assert_eq!(codes.len(), 1);
        assert_eq!(codes[0].text, "PATCHT");
        // Without barcode fields nothing is handed on, and the mark is the same.
        let (mark2, none) = page_mark_and_codes(&p, 300, &split_on, false);
        assert_eq!((mark2, none), (mark, None));
    }

    #[test]
    fn split_ids_are_entry_id_and_number_and_collisions_are_found() {
        assert_eq!(split_id("scan0001", 2), "scan0001_2");
        assert_eq!(split_ids_collide(&["a", "a_2", "b_x", "b"]), [("a", "a_2")]);
        assert!(split_ids_collide(&["a", "b", "c_1x"]).is_empty());
    }
}
