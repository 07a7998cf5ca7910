//! Per-stage costs of one A4 page at 300 dpi, everything but OCR (which is Tesseract's):
//! decoding each scanner format, the quality gate, writing a PDF page (no OCR words),
//! hashing and CMS signing, classifying a letter's text. The whole-batch comparison against
//! bare Tesseract is `benches/batch.sh`.
//!
//! Run: `cargo bench --bench stages`.

#[path = "../tests/common/letters.rs"]
mod letters;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use resiscan::image::{DEFAULT_MAX_PIXELS, decode_page};

const DPI: u32 = 300;

fn letter() -> resiscan::image::GrayImage {
    let font = letters::load_font().expect("DejaVu Sans (fonts-dejavu-core)");
    let text = letters::texts::ratenzahlung();
    letters::render_page(&font, &text[0], DPI)
}

fn stages(c: &mut Criterion) {
    let page = letter();
    let files: Vec<(&str, Arc<[u8]>)> = vec![
        ("png", letters::png_bytes(&page, DPI).into()),
        ("jpeg", letters::jpeg_bytes(&page, DPI, 85).into()),
        ("g4_tiff", letters::g4_tiff_bytes(&[&page], DPI).into()),
    ];
    for (name, bytes) in &files {
        c.bench_function(&format!("decode_{name}"), |b| {
            b.iter(|| decode_page(black_box(bytes), 0, DEFAULT_MAX_PIXELS).expect("decodes"))
        });
    }

    let decoded = decode_page(&files[0].1, 0, DEFAULT_MAX_PIXELS).expect("decodes");
    c.bench_function("quality_gate", |b| {
        b.iter(|| resiscan::quality::page_quality(&decoded.info, black_box(&decoded.gray), None))
    });

    let meta = resiscan::pdf::DocumentMeta {
        title: "bench".into(),
        author: "bench".into(),
        subject: None,
        lang: "de".into(),
        creator_tool: "resiscan bench".into(),
        producer: "resiscan bench".into(),
        created: time::OffsetDateTime::UNIX_EPOCH,
        document_id: [7; 16],
    };
    let text = resiscan::ocr::PageText::default();
    c.bench_function("pdf_page_png_passthrough", |b| {
        b.iter(|| {
            let mut w = resiscan::pdf::PdfWriter::new(Vec::new(), &meta, None).expect("writer");
            w.add_page(&resiscan::pdf::PdfPage {
                info: &decoded.info,
                embed: &decoded.embed,
                dpi: (300.0, 300.0),
                text: &text,
            })
            .expect("page");
            w.finish().expect("finish").len
        })
    });

    let home = tempfile::tempdir().expect("tempdir");
    let identity = resiscan::crypto::identity::SigningIdentity::demo(home.path()).expect("demo");
    c.bench_function("sha256_1mb_and_cms_sign", |b| {
        let data = vec![0x5au8; 1 << 20];
        b.iter(|| {
            let digest: [u8; 32] = {
                use sha2::Digest;
                sha2::Sha256::digest(black_box(&data)).into()
            };
            resiscan::crypto::cms::sign_detached(
                &identity,
                &digest,
                resiscan::crypto::cms::CmsOptions { signing_time: None },
            )
            .expect("signs")
        })
    });

    let configured = resiscan::config::configure(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/demo.yaml")),
        resiscan::config::Needs::FilePlan,
    )
    .expect("demo profile");
    let classifier = &configured.plan.classifier;
    let letter_text = letters::texts::ratenzahlung()
        .iter()
        .flatten()
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    c.bench_function("classify_letter", |b| {
        b.iter(|| classifier.classify(black_box(&letter_text)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = stages
}
criterion_main!(benches);
