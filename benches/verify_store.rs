//! `verify STORE` on a store of 10,000 signed documents (issue #15: keep verify above 1,000
//! PDFs/s with the completeness checks — the chain walk, every file hashed against it, the
//! index reconciled with the notes).
//!
//! OCR makes a real 10,000-document ingest take hours, so the store is grown from a real one:
//! `TEMPLATE` is a store `ingest` filed (any batch); its documents' signed PDFs are copied under
//! new ids into 100-document batches, and every note, batch note, `meta.json`, index row and
//! chain link is written and signed afresh with the template's demo identity, as `ingest` would.
//! The PDFs' own signatures stay valid (their bytes are unchanged); `verify FILE.pdf`'s id check
//! is not part of a store walk.
//!
//! Run: `cargo bench --bench verify_store -- TEMPLATE [DOCUMENTS (10000)] [ROUNDS (3)]`
//! (`VERIFY_STORE_OUT=DIR` keeps the store; ROUNDS 0 only builds it)
//! (e.g. after `resiscan ingest samples/poststelle-2026-11-24 --profile profiles/demo.yaml
//! --store /tmp/template`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use resiscan::crypto::identity::SigningIdentity;
use resiscan::note::{NoteKind, TransferNote};
use resiscan::outcome::Fate;
use resiscan::store::{NewEntry, Store, chain};

const PER_BATCH: usize = 100;

struct Template {
    pdf: Vec<u8>,
    pdf_sha256: String,
    note: TransferNote,
    meta: serde_json::Value,
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let template = PathBuf::from(
        args.first()
            .ok_or("usage: verify_store TEMPLATE [N] [ROUNDS]")?,
    );
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    // VERIFY_STORE_OUT keeps the grown store (to time the release binary's `verify` on it).
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store_dir = std::env::var_os("VERIFY_STORE_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.path().join("store"));
    let started = Instant::now();
    grow(&template, &store_dir, n)?;
    eprintln!(
        "built a store of {n} documents in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let cert = store_dir.join(".resiscan/demo-identity/cert.pem");
    let mut times = Vec::new();
    for round in 0..rounds {
        let t = Instant::now();
        let out = resiscan::verify::run(
            std::slice::from_ref(&store_dir),
            std::slice::from_ref(&cert),
        )
        .map_err(|e| e.to_string())?;
        let secs = t.elapsed().as_secs_f64();
        if out.invalid + out.untrusted > 0 {
            for l in out
                .lines()
                .iter()
                .filter(|l| !l.starts_with("VALID"))
                .take(10)
            {
                eprintln!("{l}");
            }
            return Err("the grown store does not verify".into());
        }
        eprintln!(
            "round {round}: verify {n} documents ({} items) in {secs:.2} s: {:.0} PDFs/s",
            out.items.len(),
            n as f64 / secs
        );
        times.push(secs);
    }
    if times.is_empty() {
        return Ok(());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "verify_store: {n} documents, median {median:.2} s, {:.0} PDFs/s",
        n as f64 / median
    );
    Ok(())
}

/// Writes a store of `n` documents into `out`, from the filed documents of `template`.
fn grow(template: &Path, out: &Path, n: usize) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let id_dir = template.join(".resiscan/demo-identity");
    std::fs::create_dir_all(out.join(".resiscan")).map_err(|e| err(&e))?;
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&id_dir)
        .arg(out.join(".resiscan/demo-identity"))
        .status()
        .map_err(|e| err(&e))?;
    if !status.success() {
        return Err(format!("cannot copy {}", id_dir.display()));
    }
    let identity = SigningIdentity::demo(out).map_err(|e| err(&e))?;
    let (batch_note, templates) = templates(template)?;
    let mut store = Store::open(out).map_err(|e| err(&e))?;
    let mut entries = Vec::with_capacity(n);
    for b in 0..n.div_ceil(PER_BATCH) {
        let batch = format!("x{b:03}");
        let folder = format!("_Klaerung/{batch}");
        std::fs::create_dir_all(out.join(&folder)).map_err(|e| err(&e))?;
        let mut records = Vec::new();
        let mut document_notes = BTreeMap::new();
        let mut rels = Vec::new();
        for j in 0..PER_BATCH.min(n - b * PER_BATCH) {
            let t = &templates[j % templates.len()];
            let id = format!("{batch}_{j:04}");
            let paths = Store::doc_paths(&folder, &id);
            std::fs::write(out.join(&paths.pdf), &t.pdf).map_err(|e| err(&e))?;
            let mut note = t.note.clone();
            note.batch = batch.clone();
            let mut record = note.documents[0].clone();
            record.id = id.clone();
            record.pdf = Some(paths.pdf.clone());
            record.filing = record.filing.map(|mut f| {
                f.folder = folder.clone();
                f
            });
            note.documents = vec![record.clone()];
            let yaml = note.to_yaml().map_err(|e| err(&e))?;
            let (sha, p7s) =
                resiscan::crypto::cms::sign_content_now(&identity, &yaml).map_err(|e| err(&e))?;
            std::fs::write(out.join(&paths.note), &yaml).map_err(|e| err(&e))?;
            std::fs::write(out.join(&paths.p7s), p7s).map_err(|e| err(&e))?;
            let note_sha = hex::encode(sha);
            let mut meta = t.meta.clone();
            meta["doc_id"] = id.clone().into();
            meta["batch_id"] = batch.clone().into();
            meta["folder"] = folder.clone().into();
            meta["hashes"]["transfer_note"] = note_sha.clone().into();
            std::fs::write(
                out.join(&paths.meta),
                serde_json::to_vec_pretty(&meta).map_err(|e| err(&e))?,
            )
            .map_err(|e| err(&e))?;
            document_notes.insert(id.clone(), note_sha);
            entries.push(NewEntry {
                doc_id: id.clone(),
                batch_id: batch.clone(),
                efile_id: record.filing.as_ref().and_then(|f| f.efile.clone()),
                pdf_path: paths.pdf.clone(),
                note_path: paths.note.clone(),
                meta_path: paths.meta.clone(),
                pdf_sha256: t.pdf_sha256.clone(),
                source_digest: format!("{b:08}{j:056}"),
                filed_at: "2026-11-25T01:00:00Z".into(),
                retention_until: record
                    .filing
                    .as_ref()
                    .and_then(|f| f.retention_until.clone()),
                text: format!("Brief {id}"),
            });
            records.push(record);
            rels.extend([paths.pdf, paths.note, paths.p7s, paths.meta]);
        }
        let dir = format!("_batches/{batch}");
        std::fs::create_dir_all(out.join(&dir)).map_err(|e| err(&e))?;
        let mut note = batch_note.clone();
        note.batch = batch.clone();
        note.completeness = None;
        note.document_notes = document_notes;
        note.documents = records;
        let yaml = note.to_yaml().map_err(|e| err(&e))?;
        let (_, p7s) =
            resiscan::crypto::cms::sign_content_now(&identity, &yaml).map_err(|e| err(&e))?;
        std::fs::write(out.join(format!("{dir}/transfer-note.yaml")), &yaml)
            .map_err(|e| err(&e))?;
        std::fs::write(out.join(format!("{dir}/transfer-note.yaml.p7s")), p7s)
            .map_err(|e| err(&e))?;
        std::fs::write(out.join(format!("{dir}/report.json")), "{}").map_err(|e| err(&e))?;
        std::fs::write(out.join(format!("{dir}/quarantine.json")), "[]").map_err(|e| err(&e))?;
        for name in [
            "transfer-note.yaml",
            "transfer-note.yaml.p7s",
            "report.json",
            "quarantine.json",
        ] {
            rels.push(format!("{dir}/{name}"));
        }
        let files =
            chain::hashed_files(out, rels.iter().map(String::as_str)).map_err(|e| err(&e))?;
        chain::append(
            out,
            &identity,
            chain::Event::Batch,
            &batch,
            Vec::new(),
            files,
            Vec::new(),
        )
        .map_err(|e| err(&e))?;
    }
    store.record_all(&entries).map_err(|e| err(&e))?;
    Ok(())
}

