//! A temporary folder with helpers to build batches and run the real `resiscan` binary.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(&p).expect("mkdir");
        p
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write");
        p
    }

    /// The binary, with OpenMP limited as in production and no user environment leaking in.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("resiscan").expect("binary");
        c.current_dir(self.dir.path()).env_remove("RESISCAN_LOG");
        c
    }

    /// Runs `verify STORE --trust <the store's demo certificate>`; returns the exit code and
    /// what it printed on stdout.
    pub fn verify_trusting_demo(&self, store: &Path) -> (Option<i32>, String) {
        let out = self
            .cmd()
            .arg("verify")
            .arg(store)
            .arg("--trust")
            .arg(store.join(".resiscan/demo-identity/cert.pem"))
            .output()
            .expect("run resiscan verify");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// Runs `ingest` with the demo profile into `<tmp>/store`; returns the exit code and the
    /// batch report.
    pub fn ingest_demo(&self, batch: &Path) -> (i32, BatchReport) {
        self.ingest(batch, &repo_path("profiles/demo.yaml"), &self.path("store"))
    }

    pub fn ingest(&self, batch: &Path, profile: &Path, store: &Path) -> (i32, BatchReport) {
        let out = self
            .cmd()
            .arg("ingest")
            .arg(batch)
            .arg("--profile")
            .arg(profile)
            .arg("--store")
            .arg(store)
            .arg("--json")
            .output()
            .expect("run resiscan");
        let code = out.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("no JSON summary ({e}); stderr:\n{stderr}"));
        let id = summary["batches"][0]["batch"]
            .as_str()
            .unwrap_or_else(|| panic!("no batch in summary {summary}; stderr:\n{stderr}"))
            .to_string();
        let dir = store.join("_batches").join(&id);
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("report.json")).expect("report.json"))
                .expect("report JSON");
        let quarantine: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("quarantine.json")).expect("quarantine.json"),
        )
        .expect("quarantine JSON");
        (
            code,
            BatchReport {
                report,
                quarantine,
                stderr,
                dir,
            },
        )
    }
}

pub struct BatchReport {
    pub report: serde_json::Value,
    pub quarantine: serde_json::Value,
    pub stderr: String,
    pub dir: PathBuf,
}

impl BatchReport {
    /// The quarantine reason of the entry whose name starts with `entry`; panics if not there.
    pub fn quarantine_reason(&self, entry: &str) -> String {
        self.quarantine
            .as_array()
            .expect("quarantine list")
            .iter()
            .find(|q| q["entry"].as_str().unwrap_or("").starts_with(entry))
            .and_then(|q| q["reason"].as_str())
            .unwrap_or_else(|| {
                panic!(
                    "{entry} not quarantined: {}\n{}",
                    self.quarantine, self.stderr
                )
            })
            .to_string()
    }

    pub fn quarantined(&self) -> usize {
        self.quarantine.as_array().map_or(0, Vec::len)
    }

    pub fn documents(&self) -> &Vec<serde_json::Value> {
        self.report["documents"].as_array().expect("documents")
    }

    pub fn document(&self, entry: &str) -> &serde_json::Value {
        self.documents()
            .iter()
            .find(|d| d["entry"].as_str().unwrap_or("").starts_with(entry))
            .unwrap_or_else(|| panic!("no document {entry}"))
    }
}

/// A PNG that is only a signature and an IHDR claiming `w` x `h` 8-bit gray pixels, followed by
/// an IEND — a decompression bomb's header without the bomb.
pub fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
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

