//! Whole-file tests of the PDF stage against the tools the SPEC names: OCR a rendered German
//! letter, write the PDF, then read it back with qpdf, poppler (pdftotext, pdffonts), lopdf
//! and the project's PDF/A checker. Run with `OMP_THREAD_LIMIT=1` in the environment (one
//! OpenMP thread per Tesseract engine, as the binary will run).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use super::sign::SignaturePlaceholder;
use super::xmp::tests::meta;
use super::*;
use crate::image::{ColorKind, FileFormat, GrayImage};
use crate::ocr::tests::{GERMAN_LETTER, engine, rendered_page};

fn gray_info(img: &GrayImage) -> PageInfo {
    PageInfo {
        width: img.width,
        height: img.height,
        dpi: Some((300.0, 300.0)),
        color: ColorKind::Gray,
        bits_per_component: 8,
        format: FileFormat::Png,
        orientation: 0,
    }
}

fn flate_embed(img: &GrayImage) -> Embed {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&img.pixels).unwrap();
    Embed::Flate {
        data: Arc::from(z.finish().unwrap()),
        colors: 1,
        bits_per_component: 8,
        png_predictor: false,
        palette: None,
        icc: None,
    }
}

fn write_pdf(
    pages: &[(PageInfo, Embed, PageText)],
    signature: Option<SignatureSpec>,
) -> WrittenPdf<Vec<u8>> {
    let mut w = PdfWriter::new(Vec::new(), &meta(), signature).unwrap();
    for (info, embed, text) in pages {
        w.add_page(&PdfPage {
            info,
            embed,
            dpi: (300.0, 300.0),
            text,
        })
        .unwrap();
    }
    w.finish().unwrap()
}

