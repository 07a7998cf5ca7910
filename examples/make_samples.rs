//! Regenerates the sample batch `samples/poststelle-2026-11-24/`, deterministically:
//!
//! ```text
//! cargo run --example make_samples -- samples
//! ```
//!
//! The batch is what a city treasury's mail room scans on one afternoon (SPEC section 2):
//! - `0001/1.png 0001/2.png`: two-page request for instalments in an enforcement case
//!   (Aktenzeichen VB-2026-00417, Kassenzeichen 5.0123.456789.1), gray PNG, 300 dpi;
//! - `0002/1.png 0002/2.png`: adult-education course registration (Kursnummer 26F-1234)
//!   with a blank, dusty back side as page 2 (the blank-page check should drop it);
//! - `0003.tif`: a two-page supplier invoice as CCITT G4 TIFF, the archive scanner's format;
//! - `0004.jpg`: a dog-tax deregistration as gray JPEG (no file-plan rule: unclassified);
//! - `0005.png`: an objection in another enforcement case, scanned upside down;
//! - `0006.png`: a PNG cut off in transfer (must be quarantined, not stop the batch);
//! - `batch.yaml`: the station's manifest with one anomaly.
//!
//! For the benchmarks, `--bench-batch PAGES DIR` writes a batch of short letters (PNG, G4
//! TIFF and JPEG documents of one to three pages) and `--bench-document PAGES DIR` one long
//! document of PNG pages.
//!
//! For the real-page layouts (SPEC §2, issue #13), `--layouts DIR` writes one gray PNG per
//! layout (two and three columns, DIN 5008 letter, form with a ruled table, 7-pt small print,
//! 80 mm receipt, photo page, dark band) and beside each `NAME.txt`, its truth text.
//!
//! Font: DejaVu Sans from Debian's `fonts-dejavu-core`.

#[path = "../tests/common/letters.rs"]
mod letters;

#[path = "../tests/common/layouts.rs"]
mod layouts;

use std::path::{Path, PathBuf};

const DPI: u32 = 300;
const BATCH: &str = "poststelle-2026-11-24";

fn main() -> Result<(), String> {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let mode = args.first().and_then(|a| a.to_str());
    if let Some(mode @ ("--bench-batch" | "--bench-document")) = mode {
        let usage = format!("usage: make_samples {mode} PAGES OUTPUT_DIR");
        let pages: usize = args
            .get(1)
            .and_then(|n| n.to_str()?.parse().ok())
            .ok_or(&usage)?;
        let out = args.get(2).map(PathBuf::from).ok_or(&usage)?;
        return if mode == "--bench-batch" {
            bench_batch(pages, &out)
        } else {
            bench_document(pages, &out)
        };
    }
    if mode == Some("--layouts") {
        let out = args
            .get(1)
            .map(PathBuf::from)
            .ok_or("usage: make_samples --layouts OUTPUT_DIR")?;
        return layout_pages(&out);
    }
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: make_samples OUTPUT_DIR   (e.g. `samples`)")?;
    let dir = root.join(BATCH);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("0001")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir.join("0002")).map_err(|e| e.to_string())?;
    let font = letters::load_font()?;
    let page = |lines: &[&str]| letters::render_page(&font, lines, DPI);

    // 0001: two pages, PNG.
    let raten = letters::texts::ratenzahlung();
    for (i, p) in raten.iter().enumerate() {
        write(
            &dir.join(format!("0001/{}.png", i + 1)),
            &letters::png_bytes(&page(p), DPI),
        )?;
    }

    // 0002: letter plus blank back side with dust.
    let vhs = letters::texts::vhs_anmeldung();
    write(
        &dir.join("0002/1.png"),
        &letters::png_bytes(&page(&vhs[0]), DPI),
    )?;
    let back = letters::blank_back_side(DPI, 20261124, 25);
    write(&dir.join("0002/2.png"), &letters::png_bytes(&back, DPI))?;

    // 0003: G4 TIFF, two pages.
    let rechnung: Vec<_> = letters::texts::rechnung().iter().map(|p| page(p)).collect();
    let refs: Vec<_> = rechnung.iter().collect();
    write(&dir.join("0003.tif"), &letters::g4_tiff_bytes(&refs, DPI))?;

    // 0004: gray JPEG.
    let hund = letters::texts::hundesteuer_abmeldung();
    write(
        &dir.join("0004.jpg"),
        &letters::jpeg_bytes(&page(&hund[0]), DPI, 75),
    )?;

    // 0005: upside down.
    let wid = letters::texts::widerspruch_pfaendung();
    let upside_down = letters::rotated_180(&page(&wid[0]));
    write(
        &dir.join("0005.png"),
        &letters::png_bytes(&upside_down, DPI),
    )?;

    // 0006: a PNG cut off after 40 % of its bytes (an interrupted network copy).
    let full = letters::png_bytes(&page(&hund[0]), DPI);
    write(&dir.join("0006.png"), &full[..full.len() * 2 / 5])?;

    write(&dir.join("batch.yaml"), BATCH_YAML.as_bytes())?;
    println!("wrote {}", dir.display());
    Ok(())
}