/// Renders a letter with ImageMagick (DejaVu Sans, 11 pt, 300 dpi written into the file's
/// metadata) to `out`; the extension picks the format. `extra` goes before the output name,
/// e.g. `["-monochrome", "-compress", "Group4"]` for a G4 TIFF.
pub fn render_letter(out: &Path, text: &str, extra: &[&str]) {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let status = std::process::Command::new("convert")
        .args([
            "-density",
            "300",
            "-units",
            "PixelsPerInch",
            "-size",
            "2000x",
        ])
        .args([
            "-background",
            "white",
            "-fill",
            "black",
            "-font",
            "DejaVu-Sans",
        ])
        .args([
            "-pointsize",
            "11",
            "-bordercolor",
            "white",
            "-border",
            "150",
        ])
        .arg(format!("caption:{text}"))
        .args(["-colorspace", "Gray", "-depth", "8"])
        .args(extra)
        .arg(out)
        .status()
        .expect("ImageMagick convert must be installed (scripts/install-deps.sh)");
    assert!(status.success(), "convert failed for {}", out.display());
}

/// A short enforcement letter for the demo profile's `vollstreckung` e-file.
pub fn enforcement_letter(az: &str) -> String {
    format!(
        "Stadt Leipzig, Stadtkasse\nVollstreckungsbehörde\n\nAktenzeichen: {az}\nKassenzeichen: 5.0123.456789.1\n\nAntrag auf Ratenzahlung\n\nSehr geehrte Damen und Herren,\nin der Vollstreckungssache bitte ich um Ratenzahlung\nin Höhe von monatlich 50 Euro. Die Pfändung meines\nKontos möchte ich vermeiden.\n\nMit freundlichen Grüßen\nJürgen Weiß"
    )
}

/// A letter no e-file of the demo profile matches.
pub const PRIVATE_LETTER: &str = "Liebe Tante Erna,\n\nvielen Dank für die schönen Blumen zum Geburtstag.\nWir sehen uns hoffentlich bald im Garten.\n\nHerzliche Grüße\nDeine Lisa";

/// A blank white A4 page at 300 dpi with a few dust specks: a back side the gate must drop.
pub fn blank_page(out: &Path) {
    let status = std::process::Command::new("convert")
        .args(["-size", "2480x3508", "xc:white", "-fill", "gray40"])
        .args([
            "-draw",
            "point 400,700",
            "-draw",
            "point 1801,2222",
            "-draw",
            "rectangle 1200,3000 1201,3001",
        ])
        .args([
            "-density",
            "300",
            "-units",
            "PixelsPerInch",
            "-colorspace",
            "Gray",
            "-depth",
            "8",
        ])
        .arg(out)
        .status()
        .expect("ImageMagick convert must be installed (scripts/install-deps.sh)");
    assert!(status.success(), "convert failed for {}", out.display());
}

/// Runs the outside PDF/A-2b checker (`../shared/tools/pdfa_check.py`, needs pikepdf) on
/// `pdf`; `None` when the checker or pikepdf is not available here.
pub fn pdfa_check(pdf: &Path) -> Option<String> {
    let checker = repo_path("../shared/tools/pdfa_check.py");
    if !checker.is_file() {
        return None;
    }
    // pikepdf from the system, or from the tools venv scripts/install-deps.sh makes.
    let venv = repo_path(".venv-tools/bin/python");
    let venv = venv.to_string_lossy().into_owned();
    let python = ["python3", "/usr/bin/python3", venv.as_str()]
        .into_iter()
        .find(|py| {
            std::process::Command::new(py)
                .args(["-c", "import pikepdf"])
                .status()
                .is_ok_and(|s| s.success())
        })?;
    let out = std::process::Command::new(python)
        .arg(&checker)
        .arg(pdf)
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `openssl cms -verify` of a detached DER signature over `content`: against `ca` when given,
/// otherwise with `-noverify` (the signature and content only, no chain).
#[allow(dead_code)]
pub fn openssl_cms_verify(content: &Path, p7s: &Path, ca: Option<&Path>) -> std::process::Output {
    let mut c = std::process::Command::new("openssl");
    c.args([
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-out",
        "/dev/null",
        "-in",
    ])
    .arg(p7s)
    .arg("-content")
    .arg(content);
    match ca {
        Some(ca) => c.args(["-purpose", "any", "-CAfile"]).arg(ca),
        None => c.arg("-noverify"),
    };
    c.output().expect("openssl")
}
