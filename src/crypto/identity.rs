//! The signing identity: a certificate, its chain and the matching private key.
//!
//! Everything that can be wrong with a key or certificate is checked when the identity is
//! loaded, *before* any document is touched: a batch must not be half-processed and then fail
//! at the first signature. Scan centers get their identities from the city's PKI in whatever
//! form its tools write, so we read what OpenSSL writes and decide by content, not file name.
//! The promises of a loaded [`SigningIdentity`]:
//! - the key is EC P-256, EC P-384 or RSA >= 2048 bits, read from PKCS#8, PKCS#1
//!   ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"), PEM or DER; PEM may follow other text
//!   (`openssl x509 -text`, "Bag Attributes" from `openssl pkcs12 -nodes`). Encrypted keys are
//!   refused with the command that decrypts them: the nightly job runs unattended;
//! - the signer is the certificate whose public key is the key's (so a bundle may list its
//!   certificates in any order);
//! - the certificate is valid now and fit to sign documents: not a CA, a KeyUsage (if any)
//!   with digitalSignature or nonRepudiation, an extendedKeyUsage (if any) that allows
//!   document signing (RFC 5280 4.2.1.3, 4.2.1.9, 4.2.1.12);
//! - the chain is the signer's issuer path built from the given certificates, in any order,
//!   each link verified (names, signature, CA flag, validity now); a chain that does not link
//!   is refused, certificates that are not part of it are left out with a warning.
//!
//! The identity is `Send + Sync` and shared by reference across the pipeline's workers.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1,
    SECP_384_R_1, SHA_256_WITH_RSA_ENCRYPTION,
};
use der::Decode;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_SHA256, RsaKeyPair,
};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

pub use super::chain::OutsideValidity;
use super::chain::{ChainCheck, ChainError, End, MAX_CHAIN, Source};
pub(crate) use super::chain::{check_valid_at, parse_cert};
use super::derwalk;
use super::hash::DigestAlgorithm;
use crate::atomic_file::AtomicFile;

/// Where a store keeps its generated demo identity.
const DEMO_DIR: &str = ".resiscan/demo-identity";
const DEMO_KEY: &str = "key.pk8.pem";
const DEMO_CERT: &str = "cert.pem";
/// Demo certificates live two years, like a typical organisation certificate.
const DEMO_DAYS: i64 = 730;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    #[error("cannot read {}: {cause}", path.display())]
    Read { path: PathBuf, cause: io::Error },
    #[error("certificate {}: {reason}", path.display())]
    Certificate { path: PathBuf, reason: String },
    #[error(
        "certificate {}: {why} — hint: ask the PKI for a {} certificate and point \
         signing.certificate and signing.key at the new pair",
        path.display(),
        match why {
            OutsideValidity::Expired { .. } => "renewed",
            OutsideValidity::NotYetValid { .. } => "currently valid",
        }
    )]
    OutsideValidity { path: PathBuf, why: OutsideValidity },
    #[error("key {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error(
        "key {} does not belong to certificate {}: their public keys differ — hint: \
         `openssl pkey -in KEY -pubout` and `openssl x509 -in CERT -noout -pubkey` must print \
         the same key; point signing.key at the key the certificate was issued for",
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
    /// ECDSA on P-384 with SHA-384 (ecdsa-with-SHA384), the only P-384 form ring signs.
    EcdsaP384Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 4056: sha256WithRSAEncryption).
    RsaPkcs1Sha256 { bits: usize },
}

