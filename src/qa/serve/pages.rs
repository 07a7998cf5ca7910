//! The station's pages, as maud templates: every `(value)` is HTML-escaped by maud, so OCR
//! text, file names, flags and field values show as text whatever the paper said. The only
//! unescaped output is the fixed stylesheet and script below, served from the binary.

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, html};

use super::web::segment;
use super::{Ctx, Reply, Station};
use crate::note::{DocumentRecord, PageRecord};
use crate::outcome::Fate;
use crate::qa::{LoadedBatch, QaEntry, QaResult, Selection, addendum, read_selection};

pub(crate) const CSS: &str = include_str!("assets/station.css");
pub(crate) const JS: &str = include_str!("assets/station.js");

fn layout(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="de" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — resiscan QA station" }
                link rel="stylesheet" href="/assets/station.css";
                script src="/assets/station.js" defer {}
            }
            body { (body) }
        }
    }
    .into_string()
}

pub(crate) fn error(status: u16, message: &str) -> Reply {
    Reply::html(
        status,
        layout(
            "error",
            html! {
                header.bar { a href="/" { "All batches" } }
                main.narrow { p.error role="alert" { (message) } }
            },
        ),
    )
}

fn batch_url(batch: &str) -> String {
    format!("/b/{}", segment(batch))
}

fn doc_url(batch: &str, doc: &str) -> String {
    format!("/b/{}/d/{}", segment(batch), segment(doc))
}

fn result_word(r: QaResult) -> &'static str {
    match r {
        QaResult::Ok => "OK",
        QaResult::Rejected => "REJECTED",
    }
}

fn entry_text(e: &QaEntry) -> String {
    let mut s = format!("{} by {} at {}", result_word(e.result), e.inspector, e.time);
    if let Some(r) = &e.reason {
        s.push_str(&format!(" — {r}"));
    }
    if !e.in_sample {
        s.push_str(" (outside sample)");
    }
    s
}

fn entries_of(batch: &LoadedBatch) -> Result<Vec<QaEntry>, String> {
    addendum::read(&batch.dir)
        .map(|a| a.map(|a| a.entries).unwrap_or_default())
        .map_err(|e| e.to_string())
}

/// The batch list with each batch's QA state.
pub(crate) fn index(station: &Station) -> Reply {
    let ids = match crate::qa::batch_ids(&station.store, None) {
        Ok(ids) => ids,
        Err(e) => return error(500, &e.to_string()),
    };
    let body = html! {
        header.bar { b { "resiscan QA station" } span.muted { (station.store.display()) } }
        main.narrow {
            h1 { "Batches" }
            table.list {
                thead { tr { th { "batch" } th { "QA state" } th { "selected" } th { "open" } th { "rejected" } } }
                tbody {
                    @for id in &ids {
                        @match crate::qa::status(&station.store, Some(id)) {
                            Ok(mut st) => {
                                @let st = st.remove(0);
                                tr.(state_class(&st)) {
                                    td { a href=(batch_url(id)) { (id) } }
                                    td {
                                        (st.qa_state)
                                        @for p in &st.addendum_problems { br; span.error { "addendum invalid: " (p) } }
                                    }
                                    td { (st.selected) }
                                    td { (st.open.len()) }
                                    td { (st.rejected.len()) }
                                }
                            }
                            Err(e) => tr.problem { td { (id) } td colspan="4" { span.error { (e.to_string()) } } }
                        }
                    }
                }
            }
            p.muted { "Keys on a document: ← → pages, + − 0 zoom, o OK, r reject reason, n/p next/previous document, ? help." }
        }
    };
    Reply::html(200, layout("batches", body))
}

fn state_class(st: &crate::qa::BatchStatus) -> &'static str {
    match st.exit() {
        crate::outcome::Exit::Ok => "done",
        crate::outcome::Exit::NeedsPerson => "open",
        _ => "problem",
    }
}

