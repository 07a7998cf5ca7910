//! ICC profiles, built in code: a small v2 sRGB display profile for the PDF/A output intent
//! (ISO 19005-2 6.2.3: a `GTS_PDFA1` OutputIntent with an embedded ICC profile is needed
//! before device colour spaces may be used), the default CMYK profile for CMYK scans that
//! carry none ([`default_cmyk_profile`]), and the check that a scan's own profile can be its
//! image's ICCBased colour space ([`usable_profile`]).
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
    assemble(b"mntr", b"RGB ", b"XYZ ", &data, &tags)
}

/// A v2.1 profile of device `class`, data colour `space` and `pcs`: 128-byte header, tag
/// table, then the tag data elements, each on a 4-byte boundary (ICC.1 6.4); `tags` name an
/// element of `data` each, so tags may share one element.
fn assemble(
    class: &[u8; 4],
    space: &[u8; 4],
    pcs: &[u8; 4],
    data: &[&[u8]],
    tags: &[(&[u8; 4], usize)],
) -> Vec<u8> {
    let table_len = 4 + 12 * tags.len();
    let mut offsets = Vec::with_capacity(data.len());
    let mut body = Vec::new();
    let mut at = 128 + table_len;
    for d in data {
        offsets.push(at);
        body.extend_from_slice(d);
        let padded = d.len().div_ceil(4) * 4;
        body.resize(body.len() + padded - d.len(), 0);
        at += padded;
    }
    let size = at;
    let mut p = Vec::with_capacity(size);
    put32(&mut p, size as u32);
    p.extend_from_slice(b"none"); // preferred CMM: any
    put32(&mut p, 0x0210_0000); // version 2.1
    p.extend_from_slice(class);
    p.extend_from_slice(space);
    p.extend_from_slice(pcs);
    for v in [2026u16, 1, 1, 0, 0, 0] {
        put16(&mut p, v); // creation date
    }
    p.extend_from_slice(b"acsp");
    p.extend_from_slice(&[0; 4]); // primary platform: none
    put32(&mut p, 0); // flags
    p.extend_from_slice(&[0; 8]); // manufacturer, model
    p.extend_from_slice(&[0; 8]); // attributes
    put32(&mut p, 0); // rendering intent: perceptual
    for v in D50 {
        put32(&mut p, s15f16(v)); // PCS illuminant D50
    }
    p.extend_from_slice(&[0; 4]); // creator
    p.resize(128, 0); // reserved
    put32(&mut p, tags.len() as u32);
    for (sig, i) in tags {
        p.extend_from_slice(*sig);
        put32(&mut p, offsets[*i] as u32);
        put32(&mut p, data[*i].len() as u32);
    }
    p.extend_from_slice(&body);
    debug_assert_eq!(p.len(), size);
    p
}

/// Whether `profile` can be the ICCBased colour space of an image with `channels` colour
/// channels in PDF/A-2 (ISO 19005-2 6.2.4.2: a profile of ICC.1:1998-09 to ISO 15076-1, i.e.
/// major version 2 or 4, whose colour space has `/N` components): the header is whole, the
/// size field matches, the signature is `acsp`, and the data colour space is GRAY, RGB or
/// CMYK with that many channels. Anything else is not used (the image keeps its device space
/// or, for CMYK, gets the default profile), so a damaged profile cannot make a broken PDF.
pub(crate) fn usable_profile(profile: &[u8], channels: u8) -> bool {
    if profile.len() < 132 || &profile[36..40] != b"acsp" {
        return false;
    }
    let size = u32::from_be_bytes([profile[0], profile[1], profile[2], profile[3]]) as usize;
    let space_channels = match &profile[16..20] {
        b"GRAY" => 1,
        b"RGB " => 3,
        b"CMYK" => 4,
        _ => 0,
    };
    size == profile.len() && matches!(profile[8], 2 | 4) && space_channels == channels
}

/// Description of the default CMYK profile (in the PDF's ICC stream and the README).
pub(crate) const CMYK_DESCRIPTION: &str = "Naive CMYK to sRGB (resiscan default)";

/// Grid points per ink of the default CMYK profile's lookup table (9^4 = 6561 entries).
const CMYK_GRID: usize = 9;

/// The default CMYK profile for a CMYK scan that carries none (SPEC §2): an ICC v2 input
/// profile (class `scnr`, data space CMYK, PCS Lab) whose only transform, A2B0, is a
/// lut16Type table of the naive ink model — each ink removes its complementary sRGB primary,
/// black removes all three, `rgb = (1 - c)(1 - k)` — taken through the sRGB decoding curve to
/// D50 Lab. It claims no press condition; it makes the page display as a person expects from
/// the ink values, and it is ours to ship (no third-party licence). Debian's
/// icc-profiles-free ships no CMYK profile, only FOGRA measurement data; Ghostscript's
/// `default_cmyk.icc` is under the AGPL.
/// Built once per process (the table takes about a millisecond) and shared.
pub(crate) fn default_cmyk_profile() -> &'static [u8] {
    static PROFILE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PROFILE.get_or_init(build_default_cmyk_profile)
}

