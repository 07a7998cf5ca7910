//! A small ICC v2 sRGB display profile, built in code, for the PDF/A output intent
//! (ISO 19005-2 6.2.3: a `GTS_PDFA1` OutputIntent with an embedded ICC profile is needed
//! before device colour spaces may be used).
//!
//! Content follows IEC 61966-2-1 (sRGB): primaries adapted to the D50 PCS with the Bradford
//! transform, D65 media white point (as the classic v2 sRGB profiles do), and the sRGB tone
//! curve sampled at 1024 points. Structure follows ICC.1:2001-04 (v2.1): 128-byte header, tag
//! table, tags `desc`, `cprt`, `wtpt`, `rXYZ`/`gXYZ`/`bXYZ`, `rTRC`/`gTRC`/`bTRC` (the three
//! TRC tags share one curve).

/// Description that also names the output condition in the PDF.
pub(crate) const DESCRIPTION: &str = "sRGB IEC61966-2.1 (resiscan)";

const TRC_POINTS: usize = 1024;

/// The profile bytes.
pub(crate) fn srgb_profile() -> Vec<u8> {
    let desc = desc_tag(DESCRIPTION);
    let cprt = text_tag("No copyright, use freely");
    let wtpt = xyz_tag([0.9505, 1.0, 1.0891]);
    let r = xyz_tag([0.4361, 0.2225, 0.0139]);
    let g = xyz_tag([0.3851, 0.7169, 0.0971]);
    let b = xyz_tag([0.1431, 0.0606, 0.7141]);
    let trc = curve_tag();
    // (signature, index into `data`): the TRC tags point at one shared element.
    let data: [&[u8]; 7] = [&desc, &cprt, &wtpt, &r, &g, &b, &trc];
    let tags: [(&[u8; 4], usize); 9] = [
        (b"desc", 0),
        (b"cprt", 1),
        (b"wtpt", 2),
        (b"rXYZ", 3),
        (b"gXYZ", 4),
        (b"bXYZ", 5),
        (b"rTRC", 6),
        (b"gTRC", 6),
        (b"bTRC", 6),
    ];
    let table_len = 4 + 12 * tags.len();
    let mut offsets = Vec::with_capacity(data.len());
    let mut body = Vec::new();
    let mut at = 128 + table_len;
    for d in data {
        offsets.push(at);
        body.extend_from_slice(d);
        // Tag data elements start on 4-byte boundaries (ICC.1 6.4).
        let padded = d.len().div_ceil(4) * 4;
        body.resize(body.len() + padded - d.len(), 0);
        at += padded;
    }
    let size = at;
    let mut p = Vec::with_capacity(size);
    put32(&mut p, size as u32);
    p.extend_from_slice(b"none"); // preferred CMM: any
    put32(&mut p, 0x0210_0000); // version 2.1
    p.extend_from_slice(b"mntr"); // display device class
    p.extend_from_slice(b"RGB ");
    p.extend_from_slice(b"XYZ ");
    for v in [2026u16, 1, 1, 0, 0, 0] {
        put16(&mut p, v); // creation date
    }
    p.extend_from_slice(b"acsp");
    p.extend_from_slice(&[0; 4]); // primary platform: none
    put32(&mut p, 0); // flags
    p.extend_from_slice(&[0; 8]); // manufacturer, model
    p.extend_from_slice(&[0; 8]); // attributes
    put32(&mut p, 0); // rendering intent: perceptual
    for v in [0.9642, 1.0, 0.8249] {
        put32(&mut p, s15f16(v)); // PCS illuminant D50
    }
    p.extend_from_slice(&[0; 4]); // creator
    p.resize(128, 0); // reserved
    put32(&mut p, tags.len() as u32);
    for (sig, i) in tags {
        p.extend_from_slice(sig);
        put32(&mut p, offsets[i] as u32);
        put32(&mut p, data[i].len() as u32);
    }
    p.extend_from_slice(&body);
    debug_assert_eq!(p.len(), size);
    p
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}
fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn s15f16(v: f64) -> u32 {
    ((v * 65536.0).round() as i32) as u32
}

fn xyz_tag(xyz: [f64; 3]) -> Vec<u8> {
    let mut t = b"XYZ \0\0\0\0".to_vec();
    for v in xyz {
        put32(&mut t, s15f16(v));
    }
    t
}

