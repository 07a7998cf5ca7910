//! The HTML QA sheet (`_batches/<id>/qa-sheet.html`): what the inspector looks at beside the
//! paper. One self-contained file — page thumbnails as `data:` URIs, styles inline, no script,
//! no external resource — so it opens from a file share in any browser, without a server, and
//! prints one document per sheet of paper.
//!
//! Each thumbnail links to the page at 150 dpi in the store's `.resiscan/qa-cache/` (the QA
//! station's cache, `serve::render`), by a relative link that works where the store is opened
//! from; the sheet itself stays whole without them (for print and archive).
//!
//! Per selected document: every page's thumbnail (poppler's `pdftoppm -r 40`) beside that page's
//! text (`pdftotext -f N -l N`), pages dropped as blank as greyed placeholders (they are not in
//! the PDF), the quality findings, e-file and index fields, hashes, why the document was
//! selected, and the exact `resiscan qa record` commands. Everything taken from OCR, file names or
//! the note is HTML-escaped: the text layer is whatever was printed on the paper.
//!
//! A missing tool or PDF does not stop the sheet: the document's box says what is missing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;

use super::{LoadedBatch, QaEntry, QaResult, Selection};
use crate::note::{DocumentRecord, PageRecord};

/// Thumbnail resolution: an A4 page comes out about 330 x 470 pixels, enough to see a fold, a
/// missing corner or a wrong page, small enough for a sheet of a hundred documents.
const THUMBNAIL_DPI: &str = "40";