fn build_default_cmyk_profile() -> Vec<u8> {
    let desc = desc_tag(CMYK_DESCRIPTION);
    let cprt = text_tag("No copyright, use freely");
    let wtpt = xyz_tag(D50);
    let a2b0 = cmyk_lut();
    let data: [&[u8]; 4] = [&desc, &cprt, &wtpt, &a2b0];
    let tags: [(&[u8; 4], usize); 4] = [(b"desc", 0), (b"cprt", 1), (b"wtpt", 2), (b"A2B0", 3)];
    assemble(b"scnr", b"CMYK", b"Lab ", &data, &tags)
}

/// lut16Type (ICC.1:2001 6.5.7): 4 inputs, 3 outputs (v2 Lab encoding), identity input and
/// output curves, the CLUT sampled from [`naive_cmyk_to_lab`].
fn cmyk_lut() -> Vec<u8> {
    let mut t = b"mft2\0\0\0\0".to_vec();
    t.extend_from_slice(&[4, 3, CMYK_GRID as u8, 0]);
    for v in [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0] {
        put32(&mut t, s15f16(v)); // matrix: identity (used only with an XYZ PCS)
    }
    put16(&mut t, 2); // input table entries
    put16(&mut t, 2); // output table entries
    for _ in 0..4 {
        put16(&mut t, 0);
        put16(&mut t, 0xFFFF);
    }
    let g = CMYK_GRID;
    let step = |i: usize| i as f64 / (g - 1) as f64;
    // The first input varies slowest (ICC.1 6.5.7).
    for c in 0..g {
        for m in 0..g {
            for y in 0..g {
                for k in 0..g {
                    let [l, a, b] = naive_cmyk_to_lab([step(c), step(m), step(y), step(k)]);
                    // v2 Lab in lut16: L 0..100 -> 0..0xFF00, a/b -128..127.996 -> 0..0xFFFF.
                    put16(
                        &mut t,
                        (l / 100.0 * 65280.0).round().clamp(0.0, 65280.0) as u16,
                    );
                    for v in [a, b] {
                        put16(
                            &mut t,
                            ((v + 128.0) * 256.0).round().clamp(0.0, 65535.0) as u16,
                        );
                    }
                }
            }
        }
    }
    for _ in 0..3 {
        put16(&mut t, 0);
        put16(&mut t, 0xFFFF);
    }
    t
}

/// CIE Lab (D50) of ink amounts 0..1 under the naive model of [`default_cmyk_profile`].
pub(crate) fn naive_cmyk_to_lab(cmyk: [f64; 4]) -> [f64; 3] {
    let [c, m, y, k] = cmyk;
    let lin = |v: f64| {
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (
        lin((1.0 - c) * (1.0 - k)),
        lin((1.0 - m) * (1.0 - k)),
        lin((1.0 - y) * (1.0 - k)),
    );
    // sRGB primaries already adapted to D50 (the same columns as the sRGB profile's rXYZ..).
    let x = 0.4361 * r + 0.3851 * g + 0.1431 * b;
    let yy = 0.2225 * r + 0.7169 * g + 0.0606 * b;
    let z = 0.0139 * r + 0.0971 * g + 0.7141 * b;
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x / D50[0]), f(yy / D50[1]), f(z / D50[2]));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// The D50 PCS white (ICC.1 7.2.16), also the media white of the default CMYK profile.
const D50: [f64; 3] = [0.9642, 1.0, 0.8249];

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

    /// Converts `input` (lines of values) through `profile` to Little CMS's sRGB with
    /// transicc; `None` when transicc is not installed.
    fn transicc(profile: &[u8], input: &str) -> Option<Vec<f64>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.icc");
        std::fs::write(&path, profile).unwrap();
        let mut child = std::process::Command::new("transicc")
            .args(["-n", "-t", "1", "-i"])
            .arg(&path)
            .args(["-o", "*sRGB"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        Some(
            text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .filter_map(|t| t.parse().ok())
                .collect(),
        )
    }

    #[test]
    fn default_cmyk_profile_is_read_by_little_cms_with_paper_white_and_black_ink() {
        let p = default_cmyk_profile();
        assert!(usable_profile(p, 4));
        assert!(!usable_profile(p, 3));
        assert_eq!(&p[12..24], b"scnrCMYKLab ");
        // transicc takes CMYK in percent: paper, full black, full cyan.
        let Some(v) = transicc(p, "0 0 0 0\n0 0 0 100\n100 0 0 0\n") else {
            eprintln!("transicc (liblcms2-utils) not installed; skipped");
            return;
        };
        assert!(v.len() >= 9, "{v:?}");
        assert!(v[0..3].iter().all(|&c| c > 250.0), "paper is white: {v:?}");
        assert!(
            v[3..6].iter().all(|&c| c < 5.0),
            "black ink is black: {v:?}"
        );
        assert!(v[6] < 10.0 && v[7] > 240.0 && v[8] > 240.0, "cyan: {v:?}");
    }

    #[test]
    fn usable_profile_checks_header_size_version_and_channels() {
        let rgb = srgb_profile();
        assert!(usable_profile(&rgb, 3));
        assert!(!usable_profile(&rgb, 1), "RGB profile on a gray image");
        assert!(!usable_profile(&rgb[..rgb.len() - 1], 3), "cut off");
        assert!(!usable_profile(&rgb[..100], 3));
        let mut bad = rgb.clone();
        bad[36] = b'x';
        assert!(!usable_profile(&bad, 3), "no acsp signature");
        let mut v5 = rgb.clone();
        v5[8] = 5;
        assert!(!usable_profile(&v5, 3), "ICC v5 is not allowed in PDF/A-2");
    }
}
