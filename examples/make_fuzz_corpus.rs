//! Regenerates the fuzzers' seed corpus under `fuzz/corpus/`, deterministically:
//!
//! ```text
//! cargo run --example make_fuzz_corpus -- fuzz/corpus
//! ```
//!
//! Valid tiny page images as outside programs write them (libtiff's `tiffcp`, libjpeg-turbo's
//! `cjpeg`, ImageMagick's `convert`: the Debian packages `scripts/install-deps.sh` installs),
//! then the damage a scan center sees: files cut short, bits flipped, and headers that lie
//! (sizes of 65535 and 2^31, strip counts past the end, IFD offsets past the end, IFD loops,
//! chunk and segment lengths past the end). For the YAML parsers: the shipped `profiles/`,
//! SPEC's `batch.yaml`, and broken variants of both.
//!
//! Each seed is a few hundred bytes; the whole corpus stays well under 1 MB. Bit flips come
//! from a fixed xorshift sequence, so the same tools write the same files.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> Result<(), String> {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: make_fuzz_corpus OUTPUT_DIR   (e.g. `fuzz/corpus`)")?;
    let work = tempdir()?;
    let result = run(&root, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn run(root: &Path, work: &Path) -> Result<(), String> {
    let mut c = Corpus::new(root)?;
    tiff_seeds(&mut c, work)?;
    png_seeds(&mut c, work)?;
    jpeg_seeds(&mut c, work)?;
    intake_seeds(&mut c)?;
    yaml_seeds(&mut c)?;
    eprintln!(
        "{} seed files, {} bytes, in {}",
        c.files,
        c.bytes,
        root.display()
    );
    Ok(())
}

/// Where the seeds go: one folder per fuzz target, emptied first so that a renamed seed
/// does not linger.
struct Corpus {
    root: PathBuf,
    files: usize,
    bytes: usize,
}

const TARGETS: &[&str] = &[
    "image_intake",
    "image_tiff",
    "image_png",
    "image_jpeg",
    "profile_parse",
    "batch_manifest",
];

impl Corpus {
    fn new(root: &Path) -> Result<Self, String> {
        for t in TARGETS {
            let dir = root.join(t);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        Ok(Corpus {
            root: root.to_path_buf(),
            files: 0,
            bytes: 0,
        })
    }

    fn put(&mut self, target: &str, name: &str, data: &[u8]) -> Result<(), String> {
        let path = self.root.join(target).join(name);
        std::fs::write(&path, data).map_err(|e| format!("{}: {e}", path.display()))?;
        self.files += 1;
        self.bytes += data.len();
        Ok(())
    }

    /// A valid file and its generic damage: cut after the header, in the middle and by one
    /// byte; three copies with a few bits flipped.
    fn put_damaged(
        &mut self,
        target: &str,
        name: &str,
        data: &[u8],
        rng: &mut Rng,
    ) -> Result<(), String> {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, "bin"));
        self.put(target, name, data)?;
        for (label, cut) in [
            ("cut-16", 16.min(data.len())),
            ("cut-half", data.len() / 2),
            ("cut-1", data.len().saturating_sub(1)),
        ] {
            self.put(target, &format!("{stem}.{label}.{ext}"), &data[..cut])?;
        }
        for i in 0..3 {
            let mut d = data.to_vec();
            for _ in 0..1 + i * 3 {
                let pos = rng.below(d.len());
                d[pos] ^= 1 << rng.below(8);
            }
            self.put(target, &format!("{stem}.flip{i}.{ext}"), &d)?;
        }
        Ok(())
    }
}

/// xorshift64: the same "random" bit flips on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn tempdir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("make_fuzz_corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

