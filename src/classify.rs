//! File-plan rules: which e-file a document belongs to, and its index fields (Verschlagwortung).
//!
//! The classifier reads the OCR text of a document and scores every entry of the profile's file
//! plan (SPEC §3 `efiles`). It promises **precision first**: a document lands in an e-file only
//! when an entry's constraints are all met; otherwise it goes to the `unclassified` folder for
//! clarification (Klärung), because a wrong e-file is worse than a person looking at it.
//!
//! # How text is matched
//! OCR text and the people who wrote the letter mix spellings, so matching works on normalised
//! views of the text, built once per document:
//! - *plain*: Unicode NFKC (ligatures such as "ﬁ" become "fi"), soft hyphens removed, every run
//!   of white space one space. A hyphen at a line end between two letters followed by a lower-case
//!   letter is a syllable break and is joined ("Voll-\nstreckung" -> "Vollstreckung"); any other
//!   hyphen at a line end is kept and the line break dropped ("VB-2026-\n00417" ->
//!   "VB-2026-00417"), so codes broken over lines stay intact.
//! - *transliterated*: plain with ä/ö/ü/ß written ae/oe/ue/ss, case kept.
//! - *folded*: transliterated and lower-cased, other accents removed (é -> e). Terms match here.
//!
//! **Terms** (`all`, `any`, `none`) are folded the same way and match case-insensitively and
//! umlaut-aware ("Pfändung" = "Pfaendung" = "PFÄNDUNG"). Between two letters of a term the text
//! may carry a hyphen and a space ("Voll- streckung", left by OCR where a line break became a
//! space); the words of a term of several words may be separated by any white space, so they
//! match across line breaks. A term must **start at a word boundary but may end inside a word**:
//! German builds compounds, and "Vollstreckung" should find "Vollstreckungsersuchen" and
//! "Pfändung" should find "Pfändungsverfügung". A term never matches in the middle of a word
//! ("Steuer" does not match "Hundesteuer"); write the compound as its own term when it matters.
//! The same open end applies to `none` terms ("Werbung" also vetoes "Werbungskosten"): that errs
//! towards Klärung, the safe side.
//!
//! **Regexes** (`match.regex`) and **index fields** run over the plain view with the profile's
//! pattern (case-insensitive); when that finds nothing they run again over the transliterated
//! view, with umlauts in the pattern transliterated too, so either spelling matches. A field's
//! value is its first capture group, trimmed.
//!
//! # OCR slips in index fields
//! An Aktenzeichen read as "VB-2O26-0O417" (O for 0, l/I/| for 1, S for 5, B for 8) is still
//! found when the field's pattern demands a digit at the slipped positions. The classifier first
//! looks for an exact match anywhere in the text; only when there is none it runs a tolerant
//! variant of the pattern in which every digit position (`\d`, a class with digits, a digit
//! literal) also accepts the look-alike letters. The value found is then corrected at the
//! fewest positions that make it match the original pattern; the correction is accepted only when
//! (a) the corrected value matches the original pattern, (b) no other correction with as few
//! changes gives a different value, and (c) the slips are fewer than the digits read as digits
//! (so a word such as "Is" is never turned into "15"). Both the raw text and the corrected value
//! are recorded; a corrected value is marked `corrected: true` so QA can look at it.
//!
//! # Score and decision
//! An entry *matches* when every `all` term is found, at least one `any` term is found (if the
//! list is not empty), no `none` term is found, at least one regex matches when it has neither
//! `all` nor `any` terms, and every `require`d field is found. Its score is
//! `2 × all terms + 1 × any term found + 2 × regex matched + 1 × field found`: the terms an
//! entry demands and its regexes are stronger evidence than an optional word. The matching entry
//! with the highest score wins; a tie goes to the entry earlier in the file plan (SPEC §3, "tried
//! in order") and the decision is marked `ambiguous` with the runner-up named, so QA samples it.
//! No matching entry: unclassified.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::profile::EfileRule;
use crate::text::{fold, plain_text, transliterate};

/// Compiles a profile regex the way the classifier applies it: case-insensitive, Unicode.
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
}

/// Why a classifier could not be built or a document's text not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClassifyError {
    #[error("e-file '{efile}': {what}: bad regex: {cause}")]
    BadRegex {
        efile: String,
        what: String,
        cause: Box<regex::Error>,
    },
    #[error("e-file '{efile}': field '{field}': the regex has no capture group")]
    NoCaptureGroup { efile: String, field: String },
    #[error("e-file '{efile}': require names field '{field}' that no regex defines")]
    UnknownRequiredField { efile: String, field: String },
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is neither UTF-8 text nor a PDF")]
    NotText { path: PathBuf },
    #[error(
        "reading the text of {path} needs poppler's pdftotext, which was not found: \
         install poppler-utils"
    )]
    PdftotextMissing { path: PathBuf },
    #[error("pdftotext failed on {path}: {message}")]
    Pdftotext { path: PathBuf, message: String },
}

/// One index field as found in the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValue {
    /// The value to file under: the text as read, or its OCR-slip correction.
    pub value: String,
    /// Exactly what the OCR text says.
    pub raw: String,
    /// `value` differs from `raw` by look-alike letters read for digits (O/0, l/1, S/5, B/8).
    pub corrected: bool,
    /// Where the value was read (SPEC §6): the OCR text, a barcode (which wins over the
    /// text), or a cover sheet.
    #[serde(default)]
    pub source: FieldSource,
}

/// Where an index field's value came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldSource {
    #[default]
    Text,
    Barcode,
    Cover,
}

