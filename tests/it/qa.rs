//! `resiscan qa sample | record | status` from the outside: a store with a signed batch note and
//! real (tiny) PDFs, driven through the binary, checked by exit codes, files and openssl.

use crate::testenv;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use resiscan::crypto::SigningIdentity;
use resiscan::note::{
    Concordance, DocumentRecord, Environment, Filing, NOTE_FORMAT, NoteKind, PageRecord,
    ProfileRef, Responsible, Signer, SourceFile, Times, TransferNote,
};
use resiscan::outcome::Fate;
use resiscan::profile::Level;
use testenv::TestEnv;

const FOLDER: &str = "20 Stadtkasse/20.3 Vollstreckung";

/// One page per text, Helvetica; enough for pdftoppm and pdftotext.
fn tiny_pdf(texts: &[&str]) -> Vec<u8> {
    let n = texts.len();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n} >>",
            (0..n)
                .map(|i| format!("{} 0 R", 4 + 2 * i))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    for (i, t) in texts.iter().enumerate() {
        let content = format!("BT /F1 8 Tf 5 60 Td ({t}) Tj ET");
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 283] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn page(number: usize) -> PageRecord {
    PageRecord {
        number,
        source: format!("{number}.png"),
        source_page: 1,
        width: 2480,
        height: 3508,
        dpi: Some(300.0),
        dpi_source: "file".into(),
        color: "gray".into(),
        blank: false,
        dropped: false,
        ocr_confidence: Some(90.0),
        words: Some(10),
        rotation: 0,
        embedding: Some("Flate (lossless re-encoding)".into()),
    }
}

/// Builds `<tmp>/store` with batch `b1` of `n` filed documents at `level`, signed with the
/// store's demo identity; `b1_0002` is flagged, `b1_0003` quarantined (when n >= 3).
fn store_with(env: &TestEnv, level: Level, n: usize) -> PathBuf {
    let store = env.mkdir("store");
    let identity = SigningIdentity::demo(&store).expect("demo identity");
    let mut docs = Vec::new();
    for i in 1..=n {
        let id = format!("b1_{i:04}");
        let pdf_rel = format!("{FOLDER}/{id}.pdf");
        let pdf = tiny_pdf(&[&format!("Vollstreckung {id}")]);
        env.write(&format!("store/{pdf_rel}"), &pdf);
        env.write(
            &format!("store/{FOLDER}/{id}.meta.json"),
            format!("{{\"doc_id\": \"{id}\"}}"),
        );
        let mut d = DocumentRecord {
            id: id.clone(),
            entry: format!("{i:04}"),
            fate: Fate::Filed,
            reason: None,
            sources: vec![SourceFile {
                file: format!("{i:04}/1.png"),
                sha256: "ab".repeat(32),
                bytes: 1234,
                pages: 1,
            }],
            pages: vec![page(1)],
            dropped_pages: vec![],
            flags: vec![],
            anomaly: None,
            mean_ocr_confidence: Some(90.0),
            pdf: Some(pdf_rel),
            pdf_sha256: Some(resiscan::crypto::sha256_hex(&pdf)),
            filing: Some(Filing {
                efile: Some("vollstreckung".into()),
                title: Some("Vollstreckungsverfahren".into()),
                folder: FOLDER.into(),
                score: Some(2.0),
                decided_by: vec![],
                runner_up: None,
                ambiguous: false,
                retention_until: None,
            }),
            index_fields: BTreeMap::new(),
            separator_sheets: vec![],
        };
        if i == 2 {
            d.flags = vec!["low OCR confidence 42 < 60".into()];
        }
        if i == 3 {
            d.fate = Fate::Quarantined;
            d.reason = Some("truncated TIFF".into());
            d.pdf = None;
            d.pdf_sha256 = None;
            d.filing = None;
        }
        docs.push(d);
    }
    let note = TransferNote {
        format: NOTE_FORMAT.into(),
        kind: NoteKind::Batch,
        batch: "b1".into(),
        responsible: Responsible {
            operator: "ps-0417".into(),
            organisation: "Stadt Leipzig".into(),
            unit: None,
        },
        environment: Environment {
            software: "resiscan test".into(),
            ocr_engine: "Tesseract".into(),
            host: "test".into(),
            station: None,
            scanner: None,
            profile: ProfileRef {
                name: "demo".into(),
                version: 1,
                sha256: "00".into(),
            },
            procedure_doc: None,
            protection: level,
            qa_sample_percent: level.default_sample_percent(),
        },
        times: Times {
            scanned_at: None,
            processing_started: "2026-11-25T01:00:00Z".into(),
            processing_finished: "2026-11-25T01:00:05Z".into(),
            signed_at: "2026-11-25T01:00:05Z".into(),
        },
        signer: Signer {
            subject: identity.subject().to_string(),
            certificate_sha256: identity.fingerprint_hex(),
            kind: resiscan::note::SignerKind::Demo,
        },
        completeness: None,
        document_notes: BTreeMap::new(),
        documents: docs,
        concordance: Concordance::automatic(vec![]),
    };
    let yaml = note.to_yaml().expect("yaml");
    let digest: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(&yaml).into()
    };
    let p7s = resiscan::crypto::sign_detached(
        &identity,
        &digest,
        resiscan::crypto::CmsOptions {
            signing_time: Some(time::OffsetDateTime::now_utc()),
        },
    )
    .expect("sign");
    env.write("store/_batches/b1/transfer-note.yaml", yaml);
    env.write("store/_batches/b1/transfer-note.yaml.p7s", p7s);
    store
}