fn tool(program: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .map_err(|e| format!("{program} must be installed (scripts/install-deps.sh): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A 24x10 page with structure in both directions: text-like strokes on paper.
const W: usize = 24;
const H: usize = 10;

fn gray_pixels() -> Vec<u8> {
    (0..W * H)
        .map(|i| {
            let (x, y) = (i % W, i / W);
            if (x / 3 + y / 2) % 4 == 0 || x == 12 {
                20
            } else {
                (230 + (x + y) % 20) as u8
            }
        })
        .collect()
}

/// Writes the base images as PGM and PPM, which every tool reads.
fn base_images(work: &Path) -> Result<(PathBuf, PathBuf), String> {
    let gray = gray_pixels();
    let mut pgm = format!("P5\n{W} {H}\n255\n").into_bytes();
    pgm.extend_from_slice(&gray);
    let mut ppm = format!("P6\n{W} {H}\n255\n").into_bytes();
    for (i, &g) in gray.iter().enumerate() {
        let x = i % W;
        ppm.extend_from_slice(&[
            g,
            if x < 8 { g / 2 } else { g },
            if x > 16 { 255 - g } else { g },
        ]);
    }
    let (pgm_path, ppm_path) = (work.join("page.pgm"), work.join("page.ppm"));
    std::fs::write(&pgm_path, pgm).map_err(|e| e.to_string())?;
    std::fs::write(&ppm_path, ppm).map_err(|e| e.to_string())?;
    Ok((pgm_path, ppm_path))
}

fn tiff_seeds(c: &mut Corpus, work: &Path) -> Result<(), String> {
    let (pgm, ppm) = base_images(work)?;
    let at = |n: &str| work.join(n);
    let im = |src: &Path, extra: &[&str], dst: &Path| -> Result<(), String> {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"-strip", &src];
        for a in extra {
            args.push(a);
        }
        args.push(&dst);
        tool("convert", &args)
    };
    im(
        &pgm,
        &[
            "-density",
            "300",
            "-units",
            "PixelsPerInch",
            "-compress",
            "None",
        ],
        &at("gray.tif"),
    )?;
    im(
        &ppm,
        &[
            "-density",
            "300",
            "-units",
            "PixelsPerInch",
            "-compress",
            "None",
        ],
        &at("rgb.tif"),
    )?;
    im(
        &pgm,
        &[
            "-monochrome",
            "-type",
            "Bilevel",
            "-depth",
            "1",
            "-compress",
            "None",
        ],
        &at("bw.tif"),
    )?;
    im(
        &pgm,
        &["-depth", "16", "-compress", "None"],
        &at("gray16.tif"),
    )?;
    im(
        &ppm,
        &["-colors", "4", "-type", "Palette", "-compress", "None"],
        &at("palette.tif"),
    )?;
    im(
        &ppm,
        &["-alpha", "set", "-compress", "None"],
        &at("rgba.tif"),
    )?;
    im(
        &ppm,
        &["-colorspace", "CMYK", "-compress", "None"],
        &at("cmyk.tif"),
    )?;
    im(
        &pgm,
        &[
            "-monochrome",
            "-define",
            "quantum:polarity=min-is-black",
            "-compress",
            "Group4",
        ],
        &at("bw-g4-minisblack.tif"),
    )?;

    let tiffcp = |args: &[&str], srcs: &[PathBuf], dst: &str| -> Result<Vec<u8>, String> {
        let mut a: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|s| s as _).collect();
        for s in srcs {
            a.push(s);
        }
        let out = at(dst);
        a.push(&out);
        tool("tiffcp", &a)?;
        read(&out)
    };
    let g = vec![at("gray.tif")];
    let rgb = vec![at("rgb.tif")];
    let bw = vec![at("bw.tif")];
    let mut valid: Vec<(&str, Vec<u8>)> = vec![
        (
            "gray-none-II.tif",
            tiffcp(&["-L", "-c", "none"], &g, "a.tif")?,
        ),
        (
            "gray-none-MM.tif",
            tiffcp(&["-B", "-c", "none", "-r", "3"], &g, "b.tif")?,
        ),
        (
            "gray-packbits.tif",
            tiffcp(&["-c", "packbits"], &g, "c.tif")?,
        ),
        (
            "gray-lzw-pred2-MM.tif",
            tiffcp(&["-B", "-c", "lzw:2"], &g, "d.tif")?,
        ),
        (
            "gray-zip.tif",
            tiffcp(&["-c", "zip", "-r", "4"], &g, "e.tif")?,
        ),
        (
            "gray16-zip-pred2.tif",
            tiffcp(&["-c", "zip:2"], &[at("gray16.tif")], "f.tif")?,
        ),
        (
            "rgb-tiled-zip-pred2.tif",
            tiffcp(
                &["-t", "-w", "16", "-l", "16", "-c", "zip:2"],
                &rgb,
                "g.tif",
            )?,
        ),
        (
            "rgb-planar-lzw.tif",
            tiffcp(&["-p", "separate", "-c", "lzw"], &rgb, "h.tif")?,
        ),
        (
            "rgb-tiled-planar-MM.tif",
            tiffcp(
                &["-B", "-t", "-w", "16", "-l", "16", "-p", "separate"],
                &rgb,
                "i.tif",
            )?,
        ),
        (
            "rgba-lzw.tif",
            tiffcp(&["-c", "lzw"], &[at("rgba.tif")], "j.tif")?,
        ),
        (
            "cmyk-packbits.tif",
            tiffcp(&["-c", "packbits"], &[at("cmyk.tif")], "k.tif")?,
        ),
        (
            "palette-lzw.tif",
            tiffcp(&["-c", "lzw"], &[at("palette.tif")], "l.tif")?,
        ),
        ("bw-none.tif", tiffcp(&["-c", "none"], &bw, "m.tif")?),
        (
            "bw-g4.tif",
            tiffcp(&["-c", "g4", "-r", "100000"], &bw, "n.tif")?,
        ),
        (
            "bw-g4-strips-MM.tif",
            tiffcp(&["-B", "-c", "g4", "-r", "4"], &bw, "o.tif")?,
        ),
        (
            "bw-g4-fillorder2.tif",
            tiffcp(&["-c", "g4", "-f", "lsb2msb", "-r", "100000"], &bw, "p.tif")?,
        ),
        (
            "bw-g4-tiled.tif",
            tiffcp(&["-t", "-w", "16", "-l", "16", "-c", "g4"], &bw, "q.tif")?,
        ),
        ("bw-g4-minisblack.tif", read(&at("bw-g4-minisblack.tif"))?),
        (
            "multipage.tif",
            tiffcp(
                &["-c", "lzw"],
                &[at("n.tif"), at("d.tif"), at("g.tif")],
                "r.tif",
            )?,
        ),
    ];
    // A page and its reduced-resolution preview (NewSubfileType 1), as capture programs write.
    let mut preview = valid[0].1.clone();
    if let Some(t) = Tiff::read(&preview) {
        preview = t.with_preview_ifd(&preview);
    }
    valid.push(("gray-with-preview-ifd.tif", preview));
    // JPEG-in-TIFF in one strip (YCbCr, as libtiff writes it) and in two tiles, and
    // uncompressed YCbCr (issue #13). Appended last, so the seeds above stay as they were.
    valid.push((
        "rgb-jpeg-ycbcr.tif",
        tiffcp(&["-c", "jpeg", "-r", "65536"], &rgb, "s.tif")?,
    ));
    valid.push((
        "rgb-jpeg-tiled.tif",
        tiffcp(&["-c", "jpeg", "-t", "-w", "16", "-l", "16"], &rgb, "t.tif")?,
    ));
    im(
        &ppm,
        &["-colorspace", "YCbCr", "-compress", "None"],
        &at("ycbcr.tif"),
    )?;
    valid.push(("ycbcr-none.tif", read(&at("ycbcr.tif"))?));

    let mut rng = Rng(0x5EED_7146);
    for (name, data) in &valid {
        c.put_damaged("image_tiff", name, data, &mut rng)?;
    }
    // Lying headers, on one file of each layout.
    for (name, data) in valid.iter().filter(|(n, _)| {
        matches!(
            *n,
            "gray-none-II.tif"
                | "gray-lzw-pred2-MM.tif"
                | "rgb-tiled-zip-pred2.tif"
                | "rgb-planar-lzw.tif"
                | "bw-g4.tif"
                | "multipage.tif"
        )
    }) {
        let stem = name.trim_end_matches(".tif");
        let Some(t) = Tiff::read(data) else {
            return Err(format!("{name}: generator cannot read its own TIFF"));
        };
        let mut lies: Vec<(&str, Vec<u8>)> = vec![
            ("width-65535", t.set(data, 256, 65535)),
            ("size-2e31", t.set(&t.set(data, 256, 1 << 31), 257, 1 << 31)),
            ("width-max", t.set(data, 256, u32::MAX)),
            ("size-2000x2000", t.set(&t.set(data, 256, 2000), 257, 2000)),
            ("height-0", t.set(data, 257, 0)),
            ("rows-per-strip-1", t.set(data, 278, 1)),
            ("rows-per-strip-0", t.set(data, 278, 0)),
            ("bits-32", t.set(data, 258, 32)),
            ("samples-65535", t.set(data, 277, 65535)),
        ];
        for tag in [273u16, 324] {
            lies.push(("offsets-past-end", t.set(data, tag, 0xFFFF_FF00)));
            lies.push(("offsets-count-huge", t.set_count(data, tag, 0x4000_0000)));
        }
        for tag in [279u16, 325] {
            lies.push(("counts-huge", t.set(data, tag, u32::MAX)));
            lies.push(("counts-count-huge", t.set_count(data, tag, 0x4000_0000)));
        }
        lies.push((
            "tiles-65536",
            t.set(&t.set(data, 322, 1 << 16), 323, 1 << 16),
        ));
        lies.push(("ifd-past-end", t.set_first_ifd(data, 0xFFFF_FFF0)));
        lies.push(("ifd-loop", t.ifd_loop(data)));
        lies.push(("ifd-self-loop", t.ifd_self_loop(data)));
        lies.push(("ifd-entries-65535", t.set_entry_count(data, 0xFFFF)));
        lies.push(("tag-type-99", t.set_type(data, 256, 99)));
        let mut seen = std::collections::HashSet::new();
        for (label, lie) in lies {
            if lie != *data && seen.insert(lie.clone()) {
                c.put("image_tiff", &format!("{stem}.{label}.tif"), &lie)?;
            }
        }
    }
    Ok(())
}

/// Just enough of a TIFF reader to patch the first IFD's entries in place.
#[derive(Clone)]
struct Tiff {
    le: bool,
    first_ifd: usize,
    /// (tag, entry offset) of the first IFD.
    entries: Vec<(u16, usize)>,
    /// Offset of the first IFD's next-IFD pointer.
    next_ptr: usize,
}

impl Tiff {
    fn u16(&self, b: &[u8], at: usize) -> u16 {
        let a = [b[at], b[at + 1]];
        if self.le {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        }
    }
    fn p16(&self, v: u16) -> [u8; 2] {
        if self.le {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    }
    fn p32(&self, v: u32) -> [u8; 4] {
        if self.le {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    }

    fn read(b: &[u8]) -> Option<Tiff> {
        let le = b.starts_with(b"II");
        let mut t = Tiff {
            le,
            first_ifd: 0,
            entries: Vec::new(),
            next_ptr: 0,
        };
        let off = b.get(4..8)?;
        let off = if le {
            u32::from_le_bytes(off.try_into().ok()?)
        } else {
            u32::from_be_bytes(off.try_into().ok()?)
        } as usize;
        t.first_ifd = off;
        let n = usize::from(t.u16(b, off));
        for i in 0..n {
            let e = off + 2 + 12 * i;
            t.entries.push((t.u16(b, e), e));
        }
        t.next_ptr = off + 2 + 12 * n;
        Some(t)
    }

    fn entry(&self, tag: u16) -> Option<usize> {
        self.entries
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|&(_, e)| e)
    }

    /// The tag made a single LONG with value `v` (its old out-of-line values are left).
    fn set(&self, b: &[u8], tag: u16, v: u32) -> Vec<u8> {
        let mut out = b.to_vec();
        if let Some(e) = self.entry(tag) {
            out[e + 2..e + 4].copy_from_slice(&self.p16(4));
            out[e + 4..e + 8].copy_from_slice(&self.p32(1));
            out[e + 8..e + 12].copy_from_slice(&self.p32(v));
        }
        out
    }

    fn set_count(&self, b: &[u8], tag: u16, n: u32) -> Vec<u8> {
        let mut out = b.to_vec();
        if let Some(e) = self.entry(tag) {
            out[e + 4..e + 8].copy_from_slice(&self.p32(n));
        }
        out
    }

    fn set_type(&self, b: &[u8], tag: u16, typ: u16) -> Vec<u8> {
        let mut out = b.to_vec();
        if let Some(e) = self.entry(tag) {
            out[e + 2..e + 4].copy_from_slice(&self.p16(typ));
        }
        out
    }

    fn set_first_ifd(&self, b: &[u8], off: u32) -> Vec<u8> {
        let mut out = b.to_vec();
        out[4..8].copy_from_slice(&self.p32(off));
        out
    }

    fn set_entry_count(&self, b: &[u8], n: u16) -> Vec<u8> {
        let mut out = b.to_vec();
        out[self.first_ifd..self.first_ifd + 2].copy_from_slice(&self.p16(n));
        out
    }

    /// The last IFD of the chain points back to the first.
    fn ifd_loop(&self, b: &[u8]) -> Vec<u8> {
        let mut out = b.to_vec();
        let mut t = self.clone();
        loop {
            let next = u32::from_le_bytes(self.p32_read(&out, t.next_ptr)) as usize;
            if next == 0 || next + 2 > out.len() {
                break;
            }
            let n = usize::from(t.u16(&out, next));
            t.next_ptr = next + 2 + 12 * n;
        }
        let first = self.p32(self.first_ifd as u32);
        out[t.next_ptr..t.next_ptr + 4].copy_from_slice(&first);
        out
    }

    /// The first IFD's next pointer is itself.
    fn ifd_self_loop(&self, b: &[u8]) -> Vec<u8> {
        let mut out = b.to_vec();
        out[self.next_ptr..self.next_ptr + 4].copy_from_slice(&self.p32(self.first_ifd as u32));
        out
    }

    /// The 4 bytes at `at` as a little-endian-ordered array of the value (for reading back).
    fn p32_read(&self, b: &[u8], at: usize) -> [u8; 4] {
        let a: [u8; 4] = b[at..at + 4].try_into().unwrap_or([0; 4]);
        if self.le {
            a
        } else {
            u32::from_be_bytes(a).to_le_bytes()
        }
    }

    /// Appends a copy of the first IFD marked NewSubfileType 1 (a preview) and chains it in
    /// after the first.
    fn with_preview_ifd(&self, b: &[u8]) -> Vec<u8> {
        let mut out = b.to_vec();
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let at = out.len();
        let mut entries: Vec<[u8; 12]> = self
            .entries
            .iter()
            .map(|&(_, e)| b[e..e + 12].try_into().unwrap_or([0; 12]))
            .filter(|e| self.u16(e, 0) != 254)
            .collect();
        let mut sub = [0u8; 12];
        sub[..2].copy_from_slice(&self.p16(254));
        sub[2..4].copy_from_slice(&self.p16(4));
        sub[4..8].copy_from_slice(&self.p32(1));
        sub[8..12].copy_from_slice(&self.p32(1));
        entries.insert(0, sub);
        out.extend_from_slice(&self.p16(entries.len() as u16));
        for e in &entries {
            out.extend_from_slice(e);
        }
        out.extend_from_slice(&[0; 4]);
        out[self.next_ptr..self.next_ptr + 4].copy_from_slice(&self.p32(at as u32));
        out
    }
}

fn png_seeds(c: &mut Corpus, work: &Path) -> Result<(), String> {
    let (pgm, ppm) = base_images(work)?;
    let im = |src: &Path, extra: &[&str], name: &str| -> Result<Vec<u8>, String> {
        let dst = work.join(name);
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&"-strip", &"-define", &"png:exclude-chunks=date,time", &src];
        for a in extra {
            args.push(a);
        }
        args.push(&dst);
        tool("convert", &args)?;
        read(&dst)
    };
    let dens: &[&str] = &["-density", "300", "-units", "PixelsPerInch"];
    let with = |a: &[&'static str]| [dens, a].concat();
    let valid: Vec<(&str, Vec<u8>)> = vec![
        (
            "gray8-300dpi.png",
            im(&pgm, &with(&["-define", "png:color-type=0"]), "a.png")?,
        ),
        (
            "gray1.png",
            im(
                &pgm,
                &["-monochrome", "-define", "png:bit-depth=1"],
                "b.png",
            )?,
        ),
        (
            "gray4.png",
            im(
                &pgm,
                &[
                    "-depth",
                    "4",
                    "-define",
                    "png:color-type=0",
                    "-define",
                    "png:bit-depth=4",
                ],
                "c.png",
            )?,
        ),
        (
            "gray16.png",
            im(
                &pgm,
                &["-depth", "16", "-define", "png:color-type=0"],
                "d.png",
            )?,
        ),
        (
            "rgb8.png",
            im(&ppm, &with(&["-define", "png:color-type=2"]), "e.png")?,
        ),
        (
            "rgb16.png",
            im(
                &ppm,
                &["-depth", "16", "-define", "png:color-type=2"],
                "f.png",
            )?,
        ),
        (
            "palette.png",
            im(
                &ppm,
                &[
                    "-colors",
                    "6",
                    "-type",
                    "Palette",
                    "-define",
                    "png:color-type=3",
                ],
                "g.png",
            )?,
        ),
        (
            "rgba.png",
            im(
                &ppm,
                &[
                    "-alpha",
                    "set",
                    "-channel",
                    "A",
                    "-evaluate",
                    "set",
                    "60%",
                    "+channel",
                    "-define",
                    "png:color-type=6",
                ],
                "h.png",
            )?,
        ),
        (
            "gray-alpha.png",
            im(
                &pgm,
                &["-alpha", "set", "-define", "png:color-type=4"],
                "i.png",
            )?,
        ),
        (
            "gray8-interlaced.png",
            im(
                &pgm,
                &["-interlace", "PNG", "-define", "png:color-type=0"],
                "j.png",
            )?,
        ),
        (
            "rgb8-interlaced.png",
            im(
                &ppm,
                &["-interlace", "PNG", "-define", "png:color-type=2"],
                "k.png",
            )?,
        ),
    ];
    let mut rng = Rng(0x5EED_0960);
    for (name, data) in &valid {
        c.put_damaged("image_png", name, data, &mut rng)?;
    }
    // Lying headers. IHDR is the first chunk (bytes 8..33); its CRC is fixed so the lie
    // reaches past the CRC check.
    for (name, data) in valid.iter().filter(|(n, _)| {
        matches!(
            *n,
            "gray8-300dpi.png" | "rgb8-interlaced.png" | "palette.png" | "rgba.png"
        )
    }) {
        let stem = name.trim_end_matches(".png");
        let ihdr = |w: u32, h: u32, depth: Option<u8>, color: Option<u8>| {
            let mut d = data.clone();
            d[16..20].copy_from_slice(&w.to_be_bytes());
            d[20..24].copy_from_slice(&h.to_be_bytes());
            if let Some(b) = depth {
                d[24] = b;
            }
            if let Some(t) = color {
                d[25] = t;
            }
            fix_crc(&mut d, 8);
            d
        };
        let lies: Vec<(&str, Vec<u8>)> = vec![
            ("width-65535", ihdr(65535, 10, None, None)),
            ("size-2e31", ihdr(1 << 31, 1 << 31, None, None)),
            ("size-max", ihdr(u32::MAX, u32::MAX, None, None)),
            ("size-2000x2000", ihdr(2000, 2000, None, None)),
            ("width-0", ihdr(0, 10, None, None)),
            (
                "depth-16-palette",
                ihdr(W as u32, H as u32, Some(16), Some(3)),
            ),
            ("color-type-7", ihdr(W as u32, H as u32, None, Some(7))),
            ("ihdr-crc-wrong", {
                let mut d = data.clone();
                d[29] ^= 0xFF;
                d
            }),
            ("ihdr-length-huge", {
                let mut d = data.clone();
                d[8..12].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
                d
            }),
            (
                "chunk-length-past-end",
                chunk_length(data, b"IDAT", 0x7FFF_FFFF),
            ),
            ("idat-empty", chunk_length(data, b"IDAT", 0)),
            ("no-iend", data[..data.len() - 12].to_vec()),
        ];
        for (label, lie) in lies {
            if lie != *data {
                c.put("image_png", &format!("{stem}.{label}.png"), &lie)?;
            }
        }
    }
    // A small file that inflates to the pixel limit: 2000x2000 gray zeros is 4 Mpx, 4 MB of
    // rows from a few KB of zlib, the budget fuzz targets allow.
    let (w, h) = (2000u32, 2000u32);
    let rows = vec![0u8; (w as usize + 1) * h as usize];
    let mut zip = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut zip, &rows).map_err(|e| e.to_string())?;
    let idat = zip.finish().map_err(|e| e.to_string())?;
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut bomb, b"IHDR", &ihdr);
    chunk(&mut bomb, b"IDAT", &idat);
    chunk(&mut bomb, b"IEND", &[]);
    c.put("image_png", "gray8-2000x2000-zeros-at-the-limit.png", &bomb)?;
    Ok(())
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// Recomputes the CRC of the chunk whose length field is at `at`.
fn fix_crc(d: &mut [u8], at: usize) {
    let len = u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]) as usize;
    let mut crc = flate2::Crc::new();
    crc.update(&d[at + 4..at + 8 + len]);
    d[at + 8 + len..at + 12 + len].copy_from_slice(&crc.sum().to_be_bytes());
}

