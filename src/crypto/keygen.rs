//! `resiscan keygen`: a PKCS#8 key and a self-signed certificate for trials and tests.
//!
//! EC P-256 keys come from ring (via rcgen). RSA-3072 keys come from `openssl genpkey`, because
//! ring cannot generate RSA keys and the `rsa` crate has an open security advisory; without
//! openssl on PATH we refuse and name the command to run instead. Existing files are never
//! overwritten: a key is the one thing an operator cannot get back.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::identity::random_serial;
use crate::atomic_file::AtomicFile;

pub const KEY_FILE: &str = "key.pk8.pem";
pub const CERT_FILE: &str = "cert.pem";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeygenError {
    #[error(
        "bad subject \"{subject}\": {reason} (expected e.g. \"CN=Scan Center,O=Stadt Leipzig\")"
    )]
    Subject { subject: String, reason: String },
    #[error("validity of {0} days is out of range (1 to 3650)")]
    Days(u32),
    #[error("{} already exists; keygen never overwrites keys or certificates", .0.display())]
    Exists(PathBuf),
    #[error(
        "RSA key generation needs openssl, which was not found on PATH; run \
         `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out {}` elsewhere \
         or use --ec-p256",
        .0.display()
    )]
    NoOpenssl(PathBuf),
    #[error("openssl genpkey failed: {0}")]
    Openssl(String),
    #[error("generating the key or certificate failed: {0}")]
    Generate(String),
    #[error("writing {}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// The kind of key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    EcP256,
    Rsa3072,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub key_path: PathBuf,
    pub cert_path: PathBuf,
    /// SHA-256 of the certificate DER, lower-case hex.
    pub fingerprint: String,
}

/// Generates a key (PKCS#8 PEM, `key.pk8.pem`) and a self-signed certificate (`cert.pem`,
/// KeyUsage digitalSignature + nonRepudiation, CA:false) valid for `days` from now.
pub fn generate(
    subject: &str,
    kind: KeyKind,
    days: u32,
    out_dir: &Path,
) -> Result<Generated, KeygenError> {
    generate_with(subject, kind, days, out_dir, "openssl")
}

fn generate_with(
    subject: &str,
    kind: KeyKind,
    days: u32,
    out_dir: &Path,
    openssl: &str,
) -> Result<Generated, KeygenError> {
    let dn = parse_subject(subject)?;
    if !(1..=3650).contains(&days) {
        return Err(KeygenError::Days(days));
    }
    let key_path = out_dir.join(KEY_FILE);
    let cert_path = out_dir.join(CERT_FILE);
    for p in [&key_path, &cert_path] {
        if p.exists() {
            return Err(KeygenError::Exists(p.clone()));
        }
    }
    let gen_err = |e: rcgen::Error| KeygenError::Generate(e.to_string());
    let key = match kind {
        KeyKind::EcP256 => {
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(gen_err)?
        }
        KeyKind::Rsa3072 => {
            let pem = openssl_rsa_key(openssl, &key_path)?;
            rcgen::KeyPair::from_pem(&pem).map_err(gen_err)?
        }
    };

    let now = OffsetDateTime::now_utc();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = dn;
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(i64::from(days));
    params.serial_number = Some(random_serial().map_err(KeygenError::Generate)?);
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::ContentCommitment,
    ];
    let cert = params.self_signed(&key).map_err(gen_err)?;

    fs::create_dir_all(out_dir).map_err(|cause| KeygenError::Io {
        path: out_dir.to_path_buf(),
        cause,
    })?;
    // No-replace writes: a file that appeared since the check above is still not overwritten.
    let io_err = |path: &PathBuf| {
        let path = path.clone();
        move |source: std::io::Error| match source.kind() {
            std::io::ErrorKind::AlreadyExists => KeygenError::Exists(path.clone()),
            _ => KeygenError::Io {
                path: path.clone(),
                cause: source,
            },
        }
    };
    let write_new = |mut file: AtomicFile, bytes: &[u8]| {
        file.write_all(bytes)?;
        file.commit_new()
    };
    AtomicFile::create_private(&key_path)
        .and_then(|f| write_new(f, key.serialize_pem().as_bytes()))
        .map_err(io_err(&key_path))?;
    AtomicFile::create(&cert_path)
        .and_then(|f| write_new(f, cert.pem().as_bytes()))
        .map_err(io_err(&cert_path))?;
    Ok(Generated {
        key_path,
        cert_path,
        fingerprint: hex::encode(Sha256::digest(cert.der())),
    })
}