const STYLE: &str = r#"
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #111; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin: 0 0 .4em; }
table { border-collapse: collapse; margin: .4em 0; }
td, th { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; font-size: .9em; }
code, .hash { font-family: ui-monospace, monospace; font-size: .85em; word-break: break-all; }
.doc { border: 2px solid #444; padding: .8em; margin: 1.2em 0; }
.reasons li { color: #8a4b00; }
.page { display: flex; gap: 1em; margin: .6em 0; align-items: flex-start; }
.page figure { margin: 0; flex: 0 0 auto; }
.page img { border: 1px solid #888; max-width: 340px; }
.page figcaption { font-size: .8em; color: #333; max-width: 340px; }
.page pre { flex: 1 1 auto; white-space: pre-wrap; font-size: .8em; background: #f6f6f6; padding: .4em; margin: 0; max-height: 480px; overflow: auto; }
.dropped .placeholder { width: 330px; height: 200px; background: #ddd; color: #555; border: 1px dashed #888; display: flex; align-items: center; justify-content: center; text-align: center; }
.missing { color: #a00; }
.mismatch { color: #fff; background: #a00; }
.decision { border: 2px dashed #444; padding: .6em; margin-top: .6em; }
.decision .box { display: inline-block; width: 1em; height: 1em; border: 1px solid #000; vertical-align: middle; margin-right: .3em; }
.recorded { font-weight: bold; }
@media print {
  body { margin: 0; }
  .doc { break-before: page; page-break-before: always; border: none; }
  .page { break-inside: avoid; page-break-inside: avoid; }
  .page pre { max-height: none; overflow: visible; }
}
"#;

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters from a garbled text layer would make the file invalid HTML.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Quotes a word for a POSIX shell so the printed command can be pasted as it is.
pub(crate) fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A temporary folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "resiscan-qa-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// PNG thumbnails of every page of `pdf`, in page order.
pub(crate) fn thumbnails(pdf: &Path) -> Result<Vec<Vec<u8>>, String> {
    let tmp = TempDir::new().map_err(|e| format!("temp folder: {e}"))?;
    let out = Command::new("pdftoppm")
        .args(["-r", THUMBNAIL_DPI, "-png"])
        .arg(pdf)
        .arg(tmp.0.join("p"))
        .output()
        .map_err(|e| format!("pdftoppm (poppler-utils) could not run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pdftoppm failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // pdftoppm names pages p-1.png or p-01.png … (zero-padded to the page count's width).
    let mut pages: Vec<(usize, PathBuf)> = std::fs::read_dir(&tmp.0)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name
                .strip_prefix("p-")?
                .strip_suffix(".png")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    pages.sort();
    pages
        .into_iter()
        .map(|(_, p)| std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display())))
        .collect()
}

/// The text of page `n` (1-based) of `pdf`, as pdftotext extracts it.
pub(crate) fn page_text(pdf: &Path, n: usize) -> Result<String, String> {
    let n = n.to_string();
    let out = Command::new("pdftotext")
        .args(["-f", &n, "-l", &n, "-layout", "-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .map_err(|e| format!("pdftotext (poppler-utils) could not run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pdftotext failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The whole sheet for one batch.
pub(crate) fn render(
    store: &Path,
    batch: &LoadedBatch,
    selection: &Selection,
    recorded: &BTreeMap<String, QaEntry>,
) -> String {
    let note = &batch.note;
    let e = html_escape;
    // The commands in the sheet must work from any folder the inspector pastes them into.
    let store_abs = std::fs::canonicalize(store).unwrap_or_else(|_| store.to_path_buf());
    let store = store_abs.as_path();
    let entries: Vec<QaEntry> = recorded.values().cloned().collect();
    let state = super::addendum::qa_state(&selection.ids(), &entries);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>QA sheet — batch {id}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Visual QA sheet (BSI TR-03138 A.SC.8) — batch {id}</h1>\n",
        id = e(&batch.id)
    );
    let _ = writeln!(
        h,
        "<table class=\"summary\">\
         <tr><th>operator</th><td>{}</td></tr>\
         <tr><th>organisation</th><td>{}</td></tr>\
         <tr><th>protection</th><td>{} (sample {}% of {} filed documents = {} at random)</td></tr>\
         <tr><th>seed</th><td><code>{}</code></td></tr>\
         <tr><th>to inspect</th><td>{} documents</td></tr>\
         <tr><th>quarantined</th><td>{}</td></tr>\
         <tr><th>batch note SHA-256</th><td class=\"hash\">{}</td></tr>\
         <tr><th>selection drawn</th><td>{}</td></tr>\
         <tr><th>QA state when this sheet was written</th><td>{}</td></tr></table>",
        e(&note.responsible.operator),
        e(&note.responsible.organisation),
        selection.protection,
        selection.sample_percent,
        selection.population,
        selection.random_sample_size,
        selection.seed,
        selection.documents.len(),
        selection.quarantined.len(),
        e(&batch.note_sha256),
        e(&selection.created),
        e(&state),
    );
    h.push_str(
        "<p>Compare each document below with the paper original: every page present, in order, \
         complete and legible; the text beside each page is what the e-file search will find. \
         Then record the result with the command in its box.</p>\n",
    );
    if !selection.quarantined.is_empty() {
        h.push_str("<section class=\"quarantined\"><h2>Quarantined (no PDF; paper back to the scan station)</h2><ul>\n");
        for q in &selection.quarantined {
            let _ = writeln!(h, "<li><b>{}</b>: {}</li>", e(&q.id), e(&q.reason));
        }
        h.push_str("</ul></section>\n");
    }
    // Documents render independently (two poppler runs each, ~0.2 s for a page): in parallel,
    // then joined in selection order.
    use rayon::prelude::*;
    let parts: Vec<String> = selection
        .documents
        .par_iter()
        .map(|sel| {
            let mut part = String::new();
            match note.documents.iter().find(|d| d.id == sel.id) {
                Some(doc) => document(
                    &mut part,
                    store,
                    batch,
                    doc,
                    &sel.reasons,
                    recorded.get(&sel.id),
                ),
                None => {
                    let _ = writeln!(
                        part,
                        "<section class=\"doc\"><h2>{}</h2><p class=\"missing\">not in the batch note any more</p></section>",
                        e(&sel.id)
                    );
                }
            }
            part
        })
        .collect();
    for part in parts {
        h.push_str(&part);
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn document(
    h: &mut String,
    store: &Path,
    batch: &LoadedBatch,
    doc: &DocumentRecord,
    reasons: &[super::sample::Reason],
    recorded: Option<&QaEntry>,
) {
    let e = html_escape;
    let _ = write!(
        h,
        "<section class=\"doc\" id=\"doc-{id}\">\n<h2>{id} <small>(entry {entry}, {fate:?})</small></h2>\n\
         <div class=\"reasons\">Selected because:<ul>",
        id = e(&doc.id),
        entry = e(&doc.entry),
        fate = doc.fate
    );
    for r in reasons {
        let _ = write!(h, "<li>{}</li>", e(&r.to_string()));
    }
    h.push_str("</ul></div>\n");

    let pdf = doc.pdf.as_ref().map(|p| store.join(p));
    let thumbs = match &pdf {
        Some(p) if p.is_file() => thumbnails(p),
        Some(p) => Err(format!("{} is missing", p.display())),
        None => Err("the note records no PDF".into()),
    };
    if let Err(why) = &thumbs {
        let _ = writeln!(
            h,
            "<p class=\"missing\">Page images unavailable: {}</p>",
            e(why)
        );
    }
    let thumbs = thumbs.unwrap_or_default();
    // Larger pages (the QA station's, shared through the store's cache) linked from each
    // thumbnail, relative to this sheet in `_batches/<id>/`: they open from the store's share.
    let cache = super::serve::render::cache_dir(store);
    let pdf_sha = pdf
        .as_deref()
        .and_then(|p| crate::crypto::sha256_file_hex(p).ok());
    let large = |n: usize| -> Option<String> {
        let (p, sha) = (pdf.as_deref()?, pdf_sha.as_deref()?);
        super::serve::render::rendered_page(&cache, p, sha, n).ok()?;
        Some(format!(
            "../../{}/qa-cache/{}",
            crate::store::STATE_DIR,
            super::serve::render::page_file_name(sha, n)
        ))
    };
    // Scan pages as the note lists them; pages left in the PDF are numbered 1.. in that order.
    let pages: Vec<Option<&PageRecord>> = if doc.pages.is_empty() {
        (0..thumbs.len()).map(|_| None).collect()
    } else {
        doc.pages.iter().map(Some).collect()
    };
    let mut pdf_page = 0;
    for (i, rec) in pages.iter().enumerate() {
        let number = rec.map(|r| r.number).unwrap_or(i + 1);
        let dropped = rec.is_some_and(|r| r.dropped) || doc.dropped_pages.contains(&number);
        if dropped {
            let _ = writeln!(
                h,
                "<div class=\"page dropped\"><figure><div class=\"placeholder\">page {number}<br>dropped as blank<br>(not in the PDF)</div>\
                 <figcaption>{}</figcaption></figure><pre>— check that the original's page {number} is really empty —</pre></div>",
                rec.map(|r| e(&findings(r))).unwrap_or_default()
            );
            continue;
        }
        pdf_page += 1;
        h.push_str("<div class=\"page\"><figure>");
        match thumbs.get(pdf_page - 1) {
            Some(png) => {
                let img = format!(
                    "<img alt=\"page {number}\" src=\"data:image/png;base64,{}\">",
                    base64::engine::general_purpose::STANDARD.encode(png)
                );
                match large(pdf_page) {
                    Some(href) => {
                        let _ = write!(
                            h,
                            "<a class=\"large\" href=\"{}\" title=\"page {number} at {} dpi\">{img}</a>",
                            e(&href),
                            super::serve::render::PAGE_DPI
                        );
                    }
                    None => h.push_str(&img),
                }
            }
            None => {
                let _ = write!(h, "<p class=\"missing\">no image for page {number}</p>");
            }
        }
        let _ = write!(
            h,
            "<figcaption>page {number} (PDF page {pdf_page}){}</figcaption></figure>",
            rec.map(|r| format!(": {}", e(&findings(r))))
                .unwrap_or_default()
        );
        let text = match &pdf {
            Some(p) if p.is_file() => page_text(p, pdf_page),
            _ => Err("no PDF".into()),
        };
        match text {
            Ok(t) if t.trim().is_empty() => {
                h.push_str("<pre class=\"missing\">(no text on this page)</pre>")
            }
            Ok(t) => {
                let _ = write!(h, "<pre>{}</pre>", e(t.trim_end()));
            }
            Err(why) => {
                let _ = write!(
                    h,
                    "<pre class=\"missing\">text unavailable: {}</pre>",
                    e(&why)
                );
            }
        }
        h.push_str("</div>\n");
    }

    facts(h, doc);
    hashes(h, doc, pdf.as_deref());
    decision(h, store, batch, doc, recorded);
    h.push_str("</section>\n");
}

/// The quality findings of one page, in one line.
pub(crate) fn findings(p: &PageRecord) -> String {
    let mut parts = vec![format!(
        "{} dpi ({})",
        p.dpi
            .map(|d| format!("{d:.0}"))
            .unwrap_or_else(|| "?".into()),
        p.dpi_source
    )];
    parts.push(p.color.clone());
    parts.push(format!("{}×{} px", p.width, p.height));
    if let Some(c) = p.ocr_confidence {
        parts.push(format!("OCR confidence {c:.0}"));
    }
    if p.blank {
        parts.push("blank".into());
    }
    if p.rotation != 0 {
        parts.push(format!("rotated {}°", p.rotation));
    }
    if let Some(emb) = &p.embedding {
        parts.push(emb.clone());
    }
    parts.join(", ")
}

fn facts(h: &mut String, doc: &DocumentRecord) {
    let e = html_escape;
    h.push_str("<table class=\"facts\">");
    let mut row = |k: &str, v: String| {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", e(k), v);
    };
    if let Some(f) = &doc.filing {
        row(
            "e-file",
            format!(
                "{} — {}",
                e(f.efile.as_deref().unwrap_or("(unclassified)")),
                e(f.title.as_deref().unwrap_or(""))
            ),
        );
        row("folder", format!("<code>{}</code>", e(&f.folder)));
        if let Some(s) = f.score {
            row("score", format!("{s:.2}"));
        }
        if !f.decided_by.is_empty() {
            row("decided by", e(&f.decided_by.join("; ")));
        }
        if let Some(r) = &f.runner_up {
            row(
                "runner-up",
                format!("{}{}", e(r), if f.ambiguous { " (ambiguous)" } else { "" }),
            );
        }
        if let Some(r) = &f.retention_until {
            row("keep until", e(r));
        }
    }
    for (k, v) in &doc.index_fields {
        row(&format!("field {k}"), format!("<code>{}</code>", e(v)));
    }
    if let Some(c) = doc.mean_ocr_confidence {
        row("mean OCR confidence", format!("{c:.1}"));
    }
    if !doc.flags.is_empty() {
        row("flags", e(&doc.flags.join("; ")));
    }
    if !doc.dropped_pages.is_empty() {
        let pages: Vec<String> = doc.dropped_pages.iter().map(|p| p.to_string()).collect();
        row("dropped blank pages", pages.join(", "));
    }
    if let Some(a) = &doc.anomaly {
        row("operator's anomaly", e(a));
    }
    if let Some(r) = &doc.reason {
        row("note", e(r));
    }
    h.push_str("</table>\n");
}

fn hashes(h: &mut String, doc: &DocumentRecord, pdf: Option<&Path>) {
    let e = html_escape;
    h.push_str("<table class=\"hashes\"><tr><th>file</th><th>SHA-256</th><th>bytes</th></tr>");
    for s in &doc.sources {
        let _ = write!(
            h,
            "<tr><td>source <code>{}</code> ({} page{})</td><td class=\"hash\">{}</td><td>{}</td></tr>",
            e(&s.file),
            s.pages,
            if s.pages == 1 { "" } else { "s" },
            e(&s.sha256),
            s.bytes
        );
    }
    if let (Some(rel), Some(recorded)) = (&doc.pdf, &doc.pdf_sha256) {
        // A renewed PDF (document timestamps appended) counts as the recorded one.
        let actual = pdf.map(|p| crate::verify::renewed::pdf_against_record(p, recorded));
        let (class, note) = match actual {
            Some(Ok(m)) if m.is_recorded() => ("hash", String::new()),
            Some(Ok(m)) => (
                "hash mismatch",
                format!(" — NOW {} (changed after signing!)", e(m.actual())),
            ),
            Some(Err(err)) => (
                "hash mismatch",
                format!(" — unreadable: {}", e(&err.to_string())),
            ),
            None => ("hash", String::new()),
        };
        let _ = write!(
            h,
            "<tr><td>PDF <code>{}</code></td><td class=\"{class}\">{}{note}</td><td></td></tr>",
            e(rel),
            e(recorded)
        );
    }
    h.push_str("</table>\n");
}

fn decision(
    h: &mut String,
    store: &Path,
    batch: &LoadedBatch,
    doc: &DocumentRecord,
    recorded: Option<&QaEntry>,
) {
    let e = html_escape;
    let base = format!(
        "resiscan qa record --store {} --batch {} --doc {}",
        shell_quote(&store.display().to_string()),
        shell_quote(&batch.id),
        shell_quote(&doc.id)
    );
    h.push_str("<div class=\"decision\"><b>Inspector's decision</b><br>");
    if let Some(r) = recorded {
        let _ = write!(
            h,
            "<p class=\"recorded\">Recorded: {} by {} at {}{}</p>",
            match r.result {
                QaResult::Ok => "matches the original",
                QaResult::Rejected => "REJECTED",
            },
            e(&r.inspector),
            e(&r.time),
            r.reason
                .as_deref()
                .map(|x| format!(" — {}", e(x)))
                .unwrap_or_default()
        );
    }
    let _ = write!(
        h,
        "<p><span class=\"box\"></span>image and content match the original &nbsp; \
         <span class=\"box\"></span>reject, reason: ______________________ &nbsp; \
         inspector: ____________ date: ________</p>\
         <pre><code>{ok}\n{rej}</code></pre></div>\n",
        ok = e(&format!("{base} --ok --inspector PSEUDONYM")),
        rej = e(&format!("{base} --reject 'REASON' --inspector PSEUDONYM")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Level;
    use crate::qa::testutil::FakeStore;
    use crate::qa::{SHEET_FILE, sample};

    #[test]
    fn escaping_covers_markup_quotes_and_control_characters() {
        assert_eq!(
            html_escape("<script>\"x\" & 'y'\u{7}"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;\u{FFFD}"
        );
        assert_eq!(shell_quote("/srv/store"), "/srv/store");
        assert_eq!(shell_quote("my store"), "'my store'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    fn sheet_of(fs: &FakeStore) -> String {
        sample(fs.store(), Some("b1")).unwrap();
        std::fs::read_to_string(fs.batch_dir().join(SHEET_FILE)).unwrap()
    }

    #[test]
    fn the_sheet_is_self_contained_and_lists_every_selected_document() {
        let fs = FakeStore::new(Level::SehrHoch, 3);
        let html = sheet_of(&fs);
        for id in ["b1_0001", "b1_0002", "b1_0003"] {
            assert!(html.contains(&format!("id=\"doc-{id}\"")), "{id} missing");
            assert!(html.contains(&format!("--doc {id} --ok --inspector PSEUDONYM")));
        }
        assert_eq!(html.matches("<img ").count(), 3);
        assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 3);
        let abs = fs.store().canonicalize().unwrap();
        assert!(html.contains(&format!(
            "qa record --store {} --batch b1",
            html_escape(&shell_quote(&abs.display().to_string()))
        )));
        assert!(html.contains("visual sample: 0 of 3 inspected"));
        // No external resources of any kind.
        for needle in [
            "http://",
            "https://",
            "src=\"/",
            "src=\"file:",
            "<link",
            "<script",
        ] {
            assert!(!html.contains(needle), "found {needle}");
        }
        assert!(html.contains("@media print"));
        assert!(html.contains("page-break-before: always"));
        assert!(html.contains("random sample"));
    }

    #[test]
    fn ocr_text_and_file_names_are_escaped() {
        let fs = FakeStore::new(Level::SehrHoch, 1);
        fs.rewrite_note(|n| {
            n.documents[0].sources[0].file = "<img src=x onerror=alert(1)>.png".into();
            n.documents[0].flags = vec!["<b>flag</b>".into()];
        });
        let html = sheet_of(&fs);
        // The PDF's text layer reads: Vollstreckung b1_0001 <Kassenzeichen> & "Mahnung"
        assert!(
            html.contains("&lt;Kassenzeichen&gt; &amp; &quot;Mahnung&quot;"),
            "OCR text missing or unescaped"
        );
        assert!(!html.contains("<Kassenzeichen>"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;.png"));
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("<b>flag</b>"));
    }

    #[test]
    fn dropped_pages_are_greyed_placeholders_and_pages_stay_aligned() {
        let fs = FakeStore::new(Level::SehrHoch, 2);
        fs.with_dropped_page("b1_0002");
        let html = sheet_of(&fs);
        let doc = &html[html.find("id=\"doc-b1_0002\"").unwrap()..];
        assert!(doc.contains("class=\"page dropped\""));
        assert!(doc.contains("page 2<br>dropped as blank"));
        // Scan page 3 is the PDF's page 2 and carries that page's text.
        let p3 = &doc[doc.find("page 3 (PDF page 2)").unwrap()..];
        assert!(p3.contains("Seite drei"));
        assert_eq!(doc.matches("<img ").count(), 2);
    }

    #[test]
    fn thumbnails_link_to_larger_pages_in_the_store_cache() {
        let fs = FakeStore::new(Level::SehrHoch, 2);
        let html = sheet_of(&fs);
        let links: Vec<&str> = html
            .split("<a class=\"large\" href=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        assert_eq!(links.len(), 2, "one per page");
        for l in links {
            assert!(l.starts_with("../../.resiscan/qa-cache/"), "{l}");
            let file = fs.batch_dir().join(l);
            let png = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(png.starts_with(b"\x89PNG"));
        }
    }

    #[test]
    fn a_missing_pdf_is_reported_in_the_sheet_not_fatal() {
        let fs = FakeStore::new(Level::SehrHoch, 2);
        std::fs::remove_file(fs.pdf_path("b1_0001")).unwrap();
        let html = sheet_of(&fs);
        assert!(html.contains("Page images unavailable"));
        assert!(html.contains("is missing"));
        assert!(html.contains("id=\"doc-b1_0002\""));
    }

    #[test]
    fn a_changed_pdf_is_shown_as_a_hash_mismatch() {
        let fs = FakeStore::new(Level::SehrHoch, 1);
        let p = fs.pdf_path("b1_0001");
        let mut b = std::fs::read(&p).unwrap();
        b.extend_from_slice(b"% appended\n");
        std::fs::write(&p, b).unwrap();
        let html = sheet_of(&fs);
        assert!(html.contains("changed after signing!"));
    }
}