fn run(tool: &str, args: &[&str], file: &Path) -> (bool, String) {
    let out = Command::new(tool)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{tool} must be installed: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn pdftotext(file: &Path, layout: bool) -> String {
    let mut args = vec!["-enc", "UTF-8"];
    if layout {
        args.push("-layout");
    }
    let out = Command::new("pdftotext")
        .args(&args)
        .arg(file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn squash(s: &str) -> Vec<char> {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect()
}

/// Character-level Levenshtein distance.
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn assert_text_fidelity(file: &Path, reference: &str) {
    let want = squash(reference);
    assert!(want.len() > 100, "reference too short: {reference:?}");
    for layout in [false, true] {
        let got = squash(&pdftotext(file, layout));
        let d = levenshtein(&want, &got);
        let rate = d as f64 / want.len() as f64;
        assert!(
            rate < 0.005,
            "layout={layout}: {d} edits ({:.2} %)\nwant {}\ngot  {}",
            rate * 100.0,
            want.iter().collect::<String>(),
            got.iter().collect::<String>()
        );
    }
}

fn assert_pdfa_checker_ok(file: &Path) {
    // The outside checker lives in the shared tools beside the repository; it needs pikepdf,
    // which Debian's python3-pikepdf provides for /usr/bin/python3.
    let checker = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/pdfa_check.py");
    let python = ["python3", "/usr/bin/python3"].into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import pikepdf"])
            .status()
            .is_ok_and(|s| s.success())
    });
    let (Some(python), true) = (python, checker.is_file()) else {
        eprintln!("pdfa_check.py or pikepdf missing; outside PDF/A checker skipped");
        return;
    };
    let checker = checker.to_string_lossy().into_owned();
    let (_, out) = run(python, &[checker.as_str()], file);
    let first = out.lines().next().unwrap_or_default();
    assert!(first.ends_with(" OK"), "{out}");
}

/// Writes `bytes` into the temp dir; with RESISCAN_KEEP_PDF=DIR also into DIR for a look.
fn save(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    if let Some(keep) = std::env::var_os("RESISCAN_KEEP_PDF") {
        std::fs::write(Path::new(&keep).join(name), bytes).unwrap();
    }
    p
}

#[test]
fn german_letter_pdf_is_valid_searchable_and_lossless() {
    let mut e = engine();
    let img = rendered_page(GERMAN_LETTER, 0);
    let text = e.recognize(&img, 300).unwrap();
    let embed = flate_embed(&img);
    let written = write_pdf(&[(gray_info(&img), embed.clone(), text.clone())], None);
    assert_eq!(written.len as usize, written.out.len());
    assert!(written.signature.is_none());
    let dir = tempfile::tempdir().unwrap();
    let file = save(&dir, "letter.pdf", &written.out);

    let (ok, out) = run("qpdf", &["--check"], &file);
    assert!(ok && !out.contains("WARNING"), "{out}");
    let (ok, fonts) = run("pdffonts", &[], &file);
    assert!(ok, "{fonts}");
    let row = fonts
        .lines()
        .find(|l| l.contains("GlyphLessFont"))
        .expect("font listed");
    // name type encoding emb sub uni: embedded, not subset-tagged, with a Unicode map.
    assert!(
        row.contains("CID TrueType") && row.contains("Identity-H") && row.contains("yes no  yes"),
        "{fonts}"
    );
    assert_text_fidelity(&file, &text.text);
    assert_pdfa_checker_ok(&file);

    // Lossless: the image stream holds the embed's bytes exactly.
    let doc = lopdf::Document::load_mem(&written.out).unwrap();
    let page = doc.get_pages()[&1];
    let image = image_stream(&doc, page);
    let Embed::Flate { data, .. } = &embed else {
        unreachable!()
    };
    assert_eq!(image.content, data.as_ref());
    // PDF/A structure: header, binary comment, ID, XMP unfiltered, output intent.
    assert!(written.out.starts_with(b"%PDF-1.7\n%"));
    assert!(written.out[10..14].iter().all(|&b| b > 127));
    let id = doc.trailer.get(b"ID").unwrap().as_array().unwrap();
    assert_eq!(id[0].as_str().unwrap(), b"0123456789abcdef");
    let catalog = doc.catalog().unwrap();
    let md = doc
        .get_object(catalog.get(b"Metadata").unwrap().as_reference().unwrap())
        .unwrap()
        .as_stream()
        .unwrap();
    assert!(md.dict.get(b"Filter").is_err());
    let xmp = String::from_utf8(md.content.clone()).unwrap();
    assert!(xmp.contains("<pdf:Producer>resiscan 0.1.0 (PDF/A-2b writer)</pdf:Producer>"));
    let intents = catalog.get(b"OutputIntents").unwrap().as_array().unwrap();
    let intent = intents[0].as_dict().unwrap();
    assert_eq!(intent.get(b"S").unwrap().as_name().unwrap(), b"GTS_PDFA1");
    assert_eq!(catalog.get(b"Lang").unwrap().as_str().unwrap(), b"de");
    assert!(!written.out.windows(8).any(|w| w == b"/Encrypt"));
}

fn image_stream(doc: &lopdf::Document, page: lopdf::ObjectId) -> lopdf::Stream {
    let page = doc.get_dictionary(page).unwrap();
    let res = page.get(b"Resources").unwrap().as_dict().unwrap();
    let xobj = res.get(b"XObject").unwrap().as_dict().unwrap();
    let id = xobj.get(b"Im0").unwrap().as_reference().unwrap();
    doc.get_object(id).unwrap().as_stream().unwrap().clone()
}

#[test]
fn upside_down_page_gets_rotate_180_and_stays_searchable() {
    let mut e = engine();
    let img = rendered_page(GERMAN_LETTER, 180);
    let text = e.recognize(&img, 300).unwrap();
    assert_eq!(text.rotation, 180);
    let written = write_pdf(&[(gray_info(&img), flate_embed(&img), text.clone())], None);
    let doc = lopdf::Document::load_mem(&written.out).unwrap();
    let page = doc.get_dictionary(doc.get_pages()[&1]).unwrap();
    assert_eq!(page.get(b"Rotate").unwrap().as_i64().unwrap(), 180);
    let dir = tempfile::tempdir().unwrap();
    let file = save(&dir, "turned.pdf", &written.out);
    let (ok, out) = run("qpdf", &["--check"], &file);
    assert!(ok, "{out}");
    assert_text_fidelity(&file, &text.text);
}

#[test]
fn sideways_page_gets_rotate_and_stays_searchable() {
    let mut e = engine();
    let img = rendered_page(GERMAN_LETTER, 90);
    let text = e.recognize(&img, 300).unwrap();
    assert_eq!(text.rotation, 270);
    let written = write_pdf(&[(gray_info(&img), flate_embed(&img), text.clone())], None);
    let dir = tempfile::tempdir().unwrap();
    let file = save(&dir, "sideways.pdf", &written.out);
    assert_text_fidelity(&file, &text.text);
}

#[test]
fn signature_placeholder_offsets_point_at_the_brackets() {
    let img = GrayImage {
        width: 200,
        height: 100,
        pixels: vec![255; 20_000],
    };
    let words = vec![crate::ocr::Word {
        text: "Maß".into(),
        left: 10,
        top: 10,
        width: 60,
        height: 20,
        confidence: 95.0,
        block: 1,
        paragraph: 1,
        line: 1,
    }];
    let text = PageText {
        words,
        text: "Maß\n".into(),
        mean_confidence: 95.0,
        rotation: 0,
    };
    let spec = SignatureSpec {
        contents_hex_len: 16384,
        signing_time: time::macros::datetime!(2026-11-24 16:02:11 +01:00),
        field_name: "Signature1".into(),
    };
    let page = (gray_info(&img), flate_embed(&img), text);
    let written = write_pdf(&[page.clone(), page], Some(spec));
    let SignaturePlaceholder {
        byte_range_offset,
        byte_range_width,
        contents_offset,
        contents_hex_len,
    } = written.signature.expect("placeholder");
    let pdf = &written.out;
    let br = &pdf[byte_range_offset as usize..byte_range_offset as usize + byte_range_width];
    assert_eq!(br[0], b'[');
    assert_eq!(br[br.len() - 1], b']');
    let c = contents_offset as usize;
    assert_eq!(pdf[c], b'<');
    assert!(
        pdf[c + 1..c + 1 + contents_hex_len]
            .iter()
            .all(|&b| b == b'0')
    );
    assert_eq!(pdf[c + 1 + contents_hex_len], b'>');
    assert_eq!(contents_hex_len, 16384);
    // The dictionary around it is the /Sig value with /M and the CAdES subfilter.
    let before = String::from_utf8_lossy(&pdf[c.saturating_sub(200)..c]);
    assert!(before.contains("/SubFilter /ETSI.CAdES.detached /M (D:20261124160211+01'00')"));

    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let catalog = doc.catalog().unwrap();
    let form = catalog.get(b"AcroForm").unwrap().as_dict().unwrap();
    assert_eq!(form.get(b"SigFlags").unwrap().as_i64().unwrap(), 3);
    let field_id = form.get(b"Fields").unwrap().as_array().unwrap()[0]
        .as_reference()
        .unwrap();
    let field = doc.get_dictionary(field_id).unwrap();
    assert_eq!(field.get(b"FT").unwrap().as_name().unwrap(), b"Sig");
    assert_eq!(field.get(b"F").unwrap().as_i64().unwrap(), 132);
    let first = doc.get_pages()[&1];
    assert_eq!(field.get(b"P").unwrap().as_reference().unwrap(), first);
    let annots = doc
        .get_dictionary(first)
        .unwrap()
        .get(b"Annots")
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(annots[0].as_reference().unwrap(), field_id);
    let second = doc.get_dictionary(doc.get_pages()[&2]).unwrap();
    assert!(second.get(b"Annots").is_err());

    let dir = tempfile::tempdir().unwrap();
    let file = save(&dir, "placeholder.pdf", pdf);
    let (ok, out) = run("qpdf", &["--check"], &file);
    assert!(ok && !out.contains("WARNING"), "{out}");
    assert_pdfa_checker_ok(&file);
    assert_eq!(squash(&pdftotext(&file, false)), squash("Maß Maß"));
}

#[test]
fn jpeg_goes_in_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let jpg = dir.path().join("scan.jpg");
    let status = Command::new("convert")
        .args(["-size", "320x240", "gradient:red-blue", "-density", "300"])
        .arg(&jpg)
        .status()
        .expect("ImageMagick convert");
    assert!(status.success());
    let bytes: Arc<[u8]> = Arc::from(std::fs::read(&jpg).unwrap());
    let info = PageInfo {
        width: 320,
        height: 240,
        dpi: Some((300.0, 300.0)),
        color: ColorKind::Rgb,
        bits_per_component: 8,
        format: FileFormat::Jpeg,
        orientation: 0,
    };
    let embed = Embed::Dct {
        data: bytes.clone(),
        components: 3,
        icc: None,
    };
    let written = write_pdf(&[(info, embed, PageText::default())], None);
    let doc = lopdf::Document::load_mem(&written.out).unwrap();
    let image = image_stream(&doc, doc.get_pages()[&1]);
    assert_eq!(image.content, bytes.as_ref());
    assert_eq!(
        image.dict.get(b"Filter").unwrap().as_name().unwrap(),
        b"DCTDecode"
    );
    // Page size from pixels and dpi: 320 px at 300 dpi = 76.8 pt.
    let page = doc.get_dictionary(doc.get_pages()[&1]).unwrap();
    let mb = page.get(b"MediaBox").unwrap().as_array().unwrap();
    assert!((mb[2].as_float().unwrap() - 76.8).abs() < 1e-3);
    let file = save(&dir, "jpeg.pdf", &written.out);
    let (ok, list) = run("pdfimages", &["-list"], &file);
    assert!(ok && list.contains("jpeg"), "{list}");
    assert_pdfa_checker_ok(&file);
}

