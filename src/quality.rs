//! The quality gate (TR-03138 A.SC.3, A.SC.5): resolution, blank pages, unreadable input.
//! Each check yields a finding; the pipeline decides from the profile what a finding means
//! (quarantine, drop, flag).

use crate::image::{GrayImage, PageInfo};

/// What the gate found on one page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PageQuality {
    /// Effective resolution used (file metadata or the profile's `assume_dpi`).
    pub dpi: Option<f64>,
    /// Where the dpi came from: "file", "assumed" or "missing".
    pub dpi_source: &'static str,
    pub color: crate::image::ColorKind,
    /// The page carries no content: paper noise and dust only.
    pub blank: bool,
    /// Share of pixels that count as ink after noise removal, 0..1 (why `blank` was decided).
    pub ink_ratio: f64,
}

/// Checks one decoded page. Not yet built.
pub fn page_quality(info: &PageInfo, gray: &GrayImage, assume_dpi: Option<u32>) -> PageQuality {
    let _ = gray;
    PageQuality {
        dpi: info.dpi.map(|d| d.0.min(d.1)).or(assume_dpi.map(f64::from)),
        dpi_source: if info.dpi.is_some() {
            "file"
        } else if assume_dpi.is_some() {
            "assumed"
        } else {
            "missing"
        },
        color: info.color,
        blank: false,
        ink_ratio: 1.0,
    }
}