/// The first chunk of `kind` with its length field set to `len` (the data left as it was).
fn chunk_length(data: &[u8], kind: &[u8; 4], len: u32) -> Vec<u8> {
    let mut d = data.to_vec();
    let mut pos = 8;
    while pos + 8 <= d.len() {
        let n = u32::from_be_bytes([d[pos], d[pos + 1], d[pos + 2], d[pos + 3]]) as usize;
        if &d[pos + 4..pos + 8] == kind {
            d[pos..pos + 4].copy_from_slice(&len.to_be_bytes());
            break;
        }
        pos += 12 + n;
    }
    d
}

fn jpeg_seeds(c: &mut Corpus, work: &Path) -> Result<(), String> {
    let (pgm, ppm) = base_images(work)?;
    let cjpeg = |args: &[&str], src: &Path, name: &str| -> Result<Vec<u8>, String> {
        let dst = work.join(name);
        let mut a: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|s| s as _).collect();
        a.push(&"-outfile");
        a.push(&dst);
        a.push(&src);
        tool("cjpeg", &a)?;
        read(&dst)
    };
    let mut valid: Vec<(&str, Vec<u8>)> = vec![
        (
            "rgb-baseline.jpg",
            cjpeg(&["-quality", "80"], &ppm, "a.jpg")?,
        ),
        (
            "rgb-progressive.jpg",
            cjpeg(&["-progressive"], &ppm, "b.jpg")?,
        ),
        ("gray-baseline.jpg", cjpeg(&["-grayscale"], &pgm, "c.jpg")?),
        (
            "gray-progressive-restart.jpg",
            cjpeg(&["-progressive", "-restart", "1"], &pgm, "d.jpg")?,
        ),
        ("rgb-no-transform.jpg", cjpeg(&["-rgb"], &ppm, "e.jpg")?),
        (
            "rgb-444-optimized.jpg",
            cjpeg(&["-sample", "1x1", "-optimize"], &ppm, "f.jpg")?,
        ),
        (
            "rgb-arithmetic.jpg",
            cjpeg(&["-arithmetic"], &ppm, "g.jpg").unwrap_or_default(),
        ),
    ];
    valid.retain(|(_, d)| !d.is_empty());
    // CMYK, as prepress software writes it (Adobe APP14).
    let cmyk = work.join("cmyk.jpg");
    tool(
        "convert",
        &[&"-strip", &ppm, &"-colorspace", &"CMYK", &cmyk],
    )?;
    valid.push(("cmyk.jpg", read(&cmyk)?));
    // EXIF with resolution and Orientation 6, as cameras and phone apps write.
    let exif = with_exif(&valid[2].1);
    valid.push(("gray-exif-orientation6.jpg", exif));

    let mut rng = Rng(0x5EED_0FD8);
    for (name, data) in &valid {
        c.put_damaged("image_jpeg", name, data, &mut rng)?;
    }
    for (name, data) in valid.iter().filter(|(n, _)| {
        matches!(
            *n,
            "rgb-baseline.jpg" | "gray-progressive-restart.jpg" | "cmyk.jpg"
        )
    }) {
        let stem = name.trim_end_matches(".jpg");
        let Some(sof) = find_marker(data, |m| matches!(m, 0xC0..=0xC2)) else {
            return Err(format!("{name}: no SOF"));
        };
        let sof_set = |f: &dyn Fn(&mut [u8])| {
            let mut d = data.clone();
            f(&mut d[sof + 4..]);
            d
        };
        let lies: Vec<(&str, Vec<u8>)> = vec![
            (
                "size-65535",
                sof_set(&|s| s[1..5].copy_from_slice(&[0xFF; 4])),
            ),
            (
                "size-2000x2000",
                sof_set(&|s| {
                    s[1..3].copy_from_slice(&2000u16.to_be_bytes());
                    s[3..5].copy_from_slice(&2000u16.to_be_bytes());
                }),
            ),
            ("width-0", sof_set(&|s| s[3..5].copy_from_slice(&[0, 0]))),
            (
                "height-0-dnl",
                sof_set(&|s| s[1..3].copy_from_slice(&[0, 0])),
            ),
            ("precision-12", sof_set(&|s| s[0] = 12)),
            ("components-255", sof_set(&|s| s[5] = 255)),
            ("sampling-0", sof_set(&|s| s[7] = 0)),
            ("sampling-ff", sof_set(&|s| s[7] = 0xFF)),
            ("sof-length-past-end", {
                let mut d = data.clone();
                d[sof + 2..sof + 4].copy_from_slice(&[0xFF, 0xFF]);
                d
            }),
            ("sof-length-1", {
                let mut d = data.clone();
                d[sof + 2..sof + 4].copy_from_slice(&[0, 1]);
                d
            }),
            ("no-eoi", data[..data.len() - 2].to_vec()),
            ("fill-bytes", {
                let mut d = data[..2].to_vec();
                d.extend(std::iter::repeat_n(0xFF, 600));
                d.extend_from_slice(&data[2..]);
                d
            }),
            ("sos-only", {
                let mut d = vec![0xFF, 0xD8];
                if let Some(sos) = find_marker(data, |m| m == 0xDA) {
                    d.extend_from_slice(&data[sos..]);
                }
                d
            }),
        ];
        for (label, lie) in lies {
            if lie != *data {
                c.put("image_jpeg", &format!("{stem}.{label}.jpg"), &lie)?;
            }
        }
    }
    Ok(())
}

