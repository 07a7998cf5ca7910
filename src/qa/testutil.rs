//! A fake store for the QA tests: a signed batch note over `n` filed documents, each with a
//! tiny real PDF (one text page; a second page dropped as blank on request) and a meta.json.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::crypto::identity::SigningIdentity;
use crate::note::{
    Concordance, DocumentRecord, Environment, Filing, NOTE_FORMAT, NoteKind, PageRecord,
    ProfileRef, Responsible, Signer, SourceFile, Times, TransferNote,
};
use crate::outcome::Fate;
use crate::profile::Level;

pub(crate) const FOLDER: &str = "20 Stadtkasse/20.3 Vollstreckung";

pub(crate) fn page(number: usize) -> PageRecord {
    PageRecord {
        number,
        source: format!("p{number}.png"),
        source_page: 1,
        width: 2480,
        height: 3508,
        dpi: Some(300.0),
        dpi_source: "file".into(),
        color: "gray".into(),
        blank: false,
        dropped: false,
        ocr_confidence: Some(91.0),
        words: Some(12),
        rotation: 0,
        embedding: Some("Flate (lossless re-encoding)".into()),
    }
}

pub(crate) fn filed_doc(id: &str) -> DocumentRecord {
    let n: u32 = id
        .rsplit('_')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    DocumentRecord {
        id: id.into(),
        entry: id.rsplit('_').next().unwrap_or(id).into(),
        fate: Fate::Filed,
        reason: None,
        sources: vec![SourceFile {
            file: format!("{id}/1.png"),
            sha256: "ab".repeat(32),
            bytes: 1000,
            pages: 1,
        }],
        pages: vec![page(1)],
        dropped_pages: vec![],
        flags: vec![],
        anomaly: None,
        mean_ocr_confidence: Some(91.0),
        pdf: Some(format!("{FOLDER}/{id}.pdf")),
        pdf_sha256: Some("00".repeat(32)),
        filing: Some(Filing {
            efile: Some("vollstreckung".into()),
            title: Some("Vollstreckungsverfahren".into()),
            folder: FOLDER.into(),
            score: Some(3.0),
            decided_by: vec!["all: Vollstreckung".into()],
            runner_up: None,
            ambiguous: false,
            retention_until: Some("2036-11-25".into()),
        }),
        index_fields: BTreeMap::from([("az".to_string(), format!("VB-2026-{n:05}"))]),
        separator_sheets: Vec::new(),
    }
}

pub(crate) fn batch_note(level: Level, documents: Vec<DocumentRecord>) -> TransferNote {
    TransferNote {
        format: NOTE_FORMAT.into(),
        kind: NoteKind::Batch,
        batch: "b1".into(),
        responsible: Responsible {
            operator: "ps-0417".into(),
            organisation: "Stadt Leipzig".into(),
            unit: None,
        },
        environment: Environment {
            software: "resiscan 0.1.0".into(),
            ocr_engine: "Tesseract 5.3.0".into(),
            host: "scan01".into(),
            station: Some("Scanplatz 3".into()),
            scanner: None,
            profile: ProfileRef {
                name: "demo".into(),
                version: 1,
                sha256: "ab".into(),
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
            subject: "CN=demo".into(),
            certificate_sha256: "cd".into(),
            kind: crate::note::SignerKind::Demo,
        },
        completeness: None,
        document_notes: BTreeMap::new(),
        documents,
        concordance: Concordance::automatic(vec!["dpi >= 300".into()]),
    }
}

/// A small but real PDF: one page per text, Helvetica, A4 at 1/10 scale.
pub(crate) fn tiny_pdf(texts: &[&str]) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    let n = texts.len();
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {n} >>",
        kids.join(" ")
    ));
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    for (i, t) in texts.iter().enumerate() {
        let escaped = t
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        let content = format!("BT /F1 8 Tf 5 60 Td ({escaped}) Tj ET");
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

/// A store with one batch `b1` of `n` filed documents, signed with the store's demo identity.
pub(crate) struct FakeStore {
    dir: tempfile::TempDir,
    identity: SigningIdentity,
}

impl FakeStore {
    pub(crate) fn new(level: Level, n: usize) -> FakeStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let identity = SigningIdentity::demo(dir.path()).expect("demo identity");
        let fs = FakeStore { dir, identity };
        let mut docs = Vec::new();
        for i in 1..=n {
            let id = format!("b1_{i:04}");
            let mut d = filed_doc(&id);
            let pdf = tiny_pdf(&[&format!("Vollstreckung {id} <Kassenzeichen> & \"Mahnung\"")]);
            let path = fs.pdf_path(&id);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, &pdf).expect("write pdf");
            d.pdf_sha256 = Some(crate::crypto::sha256_hex(&pdf));
            let meta = serde_json::json!({"doc_id": id, "index_fields": d.index_fields});
            std::fs::write(fs.meta_path(&id), meta.to_string()).expect("meta");
            docs.push(d);
        }
        fs.write_note(&batch_note(level, docs));
        fs
    }

    pub(crate) fn store(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn batch_dir(&self) -> PathBuf {
        self.dir.path().join("_batches").join("b1")
    }

    pub(crate) fn pdf_path(&self, id: &str) -> PathBuf {
        self.dir.path().join(FOLDER).join(format!("{id}.pdf"))
    }

    pub(crate) fn meta_path(&self, id: &str) -> PathBuf {
        self.dir.path().join(FOLDER).join(format!("{id}.meta.json"))
    }

    pub(crate) fn note(&self) -> TransferNote {
        let bytes = std::fs::read(self.batch_dir().join("transfer-note.yaml")).expect("note");
        TransferNote::from_yaml(&bytes).expect("note yaml")
    }

    pub(crate) fn write_note(&self, note: &TransferNote) {
        let dir = self.batch_dir();
        std::fs::create_dir_all(&dir).expect("mkdir");
        let yaml = note.to_yaml().expect("yaml");
        let digest: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::digest(&yaml).into()
        };
        let p7s = crate::crypto::cms::sign_detached(
            &self.identity,
            &digest,
            crate::crypto::cms::CmsOptions {
                signing_time: Some(time::OffsetDateTime::now_utc()),
            },
        )
        .expect("sign");
        std::fs::write(dir.join("transfer-note.yaml"), yaml).expect("write note");
        std::fs::write(dir.join("transfer-note.yaml.p7s"), p7s).expect("write p7s");
    }

    pub(crate) fn rewrite_note(&self, change: impl FnOnce(&mut TransferNote)) {
        let mut note = self.note();
        change(&mut note);
        self.write_note(&note);
    }

    /// Replaces a document's PDF with a two-page one and records page 2 as dropped blank
    /// (so the PDF has pages 1 and 3 of the scan).
    pub(crate) fn with_dropped_page(&self, id: &str) {
        let pdf = tiny_pdf(&["Seite eins", "Seite drei"]);
        std::fs::write(self.pdf_path(id), &pdf).expect("write pdf");
        self.rewrite_note(|n| {
            if let Some(d) = n.documents.iter_mut().find(|d| d.id == id) {
                let mut blank = page(2);
                blank.blank = true;
                blank.dropped = true;
                d.pages = vec![page(1), blank, page(3)];
                d.dropped_pages = vec![2];
                d.pdf_sha256 = Some(crate::crypto::sha256_hex(&pdf));
            }
        });
    }
}