/// One batch: the selected documents with their state, the rest of the batch below.
pub(crate) fn batch(batch: &LoadedBatch, ctx: &Ctx, done: Option<&str>) -> Reply {
    let selection = match read_selection(&batch.dir) {
        Ok(s) => s,
        Err(e) => return error(500, &e.to_string()),
    };
    let (entries, problem) = match entries_of(batch) {
        Ok(e) => (e, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let latest = addendum::latest_by_doc(&entries);
    let stale = selection
        .as_ref()
        .is_some_and(|s| s.batch_note_sha256 != batch.note_sha256);
    let first_open = selection.as_ref().and_then(|s| {
        s.documents
            .iter()
            .find(|d| !latest.contains_key(&d.id))
            .map(|d| d.id.clone())
    });
    let body = html! {
        header.bar { a href="/" { "All batches" } " › " b { (batch.id) } }
        main.narrow {
            @if let Some(d) = done { (done_banner(d, &latest)) }
            @if let Some(p) = &problem { p.error role="alert" { "The QA addendum cannot be read: " (p) } }
            h1 { "Batch " (batch.id) }
            p {
                "Operator " b { (batch.note.responsible.operator) } ", protection "
                b { (batch.note.environment.protection) } ", "
                (batch.note.documents.len()) " documents."
            }
            @match &selection {
                None => {
                    p { "No visual-QA sample has been drawn for this batch yet." }
                    (sample_form(batch, ctx, "Draw the sample now"))
                }
                Some(sel) => {
                    @if stale {
                        p.error { "The batch note changed since the sample was drawn; draw it again (the recorded seed is kept)." }
                        (sample_form(batch, ctx, "Draw the sample again"))
                    }
                    p { (addendum::qa_state(&sel.ids(), &entries)) }
                    @if let Some(first) = &first_open {
                        p { a.button id="start" href=(doc_url(&batch.id, first)) { "Inspect the next open document (" (first) ")" } }
                    }
                    (doc_table(batch, sel, &latest))
                }
            }
        }
    };
    Reply::html(200, layout(&format!("batch {}", batch.id), body))
}

fn sample_form(batch: &LoadedBatch, ctx: &Ctx, label: &str) -> Markup {
    html! {
        form method="post" action=(format!("{}/sample", batch_url(&batch.id))) {
            input type="hidden" name="csrf" value=(ctx.csrf);
            button type="submit" { (label) }
        }
    }
}

fn doc_table(batch: &LoadedBatch, sel: &Selection, latest: &BTreeMap<String, QaEntry>) -> Markup {
    let others: Vec<&DocumentRecord> = batch
        .note
        .documents
        .iter()
        .filter(|d| !sel.contains(&d.id) && d.fate != Fate::Quarantined && d.pdf.is_some())
        .collect();
    html! {
        h2 { "To inspect (" (sel.documents.len()) ")" }
        table.list {
            thead { tr { th { "document" } th { "state" } th { "selected because" } } }
            tbody {
                @for d in &sel.documents {
                    @let e = latest.get(&d.id);
                    tr.(row_class(e)) {
                        td { a href=(doc_url(&batch.id, &d.id)) { (d.id) } }
                        td { @match e { Some(e) => (entry_text(e)), None => "open" } }
                        td { (d.reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("; ")) }
                    }
                }
            }
        }
        @if !sel.quarantined.is_empty() {
            h2 { "Quarantined (no PDF; the paper goes back to the scan station)" }
            ul { @for q in &sel.quarantined { li { b { (q.id) } ": " (q.reason) } } }
        }
        @if !others.is_empty() {
            details {
                summary { "Other documents of the batch (" (others.len()) "), for a check outside the sample" }
                ul { @for d in &others {
                    li { a href=(doc_url(&batch.id, &d.id)) { (d.id) }
                         @if let Some(e) = latest.get(&d.id) { " — " (entry_text(e)) } }
                } }
            }
        }
    }
}

fn row_class(e: Option<&QaEntry>) -> &'static str {
    match e.map(|e| e.result) {
        None => "open",
        Some(QaResult::Ok) => "done",
        Some(QaResult::Rejected) => "rejected",
    }
}

fn done_banner(doc: &str, latest: &BTreeMap<String, QaEntry>) -> Markup {
    html! {
        @if let Some(e) = latest.get(doc) {
            p.notice role="status" { "Recorded in the signed QA addendum: " b { (doc) } " " (entry_text(e)) "." }
        }
    }
}

/// Pages of the PDF: the note's scan pages minus those dropped as blank.
pub(crate) fn pdf_page_count(d: &DocumentRecord) -> usize {
    scan_pages(d)
        .iter()
        .filter(|p| p.pdf_page.is_some())
        .count()
}

/// One scan page as the station shows it: its PDF page number (None when dropped as blank).
struct ScanPage<'a> {
    number: usize,
    pdf_page: Option<usize>,
    record: Option<&'a PageRecord>,
}