/// Offset of the first marker segment (its 0xFF) whose marker byte passes `want`, walking the
/// segments before the scan.
fn find_marker(d: &[u8], want: impl Fn(u8) -> bool) -> Option<usize> {
    let mut pos = 2;
    while pos + 4 <= d.len() {
        if d[pos] != 0xFF {
            return None;
        }
        let m = d[pos + 1];
        if want(m) {
            return Some(pos);
        }
        if m == 0xDA {
            return None;
        }
        pos += 2 + usize::from(u16::from_be_bytes([d[pos + 2], d[pos + 3]]));
    }
    None
}

/// Inserts an APP1 EXIF block (IFD0: Orientation 6, 300 dpi) after SOI.
fn with_exif(jpeg: &[u8]) -> Vec<u8> {
    let entries: [(u16, u16, u32); 4] = [
        (274, 3, 6 << 16),
        (282, 5, 62),
        (283, 5, 70),
        (296, 3, 2 << 16),
    ];
    let mut t = b"MM\0*\0\0\0\x08".to_vec();
    t.extend_from_slice(&(entries.len() as u16).to_be_bytes());
    for (tag, typ, val) in entries {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&typ.to_be_bytes());
        t.extend_from_slice(&1u32.to_be_bytes());
        t.extend_from_slice(&val.to_be_bytes());
    }
    t.extend_from_slice(&[0; 4]);
    for _ in 0..2 {
        t.extend_from_slice(&300u32.to_be_bytes());
        t.extend_from_slice(&1u32.to_be_bytes());
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&t);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// What reaches the format detection: nothing, text, other formats, signatures alone.
fn intake_seeds(c: &mut Corpus) -> Result<(), String> {
    let seeds: &[(&str, &[u8])] = &[
        ("one-byte.bin", b"\0"),
        ("letter-named-png.txt", b"Sehr geehrte Damen und Herren,\n"),
        (
            "pdf-header.pdf",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        ),
        ("bigtiff-header.tif", b"II+\0\x08\0\0\0\x10\0\0\0\0\0\0\0"),
        ("tiff-magic-only-II.tif", b"II*\0"),
        ("tiff-magic-only-MM.tif", b"MM\0*"),
        ("png-signature-only.png", b"\x89PNG\r\n\x1a\n"),
        ("jpeg-soi-only.jpg", b"\xFF\xD8\xFF"),
        ("jpeg-soi-eoi.jpg", b"\xFF\xD8\xFF\xD9"),
        ("gif-header.gif", b"GIF89a\x01\0\x01\0\0\0\0;"),
        (
            "webp-header.webp",
            b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0/\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0",
        ),
    ];
    for (name, data) in seeds {
        c.put("image_intake", name, data)?;
    }
    Ok(())
}