/// How one file-plan entry fared against a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryScore {
    pub id: String,
    pub title: String,
    /// All the entry's constraints are met.
    pub matched: bool,
    pub score: u32,
    /// Terms of `all` and `any` found in the text, as written in the profile.
    pub terms_found: Vec<String>,
    /// Terms of `all` not found, and of `any` not found.
    pub terms_missing: Vec<String>,
    /// `none` terms that were found (each one vetoes the entry).
    pub excluded_by: Vec<String>,
    /// Regexes of `match.regex` that matched.
    pub regex_matched: Vec<String>,
    /// Index fields found, by name.
    pub fields: BTreeMap<String, FieldValue>,
    /// Index fields defined but not found.
    pub fields_missing: Vec<String>,
    /// Why the entry did not match; `None` when it matched.
    pub reason: Option<String>,
}

/// The entry that came second, for the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerUp {
    pub id: String,
    pub score: u32,
}

/// The e-file a document is filed into and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub id: String,
    pub title: String,
    pub score: u32,
    /// The best other matching entry, if any.
    pub runner_up: Option<RunnerUp>,
    /// The runner-up scored the same; the file-plan order decided. QA should sample it.
    pub ambiguous: bool,
    /// What decided it: the terms, regexes and fields found.
    pub evidence: Vec<String>,
    pub fields: BTreeMap<String, FieldValue>,
}

impl Decision {
    /// The chosen e-file id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The winning score (as a number for the transfer note).
    pub fn score(&self) -> f64 {
        f64::from(self.score)
    }

    /// What decided it, one line per term, regex or field.
    pub fn evidence(&self) -> Vec<String> {
        self.evidence.clone()
    }

    /// Index fields as filed: name -> corrected value.
    pub fn fields_normalised(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect()
    }

    /// Whether any index field was corrected for OCR slips (worth a person's look).
    pub fn has_corrected_fields(&self) -> bool {
        self.fields.values().any(|f| f.corrected)
    }
}

/// The result of classifying one document: the decision (none = unclassified) and every
/// entry's score in file-plan order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub efile: Option<Decision>,
    pub candidates: Vec<EntryScore>,
}

impl Classification {
    pub fn decision(&self) -> Option<&Decision> {
        self.efile.as_ref()
    }

    /// The runner-up's id: for a decision the second-best matching entry; for an unclassified
    /// document the best-scoring entry that failed its constraints (what it nearly was).
    pub fn runner_up_id(&self) -> Option<&str> {
        match &self.efile {
            Some(d) => d.runner_up.as_ref().map(|r| r.id.as_str()),
            None => {
                // The first of the best, in file-plan order.
                let mut best: Option<&EntryScore> = None;
                for c in self.candidates.iter().filter(|c| c.score > 0) {
                    if best.is_none_or(|b| c.score > b.score) {
                        best = Some(c);
                    }
                }
                best.map(|c| c.id.as_str())
            }
        }
    }

    pub fn is_ambiguous(&self) -> bool {
        self.efile.as_ref().is_some_and(|d| d.ambiguous)
    }
}

/// The file plan compiled once; shareable between worker threads.
#[derive(Debug)]
pub struct Classifier {
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    id: String,
    title: String,
    all: Vec<Term>,
    any: Vec<Term>,
    none: Vec<Term>,
    regexes: Vec<TextPattern>,
    fields: Vec<Field>,
    /// Fields read from barcodes: name and the pattern applied to each barcode's text.
    barcode_fields: Vec<(String, Regex)>,
    require: Vec<String>,
}

#[derive(Debug)]
struct Term {
    source: String,
    re: Regex,
}

/// A profile regex and its variant for the transliterated view.
#[derive(Debug)]
struct TextPattern {
    source: String,
    plain: Regex,
    /// Only when the pattern itself contains umlauts; else `plain` is used on both views.
    translit: Option<Regex>,
}

#[derive(Debug)]
struct Field {
    name: String,
    pattern: TextPattern,
    /// Digit positions also accept look-alike letters; `None` when the pattern has no digits.
    tolerant: Option<Regex>,
    /// `^(?:pattern)$` to re-check a corrected value.
    anchored: Regex,
}

/// Texts views of one document (see the module doc).
struct Views {
    plain: String,
    translit: String,
    folded: String,
}

impl Views {
    fn new(text: &str) -> Views {
        let plain = plain_text(text);
        let translit = transliterate(&plain);
        let folded = fold(&translit);
        Views {
            plain,
            translit,
            folded,
        }
    }
}

impl Entry {
    /// One file-plan entry compiled.
    fn new(rule: &EfileRule) -> Result<Entry, ClassifyError> {
        let efile = rule.id.value.clone();
        let bad = |what: String| {
            let efile = efile.clone();
            move |e: regex::Error| ClassifyError::BadRegex {
                efile,
                what,
                cause: Box::new(e),
            }
        };
        let terms = |list: &[String], kind: &str| -> Result<Vec<Term>, ClassifyError> {
            list.iter()
                .filter(|t| !fold(&plain_text(t)).trim().is_empty())
                .map(|t| {
                    Ok(Term {
                        source: t.clone(),
                        re: term_regex(t).map_err(bad(format!("{kind} term '{t}'")))?,
                    })
                })
                .collect()
        };
        let all = terms(&rule.matching.all, "all")?;
        let any = terms(&rule.matching.any, "any")?;
        let none = terms(&rule.matching.none, "none")?;
        let mut regexes = Vec::new();
        for r in &rule.matching.regex {
            regexes.push(text_pattern(&r.value).map_err(bad(format!("regex '{}'", r.value)))?);
        }
        let mut fields = Vec::new();
        for (name, p) in &rule.fields {
            let what = format!("field '{name}'");
            let pattern = text_pattern(&p.value).map_err(bad(what.clone()))?;
            if pattern.plain.captures_len() < 2 {
                return Err(ClassifyError::NoCaptureGroup {
                    efile: efile.clone(),
                    field: name.clone(),
                });
            }
            let tolerant = match tolerant_pattern(&p.value) {
                Some(t) => Some(build(&t, 1 << 23).map_err(bad(what.clone()))?),
                None => None,
            };
            let anchored = build(&format!("^(?:{})$", p.value), 1 << 20).map_err(bad(what))?;
            fields.push(Field {
                name: name.clone(),
                pattern,
                tolerant,
                anchored,
            });
        }
        let mut barcode_fields = Vec::new();
        for (name, p) in &rule.barcode_fields {
            let re = compile_pattern(&p.value).map_err(bad(format!("barcode field '{name}'")))?;
            if re.captures_len() < 2 {
                return Err(ClassifyError::NoCaptureGroup {
                    efile: efile.clone(),
                    field: name.clone(),
                });
            }
            barcode_fields.push((name.clone(), re));
        }
        for req in &rule.require {
            if !rule.defines_field(&req.value) {
                return Err(ClassifyError::UnknownRequiredField {
                    efile: efile.clone(),
                    field: req.value.clone(),
                });
            }
        }
        Ok(Entry {
            id: efile.clone(),
            title: rule.title.clone(),
            all,
            any,
            none,
            regexes,
            fields,
            barcode_fields,
            require: rule.require.iter().map(|r| r.value.clone()).collect(),
        })
    }
}