fn scan_pages(d: &DocumentRecord) -> Vec<ScanPage<'_>> {
    let mut out = Vec::new();
    let mut pdf_page = 0;
    if d.pages.is_empty() {
        // No page records (an older note): one PDF page per source page.
        let n: usize = d.sources.iter().map(|s| s.pages).sum::<usize>().max(1);
        for i in 1..=n {
            out.push(ScanPage {
                number: i,
                pdf_page: Some(i),
                record: None,
            });
        }
        return out;
    }
    for p in &d.pages {
        let dropped = p.dropped || d.dropped_pages.contains(&p.number);
        if !dropped {
            pdf_page += 1;
        }
        out.push(ScanPage {
            number: p.number,
            pdf_page: (!dropped).then_some(pdf_page),
            record: Some(p),
        });
    }
    out
}

/// The next document without a decision, in selection order after `after` (wrapping).
pub(crate) fn next_open(batch: &LoadedBatch, after: &str) -> Option<String> {
    let sel = read_selection(&batch.dir).ok()??;
    let latest = addendum::latest_by_doc(&entries_of(batch).ok()?);
    let ids = sel.ids();
    let start = ids.iter().position(|i| i == after).map_or(0, |p| p + 1);
    ids.iter()
        .cycle()
        .skip(start)
        .take(ids.len())
        .find(|i| !latest.contains_key(i.as_str()) && i.as_str() != after)
        .cloned()
}

