//! Signing with identities we have never seen: a root CA -> issuing CA -> signer PKI made
//! with openssl at test time, the way a city PKI makes them, in the file formats openssl
//! writes. The real binary ingests and verifies; pdfsig (poppler, with the root in an NSS
//! database), `openssl cms -verify` and qpdf check the outputs from the outside.

use crate::testenv;

use std::path::{Path, PathBuf};
use std::process::Command;

use testenv::{TestEnv, enforcement_letter, render_letter, repo_path};

/// openssl, panicking with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .env("CA", "ca")
        .output()
        .expect("openssl must be installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const CA_CNF: &str = "[ca]
default_ca = ca_default
[ca_default]
dir = .
database = ./$ENV::CA/index.txt
serial = ./$ENV::CA/serial
new_certs_dir = ./$ENV::CA
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
organizationName = optional
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[tls_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
[encipher_only]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
[ca_as_signer]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, nonRepudiation, keyCertSign
";

/// A root CA and an issuing CA below it, in `dir`; signers are issued with [`Pki::signer`].
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(dir: PathBuf) -> Pki {
        std::fs::create_dir_all(dir.join("ca")).unwrap();
        std::fs::write(dir.join("ca.cnf"), CA_CNF).unwrap();
        std::fs::write(dir.join("ca/index.txt"), "").unwrap();
        std::fs::write(dir.join("ca/serial"), "1000\n").unwrap();
        let pki = Pki { dir };
        pki.key("root.key", "rsa:3072");
        openssl(
            &pki.dir,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "root.key",
                "-days",
                "3650",
                "-subj",
                "/O=Stadt Testhausen/CN=Testhausen Root CA",
                "-config",
                "ca.cnf",
                "-extensions",
                "ca_ext",
                "-out",
                "root.pem",
            ],
        );
        pki.key("inter.key", "rsa:2048");
        pki.issue(
            "inter",
            "/O=Stadt Testhausen/CN=Testhausen Issuing CA",
            "ca_ext",
            None,
            "root",
        );
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A key: "rsa:BITS" or "ec:CURVE", PKCS#8 PEM (what `openssl genpkey` writes).
    fn key(&self, name: &str, spec: &str) {
        let (alg, opt) = match spec.split_once(':').unwrap() {
            ("rsa", bits) => ("RSA", format!("rsa_keygen_bits:{bits}")),
            (_, curve) => ("EC", format!("ec_paramgen_curve:{curve}")),
        };
        openssl(
            &self.dir,
            &["genpkey", "-algorithm", alg, "-pkeyopt", &opt, "-out", name],
        );
    }

    /// Issues `<name>.pem` for the key `<name>.key` by `issuer` ("root" or "inter"), with the
    /// extension section `ext` and optional start/end dates (YYYYMMDDHHMMSSZ).
    fn issue(
        &self,
        name: &str,
        subject: &str,
        ext: &str,
        dates: Option<(&str, &str)>,
        issuer: &str,
    ) {
        let csr = format!("{name}.csr");
        let key = format!("{name}.key");
        openssl(
            &self.dir,
            &["req", "-new", "-key", &key, "-subj", subject, "-out", &csr],
        );
        let (cert, ikey) = (format!("{issuer}.pem"), format!("{issuer}.key"));
        let out = format!("{name}.pem");
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-cert",
            &cert,
            "-keyfile",
            &ikey,
            "-in",
            &csr,
            "-out",
            &out,
            "-extensions",
            ext,
        ];
        match dates {
            Some((start, end)) => args.extend(["-startdate", start, "-enddate", end]),
            None => args.extend(["-days", "365"]),
        }
        openssl(&self.dir, &args);
    }

    /// A signer issued by the issuing CA: key spec, extension section, dates.
    fn signer(
        &self,
        name: &str,
        spec: &str,
        ext: &str,
        dates: Option<(&str, &str)>,
    ) -> (PathBuf, PathBuf) {
        self.key(&format!("{name}.key"), spec);
        self.issue(
            name,
            &format!("/O=Stadt Testhausen/CN=Scanstelle {name}"),
            ext,
            dates,
            "inter",
        );
        (
            self.path(&format!("{name}.pem")),
            self.path(&format!("{name}.key")),
        )
    }
}

/// The demo profile with a real signing section and protection level.
fn profile(
    env: &TestEnv,
    name: &str,
    level: &str,
    cert: &Path,
    key: &Path,
    chain: &[PathBuf],
) -> PathBuf {
    let demo = std::fs::read_to_string(repo_path("profiles/demo.yaml")).unwrap();
    let mut signing = format!(
        "signing:\n  certificate: {}\n  key: {}\n",
        cert.display(),
        key.display()
    );
    if !chain.is_empty() {
        signing.push_str("  chain:\n");
        for c in chain {
            signing.push_str(&format!("    - {}\n", c.display()));
        }
    }
    let text = demo
        .replace(
            "protection: {integrity: normal}",
            &format!("protection: {{integrity: {level}}}"),
        )
        .replace("signing:\n  demo: true\n", &signing);
    assert!(text.contains("certificate:"), "demo.yaml changed shape");
    env.write(&format!("{name}.yaml"), text)
}