impl Classifier {
    /// Compiles every term, regex and field of the file plan once.
    pub fn new(rules: &[EfileRule]) -> Result<Classifier, ClassifyError> {
        let entries = rules.iter().map(Entry::new).collect::<Result<_, _>>()?;
        Ok(Classifier { entries })
    }

    /// As [`Classifier::new`], but every entry is compiled and every failure comes back with
    /// the index of its entry, so the config phase can name each one's line in the profile.
    pub fn new_each(rules: &[EfileRule]) -> Result<Classifier, Vec<(usize, ClassifyError)>> {
        let mut entries = Vec::with_capacity(rules.len());
        let mut errors = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            match Entry::new(rule) {
                Ok(e) => entries.push(e),
                Err(e) => errors.push((i, e)),
            }
        }
        if errors.is_empty() {
            Ok(Classifier { entries })
        } else {
            Err(errors)
        }
    }

    /// Scores every entry against `text` and decides (see the module doc for the rules).
    pub fn classify(&self, text: &str) -> Classification {
        self.classify_with_barcodes(text, &[])
    }

    /// As [`Classifier::classify`], with the texts of the barcodes found on the document's
    /// pages for the fields that have a `barcode` pattern; a barcode value wins over the text.
    pub fn classify_with_barcodes(&self, text: &str, barcodes: &[String]) -> Classification {
        let views = Views::new(text);
        let candidates: Vec<EntryScore> = self
            .entries
            .iter()
            .map(|e| e.score(&views, barcodes))
            .collect();
        // Best score first; among equals the earlier entry (stable sort keeps file-plan order).
        let mut matching: Vec<&EntryScore> = candidates.iter().filter(|c| c.matched).collect();
        matching.sort_by_key(|c| std::cmp::Reverse(c.score));
        let efile = matching.first().map(|best| {
            let runner_up = matching.get(1).map(|r| RunnerUp {
                id: r.id.clone(),
                score: r.score,
            });
            let ambiguous = runner_up.as_ref().is_some_and(|r| r.score == best.score);
            Decision {
                id: best.id.clone(),
                title: best.title.clone(),
                score: best.score,
                ambiguous,
                runner_up,
                evidence: evidence(best),
                fields: best.fields.clone(),
            }
        });
        Classification { efile, candidates }
    }
}

/// The classification a cover sheet dictates (SPEC §6): its e-file, its fields over the ones
/// read from the text, and "routing from cover sheet" with the payload as the evidence. A
/// cover for an e-file the profile does not have leaves the document unclassified (never a
/// guessed e-file).
pub fn routed_by_cover(
    profile: &crate::profile::Profile,
    read: Classification,
    cover: &crate::separation::CoverPayload,
) -> Classification {
    let Some(rule) = profile.efiles.iter().find(|r| r.id.value == cover.efile) else {
        return Classification {
            efile: None,
            candidates: read.candidates,
        };
    };
    let mut fields: BTreeMap<String, FieldValue> = read
        .candidates
        .iter()
        .find(|c| c.id == cover.efile)
        .map(|c| c.fields.clone())
        .unwrap_or_default();
    for (k, v) in &cover.fields {
        fields.insert(
            k.clone(),
            FieldValue {
                value: v.clone(),
                raw: v.clone(),
                corrected: false,
                source: FieldSource::Cover,
            },
        );
    }
    let mut evidence = vec![format!(
        "routing from cover sheet: {}",
        cover.encode().replace('\n', " | ")
    )];
    evidence.extend(fields.iter().map(|(k, v)| match v.source {
        FieldSource::Cover => format!("field {k} = {} (from the cover sheet)", v.value),
        FieldSource::Barcode => format!("field {k} = {} (from a barcode)", v.value),
        FieldSource::Text => format!("field {k} = {}", v.value),
    }));
    Classification {
        efile: Some(Decision {
            id: rule.id.value.clone(),
            title: rule.title.clone(),
            score: read
                .candidates
                .iter()
                .find(|c| c.id == cover.efile)
                .map(|c| c.score)
                .unwrap_or(0),
            runner_up: None,
            ambiguous: false,
            evidence,
            fields,
        }),
        candidates: read.candidates,
    }
}

