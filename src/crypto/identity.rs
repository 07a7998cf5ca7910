//! The signing identity: a certificate, its chain and the matching PKCS#8 private key.
//!
//! Everything that can be wrong with a key or certificate is checked when the identity is
//! loaded, *before* any document is touched: a batch must not be half-processed and then fail
//! at the first signature. The promises of a loaded [`SigningIdentity`]:
//! - the key is EC P-256 or RSA >= 2048 bits, given as PKCS#8 (PEM or DER);
//! - the key belongs to the certificate (equal public keys);
//! - the certificate is valid now and, if it has a KeyUsage extension, allows
//!   digitalSignature or nonRepudiation (RFC 5280 4.2.1.3);
//! - every chain link is sound: the issuer name equals the next certificate's subject and the
//!   signature verifies with the next certificate's key.
//!
//! The identity is `Send + Sync` and shared by reference across the pipeline's workers.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ID_EC_PUBLIC_KEY, ID_SHA_256, RSA_ENCRYPTION, SECP_256_R_1,
    SHA_256_WITH_RSA_ENCRYPTION,
};
use der::Decode;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

use super::derwalk;

/// Where a store keeps its generated demo identity.
const DEMO_DIR: &str = ".resiscan/demo-identity";
const DEMO_KEY: &str = "key.pk8.pem";
const DEMO_CERT: &str = "cert.pem";
/// Demo certificates live two years, like a typical organisation certificate.
const DEMO_DAYS: i64 = 730;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("certificate {}: {reason}", path.display())]
    Certificate { path: PathBuf, reason: String },
    #[error("key {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error(
        "key {} does not belong to certificate {}: their public keys differ",
        key.display(),
        cert.display()
    )]
    KeyMismatch { key: PathBuf, cert: PathBuf },
    #[error("chain certificate {}: {reason}", path.display())]
    Chain { path: PathBuf, reason: String },
    #[error("demo identity in {}: {reason}", dir.display())]
    Demo { dir: PathBuf, reason: String },
    #[error("signing failed: {0}")]
    Sign(String),
}

/// The key algorithm of an identity, which fixes the CMS signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 with SHA-256 (RFC 5753 / RFC 5758: ecdsa-with-SHA256).
    EcdsaP256Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 4056: sha256WithRSAEncryption).
    RsaPkcs1Sha256 { bits: usize },
}

enum PrivateKey {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A checked signing identity; see the module docs for what "checked" means.
pub struct SigningIdentity {
    key: PrivateKey,
    algorithm: KeyAlgorithm,
    cert_der: Vec<u8>,
    /// The certificate decoded for building CMS structures (issuer, serial).
    cert: x509_cert::Certificate,
    chain_der: Vec<Vec<u8>>,
    subject: String,
    fingerprint: [u8; 32],
    not_after: OffsetDateTime,
    demo: bool,
}

impl fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("SigningIdentity")
            .field("subject", &self.subject)
            .field("algorithm", &self.algorithm)
            .field("fingerprint", &hex::encode(self.fingerprint))
            .field("chain_len", &self.chain_der.len())
            .field("demo", &self.demo)
            .finish()
    }
}

impl SigningIdentity {
    /// Loads and checks an identity from files. `cert` may hold further certificates after the
    /// first (a "full chain" file); they are used as the start of the chain.
    pub fn load(cert: &Path, key: &Path, chain: &[PathBuf]) -> Result<Self, IdentityError> {
        let mut certs: Vec<(PathBuf, Vec<u8>)> = read_certificates(cert)
            .map_err(|reason| cert_err(cert, reason))?
            .into_iter()
            .map(|der| (cert.to_path_buf(), der))
            .collect();
        for path in chain {
            let ders = read_certificates(path).map_err(|reason| IdentityError::Chain {
                path: path.clone(),
                reason,
            })?;
            certs.extend(ders.into_iter().map(|der| (path.clone(), der)));
        }
        let pkcs8 = read_pkcs8(key)?;
        Self::from_parts(certs, key, &pkcs8, false, OffsetDateTime::now_utc())
    }

