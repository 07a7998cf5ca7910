//! What every image target checks: probing and decoding return a value or an error, never
//! panic; what they return is consistent (the page decode_page reads is the page probe
//! described, and no raster is larger than the pixel limit allowed).

use std::sync::Arc;

/// Small enough that a fuzzed header cannot make the decoder allocate much: the largest
/// legitimate buffer is then 4 Mpx x 8 bytes (16-bit RGBA TIFF) = 32 MB, so the runs use
/// `-malloc_limit_mb=256` and any bigger allocation is a finding.
pub const MAX_PIXELS: u64 = 4_000_000;

pub fn exercise(data: &[u8]) {
    let bytes: Arc<[u8]> = data.into();
    let pages = match resiscan::image::probe(data, MAX_PIXELS) {
        Ok(pages) => pages,
        Err(_) => {
            // The pipeline only decodes after a successful probe, but decode_page promises its
            // own header check: hold it to that.
            let _ = resiscan::image::decode_page(&bytes, 0, MAX_PIXELS);
            return;
        }
    };
    for (index, probed) in pages.iter().enumerate().take(4) {
        if let Ok(page) = resiscan::image::decode_page(&bytes, index, MAX_PIXELS) {
            assert_eq!(
                &page.info, probed,
                "decode_page and probe disagree about page {index}"
            );
            let (w, h) = (u64::from(page.gray.width), u64::from(page.gray.height));
            assert_eq!((w, h), (u64::from(probed.width), u64::from(probed.height)));
            assert_eq!(
                page.gray.pixels.len() as u64,
                w * h,
                "raster size of page {index}"
            );
            assert!(w * h <= MAX_PIXELS, "page {index} over the pixel limit");
            check_embed(&page);
        }
    }
    // One past the last page is an error, not a panic.
    let _ = resiscan::image::decode_page(&bytes, pages.len(), MAX_PIXELS);
}

/// `data` with its first bytes replaced by `magic`, so that every input reaches one
/// format's reader (the seeds already start with it; mutations of it are wasted otherwise).
// Each target compiles its own copy of this module; image_intake does not use this one.
#[allow(dead_code)]
pub fn with_magic(data: &[u8], magic: &[u8]) -> Option<Vec<u8>> {
    if data.len() < magic.len() {
        return None;
    }
    let mut v = data.to_vec();
    v[..magic.len()].copy_from_slice(magic);
    Some(v)
}

/// The embedding holds what the PDF image dictionary will say it holds: a PDF reader given
/// fewer bytes than `/Width`, `/Height`, `/BitsPerComponent` and `/Colors` call for shows a
/// broken page, and the archived document is the PDF.
fn check_embed(page: &resiscan::image::DecodedPage) {
    use resiscan::image::Embed;
    let Embed::Flate {
        data,
        colors,
        bits_per_component,
        png_predictor,
        palette,
    } = &page.embed
    else {
        return;
    };
    assert!(matches!(colors, 1 | 3 | 4), "{colors} colours");
    assert!(
        matches!(bits_per_component, 1 | 2 | 4 | 8 | 16),
        "{bits_per_component} bits per component"
    );
    if let Some(p) = palette {
        assert_eq!(*colors, 1, "a palette image has one index per pixel");
        assert!(
            p.len() % 3 == 0 && (3..=768).contains(&p.len()),
            "palette of {} bytes",
            p.len()
        );
    }
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::ZlibDecoder::new(&data[..]),
        &mut inflated,
    )
    .expect("the embedded zlib stream inflates");
    let (w, h) = (u64::from(page.info.width), u64::from(page.info.height));
    let row = (w * u64::from(*colors) * u64::from(*bits_per_component)).div_ceil(8);
    if *png_predictor {
        // PNG rows carry a filter byte each.
        assert!(inflated.len() as u64 >= h * (row + 1), "PNG rows cut short");
    } else {
        assert_eq!(
            inflated.len() as u64,
            h * row,
            "embedded samples for {w}x{h}"
        );
    }
}
