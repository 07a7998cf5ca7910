//! A local RFC 3161 timestamp authority for the tests: a small HTTP handler on 127.0.0.1 that
//! hands each query to `openssl ts -reply` with a TSA key and certificate made at test time
//! (EKU timeStamping, critical). It can misbehave on command: answer slowly, answer HTTP 500,
//! refuse with a PKI status, or answer a token for another imprint or nonce.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the TSA answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ok,
    /// Waits this long before answering.
    Slow(Duration),
    /// HTTP 500.
    HttpError,
    /// A TimeStampResp with status rejection.
    Rejection,
    /// A token over an imprint with one bit flipped.
    WrongImprint,
    /// A token with a nonce other than the request's.
    WrongNonce,
}

/// The TSA certificate the server signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsaCert {
    Good,
    /// No extended key usage timeStamping.
    NoEku,
    /// Expired last year.
    Expired,
}

pub struct TestTsa {
    pub url: String,
    /// The TSA's root certificate (PEM): `signing.timestamp.trust`, `verify --trust`.
    pub root: PathBuf,
    mode: Arc<Mutex<Mode>>,
    /// After this many good answers, answer with `then` (None: never).
    fail_after: Arc<Mutex<Option<(usize, Mode)>>>,
    served: Arc<AtomicUsize>,
}

const CA_CNF: &str = "[ca]
default_ca = ca_default
[ca_default]
dir = .
database = ./index.txt
serial = ./serial
new_certs_dir = .
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[tsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
[noeku]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
[signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
[tsa_section]
default_tsa = tsa_config
[tsa_config]
dir = .
serial = ./tsaserial
crypto_device = builtin
signer_cert = ./tsa.pem
certs = ./root.pem
signer_key = ./tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
";

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl must be installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A TSA PKI in `dir`: root.pem/root.key and tsa.pem/tsa.key (good: `openssl ts -reply`
/// signs only with a certificate that has the critical EKU timeStamping and is valid); for a
/// bad `cert` also alt.pem/alt.key, which the server re-signs each token with.
pub fn make_pki(dir: &Path, cert: TsaCert) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("ca.cnf"), CA_CNF).unwrap();
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "2000\n").unwrap();
    std::fs::write(dir.join("tsaserial"), "01\n").unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut root = vec![
        "req",
        "-x509",
        "-days",
        "3650",
        "-subj",
        "/CN=Test TSA Root",
    ];
    root.extend(ec);
    root.extend([
        "-keyout",
        "root.key",
        "-out",
        "root.pem",
        "-config",
        "ca.cnf",
        "-extensions",
        "root",
    ]);
    openssl(dir, &root);
    let mut csr = vec!["req", "-new", "-subj", "/CN=Test TSA"];
    csr.extend(ec);
    csr.extend(["-keyout", "tsa.key", "-out", "tsa.csr"]);
    openssl(dir, &csr);
    let issue = |name: &str, ext: &[&str]| {
        let (csr, out) = (format!("{name}.csr"), format!("{name}.pem"));
        let mut ca = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-cert",
            "root.pem",
            "-keyfile",
            "root.key",
            "-in",
            &csr,
            "-out",
            &out,
            "-extensions",
        ];
        ca.extend(ext);
        openssl(dir, &ca);
    };
    issue("tsa", &["tsa", "-days", "365"]);
    let alt: &[&str] = match cert {
        TsaCert::Good => return,
        TsaCert::NoEku => &["noeku", "-days", "365"],
        TsaCert::Expired => &[
            "tsa",
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20210101000000Z",
        ],
    };
    let mut csr = vec!["req", "-new", "-subj", "/CN=Test TSA alt"];
    csr.extend(ec);
    csr.extend(["-keyout", "alt.key", "-out", "alt.csr"]);
    openssl(dir, &csr);
    issue("alt", alt);
}

/// DER length octets.
fn der_len(n: usize) -> Vec<u8> {
    match n {
        0..=127 => vec![n as u8],
        128..=255 => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

/// The reply `r` re-signed by alt.pem: its TSTInfo (so imprint and nonce stay right) in a new
/// CMS made by `openssl cms -sign -cades`, wrapped in a granted TimeStampResp.
fn resign(dir: &Path, r: &Path, n: usize) -> std::io::Result<Vec<u8>> {
    let tok = format!("tok{n}.der");
    let tst = format!("tst{n}.der");
    let tok2 = format!("tok2-{n}.der");
    let run = |args: &[&str]| -> std::io::Result<()> {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ))
        }
    };
    let r = r.to_str().unwrap();
    run(&["ts", "-reply", "-in", r, "-token_out", "-out", &tok])?;
    run(&[
        "cms",
        "-verify",
        "-noverify",
        "-inform",
        "DER",
        "-in",
        &tok,
        "-binary",
        "-out",
        &tst,
    ])?;
    run(&[
        "cms",
        "-sign",
        "-binary",
        "-nodetach",
        "-cades",
        "-md",
        "sha256",
        "-econtent_type",
        "1.2.840.113549.1.9.16.1.4",
        "-in",
        &tst,
        "-signer",
        "alt.pem",
        "-inkey",
        "alt.key",
        "-certfile",
        "root.pem",
        "-outform",
        "DER",
        "-out",
        &tok2,
    ])?;
    let token = std::fs::read(dir.join(&tok2))?;
    let mut body = vec![0x30, 0x03, 0x02, 0x01, 0x00];
    body.extend(token);
    let mut resp = vec![0x30];
    resp.extend(der_len(body.len()));
    resp.extend(body);
    Ok(resp)
}