    /// The store's demo identity: an EC P-256 key and a self-signed certificate generated on
    /// first use, kept in `<store>/.resiscan/demo-identity/` and reused afterwards. Every
    /// note signed with it says so (`is_demo`); it is never trusted.
    pub fn demo(store_dir: &Path) -> Result<Self, IdentityError> {
        let dir = store_dir.join(DEMO_DIR);
        let key_path = dir.join(DEMO_KEY);
        let cert_path = dir.join(DEMO_CERT);
        let demo_err = |reason: String| IdentityError::Demo {
            dir: dir.clone(),
            reason,
        };
        if key_path.exists() && cert_path.exists() {
            match Self::load(&cert_path, &key_path, &[]) {
                Ok(mut id) => {
                    id.demo = true;
                    return Ok(id);
                }
                // An expired demo certificate is replaced; the old pair is kept beside it so
                // notes signed with it stay explainable. Anything else is a real problem.
                Err(IdentityError::Certificate { reason, .. }) if reason.contains("expired") => {
                    let stamp = OffsetDateTime::now_utc().unix_timestamp();
                    for p in [&key_path, &cert_path] {
                        let old = p.with_extension(format!("pem.expired-{stamp}"));
                        fs::rename(p, &old)
                            .map_err(|e| demo_err(format!("cannot move {}: {e}", p.display())))?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        fs::create_dir_all(&dir).map_err(|e| demo_err(format!("cannot create it: {e}")))?;
        let (key_pem, cert_pem) = generate_demo().map_err(demo_err)?;
        // Key first: a crash between the two writes leaves no certificate, so the next run
        // regenerates both instead of pairing a certificate with a foreign key.
        write_atomic(&key_path, key_pem.as_bytes(), true)
            .map_err(|e| demo_err(format!("cannot write {}: {e}", key_path.display())))?;
        write_atomic(&cert_path, cert_pem.as_bytes(), false)
            .map_err(|e| demo_err(format!("cannot write {}: {e}", cert_path.display())))?;
        let mut id = Self::load(&cert_path, &key_path, &[])?;
        id.demo = true;
        Ok(id)
    }

    /// Builds an identity from certificate DERs (signer first, then its chain) and a PKCS#8
    /// key, checking everything against `now`.
    fn from_parts(
        certs: Vec<(PathBuf, Vec<u8>)>,
        key_path: &Path,
        pkcs8: &[u8],
        demo: bool,
        now: OffsetDateTime,
    ) -> Result<Self, IdentityError> {
        let ((cert_path, cert_der), chain) = certs
            .split_first()
            .ok_or_else(|| cert_err(key_path, "no certificate given".into()))?;
        let parsed = parse_cert(cert_der).map_err(|r| cert_err(cert_path, r))?;

        let (key, algorithm) = parse_key(pkcs8).map_err(|reason| IdentityError::Key {
            path: key_path.to_path_buf(),
            reason,
        })?;
        let public = match &key {
            PrivateKey::Ec(k) => k.public_key().as_ref().to_vec(),
            PrivateKey::Rsa(k) => k.public_key().as_ref().to_vec(),
        };
        // For EC the bit string is the uncompressed point, for RSA the RSAPublicKey DER;
        // ring's public_key() yields exactly these forms.
        if parsed.public_key().subject_public_key.data.as_ref() != public.as_slice() {
            return Err(IdentityError::KeyMismatch {
                key: key_path.to_path_buf(),
                cert: cert_path.clone(),
            });
        }
        check_valid_at(&parsed, now).map_err(|r| cert_err(cert_path, r.to_string()))?;
        match parsed.key_usage() {
            Ok(Some(ku)) if !(ku.value.digital_signature() || ku.value.non_repudiation()) => {
                return Err(cert_err(
                    cert_path,
                    "its KeyUsage allows neither digitalSignature nor nonRepudiation (RFC 5280 4.2.1.3)"
                        .into(),
                ));
            }
            Ok(_) => {}
            Err(e) => return Err(cert_err(cert_path, format!("bad KeyUsage extension: {e}"))),
        }

        // Each link: child's issuer is the parent's subject and the parent's key verifies it.
        let mut child = parsed.clone();
        let mut child_path = cert_path;
        for (path, der) in chain {
            let parent = parse_cert(der).map_err(|reason| IdentityError::Chain {
                path: path.clone(),
                reason,
            })?;
            let chain_err = |reason: String| IdentityError::Chain {
                path: path.clone(),
                reason,
            };
            if child.issuer().as_raw() != parent.subject().as_raw() {
                return Err(chain_err(format!(
                    "it does not issue {} (issuer \"{}\" but this certificate is \"{}\")",
                    child_path.display(),
                    child.issuer(),
                    parent.subject()
                )));
            }
            child
                .verify_signature(Some(parent.public_key()))
                .map_err(|e| {
                    chain_err(format!(
                        "its key does not verify the signature on {} ({e})",
                        child_path.display()
                    ))
                })?;
            check_valid_at(&parent, now).map_err(|r| chain_err(r.to_string()))?;
            child = parent;
            child_path = path;
        }

        let cert = x509_cert::Certificate::from_der(cert_der)
            .map_err(|e| cert_err(cert_path, format!("not DER: {e}")))?;
        Ok(SigningIdentity {
            key,
            algorithm,
            fingerprint: Sha256::digest(cert_der).into(),
            subject: parsed.subject().to_string(),
            not_after: parsed.validity().not_after.to_datetime(),
            cert,
            cert_der: cert_der.clone(),
            chain_der: chain.iter().map(|(_, d)| d.clone()).collect(),
            demo,
        })
    }

    /// For tests elsewhere in the crate: an identity whose certificate need not be valid now
    /// (expired certificates for the verifier's tests).
    #[cfg(test)]
    pub(crate) fn for_tests(
        cert_der: Vec<u8>,
        chain: Vec<Vec<u8>>,
        pkcs8: &[u8],
        at: OffsetDateTime,
    ) -> Self {
        let mut certs = vec![(PathBuf::from("test-cert"), cert_der)];
        certs.extend(chain.into_iter().map(|d| (PathBuf::from("test-chain"), d)));
        Self::from_parts(certs, Path::new("test-key"), pkcs8, false, at).expect("test identity")
    }

    /// Whether this is a generated demo identity (never trusted; notes must say so).
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    /// The signer certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The chain certificates (issuer of the signer first), DER.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain_der
    }

    /// The certificate's subject, e.g. "CN=Scan Center, O=Stadt Leipzig".
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// SHA-256 over the certificate DER (what the transfer note records).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.fingerprint)
    }

    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    pub(crate) fn cert(&self) -> &x509_cert::Certificate {
        &self.cert
    }

    /// Signs `data` (SHA-256 is applied by the algorithm) and returns the raw signature:
    /// DER ECDSA-Sig-Value for EC, the PKCS#1 v1.5 block for RSA — the forms CMS carries.
    /// Fails only if the system random generator fails.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, IdentityError> {
        let rng = SystemRandom::new();
        match &self.key {
            PrivateKey::Ec(k) => k
                .sign(&rng, data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| IdentityError::Sign("ECDSA signing failed (random source)".into())),
            PrivateKey::Rsa(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, data, &mut sig)
                    .map_err(|_| IdentityError::Sign("RSA signing failed".into()))?;
                Ok(sig)
            }
        }
    }

