//! Image files as other programs write them — libtiff's `tiffcp`/`tiffset`, libjpeg-turbo's
//! `cjpeg`, ImageMagick — through the real binary: every kind SPEC §2 names must be filed
//! with the right resolution and embedding, pixel for pixel where the PDF stores pixels, and
//! bad files must be quarantined with a reason that names file and fault.
//!
//! The pixels are checked against ImageMagick's own decoding (`convert FILE gray:-`), an
//! independent reader of the same file.

use crate::testenv;

use std::io::Read;
use std::path::{Path, PathBuf};

use testenv::{TestEnv, enforcement_letter, render_letter, repo_path};

/// Runs an outside tool with the given arguments (paths or strings) and insists that it
/// worked.
macro_rules! tool {
    ($cmd:expr $(, $arg:expr)* $(,)?) => {{
        let mut c = std::process::Command::new($cmd);
        $(c.arg(&$arg);)*
        check(c)
    }};
}

fn check(mut c: std::process::Command) {
    let name = c.get_program().to_string_lossy().into_owned();
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{name} must be installed (scripts/install-deps.sh): {e}"));
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What ImageMagick decodes from page `page` of `file`: raw samples, rows padded to bytes,
/// 16-bit samples big-endian, `map` one of "gray" or "rgb".
fn magick_pixels(file: &Path, page: usize, map: &str, depth: u8) -> Vec<u8> {
    let out = std::process::Command::new("convert")
        .arg(format!("{}[{page}]", file.display()))
        .args(["-depth", &depth.to_string(), "-endian", "MSB"])
        .arg(format!("{map}:-"))
        .output()
        .expect("ImageMagick convert");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The image XObject of every page: its dictionary and its stream bytes as stored.
fn page_images(pdf: &Path) -> Vec<(lopdf::Dictionary, Vec<u8>)> {
    let doc = lopdf::Document::load(pdf).expect("our PDF parses");
    doc.get_pages()
        .values()
        .map(|&page| {
            let page = doc.get_dictionary(page).unwrap();
            let res = page.get(b"Resources").unwrap().as_dict().unwrap();
            let xobj = res.get(b"XObject").unwrap().as_dict().unwrap();
            let id = xobj.get(b"Im0").unwrap().as_reference().unwrap();
            let s = doc.get_object(id).unwrap().as_stream().unwrap();
            (s.dict.clone(), s.content.clone())
        })
        .collect()
}

fn name(d: &lopdf::Dictionary, key: &[u8]) -> String {
    String::from_utf8_lossy(d.get(key).unwrap().as_name().unwrap()).into_owned()
}

fn inflate(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Sets the JFIF density of a JPEG that starts with a JFIF APP0 segment.
fn with_jfif_dpi(mut jpeg: Vec<u8>, dpi: u16) -> Vec<u8> {
    assert_eq!(&jpeg[6..11], b"JFIF\0", "cjpeg writes JFIF first");
    jpeg[13] = 1; // dots per inch
    jpeg[14..16].copy_from_slice(&dpi.to_be_bytes());
    jpeg[16..18].copy_from_slice(&dpi.to_be_bytes());
    jpeg
}

/// Inserts an EXIF APP1 segment after SOI with IFD0 resolution `dpi` per inch (CIPA DC-008).
fn with_exif_dpi(jpeg: &[u8], dpi: u32) -> Vec<u8> {
    let mut t = b"II*\0\x08\0\0\0".to_vec();
    t.extend_from_slice(&3u16.to_le_bytes());
    let data_at = 8 + 2 + 3 * 12 + 4u32;
    for (tag, typ, value) in [(282u16, 5u16, data_at), (283, 5, data_at + 8), (296, 3, 2)] {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&typ.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    }
    t.extend_from_slice(&[0; 4]);
    for _ in 0..2 {
        t.extend_from_slice(&dpi.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
    }
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((t.len() + 8) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&t);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Overwrites the single LONG value of `tag` in the first IFD of a little-endian TIFF
/// (tiffset refuses to touch StripOffsets).
fn set_first_ifd_long(t: &mut [u8], tag: u16, value: u32) {
    assert_eq!(&t[..2], b"II");
    let ifd = u32::from_le_bytes(t[4..8].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes([t[ifd], t[ifd + 1]]) as usize;
    let e = (0..n)
        .map(|i| ifd + 2 + 12 * i)
        .find(|&e| u16::from_le_bytes([t[e], t[e + 1]]) == tag)
        .expect("tag present");
    assert_eq!(u16::from_le_bytes([t[e + 2], t[e + 3]]), 4, "LONG");
    assert_eq!(u32::from_le_bytes(t[e + 4..e + 8].try_into().unwrap()), 1);
    t[e + 8..e + 12].copy_from_slice(&value.to_le_bytes());
}

/// The base scans: an 8-bit gray letter, the same in colour with red and blue marks (a
/// swapped channel shows), and a bilevel one, all uncompressed TIFF at 300 dpi.
struct Bases {
    gray: PathBuf,
    rgb: PathBuf,
    bw: PathBuf,
}

fn bases(env: &TestEnv, az: &str) -> Bases {
    let work = env.mkdir("work");
    let gray = work.join("gray.tif");
    // No alpha channel: ImageMagick adds one to captions, scanners do not.
    render_letter(
        &gray,
        &enforcement_letter(az),
        &["-alpha", "off", "-compress", "None"],
    );
    let rgb = work.join("rgb.tif");
    tool!(
        "convert",
        gray,
        "-type",
        "TrueColor",
        "-fill",
        "rgb(220,20,20)",
        "-draw",
        "rectangle 40,
        40 400,
        120",
        "-fill",
        "rgb(20,40,210)",
        "-draw",
        "circle 1900,
        200 1950,
        250",
        "-compress",
        "None",
        rgb
    );
    let bw = work.join("bw.tif");
    tool!(
        "convert",
        gray,
        "-monochrome",
        "-depth",
        "1",
        "-compress",
        "None",
        bw
    );
    Bases { gray, rgb, bw }
}

#[test]
fn scanner_image_kinds_written_by_other_tools_are_filed_with_their_pixels() {
    let env = TestEnv::new();
    let b = bases(&env, "VB-2026-00501");
    let batch = env.mkdir("batch");
    let at = |n: &str| batch.join(n);
    let work = env.path("work");
    let tiffcp = |args: &[&str], src: &Path, dst: &Path| {
        let mut c = std::process::Command::new("tiffcp");
        c.args(args).arg(src).arg(dst);
        check(c);
    };
    // TIFF: big-endian LZW with predictor; Deflate with predictor on 16-bit samples; RGB in
    // separate planes; tiles; palette; G4 single strip (FillOrder 1, both photometrics);
    // G4 FillOrder 2; uncompressed bilevel WhiteIsZero; a multi-page file mixing them.
    tiffcp(
        &["-B", "-c", "lzw:2"],
        &b.gray,
        &at("gray-lzw-pred2-MM.tif"),
    );
    let g16 = work.join("g16.tif");
    tool!("convert", b.gray, "-depth", "16", "-compress", "None", g16);
    tiffcp(&["-c", "zip:2"], &g16, &at("gray16-zip-pred2.tif"));
    tiffcp(
        &["-p", "separate", "-c", "lzw"],
        &b.rgb,
        &at("rgb-planar-lzw.tif"),
    );
    tiffcp(
        &["-t", "-c", "zip:2"],
        &b.rgb,
        &at("rgb-tiled-zip-pred2.tif"),
    );
    tiffcp(&["-c", "packbits"], &b.rgb, &at("rgb-packbits.tif"));
    tool!(
        "convert",
        b.rgb,
        "-colors",
        "8",
        "-type",
        "Palette",
        at("palette.tif")
    );
    tiffcp(&["-c", "g4", "-r", "100000"], &b.bw, &at("bw-g4.tif"));
    tool!(
        "convert",
        b.gray,
        "-monochrome",
        "-define",
        "quantum:polarity=min-is-black",
        "-compress",
        "Group4",
        at("bw-g4-minisblack.tif")
    );
    tiffcp(
        &["-c", "g4", "-f", "lsb2msb", "-r", "100000"],
        &b.bw,
        &at("bw-g4-fillorder2.tif"),
    );
    tiffcp(&["-c", "g4"], &b.bw, &at("bw-g4-strips.tif"));
    tiffcp(&["-c", "none"], &at("bw-g4.tif"), &at("bw-none.tif"));
    tiffcp(&[], &at("bw-g4.tif"), &work.join("p1.tif"));
    tiffcp(&["-c", "lzw:2"], &b.gray, &work.join("p2.tif"));
    tiffcp(&["-c", "zip"], &b.rgb, &work.join("p3.tif"));
    tool!(
        "tiffcp",
        work.join("p1.tif"),
        work.join("p2.tif"),
        work.join("p3.tif"),
        at("multipage.tif")
    );
    // JPEG: progressive with restart markers; RGB stored without colour transform (Adobe
    // APP14, no JFIF; resolution from EXIF); gray baseline with an upper-case extension.
    let ppm = work.join("rgb.ppm");
    tool!("convert", b.rgb, ppm);
    let pgm = work.join("gray.pgm");
    tool!("convert", b.gray, pgm);
    let cjpeg = |args: &[&str], src: &Path| {
        let tmp = work.join("cjpeg.jpg");
        let mut c = std::process::Command::new("cjpeg");
        c.args(args).arg("-outfile").arg(&tmp).arg(src);
        check(c);
        std::fs::read(&tmp).unwrap()
    };
    let jpeg = cjpeg(&["-progressive", "-restart", "1"], &ppm);
    std::fs::write(at("rgb-progressive-restart.jpg"), with_jfif_dpi(jpeg, 300)).unwrap();
    let jpeg = cjpeg(&["-rgb"], &ppm);
    std::fs::write(at("rgb-adobe-no-transform.jpg"), with_exif_dpi(&jpeg, 300)).unwrap();
    let jpeg = cjpeg(&["-grayscale", "-sample", "1x1"], &pgm);
    std::fs::write(at("SCAN.JPG"), with_jfif_dpi(jpeg, 300)).unwrap();
    // PNG: interlaced RGB (re-encoded), 16-bit gray (passed through).
    let dpi = ["-density", "300", "-units", "PixelsPerInch"];
    tool!(
        "convert",
        &b.rgb,
        dpi[0],
        dpi[1],
        dpi[2],
        dpi[3],
        "-interlace",
        "PNG",
        format!("PNG24:{}", at("rgb-adam7.png").display())
    );
    tool!(
        "convert",
        &b.gray,
        dpi[0],
        dpi[1],
        dpi[2],
        dpi[3],
        "-depth",
        "16",
        at("gray16.png")
    );

    let (code, report) = env.ingest_demo(&batch);
    assert_eq!(
        report.quarantined(),
        0,
        "{}\n{}",
        report.quarantine,
        report.stderr
    );
    assert_eq!(code, 0, "{}", report.stderr);

    // (entry, per page: PDF filter, colour map and depth for the pixel check, or None)
    type Check = (&'static str, &'static str, Option<(&'static str, u8)>);
    let expect: &[(&str, &[Check])] = &[
        (
            "gray-lzw-pred2-MM.tif",
            &[("FlateDecode", "", Some(("gray", 8)))],
        ),
        (
            "gray16-zip-pred2.tif",
            &[("FlateDecode", "", Some(("gray", 16)))],
        ),
        (
            "rgb-planar-lzw.tif",
            &[("FlateDecode", "", Some(("rgb", 8)))],
        ),
        (
            "rgb-tiled-zip-pred2.tif",
            &[("FlateDecode", "", Some(("rgb", 8)))],
        ),
        ("rgb-packbits.tif", &[("FlateDecode", "", Some(("rgb", 8)))]),
        ("palette.tif", &[("FlateDecode", "Indexed", None)]),
        ("bw-g4.tif", &[("CCITTFaxDecode", "same", None)]),
        ("bw-g4-minisblack.tif", &[("CCITTFaxDecode", "same", None)]),
        (
            "bw-g4-fillorder2.tif",
            &[("FlateDecode", "", Some(("gray", 1)))],
        ),
        (
            "bw-g4-strips.tif",
            &[("FlateDecode", "", Some(("gray", 1)))],
        ),
        ("bw-none.tif", &[("FlateDecode", "", Some(("gray", 1)))]),
        (
            "multipage.tif",
            &[
                ("CCITTFaxDecode", "same", None),
                ("FlateDecode", "", Some(("gray", 8))),
                ("FlateDecode", "", Some(("rgb", 8))),
            ],
        ),
        (
            "rgb-progressive-restart.jpg",
            &[("DCTDecode", "same", None)],
        ),
        ("rgb-adobe-no-transform.jpg", &[("DCTDecode", "same", None)]),
        ("SCAN.JPG", &[("DCTDecode", "same", None)]),
        ("rgb-adam7.png", &[("FlateDecode", "", Some(("rgb", 8)))]),
        ("gray16.png", &[("FlateDecode", "predictor", None)]),
    ];
    let store = env.path("store");
    for (entry, pages) in expect {
        let doc = report.document(entry);
        assert_eq!(doc["fate"], "filed", "{entry}: {doc}");
        for p in doc["pages"].as_array().unwrap() {
            // PNG keeps pixels per metre: 11811 is 299.9994 dpi.
            let dpi = p["dpi"].as_f64().unwrap();
            assert!((dpi - 300.0).abs() < 0.01, "{entry}: {p}");
            assert_eq!(p["rotation"], 0, "{entry}: {p}");
        }
        let pdf = store.join(doc["pdf"].as_str().unwrap());
        let source = batch.join(entry);
        let file = std::fs::read(&source).unwrap();
        let images = page_images(&pdf);
        assert_eq!(images.len(), pages.len(), "{entry}");
        for (i, ((dict, data), (filter, note, pixels))) in images.iter().zip(*pages).enumerate() {
            assert_eq!(name(dict, b"Filter"), *filter, "{entry} page {}", i + 1);
            match *note {
                // The scanner's bytes: the whole JPEG, or the one G4 strip inside the TIFF.
                "same" if *filter == "DCTDecode" => {
                    assert!(data == &file, "{entry}: JPEG re-encoded")
                }
                "same" => assert!(
                    file.windows(data.len()).any(|w| w == &data[..]),
                    "{entry} page {}: the G4 stream is not the file's strip",
                    i + 1
                ),
                "Indexed" => assert!(
                    format!("{:?}", dict.get(b"ColorSpace").unwrap()).contains("Indexed"),
                    "{entry}"
                ),
                "predictor" => assert!(dict.get(b"DecodeParms").is_ok(), "{entry}"),
                _ => {}
            }
            if let Some((map, depth)) = pixels {
                let want = magick_pixels(&source, i, map, *depth);
                let got = inflate(data);
                assert!(
                    got == want,
                    "{entry} page {}: {} bytes in the PDF, {} from ImageMagick, first difference at {:?}",
                    i + 1,
                    got.len(),
                    want.len(),
                    got.iter().zip(&want).position(|(a, b)| a != b)
                );
            }
        }
        let out = std::process::Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("pdftotext");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("VB-2026-00501"), "{entry}: {text}");
    }
    if let Some(out) =
        testenv::pdfa_check(&store.join(report.document("multipage")["pdf"].as_str().unwrap()))
    {
        assert!(out.contains(" OK\n"), "{out}");
    }
}

#[test]
fn bad_image_files_are_quarantined_naming_the_file_and_the_fault() {
    let env = TestEnv::new();
    let b = bases(&env, "VB-2026-00502");
    let batch = env.mkdir("batch");
    let work = env.path("work");
    let pgm = work.join("gray.pgm");
    tool!("convert", b.gray, pgm);
    let jpeg_file = work.join("g.jpg");
    tool!("cjpeg", "-grayscale", "-outfile", jpeg_file, pgm);
    let jpeg = with_jfif_dpi(std::fs::read(&jpeg_file).unwrap(), 300);
    std::fs::write(batch.join("cut-mid-scan.jpg"), &jpeg[..jpeg.len() * 2 / 3]).unwrap();
    // JPEG-in-TIFF is filed since issue #13, but not CMYK JPEG-in-TIFF.
    let cmyk = work.join("cmyk.tif");
    tool!(
        "convert",
        b.rgb,
        "-colorspace",
        "CMYK",
        "-compress",
        "None",
        cmyk
    );
    tool!(
        "tiffcp",
        "-c",
        "jpeg",
        "-r",
        "16",
        cmyk,
        batch.join("jpeg-in-tiff.tif")
    );
    tool!("tiffcp", "-c", "g3", b.bw, batch.join("fax-g3.tif"));
    // StripOffsets of a one-strip file pointing past its end.
    let strip = work.join("one-strip.tif");
    tool!("tiffcp", "-c", "lzw", "-r", "100000", b.gray, strip);
    let mut t = std::fs::read(&strip).unwrap();
    set_first_ifd_long(&mut t, 273, 99_999_999);
    std::fs::write(batch.join("strip-past-end.tif"), t).unwrap();
    // Two pages whose last next-IFD pointer leads back to the first.
    let two = work.join("two.tif");
    tool!("tiffcp", b.bw, b.bw, two);
    let mut t = std::fs::read(&two).unwrap();
    assert_eq!(&t[..2], b"II");
    let u32_at = |t: &[u8], i: usize| u32::from_le_bytes(t[i..i + 4].try_into().unwrap()) as usize;
    let first = u32_at(&t, 4);
    let mut ifd = first;
    loop {
        let n = u16::from_le_bytes([t[ifd], t[ifd + 1]]) as usize;
        let next_at = ifd + 2 + 12 * n;
        match u32_at(&t, next_at) {
            0 => {
                t[next_at..next_at + 4].copy_from_slice(&(first as u32).to_le_bytes());
                break;
            }
            next => ifd = next,
        }
    }
    std::fs::write(batch.join("ifd-loop.tif"), t).unwrap();
    // A PNG whose IDAT CRC is wrong, and one whose pHYs CRC is.
    let png = work.join("g.png");
    tool!(
        "convert",
        b.gray,
        "-density",
        "300",
        "-units",
        "PixelsPerInch",
        png
    );
    let png = std::fs::read(&png).unwrap();
    let crc_of = |kind: &[u8]| {
        let at = png.windows(4).position(|w| w == kind).unwrap();
        let len = u32::from_be_bytes(png[at - 4..at].try_into().unwrap()) as usize;
        at + 4 + len
    };
    let mut bad = png.clone();
    bad[crc_of(b"IDAT")] ^= 0xFF;
    std::fs::write(batch.join("idat-crc.png"), bad).unwrap();
    let mut bad = png.clone();
    bad[crc_of(b"pHYs")] ^= 0xFF;
    std::fs::write(batch.join("phys-crc.png"), bad).unwrap();
    // A PNG named .jpg is no fault: the format comes from the bytes.
    std::fs::write(batch.join("really-a-png.jpg"), &png).unwrap();
    std::fs::write(batch.join("notes.tif"), "Bitte zurückrufen.\n").unwrap();
    // (CMYK JPEGs are filed since issue #13; tests/scans.rs checks them.)
    let (code, report) = env.ingest_demo(&batch);
    assert_eq!(code, 3, "{}", report.stderr);
    assert!(!report.stderr.contains("panick"), "{}", report.stderr);
    assert_eq!(report.document("really-a-png")["fate"], "filed");
    for (entry, words) in [
        (
            "cut-mid-scan",
            &["cut-mid-scan.jpg", "JPEG", "truncated"][..],
        ),
        (
            "jpeg-in-tiff",
            &["jpeg-in-tiff.tif", "TIFF", "JPEG-compressed CMYK"],
        ),
        ("fax-g3", &["fax-g3.tif", "CCITT Group 3 fax"]),
        (
            "strip-past-end",
            &["strip-past-end.tif", "past the end of the file"],
        ),
        ("ifd-loop", &["ifd-loop.tif", "loops"]),
        ("idat-crc", &["idat-crc.png", "CRC"]),
        ("phys-crc", &["phys-crc.png", "pHYs", "CRC"]),
        ("notes", &["notes.tif", "not an image"]),
    ] {
        let reason = report.quarantine_reason(entry);
        for w in words {
            assert!(reason.contains(w), "{entry}: {reason:?} lacks {w:?}");
        }
    }
    assert_eq!(report.quarantined(), 8, "{}", report.quarantine);
}

#[test]
fn the_orientation_tag_turns_a_sideways_scan_upright() {
    let env = TestEnv::new();
    let b = bases(&env, "VB-2026-00503");
    let batch = env.mkdir("batch");
    // Stored a quarter turn anticlockwise; Orientation 6 says: turn clockwise to show.
    let sideways = batch.join("sideways.tif");
    tool!(
        "convert",
        b.gray,
        "-rotate",
        "-90",
        "-compress",
        "LZW",
        sideways
    );
    tool!("tiffset", "-s", "274", "6", sideways);
    // Orientation detection off: only the tag can turn the page.
    let profile = std::fs::read_to_string(repo_path("profiles/demo.yaml"))
        .unwrap()
        .replace(
            "  min_confidence: 60\n",
            "  min_confidence: 60\n  detect_orientation: false\n",
        );
    assert!(profile.contains("detect_orientation: false"));
    let profile = env.write("p.yaml", profile);
    let store = env.path("store");
    let (code, report) = env.ingest(&batch, &profile, &store);
    assert_eq!(code, 0, "{}\n{}", report.stderr, report.quarantine);
    let doc = report.document("sideways");
    assert_eq!(doc["pages"][0]["rotation"], 90, "{doc}");
    let pdf = store.join(doc["pdf"].as_str().unwrap());
    let pdf_doc = lopdf::Document::load(&pdf).unwrap();
    let page = pdf_doc.get_dictionary(pdf_doc.get_pages()[&1]).unwrap();
    assert_eq!(page.get(b"Rotate").unwrap().as_i64().unwrap(), 90);
    let out = std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("VB-2026-00503"));
}

/// (JPEGTables, strips) of the first page of a TIFF, read with the `tiff` crate.
fn jpeg_tables_and_strips(file: &Path) -> (Vec<u8>, Vec<Vec<u8>>) {
    use tiff::tags::Tag;
    let bytes = std::fs::read(file).unwrap();
    let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(&bytes)).unwrap();
    let tables = d.get_tag_u8_vec(Tag::JPEGTables).unwrap();
    let offsets = d.get_tag_u64_vec(Tag::StripOffsets).unwrap();
    let counts = d.get_tag_u64_vec(Tag::StripByteCounts).unwrap();
    let strips = offsets
        .iter()
        .zip(&counts)
        .map(|(&o, &n)| bytes[o as usize..(o + n) as usize].to_vec())
        .collect();
    (tables, strips)
}

/// Largest and mean absolute difference of two equally long sample buffers.
fn sample_differences(a: &[u8], b: &[u8]) -> (u8, f64) {
    assert_eq!(a.len(), b.len());
    let max = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0);
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    (max, sum as f64 / a.len().max(1) as f64)
}

#[test]
fn jpeg_compressed_and_ycbcr_tiffs_are_filed_whole_jpegs_unchanged() {
    let env = TestEnv::new();
    let b = bases(&env, "VB-2026-00504");
    let batch = env.mkdir("batch");
    let at = |n: &str| batch.join(n);
    // One strip each (rows per strip past the page): libtiff's YCbCr JPEG as production
    // scanners write it, its gray JPEG, and ImageMagick's, whose samples are RGB.
    tool!(
        "tiffcp",
        "-c",
        "jpeg",
        "-r",
        "65536",
        b.rgb,
        at("ycbcr-jpeg.tif")
    );
    tool!(
        "tiffcp",
        "-c",
        "jpeg",
        "-r",
        "65536",
        b.gray,
        at("gray-jpeg.tif")
    );
    tool!(
        "convert",
        b.rgb,
        "-define",
        "tiff:rows-per-strip=65536",
        "-compress",
        "JPEG",
        at("magick-jpeg.tif")
    );
    // ImageMagick's own strips of 128 rows.
    tool!(
        "convert",
        b.rgb,
        "-compress",
        "JPEG",
        at("magick-jpeg-strips.tif")
    );
    // Several strips and tiles: no strip is the whole page, so the pixels are re-encoded.
    tool!(
        "tiffcp",
        "-c",
        "jpeg",
        "-r",
        "512",
        b.rgb,
        at("ycbcr-jpeg-strips.tif")
    );
    tool!(
        "tiffcp",
        "-c",
        "jpeg",
        "-t",
        b.rgb,
        at("ycbcr-jpeg-tiles.tif")
    );
    // Uncompressed and LZW YCbCr.
    tool!(
        "convert",
        b.rgb,
        "-colorspace",
        "YCbCr",
        "-compress",
        "None",
        at("ycbcr-none.tif")
    );
    tool!(
        "tiffcp",
        "-c",
        "lzw",
        at("ycbcr-none.tif"),
        at("ycbcr-lzw.tif")
    );

    let (code, report) = env.ingest_demo(&batch);
    assert_eq!(
        report.quarantined(),
        0,
        "{}\n{}",
        report.quarantine,
        report.stderr
    );
    assert_eq!(code, 0, "{}", report.stderr);
    let store = env.path("store");
    let pdf_of = |entry: &str| {
        let doc = report.document(entry);
        assert_eq!(doc["fate"], "filed", "{entry}: {doc}");
        store.join(doc["pdf"].as_str().unwrap())
    };
    let work = env.mkdir("extracted");
    for (entry, whole, colours) in [
        ("ycbcr-jpeg.tif", true, "rgb"),
        ("gray-jpeg.tif", true, "gray"),
        ("magick-jpeg.tif", true, "rgb"),
        ("ycbcr-jpeg-strips.tif", false, "rgb"),
        ("magick-jpeg-strips.tif", false, "rgb"),
        ("ycbcr-jpeg-tiles.tif", false, "rgb"),
        ("ycbcr-none.tif", false, "rgb"),
        ("ycbcr-lzw.tif", false, "rgb"),
    ] {
        let pdf = pdf_of(entry);
        let source = at(entry);
        let list = std::process::Command::new("pdfimages")
            .arg("-list")
            .arg(&pdf)
            .output()
            .expect("pdfimages (poppler-utils)");
        let list = String::from_utf8_lossy(&list.stdout).into_owned();
        let row = list.lines().nth(2).unwrap_or_default().to_string();
        let fields: Vec<&str> = row.split_whitespace().collect();
        // page num type width height color comp bpc enc ...
        assert_eq!(fields.get(5), Some(&colours), "{entry}: {list}");
        let enc = if whole { "jpeg" } else { "image" };
        assert_eq!(fields.get(8), Some(&enc), "{entry}: {list}");
        let (dict, data) = page_images(&pdf).remove(0);
        if whole {
            // The scanner's coded data, unchanged: the tables, then the strip.
            let (tables, strips) = jpeg_tables_and_strips(&source);
            assert_eq!(strips.len(), 1, "{entry}");
            let mut want = tables[..tables.len() - 2].to_vec();
            want.extend_from_slice(&strips[0][2..]);
            assert!(
                data == want,
                "{entry}: the DCT stream is not tables + strip"
            );
            assert_eq!(name(&dict, b"Filter"), "DCTDecode", "{entry}");
            // ImageMagick's strip holds RGB samples (component ids R, G, B, no marker):
            // DCTDecode must be told not to treat them as YCbCr.
            let parms = format!("{:?}", dict.get(b"DecodeParms").ok());
            assert_eq!(
                parms.contains("ColorTransform"),
                entry == "magick-jpeg.tif",
                "{entry}: {parms}"
            );
        } else {
            assert_eq!(name(&dict, b"Filter"), "FlateDecode", "{entry}");
        }
        // What a PDF reader shows (poppler decodes the DCT or Flate stream) against what
        // ImageMagick reads from the TIFF: the same picture. Two JPEG decoders may differ
        // by a few levels at edges; a colour transform applied twice or not at all differs
        // by tens of levels everywhere.
        let prefix = work.join(entry);
        let out = std::process::Command::new("pdfimages")
            .arg("-png")
            .arg(&pdf)
            .arg(&prefix)
            .status()
            .unwrap();
        assert!(out.success());
        let shown = magick_pixels(&work.join(format!("{entry}-000.png")), 0, colours, 8);
        let want = magick_pixels(&source, 0, colours, 8);
        let (max, mean) = sample_differences(&shown, &want);
        eprintln!(
            "{entry}: {} ({row}), shown vs ImageMagick: max {max}, mean {mean:.3}",
            name(&dict, b"Filter")
        );
        assert!(
            mean < 0.5 && max <= 8,
            "{entry}: differs by up to {max}, mean {mean:.3}"
        );
        let text = std::process::Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("pdftotext");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("VB-2026-00504"), "{entry}: {text}");
    }
    for entry in ["ycbcr-jpeg.tif", "magick-jpeg.tif", "ycbcr-lzw.tif"] {
        if let Some(out) = testenv::pdfa_check(&pdf_of(entry)) {
            assert!(out.contains(" OK\n"), "{entry}: {out}");
        }
    }
}