/// The template store's first batch note and its filed documents.
fn templates(template: &Path) -> Result<(TransferNote, Vec<Template>), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let batches = template.join("_batches");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&batches)
        .map_err(|e| format!("{}: {e}", batches.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    let dir = dirs.first().ok_or("the template store has no batch")?;
    let note = TransferNote::from_yaml(
        &std::fs::read(dir.join("transfer-note.yaml")).map_err(|e| err(&e))?,
    )
    .map_err(|e| err(&e))?;
    let mut out = Vec::new();
    for d in &note.documents {
        if !matches!(d.fate, Fate::Filed | Fate::Unclassified) {
            continue;
        }
        let Some(pdf) = &d.pdf else { continue };
        let pdf_path = template.join(pdf);
        let doc_note = pdf_path.with_extension("transfer.yaml");
        let own = TransferNote::from_yaml(&std::fs::read(&doc_note).map_err(|e| err(&e))?)
            .map_err(|e| err(&e))?;
        if own.kind != NoteKind::Document {
            continue;
        }
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(pdf_path.with_extension("meta.json")).map_err(|e| err(&e))?,
        )
        .map_err(|e| err(&e))?;
        out.push(Template {
            pdf: std::fs::read(&pdf_path).map_err(|e| err(&e))?,
            pdf_sha256: d.pdf_sha256.clone().unwrap_or_default(),
            note: own,
            meta,
        });
    }
    if out.is_empty() {
        return Err("the template's first batch filed no document".into());
    }
    Ok((note, out))
}
