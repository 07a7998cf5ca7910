//! Stacks (SPEC §6, issue #14): entries holding several documents, cut at patch sheets, Code 39
//! PATCHT sheets and cover sheets made by `resiscan coversheet`; all through the real binary,
//! Tesseract and poppler.

use std::path::Path;
use std::process::Command;

use crate::testenv::{self, TestEnv, enforcement_letter, render_letter, repo_path};

// `scans` includes the same generators privately; a second copy here keeps that file as it is.
#[allow(clippy::duplicate_mod)]
#[path = "../common/letters.rs"]
mod letters;

#[allow(clippy::duplicate_mod)]
#[path = "../common/layouts.rs"]
mod layouts;

/// The demo profile with `separation` (and any `extra` YAML) appended.
fn profile(env: &TestEnv, split_on: &str, keep: bool) -> std::path::PathBuf {
    let demo = std::fs::read_to_string(repo_path("profiles/demo.yaml")).unwrap();
    env.write(
        "stack-profile.yaml",
        format!("{demo}\nseparation:\n  split_on: {split_on}\n  keep_sheets: {keep}\n"),
    )
}

/// A white A4 page at 300 dpi with a Kodak Patch T drawn to the geometry (bars N W N W,
/// 0.08/0.20 in, 6 in long, from 0.5 in below the top), turned by `skew` degrees, with noise.
fn patch_t_sheet(out: &Path, skew: f32) {
    patch_sheet(out, [false, true, false, true], skew);
}

/// As [`patch_t_sheet`] with the bars `wide` (true = 0.20 in) from the leading edge.
fn patch_sheet(out: &Path, bars: [bool; 4], skew: f32) {
    let mut draw = Vec::new();
    let mut y = 150; // 0.5 in
    for (k, wide) in bars.into_iter().enumerate() {
        let h = if wide { 60 } else { 24 };
        draw.push("-draw".to_string());
        draw.push(format!(
            "rectangle 340,{y} {},{}",
            340 + 1800 - 1,
            y + h - 1
        ));
        y += h;
        if k < 3 {
            y += 24;
        }
    }
    magick(
        &[
            &["-size", "2480x3508", "xc:white", "-fill", "black"],
            &draw.iter().map(String::as_str).collect::<Vec<_>>()[..],
            &["-background", "white", "-rotate", &skew.to_string()],
            &["-gravity", "center", "-extent", "2480x3508"],
            &["-attenuate", "0.4", "+noise", "Impulse"],
        ],
        out,
    );
}

fn magick(args: &[&[&str]], out: &Path) {
    if let Some(p) = out.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    let status = Command::new("convert")
        .args(args.iter().flat_map(|a| a.iter()))
        .args([
            "-density",
            "300",
            "-units",
            "PixelsPerInch",
            "-colorspace",
            "Gray",
        ])
        .args(["-depth", "8"])
        .arg(out)
        .status()
        .expect("ImageMagick convert");
    assert!(status.success(), "convert {}", out.display());
}