fn evidence(e: &EntryScore) -> Vec<String> {
    let mut out: Vec<String> = e
        .terms_found
        .iter()
        .map(|t| format!("term '{t}'"))
        .collect();
    out.extend(e.regex_matched.iter().map(|r| format!("regex '{r}'")));
    out.extend(e.fields.iter().map(|(k, v)| {
        if v.source == FieldSource::Barcode {
            format!("field {k} = {} (from a barcode)", v.value)
        } else if v.corrected {
            format!("field {k} = {} (read as {})", v.value, v.raw)
        } else {
            format!("field {k} = {}", v.value)
        }
    }));
    out
}

impl Entry {
    fn score(&self, v: &Views, barcodes: &[String]) -> EntryScore {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        let mut score = 0u32;

        let mut all_missing = Vec::new();
        for t in &self.all {
            if t.re.is_match(&v.folded) {
                found.push(t.source.clone());
                score += 2;
            } else {
                all_missing.push(t.source.clone());
            }
        }
        if !all_missing.is_empty() {
            reasons.push(format!(
                "missing required term(s): {}",
                all_missing.join(", ")
            ));
        }
        missing.extend(all_missing);

        let mut any_found = 0;
        for t in &self.any {
            if t.re.is_match(&v.folded) {
                found.push(t.source.clone());
                score += 1;
                any_found += 1;
            } else {
                missing.push(t.source.clone());
            }
        }
        if !self.any.is_empty() && any_found == 0 {
            reasons.push("none of the 'any' terms found".into());
        }

        let excluded_by: Vec<String> = self
            .none
            .iter()
            .filter(|t| t.re.is_match(&v.folded))
            .map(|t| t.source.clone())
            .collect();
        if !excluded_by.is_empty() {
            reasons.push(format!("excluded by term(s): {}", excluded_by.join(", ")));
        }

        let regex_matched: Vec<String> = self
            .regexes
            .iter()
            .filter(|r| r.is_match(v))
            .map(|r| r.source.clone())
            .collect();
        score += 2 * regex_matched.len() as u32;
        if self.all.is_empty() && self.any.is_empty() && regex_matched.is_empty() {
            reasons.push("no regex matched".into());
        }

        let mut fields = BTreeMap::new();
        let mut fields_missing = Vec::new();
        for f in &self.fields {
            match f.find(v) {
                Some(value) => {
                    score += 1;
                    fields.insert(f.name.clone(), value);
                }
                None => fields_missing.push(f.name.clone()),
            }
        }
        for (name, re) in &self.barcode_fields {
            let read = barcodes.iter().find_map(|b| {
                re.captures(b)
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_str().to_string())
            });
            if let Some(value) = read {
                if fields.contains_key(name) {
                    fields_missing.retain(|n| n != name);
                } else {
                    score += 1;
                    fields_missing.retain(|n| n != name);
                }
                fields.insert(
                    name.clone(),
                    FieldValue {
                        raw: value.clone(),
                        value,
                        corrected: false,
                        source: FieldSource::Barcode,
                    },
                );
            } else if !fields.contains_key(name) && !fields_missing.contains(name) {
                fields_missing.push(name.clone());
            }
        }
        let req_missing: Vec<&str> = self
            .require
            .iter()
            .filter(|r| !fields.contains_key(*r))
            .map(String::as_str)
            .collect();
        if !req_missing.is_empty() {
            reasons.push(format!(
                "required field(s) not found: {}",
                req_missing.join(", ")
            ));
        }

        EntryScore {
            id: self.id.clone(),
            title: self.title.clone(),
            matched: reasons.is_empty(),
            score,
            terms_found: found,
            terms_missing: missing,
            excluded_by,
            regex_matched,
            fields,
            fields_missing,
            reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        }
    }
}

impl TextPattern {
    fn is_match(&self, v: &Views) -> bool {
        self.plain.is_match(&v.plain) || self.translit_re().is_match(&v.translit)
    }

    fn translit_re(&self) -> &Regex {
        self.translit.as_ref().unwrap_or(&self.plain)
    }
}