fn stdout_stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn unusable_identities_stop_ingest_before_any_document_naming_file_reason_and_hint() {
    let env = TestEnv::new();
    let pki = Pki::new(env.mkdir("pki"));
    let batch = env.mkdir("batch");
    env.write("batch/0001.png", b"never read: the identity fails first");
    let inter = pki.path("inter.pem");
    let (good, good_key) = pki.signer("good", "ec:P-256", "signer", None);
    let (expired, expired_key) = pki.signer(
        "expired",
        "ec:P-256",
        "signer",
        Some(("20240101000000Z", "20250101000000Z")),
    );
    let (future, future_key) = pki.signer(
        "future",
        "ec:P-256",
        "signer",
        Some(("20400101000000Z", "20410101000000Z")),
    );
    let (tls, tls_key) = pki.signer("tls", "ec:P-256", "tls_server", None);
    let (enc, enc_key) = pki.signer("encipher", "ec:P-256", "encipher_only", None);
    let (weak, weak_key) = pki.signer("weak", "rsa:1024", "signer", None);
    let (ca_signer, ca_key) = pki.signer("casigner", "ec:P-256", "ca_as_signer", None);
    let encrypted = pki.path("good.enc.key");
    openssl(
        &pki.dir,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:x",
            "-in",
            "good.key",
            "-out",
            "good.enc.key",
        ],
    );
    let root = pki.path("root.pem");

    // (case, cert, key, chain, file the message must name, reason it must give)
    type Case<'a> = (
        &'a str,
        &'a PathBuf,
        &'a PathBuf,
        Vec<PathBuf>,
        &'a PathBuf,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "mismatch",
            &good,
            &tls_key,
            vec![inter.clone()],
            &tls_key,
            "does not belong to certificate",
        ),
        (
            "expired",
            &expired,
            &expired_key,
            vec![inter.clone()],
            &expired,
            "expired (not after 2025-01-01",
        ),
        (
            "not-yet-valid",
            &future,
            &future_key,
            vec![inter.clone()],
            &future,
            "not yet valid (not before 2040",
        ),
        (
            "key-usage",
            &enc,
            &enc_key,
            vec![inter.clone()],
            &enc,
            "allows neither digitalSignature nor nonRepudiation",
        ),
        (
            "eku",
            &tls,
            &tls_key,
            vec![inter.clone()],
            &tls,
            "extendedKeyUsage (serverAuth)",
        ),
        (
            "no-link",
            &good,
            &good_key,
            vec![root.clone()],
            &root,
            "chain does not link",
        ),
        (
            "rsa-1024",
            &weak,
            &weak_key,
            vec![inter.clone()],
            &weak_key,
            "RSA key has 1024 bits",
        ),
        (
            "ca-as-signer",
            &ca_signer,
            &ca_key,
            vec![inter.clone()],
            &ca_signer,
            "is a CA certificate",
        ),
        (
            "encrypted-key",
            &good,
            &encrypted,
            vec![inter.clone()],
            &encrypted,
            "the key is encrypted",
        ),
    ];
    for (case, cert, key, chain, named, reason) in cases {
        for level in ["normal", "hoch"] {
            let p = profile(&env, case, level, cert, key, &chain);
            let store = env.path(&format!("store-{case}-{level}"));
            let out = env
                .cmd()
                .arg("ingest")
                .arg(&batch)
                .arg("--profile")
                .arg(&p)
                .arg("--store")
                .arg(&store)
                .output()
                .unwrap();
            let text = stdout_stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{case}/{level}: {text}");
            assert!(
                text.contains(&named.display().to_string()),
                "{case}: file not named: {text}"
            );
            assert!(text.contains(reason), "{case}: reason missing: {text}");
            assert!(text.contains("hint:"), "{case}: no hint: {text}");
            // Regression: the store was created (index, lock) before the identity was checked.
            assert!(!store.exists(), "{case}: a store was created");
        }
        // `profile check` loads the identity as ingest does (it only checked the files exist).
        let p = profile(&env, case, "normal", cert, key, &chain);
        let out = env
            .cmd()
            .args(["profile", "check"])
            .arg(&p)
            .output()
            .unwrap();
        let text = stdout_stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{case}: {text}");
        assert!(
            text.contains(reason) && text.contains("hint:"),
            "{case}: {text}"
        );
    }
}

