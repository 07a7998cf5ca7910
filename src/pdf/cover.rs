//! Cover sheets ("Deckblatt", SPEC §6): printable A4 pages that carry an e-file and index
//! fields from the specialist procedure onto the paper.
//!
//! Each page holds, from the top (the leading edge when fed top first):
//! - Patch T bars drawn to Kodak's geometry (0.08/0.20 in, 6 in long, 0.5 in below the top
//!   edge), so a scanner with a patch reader splits on it too, and resiscan's own patch reader
//!   finds the sheet cheaply;
//! - a QR code with the payload `RESISCAN-COVER/1` (see [`CoverPayload::encode`]), drawn
//!   as filled rectangles, 0.6 mm a module;
//! - the same e-file and fields in plain text, for people.
//!
//! The file is a plain PDF 1.7 for printing, not a PDF/A archive document (it is never
//! filed: the sheet leaves the document at ingest unless `keep_sheets` is set). Its text uses
//! the standard Helvetica font (every PDF reader has it; the archive's embedded font is a
//! glyphless OCR layer and cannot be seen), WinAnsi-encoded: characters outside Windows-1252
//! print as '?' in the plain text, the QR code keeps them exactly.

use std::fmt::Write as _;

use super::syntax::num;
use crate::barcode::{Symbology, encoded_modules};
use crate::separation::CoverPayload;

const PT_PER_IN: f64 = 72.0;
const A4: (f64, f64) = (595.276, 841.89);
const MODULE_MM: f64 = 0.6;

/// Why no cover sheet was made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoverError {
    #[error("the payload is too long for a QR code ({0} bytes)")]
    TooLong(usize),
}

/// The PDF bytes: `count` identical cover sheets for `payload`, with `title` (the e-file's
/// title) in the plain text.
pub fn cover_sheet_pdf(
    payload: &CoverPayload,
    title: &str,
    count: usize,
) -> Result<Vec<u8>, CoverError> {
    let text = payload.encode();
    let qr = encoded_modules(Symbology::Qr, &text).ok_or(CoverError::TooLong(text.len()))?;
    let content = page_content(payload, title, &text, &qr);
    let count = count.max(1);
    let mut objects: Vec<String> = Vec::new();
    // 1 catalog, 2 pages, 3 font, 4 content; pages from 5.
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..count).map(|i| format!("{} 0 R", 5 + i)).collect();
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {count} >>",
        kids.join(" ")
    ));
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".into(),
    );
    objects.push(format!(
        "<< /Length {} >>\nstream\n{content}\nendstream",
        content.len() + 1
    ));
    for _ in 0..count {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>",
            num(A4.0),
            num(A4.1)
        ));
    }
    let mut out: Vec<u8> = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o.as_bytes());
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        let _ = writeln!(tail, "{o:010} 00000 n ");
    }
    let _ = write!(
        tail,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(tail.as_bytes());
    Ok(out)
}