fn flags(d: &serde_json::Value) -> Vec<String> {
    d["flags"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A document's `separator_sheets` as (kind, source file, page in it, page in the stack, kept).
fn sheets(d: &serde_json::Value) -> Vec<(String, String, u64, u64, bool)> {
    d["separator_sheets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["kind"].as_str().unwrap().to_string(),
                        s["source"].as_str().unwrap().to_string(),
                        s["source_page"].as_u64().unwrap(),
                        s["stack_page"].as_u64().unwrap(),
                        s["kept"].as_bool().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `meta.json` beside a document's PDF.
fn meta(store: &Path, d: &serde_json::Value) -> serde_json::Value {
    let pdf = d["pdf"].as_str().unwrap();
    let path = store.join(pdf.replace(".pdf", ".meta.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// `verify STORE` passes (the chain vouches for every file, meta.json with its new keys
/// included), and `store reindex` rebuilds `documents` rows from the notes, after which it
/// still passes.
fn store_verifies_and_reindexes(env: &TestEnv, store: &Path, documents: usize) {
    let (code, out) = env.verify_trusting_demo(store);
    assert_eq!(code, Some(0), "{out}");
    let re = env
        .cmd()
        .args(["store", "reindex"])
        .arg(store)
        .output()
        .unwrap();
    assert_eq!(
        re.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&re.stderr)
    );
    let said = String::from_utf8_lossy(&re.stdout);
    assert!(said.contains(&format!("{documents} documents")), "{said}");
    let (code, out) = env.verify_trusting_demo(store);
    assert_eq!(code, Some(0), "{out}");
}

fn pdf_pages(pdf: &Path) -> usize {
    let out = Command::new("pdfinfo").arg(pdf).output().expect("pdfinfo");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|n| n.trim().parse().unwrap()))
        .expect("Pages:")
}

#[test]
fn a_patch_t_stack_is_cut_into_documents_without_its_sheets() {
    let env = TestEnv::new();
    let batch = env.mkdir("2026-12-02-stack");
    let s = batch.join("stapel");
    // Letter 1 | T | letter 2 (two pages) | T | T | letter 3: the first page starts a document,
    // two sheets in a row make no empty document.
    render_letter(&s.join("01.png"), &enforcement_letter("VB-2026-00001"), &[]);
    patch_t_sheet(&s.join("02.png"), 2.0);
    render_letter(&s.join("03.png"), &enforcement_letter("VB-2026-00002"), &[]);
    render_letter(
        &s.join("04.png"),
        "Seite 2\n\nAnlage zum Antrag auf Ratenzahlung.",
        &[],
    );
    patch_t_sheet(&s.join("05.png"), -1.5);
    patch_t_sheet(&s.join("06.png"), 0.0);
    render_letter(&s.join("07.png"), &enforcement_letter("VB-2026-00003"), &[]);
    env.write("2026-12-02-stack/batch.yaml", "expected: {documents: 3}\n");
    let store = env.path("store");
    let (code, report) = env.ingest(&batch, &profile(&env, "[patch_t]", false), &store);
    assert_eq!(code, 0, "{}", report.stderr);
    let docs = report.documents();
    let ids: Vec<&str> = docs.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "2026-12-02-stack_stapel_1",
            "2026-12-02-stack_stapel_2",
            "2026-12-02-stack_stapel_3"
        ],
        "{}",
        report.report
    );
    let azs: Vec<&str> = docs
        .iter()
        .map(|d| d["index_fields"]["az"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(azs, ["VB-2026-00001", "VB-2026-00002", "VB-2026-00003"]);
    let pages: Vec<usize> = docs
        .iter()
        .map(|d| pdf_pages(&store.join(d["pdf"].as_str().unwrap())))
        .collect();
    assert_eq!(pages, [1, 2, 1], "no separator sheet inside a PDF");
    // Every sheet listed with kind, file, page in it, page within the entry, removed: with
    // the document it starts; of two in a row the first, which starts no document, goes with
    // the document before it.
    let t = |page: u64| {
        (
            "patch_t".to_string(),
            format!("stapel/0{page}.png"),
            1,
            page,
            false,
        )
    };
    assert_eq!(sheets(&docs[0]), []);
    assert_eq!(sheets(&docs[1]), [t(2), t(5)]);
    assert_eq!(sheets(&docs[2]), [t(6)]);
    assert!(docs[1]["separator_sheets"][0]["payload"].is_null());
    let all: Vec<String> = docs.iter().flat_map(flags).collect();
    assert!(
        !all.iter().any(|f| f.contains("separator sheet patch_t")),
        "the sheets are listed, not flagged: {all:?}"
    );
    assert!(
        all.iter()
            .any(|f| f.starts_with("notice:") && f.contains("pages 5 and 6")),
        "{all:?}"
    );
    assert_eq!(
        report.report["summary"]["documents"], 3,
        "{}",
        report.report
    );
    // expected: {documents: 3} counts the documents after the split.
    let note = std::fs::read_to_string(report.dir.join("transfer-note.yaml")).unwrap();
    assert!(note.contains("found_documents: 3"), "{note}");
    assert!(note.contains("complete: true"), "{note}");
    // Both notes list the sheets: the batch note's document entry and the document's own.
    let parsed = resiscan::note::TransferNote::from_yaml(note.as_bytes()).unwrap();
    let listed: Vec<usize> = parsed
        .documents
        .iter()
        .flat_map(|d| d.separator_sheets.iter().map(|s| s.stack_page))
        .collect();
    assert_eq!(listed, [2, 5, 5 + 1]);
    let pdf = docs[2]["pdf"].as_str().unwrap();
    let own = store.join(pdf.replace(".pdf", ".transfer.yaml"));
    let own = resiscan::note::TransferNote::from_yaml(&std::fs::read(&own).unwrap()).unwrap();
    assert_eq!(own.documents[0].separator_sheets.len(), 1);
    assert_eq!(own.documents[0].separator_sheets[0].source, "stapel/06.png");
    // A re-run files nothing twice: the ids are stable.
    let (code, again) = env.ingest(&batch, &profile(&env, "[patch_t]", false), &store);
    assert_eq!(code, 0, "{}", again.stderr);
    let fates: Vec<&str> = again
        .documents()
        .iter()
        .map(|d| d["fate"].as_str().unwrap())
        .collect();
    assert!(fates.iter().all(|f| *f != "filed"), "{fates:?}");
}

#[test]
fn keep_sheets_keeps_them_and_a_g4_tiff_stack_turned_by_90_degrees_splits() {
    let env = TestEnv::new();
    let batch = env.mkdir("2026-12-02-tiff");
    let tmp = env.mkdir("pages");
    render_letter(
        &tmp.join("a.png"),
        &enforcement_letter("VB-2026-00011"),
        &[],
    );
    patch_t_sheet(&tmp.join("t.png"), 1.0);
    render_letter(
        &tmp.join("b.png"),
        &enforcement_letter("VB-2026-00012"),
        &[],
    );
    // One multi-page G4 TIFF, every page turned by 90° (fed sideways).
    let status = Command::new("convert")
        .args(["-density", "300", "-units", "PixelsPerInch"])
        .arg(tmp.join("a.png"))
        .arg(tmp.join("t.png"))
        .arg(tmp.join("b.png"))
        .args([
            "-rotate",
            "90",
            "+repage",
            "-monochrome",
            "-compress",
            "Group4",
        ])
        .arg(batch.join("stack.tif"))
        .status()
        .unwrap();
    assert!(status.success());
    let store = env.path("store");
    let (code, report) = env.ingest(&batch, &profile(&env, "[patch_t, patch_2]", true), &store);
    assert_eq!(code, 0, "{}", report.stderr);
    let docs = report.documents();
    assert_eq!(docs.len(), 2, "{}", report.report);
    let pages: Vec<usize> = docs
        .iter()
        .map(|d| pdf_pages(&store.join(d["pdf"].as_str().unwrap())))
        .collect();
    // keep_sheets: the sheet is the first page of the document it starts.
    assert_eq!(pages, [1, 2]);
    assert_eq!(
        docs[1]["index_fields"]["az"], "VB-2026-00012",
        "{}",
        docs[1]
    );
    assert_eq!(
        sheets(&docs[1]),
        [("patch_t".into(), "stack.tif".into(), 2, 2, true)],
        "the sheet is listed and kept"
    );
}

/// `resiscan coversheet` for the demo profile, rasterised by pdftoppm at 300 dpi, skewed and
/// noised as a scanner would.
fn scanned_cover(env: &TestEnv, profile: &Path, efile: &str, fields: &[&str], out: &Path) {
    let pdf = env.path(&format!("cover-{efile}.pdf"));
    let mut cmd = env.cmd();
    cmd.args(["coversheet", "--profile"])
        .arg(profile)
        .args(["--efile", efile, "--out"])
        .arg(&pdf);
    for f in fields {
        cmd.args(["--field", f]);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stem = env.path(&format!("cover-{efile}"));
    let st = Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-png", "-singlefile"])
        .arg(&pdf)
        .arg(&stem)
        .status()
        .expect("pdftoppm");
    assert!(st.success());
    let png = stem.with_extension("png");
    magick(
        &[
            &[png.to_str().unwrap()],
            &["-background", "white", "-rotate", "-1.2"],
            &["-gravity", "center", "-extent", "2480x3508"],
            &["-attenuate", "0.3", "+noise", "Impulse"],
        ],
        out,
    );
}

#[test]
fn a_cover_sheet_routes_its_document_and_an_unknown_efile_goes_to_klaerung() {
    let env = TestEnv::new();
    let prof = profile(&env, "[patch_t, cover]", false);
    // A profile that still has an e-file the ingest profile no longer has.
    let old = std::fs::read_to_string(&prof).unwrap().replace(
        "unclassified: \"_Klaerung\"",
        "  - id: altakte\n    match: {all: [\"Altakte\"]}\n    path: \"99 Alt\"\nunclassified: \"_Klaerung\"",
    );
    let old_profile = env.write("old-profile.yaml", old);
    let batch = env.mkdir("2026-12-02-cover");
    let s = batch.join("post");
    scanned_cover(
        &env,
        &prof,
        "vollstreckung",
        &["az=VB-2026-04711"],
        &s.join("01.png"),
    );
    // The letter itself names no Aktenzeichen: only the cover routes it.
    render_letter(&s.join("02.png"), testenv::PRIVATE_LETTER, &[]);
    scanned_cover(&env, &old_profile, "altakte", &[], &s.join("03.png"));
    render_letter(&s.join("04.png"), testenv::PRIVATE_LETTER, &[]);
    let store = env.path("store");
    let (code, report) = env.ingest(&batch, &prof, &store);
    assert_eq!(code, 3, "one unclassified: {}", report.stderr);
    let docs = report.documents();
    assert_eq!(docs.len(), 2, "{}", report.report);
    assert_eq!(docs[0]["fate"], "filed", "{}", docs[0]);
    assert_eq!(docs[0]["index_fields"]["az"], "VB-2026-04711");
    assert!(
        docs[0]["pdf"]
            .as_str()
            .unwrap()
            .starts_with("20 Stadtkasse/20.3 Vollstreckung/VB-2026-04711/")
    );
    let decided = docs[0]["filing"]["decided_by"].to_string();
    assert!(
        decided.contains(
            "routing from cover sheet: RESISCAN-COVER/1 | efile=vollstreckung | az=VB-2026-04711"
        ),
        "{decided}"
    );
    assert_eq!(docs[1]["fate"], "unclassified", "{}", docs[1]);
    let reason = docs[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains("e-file 'altakte', which the profile no longer has"),
        "{reason}"
    );
    for d in docs {
        assert_eq!(pdf_pages(&store.join(d["pdf"].as_str().unwrap())), 1);
    }
    // Each cover sheet listed with its payload, with the document it starts.
    assert_eq!(
        sheets(&docs[1]),
        [("cover".into(), "post/03.png".into(), 1, 3, false)]
    );
    let payload = docs[0]["separator_sheets"][0]["payload"].as_str().unwrap();
    assert_eq!(
        payload,
        "RESISCAN-COVER/1\nefile=vollstreckung\naz=VB-2026-04711"
    );
    assert_eq!(
        meta(&store, &docs[0])["index_fields"]["az"]["source"],
        "cover"
    );
    store_verifies_and_reindexes(&env, &store, 2);
}

#[test]
fn coversheet_refuses_an_unknown_efile_field_or_value() {
    let env = TestEnv::new();
    let prof = repo_path("profiles/demo.yaml");
    for (efile, field, says) in [
        ("nope", "az=VB-2026-00001", "no e-file 'nope'"),
        ("vollstreckung", "farbe=rot", "defines no field 'farbe'"),
        ("vollstreckung", "az=12345", "value '12345'"),
    ] {
        let out = env
            .cmd()
            .args(["coversheet", "--profile"])
            .arg(&prof)
            .args(["--efile", efile, "--field", field, "--out"])
            .arg(env.path("c.pdf"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
        assert!(!env.path("c.pdf").exists());
    }
}

/// `explain --json --profile PROFILE DOC`: its `barcodes` list and the whole answer.
fn explain_json(
    env: &TestEnv,
    profile: &Path,
    doc: &Path,
) -> (Vec<serde_json::Value>, serde_json::Value) {
    let out = env
        .cmd()
        .args(["explain", "--json", "--profile"])
        .arg(profile)
        .arg(doc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (v["barcodes"].as_array().unwrap().clone(), v)
}

#[test]
fn explain_reads_the_codes_of_a_cover_sheet_pdf_and_of_a_turned_image() {
    let env = TestEnv::new();
    let prof = profile(&env, "[patch_t, cover]", false);
    let pdf = env.path("cover.pdf");
    let out = env
        .cmd()
        .args(["coversheet", "--profile"])
        .arg(&prof)
        .args([
            "--efile",
            "vollstreckung",
            "--field",
            "az=VB-2026-04711",
            "--out",
        ])
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(out.status.success());
    // The PDF straight from `coversheet` (vector bars and modules, no image): rendered.
    let (codes, v) = explain_json(&env, &prof, &pdf);
    let payload = "RESISCAN-COVER/1\nefile=vollstreckung\naz=VB-2026-04711";
    let qr = codes
        .iter()
        .find(|c| c["symbology"] == "QR")
        .unwrap_or_else(|| panic!("{codes:?}"));
    assert_eq!(qr["value"], payload);
    assert_eq!(qr["page"], 1);
    assert_eq!(qr["rotation"], 0);
    assert_eq!(
        qr["feeds"][0], "cover sheet: routes to e-file 'vollstreckung'",
        "{qr}"
    );
    assert!(
        codes
            .iter()
            .any(|c| c["value"] == "patch_t"
                && c["feeds"][0] == "separator sheet (split_on: patch_t)"),
        "{codes:?}"
    );
    // The cover on page 1 routes the document, as at ingest.
    assert_eq!(v["efile"]["id"], "vollstreckung", "{v}");
    assert_eq!(v["efile"]["fields"]["az"]["source"], "cover", "{v}");

    // A scanned page, fed sideways (turned 270°): an image file is decoded directly.
    let png = env.path("cover.png");
    let status = Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-png", "-singlefile"])
        .arg(&pdf)
        .arg(env.path("cover"))
        .status()
        .unwrap();
    assert!(status.success());
    let turned = env.path("turned.png");
    magick(&[&[png.to_str().unwrap()], &["-rotate", "270"]], &turned);
    let (codes, _) = explain_json(&env, &prof, &turned);
    let qr = codes.iter().find(|c| c["symbology"] == "QR").unwrap();
    assert_eq!(qr["rotation"], 270, "{qr}");
    // Without cover in split_on, the sheet is read but said to route nothing.
    let (codes, v) = explain_json(&env, &profile(&env, "[patch_2]", false), &turned);
    let qr = codes.iter().find(|c| c["symbology"] == "QR").unwrap();
    assert!(
        qr["feeds"][0]
            .as_str()
            .unwrap()
            .contains("split_on does not list cover"),
        "{qr}"
    );
    assert!(v["efile"].is_null(), "{v}");
    assert!(
        codes.iter().any(|c| c["value"] == "patch_t"
            && c["feeds"][0]
                .as_str()
                .unwrap()
                .contains("does not list patch_t")),
        "{codes:?}"
    );
    // The text form names them too.
    let out = env
        .cmd()
        .args(["explain", "--profile"])
        .arg(&prof)
        .arg(&turned)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("page 1: QR"), "{said}");
    assert!(said.contains("turned 270°"), "{said}");
    assert!(said.contains("text: none read"), "{said}");
}

/// A gray PGM of `text` in `symbology`, `module` px a module, 1D bars `height` px high.
fn barcode_pgm(
    symbology: resiscan::barcode::Symbology,
    text: &str,
    module: u32,
    height: u32,
    out: &Path,
) {
    let m = resiscan::barcode::encoded_modules(symbology, text).expect("encodes");
    let rows = if m.height == 1 {
        height
    } else {
        m.height * module
    };
    let (w, h) = (m.width * module, rows);
    let mut px = vec![255u8; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            let my = if m.height == 1 { 0 } else { y / module };
            if m.is_dark(x / module, my) {
                px[(y * w + x) as usize] = 0;
            }
        }
    }
    let mut bytes = format!("P5\n{w} {h}\n255\n").into_bytes();
    bytes.extend(px);
    std::fs::write(out, bytes).unwrap();
}

#[test]
fn a_code39_patcht_sheet_splits_and_a_code128_wins_over_a_smudged_aktenzeichen() {
    use resiscan::barcode::Symbology;
    let env = TestEnv::new();
    let demo = std::fs::read_to_string(repo_path("profiles/demo.yaml")).unwrap();
    let with_barcode = demo.replace(
        r"      az: 'Aktenzeichen:?\s*(VB-\d{4}-\d{5})'",
        r"      az: {text: 'Aktenzeichen:?\s*(VB-\d{4}-\d{5})', barcode: '^(VB-\d{4}-\d{5})$'}",
    );
    assert_ne!(with_barcode, demo);
    let prof = env.write(
        "barcode-profile.yaml",
        format!("{with_barcode}\nseparation:\n  split_on: [\"barcode:PATCHT\"]\n"),
    );
    let batch = env.mkdir("2026-12-02-codes");
    let s = batch.join("stapel");
    std::fs::create_dir_all(&s).unwrap();
    let tmp = env.mkdir("parts");
    // Letter 1: the printed Aktenzeichen is smudged, its Code 128 label is intact.
    render_letter(
        &tmp.join("letter.png"),
        &enforcement_letter("VB-20##-0##11"),
        &[],
    );
    barcode_pgm(
        Symbology::Code128,
        "VB-2026-04711",
        4,
        150,
        &tmp.join("c128.pgm"),
    );
    magick(
        &[
            &[tmp.join("letter.png").to_str().unwrap()],
            &[tmp.join("c128.pgm").to_str().unwrap()],
            &["-geometry", "+1000+150", "-composite"],
        ],
        &s.join("01.png"),
    );
    // A Code 39 "PATCHT" sheet, as paperless-ngx prints them, fed upside down.
    barcode_pgm(Symbology::Code39, "PATCHT", 6, 300, &tmp.join("c39.pgm"));
    magick(
        &[
            &["-size", "2480x3508", "xc:white"],
            &[tmp.join("c39.pgm").to_str().unwrap()],
            &["-geometry", "+500+600", "-composite", "-rotate", "180"],
        ],
        &s.join("02.png"),
    );
    render_letter(&s.join("03.png"), &enforcement_letter("VB-2026-00005"), &[]);
    let store = env.path("store");
    let (code, report) = env.ingest(&batch, &prof, &store);
    assert_eq!(code, 0, "{}", report.stderr);
    let docs = report.documents();
    assert_eq!(docs.len(), 2, "{}", report.report);
    assert_eq!(
        docs[0]["index_fields"]["az"], "VB-2026-04711",
        "{}",
        docs[0]
    );
    assert_eq!(
        docs[0]["classification"]["efile"]["fields"]["az"]["source"], "barcode",
        "{}",
        docs[0]
    );
    let decided = docs[0]["filing"]["decided_by"].to_string();
    assert!(
        decided.contains("field az = VB-2026-04711 (from a barcode)"),
        "{decided}"
    );
    assert_eq!(docs[1]["index_fields"]["az"], "VB-2026-00005");
    assert_eq!(
        docs[1]["classification"]["efile"]["fields"]["az"]["source"],
        "text"
    );
    // The sheet is listed with the document it starts, with what its barcode reads.
    assert_eq!(
        sheets(&docs[1]),
        [("barcode".into(), "stapel/02.png".into(), 1, 2, false)]
    );
    assert_eq!(docs[1]["separator_sheets"][0]["payload"], "PATCHT");
    for d in docs {
        assert_eq!(pdf_pages(&store.join(d["pdf"].as_str().unwrap())), 1);
    }
    // meta.json says where each field came from, as the note's decided_by does.
    assert_eq!(
        meta(&store, &docs[0])["index_fields"]["az"]["source"],
        "barcode"
    );
    assert_eq!(
        meta(&store, &docs[1])["index_fields"]["az"]["source"],
        "text"
    );
    store_verifies_and_reindexes(&env, &store, 2);
    // explain shows the barcodes of the filed PDF (rendered) and of the sheet (an image),
    // with the rules they feed.
    let (codes, v) = explain_json(&env, &prof, &store.join(docs[0]["pdf"].as_str().unwrap()));
    let c128 = codes
        .iter()
        .find(|c| c["symbology"] == "Code 128")
        .unwrap_or_else(|| panic!("{codes:?}"));
    assert_eq!(c128["value"], "VB-2026-04711");
    assert_eq!(c128["page"], 1);
    assert_eq!(
        c128["feeds"][0], "field az = VB-2026-04711 of e-file 'vollstreckung'",
        "{c128}"
    );
    assert_eq!(v["efile"]["fields"]["az"]["source"], "barcode", "{v}");
    let (codes, _) = explain_json(&env, &prof, &s.join("02.png"));
    let c39 = codes.iter().find(|c| c["symbology"] == "Code 39").unwrap();
    assert_eq!(c39["value"], "PATCHT");
    assert_eq!(c39["rotation"].as_u64().unwrap() % 180, 0, "{c39}");
    assert_eq!(
        c39["feeds"][0], "separator sheet (split_on: \"barcode:PATCHT\")",
        "{c39}"
    );
}

#[test]
fn a_torn_patch_sheet_stays_a_page_and_is_flagged() {
    let env = TestEnv::new();
    let batch = env.mkdir("2026-12-02-torn");
    let s = batch.join("stapel");
    render_letter(&s.join("01.png"), &enforcement_letter("VB-2026-00021"), &[]);
    // Bars only 0.5 in long: the rest of the sheet torn off.
    magick(
        &[
            &["-size", "2480x3508", "xc:white", "-fill", "black"],
            &[
                "-draw",
                "rectangle 340,150 489,173",
                "-draw",
                "rectangle 340,198 489,257",
            ],
            &[
                "-draw",
                "rectangle 340,282 489,305",
                "-draw",
                "rectangle 340,330 489,389",
            ],
            &[
                "-fill",
                "black",
                "-pointsize",
                "40",
                "-annotate",
                "+340+700",
                "Trennblatt",
            ],
        ],
        &s.join("02.png"),
    );
    let store = env.path("store");
    let (code, report) = env.ingest(&batch, &profile(&env, "[patch_t]", false), &store);
    assert_eq!(code, 0, "{}", report.stderr);
    let docs = report.documents();
    assert_eq!(docs.len(), 1, "{}", report.report);
    assert_eq!(
        docs[0]["id"], "2026-12-02-torn_stapel",
        "no separator: the entry's own id"
    );
    assert_eq!(pdf_pages(&store.join(docs[0]["pdf"].as_str().unwrap())), 2);
    let f = flags(&docs[0]);
    assert!(
        f.iter()
            .any(|x| x.contains("page 2 of the stack") && x.contains("torn")),
        "{f:?}"
    );
}

#[test]
fn patch_2_and_3_and_a_qr_or_datamatrix_text_sheet_split_and_an_entry_e_2_is_refused() {
    use resiscan::barcode::Symbology;
    let env = TestEnv::new();
    let batch = env.mkdir("2026-12-02-mix");
    let s = batch.join("stapel");
    let tmp = env.mkdir("parts");
    // Letter | Patch 2 (W N N W) | letter | QR "TRENNBLATT" | letter | Patch 3 (W N W N), fed
    // upside down | DataMatrix "TRENNBLATT" turned 90° | letter.
    render_letter(&s.join("01.png"), &enforcement_letter("VB-2026-00031"), &[]);
    patch_sheet(&s.join("02.png"), [true, false, false, true], 1.0);
    render_letter(&s.join("03.png"), &enforcement_letter("VB-2026-00032"), &[]);
    barcode_pgm(Symbology::Qr, "TRENNBLATT", 12, 0, &tmp.join("qr.pgm"));
    magick(
        &[
            &["-size", "2480x3508", "xc:white"],
            &[tmp.join("qr.pgm").to_str().unwrap()],
            &["-geometry", "+1500+2600", "-composite"],
        ],
        &s.join("04.png"),
    );
    render_letter(&s.join("05.png"), &enforcement_letter("VB-2026-00033"), &[]);
    patch_sheet(&tmp.join("p3.png"), [true, false, true, false], -1.0);
    magick(
        &[&[tmp.join("p3.png").to_str().unwrap()], &["-rotate", "180"]],
        &s.join("06.png"),
    );
    barcode_pgm(
        Symbology::DataMatrix,
        "TRENNBLATT",
        12,
        0,
        &tmp.join("dm.pgm"),
    );
    magick(
        &[
            &["-size", "2480x3508", "xc:white"],
            &[tmp.join("dm.pgm").to_str().unwrap()],
            &["-geometry", "+400+900", "-composite", "-rotate", "90"],
        ],
        &s.join("07.png"),
    );
    render_letter(&s.join("08.png"), &enforcement_letter("VB-2026-00034"), &[]);
    // An entry whose id is the stack's second document's id.
    render_letter(
        &batch.join("stapel_2.png"),
        &enforcement_letter("VB-2026-00099"),
        &[],
    );
    let store = env.path("store");
    let prof = profile(&env, r#"[patch_2, patch_3, "barcode:TRENNBLATT"]"#, false);
    let (code, report) = env.ingest(&batch, &prof, &store);
    assert_ne!(code, 0, "one entry is quarantined: {}", report.stderr);
    let docs: Vec<&serde_json::Value> = report
        .documents()
        .iter()
        .filter(|d| d["fate"] == "filed")
        .collect();
    let azs: Vec<&str> = docs
        .iter()
        .map(|d| d["index_fields"]["az"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        azs,
        [
            "VB-2026-00031",
            "VB-2026-00032",
            "VB-2026-00033",
            "VB-2026-00034"
        ],
        "{}",
        report.report
    );
    let kinds: Vec<Vec<(String, u64)>> = docs
        .iter()
        .map(|d| sheets(d).into_iter().map(|s| (s.0, s.3)).collect())
        .collect();
    assert_eq!(
        kinds,
        [
            vec![],
            vec![("patch_2".to_string(), 2)],
            // Patch 3 and the DataMatrix sheet in a row: the first goes with the document
            // before it.
            vec![("barcode".to_string(), 4), ("patch_3".to_string(), 6)],
            vec![("barcode".to_string(), 7)]
        ],
        "{}",
        report.report
    );
    for d in &docs {
        assert_eq!(pdf_pages(&store.join(d["pdf"].as_str().unwrap())), 1);
    }
    assert_eq!(docs[1]["id"], "2026-12-02-mix_stapel_2");
    let reason = report.quarantine_reason("stapel_2");
    assert!(
        reason.contains("also the id of a document from entry 'stapel'"),
        "{reason}"
    );
}

/// What the barcode readers cost on pages of plain print (issue #14): the finder in front of
/// them leaves at most a few small regions of a letter or a layout page to read (a photo
/// is the exception: its texture looks busy, and it is read). No region reads as a barcode.
#[test]
fn the_barcode_finder_leaves_little_of_plain_print_to_read() {
    use resiscan::barcode::finder::{Look, look};
    let font = letters::load_font().expect("DejaVu Sans (fonts-dejavu-core)");
    let mut pages: Vec<(String, resiscan::image::GrayImage)> = Vec::new();
    for (i, text) in letters::texts::ratenzahlung().iter().enumerate() {
        pages.push((
            format!("letter page {i}"),
            letters::render_page(&font, text, 300),
        ));
    }
    for l in layouts::all(&font) {
        if l.name != "photo_page" {
            pages.push((l.name.to_string(), l.image));
        }
    }
    for (name, page) in &pages {
        let share = match look(page, 300) {
            Look::Nothing => 0.0,
            Look::WholePage => 1.0,
            Look::Regions(r) => {
                r.iter()
                    .map(|r| f64::from(r.rect.w) * f64::from(r.rect.h))
                    .sum::<f64>()
                    / (f64::from(page.width) * f64::from(page.height))
            }
        };
        assert!(share < 0.1, "{name}: regions cover {:.1} %", share * 100.0);
        let codes = resiscan::barcode::read_barcodes(page, 300, &resiscan::barcode::Symbology::ALL);
        assert!(codes.is_empty(), "{name}: {codes:?}");
    }
}