impl std::fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyAlgorithm::EcdsaP256Sha256 => f.write_str("EC P-256, ecdsa-with-SHA256"),
            KeyAlgorithm::EcdsaP384Sha384 => f.write_str("EC P-384, ecdsa-with-SHA384"),
            KeyAlgorithm::RsaPkcs1Sha256 { bits } => {
                write!(f, "RSA {bits}, sha256WithRSAEncryption")
            }
        }
    }
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
    /// Things that work but that an operator should know (see [`SigningIdentity::warnings`]).
    warnings: Vec<String>,
    /// The TSA every signature is timestamped by (`signing.timestamp`), if any.
    tsa: Option<std::sync::Arc<super::tsp::Tsa>>,
    /// `signing.revocation: embed`: what each PDF's DSS gets besides its signature's
    /// certificates (PAdES B-LT).
    embed: Option<std::sync::Arc<super::crl::Embed>>,
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
    /// Loads and checks an identity from files. `cert` may hold further certificates (a
    /// "full chain" bundle), and `key` may be the same file as `cert` (key and certificates
    /// in one PEM); the signer is the certificate that matches the key.
    pub fn load(cert: &Path, key: &Path, chain: &[PathBuf]) -> Result<Self, IdentityError> {
        let cert_file = read_certificates(cert).map_err(|reason| cert_err(cert, reason))?;
        let mut pool = Vec::new();
        for path in chain {
            let ders = read_certificates(path).map_err(|reason| IdentityError::Chain {
                path: path.clone(),
                reason,
            })?;
            pool.extend(ders.into_iter().map(|der| (path.clone(), der)));
        }
        let pkcs8 = read_private_key(key)?;
        Self::from_parts(
            cert,
            cert_file,
            pool,
            key,
            &pkcs8,
            false,
            OffsetDateTime::now_utc(),
        )
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
                    id.warnings.clear();
                    return Ok(id);
                }
                // An expired demo certificate is replaced; the old pair is kept beside it so
                // notes signed with it stay explainable. Anything else is a real problem.
                Err(IdentityError::OutsideValidity {
                    why: OutsideValidity::Expired { .. },
                    ..
                }) => {
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
        let write = |path: &Path, bytes: &[u8], file: std::io::Result<AtomicFile>| {
            file.and_then(|mut f| {
                f.write_all(bytes)?;
                f.commit()
            })
            .map_err(|e| demo_err(format!("cannot write {}: {e}", path.display())))
        };
        write(
            &key_path,
            key_pem.as_bytes(),
            AtomicFile::create_private(&key_path),
        )?;
        write(
            &cert_path,
            cert_pem.as_bytes(),
            AtomicFile::create(&cert_path),
        )?;
        let mut id = Self::load(&cert_path, &key_path, &[])?;
        id.demo = true;
        // The demo certificate is self-signed and used as its own trust anchor; the generic
        // advice about chains and KeyUsage does not apply.
        id.warnings.clear();
        Ok(id)
    }

    /// Builds an identity from the certificate file's certificates, the chain files'
    /// certificates and a PKCS#8 key, checking everything against `now`.
    fn from_parts(
        cert_path: &Path,
        cert_file: Vec<Vec<u8>>,
        mut pool: Vec<(PathBuf, Vec<u8>)>,
        key_path: &Path,
        pkcs8: &[u8],
        demo: bool,
        now: OffsetDateTime,
    ) -> Result<Self, IdentityError> {
        let (key, algorithm) = parse_key(pkcs8).map_err(|reason| IdentityError::Key {
            path: key_path.to_path_buf(),
            reason,
        })?;
        let public = match &key {
            PrivateKey::Ec(k) => k.public_key().as_ref().to_vec(),
            PrivateKey::Rsa(k) => k.public_key().as_ref().to_vec(),
        };
        // For EC the bit string is the uncompressed point, for RSA the RSAPublicKey DER;
        // ring's public_key() yields exactly these forms. The matching certificate is the
        // signer, wherever it stands in the file; the others join the chain candidates.
        let signer_idx = cert_file
            .iter()
            .position(|der| {
                parse_cert(der).is_ok_and(|c| {
                    c.public_key().subject_public_key.data.as_ref() == public.as_slice()
                })
            })
            .ok_or_else(|| IdentityError::KeyMismatch {
                key: key_path.to_path_buf(),
                cert: cert_path.to_path_buf(),
            })?;
        let mut cert_file = cert_file;
        let cert_der = cert_file.remove(signer_idx);
        pool.splice(
            0..0,
            cert_file.into_iter().map(|d| (cert_path.to_path_buf(), d)),
        );
        let parsed = parse_cert(&cert_der).map_err(|r| cert_err(cert_path, r))?;

        check_valid_at(&parsed, now).map_err(|why| IdentityError::OutsideValidity {
            path: cert_path.to_path_buf(),
            why,
        })?;
        if let Some(problem) = signing_use_problem(&parsed) {
            return Err(cert_err(
                cert_path,
                format!("{problem} — hint: {}", signing_use_hint(&parsed)),
            ));
        }
        let mut warnings = Vec::new();
        if let Ok(Some(ku)) = parsed.key_usage()
            && !ku.value.non_repudiation()
        {
            warnings.push(format!(
                "certificate {}: its KeyUsage has digitalSignature but not nonRepudiation \
                 (contentCommitment); pyHanko's default policy and some other validators \
                 then do not accept it for document signatures",
                cert_path.display()
            ));
        }
        if let Ok(Some(eku)) = parsed.extended_key_usage()
            && !(eku.value.any || eku.value.email_protection)
        {
            // NSS (poppler's pdfsig, Firefox, Thunderbird) checks signers as S/MIME signers:
            // with an extendedKeyUsage it wants emailProtection.
            warnings.push(format!(
                "certificate {}: its extendedKeyUsage allows document signing but not \
                 emailProtection; poppler's pdfsig (NSS) then reports \"Unknown issue with \
                 Certificate\" although pyHanko and OpenSSL accept it",
                cert_path.display()
            ));
        }
        let chain = issuer_chain(&cert_der, cert_path, pool, now, &mut warnings)?;

        let cert = x509_cert::Certificate::from_der(&cert_der)
            .map_err(|e| cert_err(cert_path, format!("not DER: {e}")))?;
        Ok(SigningIdentity {
            key,
            algorithm,
            fingerprint: Sha256::digest(&cert_der).into(),
            subject: parsed.subject().to_string(),
            not_after: parsed.validity().not_after.to_datetime(),
            cert,
            chain_der: chain.into_iter().map(|(_, d)| d).collect(),
            cert_der,
            demo,
            warnings,
            tsa: None,
            embed: None,
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
        let pool = chain
            .into_iter()
            .map(|d| (PathBuf::from("test-chain"), d))
            .collect();
        Self::from_parts(
            Path::new("test-cert"),
            vec![cert_der],
            pool,
            Path::new("test-key"),
            pkcs8,
            false,
            at,
        )
        .expect("test identity")
    }

    /// This identity, every signature of which gets a signature timestamp from `tsa`.
    pub fn with_timestamp(mut self, tsa: Option<std::sync::Arc<super::tsp::Tsa>>) -> Self {
        self.tsa = tsa;
        self
    }

    /// This identity, whose PDFs get a DSS with `embed` appended (PAdES B-LT).
    pub fn with_embed(mut self, embed: Option<std::sync::Arc<super::crl::Embed>>) -> Self {
        self.embed = embed;
        self
    }

    /// What goes into each PDF's DSS (`signing.revocation: embed`), if anything.
    pub fn embed(&self) -> Option<&super::crl::Embed> {
        self.embed.as_deref()
    }

    /// The TSA that timestamps this identity's signatures.
    pub fn timestamper(&self) -> Option<&super::tsp::Tsa> {
        self.tsa.as_deref()
    }

    /// What works but should be fixed, one sentence each: a signer without its issuing CA
    /// (outside validators cannot build the path), given certificates that are not part of
    /// the chain, a KeyUsage without nonRepudiation. `ingest` logs them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
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

    /// The hash of every signature this identity makes: content digest, digestAlgorithm and
    /// the signature's own hash are the same function (see [`DigestAlgorithm`]).
    pub fn digest(&self) -> DigestAlgorithm {
        match self.algorithm {
            KeyAlgorithm::EcdsaP384Sha384 => DigestAlgorithm::Sha384,
            KeyAlgorithm::EcdsaP256Sha256 | KeyAlgorithm::RsaPkcs1Sha256 { .. } => {
                DigestAlgorithm::Sha256
            }
        }
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

    /// The CMS digestAlgorithm: sha256 or sha384, parameters absent (RFC 5754 2).
    pub(crate) fn digest_algorithm(&self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.digest().oid(),
            parameters: None,
        }
    }

    /// The CMS signatureAlgorithm: ecdsa-with-SHA256/384 without parameters (RFC 5758 3.2),
    /// or sha256WithRSAEncryption with NULL parameters (RFC 4055 5).
    pub(crate) fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match self.algorithm {
            KeyAlgorithm::EcdsaP256Sha256 => AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA_256,
                parameters: None,
            },
            KeyAlgorithm::EcdsaP384Sha384 => AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA_384,
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

/// Whether `bytes` is one DER SEQUENCE spanning the whole file (a DER certificate or key).
fn is_der_sequence(bytes: &[u8]) -> bool {
    matches!(derwalk::read_tlv(bytes), Ok((t, rest)) if t.tag == 0x30 && rest.is_empty())
}

/// Whether `der` is a PKCS#12 PFX (RFC 7292 4: SEQ { INTEGER 3, ContentInfo, MacData }),
/// the password-protected .p12/.pfx file PKI portals hand out.
fn is_pkcs12(der: &[u8]) -> bool {
    let Ok((seq, _)) = derwalk::read_tlv(der) else {
        return false;
    };
    matches!(derwalk::children(seq.content).as_deref(),
        Ok([v, ci, ..]) if v.tag == 0x02 && v.content == [3] && ci.tag == 0x30)
}

/// The refusal for a PKCS#12 file, with the conversion that makes it usable.
const PKCS12: &str = "a PKCS#12 (.p12/.pfx) file, which is password-protected; resiscan runs \
     unattended and reads PEM or DER — hint: convert it once with `openssl pkcs12 -in FILE \
     -nodes -out identity.pem` (key, certificate and chain in one file; `chmod 600` it) and \
     give that file as both signing.certificate and signing.key";

/// Whether `bytes` holds PEM blocks, possibly after other text (`openssl x509 -text`, the
/// "Bag Attributes" lines of `openssl pkcs12 -nodes`).
fn has_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// The PEM blocks of a file as (label, DER), in order.
fn pem_blocks(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    x509_parser::pem::Pem::iter_from_buffer(bytes)
        .map(|b| {
            b.map(|b| (b.label, b.contents))
                .map_err(|e| format!("bad PEM: {e}"))
        })
        .collect()
}

/// The labels of a PEM file, for messages ("PRIVATE KEY, CERTIFICATE").
fn labels(blocks: &[(String, Vec<u8>)]) -> String {
    let mut l: Vec<&str> = blocks.iter().map(|(l, _)| l.as_str()).collect();
    l.dedup();
    l.join(", ")
}

/// All certificates in a PEM (one or more CERTIFICATE blocks, other blocks and text around
/// them ignored) or DER file.
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let ders = if is_der_sequence(&bytes) {
        if is_pkcs12(&bytes) {
            return Err(PKCS12.into());
        }
        vec![bytes]
    } else if has_pem(&bytes) {
        let blocks = pem_blocks(&bytes)?;
        let ders: Vec<Vec<u8>> = blocks
            .iter()
            .filter(|(l, _)| l == "CERTIFICATE")
            .map(|(_, d)| d.clone())
            .collect();
        if ders.is_empty() {
            let hint = if blocks.iter().any(|(l, _)| l.contains("PRIVATE KEY")) {
                " — hint: is it the key? check that signing.certificate and signing.key are not swapped"
            } else {
                ""
            };
            return Err(format!(
                "no CERTIFICATE block in the PEM file (it holds {}){hint}",
                labels(&blocks)
            ));
        }
        ders
    } else {
        return Err(
            "neither a DER certificate nor a PEM file with a CERTIFICATE block — hint: \
             `openssl x509 -in FILE -noout -subject` shows whether OpenSSL can read it"
                .into(),
        );
    };
    for der in &ders {
        parse_cert(der)?;
    }
    Ok(ders)
}

/// A private key from a PEM or DER file, as PKCS#8 DER. PKCS#1 ("RSA PRIVATE KEY") and SEC1
/// ("EC PRIVATE KEY") keys — what `openssl genrsa`, `openssl ecparam -genkey` and
/// `openssl pkey -outform DER` write — are wrapped into PKCS#8 in memory (RFC 5208 5), since
/// ring reads only PKCS#8. Encrypted keys are refused with the command that decrypts them.
fn read_private_key(path: &Path) -> Result<Vec<u8>, IdentityError> {
    let key_err = |reason: String| IdentityError::Key {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = fs::read(path).map_err(|cause| IdentityError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    let encrypted = || {
        key_err(
            "the key is encrypted; resiscan runs unattended from cron and cannot ask for a \
             passphrase — hint: decrypt it once with `openssl pkey -in KEY -out key.pk8.pem`, \
             then `chmod 600 key.pk8.pem` and keep it on the scan server only"
                .into(),
        )
    };
    if is_der_sequence(&bytes) {
        if is_pkcs12(&bytes) {
            return Err(key_err(PKCS12.into()));
        }
        return match der_key_kind(&bytes) {
            DerKey::Pkcs8 => Ok(bytes),
            DerKey::Pkcs1 => Ok(pkcs8_from_pkcs1(&bytes)),
            DerKey::Sec1 => pkcs8_from_sec1(&bytes).map_err(key_err),
            DerKey::Encrypted => Err(encrypted()),
            DerKey::Unknown => Err(key_err(
                "a DER structure that is neither a PKCS#8, PKCS#1 (RSA) nor SEC1 (EC) private \
                 key — hint: is it the certificate? check that signing.certificate and \
                 signing.key are not swapped"
                    .into(),
            )),
        };
    }
    if !has_pem(&bytes) {
        return Err(key_err(
            "neither a DER key nor a PEM file with a PRIVATE KEY block — hint: \
             `openssl pkey -in FILE -noout` shows whether OpenSSL can read it"
                .into(),
        ));
    }
    // Legacy PEM encryption ("Proc-Type: 4,ENCRYPTED" inside an RSA/EC PRIVATE KEY block).
    const LEGACY_ENCRYPTED: &[u8] = b"Proc-Type: 4,ENCRYPTED";
    if bytes
        .windows(LEGACY_ENCRYPTED.len())
        .any(|w| w == LEGACY_ENCRYPTED)
    {
        return Err(encrypted());
    }
    let blocks = pem_blocks(&bytes).map_err(key_err)?;
    for (label, der) in &blocks {
        match label.as_str() {
            "PRIVATE KEY" => return Ok(der.clone()),
            "RSA PRIVATE KEY" => return Ok(pkcs8_from_pkcs1(der)),
            "EC PRIVATE KEY" => return pkcs8_from_sec1(der).map_err(key_err),
            "ENCRYPTED PRIVATE KEY" => return Err(encrypted()),
            _ => {}
        }
    }
    let hint = if blocks.iter().any(|(l, _)| l == "CERTIFICATE") {
        " — hint: is it the certificate? check that signing.certificate and signing.key are \
         not swapped"
    } else {
        ""
    };
    Err(key_err(format!(
        "no PRIVATE KEY block in the PEM file (it holds {}){hint}",
        labels(&blocks)
    )))
}

/// What a DER private key file is, by its shape.
#[derive(Debug, PartialEq, Eq)]
enum DerKey {
    /// PrivateKeyInfo / OneAsymmetricKey: SEQ { INTEGER 0|1, SEQ AlgorithmIdentifier, OCTET STRING, ... }
    Pkcs8,
    /// RSAPrivateKey (RFC 8017 A.1.2): SEQ { INTEGER 0, INTEGER n, INTEGER e, ... }
    Pkcs1,
    /// ECPrivateKey (RFC 5915 3): SEQ { INTEGER 1, OCTET STRING, [0] params, [1] public key }
    Sec1,
    /// EncryptedPrivateKeyInfo (RFC 5208 6): SEQ { SEQ AlgorithmIdentifier, OCTET STRING }
    Encrypted,
    Unknown,
}

fn der_key_kind(der: &[u8]) -> DerKey {
    let Ok((seq, _)) = derwalk::read_tlv(der) else {
        return DerKey::Unknown;
    };
    let Ok(kids) = derwalk::children(seq.content) else {
        return DerKey::Unknown;
    };
    let tags: Vec<u8> = kids.iter().map(|k| k.tag).collect();
    match tags.as_slice() {
        [0x02, 0x30, 0x04, ..] => DerKey::Pkcs8,
        [0x30, 0x04] => DerKey::Encrypted,
        [0x02, 0x04, ..] if kids[0].content == [1] => DerKey::Sec1,
        [0x02, 0x02, 0x02, ..] if kids[0].content == [0] && tags.iter().all(|t| *t == 0x02) => {
            DerKey::Pkcs1
        }
        _ => DerKey::Unknown,
    }
}

/// PKCS#8 PrivateKeyInfo around a PKCS#1 RSAPrivateKey (rsaEncryption, NULL parameters).
fn pkcs8_from_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    let alg = derwalk::tlv(
        0x30,
        &[
            derwalk::tlv(0x06, RSA_ENCRYPTION.as_bytes()),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    derwalk::tlv(
        0x30,
        &[vec![0x02, 0x01, 0x00], alg, derwalk::tlv(0x04, pkcs1)].concat(),
    )
}

/// PKCS#8 PrivateKeyInfo around a SEC1 ECPrivateKey; the curve comes from its [0] parameters.
fn pkcs8_from_sec1(sec1: &[u8]) -> Result<Vec<u8>, String> {
    let no_curve = || {
        "the EC PRIVATE KEY does not name its curve — hint: convert it with \
         `openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pk8.pem`"
            .to_string()
    };
    let (seq, _) = derwalk::read_tlv(sec1).map_err(|e| format!("not an EC private key ({e})"))?;
    let kids =
        derwalk::children(seq.content).map_err(|e| format!("not an EC private key ({e})"))?;
    let params = kids.iter().find(|k| k.tag == 0xa0).ok_or_else(no_curve)?;
    let (curve, _) = derwalk::read_tlv(params.content).map_err(|_| no_curve())?;
    if curve.tag != 0x06 {
        return Err(no_curve());
    }
    let alg = derwalk::tlv(
        0x30,
        &[
            derwalk::tlv(0x06, ID_EC_PUBLIC_KEY.as_bytes()),
            curve.full.to_vec(),
        ]
        .concat(),
    );
    Ok(derwalk::tlv(
        0x30,
        &[vec![0x02, 0x01, 0x00], alg, derwalk::tlv(0x04, sec1)].concat(),
    ))
}

/// A readable name for the key algorithms and curves people meet.
fn oid_name(oid: &ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.2.840.10040.4.1" => "DSA",
        "1.3.132.0.35" => "P-521 (secp521r1)",
        "1.3.132.0.10" => "secp256k1",
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1",
        "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1",
        "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1",
        _ => return oid.to_string(),
    };
    format!("{name} ({oid})")
}

/// What to ask the PKI for when the key type is not supported.
const SUPPORTED_KEYS: &str = "ask the PKI for a certificate with an RSA (2048 bits or more, 3072 \
     recommended), EC P-256 or EC P-384 key";

/// Reads the algorithm from a PKCS#8 PrivateKeyInfo (RFC 5208 5) and loads the key into ring.
fn parse_key(pkcs8: &[u8]) -> Result<(PrivateKey, KeyAlgorithm), String> {
    let not_pkcs8 = |e: String| format!("not a PKCS#8 private key ({e})");
    let (info, _) = derwalk::expect(pkcs8, 0x30, "PrivateKeyInfo").map_err(not_pkcs8)?;
    let (_version, rest) = derwalk::expect(info.content, 0x02, "version").map_err(not_pkcs8)?;
    let (alg, rest) = derwalk::expect(rest, 0x30, "privateKeyAlgorithm").map_err(not_pkcs8)?;
    let (oid, params) = derwalk::expect(alg.content, 0x06, "algorithm").map_err(not_pkcs8)?;
    let oid = ObjectIdentifier::from_bytes(oid.content).map_err(|e| not_pkcs8(e.to_string()))?;
    if oid == ID_EC_PUBLIC_KEY {
        let curve = derwalk::expect(params, 0x06, "namedCurve")
            .ok()
            .and_then(|(c, _)| ObjectIdentifier::from_bytes(c.content).ok());
        let (signing, algorithm) = match curve {
            Some(SECP_256_R_1) => (
                &ECDSA_P256_SHA256_ASN1_SIGNING,
                KeyAlgorithm::EcdsaP256Sha256,
            ),
            Some(SECP_384_R_1) => (
                &ECDSA_P384_SHA384_ASN1_SIGNING,
                KeyAlgorithm::EcdsaP384Sha384,
            ),
            other => {
                let name = other.map_or("with explicit (unnamed) parameters".to_string(), |c| {
                    oid_name(&c)
                });
                return Err(format!(
                    "EC curve {name} is not supported (the signing library implements \
                     P-256 and P-384) — hint: {SUPPORTED_KEYS}"
                ));
            }
        };
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(signing, pkcs8, &rng)
            .map_err(|e| format!("unusable EC key ({e})"))?;
        Ok((PrivateKey::Ec(key), algorithm))
    } else if oid == RSA_ENCRYPTION {
        // ring refuses small keys with a bare "TooSmall": count the modulus bits ourselves.
        if let Some(bits) = rsa_modulus_bits(rest)
            && bits < 2048
        {
            return Err(format!(
                "RSA key has {bits} bits; at least 2048 are required (BSI TR-02102-1 asks \
                 for 3000 or more for new keys) — hint: {SUPPORTED_KEYS}"
            ));
        }
        let key = RsaKeyPair::from_pkcs8(pkcs8)
            .map_err(|e| format!("unusable RSA key ({e}); RSA keys must have 2048 to 8192 bits"))?;
        let bits = key.public().modulus_len() * 8;
        Ok((PrivateKey::Rsa(key), KeyAlgorithm::RsaPkcs1Sha256 { bits }))
    } else {
        Err(format!(
            "key algorithm {} is not supported — hint: {SUPPORTED_KEYS}",
            oid_name(&oid)
        ))
    }
}

/// The modulus size of the RSAPrivateKey inside a PKCS#8 privateKey OCTET STRING.
fn rsa_modulus_bits(after_alg: &[u8]) -> Option<usize> {
    let (octets, _) = derwalk::expect(after_alg, 0x04, "privateKey").ok()?;
    let (seq, _) = derwalk::expect(octets.content, 0x30, "RSAPrivateKey").ok()?;
    let (_version, rest) = derwalk::expect(seq.content, 0x02, "version").ok()?;
    let (n, _) = derwalk::expect(rest, 0x02, "modulus").ok()?;
    let digits = n.content.iter().skip_while(|b| **b == 0).count();
    let top = n.content.iter().find(|b| **b != 0)?;
    Some(digits * 8 - top.leading_zeros() as usize)
}

/// id-kp-documentSigning (RFC 9336), Microsoft Document Signing, Adobe Authentic Documents
/// Trust: extended key usages made for document signatures.
const DOCUMENT_SIGNING_EKUS: [&str; 3] = [
    "1.3.6.1.5.5.7.3.36",
    "1.3.6.1.4.1.311.10.3.12",
    "1.2.840.113583.1.1.5",
];

/// Why `cert` must not sign documents, if it must not: a CA certificate (a CA key signs
/// certificates, RFC 5280 4.2.1.9), a KeyUsage without digitalSignature and nonRepudiation
/// (4.2.1.3), an extendedKeyUsage that names only other purposes (4.2.1.12: if present, the
/// certificate is for those purposes only). For the EKU we accept document signing,
/// emailProtection (S/MIME certificates, which city PKIs hand out for signing too) and
/// anyExtendedKeyUsage.
pub(crate) fn signing_use_problem(cert: &X509Certificate<'_>) -> Option<String> {
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {
            return Some(
                "it is a CA certificate (basicConstraints CA:TRUE); a CA key signs \
                 certificates, not documents"
                    .into(),
            );
        }
        Ok(_) => {}
        Err(e) => return Some(format!("bad basicConstraints extension: {e}")),
    }
    match cert.key_usage() {
        Ok(Some(ku)) if !(ku.value.digital_signature() || ku.value.non_repudiation()) => {
            return Some(format!(
                "its KeyUsage ({}) allows neither digitalSignature nor nonRepudiation \
                 (RFC 5280 4.2.1.3)",
                ku.value
            ));
        }
        Ok(_) => {}
        Err(e) => return Some(format!("bad KeyUsage extension: {e}")),
    }
    match cert.extended_key_usage() {
        Ok(Some(eku)) => {
            let e = &eku.value;
            let doc = e
                .other
                .iter()
                .any(|o| DOCUMENT_SIGNING_EKUS.contains(&o.to_id_string().as_str()));
            if !(e.any || e.email_protection || doc) {
                let mut named: Vec<String> = [
                    (e.server_auth, "serverAuth"),
                    (e.client_auth, "clientAuth"),
                    (e.code_signing, "codeSigning"),
                    (e.time_stamping, "timeStamping"),
                    (e.ocsp_signing, "OCSPSigning"),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, n)| n.to_string())
                .collect();
                named.extend(e.other.iter().map(|o| o.to_id_string()));
                return Some(format!(
                    "its extendedKeyUsage ({}) does not allow document signing; accepted are \
                     documentSigning (1.3.6.1.5.5.7.3.36), emailProtection and \
                     anyExtendedKeyUsage (RFC 5280 4.2.1.12)",
                    named.join(", ")
                ));
            }
        }
        Ok(None) => {}
        Err(e) => return Some(format!("bad extendedKeyUsage extension: {e}")),
    }
    None
}

/// How to get a certificate fit for signing, for the messages of [`signing_use_problem`].
fn signing_use_hint(cert: &X509Certificate<'_>) -> &'static str {
    if cert.subject().as_raw() == cert.issuer().as_raw() {
        "for a trial certificate use `resiscan keygen`, or give `openssl req -x509` the options \
         `-addext basicConstraints=critical,CA:FALSE -addext \
         keyUsage=critical,digitalSignature,nonRepudiation`"
    } else {
        "ask the PKI for a signing certificate (KeyUsage digitalSignature and nonRepudiation; \
         no extendedKeyUsage, or documentSigning or emailProtection) and point \
         signing.certificate and signing.key at it"
    }
}

/// The signer's issuer chain, built from `pool` (any order, duplicates ignored) by the one
/// chain walk ([`ChainCheck`]) judged `now`: each link issues the previous one, is a CA with
/// keyCertSign and is valid now. Stops at a self-issued certificate (the root) or when no
/// issuer is given — a chain that ends at an intermediate is fine if verifiers trust that one.
/// Refused: given certificates of which none issues the signer, and an issuer-named
/// certificate whose key does not verify (another CA with the same name). Certificates not on
/// the path are dropped with a warning.
fn issuer_chain(
    signer_der: &[u8],
    signer_path: &Path,
    pool: Vec<(PathBuf, Vec<u8>)>,
    now: OffsetDateTime,
    warnings: &mut Vec<String>,
) -> Result<Vec<(PathBuf, Vec<u8>)>, IdentityError> {
    let mut pool_unique: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for (path, der) in pool {
        if der != signer_der && !pool_unique.iter().any(|(_, d)| *d == der) {
            pool_unique.push((path, der));
        }
    }
    let pool = pool_unique;
    let ders: Vec<&[u8]> = pool.iter().map(|(_, d)| d.as_slice()).collect();
    // Signing has no trust anchors, so every certificate of the path is from the pool.
    let path_of = |s: Option<Source>| match s {
        Some(Source::Pool(i)) => pool[i].0.as_path(),
        Some(Source::Anchor(_)) | None => signer_path,
    };
    let chain_err = |s: Source, reason: String| IdentityError::Chain {
        path: path_of(Some(s)).to_path_buf(),
        reason,
    };
    let check = ChainCheck {
        anchors: &[],
        at: now,
    };
    let path = check.issuer_path(signer_der, &ders).map_err(|e| match e {
        ChainError::Unreadable(reason) => cert_err(signer_path, reason),
        ChainError::WrongKey {
            child,
            issuer_name,
            candidate,
            reason,
            ..
        } => chain_err(
            Source::Pool(candidate),
            format!(
                "its subject \"{issuer_name}\" is the issuer of {}, but its key does not verify \
                 that certificate's signature ({reason}): another CA with the same name, or the \
                 CA's old or new key — hint: give the CA certificate that issued the signer \
                 (compare `openssl x509 -noout -ext authorityKeyIdentifier` of the signer with \
                 `-ext subjectKeyIdentifier` of the CA)",
                path_of(child).display()
            ),
        ),
        ChainError::NotCa {
            issuer,
            subject,
            child,
        } => chain_err(
            issuer,
            format!(
                "\"{subject}\" issued {} but is not a CA certificate (no basicConstraints \
                 CA:TRUE, RFC 5280 4.2.1.9)",
                path_of(child).display()
            ),
        ),
        ChainError::NoCertSign { issuer, subject } => chain_err(
            issuer,
            format!(
                "\"{subject}\" has a KeyUsage without keyCertSign, so it may not issue \
                 certificates (RFC 5280 4.2.1.3)"
            ),
        ),
        ChainError::OutsideValidity {
            issuer,
            subject,
            why,
        } => chain_err(
            issuer,
            format!("\"{subject}\" is {why} — hint: get the current CA certificate from the PKI"),
        ),
        ChainError::TooLong { issuer } => chain_err(
            issuer,
            format!("the chain is longer than {MAX_CHAIN} certificates"),
        ),
    })?;
    if path.links.is_empty() && path.end == End::IssuerMissing {
        let issuer = parse_cert(signer_der)
            .map(|c| c.issuer().to_string())
            .map_err(|r| cert_err(signer_path, r))?;
        if !pool.is_empty() {
            let given: Vec<String> = pool
                .iter()
                .filter_map(|(p, d)| {
                    parse_cert(d)
                        .ok()
                        .map(|c| format!("\"{}\" ({})", c.subject(), p.display()))
                })
                .collect();
            return Err(IdentityError::Chain {
                path: pool[0].0.clone(),
                reason: format!(
                    "the chain does not link: {} is issued by \"{issuer}\", but the chain gives \
                     only {} — hint: put the certificate of the CA \"{issuer}\" into \
                     signing.chain",
                    signer_path.display(),
                    given.join(", "),
                ),
            });
        }
        warnings.push(format!(
            "certificate {} is issued by \"{issuer}\", but no signing.chain is given: the \
             signatures will not carry that CA's certificate, and verifiers that trust only the \
             root (openssl cms -CAfile, pyHanko, resiscan verify --trust ROOT) cannot build the \
             path — add the CA certificate to signing.chain",
            signer_path.display(),
        ));
    }
    let on_path: Vec<usize> = path
        .links
        .iter()
        .filter_map(|l| match l {
            Source::Pool(i) => Some(*i),
            Source::Anchor(_) => None,
        })
        .collect();
    for (i, (path, der)) in pool.iter().enumerate() {
        if !on_path.contains(&i) {
            let subject = parse_cert(der).map_or(String::new(), |c| c.subject().to_string());
            warnings.push(format!(
                "chain certificate \"{subject}\" ({}) is not on the signer's issuer path; it is \
                 not embedded in the signatures",
                path.display()
            ));
        }
    }
    Ok(on_path.into_iter().map(|i| pool[i].clone()).collect())
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
        assert!(
            err.to_string().contains("neither a DER key nor a PEM"),
            "{err}"
        );
        let err = SigningIdentity::load(&junk, &key_p, &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains("neither a DER certificate nor a PEM"),
            "{err}"
        );
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

    /// Root -> issuing CA -> signer, EC P-256, all valid around now: (root DER, issuing CA
    /// DER, signer DER, signer key PKCS#8 DER).
    fn three_level_pki(
        leaf: impl FnOnce(&mut rcgen::CertificateParams),
    ) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
        let now = OffsetDateTime::now_utc();
        let ca_params = |cn: &str| {
            let mut p = rcgen::CertificateParams::default();
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            p.key_usages = vec![
                rcgen::KeyUsagePurpose::KeyCertSign,
                rcgen::KeyUsagePurpose::CrlSign,
            ];
            p.not_before = now - time::Duration::days(10);
            p.not_after = now + time::Duration::days(1000);
            p
        };
        let gen_key = || rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let root_key = gen_key();
        let root_params = ca_params("Stadt Root CA");
        let root = root_params.self_signed(&root_key).unwrap();
        let root_issuer = rcgen::Issuer::new(root_params, &root_key);
        let inter_key = gen_key();
        let inter_params = ca_params("Stadt Issuing CA");
        let inter = inter_params.signed_by(&inter_key, &root_issuer).unwrap();
        let inter_issuer = rcgen::Issuer::new(inter_params, &inter_key);
        let leaf_key = gen_key();
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "Scanstelle");
        p.is_ca = rcgen::IsCa::ExplicitNoCa;
        p.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::ContentCommitment,
        ];
        p.not_before = now - time::Duration::days(1);
        p.not_after = now + time::Duration::days(365);
        leaf(&mut p);
        let signer = p.signed_by(&leaf_key, &inter_issuer).unwrap();
        (
            root.der().to_vec(),
            inter.der().to_vec(),
            signer.der().to_vec(),
            leaf_key.serialize_der(),
        )
    }

    #[test]
    fn chain_order_does_not_matter_and_bundles_work() {
        let dir = tempfile::tempdir().unwrap();
        let (root, inter, leaf, key) = three_level_pki(|_| {});
        let d = dir.path();
        let leaf_p = write(d, "leaf.pem", pem("CERTIFICATE", &leaf).as_bytes());
        let key_p = write(d, "key.der", &key);
        let root_p = write(d, "root.pem", pem("CERTIFICATE", &root).as_bytes());
        let inter_p = write(d, "inter.der", &inter);
        let bundle = write(
            d,
            "bundle.pem",
            (pem("CERTIFICATE", &root) + &pem("CERTIFICATE", &inter)).as_bytes(),
        );
        // Regression: a root-first chain or bundle was refused ("it does not issue ...").
        for chain in [
            vec![inter_p.clone(), root_p.clone()],
            vec![root_p.clone(), inter_p.clone()],
            vec![bundle.clone()],
            vec![bundle.clone(), inter_p.clone()],
        ] {
            let id = SigningIdentity::load(&leaf_p, &key_p, &chain).unwrap();
            assert_eq!(id.chain_der(), [inter.clone(), root.clone()], "{chain:?}");
            assert!(id.warnings().is_empty(), "{:?}", id.warnings());
        }
        // Intermediate only: fine (verifiers may trust the issuing CA).
        let id = SigningIdentity::load(&leaf_p, &key_p, std::slice::from_ref(&inter_p)).unwrap();
        assert_eq!(id.chain_der(), std::slice::from_ref(&inter));

        // One file with root, key, signer and issuing CA in any order: the key picks the signer.
        let all = write(
            d,
            "all.pem",
            (pem("CERTIFICATE", &root)
                + &pem("PRIVATE KEY", &key)
                + &pem("CERTIFICATE", &leaf)
                + &pem("CERTIFICATE", &inter))
                .as_bytes(),
        );
        let id = SigningIdentity::load(&all, &all, &[]).unwrap();
        assert_eq!(id.certificate_der(), leaf.as_slice());
        assert_eq!(id.chain_der(), [inter.clone(), root.clone()]);

        // No chain: works, with a warning naming the missing CA.
        let id = SigningIdentity::load(&leaf_p, &key_p, &[]).unwrap();
        assert!(
            id.warnings()
                .iter()
                .any(|w| w.contains("no signing.chain") && w.contains("Stadt Issuing CA")),
            "{:?}",
            id.warnings()
        );
        // A certificate that is not on the path: left out, with a warning.
        let now = OffsetDateTime::now_utc();
        let (_, _, other_root) = ca_and_leaf(now, now + time::Duration::days(1));
        let other_p = write(d, "other.der", &other_root);
        let id =
            SigningIdentity::load(&leaf_p, &key_p, &[inter_p.clone(), other_p.clone()]).unwrap();
        assert_eq!(id.chain_der(), std::slice::from_ref(&inter));
        assert!(
            id.warnings()[0].contains("other.der"),
            "{:?}",
            id.warnings()
        );
        // Only certificates that issue nothing of ours: the chain does not link.
        let err =
            SigningIdentity::load(&leaf_p, &key_p, std::slice::from_ref(&root_p)).unwrap_err();
        assert!(err.to_string().contains("does not link"), "{err}");
        assert!(err.to_string().contains("root.pem"), "{err}");
        assert!(err.to_string().contains("hint:"), "{err}");
        // Same name, other key: the look-alike issuing CA is named.
        let (_, look_alike, _, _) = three_level_pki(|_| {});
        let la_p = write(d, "look-alike.der", &look_alike);
        let err = SigningIdentity::load(&leaf_p, &key_p, &[la_p, root_p]).unwrap_err();
        assert!(
            err.to_string().contains("look-alike.der")
                && err.to_string().contains("does not verify"),
            "{err}"
        );
    }

    #[test]
    fn certificates_unfit_for_signing_are_refused_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        type Tweak = Box<dyn FnOnce(&mut rcgen::CertificateParams)>;
        let cases: Vec<(&str, Tweak, Option<&str>)> = vec![
            (
                "ca-signer",
                Box::new(|p| {
                    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
                    p.key_usages.push(rcgen::KeyUsagePurpose::KeyCertSign);
                }),
                Some("CA certificate"),
            ),
            (
                "tls-server",
                Box::new(|p| {
                    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
                }),
                Some("extendedKeyUsage (serverAuth)"),
            ),
            (
                "client-only",
                Box::new(|p| {
                    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
                }),
                Some("extendedKeyUsage (clientAuth)"),
            ),
            (
                "smime",
                Box::new(|p| {
                    p.extended_key_usages = vec![
                        rcgen::ExtendedKeyUsagePurpose::EmailProtection,
                        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
                    ];
                }),
                None,
            ),
            (
                "document-signing",
                Box::new(|p| {
                    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::Other(vec![
                        1, 3, 6, 1, 5, 5, 7, 3, 36,
                    ])];
                }),
                None,
            ),
            (
                "encipherment",
                Box::new(|p| {
                    p.key_usages = vec![rcgen::KeyUsagePurpose::KeyEncipherment];
                }),
                Some("allows neither digitalSignature nor nonRepudiation"),
            ),
        ];
        for (name, tweak, refused) in cases {
            let (_, inter, leaf, key) = three_level_pki(tweak);
            let leaf_p = write(dir.path(), &format!("{name}.der"), &leaf);
            let key_p = write(dir.path(), &format!("{name}.key"), &key);
            let inter_p = write(dir.path(), "inter.der", &inter);
            match (SigningIdentity::load(&leaf_p, &key_p, &[inter_p]), refused) {
                (Ok(id), None) => {
                    // pdfsig (NSS) refuses an EKU without emailProtection: warned.
                    let nss = id.warnings().iter().any(|w| w.contains("pdfsig (NSS)"));
                    assert_eq!(
                        nss,
                        name == "document-signing",
                        "{name}: {:?}",
                        id.warnings()
                    );
                }
                (Err(e), Some(want)) => {
                    let e = e.to_string();
                    assert!(e.contains(want), "{name}: {e}");
                    assert!(e.contains(&format!("{name}.der")), "{name}: {e}");
                    assert!(e.contains("hint:"), "{name}: {e}");
                }
                (r, want) => panic!("{name}: {:?} but expected refusal {want:?}", r.err()),
            }
        }
    }

    fn openssl(args: &[&str]) {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl is required for these tests");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A self-signed end-entity certificate for `key` made by openssl, as a PKI would.
    fn openssl_cert(dir: &Path, key: &Path, name: &str) -> PathBuf {
        let cert = dir.join(format!("{name}.crt"));
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            key.to_str().unwrap(),
            "-days",
            "30",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature,nonRepudiation",
            "-out",
            cert.to_str().unwrap(),
        ]);
        cert
    }

    #[test]
    fn reads_the_key_formats_openssl_writes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let p = |n: &str| d.join(n).to_str().unwrap().to_string();
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &p("rsa.pk8.pem"),
        ]);
        openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &p("ec.pk8.pem"),
        ]);
        let rsa_cert = openssl_cert(d, &d.join("rsa.pk8.pem"), "rsa");
        let ec_cert = openssl_cert(d, &d.join("ec.pk8.pem"), "ec");
        // Regression: all but PKCS#8 were refused, and `openssl pkey -outform DER` writes the
        // traditional (PKCS#1 / SEC1) DER, not PKCS#8, which gave a cryptic error.
        openssl(&[
            "rsa",
            "-in",
            &p("rsa.pk8.pem"),
            "-traditional",
            "-out",
            &p("rsa.pkcs1.pem"),
        ]);
        openssl(&[
            "pkey",
            "-in",
            &p("rsa.pk8.pem"),
            "-outform",
            "DER",
            "-out",
            &p("rsa.pkey.der"),
        ]);
        openssl(&[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            &p("rsa.pk8.pem"),
            "-outform",
            "DER",
            "-out",
            &p("rsa.pk8.der"),
        ]);
        openssl(&["ec", "-in", &p("ec.pk8.pem"), "-out", &p("ec.sec1.pem")]);
        openssl(&[
            "pkey",
            "-in",
            &p("ec.pk8.pem"),
            "-outform",
            "DER",
            "-out",
            &p("ec.pkey.der"),
        ]);
        for (cert, key) in [
            (&rsa_cert, "rsa.pk8.pem"),
            (&rsa_cert, "rsa.pkcs1.pem"),
            (&rsa_cert, "rsa.pkey.der"),
            (&rsa_cert, "rsa.pk8.der"),
            (&ec_cert, "ec.pk8.pem"),
            (&ec_cert, "ec.sec1.pem"),
            (&ec_cert, "ec.pkey.der"),
        ] {
            let id = SigningIdentity::load(cert, &d.join(key), &[])
                .unwrap_or_else(|e| panic!("{key}: {e}"));
            assert!(id.warnings().is_empty(), "{key}: {:?}", id.warnings());
        }
        assert_eq!(
            fs::read(d.join("rsa.pkey.der")).unwrap()[4..7],
            [0x02, 0x01, 0x00],
            "the test needs openssl's traditional DER"
        );

        // `openssl ecparam -genkey` writes an EC PARAMETERS block before the SEC1 key.
        openssl(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            &p("ecparam.pem"),
        ]);
        let ecparam_cert = openssl_cert(d, &d.join("ecparam.pem"), "ecparam");
        SigningIdentity::load(&ecparam_cert, &d.join("ecparam.pem"), &[]).unwrap();

        // Regression: a certificate after text (`openssl x509 -text`), CRLF line ends.
        let text = d.join("text.pem");
        let out = std::process::Command::new("openssl")
            .args(["x509", "-text", "-in"])
            .arg(&ec_cert)
            .output()
            .unwrap();
        assert!(out.stdout.starts_with(b"Certificate:"));
        fs::write(&text, &out.stdout).unwrap();
        SigningIdentity::load(&text, &d.join("ec.pk8.pem"), &[]).unwrap();
        let crlf = |name: &str| {
            let s = fs::read_to_string(d.join(name))
                .unwrap()
                .replace('\n', "\r\n");
            write(d, &format!("{name}.crlf"), s.as_bytes())
        };
        SigningIdentity::load(&crlf("ec.crt"), &crlf("ec.sec1.pem"), &[]).unwrap();

        // Encrypted keys, PKCS#8 and legacy PEM: refused with the command that decrypts them.
        openssl(&[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:x",
            "-in",
            &p("ec.pk8.pem"),
            "-out",
            &p("ec.enc.pem"),
        ]);
        openssl(&[
            "ec",
            "-aes256",
            "-passout",
            "pass:x",
            "-in",
            &p("ec.pk8.pem"),
            "-out",
            &p("ec.legacy-enc.pem"),
        ]);
        for key in ["ec.enc.pem", "ec.legacy-enc.pem"] {
            let err = SigningIdentity::load(&ec_cert, &d.join(key), &[]).unwrap_err();
            assert!(
                err.to_string().contains("encrypted")
                    && err
                        .to_string()
                        .contains("openssl pkey -in KEY -out key.pk8.pem"),
                "{key}: {err}"
            );
        }
        // Regression: a PKCS#12 file was "not a valid X.509 certificate" (as certificate)
        // and "is it the certificate?" (as key); now named, with the conversion command.
        openssl(&[
            "pkcs12",
            "-export",
            "-inkey",
            &p("ec.pk8.pem"),
            "-in",
            ec_cert.to_str().unwrap(),
            "-passout",
            "pass:x",
            "-out",
            &p("id.p12"),
        ]);
        for (cert, key) in [
            (d.join("id.p12"), d.join("ec.pk8.pem")),
            (ec_cert.clone(), d.join("id.p12")),
        ] {
            let err = SigningIdentity::load(&cert, &key, &[])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("PKCS#12") && err.contains("openssl pkcs12 -in FILE -nodes"),
                "{err}"
            );
        }
        openssl(&[
            "pkcs12",
            "-in",
            &p("id.p12"),
            "-passin",
            "pass:x",
            "-nodes",
            "-out",
            &p("id.pem"),
        ]);
        SigningIdentity::load(&d.join("id.pem"), &d.join("id.pem"), &[]).unwrap();

        // Swapped certificate and key: said so.
        let err = SigningIdentity::load(&d.join("ec.pk8.pem"), &ec_cert, &[]).unwrap_err();
        assert!(err.to_string().contains("not swapped"), "{err}");
    }

    #[test]
    fn p384_signs_with_sha384_and_small_or_exotic_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let p = |n: &str| d.join(n).to_str().unwrap().to_string();
        openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            &p("p384.pem"),
        ]);
        let cert = openssl_cert(d, &d.join("p384.pem"), "p384");
        let id = SigningIdentity::load(&cert, &d.join("p384.pem"), &[]).unwrap();
        assert_eq!(id.algorithm(), KeyAlgorithm::EcdsaP384Sha384);
        assert_eq!(id.digest(), DigestAlgorithm::Sha384);
        assert_eq!(id.signature_algorithm().oid, ECDSA_WITH_SHA_384);
        let sig = id.sign(b"hello").unwrap();
        let parsed = parse_cert(id.certificate_der()).unwrap();
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P384_SHA384_ASN1,
            parsed.public_key().subject_public_key.data.as_ref(),
        )
        .verify(b"hello", &sig)
        .unwrap();

        for (name, args, want) in [
            (
                "rsa1024",
                vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
                "RSA key has 1024 bits",
            ),
            (
                "bp256",
                vec![
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:brainpoolP256r1",
                ],
                "brainpoolP256r1",
            ),
            ("ed25519", vec!["-algorithm", "ED25519"], "Ed25519"),
        ] {
            let key = d.join(format!("{name}.pem"));
            let mut a = vec!["genpkey"];
            a.extend(args);
            a.extend(["-out", key.to_str().unwrap()]);
            openssl(&a);
            let err = SigningIdentity::load(&cert, &key, &[]).unwrap_err();
            assert!(err.to_string().contains(want), "{name}: {err}");
            assert!(err.to_string().contains("hint:"), "{name}: {err}");
        }
    }

    #[test]
    fn der_key_shapes() {
        assert_eq!(der_key_kind(&[0x30, 0x00]), DerKey::Unknown);
        assert_eq!(der_key_kind(b"junk"), DerKey::Unknown);
        assert_eq!(
            der_key_kind(&[0x30, 0x06, 0x30, 0x00, 0x04, 0x02, 1, 2]),
            DerKey::Encrypted
        );
        assert!(pkcs8_from_sec1(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
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

    /// A demo-like key and self-signed certificate valid from `nb` to `na`, PEM, in the
    /// store's demo folder.
    fn plant_demo(store: &Path, nb: OffsetDateTime, na: OffsetDateTime) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "old demo");
        params.not_before = nb;
        params.not_after = na;
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::ContentCommitment,
        ];
        let cert = params.self_signed(&key).unwrap();
        let dir = store.join(DEMO_DIR);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(DEMO_KEY), key.serialize_pem()).unwrap();
        fs::write(dir.join(DEMO_CERT), cert.pem()).unwrap();
    }

    #[test]
    fn an_expired_demo_identity_is_replaced_and_kept_but_a_future_one_is_an_error() {
        let now = OffsetDateTime::now_utc();
        let store = tempfile::tempdir().unwrap();
        plant_demo(
            store.path(),
            now - time::Duration::days(800),
            now - time::Duration::days(70),
        );
        let old = fs::read(store.path().join(DEMO_DIR).join(DEMO_CERT)).unwrap();
        let id = SigningIdentity::demo(store.path()).unwrap();
        assert!(
            id.subject().contains("demo signer (untrusted)"),
            "{}",
            id.subject()
        );
        let mut names: Vec<String> = fs::read_dir(store.path().join(DEMO_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(names[1].starts_with("cert.pem.expired-"), "{names:?}");
        assert!(names[3].starts_with("key.pk8.pem.expired-"), "{names:?}");
        let kept = fs::read(store.path().join(DEMO_DIR).join(&names[1])).unwrap();
        assert_eq!(kept, old);

        // Not yet valid (a clock set back?) is not "expired": nothing is moved or replaced.
        let store = tempfile::tempdir().unwrap();
        plant_demo(
            store.path(),
            now + time::Duration::days(3),
            now + time::Duration::days(700),
        );
        let err = SigningIdentity::demo(store.path()).unwrap_err();
        assert!(
            matches!(
                err,
                IdentityError::OutsideValidity {
                    why: OutsideValidity::NotYetValid { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            fs::read_dir(store.path().join(DEMO_DIR)).unwrap().count(),
            2
        );
    }
}