    /// The CMS digestAlgorithm: sha256, parameters absent (RFC 5754 2).
    pub(crate) fn digest_algorithm(&self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: ID_SHA_256,
            parameters: None,
        }
    }

    /// The CMS signatureAlgorithm: ecdsa-with-SHA256 without parameters (RFC 5758 3.2), or
    /// sha256WithRSAEncryption with NULL parameters (RFC 4055 5).
    pub(crate) fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match self.algorithm {
            KeyAlgorithm::EcdsaP256Sha256 => AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA_256,
                parameters: None,
            },
            KeyAlgorithm::RsaPkcs1Sha256 { .. } => AlgorithmIdentifierOwned {
                oid: SHA_256_WITH_RSA_ENCRYPTION,
                parameters: Some(der::asn1::Null.into()),
            },
        }
    }
}

fn cert_err(path: &Path, reason: String) -> IdentityError {
    IdentityError::Certificate {
        path: path.to_path_buf(),
        reason,
    }
}

/// Parses one DER certificate completely (no trailing bytes).
pub(crate) fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err("trailing bytes after the certificate".into()),
        Err(e) => Err(format!("not a valid X.509 certificate ({e})")),
    }
}

/// Why a certificate is outside its validity period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutsideValidity {
    NotYetValid { not_before: OffsetDateTime },
    Expired { not_after: OffsetDateTime },
}