impl Field {
    /// The field's value: an exact match first (plain, then transliterated view), else an
    /// unambiguous OCR-slip correction.
    fn find(&self, v: &Views) -> Option<FieldValue> {
        if let Some(caps) = self
            .pattern
            .plain
            .captures_iter(&v.plain)
            .find(|c| c.get(1).is_some_and(|g| !g.as_str().trim().is_empty()))
        {
            // An exact match that stops where a slip begins ("Nr. 4O7" read by `\d+` as "4")
            // is a truncated value: take the tolerant reading at the same place when it is
            // longer and corrects unambiguously.
            if let (Some(whole), Some(group), Some(tolerant)) =
                (caps.get(0), caps.get(1), self.tolerant.as_ref())
                && let Some(t) = tolerant.captures_at(&v.plain, whole.start())
                && let (Some(tw), Some(tg)) = (t.get(0), t.get(1))
                && tw.start() == whole.start()
                && tg.end() > group.end()
                && let Some(value) =
                    self.correct(tw.as_str(), tg.start() - tw.start()..tg.end() - tw.start())
            {
                return Some(value);
            }
            let value = caps.get(1).map(|g| g.as_str().trim().to_string())?;
            return Some(FieldValue {
                raw: value.clone(),
                value,
                corrected: false,
                source: FieldSource::Text,
            });
        }
        let exact = first_group(self.pattern.translit_re(), &v.translit);
        if let Some(value) = exact {
            return Some(FieldValue {
                raw: value.clone(),
                value,
                corrected: false,
                source: FieldSource::Text,
            });
        }
        let tolerant = self.tolerant.as_ref()?;
        for caps in tolerant.captures_iter(&v.plain) {
            let (Some(whole), Some(group)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            if let Some(value) = self.correct(
                whole.as_str(),
                group.start() - whole.start()..group.end() - whole.start(),
            ) {
                return Some(value);
            }
        }
        None
    }

    /// Corrects the look-alike letters inside `group` (a range of `span`) at the fewest
    /// positions that make `span` match the original pattern; `None` when no correction or
    /// more than one different one works.
    fn correct(&self, span: &str, group: std::ops::Range<usize>) -> Option<FieldValue> {
        let raw = span.get(group.clone())?.trim().to_string();
        let positions: Vec<(usize, char)> = span
            .char_indices()
            .filter(|(i, c)| group.contains(i) && lookalike_digit(*c).is_some())
            .collect();
        // Bound the search: 2^12 checks at most; a value with more slips is not trusted anyway.
        if positions.is_empty() || positions.len() > 12 {
            return None;
        }
        let digits_read = raw.chars().filter(char::is_ascii_digit).count();
        for k in 1..=positions.len() {
            if k >= digits_read {
                // (c) in the module doc: slips must be fewer than the digits read as digits.
                return None;
            }
            let mut results: Vec<String> = Vec::new();
            for mask in 0u32..(1 << positions.len()) {
                if mask.count_ones() as usize != k {
                    continue;
                }
                let mut fixed = String::with_capacity(span.len());
                for (i, c) in span.char_indices() {
                    let slot = positions.iter().position(|(p, _)| *p == i);
                    match slot {
                        Some(s) if mask & (1 << s) != 0 => {
                            fixed.push(lookalike_digit(c).unwrap_or(c))
                        }
                        _ => fixed.push(c),
                    }
                }
                if let Some(caps) = self.anchored.captures(&fixed)
                    && let Some(g) = caps.get(1)
                {
                    let value = g.as_str().trim().to_string();
                    if !results.contains(&value) {
                        results.push(value);
                    }
                }
            }
            match results.len() {
                0 => continue,
                1 => {
                    let value = results.remove(0);
                    return Some(FieldValue {
                        corrected: value != raw,
                        value,
                        raw,
                        source: FieldSource::Text,
                    });
                }
                // Two different values fit equally well: the intent is not unambiguous.
                _ => return None,
            }
        }
        None
    }
}

/// The first match's first capture group, trimmed, where the group took part and is not empty.
fn first_group(re: &Regex, text: &str) -> Option<String> {
    re.captures_iter(text)
        .filter_map(|c| c.get(1).map(|g| g.as_str().trim().to_string()))
        .find(|s| !s.is_empty())
}

/// The digit an OCR engine may have read as this letter.
fn lookalike_digit(c: char) -> Option<char> {
    match c {
        'O' | 'o' => Some('0'),
        'I' | 'l' | '|' => Some('1'),
        'S' | 's' => Some('5'),
        'B' => Some('8'),
        _ => None,
    }
}

/// The look-alike letters as a case-sensitive class body (see [`lookalike_digit`]).
const LOOKALIKES: &str = r"OoIl|SsB";

fn build(pattern: &str, size_limit: usize) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(size_limit)
        .build()
}

fn text_pattern(pattern: &str) -> Result<TextPattern, regex::Error> {
    let plain = compile_pattern(pattern)?;
    let t = transliterate_pattern(pattern);
    let translit = if t != pattern {
        Some(build(&t, 1 << 20)?)
    } else {
        None
    };
    Ok(TextPattern {
        source: pattern.to_string(),
        plain,
        translit,
    })
}

/// The regex for one term over the folded view: word start, hyphen-and-space tolerant between
/// letters, any white space between words, open end (compounds).
fn term_regex(term: &str) -> Result<Regex, regex::Error> {
    let folded = fold(&plain_text(term));
    let folded = folded.trim();
    let chars: Vec<char> = folded.chars().collect();
    let mut p = String::new();
    if chars.first().is_some_and(|c| c.is_alphanumeric()) {
        p.push_str(r"\b");
    }
    for (i, &c) in chars.iter().enumerate() {
        match c {
            ' ' => p.push_str(r"[\s-]+"),
            '-' => p.push_str(r"(?:-\s?|\s)?"),
            _ => {
                p.push_str(&regex::escape(&c.to_string()));
                if chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()) && c.is_alphanumeric() {
                    // A syllable break the plain view could not join: "Voll- streckung".
                    p.push_str(r"(?:-\s?)?");
                }
            }
        }
    }
    build(&p, 1 << 20)
}

/// A pattern with umlauts outside character classes written as `(?:ae)` etc., to run over the
/// transliterated view.
fn transliterate_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut class_depth = 0usize;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '[' => {
                class_depth += 1;
                out.push(c);
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(c);
            }
            c if class_depth == 0 && transliterate(&c.to_string()) != c.to_string() => {
                let _ = write!(out, "(?:{})", transliterate(&c.to_string()));
            }
            c => out.push(c),
        }
    }
    out
}