fn layout_pages(out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let font = letters::load_font()?;
    for page in layouts::all(&font) {
        write(
            &out.join(format!("{}.png", page.name)),
            &letters::png_bytes(&page.image, layouts::DPI),
        )?;
        write(
            &out.join(format!("{}.txt", page.name)),
            page.truth.as_bytes(),
        )?;
    }
    println!("wrote the layout pages into {}", out.display());
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

const BATCH_YAML: &str = r#"# Written by the scan station when the operator closed the batch (SPEC section 2).
id: 2026-11-24-poststelle-03
operator: "ps-0417"
station: "Scanplatz 3, Lecos ScanCenter"
scanner: {make: "Fujitsu", model: "fi-7600", serial: "A12B345"}
scanned_at: "2026-11-24T16:02:11+01:00"
expected: {documents: 6}
anomalies: {"0005": "Blatt verkehrt herum eingelegt, nicht neu gescannt"}
"#;

/// A benchmark batch of `pages` text pages (no blank pages, so every page is OCRed both by
/// resiscan and by the bare-Tesseract baseline): documents of one to three pages, cycling
/// through the formats a scan center meets — gray PNG, CCITT G4 TIFF, gray JPEG.
/// One long document: a folder `0001/` of `pages` gray PNG letters, each page unique — to show
/// that a document's length does not raise the peak memory (pages stream).
fn bench_document(pages: usize, out: &Path) -> Result<(), String> {
    let dir = out.join("0001");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let font = letters::load_font()?;
    let texts = [
        letters::texts::ratenzahlung(),
        letters::texts::widerspruch_pfaendung(),
    ];
    let all_pages: Vec<&Vec<&str>> = texts.iter().flat_map(|t| t.iter()).collect();
    for i in 0..pages {
        let mut lines = all_pages[i % all_pages.len()].clone();
        let tag = format!("Seite {} von {pages}", i + 1);
        lines.push("");
        lines.push(&tag);
        let raster = letters::render_page(&font, &lines, DPI);
        write(
            &dir.join(format!("{}.png", i + 1)),
            &letters::png_bytes(&raster, DPI),
        )?;
    }
    println!("1 document of {pages} pages in {}", out.display());
    Ok(())
}

fn bench_batch(pages: usize, out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let font = letters::load_font()?;
    let page = |lines: &[&str]| letters::render_page(&font, lines, DPI);
    let texts = [
        letters::texts::ratenzahlung(),
        letters::texts::vhs_anmeldung(),
        letters::texts::rechnung(),
        letters::texts::hundesteuer_abmeldung(),
        letters::texts::widerspruch_pfaendung(),
    ];
    let all_pages: Vec<&Vec<&str>> = texts.iter().flat_map(|t| t.iter()).collect();
    let mut written = 0usize;
    let mut doc = 0usize;
    while written < pages {
        doc += 1;
        let n = (1 + doc % 3).min(pages - written);
        // A line of its own on every page, so no two pages are the same file (the same paper
        // twice would be filed once, as a duplicate, and the batch would not measure OCR).
        let rasters: Vec<_> = (0..n)
            .map(|i| {
                let mut lines = all_pages[(written + i) % all_pages.len()].clone();
                let tag = format!("Posteingang Nr. {:05}", written + i + 1);
                lines.push("");
                lines.push(&tag);
                page(&lines)
            })
            .collect();
        match doc % 3 {
            0 => {
                let refs: Vec<_> = rasters.iter().collect();
                write(
                    &out.join(format!("{doc:04}.tif")),
                    &letters::g4_tiff_bytes(&refs, DPI),
                )?;
            }
            1 => {
                let dir = out.join(format!("{doc:04}"));
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                for (i, r) in rasters.iter().enumerate() {
                    write(
                        &dir.join(format!("{}.png", i + 1)),
                        &letters::png_bytes(r, DPI),
                    )?;
                }
            }
            _ => {
                let dir = out.join(format!("{doc:04}"));
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                for (i, r) in rasters.iter().enumerate() {
                    write(
                        &dir.join(format!("{}.jpg", i + 1)),
                        &letters::jpeg_bytes(r, DPI, 85),
                    )?;
                }
            }
        }
        written += n;
    }
    println!("{written} pages in {doc} documents in {}", out.display());
    Ok(())
}
