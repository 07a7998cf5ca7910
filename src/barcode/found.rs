//! What `resiscan explain` shows of a document's barcodes, patch codes and cover sheets, and
//! which of the profile's rules each one feeds (SPEC §6).
//!
//! `explain` reads a PDF's text layer, but barcodes are in the page images. An image file
//! (PNG, JPEG, TIFF, every page) is decoded as `ingest` decodes it. A PDF is rendered page by
//! page with poppler's `pdftoppm` at 300 dpi, gray: poppler is already what resiscan runs for
//! `explain`'s text (`pdftotext`) and for QA's page views, it shows the page as a reader sees
//! it (with `/Rotate`), and it covers what an in-process extraction of our own PDFs would not:
//! a cover sheet PDF straight from `resiscan coversheet` (vector bars, no image), and the three
//! image encodings our PDFs embed (DCT, CCITT G4, Flate) without a second decoder per kind.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::barcode::patch::{PatchCode, PatchRead};
use crate::barcode::{Symbology, read_barcodes};
use crate::image::GrayImage;
use crate::profile::{Profile, SplitOn};
use crate::separation::CoverPayload;

/// The resolution PDF pages are rendered at for reading their barcodes.
const RENDER_DPI: u32 = 300;

/// One code found on a page, and what it does under the profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FoundCode {
    /// 1-based page of the document.
    pub page: usize,
    /// `Code 39`, `Code 128`, `QR`, `DataMatrix`, or `patch code`.
    pub symbology: String,
    /// The barcode's text, or the patch code's name (`patch_t`).
    pub value: String,
    /// Clockwise degrees the symbol is turned on the page (patch codes: not measured, 0).
    pub rotation: u16,
    /// The rules it feeds: index fields, separator sheets, cover routing; empty when none.
    pub feeds: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FoundError {
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: page {page}: {cause}")]
    Image {
        path: PathBuf,
        page: usize,
        cause: crate::image::ImageError,
    },
    #[error(
        "reading the barcodes of {path} needs poppler's pdftoppm to render its pages: {reason}"
    )]
    Render { path: PathBuf, reason: String },
}

/// Whether `path` is an image file (PNG, JPEG, TIFF): it has pages but no text to read.
pub fn is_image_file(path: &Path) -> bool {
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    n > 0 && crate::image::detect_format(&head[..n]).is_ok()
}

/// The pages of `path` as gray rasters with their resolution: an image file's pages decoded,
/// a PDF's pages rendered; a text file has none.
pub fn document_pages(path: &Path, max_pixels: u64) -> Result<Vec<(GrayImage, u32)>, FoundError> {
    let bytes: std::sync::Arc<[u8]> = std::fs::read(path)
        .map_err(|cause| FoundError::Read {
            path: path.to_path_buf(),
            cause,
        })?
        .into();
    if bytes.starts_with(b"%PDF-") {
        return rendered_pages(path, max_pixels);
    }
    if crate::image::detect_format(&bytes).is_err() {
        return Ok(Vec::new());
    }
    let err = |page: usize| {
        move |cause| FoundError::Image {
            path: path.to_path_buf(),
            page,
            cause,
        }
    };
    let infos = crate::image::probe(&bytes, max_pixels).map_err(err(1))?;
    let mut pages = Vec::with_capacity(infos.len());
    for index in 0..infos.len() {
        let page = crate::image::decode_page(&bytes, index, max_pixels).map_err(err(index + 1))?;
        let dpi = page
            .info
            .dpi
            .map(|d| d.0.round() as u32)
            .filter(|&d| d > 0)
            .unwrap_or(300);
        pages.push((page.gray, dpi));
    }
    Ok(pages)
}