/// The tolerant variant of a field pattern (module doc, "OCR slips"): `\d`, digit literals and
/// non-negated classes containing digits also accept the look-alike letters. `None` when the
/// pattern has no digit position.
fn tolerant_pattern(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut changed = false;
    let mut i = 0;
    let alt = |digit: char| -> String {
        let letters: String = LOOKALIKES
            .chars()
            .filter(|&l| lookalike_digit(l) == Some(digit))
            .map(|l| regex::escape(&l.to_string()))
            .collect();
        format!("(?-i:[{digit}{letters}])")
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    out.push(c);
                    break;
                };
                if n == 'd' {
                    let _ = write!(out, r"(?-i:[\d{}])", regex::escape(LOOKALIKES));
                    changed = true;
                    i += 2;
                    continue;
                }
                // Copy the escape whole, including \x{..}, \u{..}, \p{..}.
                out.push(c);
                out.push(n);
                i += 2;
                if matches!(n, 'x' | 'u' | 'U' | 'p' | 'P') && chars.get(i) == Some(&'{') {
                    while i < chars.len() {
                        out.push(chars[i]);
                        i += 1;
                        if chars[i - 1] == '}' {
                            break;
                        }
                    }
                } else if matches!(n, 'x') {
                    for _ in 0..2 {
                        if let Some(&h) = chars.get(i) {
                            out.push(h);
                            i += 1;
                        }
                    }
                }
            }
            '{' => {
                // A repetition count: its digits are not digit positions.
                while i < chars.len() {
                    out.push(chars[i]);
                    i += 1;
                    if chars[i - 1] == '}' {
                        break;
                    }
                }
            }
            '(' if chars.get(i + 1) == Some(&'?') => {
                // Group flags and names ("(?P<a1>"): copy up to the end of the header.
                let header_end = chars[i..]
                    .iter()
                    .position(|&x| x == ':' || x == ')' || x == '>')
                    .map_or(chars.len(), |p| i + p + 1);
                out.extend(&chars[i..header_end]);
                i = header_end;
            }
            '[' => {
                let end = class_end(&chars, i);
                let class: String = chars[i..end].iter().collect();
                let negated = chars.get(i + 1) == Some(&'^');
                let has_digit = class.contains(r"\d") || class.chars().any(|x| x.is_ascii_digit());
                if !negated && has_digit {
                    let _ = write!(out, "(?:{class}|(?-i:[{}]))", regex::escape(LOOKALIKES));
                    changed = true;
                } else {
                    out.push_str(&class);
                }
                i = end;
            }
            d if lookalike_digit_for(d).is_some() => {
                out.push_str(&alt(d));
                changed = true;
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

/// Whether a digit literal has look-alike letters.
fn lookalike_digit_for(d: char) -> Option<char> {
    matches!(d, '0' | '1' | '5' | '8').then_some(d)
}

/// Index one past the `]` that closes the class opening at `start` (nested classes, escapes,
/// and a `]` first in the class counted as a literal).
fn class_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => {
                depth += 1;
                // A leading ']' (or '^]') is a literal.
                if chars.get(i + 1) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    i += 1;
                }
            }
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

/// A human-readable table of every entry's score, terms, fields and the decision
/// (`resiscan explain`).
pub fn explain(result: &Classification) -> String {
    let mut out = String::new();
    match &result.efile {
        Some(d) => {
            let _ = write!(
                out,
                "decision: {} \"{}\" (score {})",
                d.id, d.title, d.score
            );
            if let Some(r) = &d.runner_up {
                let _ = write!(out, "; runner-up {} (score {})", r.id, r.score);
            }
            if d.ambiguous {
                out.push_str("; AMBIGUOUS: equal scores, the file-plan order decided");
            }
            if d.has_corrected_fields() {
                out.push_str("; index field(s) corrected for OCR slips");
            }
            out.push('\n');
        }
        None => {
            out.push_str("decision: unclassified (no entry met its constraints)");
            if let Some(r) = result.runner_up_id() {
                let _ = write!(out, "; closest: {r}");
            }
            out.push('\n');
        }
    }
    let width = result
        .candidates
        .iter()
        .map(|c| c.id.chars().count())
        .max()
        .unwrap_or(2)
        .max(5);
    let _ = writeln!(out, "\n{:<width$}  match  score  details", "entry");
    for c in &result.candidates {
        let chosen = result.efile.as_ref().is_some_and(|d| d.id == c.id);
        let mark = match (c.matched, chosen) {
            (true, true) => "WIN",
            (true, false) => "yes",
            _ => "no",
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:<5}  {:>5}  {}",
            c.id, mark, c.score, c.title
        );
        let pad = " ".repeat(width + 16);
        let list = |v: &[String]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.join(", ")
            }
        };
        let _ = writeln!(out, "{pad}terms found:   {}", list(&c.terms_found));
        if !c.terms_missing.is_empty() {
            let _ = writeln!(out, "{pad}terms missing: {}", list(&c.terms_missing));
        }
        if !c.excluded_by.is_empty() {
            let _ = writeln!(out, "{pad}excluded by:   {}", list(&c.excluded_by));
        }
        if !c.regex_matched.is_empty() {
            let _ = writeln!(out, "{pad}regex matched: {}", list(&c.regex_matched));
        }
        for (name, v) in &c.fields {
            if v.corrected {
                let _ = writeln!(
                    out,
                    "{pad}field {name} = {} (OCR read \"{}\")",
                    v.value, v.raw
                );
            } else {
                let _ = writeln!(out, "{pad}field {name} = {}", v.value);
            }
        }
        if !c.fields_missing.is_empty() {
            let _ = writeln!(out, "{pad}fields missing: {}", list(&c.fields_missing));
        }
        if let Some(r) = &c.reason {
            let _ = writeln!(out, "{pad}not matched: {r}");
        }
    }
    out
}