#[test]
fn characters_outside_the_bmp_survive_extraction() {
    let img = GrayImage {
        width: 600,
        height: 100,
        pixels: vec![255; 60_000],
    };
    let word = |text: &str, left| crate::ocr::Word {
        text: text.into(),
        left,
        top: 20,
        width: 150,
        height: 40,
        confidence: 90.0,
        block: 1,
        paragraph: 1,
        line: 1,
    };
    let text = PageText {
        words: vec![word("Straße", 10), word("𝐀𝐁", 200), word("Ölß", 400)],
        text: "Straße 𝐀𝐁 Ölß\n".into(),
        mean_confidence: 90.0,
        rotation: 0,
    };
    let written = write_pdf(&[(gray_info(&img), flate_embed(&img), text)], None);
    let dir = tempfile::tempdir().unwrap();
    let file = save(&dir, "astral.pdf", &written.out);
    assert_eq!(
        squash(&pdftotext(&file, false)),
        squash("Straße 𝐀𝐁 Ölß"),
        "astral characters lost"
    );
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let w = PdfWriter::new(Vec::new(), &meta(), None).unwrap();
    assert!(matches!(w.finish(), Err(PdfError::NoPages)));
    let img = GrayImage {
        width: 10,
        height: 10,
        pixels: vec![255; 100],
    };
    let (info, embed, text) = (gray_info(&img), flate_embed(&img), PageText::default());
    let mut w = PdfWriter::new(Vec::new(), &meta(), None).unwrap();
    let r = w.add_page(&PdfPage {
        info: &info,
        embed: &embed,
        dpi: (0.0, 300.0),
        text: &text,
    });
    assert!(matches!(r, Err(PdfError::BadPage { page: 1, .. })), "{r:?}");
    let turned = PageText {
        rotation: 45,
        ..PageText::default()
    };
    let r = w.add_page(&PdfPage {
        info: &info,
        embed: &embed,
        dpi: (300.0, 300.0),
        text: &turned,
    });
    assert!(matches!(r, Err(PdfError::BadPage { .. })));
    let odd = SignatureSpec {
        contents_hex_len: 7,
        signing_time: time::OffsetDateTime::UNIX_EPOCH,
        field_name: "S".into(),
    };
    assert!(matches!(
        PdfWriter::new(Vec::new(), &meta(), Some(odd)),
        Err(PdfError::BadSignatureSpec(_))
    ));
}