fn text_tag(s: &str) -> Vec<u8> {
    let mut t = b"text\0\0\0\0".to_vec();
    t.extend_from_slice(s.as_bytes());
    t.push(0);
    t
}

/// textDescriptionType (ICC.1:2001 6.5.17): ASCII part, empty Unicode and ScriptCode parts.
fn desc_tag(s: &str) -> Vec<u8> {
    let mut t = b"desc\0\0\0\0".to_vec();
    put32(&mut t, s.len() as u32 + 1);
    t.extend_from_slice(s.as_bytes());
    t.push(0);
    put32(&mut t, 0); // Unicode language code
    put32(&mut t, 0); // Unicode count
    put16(&mut t, 0); // ScriptCode code
    t.push(0); // ScriptCode count
    t.extend_from_slice(&[0; 67]);
    t
}

/// The sRGB decoding curve (IEC 61966-2-1 5.2), 16-bit samples.
fn curve_tag() -> Vec<u8> {
    let mut t = b"curv\0\0\0\0".to_vec();
    put32(&mut t, TRC_POINTS as u32);
    for i in 0..TRC_POINTS {
        let v = i as f64 / (TRC_POINTS - 1) as f64;
        let linear = if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        };
        put16(&mut t, (linear * 65535.0).round() as u16);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_tag_table_are_consistent() {
        let p = srgb_profile();
        assert_eq!(
            u32::from_be_bytes(p[0..4].try_into().unwrap()) as usize,
            p.len()
        );
        assert_eq!(&p[36..40], b"acsp");
        assert_eq!(&p[12..24], b"mntrRGB XYZ ");
        let n = u32::from_be_bytes(p[128..132].try_into().unwrap()) as usize;
        assert_eq!(n, 9);
        for i in 0..n {
            let e = 132 + 12 * i;
            let off = u32::from_be_bytes(p[e + 4..e + 8].try_into().unwrap()) as usize;
            let len = u32::from_be_bytes(p[e + 8..e + 12].try_into().unwrap()) as usize;
            assert_eq!(off % 4, 0);
            assert!(off + len <= p.len());
            let ty = &p[off..off + 4];
            let expected: &[u8] = match &p[e..e + 4] {
                b"desc" => b"desc",
                b"cprt" => b"text",
                b"rTRC" | b"gTRC" | b"bTRC" => b"curv",
                _ => b"XYZ ",
            };
            assert_eq!(ty, expected);
        }
    }

    #[test]
    fn curve_is_monotonic_from_black_to_white() {
        let t = curve_tag();
        let vals: Vec<u16> = t[12..]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(vals.len(), TRC_POINTS);
        assert_eq!((vals[0], vals[TRC_POINTS - 1]), (0, 65535));
        assert!(vals.windows(2).all(|w| w[0] <= w[1]));
        // Mid-gray 0.5 encodes ~21.4 % linear light.
        let mid = f64::from(vals[TRC_POINTS / 2]) / 65535.0;
        assert!((mid - 0.2145).abs() < 0.005, "{mid}");
    }

    #[test]
    fn little_cms_accepts_the_profile_and_maps_gray_to_gray() {
        // transicc (Debian liblcms2-utils) opens the profile with Little CMS and converts
        // through it to Little CMS's built-in sRGB; a broken header, tag or curve fails here.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("srgb.icc");
        std::fs::write(&path, srgb_profile()).unwrap();
        let child = std::process::Command::new("transicc")
            .args(["-n", "-t", "1", "-i"])
            .arg(&path)
            .args(["-o", "*sRGB"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("transicc (liblcms2-utils) not installed; skipped");
            return;
        };
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"128 128 128\n255 0 0\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        let nums: Vec<f64> = text
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter_map(|t| t.parse().ok())
            .collect();
        assert!(nums.len() >= 6, "{text}");
        for v in &nums[0..3] {
            assert!((v - 128.0).abs() < 1.5, "gray drifted: {text}");
        }
        assert!(
            nums[3] > 250.0 && nums[4] < 5.0 && nums[5] < 5.0,
            "red drifted: {text}"
        );
    }
}