/// The PDF's pages rendered by `pdftoppm` into a scratch folder (removed again), decoded.
fn rendered_pages(pdf: &Path, max_pixels: u64) -> Result<Vec<(GrayImage, u32)>, FoundError> {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "resiscan-explain-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let render = |reason: String| FoundError::Render {
        path: pdf.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(&dir).map_err(|e| render(format!("{}: {e}", dir.display())))?;
    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let scratch = Scratch(dir);
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", &RENDER_DPI.to_string(), "-gray", "-png"])
        .arg(pdf)
        .arg(scratch.0.join("p"))
        .output()
        .map_err(|e| render(format!("pdftoppm (poppler-utils) could not run: {e}")))?;
    if !out.status.success() {
        return Err(render(format!(
            "pdftoppm failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    // p-1.png, p-2.png, … (zero-padded to the page count's width): name order is page order.
    let mut files: Vec<PathBuf> = std::fs::read_dir(&scratch.0)
        .map_err(|e| render(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    files.sort();
    let mut pages = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let bytes: std::sync::Arc<[u8]> =
            std::fs::read(f).map_err(|e| render(e.to_string()))?.into();
        let page = crate::image::decode_page(&bytes, 0, max_pixels).map_err(|cause| {
            FoundError::Image {
                path: pdf.to_path_buf(),
                page: i + 1,
                cause,
            }
        })?;
        pages.push((page.gray, RENDER_DPI));
    }
    Ok(pages)
}

/// Every barcode (the four symbologies), patch code and cover sheet on `pages`, each with the
/// rules of `profile` it feeds.
pub fn found_codes(profile: &Profile, pages: &[(GrayImage, u32)]) -> Vec<FoundCode> {
    let split_on = profile.split_on();
    let mut out = Vec::new();
    for (i, (gray, dpi)) in pages.iter().enumerate() {
        let page = i + 1;
        let mut codes = read_barcodes(gray, *dpi, &Symbology::ALL);
        let patch = crate::barcode::patch::patch_code(gray, *dpi);
        // As at ingest: a cover's QR code under scanner specks may read only binned by two.
        if patch == PatchRead::Code(PatchCode::PatchT)
            && !codes
                .iter()
                .any(|b| CoverPayload::decode(&b.text).is_some())
        {
            let small = crate::barcode::binned(gray, 2);
            codes.extend(
                read_barcodes(&small, dpi / 2, &[Symbology::Qr])
                    .into_iter()
                    .filter(|b| CoverPayload::decode(&b.text).is_some()),
            );
        }
        for b in codes {
            out.push(FoundCode {
                page,
                symbology: b.symbology.name().to_string(),
                feeds: barcode_feeds(profile, &split_on, page, &b.text),
                value: b.text,
                rotation: b.rotation,
            });
        }
        match patch {
            PatchRead::Code(c) => {
                let wanted = split_on.contains(&SplitOn::Patch(c));
                out.push(FoundCode {
                    page,
                    symbology: "patch code".into(),
                    value: c.name().to_string(),
                    rotation: 0,
                    feeds: vec![if wanted {
                        format!("separator sheet (split_on: {})", c.name())
                    } else if profile.separation.is_some() {
                        format!(
                            "not a separator: split_on does not list {} (ingest keeps the page \
                             and flags it)",
                            c.name()
                        )
                    } else {
                        "not a separator: the profile has no separation".to_string()
                    }],
                });
            }
            PatchRead::Unrecognised(why) => out.push(FoundCode {
                page,
                symbology: "patch code".into(),
                value: "unrecognised".into(),
                rotation: 0,
                feeds: vec![format!(
                    "not a separator: {why} (ingest keeps the page and flags it)"
                )],
            }),
            PatchRead::None => {}
        }
    }
    out
}

/// The rules a barcode reading `text` on `page` feeds.
fn barcode_feeds(profile: &Profile, split_on: &[SplitOn], page: usize, text: &str) -> Vec<String> {
    let mut feeds = Vec::new();
    if let Some(cover) = CoverPayload::decode(text) {
        let known = profile.efiles.iter().any(|r| r.id.value == cover.efile);
        let routes = if known {
            format!("cover sheet: routes to e-file '{}'", cover.efile)
        } else {
            format!(
                "cover sheet for e-file '{}', which the profile does not have (ingest: \
                 unclassified, with that reason)",
                cover.efile
            )
        };
        feeds.push(if split_on.contains(&SplitOn::Cover) {
            routes
        } else {
            format!("{routes} — but split_on does not list cover, so ingest does not read it")
        });
        if page != 1 && split_on.contains(&SplitOn::Cover) {
            feeds.push("separator sheet (split_on: cover)".into());
        }
    }
    if split_on.contains(&SplitOn::Barcode(text.to_string())) {
        feeds.push(format!("separator sheet (split_on: \"barcode:{text}\")"));
    }
    for rule in &profile.efiles {
        for (name, pattern) in &rule.barcode_fields {
            let value = crate::classify::compile_pattern(&pattern.value)
                .ok()
                .and_then(|re| {
                    re.captures(text)
                        .and_then(|c| c.get(1))
                        .map(|m| m.as_str().to_string())
                });
            if let Some(v) = value {
                feeds.push(format!("field {name} = {v} of e-file '{}'", rule.id.value));
            }
        }
    }
    feeds
}

/// The barcode part of `explain`'s table.
pub fn explained(codes: &[FoundCode], pages: usize) -> String {
    use std::fmt::Write;
    let mut out =
        format!("\nbarcodes, patch codes and cover sheets ({pages} page image(s) read):\n");
    if codes.is_empty() {
        out.push_str("  none found\n");
    }
    for c in codes {
        let turned = if c.symbology == "patch code" {
            String::new()
        } else {
            format!(", turned {}°", c.rotation)
        };
        let _ = writeln!(
            out,
            "  page {}: {} {:?}{turned}",
            c.page, c.symbology, c.value
        );
        if c.feeds.is_empty() {
            out.push_str("      feeds: nothing in this profile\n");
        }
        for f in &c.feeds {
            let _ = writeln!(out, "      feeds: {f}");
        }
    }
    out
}