/// A message at the top of the document page.
pub(crate) enum Notice<'a> {
    Done(&'a str),
    Error(&'a str),
}

/// One document: every page large beside its text, the findings and fields, the decision.
pub(crate) fn document(
    station: &Station,
    batch: &LoadedBatch,
    doc_id: &str,
    ctx: &Ctx,
    notice: Option<Notice<'_>>,
    status: u16,
) -> Reply {
    let Some(doc) = batch.note.documents.iter().find(|d| d.id == doc_id) else {
        return super::not_found();
    };
    let selection = read_selection(&batch.dir).ok().flatten();
    let (entries, problem) = match entries_of(batch) {
        Ok(e) => (e, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let latest_all = addendum::latest_by_doc(&entries);
    let history: Vec<&QaEntry> = entries.iter().filter(|e| e.doc == doc.id).collect();
    let ids = selection.as_ref().map(Selection::ids).unwrap_or_default();
    let pos = ids.iter().position(|i| *i == doc.id);
    let prev = pos.and_then(|p| p.checked_sub(1)).and_then(|p| ids.get(p));
    let next = pos.and_then(|p| ids.get(p + 1));
    let reasons = selection
        .as_ref()
        .and_then(|s| s.documents.iter().find(|d| d.id == doc.id))
        .map(|d| d.reasons.clone());
    let pdf = doc.pdf.as_ref().map(|p| station.store.join(p));
    let changed = match (&pdf, &doc.pdf_sha256) {
        // A renewed PDF (document timestamps appended) counts as the recorded one.
        (Some(p), Some(recorded)) => {
            match crate::verify::renewed::pdf_against_record(p, recorded) {
                Ok(m) if m.is_recorded() => None,
                Ok(m) => Some(format!(
                    "The PDF's SHA-256 is now {}, not the {recorded} the signed note records: it changed after signing. Do not inspect it; run `resiscan verify`.",
                    m.actual()
                )),
                Err(e) => Some(format!("{}: {e}", p.display())),
            }
        }
        _ => Some("The note records no PDF for this document.".to_string()),
    };
    let pages = scan_pages(doc);
    let total = pages.len();
    let body = html! {
        header.bar {
            a href="/" { "All batches" } " › " a href=(batch_url(&batch.id)) { (batch.id) } " › " b { (doc.id) }
            span.state.(row_class(latest_all.get(&doc.id))) {
                @match latest_all.get(&doc.id) { Some(e) => (result_word(e.result)), None => "open" }
            }
            @if let Some(p) = pos { span.muted { "document " (p + 1) " of " (ids.len()) " to inspect" } } @else { span.muted { "not in the sample" } }
            nav.docnav {
                @if let Some(p) = prev { a id="prevdoc" href=(doc_url(&batch.id, p)) { "◀ previous (p)" } }
                @if let Some(n) = next { a id="nextdoc" href=(doc_url(&batch.id, n)) { "next (n) ▶" } }
            }
        }
        div.station {
            section.viewer {
                div.pagebar {
                    button id="prevpage" type="button" { "◀ page" }
                    span id="pagepos" { "page 1 of " (total) }
                    button id="nextpage" type="button" { "page ▶" }
                    button id="zoomout" type="button" { "−" }
                    span id="zoompos" { "100 %" }
                    button id="zoomin" type="button" { "+" }
                    button id="zoomfit" type="button" { "fit" }
                }
                @for (i, p) in pages.iter().enumerate() {
                    article.page.dropped[p.pdf_page.is_none()] id=(format!("page-{}", i + 1)) data-page=(i + 1) {
                        div.image {
                            @match (p.pdf_page, &pdf) {
                                (Some(n), Some(_)) if changed.is_none() => {
                                    img alt=(format!("page {} of {}", p.number, doc.id)) src=(format!("{}/p/{n}.png", doc_url(&batch.id, &doc.id))) loading="lazy";
                                }
                                (Some(_), _) => { div.placeholder { "page " (p.number) ": no image (see the warning)" } }
                                (None, _) => { div.placeholder { "page " (p.number) br; "dropped as blank" br; "(not in the PDF)" } }
                            }
                        }
                        div.text {
                            h3 {
                                "Page " (p.number)
                                @if let Some(n) = p.pdf_page { " (PDF page " (n) ")" }
                            }
                            @if let Some(r) = p.record { p.findings { (crate::qa::sheet::findings(r)) } }
                            @match (p.pdf_page, &pdf) {
                                (Some(n), Some(path)) if changed.is_none() => {
                                    @match crate::qa::sheet::page_text(path, n) {
                                        Ok(t) if t.trim().is_empty() => { pre.ocr.missing { "(no text on this page)" } }
                                        Ok(t) => { pre.ocr { (t.trim_end()) } }
                                        Err(e) => { pre.ocr.missing { "text unavailable: " (e) } }
                                    }
                                }
                                (None, _) => { p { "Check that the original's page " (p.number) " is really empty." } }
                                _ => {}
                            }
                        }
                    }
                }
            }
            aside.side {
                @match &notice {
                    Some(Notice::Done(d)) => (done_banner(d, &latest_all)),
                    Some(Notice::Error(m)) => { p.error role="alert" { (m) } }
                    None => {}
                }
                @if let Some(c) = &changed { p.error role="alert" { (c) } }
                @if let Some(p) = &problem { p.error role="alert" { "The QA addendum cannot be read: " (p) } }
                (decision_form(station, batch, doc, ctx, history.len(), changed.is_none()))
                @if !history.is_empty() {
                    h2 { "Decisions so far" }
                    ol.history { @for e in &history { li { (entry_text(e)) } } }
                }
                @if let Some(r) = &reasons { h2 { "Selected because" } ul { @for x in r { li { (x) } } } }
                (facts(doc))
            }
        }
        div id="help" hidden {
            h2 { "Keys" }
            table {
                tr { td { kbd { "→" } " " kbd { "PgDn" } " " kbd { "j" } } td { "next page" } }
                tr { td { kbd { "←" } " " kbd { "PgUp" } " " kbd { "k" } } td { "previous page" } }
                tr { td { kbd { "+" } " " kbd { "−" } " " kbd { "0" } } td { "zoom in, out, fit" } }
                tr { td { kbd { "o" } } td { "OK: image and content match the original" } }
                tr { td { kbd { "r" } } td { "reject: type the reason, then Enter" } }
                tr { td { kbd { "n" } " " kbd { "p" } } td { "next, previous document" } }
                tr { td { kbd { "?" } } td { "this help" } }
            }
        }
    };
    Reply::html(status, layout(&doc.id, body))
}

fn decision_form(
    station: &Station,
    batch: &LoadedBatch,
    doc: &DocumentRecord,
    ctx: &Ctx,
    seen: usize,
    inspectable: bool,
) -> Markup {
    html! {
        form.decision id="decide" method="post" action=(doc_url(&batch.id, &doc.id)) {
            h2 { "Decision" }
            input type="hidden" name="csrf" value=(ctx.csrf);
            input type="hidden" name="seen" value=(seen);
            @match &station.inspector {
                Some(i) => { p { "Inspector: " b id="inspector-fixed" { (i) } } }
                None => {
                    label { "Inspector (pseudonym) "
                        input id="inspector" type="text" name="inspector" required autocomplete="username"; }
                }
            }
            // Reject comes first in the form: Enter in the reason field submits the form
            // with its first button, and that must never be OK.
            div.reject {
                label { "Reason for rejecting "
                    input id="reason" type="text" name="reason" required placeholder="e.g. page 2 cut off at the bottom"; }
                button id="reject" type="submit" name="decision" value="reject" disabled[!inspectable] { "Reject (r, Enter)" }
            }
            div.ok {
                button id="ok" type="submit" name="decision" value="ok" formnovalidate disabled[!inspectable] {
                    "OK — matches the original (o)"
                }
            }
        }
    }
}

fn facts(doc: &DocumentRecord) -> Markup {
    html! {
        h2 { "Findings and filing" }
        table.facts {
            @if let Some(f) = &doc.filing {
                tr { th { "e-file" } td { (f.efile.as_deref().unwrap_or("(unclassified)")) " — " (f.title.as_deref().unwrap_or("")) } }
                tr { th { "folder" } td { code { (f.folder) } } }
                @if let Some(s) = f.score { tr { th { "score" } td { (format!("{s:.2}")) } } }
                @if !f.decided_by.is_empty() { tr { th { "decided by" } td { (f.decided_by.join("; ")) } } }
                @if let Some(r) = &f.runner_up { tr { th { "runner-up" } td { (r) @if f.ambiguous { " (ambiguous)" } } } }
                @if let Some(r) = &f.retention_until { tr { th { "keep until" } td { (r) } } }
            }
            @for (k, v) in &doc.index_fields { tr { th { "field " (k) } td { code.field { (v) } } } }
            @if let Some(c) = doc.mean_ocr_confidence { tr { th { "mean OCR confidence" } td { (format!("{c:.1}")) } } }
            @if !doc.flags.is_empty() { tr.flag { th { "flags" } td { (doc.flags.join("; ")) } } }
            @if !doc.dropped_pages.is_empty() {
                tr.flag { th { "dropped blank pages" } td { (doc.dropped_pages.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")) } }
            }
            @if let Some(a) = &doc.anomaly { tr.flag { th { "operator's anomaly" } td { (a) } } }
            @if let Some(r) = &doc.reason { tr { th { "note" } td { (r) } } }
            tr { th { "entry" } td { (doc.entry) " (" (format!("{:?}", doc.fate)) ")" } }
            @for s in &doc.sources { tr { th { "source" } td { code { (s.file) } " (" (s.pages) " p.)" } } }
            @if let Some(h) = &doc.pdf_sha256 { tr { th { "PDF SHA-256" } td { code.hash { (h) } } } }
        }
    }
}