impl TestTsa {
    /// A TSA with its own PKI in `dir`, answering [`Mode::Ok`].
    pub fn start(dir: &Path, cert: TsaCert) -> TestTsa {
        make_pki(dir, cert);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsp", listener.local_addr().unwrap());
        let tsa = TestTsa {
            url,
            root: dir.join("root.pem"),
            mode: Arc::new(Mutex::new(Mode::Ok)),
            fail_after: Arc::new(Mutex::new(None)),
            served: Arc::new(AtomicUsize::new(0)),
        };
        let (mode, fail_after, served, dir) = (
            tsa.mode.clone(),
            tsa.fail_after.clone(),
            tsa.served.clone(),
            dir.to_path_buf(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let n = served.fetch_add(1, Ordering::SeqCst);
                let m = match *fail_after.lock().unwrap() {
                    Some((after, then)) if n >= after => then,
                    _ => *mode.lock().unwrap(),
                };
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, m, &dir, n);
                });
            }
        });
        tsa
    }

    pub fn set_mode(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
        *self.fail_after.lock().unwrap() = None;
    }

    /// Answer well `n` more times, then as `then`.
    pub fn fail_after(&self, n: usize, then: Mode) {
        let served = self.served.load(Ordering::SeqCst);
        *self.fail_after.lock().unwrap() = Some((served + n, then));
    }

    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    /// The `signing.timestamp` section for a profile.
    pub fn profile_section(&self, timeout: f64, retries: u32) -> String {
        format!(
            "  timestamp:\n    url: \"{}\"\n    trust: {}\n    timeout_seconds: {timeout}\n    retries: {retries}\n",
            self.url,
            self.root.display()
        )
    }
}

/// A URL where nothing listens.
pub fn dead_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsp", l.local_addr().unwrap());
    drop(l);
    url
}

fn serve(mut stream: TcpStream, mode: Mode, dir: &Path, n: usize) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let got = stream.read(&mut chunk)?;
        if got == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..got]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + len {
        let got = stream.read(&mut chunk)?;
        if got == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..got]);
    }
    let mut query = buf[header_end..].to_vec();
    let reply = |stream: &mut TcpStream, status: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)
    };
    match mode {
        Mode::Slow(d) => std::thread::sleep(d),
        Mode::HttpError => return reply(&mut stream, "500 Internal Server Error", b"down"),
        Mode::Rejection => {
            // TimeStampResp { status { rejection, "test TSA refuses" } }
            let text = b"test TSA refuses";
            let mut status = vec![0x02, 0x01, 0x02, 0x30, (text.len() + 2) as u8, 0x0c];
            status.push(text.len() as u8);
            status.extend_from_slice(text);
            let mut info = vec![0x30, status.len() as u8];
            info.extend(status);
            let mut resp = vec![0x30, info.len() as u8];
            resp.extend(info);
            return reply(&mut stream, "200 OK", &resp);
        }
        Mode::WrongImprint | Mode::WrongNonce => {
            // The imprint is the first OCTET STRING of 32 bytes; the nonce the INTEGER of 8
            // bytes after it.
            let at = query
                .windows(2)
                .position(|w| w == [0x04, 0x20])
                .expect("imprint");
            if mode == Mode::WrongImprint {
                query[at + 2] ^= 0x01;
            } else {
                let nonce = at
                    + 34
                    + query[at + 34..]
                        .windows(2)
                        .position(|w| w == [0x02, 0x08])
                        .expect("nonce");
                query[nonce + 9] ^= 0x01;
            }
        }
        Mode::Ok => {}
    }
    let q = dir.join(format!("q{n}.tsq"));
    let r = dir.join(format!("r{n}.tsr"));
    std::fs::write(&q, &query)?;
    let out = Command::new("openssl")
        .current_dir(dir)
        .args([
            "ts",
            "-reply",
            "-config",
            "ca.cnf",
            "-section",
            "tsa_config",
        ])
        .arg("-queryfile")
        .arg(&q)
        .arg("-out")
        .arg(&r)
        .output()?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).into_owned();
        return reply(&mut stream, "500 Internal Server Error", msg.as_bytes());
    }
    let body = if dir.join("alt.pem").is_file() {
        match resign(dir, &r, n) {
            Ok(b) => b,
            Err(e) => {
                return reply(
                    &mut stream,
                    "500 Internal Server Error",
                    e.to_string().as_bytes(),
                );
            }
        }
    } else {
        std::fs::read(&r)?
    };
    reply(&mut stream, "200 OK", &body)
}