fn page_content(
    payload: &CoverPayload,
    title: &str,
    text: &str,
    qr: &crate::barcode::Modules,
) -> String {
    let (w, h) = A4;
    let mut c = String::new();
    c.push_str("0 g\n");
    // Patch T: N W N W from the top edge (crate::barcode::patch has the zone table).
    let left = (w - 6.0 * PT_PER_IN) / 2.0;
    let mut y = h - 0.5 * PT_PER_IN;
    for (k, wide) in crate::barcode::patch::PatchCode::PatchT
        .bars()
        .into_iter()
        .enumerate()
    {
        let t = if wide { 0.20 } else { 0.08 } * PT_PER_IN;
        let _ = writeln!(
            c,
            "{} {} {} {} re f",
            num(left),
            num(y - t),
            num(6.0 * PT_PER_IN),
            num(t)
        );
        y -= t;
        if k < 3 {
            y -= 0.08 * PT_PER_IN;
        }
    }
    // The QR code, top left of the body, with its quiet zone from the encoder.
    let m = MODULE_MM / 25.4 * PT_PER_IN;
    let (qx, qy) = (left, h - 2.2 * PT_PER_IN);
    for my in 0..qr.height {
        let mut mx = 0;
        while mx < qr.width {
            if qr.is_dark(mx, my) {
                // One rectangle per horizontal run of dark modules.
                let start = mx;
                while mx < qr.width && qr.is_dark(mx, my) {
                    mx += 1;
                }
                let _ = writeln!(
                    c,
                    "{} {} {} {} re f",
                    num(qx + f64::from(start) * m),
                    num(qy - f64::from(my + 1) * m),
                    num(f64::from(mx - start) * m),
                    num(m)
                );
            } else {
                mx += 1;
            }
        }
    }
    let qr_bottom = qy - f64::from(qr.height) * m;
    let tx = qx + f64::from(qr.width) * m + 18.0;
    let mut lines: Vec<(f64, String)> = vec![
        (20.0, "Deckblatt / cover sheet".into()),
        (12.0, String::new()),
        (14.0, format!("E-Akte: {}", payload.efile)),
    ];
    if !title.is_empty() {
        lines.push((12.0, title.to_string()));
    }
    for (k, v) in &payload.fields {
        lines.push((14.0, format!("{k}: {v}")));
    }
    let mut ty = qy - 20.0;
    for (size, line) in &lines {
        let _ = writeln!(
            c,
            "BT /F1 {} Tf {} {} Td <{}> Tj ET",
            num(*size),
            num(tx),
            num(ty),
            win_ansi_hex(line)
        );
        ty -= size * 1.4;
    }
    // The payload itself, small, under the QR code: what the machine reads, for people.
    let mut py = qr_bottom.min(ty) - 24.0;
    let _ = writeln!(
        c,
        "BT /F1 9 Tf {} {} Td <{}> Tj ET",
        num(qx),
        num(py),
        win_ansi_hex("Inhalt des Codes / payload:")
    );
    for line in text.lines() {
        py -= 12.0;
        let _ = writeln!(
            c,
            "BT /F1 9 Tf {} {} Td <{}> Tj ET",
            num(qx),
            num(py),
            win_ansi_hex(line)
        );
    }
    py -= 30.0;
    for line in [
        "Dieses Blatt vor das Dokument legen. Es trennt den Stapel und ordnet das Dokument zu;",
        "es wird beim Scannen erkannt und nicht abgelegt. Nicht knicken, nicht beschriften.",
    ] {
        let _ = writeln!(
            c,
            "BT /F1 10 Tf {} {} Td <{}> Tj ET",
            num(qx),
            num(py),
            win_ansi_hex(line)
        );
        py -= 13.0;
    }
    c
}

/// `s` in Windows-1252 as a hex string; characters it lacks become '?'.
fn win_ansi_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for ch in s.chars() {
        let b: u8 = match ch {
            ' '..='~' => ch as u8,
            '\u{a0}'..='\u{ff}' => ch as u32 as u8,
            '€' => 0x80,
            '„' => 0x84,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            _ => b'?',
        };
        let _ = write!(out, "{b:02X}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_pdf_has_the_pages_bars_and_text() {
        let p = CoverPayload {
            efile: "bauamt".into(),
            fields: BTreeMap::from([("az".into(), "VB-2024-00042".into())]),
        };
        let pdf = cover_sheet_pdf(&p, "Bauamt Ä", 3).unwrap();
        let s = String::from_utf8_lossy(&pdf);
        assert!(s.starts_with("%PDF-1.7"));
        assert!(s.contains("/Count 3"));
        assert!(s.trim_end().ends_with("%%EOF"));
        // "E-Akte: bauamt" in WinAnsi hex.
        assert!(s.contains(&win_ansi_hex("E-Akte: bauamt")));
        assert_eq!(win_ansi_hex("Ä€✓"), "C4803F");
        // Four patch bars 6 in (432 pt) long.
        assert_eq!(s.matches(" 432 ").count(), 4);
        // The xref offsets point at the objects.
        let xref_at: usize = s
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(&pdf[xref_at..xref_at + 4], b"xref");
    }
}