#[test]
fn openssl_pki_signatures_are_valid_for_verify_pdfsig_openssl_and_qpdf() {
    let env = TestEnv::new();
    let pki = Pki::new(env.mkdir("pki"));
    let root = pki.path("root.pem");
    let inter = pki.path("inter.pem");
    let bundle = env.write(
        "pki/bundle.pem",
        std::fs::read_to_string(&root).unwrap() + &std::fs::read_to_string(&inter).unwrap(),
    );
    // RSA 3072 with a PKCS#1 key and the chain root-first; EC P-384 with a SEC1 key, the
    // chain as one bundle, at protection hoch.
    let (rsa, rsa_key) = pki.signer("rsa", "rsa:3072", "signer", None);
    openssl(
        &pki.dir,
        &[
            "rsa",
            "-in",
            "rsa.key",
            "-traditional",
            "-out",
            "rsa.pkcs1.key",
        ],
    );
    let (ec, ec_key) = pki.signer("p384", "ec:P-384", "signer", None);
    openssl(
        &pki.dir,
        &["ec", "-in", "p384.key", "-out", "p384.sec1.key"],
    );
    let _ = (rsa_key, ec_key);
    let runs = [
        (
            "rsa",
            "normal",
            rsa,
            pki.path("rsa.pkcs1.key"),
            vec![root.clone(), inter.clone()],
            "Scanstelle rsa",
        ),
        (
            "p384",
            "hoch",
            ec,
            pki.path("p384.sec1.key"),
            vec![bundle.clone()],
            "Scanstelle p384",
        ),
    ];

    // pdfsig trusts what an NSS database marks trusted for S/MIME signing.
    let nss = env.mkdir("nss");
    let nss_db = format!("sql:{}", nss.display());
    let certutil = |args: &[&str]| {
        let ok = Command::new("certutil")
            .args(args)
            .status()
            .expect("certutil (libnss3-tools, scripts/install-deps.sh)");
        assert!(ok.success(), "certutil {args:?}");
    };
    certutil(&["-N", "-d", &nss_db, "--empty-password"]);
    certutil(&[
        "-A",
        "-d",
        &nss_db,
        "-n",
        "root",
        "-t",
        "CT,C,C",
        "-i",
        root.to_str().unwrap(),
    ]);

    for (name, level, cert, key, chain, cn) in runs {
        let batch = env.mkdir(&format!("{name}-batch"));
        render_letter(
            &batch.join("0001.tif"),
            &enforcement_letter("VB-2026-00417"),
            &["-monochrome", "-compress", "Group4"],
        );
        let p = profile(&env, name, level, &cert, &key, &chain);
        let store = env.path(&format!("{name}-store"));
        let out = env
            .cmd()
            .args(["profile", "check"])
            .arg(&p)
            .output()
            .unwrap();
        let text = stdout_stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{name}: {text}");
        assert!(text.contains(&format!("signer: CN={cn}")), "{text}");
        assert!(text.contains("chain: CN=Testhausen Issuing CA"), "{text}");
        assert!(!text.contains("warning"), "{text}");
        let (code, report) = env.ingest(&batch, &p, &store);
        assert_eq!(code, 0, "{name}: {}", report.stderr);
        assert!(!report.stderr.contains("WARN"), "{name}: {}", report.stderr);

        let verify = |trust: &[&Path], path: &Path| {
            let mut c = env.cmd();
            c.arg("verify").arg(path);
            for t in trust {
                c.arg("--trust").arg(t);
            }
            let out = c.output().unwrap();
            (out.status.code(), stdout_stderr(&out))
        };
        for trust in [&root, &inter, &bundle] {
            let (code, text) = verify(&[trust.as_path()], &store);
            assert_eq!(code, Some(0), "{name} trusting {}: {text}", trust.display());
            assert!(text.contains(&format!("signer: CN={cn}")), "{text}");
        }
        let (code, text) = verify(&[], &store);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains("UNTRUSTED") && !text.contains("INVALID"),
            "{text}"
        );
        let other = Pki::new(env.path(&format!("{name}-other-pki")));
        let (code, text) = verify(&[other.path("root.pem").as_path()], &store);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains("signer does not chain to a trusted certificate"),
            "{text}"
        );

        let d = report.document("0001");
        let pdf = store.join(d["pdf"].as_str().unwrap());
        let out = Command::new("pdfsig")
            .arg("-nssdir")
            .arg(&nss_db)
            .arg(&pdf)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Signature Validation: Signature is Valid."),
            "{name}: {text}"
        );
        assert!(
            text.contains("Certificate Validation: Certificate is Trusted."),
            "{name}: {text}"
        );
        assert!(
            text.contains(&format!("Signer Certificate Common Name: {cn}")),
            "{text}"
        );
        let out = Command::new("qpdf")
            .arg("--check")
            .arg(&pdf)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stdout_stderr(&out));

        // Every note (document and batch) verifies with openssl against the root alone.
        let mut notes = vec![report.dir.join("transfer-note.yaml")];
        notes.push(pdf.with_extension("transfer.yaml"));
        for note in notes {
            let p7s = PathBuf::from(format!("{}.p7s", note.display()));
            let out = testenv::openssl_cms_verify(&note, &p7s, Some(&root));
            assert!(
                out.status.success(),
                "{name} {}: {}",
                note.display(),
                stdout_stderr(&out)
            );
        }

        // One flipped byte in the PDF: invalid, with the reason.
        let mut bytes = std::fs::read(&pdf).unwrap();
        let at = bytes.windows(7).position(|w| w == b"stream\n").unwrap() + 50;
        bytes[at] ^= 0x01;
        std::fs::write(&pdf, &bytes).unwrap();
        let (code, text) = verify(&[root.as_path()], &pdf);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains("INVALID") && text.contains("digest mismatch"),
            "{text}"
        );
    }
}