impl OutsideValidity {
    /// "expired" / "not yet valid", to build sentences like "certificate expired at signing
    /// time (not after …)".
    pub(crate) fn what(&self) -> &'static str {
        match self {
            OutsideValidity::NotYetValid { .. } => "not yet valid",
            OutsideValidity::Expired { .. } => "expired",
        }
    }

    /// "not before …" / "not after …".
    pub(crate) fn bound(&self) -> String {
        match self {
            OutsideValidity::NotYetValid { not_before } => {
                format!("not before {}", fmt_time(*not_before))
            }
            OutsideValidity::Expired { not_after } => format!("not after {}", fmt_time(*not_after)),
        }
    }
}

impl fmt::Display for OutsideValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.what(), self.bound())
    }
}

/// Whether `cert` is within its validity period at `at` (RFC 5280 4.1.2.5).
pub(crate) fn check_valid_at(
    cert: &X509Certificate<'_>,
    at: OffsetDateTime,
) -> Result<(), OutsideValidity> {
    let v = cert.validity();
    let (not_before, not_after) = (v.not_before.to_datetime(), v.not_after.to_datetime());
    if at < not_before {
        Err(OutsideValidity::NotYetValid { not_before })
    } else if at > not_after {
        Err(OutsideValidity::Expired { not_after })
    } else {
        Ok(())
    }
}

/// RFC 3339 for messages; falls back to the debug form (never fails).
pub(crate) fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("{t:?}"))
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(b"-----BEGIN")
}

/// All certificates in a PEM (one or more CERTIFICATE blocks) or DER file.
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let ders = if is_pem(&bytes) {
        let mut out = Vec::new();
        for block in x509_parser::pem::Pem::iter_from_buffer(&bytes) {
            let block = block.map_err(|e| format!("bad PEM: {e}"))?;
            if block.label == "CERTIFICATE" {
                out.push(block.contents);
            }
        }
        out
    } else {
        vec![bytes]
    };
    if ders.is_empty() {
        return Err("no CERTIFICATE block in the PEM file".into());
    }
    for der in &ders {
        parse_cert(der)?;
    }
    Ok(ders)
}

/// A PKCS#8 private key from a PEM or DER file, with a clear message for the usual mistakes.
fn read_pkcs8(path: &Path) -> Result<Vec<u8>, IdentityError> {
    let key_err = |reason: String| IdentityError::Key {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = fs::read(path).map_err(|source| IdentityError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if !is_pem(&bytes) {
        return Ok(bytes);
    }
    for block in x509_parser::pem::Pem::iter_from_buffer(&bytes) {
        let block = block.map_err(|e| key_err(format!("bad PEM: {e}")))?;
        match block.label.as_str() {
            "PRIVATE KEY" => return Ok(block.contents),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(key_err(
                    "the key is encrypted; resiscan runs unattended and needs an unencrypted \
                     PKCS#8 key protected by file permissions"
                        .into(),
                ));
            }
            l @ ("EC PRIVATE KEY" | "RSA PRIVATE KEY") => {
                return Err(key_err(format!(
                    "\"{l}\" is not PKCS#8; convert it with \
                     `openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pk8.pem`"
                )));
            }
            _ => {}
        }
    }
    Err(key_err("no PRIVATE KEY block in the PEM file".into()))
}

/// Reads the algorithm from a PKCS#8 PrivateKeyInfo (RFC 5208 5) and loads the key into ring.
fn parse_key(pkcs8: &[u8]) -> Result<(PrivateKey, KeyAlgorithm), String> {
    let not_pkcs8 = |e: String| format!("not a PKCS#8 private key ({e})");
    let (info, _) = derwalk::expect(pkcs8, 0x30, "PrivateKeyInfo").map_err(not_pkcs8)?;
    let (_version, rest) = derwalk::expect(info.content, 0x02, "version").map_err(not_pkcs8)?;
    let (alg, _) = derwalk::expect(rest, 0x30, "privateKeyAlgorithm").map_err(not_pkcs8)?;
    let (oid, params) = derwalk::expect(alg.content, 0x06, "algorithm").map_err(not_pkcs8)?;
    let oid = ObjectIdentifier::from_bytes(oid.content).map_err(|e| not_pkcs8(e.to_string()))?;
    if oid == ID_EC_PUBLIC_KEY {
        let curve = derwalk::expect(params, 0x06, "namedCurve")
            .ok()
            .and_then(|(c, _)| ObjectIdentifier::from_bytes(c.content).ok());
        if curve != Some(SECP_256_R_1) {
            let name = curve.map_or("unnamed".to_string(), |c| c.to_string());
            return Err(format!(
                "EC curve {name} is not supported; use P-256 (prime256v1)"
            ));
        }
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &rng)
            .map_err(|e| format!("unusable EC P-256 key ({e})"))?;
        Ok((PrivateKey::Ec(key), KeyAlgorithm::EcdsaP256Sha256))
    } else if oid == RSA_ENCRYPTION {
        let key = RsaKeyPair::from_pkcs8(pkcs8)
            .map_err(|e| format!("unusable RSA key ({e}); RSA keys must have 2048 to 8192 bits"))?;
        let bits = key.public().modulus_len() * 8;
        if bits < 2048 {
            return Err(format!(
                "RSA key has {bits} bits; at least 2048 are required"
            ));
        }
        Ok((PrivateKey::Rsa(key), KeyAlgorithm::RsaPkcs1Sha256 { bits }))
    } else {
        Err(format!(
            "key algorithm {oid} is not supported; use EC P-256 or RSA >= 2048"
        ))
    }
}