/// Measures the PDF stage alone (no OCR): A4 at 300 dpi, a 2480x3508 scanner JPEG and 350
/// words per page, written to a sink. `cargo test --lib pdf::end_to_end::throughput -- --ignored --nocapture`
#[test]
#[ignore = "measurement, not a check"]
fn throughput_pdf_stage_a4_300dpi() {
    let dir = tempfile::tempdir().unwrap();
    let jpg = dir.path().join("a4.jpg");
    let status = Command::new("convert")
        .args(["-size", "2480x3508", "plasma:", "-quality", "85"])
        .arg(&jpg)
        .status()
        .expect("convert");
    assert!(status.success());
    let data: Arc<[u8]> = Arc::from(std::fs::read(&jpg).unwrap());
    let info = PageInfo {
        width: 2480,
        height: 3508,
        dpi: Some((300.0, 300.0)),
        color: ColorKind::Rgb,
        bits_per_component: 8,
        format: FileFormat::Jpeg,
        orientation: 0,
    };
    let embed = Embed::Dct {
        data: data.clone(),
        components: 3,
        icc: None,
    };
    let words: Vec<crate::ocr::Word> = (0..350u32)
        .map(|i| crate::ocr::Word {
            text: ["Vollstreckung", "Grüße", "Straße", "Aktenzeichen:", "2026"][i as usize % 5]
                .into(),
            left: 200 + (i % 7) * 300,
            top: 200 + (i / 7) * 60,
            width: 260,
            height: 40,
            confidence: 90.0,
            block: 1,
            paragraph: 1,
            line: i / 7,
        })
        .collect();
    let text = PageText {
        words,
        text: String::new(),
        mean_confidence: 90.0,
        rotation: 0,
    };
    let pages = 100;
    let start = std::time::Instant::now();
    let mut w = PdfWriter::new(std::io::sink(), &meta(), None).unwrap();
    for _ in 0..pages {
        w.add_page(&PdfPage {
            info: &info,
            embed: &embed,
            dpi: (300.0, 300.0),
            text: &text,
        })
        .unwrap();
    }
    let written = w.finish().unwrap();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "PDF stage: {pages} pages ({} KiB JPEG each, {} MiB out) in {secs:.3} s = {:.0} pages/s on one core",
        data.len() / 1024,
        written.len / (1024 * 1024),
        pages as f64 / secs
    );
}