fn run(env: &TestEnv, args: &[&str]) -> (i32, String, String) {
    let out = env.cmd().args(args).output().expect("run resiscan");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn selected(store: &Path) -> Vec<String> {
    let sel: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.join("_batches/b1/qa-selection.json")).expect("selection"),
    )
    .expect("selection JSON");
    sel["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["id"].as_str().expect("id").to_string())
        .collect()
}

fn record(env: &TestEnv, doc: &str, decision: &[&str], inspector: &str) -> (i32, String) {
    let mut args = vec![
        "qa",
        "record",
        "--store",
        "store",
        "--batch",
        "b1",
        "--doc",
        doc,
        "--inspector",
        inspector,
    ];
    args.extend_from_slice(decision);
    let (code, _, err) = run(env, &args);
    (code, err)
}

#[test]
fn sample_record_status_round_trip_with_exit_codes() {
    let env = TestEnv::new();
    let store = store_with(&env, Level::Normal, 8);

    let (code, _, err) = run(&env, &["qa", "status", "--store", "store"]);
    assert_eq!(code, 3, "not sampled yet: a person must act\n{err}");

    let (code, out, err) = run(&env, &["qa", "sample", "--store", "store"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.trim_end().ends_with("qa-sheet.html"), "{out}");
    assert!(err.contains("1 quarantined"), "{err}");
    let sel = selected(&store);
    // normal: 5 % of 7 filed = 1 at random, plus the flagged b1_0002.
    assert!(sel.contains(&"b1_0002".to_string()));
    assert!(!sel.contains(&"b1_0003".to_string()));
    assert!((1..=2).contains(&sel.len()), "{sel:?}");

    // Sampling again keeps the selection.
    let (code, _, err) = run(&env, &["qa", "sample", "--store", "store", "--batch", "b1"]);
    assert_eq!(code, 0);
    assert!(err.contains("the recorded selection"), "{err}");
    assert_eq!(selected(&store), sel);

    for doc in &sel {
        let (code, err) = record(&env, doc, &["--ok"], "qa-7");
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, err) = run(&env, &["qa", "status", "--store", "store", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let st: serde_json::Value = serde_json::from_str(&out).expect("status JSON");
    assert_eq!(st[0]["inspected"], sel.len());
    assert_eq!(st[0]["open"].as_array().map(Vec::len), Some(0));

    let (code, err) = record(&env, &sel[0], &["--reject", "Seite 2 fehlt"], "qa-7");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("marked for rescan"), "{err}");
    let (code, out, _) = run(&env, &["qa", "status", "--store", "store"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains(&format!("rescan: {}", sel[0])), "{out}");
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.join(format!("{FOLDER}/{}.meta.json", sel[0]))).expect("meta"),
    )
    .expect("meta JSON");
    assert_eq!(meta["qa"]["status"], "rejected");
    assert_eq!(meta["qa"]["reason"], "Seite 2 fehlt");
}

#[test]
fn the_addendum_verifies_with_openssl_and_fails_after_a_flipped_byte() {
    let env = TestEnv::new();
    let store = store_with(&env, Level::Normal, 4);
    assert_eq!(run(&env, &["qa", "sample", "--store", "store"]).0, 0);
    let doc = selected(&store).remove(0);
    assert_eq!(record(&env, &doc, &["--ok"], "qa-7").0, 0);
    let addendum = store.join("_batches/b1/qa-addendum.yaml");
    let p7s = store.join("_batches/b1/qa-addendum.yaml.p7s");
    let text = std::fs::read_to_string(&addendum).expect("addendum");
    assert!(text.contains("batch_note:"), "{text}");
    assert!(text.contains("visual sample: 1 of"), "{text}");
    let verify = |content: &Path| testenv::openssl_cms_verify(content, &p7s, None);
    let ok = verify(&addendum);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let mut bytes = std::fs::read(&addendum).expect("addendum");
    let i = bytes.len() - 3;
    bytes[i] ^= 0x01;
    let flipped = env.write("flipped.yaml", bytes);
    assert!(!verify(&flipped).status.success());
}

#[test]
fn refusals_exit_1_with_the_reason() {
    let env = TestEnv::new();
    store_with(&env, Level::SehrHoch, 4);
    let (code, err) = record(&env, "b1_0001", &["--ok"], "qa-7");
    assert_eq!(code, 1);
    assert!(err.contains("run `resiscan qa sample"), "{err}");
    assert_eq!(run(&env, &["qa", "sample", "--store", "store"]).0, 0);

    let (code, err) = record(&env, "b1_0001", &["--ok"], "ps-0417");
    assert_eq!(code, 1);
    assert!(err.contains("A.AM.IN.H.7"), "{err}");
    let (code, err) = record(&env, "b1_0099", &["--ok"], "qa-7");
    assert_eq!(code, 1);
    assert!(err.contains("not in batch 'b1'"), "{err}");
    let (code, err) = record(&env, "b1_0003", &["--ok"], "qa-7");
    assert_eq!(code, 1);
    assert!(err.contains("quarantined (truncated TIFF)"), "{err}");
    let (code, _, _) = run(
        &env,
        &["qa", "status", "--store", "store", "--batch", "nope"],
    );
    assert_eq!(code, 1);
    // --ok and --reject together, or neither: usage error.
    assert_eq!(
        record(&env, "b1_0001", &["--ok", "--reject", "x"], "qa-7").0,
        2
    );
    assert_eq!(record(&env, "b1_0001", &[], "qa-7").0, 2);
    assert!(!env.path("store/_batches/b1/qa-addendum.yaml").exists());
}