/// An RSA-3072 PKCS#8 PEM key from `openssl genpkey` (written to stdout, never to disk
/// unprotected).
fn openssl_rsa_key(openssl: &str, key_path: &Path) -> Result<String, KeygenError> {
    let out = Command::new(openssl)
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:3072",
        ])
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => KeygenError::NoOpenssl(key_path.to_path_buf()),
            _ => KeygenError::Openssl(e.to_string()),
        })?;
    if !out.status.success() {
        return Err(KeygenError::Openssl(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let pem = String::from_utf8(out.stdout)
        .map_err(|_| KeygenError::Openssl("output is not text".into()))?;
    if !pem.contains("-----BEGIN PRIVATE KEY-----") {
        return Err(KeygenError::Openssl(
            "output is not a PKCS#8 PEM key".into(),
        ));
    }
    Ok(pem)
}

/// Parses "CN=…,O=…" (RFC 4514 style; `\,` escapes a comma) into a distinguished name.
/// Requires a CN; accepts CN, O, OU, C, L, ST.
pub(crate) fn parse_subject(subject: &str) -> Result<rcgen::DistinguishedName, KeygenError> {
    let err = |reason: String| KeygenError::Subject {
        subject: subject.to_string(),
        reason,
    };
    // Split on unescaped commas.
    let mut parts = vec![String::new()];
    let mut chars = subject.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => parts.last_mut().map_or((), |p| p.push(n)),
                None => return Err(err("trailing backslash".into())),
            },
            ',' => parts.push(String::new()),
            c => parts.last_mut().map_or((), |p| p.push(c)),
        }
    }
    let mut dn = rcgen::DistinguishedName::new();
    let mut has_cn = false;
    for part in &parts {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| err(format!("\"{}\" has no '='", part.trim())))?;
        let (k, v) = (k.trim(), v.trim());
        if v.is_empty() {
            return Err(err(format!("{k} has an empty value")));
        }
        if v.chars().any(char::is_control) {
            return Err(err(format!("{k} contains control characters")));
        }
        let ty = match k.to_ascii_uppercase().as_str() {
            "CN" => {
                has_cn = true;
                rcgen::DnType::CommonName
            }
            "O" => rcgen::DnType::OrganizationName,
            "OU" => rcgen::DnType::OrganizationalUnitName,
            "L" => rcgen::DnType::LocalityName,
            "ST" => rcgen::DnType::StateOrProvinceName,
            "C" => {
                if v.len() != 2 || !v.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(err(format!(
                        "C must be a two-letter country code, not \"{v}\""
                    )));
                }
                rcgen::DnType::CountryName
            }
            other => {
                return Err(err(format!(
                    "unknown attribute \"{other}\" (use CN, O, OU, L, ST, C)"
                )));
            }
        };
        dn.push(ty, v);
    }
    if !has_cn {
        return Err(err("a CN is required".into()));
    }
    Ok(dn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::identity::{KeyAlgorithm, SigningIdentity};

    #[test]
    fn ec_key_and_certificate_load_as_an_identity_and_are_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate(
            "CN=Scan Center,O=Stadt Leipzig\\, Stadtkasse,C=DE",
            KeyKind::EcP256,
            365,
            dir.path(),
        )
        .unwrap();
        let id = SigningIdentity::load(&g.cert_path, &g.key_path, &[]).unwrap();
        assert_eq!(id.algorithm(), KeyAlgorithm::EcdsaP256Sha256);
        assert_eq!(id.fingerprint_hex(), g.fingerprint);
        assert!(id.subject().contains("CN=Scan Center"), "{}", id.subject());
        assert!(
            id.subject().contains("Stadt Leipzig, Stadtkasse")
                || id.subject().contains("Stadt Leipzig\\, Stadtkasse"),
            "{}",
            id.subject()
        );
        let days = (id.not_after() - OffsetDateTime::now_utc()).whole_days();
        assert!((364..=365).contains(&days));
        let cert = std::fs::read_to_string(&g.cert_path).unwrap();
        let before = std::fs::read(&g.key_path).unwrap();
        let err = generate("CN=Other", KeyKind::EcP256, 30, dir.path()).unwrap_err();
        assert!(matches!(err, KeygenError::Exists(_)), "{err}");
        assert_eq!(std::fs::read(&g.key_path).unwrap(), before);
        assert_eq!(std::fs::read_to_string(&g.cert_path).unwrap(), cert);
        // KeyUsage and CA:false as promised.
        let der = crate::crypto::identity::read_certificates(&g.cert_path).unwrap();
        let c = crate::crypto::identity::parse_cert(&der[0]).unwrap();
        let ku = c.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && ku.non_repudiation());
        assert!(!c.is_ca());
    }

    #[test]
    fn rsa_3072_via_openssl() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate("CN=RSA Signer", KeyKind::Rsa3072, 30, dir.path()).unwrap();
        let id = SigningIdentity::load(&g.cert_path, &g.key_path, &[]).unwrap();
        assert_eq!(id.algorithm(), KeyAlgorithm::RsaPkcs1Sha256 { bits: 3072 });
    }

    #[test]
    fn missing_openssl_is_refused_with_the_command_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let err = generate_with(
            "CN=x",
            KeyKind::Rsa3072,
            30,
            dir.path(),
            "/nonexistent/openssl",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072"),
            "{msg}"
        );
        assert!(!dir.path().join(KEY_FILE).exists());
    }

    #[test]
    fn bad_subjects_are_named() {
        for (s, why) in [
            ("", "no '='"),
            ("O=Stadt", "CN is required"),
            ("CN=", "empty value"),
            ("CN=a,XX=b", "unknown attribute \"XX\""),
            ("CN=a,C=Deutschland", "two-letter"),
            ("CN=a\\", "trailing backslash"),
        ] {
            let err = parse_subject(s).unwrap_err().to_string();
            assert!(err.contains(why), "{s}: {err}");
        }
        assert!(parse_subject("cn = Scan , o = Stadt").is_ok());
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            generate("CN=a", KeyKind::EcP256, 0, dir.path()),
            Err(KeygenError::Days(0))
        ));
    }
}