/// Bytes that mean something to a YAML parser, for the damaged copies.
const YAML_PUNCTUATION: &[u8] = b"{}[]:,-&*!|>'\"%@`#? \n\t";

const SPEC_BATCH_YAML: &str = r#"id: 2026-11-24-poststelle-03          # default: the folder name
operator: "ps-0417"                  # pseudonym of the responsible person (TR A.NB.4 a)
station: "Scanplatz 3, Lecos ScanCenter"
scanner: {make: "Fujitsu", model: "fi-7600", serial: "A12B345"}
scanned_at: 2026-11-24T16:02:11+01:00
expected: {documents: 24}             # completeness check (TR A.NB.3)
anomalies: {"0007": "Original bereits Kopie", "0012": "Seite 2 eingerissen"}
"#;

fn yaml_seeds(c: &mut Corpus) -> Result<(), String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut profiles = Vec::new();
    for name in [
        "demo.yaml",
        "stadtkasse-vollstreckung.yaml",
        "vhs-kursanmeldung.yaml",
    ] {
        profiles.push((name, read(&repo.join("profiles").join(name))?));
    }
    // Structures YAML parsers have choked on elsewhere: deep nesting, alias expansion,
    // odd scalars and encodings, several documents.
    let deep_seq = format!("{}{}", "[".repeat(1500), "]".repeat(1500));
    let deep_map = format!("a: {}1{}", "{b: ".repeat(800), "}".repeat(800));
    let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n\
                  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n\
                  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n\
                  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n\
                  h: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    let common: Vec<(&str, Vec<u8>)> = vec![
        ("empty.yaml", Vec::new()),
        ("bom-only.yaml", "\u{feff}".into()),
        ("null.yaml", b"~\n".to_vec()),
        ("list-at-top.yaml", b"- a\n- b\n".to_vec()),
        ("scalar-at-top.yaml", b"just text\n".to_vec()),
        ("deep-sequence.yaml", deep_seq.into_bytes()),
        ("deep-mapping.yaml", deep_map.into_bytes()),
        ("alias-bomb.yaml", laughs.as_bytes().to_vec()),
        ("alias-undefined.yaml", b"name: *nowhere\n".to_vec()),
        ("two-documents.yaml", b"name: a\n---\nname: b\n".to_vec()),
        ("tab-indent.yaml", b"scan:\n\tmin_dpi: 300\n".to_vec()),
        ("latin1.yaml", b"organisation: Stadt M\xfcnchen\n".to_vec()),
        ("nul-byte.yaml", b"name: a\0b\n".to_vec()),
        ("binary-tag.yaml", b"name: !!binary aGVsbG8=\n".to_vec()),
        ("custom-tag.yaml", b"name: !x {a: 1}\n".to_vec()),
        ("complex-key.yaml", b"? [a, b]\n: c\n".to_vec()),
        (
            "merge-key.yaml",
            b"base: &b {min_dpi: 300}\nscan:\n  <<: *b\n".to_vec(),
        ),
        ("unterminated-quote.yaml", b"name: \"abc\n".to_vec()),
        ("unterminated-flow.yaml", b"scan: {min_dpi: 300\n".to_vec()),
        (
            "long-number.yaml",
            format!("version: {}\n", "9".repeat(400)).into_bytes(),
        ),
    ];
    for (name, data) in &common {
        c.put("profile_parse", name, data)?;
        c.put("batch_manifest", name, data)?;
    }
    let mut rng = Rng(0x5EED_4A11);
    for (name, text) in &profiles {
        c.put("profile_parse", name, text)?;
        let stem = name.trim_end_matches(".yaml");
        let s = String::from_utf8_lossy(text).into_owned();
        let variants: Vec<(&str, String)> = vec![
            ("cut-half", first_half(&s)),
            ("crlf-bom", format!("\u{feff}{}", s.replace('\n', "\r\n"))),
            (
                "min-dpi-huge",
                s.replace("min_dpi: 300", "min_dpi: 18446744073709551616"),
            ),
            (
                "min-dpi-negative",
                s.replace("min_dpi: 300", "min_dpi: -300"),
            ),
            ("min-dpi-nan", s.replace("min_dpi: 300", "min_dpi: .nan")),
            (
                "confidence-inf",
                s.replace("min_confidence: 60", "min_confidence: .inf"),
            ),
            ("version-float", s.replace("version: ", "version: 1e308 #")),
            (
                "regex-nested-repeats",
                format!(
                    "{s}\n# appended\nefiles:\n  - id: x\n    match: {{regex: ['((((a{{100}}){{100}}){{100}}){{100}})']}}\n    fields: {{f: '((\\w{{50}}){{50}})'}}\n    path: x\n"
                ),
            ),
            (
                "regex-huge-class",
                "efiles:\n  - id: x\n    match: {all: [a], regex: ['[\\p{L}\\p{N}]{1000}']}\n    fields: {f: '(\\p{L}{1,1000})'}\n    path: \"{f}/{f}/{f}\"\n"
                    .to_string(),
            ),
            (
                "path-template-odd",
                s.replace("path: ", "path: \"../{year}/{{}}/{nope}/\\u0000/\" #"),
            ),
            ("duplicate-key", format!("{s}name: again\n")),
        ];
        for (label, v) in variants {
            if v != s {
                c.put(
                    "profile_parse",
                    &format!("{stem}.{label}.yaml"),
                    v.as_bytes(),
                )?;
            }
        }
        for i in 0..3 {
            let mut d = text.clone();
            for _ in 0..1 + 2 * i {
                let pos = rng.below(d.len());
                d[pos] = YAML_PUNCTUATION[rng.below(YAML_PUNCTUATION.len())];
            }
            c.put("profile_parse", &format!("{stem}.punct{i}.yaml"), &d)?;
        }
    }

    let b = SPEC_BATCH_YAML;
    c.put("batch_manifest", "spec-batch.yaml", b.as_bytes())?;
    let variants: Vec<(&str, String)> = vec![
        ("cut-half", first_half(b)),
        ("crlf-bom", format!("\u{feff}{}", b.replace('\n', "\r\n"))),
        ("block-style", "id: x\nscanner:\n  make: Fujitsu\n  model: fi-7600\nexpected:\n  documents: 3\n  pages: 7\nanomalies:\n  \"0001\": |\n    two lines\n    of notes\nunit: Poststelle\nextra_key: 1\n".to_string()),
        ("documents-negative", b.replace("documents: 24", "documents: -1")),
        ("documents-huge", b.replace("documents: 24", "documents: 99999999999999999999999")),
        ("documents-float", b.replace("documents: 24", "documents: 2.5")),
        ("scanned-at-space", b.replace("2026-11-24T16", "2026-11-24 16")),
        ("scanned-at-no-zone", b.replace("+01:00", "")),
        ("scanned-at-multibyte", b.replace("2026-11-24T16:02:11+01:00", "\"2026-11-24ü16:02:11+01:00\"")),
        ("scanned-at-leap", b.replace("2026-11-24T16:02:11", "2026-12-31T23:59:60")),
        ("scanner-as-list", b.replace("scanner: {", "scanner: [").replace("A12B345\"}", "A12B345\"]")),
        ("anomalies-as-list", b.replace("anomalies: {\"0007\": ", "anomalies: [").replace("eingerissen\"}", "eingerissen\"]")),
        ("anomaly-key-number", b.replace("\"0007\"", "0007")),
        ("unknown-nested", format!("{b}scanner2: {{deep: {{deeper: [1, 2, {{x: y}}]}}}}\nexpected: {{documents: 1, sheets: 2}}\n")),
    ];
    for (label, v) in variants {
        c.put(
            "batch_manifest",
            &format!("spec-batch.{label}.yaml"),
            v.as_bytes(),
        )?;
    }
    for i in 0..4 {
        let mut d = b.as_bytes().to_vec();
        for _ in 0..1 + 2 * i {
            let pos = rng.below(d.len());
            d[pos] = YAML_PUNCTUATION[rng.below(YAML_PUNCTUATION.len())];
        }
        c.put("batch_manifest", &format!("spec-batch.punct{i}.yaml"), &d)?;
    }
    Ok(())
}

/// The first half of `s`, cut at a character boundary.
fn first_half(s: &str) -> String {
    let mut cut = s.len() / 2;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s[..cut].to_string()
}