/// A fresh demo key pair and self-signed certificate, both PEM.
fn generate_demo() -> Result<(String, String), String> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| format!("key generation failed: {e}"))?;
    let now = OffsetDateTime::now_utc();
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(
        rcgen::DnType::CommonName,
        "resiscan demo signer (untrusted)",
    );
    dn.push(
        rcgen::DnType::OrganizationName,
        "resiscan demo identity - not for production",
    );
    params.distinguished_name = dn;
    // A little back-dating tolerates clock differences between hosts.
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(DEMO_DAYS);
    params.serial_number = Some(random_serial()?);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::ContentCommitment,
    ];
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("certificate generation failed: {e}"))?;
    Ok((key.serialize_pem(), cert.pem()))
}

/// A positive 16-byte random serial (RFC 5280 4.1.2.2: unique, at most 20 octets).
pub(crate) fn random_serial() -> Result<rcgen::SerialNumber, String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "random source failed".to_string())?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}

/// Writes a file atomically: temporary file in the same folder, fsync, rename, fsync of the
/// folder — a crash leaves either no file or the whole file. `private` makes the file
/// owner-only (keys). An existing `path` is replaced; callers that must not overwrite check
/// first.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    write_atomic_with(path, bytes, private, true)
}

/// Like [`write_atomic`]; with `replace == false` an existing `path` is an `AlreadyExists`
/// error decided atomically by the file system (hard link instead of rename), so two
/// processes can never both "create" the same key file.
pub(crate) fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    private: bool,
    replace: bool,
) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        if replace {
            fs::rename(&tmp, path)?;
        } else {
            fs::hard_link(&tmp, path)?;
            fs::remove_file(&tmp)?;
        }
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A CA and a leaf signed by it (EC P-256), valid from `nb` to `na`: (leaf DER, leaf key
    /// PKCS#8 DER, CA DER).
    pub(crate) fn ca_and_leaf(
        nb: OffsetDateTime,
        na: OffsetDateTime,
    ) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut ca = rcgen::CertificateParams::default();
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "Test Root CA");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.not_before = nb - time::Duration::days(1);
        ca.not_after = na + time::Duration::days(365);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, &ca_key);
        let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut leaf = rcgen::CertificateParams::default();
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, "Test Signer");
        leaf.not_before = nb;
        leaf.not_after = na;
        leaf.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        (
            leaf_cert.der().to_vec(),
            leaf_key.serialize_der(),
            ca_cert.der().to_vec(),
        )
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        p
    }

    fn pem(label: &str, der: &[u8]) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn loads_a_chain_in_pem_and_der_and_signs() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let (leaf, key, ca) = ca_and_leaf(
            now - time::Duration::days(1),
            now + time::Duration::days(30),
        );
        let cert_p = write(dir.path(), "leaf.pem", pem("CERTIFICATE", &leaf).as_bytes());
        let key_p = write(dir.path(), "key.der", &key);
        let ca_p = write(dir.path(), "ca.der", &ca);
        let id = SigningIdentity::load(&cert_p, &key_p, std::slice::from_ref(&ca_p)).unwrap();
        assert_eq!(id.subject(), "CN=Test Signer");
        assert_eq!(id.certificate_der(), leaf.as_slice());
        assert_eq!(id.chain_der(), std::slice::from_ref(&ca));
        assert_eq!(id.fingerprint_hex(), crate::crypto::sha256_hex(&leaf));
        assert_eq!(id.algorithm(), KeyAlgorithm::EcdsaP256Sha256);
        assert!(!id.is_demo());

        // The signature verifies with the certificate's public key.
        let sig = id.sign(b"hello").unwrap();
        let parsed = parse_cert(&leaf).unwrap();
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            parsed.public_key().subject_public_key.data.as_ref(),
        )
        .verify(b"hello", &sig)
        .unwrap();

        // A chain that does not issue the certificate is refused, naming the file.
        let (_, _, other_ca) = ca_and_leaf(
            now - time::Duration::days(1),
            now + time::Duration::days(30),
        );
        let other_p = write(dir.path(), "other-ca.der", &other_ca);
        let err = SigningIdentity::load(&cert_p, &key_p, &[other_p]).unwrap_err();
        assert!(matches!(err, IdentityError::Chain { .. }), "{err}");
        assert!(err.to_string().contains("other-ca.der"), "{err}");

        fn _assert_send_sync<T: Send + Sync>() {}
        _assert_send_sync::<SigningIdentity>();
    }

    #[test]
    fn refuses_a_foreign_key_an_expired_certificate_and_non_pkcs8() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let (leaf, _, _) = ca_and_leaf(
            now - time::Duration::days(1),
            now + time::Duration::days(30),
        );
        let (_, other_key, _) = ca_and_leaf(
            now - time::Duration::days(1),
            now + time::Duration::days(30),
        );
        let cert_p = write(dir.path(), "leaf.der", &leaf);
        let key_p = write(dir.path(), "other.pk8", &other_key);
        let err = SigningIdentity::load(&cert_p, &key_p, &[]).unwrap_err();
        assert!(matches!(err, IdentityError::KeyMismatch { .. }), "{err}");

        let (old, old_key, _) = ca_and_leaf(
            now - time::Duration::days(400),
            now - time::Duration::days(35),
        );
        let cert_p = write(dir.path(), "old.der", &old);
        let key_p = write(dir.path(), "old.pk8", &old_key);
        let err = SigningIdentity::load(&cert_p, &key_p, &[]).unwrap_err();
        assert!(err.to_string().contains("expired (not after"), "{err}");

        let sec1 = write(
            dir.path(),
            "sec1.pem",
            b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
        );
        let err = SigningIdentity::load(&cert_p, &sec1, &[]).unwrap_err();
        assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");

        let junk = write(dir.path(), "junk.der", b"not a key");
        let err = SigningIdentity::load(&cert_p, &junk, &[]).unwrap_err();
        assert!(err.to_string().contains("not a PKCS#8"), "{err}");
        let err = SigningIdentity::load(&junk, &key_p, &[]).unwrap_err();
        assert!(err.to_string().contains("not a valid X.509"), "{err}");
        let err = SigningIdentity::load(&dir.path().join("missing.pem"), &key_p, &[]).unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }

    #[test]
    fn refuses_a_certificate_without_signing_key_usage() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyEncipherment];
        let cert = params.self_signed(&key).unwrap();
        let cert_p = write(dir.path(), "c.pem", cert.pem().as_bytes());
        let key_p = write(dir.path(), "k.pem", key.serialize_pem().as_bytes());
        let err = SigningIdentity::load(&cert_p, &key_p, &[]).unwrap_err();
        assert!(err.to_string().contains("digitalSignature"), "{err}");
    }

    #[test]
    fn atomic_write_without_replace_keeps_the_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key.pem");
        write_atomic_with(&p, b"first", true, false).unwrap();
        let err = write_atomic_with(&p, b"second", true, false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&p).unwrap(), b"first");
        write_atomic(&p, b"third", false).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"third");
        // No temporary files left behind either way.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn demo_identity_is_created_once_and_reused() {
        let store = tempfile::tempdir().unwrap();
        let a = SigningIdentity::demo(store.path()).unwrap();
        assert!(a.is_demo());
        assert!(a.subject().contains("demo signer (untrusted)"));
        let days = (a.not_after() - OffsetDateTime::now_utc()).whole_days();
        assert!((728..=730).contains(&days), "{days}");
        let b = SigningIdentity::demo(store.path()).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        let dir = store.path().join(DEMO_DIR);
        assert!(dir.join(DEMO_KEY).is_file() && dir.join(DEMO_CERT).is_file());
        // No temporary files left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(DEMO_KEY))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "key readable by others: {mode:o}");
        }
    }
}