/// The text of a document for `resiscan explain`: a text file as is, or a PDF's text layer
/// through poppler's `pdftotext -enc UTF-8 PATH -`.
pub fn document_text(path: &Path) -> Result<String, ClassifyError> {
    let bytes = std::fs::read(path).map_err(|cause| ClassifyError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    if bytes.starts_with(b"%PDF-") {
        let output = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(path)
            .arg("-")
            .output()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => ClassifyError::PdftotextMissing {
                    path: path.to_path_buf(),
                },
                _ => ClassifyError::Pdftotext {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                },
            })?;
        if !output.status.success() {
            return Err(ClassifyError::Pdftotext {
                path: path.to_path_buf(),
                message: format!(
                    "{}: {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            });
        }
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    String::from_utf8(bytes).map_err(|_| ClassifyError::NotText {
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(yaml_efiles: &str) -> Vec<EfileRule> {
        let text = format!(
            "name: t\norganisation: o\nprotection: {{integrity: normal}}\nsigning: {{demo: true}}\nefiles:\n{yaml_efiles}"
        );
        crate::profile::parse(&text)
            .unwrap_or_else(|p| panic!("{p}"))
            .efiles
    }

    const VOLLSTRECKUNG: &str = r#"
  - id: vollstreckung
    title: Vollstreckungsverfahren
    match:
      all: ["Vollstreckung"]
      any: ["Ratenzahlung", "Pfändung", "Vollstreckungsersuchen"]
      none: ["Werbung"]
    fields:
      az: 'Aktenzeichen:?\s*(VB-\d{4}-\d{5})'
    require: [az]
    path: "20/{az}"
"#;

    fn classify(efiles: &str, text: &str) -> Classification {
        Classifier::new(&rules(efiles)).unwrap().classify(text)
    }

    #[test]
    fn terms_match_umlauts_hyphenation_line_breaks_and_compounds() {
        let re = term_regex("Pfändung").unwrap();
        for text in [
            "Pfaendung",
            "PFÄNDUNG",
            "Pfändungsverfügung",
            "die Pfän- dung",
        ] {
            assert!(re.is_match(&Views::new(text).folded), "{text}");
        }
        let re = term_regex("Vollstreckung").unwrap();
        for text in [
            "Voll-\nstreckung",
            "Voll- streckung",
            "Vollstreckungsersuchen",
        ] {
            assert!(re.is_match(&Views::new(text).folded), "{text}");
        }
        // Word start is required: no match inside another word.
        assert!(
            !term_regex("Steuer")
                .unwrap()
                .is_match(&Views::new("Hundesteuer").folded)
        );
        // A term of several words across a line break.
        let re = term_regex("Antrag auf Stundung").unwrap();
        assert!(re.is_match(&Views::new("unser Antrag\nauf Stundung").folded));
    }

    #[test]
    fn exact_field_is_preferred_and_recorded_uncorrected() {
        let c = classify(
            VOLLSTRECKUNG,
            "Vollstreckung, Pfändung\nAktenzeichen: VB-2026-00417",
        );
        let d = c.decision().expect("filed");
        assert_eq!(d.id(), "vollstreckung");
        let az = &d.fields["az"];
        assert_eq!((az.value.as_str(), az.corrected), ("VB-2026-00417", false));
        // 2 (all) + 1 (any) + 1 (field)
        assert_eq!(d.score, 4);
    }

    #[test]
    fn ocr_slips_in_digit_positions_are_corrected_and_both_values_kept() {
        let c = classify(
            VOLLSTRECKUNG,
            "Vollstreckung Pfändung Aktenzeichen: VB-2O26-0O4l7",
        );
        let az = &c.decision().expect("filed").fields["az"];
        assert_eq!(az.value, "VB-2026-00417");
        assert_eq!(az.raw, "VB-2O26-0O4l7");
        assert!(az.corrected);
        assert!(c.decision().unwrap().has_corrected_fields());
    }

    #[test]
    fn an_exact_value_later_in_the_text_beats_a_slipped_one_earlier() {
        let c = classify(
            VOLLSTRECKUNG,
            "Vollstreckung Pfändung Aktenzeichen VB-2O26-00417 ... Aktenzeichen: VB-2026-00999",
        );
        assert_eq!(c.decision().unwrap().fields["az"].value, "VB-2026-00999");
    }

    #[test]
    fn words_are_never_turned_into_numbers() {
        let efiles = r#"
  - id: a
    match: {all: ["Rechnung"]}
    fields:
      nr: 'Nr\.?\s*(\d+)'
    require: [nr]
    path: "a/{nr}"
"#;
        let c = classify(efiles, "Rechnung Nr. Is unbekannt");
        assert!(c.decision().is_none(), "{c:?}");
        let c = classify(efiles, "Rechnung Nr. 4O7");
        assert_eq!(c.decision().unwrap().fields["nr"].value, "407");
    }

    #[test]
    fn tolerant_pattern_leaves_counts_names_and_negated_classes_alone() {
        let t = tolerant_pattern(r"(?P<a1>VB-\d{4})").unwrap();
        assert!(t.contains("{4}") && t.contains("(?P<a1>"), "{t}");
        assert_eq!(tolerant_pattern(r"([A-Z]+)"), None);
        assert_eq!(tolerant_pattern(r"([^0-9]+)x{2}"), None);
        assert!(build(&t, 1 << 23).unwrap().is_match("VB-2O2S"));
        // A digit literal accepts only its own look-alikes.
        let t = tolerant_pattern("(10)").unwrap();
        let re = build(&t, 1 << 23).unwrap();
        assert!(re.is_match("lO") && !re.is_match("SB"));
    }

    #[test]
    fn none_term_vetoes_and_missing_required_field_unclassifies() {
        let c = classify(
            VOLLSTRECKUNG,
            "Vollstreckung Pfändung Werbung Aktenzeichen VB-2026-00417",
        );
        assert!(c.decision().is_none());
        assert_eq!(c.candidates[0].excluded_by, vec!["Werbung"]);
        let c = classify(VOLLSTRECKUNG, "Vollstreckung Pfändung ohne Zeichen");
        assert!(c.decision().is_none());
        let reason = c.candidates[0].reason.as_deref().unwrap();
        assert!(
            reason.contains("required field(s) not found: az"),
            "{reason}"
        );
        assert_eq!(c.runner_up_id(), Some("vollstreckung"));
    }

    #[test]
    fn equal_scores_go_by_file_plan_order_and_are_flagged() {
        let efiles = r#"
  - id: first
    match: {any: ["Antrag"]}
    path: "a"
  - id: second
    match: {any: ["Antrag"]}
    path: "b"
  - id: weaker
    match: {any: ["Brief"]}
    path: "c"
"#;
        let c = classify(efiles, "Ein Antrag per Brief");
        let d = c.decision().unwrap();
        assert_eq!(d.id(), "first");
        assert!(d.ambiguous && c.is_ambiguous());
        assert_eq!(c.runner_up_id(), Some("second"));
        let c = classify(efiles, "Nur ein Brief");
        assert_eq!(c.decision().unwrap().id(), "weaker");
        assert!(!c.is_ambiguous());
    }

    #[test]
    fn regex_only_entries_and_umlaut_patterns() {
        let efiles = r#"
  - id: r
    match: {regex: ['Ermäßigung\s+für']}
    fields:
      name: 'Name:\s*(\w+)'
    path: "r"
"#;
        let c = classify(efiles, "Antrag auf Ermaessigung fuer Frau\nName: Müller");
        let d = c.decision().expect("regex matched on transliterated view");
        assert_eq!(d.fields["name"].value, "Müller");
        assert!(classify(efiles, "nichts").decision().is_none());
    }

    #[test]
    fn bad_rules_are_errors_not_panics() {
        let e = Classifier::new(&rules(
            "  - id: x\n    match: {regex: ['(']}\n    path: x\n",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("e-file 'x'"), "{e}");
        let e = Classifier::new(&rules(
            "  - id: x\n    match: {all: [a]}\n    fields: {f: 'a\\d'}\n    path: x\n",
        ))
        .unwrap_err();
        assert!(matches!(e, ClassifyError::NoCaptureGroup { .. }), "{e}");
    }

    #[test]
    fn explain_names_every_entry_and_the_decision() {
        let c = classify(
            VOLLSTRECKUNG,
            "Vollstreckung Pfändung Aktenzeichen: VB-2O26-00417",
        );
        let s = explain(&c);
        assert!(s.starts_with("decision: vollstreckung"), "{s}");
        assert!(s.contains("OCR read \"VB-2O26-00417\""), "{s}");
        assert!(s.contains("terms missing: Ratenzahlung"), "{s}");
    }

    #[test]
    fn document_text_reads_text_and_refuses_binary() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("a.txt");
        std::fs::write(&t, "Grüße").unwrap();
        assert_eq!(document_text(&t).unwrap(), "Grüße");
        let b = dir.path().join("b.bin");
        std::fs::write(&b, [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(
            document_text(&b),
            Err(ClassifyError::NotText { .. })
        ));
        assert!(matches!(
            document_text(&dir.path().join("missing")),
            Err(ClassifyError::Read { .. })
        ));
    }

    #[test]
    fn classifier_is_shareable_between_threads() {
        fn check<T: Send + Sync>() {}
        check::<Classifier>();
    }

    proptest::proptest! {
        #[test]
        fn any_text_classifies_without_panic(text in "\\PC{0,400}") {
            let c = Classifier::new(&rules(VOLLSTRECKUNG)).unwrap();
            let r = c.classify(&text);
            proptest::prop_assert_eq!(r.candidates.len(), 1);
        }

        #[test]
        fn slip_heavy_codes_never_panic(text in "[VBO0lI1S5 :-]{0,60}") {
            let c = Classifier::new(&rules(VOLLSTRECKUNG)).unwrap();
            let _ = c.classify(&format!("Vollstreckung Pfändung Aktenzeichen: {text}"));
        }
    }

    /// The labelled letters under `tests/data/classify/<expected-efile or _none>/NN.txt`.
    #[test]
    fn labelled_letters_land_in_their_e_files_and_nothing_else_is_filed() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/classify");
        let profile = crate::profile::Draft::read(&base.join("profile.yaml"))
            .and_then(crate::profile::Draft::finish)
            .unwrap_or_else(|e| panic!("{e}"));
        let classifier = Classifier::new(&profile.profile.efiles).unwrap();
        let mut folders: Vec<_> = std::fs::read_dir(&base)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        folders.sort();
        let (mut total, mut correct, mut wrong_efile, mut missed, mut corrected) = (0, 0, 0, 0, 0);
        let mut failures = Vec::new();
        for folder in &folders {
            let expected = folder.file_name().unwrap().to_str().unwrap().to_string();
            let mut files: Vec<_> = std::fs::read_dir(folder)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            for file in files {
                total += 1;
                let name = file.file_name().unwrap().to_str().unwrap().to_string();
                let text = document_text(&file).unwrap();
                let c = classifier.classify(&text);
                let got = c.decision().map_or("_none", Decision::id).to_string();
                let want_ambiguous = name.contains("ambiguous");
                if c.decision().is_some_and(Decision::has_corrected_fields) {
                    corrected += 1;
                }
                if got == expected && c.is_ambiguous() == want_ambiguous {
                    correct += 1;
                    continue;
                }
                if got != expected && got != "_none" {
                    wrong_efile += 1;
                } else if got != expected {
                    missed += 1;
                }
                failures.push(format!(
                    "{expected}/{name}: got {got} (ambiguous {}, want {want_ambiguous})\n{}",
                    c.is_ambiguous(),
                    explain(&c)
                ));
            }
        }
        println!(
            "classified {correct}/{total} correctly; {wrong_efile} filed into a wrong e-file; \
             {missed} sent to Klärung although they belong to an e-file; \
             {corrected} filed with an OCR-slip-corrected index field"
        );
        assert!(
            total >= 30 && folders.len() >= 7,
            "the labelled set shrank: {total}"
        );
        assert_eq!(wrong_efile, 0, "{}", failures.join("\n"));
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(
            corrected >= 3,
            "the set should exercise OCR-slip correction"
        );
    }
}
