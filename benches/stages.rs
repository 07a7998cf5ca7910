//! Per-stage costs of one A4 page at 300 dpi, everything but OCR (which is Tesseract's):
//! decoding each scanner format, the quality gate, writing a PDF page (no OCR words),
//! hashing and CMS signing, classifying a letter's text. Issue #13 added the blank test on
//! a blank back side and on a page of dense 7-pt print, and the colour handling: decoding a
//! CMYK JPEG to the gray raster, and writing a page whose JPEG carries an ICC profile or is
//! CMYK (the ICCBased colour space, with the default CMYK profile). The whole-batch
//! comparison against bare Tesseract is `benches/batch.sh`. Issue #14 added the patch-code
//! reader, a stack page's separator check and the barcode readers; its second round the readers on
//! a page with a label, its third the finder that picks the regions they read.
//!
//! Run: `cargo bench --bench stages`.

#[path = "../tests/common/letters.rs"]
mod letters;

#[path = "../tests/common/layouts.rs"]
mod layouts;

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

    let font = letters::load_font().expect("font");
    let blank = letters::blank_back_side(DPI, 5, 30);
    let small = layouts::small_print(&font).image;
    for (name, gray) in [("blank_back_side", &blank), ("small_print", &small)] {
        c.bench_function(&format!("blank_test_{name}"), |b| {
            b.iter(|| {
                resiscan::quality::page_quality(&decoded.info, black_box(gray), Some(DPI)).blank
            })
        });
    }

    // Colour: a CMYK JPEG (decoded to gray for OCR and the blank test) and an RGB JPEG with an
    // embedded ICC profile; the PDF page gets an ICCBased colour space for both.
    let cmyk: Vec<u8> = page
        .pixels
        .iter()
        .flat_map(|&g| [0, 0, 0, 255 - g])
        .collect();
    let mut cmyk_jpeg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut cmyk_jpeg, 85);
    enc.set_density(jpeg_encoder::Density::Inch { x: 300, y: 300 });
    enc.encode(
        &cmyk,
        page.width as u16,
        page.height as u16,
        jpeg_encoder::ColorType::Cmyk,
    )
    .expect("CMYK JPEG");
    let cmyk_jpeg: Arc<[u8]> = cmyk_jpeg.into();
    c.bench_function("decode_cmyk_jpeg", |b| {
        b.iter(|| decode_page(black_box(&cmyk_jpeg), 0, DEFAULT_MAX_PIXELS).expect("decodes"))
    });
    let cmyk_page = decode_page(&cmyk_jpeg, 0, DEFAULT_MAX_PIXELS).expect("decodes");
    let rgb_with_icc = {
        let rgb: Vec<u8> = page.pixels.iter().flat_map(|&g| [g, g, g]).collect();
        let mut jpeg = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 85);
        enc.set_density(jpeg_encoder::Density::Inch { x: 300, y: 300 });
        // The sRGB profile of Debian's icc-profiles-free or Ghostscript, when installed.
        let profile = [
            "/usr/share/color/icc/sRGB.icc",
            "/usr/share/color/icc/ghostscript/srgb.icc",
        ]
        .iter()
        .find_map(|p| std::fs::read(p).ok());
        if let Some(p) = profile {
            enc.add_icc_profile(&p).expect("ICC profile");
        }
        enc.encode(
            &rgb,
            page.width as u16,
            page.height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("RGB JPEG");
        Arc::<[u8]>::from(jpeg)
    };
    let rgb_page = decode_page(&rgb_with_icc, 0, DEFAULT_MAX_PIXELS).expect("decodes");

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

    for (name, p) in [
        ("cmyk_jpeg_default_profile", &cmyk_page),
        ("rgb_jpeg_own_icc", &rgb_page),
    ] {
        c.bench_function(&format!("pdf_page_{name}"), |b| {
            b.iter(|| {
                let mut w = resiscan::pdf::PdfWriter::new(Vec::new(), &meta, None).expect("writer");
                w.add_page(&resiscan::pdf::PdfPage {
                    info: &p.info,
                    embed: &p.embed,
                    dpi: (300.0, 300.0),
                    text: &text,
                })
                .expect("page");
                w.finish().expect("finish").len
            })
        });
    }

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

    // Issue #14: what separation and barcode fields add per page (a letter without codes: the
    // common case, every reader searches the whole page). `stack_page_patch_t_cover` is what
    // `split_on: [patch_t, cover]` costs on an ordinary page (the patch reader only); with
    // `barcode:TEXT` or a barcode field every page also pays `barcodes_all_four`.
    c.bench_function("stack_page_patch_reader", |b| {
        b.iter(|| resiscan::barcode::patch::patch_code(black_box(&page), DPI))
    });
    let patch_and_cover = [
        resiscan::profile::SplitOn::Patch(resiscan::barcode::patch::PatchCode::PatchT),
        resiscan::profile::SplitOn::Cover,
    ];
    c.bench_function("stack_page_patch_t_cover", |b| {
        b.iter(|| resiscan::separation::page_mark(black_box(&page), DPI, &patch_and_cover))
    });
    c.bench_function("barcodes_all_four", |b| {
        b.iter(|| {
            resiscan::barcode::read_barcodes(
                black_box(&page),
                DPI,
                &resiscan::barcode::Symbology::ALL,
            )
        })
    });
    // The finder alone (the look at the whole page that picks the regions the readers read;
    // `barcodes_all_four` includes it), and the readers on the letter with a Code 128 label
    // (0.33 mm modules, 12 mm high).
    c.bench_function("barcode_finder", |b| {
        b.iter(|| resiscan::barcode::finder::look(black_box(&page), DPI))
    });
    let mut labelled = page.clone();
    let m =
        resiscan::barcode::encoded_modules(resiscan::barcode::Symbology::Code128, "VB-2026-04711")
            .expect("encodes");
    for y in 150..300u32 {
        for x in 0..m.width * 4 {
            if m.is_dark(x / 4, 0) {
                labelled.pixels[(y * labelled.width + 1200 + x) as usize] = 0;
            }
        }
    }
    assert!(
        !resiscan::barcode::read_barcodes(&labelled, DPI, &resiscan::barcode::Symbology::ALL)
            .is_empty()
    );
    c.bench_function("barcodes_all_four_labelled_letter", |b| {
        b.iter(|| {
            resiscan::barcode::read_barcodes(
                black_box(&labelled),
                DPI,
                &resiscan::barcode::Symbology::ALL,
            )
        })
    });
    let text_sheet = [resiscan::profile::SplitOn::Barcode("PATCHT".into())];
    c.bench_function("stack_page_barcode_text", |b| {
        b.iter(|| resiscan::separation::page_mark(black_box(&page), DPI, &text_sheet))
    });
    c.bench_function("barcodes_1d_only", |b| {
        b.iter(|| {
            resiscan::barcode::read_barcodes(
                black_box(&page),
                DPI,
                &[
                    resiscan::barcode::Symbology::Code39,
                    resiscan::barcode::Symbology::Code128,
                ],
            )
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = stages
}
criterion_main!(benches);