/// OCR cost of orientation handling: upright pages (OSD never runs) with and without
/// `detect_orientation`, and a turned page (first pass + OSD + second pass).
#[test]
#[ignore = "measurement, not a check"]
fn throughput_ocr_with_and_without_orientation() {
    let upright = rendered_page(GERMAN_LETTER, 0);
    let turned = rendered_page(GERMAN_LETTER, 180);
    let mut with = engine();
    let mut without = crate::ocr::OcrEngine::new(&crate::ocr::OcrOptions {
        languages: "deu+eng".into(),
        datapath: None,
        detect_orientation: false,
    })
    .unwrap();
    let n = 10;
    let time = |e: &mut crate::ocr::OcrEngine, img: &GrayImage| {
        let start = std::time::Instant::now();
        for _ in 0..n {
            e.recognize(img, 300).unwrap();
        }
        start.elapsed().as_secs_f64() / n as f64
    };
    // Warm both engines once.
    with.recognize(&upright, 300).unwrap();
    without.recognize(&upright, 300).unwrap();
    let a = time(&mut without, &upright);
    let b = time(&mut with, &upright);
    let c = time(&mut with, &turned);
    let d = time(&mut without, &turned);
    eprintln!(
        "OCR upright: {:.2} pages/s without orientation, {:.2} with ({:.3}x)\n\
         OCR upside-down: {:.2} s/page corrected, {:.2} s/page uncorrected ({:.2}x)",
        1.0 / a,
        1.0 / b,
        b / a,
        c,
        d,
        c / d
    );
}
