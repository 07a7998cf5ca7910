//! Detached CMS SignedData (RFC 5652) for transfer notes and PAdES, and its verification.
//!
//! Built by hand from the RustCrypto `cms`/`der`/`x509-cert` types and signed with `ring`
//! (the `cms` builder feature drags in `rsa`, which has an open advisory). What we produce is
//! the CAdES-B-B shape (ETSI EN 319 122-1) that PAdES B-B (ETSI EN 319 142-1) embeds:
//! - ContentInfo(SignedData) v1, digestAlgorithms {sha256}, eContentType id-data, no eContent;
//! - certificates: the signer and its chain;
//! - one SignerInfo identified by IssuerAndSerialNumber, with signed attributes content-type,
//!   message-digest, ESS signing-certificate-v2 (RFC 5035) and — only when asked, for notes —
//!   signing-time. PAdES must not carry signing-time (ETSI EN 319 142-1 5.4: the time is /M).
//!
//! Verification checks what generic tools skip: OpenSSL and pdfsig do not check the ESS
//! certificate hash, so [`verify_detached`] does.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE_V_2, ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA,
    ID_SIGNING_TIME,
};
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ID_EC_PUBLIC_KEY, ID_SHA_256, RSA_ENCRYPTION,
    SECP_256_R_1, SECP_384_R_1, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
};
use der::asn1::{GeneralizedTime, OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode, Sequence};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::serial_number::SerialNumber;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};

use super::derwalk;
use super::hash::DigestAlgorithm;
use super::identity::{IdentityError, SigningIdentity, parse_cert};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    #[error("encoding the CMS structure failed: {0}")]
    Encode(der::Error),
    #[error(transparent)]
    Sign(#[from] IdentityError),
    #[error("signing time {0} cannot be encoded (before 1970?)")]
    SigningTime(String),
    #[error("not a CMS SignedData: {0}")]
    Malformed(String),
    #[error(transparent)]
    Timestamp(#[from] super::tsp::TsaError),
    #[error("content digest has {got} bytes, but {alg} needs {want}")]
    DigestLength {
        alg: &'static str,
        got: usize,
        want: usize,
    },
}

// By hand, not `#[from]`: that would also make the DER error the `source()` of an error that
// already prints it (STYLE §3: a cause is printed or sourced, never both).
impl From<der::Error> for CryptoError {
    fn from(e: der::Error) -> CryptoError {
        CryptoError::Encode(e)
    }
}

/// id-aa-signingCertificate (RFC 2634 5.4): ESS v1, SHA-1, what many TSAs still send.
const ID_AA_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");

/// Options for [`sign_detached`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CmsOptions {
    /// The signing-time attribute (RFC 5652 11.3). `Some` for transfer notes; `None` for PAdES,
    /// where ETSI EN 319 142-1 forbids it (the time is the signature dictionary's /M).
    pub signing_time: Option<OffsetDateTime>,
}

/// ESS SigningCertificateV2 (RFC 5035 3).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Vec<Any>>,
}

/// ESSCertIDv2 (RFC 5035 4). `hashAlgorithm` is `DEFAULT {algorithm id-sha256}`; DER omits a
/// component equal to its default (X.690 11.5), so `None` here means sha256 and is what we
/// write.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// IssuerSerial (RFC 5035 4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: GeneralNames,
    serial_number: SerialNumber,
}

/// Where a file's detached signature lives: the same path with `.p7s` appended
/// (`transfer-note.yaml` -> `transfer-note.yaml.p7s`).
pub fn detached_signature_path(path: &std::path::Path) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".p7s");
    s.into()
}

/// Signs `content` (a transfer note, a QA addendum) as detached CMS with the signing-time
/// attribute set to now; returns the content's SHA-256 (what notes record, whatever the
/// signature's own hash) and the signature's DER.
pub fn sign_content_now(
    identity: &SigningIdentity,
    content: &[u8],
) -> Result<([u8; 32], Vec<u8>), CryptoError> {
    let sha256: [u8; 32] = Sha256::digest(content).into();
    let der = sign_digest_now(identity, &identity.digest().digest(content))?;
    Ok((sha256, der))
}

/// As [`sign_content_now`], for content already hashed with the identity's
/// [`SigningIdentity::digest`] (a note streamed to disk through a
/// [`crate::crypto::HashingWriter::for_signing`]).
pub fn sign_digest_now(
    identity: &SigningIdentity,
    content_digest: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    sign_detached(
        identity,
        content_digest,
        CmsOptions {
            signing_time: Some(OffsetDateTime::now_utc()),
        },
    )
}

/// Signs a content digest as a detached CMS SignedData; returns the ContentInfo DER. The
/// digest must be made with the identity's [`SigningIdentity::digest`] (SHA-256, or SHA-384
/// for P-384 keys).
pub fn sign_detached(
    identity: &SigningIdentity,
    content_digest: &[u8],
    opts: CmsOptions,
) -> Result<Vec<u8>, CryptoError> {
    let alg = identity.digest();
    let want = alg.digest(b"").len();
    if content_digest.len() != want {
        return Err(CryptoError::DigestLength {
            alg: alg.name(),
            got: content_digest.len(),
            want,
        });
    }
    let cert_hash: [u8; 32] = Sha256::digest(identity.certificate_der()).into();
    build_signed(identity, content_digest, opts, &cert_hash)
}

/// The builder behind [`sign_detached`], with the ESS hash as a parameter so tests can make a
/// CMS whose ESS hash is wrong.
fn build_signed(
    identity: &SigningIdentity,
    content_digest: &[u8],
    opts: CmsOptions,
    ess_cert_hash: &[u8; 32],
) -> Result<Vec<u8>, CryptoError> {
    let cert = identity.cert();
    let issuer = cert.tbs_certificate.issuer.clone();
    let serial = cert.tbs_certificate.serial_number.clone();

    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(ess_cert_hash.to_vec())?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(issuer.clone())],
                serial_number: serial.clone(),
            }),
        }],
        policies: None,
    };

    // SET OF Attribute: SetOfVec keeps DER order (X.690 11.6), which the signature needs.
    let mut attrs: SetOfVec<Attribute> = SetOfVec::new();
    attrs.insert(attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?)?;
    attrs.insert(attribute(
        ID_MESSAGE_DIGEST,
        Any::encode_from(&OctetString::new(content_digest.to_vec())?)?,
    )?)?;
    attrs.insert(attribute(
        ID_AA_SIGNING_CERTIFICATE_V_2,
        Any::encode_from(&ess)?,
    )?)?;
    if let Some(t) = opts.signing_time {
        attrs.insert(attribute(ID_SIGNING_TIME, signing_time_value(t)?)?)?;
    }
    // RFC 5652 5.4: the signature is over the DER of the attributes with the SET OF tag
    // (0x31), not the [0] IMPLICIT tag they carry inside SignerInfo.
    let signature = identity.sign(&attrs.to_der()?)?;
    // PAdES B-T / CAdES-T: a timestamp over the signature value, as unsigned attribute
    // (RFC 3161 Appendix A), when the identity has a TSA.
    let unsigned_attrs = match identity.timestamper() {
        None => None,
        Some(tsa) => {
            let imprint: [u8; 32] = Sha256::digest(&signature).into();
            let token = tsa.stamp(&imprint)?;
            let mut set: SetOfVec<Attribute> = SetOfVec::new();
            set.insert(attribute(
                super::tsp::ID_AA_TIME_STAMP_TOKEN,
                Any::from_der(&token)?,
            )?)?;
            Some(set)
        }
    };

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number: serial,
        }),
        digest_alg: identity.digest_algorithm(),
        signed_attrs: Some(attrs),
        signature_algorithm: identity.signature_algorithm(),
        signature: OctetString::new(signature)?,
        unsigned_attrs,
    };

    let mut certs = vec![CertificateChoices::Certificate(cert.clone())];
    for der in identity.chain_der() {
        certs.push(CertificateChoices::Certificate(
            x509_cert::Certificate::from_der(der)?,
        ));
    }
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![identity.digest_algorithm()])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet::try_from(certs)?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info])?,
    };
    let info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    };
    Ok(info.to_der()?)
}

fn attribute(oid: ObjectIdentifier, value: Any) -> der::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// RFC 5652 11.3: UTCTime for 1950–2049, GeneralizedTime otherwise.
fn signing_time_value(t: OffsetDateTime) -> Result<Any, CryptoError> {
    let secs =
        u64::try_from(t.unix_timestamp()).map_err(|_| CryptoError::SigningTime(t.to_string()))?;
    let d = std::time::Duration::from_secs(secs);
    let bad = |_| CryptoError::SigningTime(t.to_string());
    Ok(if t.year() < 2050 {
        Any::encode_from(&UtcTime::from_unix_duration(d).map_err(bad)?)?
    } else {
        Any::encode_from(&GeneralizedTime::from_unix_duration(d).map_err(bad)?)?
    })
}

/// What [`verify_detached`] found. An empty `problems` list means the signature is
/// mathematically valid; whether the signer is trusted is the caller's question.
#[derive(Debug, Clone)]
pub struct SignatureReport {
    /// The certificate the SignerInfo names, exactly as embedded.
    pub signer_cert_der: Vec<u8>,
    /// The other certificates in the CMS, as embedded (candidates for the chain).
    pub chain_der: Vec<Vec<u8>>,
    /// The signing-time attribute, if present.
    pub signing_time: Option<OffsetDateTime>,
    /// Each failed check, as a sentence for the QA clerk.
    pub problems: Vec<String>,
    /// The SignerInfo's signature value (what a signature timestamp covers).
    pub signature_value: Vec<u8>,
    /// The signature-time-stamp tokens among the unsigned attributes (ContentInfo DER).
    pub timestamp_tokens: Vec<Vec<u8>>,
}

impl SignatureReport {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Problem text for a message-digest mismatch (also used by the verifier's tests).
pub const DIGEST_MISMATCH: &str =
    "digest mismatch: the file changed after signing, or the signature belongs to another file";
/// Problem text for a wrong ESS certificate hash.
pub const ESS_MISMATCH: &str =
    "ESS signing-certificate-v2 hash does not match the signer certificate";
/// Problem text for a signature that does not verify.
pub const BAD_SIGNATURE: &str =
    "the signature over the signed attributes does not verify with the signer certificate's key";

/// Verifies a detached CMS against the content's bytes.
pub fn verify_detached_content(
    cms_der: &[u8],
    content: &[u8],
) -> Result<SignatureReport, CryptoError> {
    let alg = digest_algorithm_of(cms_der)?;
    verify_detached(cms_der, &alg.digest(content))
}

/// The digest algorithm the (first) SignerInfo of a CMS uses, so the caller can hash the
/// content with it before [`verify_detached`]. Unsupported algorithms are an error.
pub fn digest_algorithm_of(cms_der: &[u8]) -> Result<DigestAlgorithm, CryptoError> {
    // PAdES pads /Contents with zero bytes after the DER: decode the first TLV only.
    let der = derwalk::read_tlv(cms_der).map_or(cms_der, |(t, _)| t.full);
    let info = ContentInfo::from_der(der)
        .map_err(|e| CryptoError::Malformed(format!("ContentInfo does not decode: {e}")))?;
    let signed: SignedData = info
        .content
        .decode_as()
        .map_err(|e| CryptoError::Malformed(format!("SignedData does not decode: {e}")))?;
    let si = signed
        .signer_infos
        .0
        .get(0)
        .ok_or_else(|| CryptoError::Malformed("no SignerInfo".into()))?;
    DigestAlgorithm::from_oid(&si.digest_alg.oid).ok_or_else(|| {
        CryptoError::Malformed(format!(
            "digest algorithm {} is not supported (SHA-256 or SHA-384 expected)",
            si.digest_alg.oid
        ))
    })
}

/// Verifies a detached CMS SignedData against a content digest made with the CMS's own
/// digest algorithm ([`digest_algorithm_of`]): the message-digest attribute, the signature
/// over the signed attributes with the signer certificate's key, and the ESS
/// signing-certificate-v2 hash. Structural garbage is an error; failed checks are listed in
/// the report.
pub fn verify_detached(
    cms_der: &[u8],
    content_digest: &[u8],
) -> Result<SignatureReport, CryptoError> {
    verify_signed(cms_der, Expect::Detached(content_digest)).map(|(r, _)| r)
}

/// Every certificate a CMS signature carries, its signature timestamps' TSA certificates
/// included (DER, each once): what a PAdES DSS holds so that a validator needs no other
/// source for the chains.
pub fn certificates_of(cms_der: &[u8]) -> Result<Vec<Vec<u8>>, CryptoError> {
    // The content digest does not matter here: only the structure is read (a digest
    // mismatch is merely listed among the report's problems).
    let alg = digest_algorithm_of(cms_der)?;
    let sig = verify_detached(cms_der, &alg.digest(b""))?;
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut add = |der: &Vec<u8>| {
        if !out.contains(der) {
            out.push(der.clone());
        }
    };
    add(&sig.signer_cert_der);
    sig.chain_der.iter().for_each(&mut add);
    for token in &sig.timestamp_tokens {
        let tst = verify_tst(token)?;
        add(&tst.report.signer_cert_der);
        tst.report.chain_der.iter().for_each(&mut add);
    }
    Ok(out)
}

/// A timestamp token's CMS as [`verify_tst`] found it.
#[derive(Debug, Clone)]
pub struct TstSignature {
    /// The TSA's signature: signer certificate, other certificates, failed checks.
    pub report: SignatureReport,
    /// The encapsulated TSTInfo DER the signature covers.
    pub tst_info: Vec<u8>,
}

/// Verifies the CMS of an RFC 3161 timestamp token (ContentInfo DER): eContentType
/// id-ct-TSTInfo, the message digest over the encapsulated TSTInfo, the TSA's signature over
/// the signed attributes, and the ESS signing-certificate (v1 or v2) hash. What the TSTInfo
/// says is the caller's ([`super::tsp::check_token`]).
pub fn verify_tst(token: &[u8]) -> Result<TstSignature, CryptoError> {
    let (report, tst) = verify_signed(token, Expect::TstInfo)?;
    Ok(TstSignature {
        report,
        tst_info: tst.unwrap_or_default(),
    })
}

/// What [`verify_signed`] expects: a detached signature over a content with this digest, or
/// a timestamp token encapsulating its TSTInfo.
#[derive(Clone, Copy)]
enum Expect<'a> {
    Detached(&'a [u8]),
    TstInfo,
}

fn verify_signed(
    cms_der: &[u8],
    expect: Expect<'_>,
) -> Result<(SignatureReport, Option<Vec<u8>>), CryptoError> {
    let bad = CryptoError::Malformed;
    // Walk the raw DER to keep the exact bytes of certificates and signed attributes.
    let (info, trailing) = derwalk::expect(cms_der, 0x30, "ContentInfo").map_err(bad)?;
    if !trailing.iter().all(|b| *b == 0) {
        // PAdES pads /Contents with zeros; anything else after the CMS is suspicious.
        return Err(bad("data after the CMS structure".into()));
    }
    let (oid, rest) = derwalk::expect(info.content, 0x06, "contentType").map_err(bad)?;
    if ObjectIdentifier::from_bytes(oid.content).ok() != Some(ID_SIGNED_DATA) {
        return Err(bad("content type is not id-signedData".into()));
    }
    let (explicit, _) = derwalk::expect(rest, 0xa0, "content").map_err(bad)?;
    let (sd, _) = derwalk::expect(explicit.content, 0x30, "SignedData").map_err(bad)?;
    let parts = derwalk::children(sd.content).map_err(bad)?;
    let mut certs_raw: Vec<&[u8]> = Vec::new();
    let mut signer_infos_raw = None;
    for part in &parts {
        match part.tag {
            0xa0 => {
                for c in derwalk::children(part.content).map_err(bad)? {
                    if c.tag == 0x30 {
                        certs_raw.push(c.full);
                    }
                }
            }
            0x31 => signer_infos_raw = Some(*part),
            _ => {}
        }
    }
    // The typed decode (for field access); the raw walk above is for exact bytes.
    let signed: SignedData = Any::from_der(explicit.content)
        .and_then(|a| a.decode_as())
        .map_err(|e| bad(format!("SignedData does not decode: {e}")))?;

    let mut problems = Vec::new();
    // RFC 5652 5.1: without attribute certificates or "other" formats the version is 1 or 3.
    if !matches!(signed.version, CmsVersion::V1 | CmsVersion::V3) {
        problems.push(format!(
            "SignedData version {:?} does not fit its content (RFC 5652 5.1)",
            signed.version
        ));
    }
    let econtent = match expect {
        Expect::Detached(_) => {
            if signed.encap_content_info.econtent.is_some() {
                problems.push(
                    "the CMS encapsulates its content; a detached signature was expected".into(),
                );
            }
            if signed.encap_content_info.econtent_type != ID_DATA {
                problems.push(format!(
                    "eContentType is {}, expected id-data",
                    signed.encap_content_info.econtent_type
                ));
            }
            None
        }
        Expect::TstInfo => {
            if signed.encap_content_info.econtent_type != super::tsp::ID_CT_TST_INFO {
                return Err(bad(format!(
                    "eContentType is {}, expected id-ct-TSTInfo",
                    signed.encap_content_info.econtent_type
                )));
            }
            let octets = signed
                .encap_content_info
                .econtent
                .as_ref()
                .ok_or_else(|| bad("the timestamp token encapsulates no TSTInfo".into()))?
                .decode_as::<OctetString>()
                .map_err(|e| bad(format!("eContent is not an OCTET STRING: {e}")))?;
            Some(octets.as_bytes().to_vec())
        }
    };
    let signer_infos = signer_infos_raw
        .ok_or_else(|| bad("no SignerInfos".into()))
        .and_then(|s| derwalk::children(s.content).map_err(bad))?;
    let signer_raw = match signer_infos.as_slice() {
        [] => return Err(bad("no SignerInfo".into())),
        [one] => one,
        [first, ..] => {
            problems.push(format!(
                "{} SignerInfos; only one signer is expected",
                signer_infos.len()
            ));
            first
        }
    };
    let si = SignerInfo::from_der(signer_raw.full)
        .map_err(|e| bad(format!("SignerInfo does not decode: {e}")))?;

    // Locate the signer certificate by the SignerInfo's identifier (RFC 5652 5.3).
    let mut signer_idx = None;
    for (i, raw) in certs_raw.iter().enumerate() {
        let Ok(c) = x509_cert::Certificate::from_der(raw) else {
            continue;
        };
        let hit = match &si.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                ias.issuer == c.tbs_certificate.issuer
                    && ias.serial_number == c.tbs_certificate.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => parse_cert(raw)
                .ok()
                .and_then(|p| {
                    p.iter_extensions()
                        .find_map(|e| match e.parsed_extension() {
                            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => {
                                Some(k.0 == ski.0.as_bytes())
                            }
                            _ => None,
                        })
                })
                .unwrap_or(false),
        };
        if hit {
            signer_idx = Some(i);
            break;
        }
    }
    let Some(signer_idx) = signer_idx else {
        return Err(bad(
            "the signer certificate is not included in the CMS (or does not match the SignerInfo)"
                .into(),
        ));
    };
    let signer_cert_der = certs_raw[signer_idx].to_vec();
    let chain_der: Vec<Vec<u8>> = certs_raw
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != signer_idx)
        .map(|(_, d)| d.to_vec())
        .collect();

    // RFC 5652 5.1: digestAlgorithms lists every signer's digest algorithm.
    if !signed
        .digest_algorithms
        .iter()
        .any(|a| a.oid == si.digest_alg.oid)
    {
        problems.push("SignedData digestAlgorithms does not list the signer's algorithm".into());
    }
    // RFC 5652 5.3: version 1 with IssuerAndSerialNumber, 3 with SubjectKeyIdentifier.
    let expected = match si.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
    };
    if si.version != expected {
        problems.push(format!(
            "SignerInfo version {:?} does not fit its signer identifier (RFC 5652 5.3)",
            si.version
        ));
    }
    let digest_alg = DigestAlgorithm::from_oid(&si.digest_alg.oid);
    if digest_alg.is_none() {
        problems.push(format!(
            "digest algorithm {} is not supported (SHA-256 or SHA-384 expected)",
            si.digest_alg.oid
        ));
    }
    let signature_value = si.signature.as_bytes().to_vec();
    let timestamp_tokens: Vec<Vec<u8>> = si
        .unsigned_attrs
        .iter()
        .flat_map(|set| set.iter())
        .filter(|a| a.oid == super::tsp::ID_AA_TIME_STAMP_TOKEN)
        .flat_map(|a| a.values.iter())
        .filter_map(|v| v.to_der().ok())
        .collect();
    let computed;
    let content_digest: &[u8] = match (expect, &econtent, digest_alg) {
        (Expect::Detached(d), _, _) => d,
        (Expect::TstInfo, Some(tst), Some(alg)) => {
            computed = alg.digest(tst);
            &computed
        }
        _ => &[],
    };
    let Some(attrs) = &si.signed_attrs else {
        problems.push("no signed attributes (CAdES requires them)".into());
        return Ok((
            SignatureReport {
                signer_cert_der,
                chain_der,
                signing_time: None,
                problems,
                signature_value,
                timestamp_tokens,
            },
            econtent,
        ));
    };
    let single = |oid: ObjectIdentifier| -> Option<&Any> {
        let mut it = attrs.iter().filter(|a| a.oid == oid);
        let a = it.next()?;
        // RFC 5652 11: these attributes are single-valued and must appear once.
        if it.next().is_some() || a.values.len() != 1 {
            return None;
        }
        a.values.get(0)
    };

    match single(ID_CONTENT_TYPE).map(|v| v.decode_as::<ObjectIdentifier>()) {
        Some(Ok(oid)) if oid == signed.encap_content_info.econtent_type => {}
        _ => problems.push("content-type attribute missing or not equal to eContentType".into()),
    }
    match single(ID_MESSAGE_DIGEST).map(|v| v.decode_as::<OctetString>()) {
        Some(Ok(md)) if md.as_bytes() == content_digest => {}
        Some(Ok(_)) => problems.push(DIGEST_MISMATCH.into()),
        _ => problems.push("message-digest attribute missing or malformed".into()),
    }
    let signing_time = match attrs.iter().any(|a| a.oid == ID_SIGNING_TIME) {
        false => None,
        true => match single(ID_SIGNING_TIME)
            .map(|v| v.to_der().and_then(|d| x509_cert::time::Time::from_der(&d)))
        {
            Some(Ok(t)) => {
                let secs = t.to_unix_duration().as_secs();
                i64::try_from(secs)
                    .ok()
                    .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            }
            _ => {
                problems.push("signing-time attribute malformed".into());
                None
            }
        },
    };

    let cert_hash: [u8; 32] = Sha256::digest(&signer_cert_der).into();
    // A TSA may bind its certificate with ESS signing-certificate v1 (SHA-1, RFC 2634), as
    // RFC 3161 2.4.2 asks; same shape as v2 without the hash algorithm.
    let ess_v1 = match expect {
        Expect::TstInfo if single(ID_AA_SIGNING_CERTIFICATE_V_2).is_none() => {
            single(ID_AA_SIGNING_CERTIFICATE)
        }
        _ => None,
    };
    if let Some(v1) = ess_v1 {
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &signer_cert_der);
        match v1.decode_as::<SigningCertificateV2>() {
            Ok(ess) if ess.certs.first().map(|c| c.cert_hash.as_bytes()) == Some(sha1.as_ref()) => {
            }
            Ok(_) => problems
                .push("ESS signing-certificate hash does not match the TSA certificate".into()),
            Err(e) => problems.push(format!("ESS signing-certificate malformed: {e}")),
        }
    } else {
        match single(ID_AA_SIGNING_CERTIFICATE_V_2).map(|v| v.decode_as::<SigningCertificateV2>()) {
            Some(Ok(ess)) => match ess.certs.first() {
                Some(EssCertIdV2 {
                    hash_algorithm: Some(alg),
                    ..
                }) if alg.oid != ID_SHA_256 => problems.push(format!(
                    "ESS signing-certificate-v2 uses hash algorithm {}; only SHA-256 is supported",
                    alg.oid
                )),
                Some(id) if id.cert_hash.as_bytes() != cert_hash => {
                    problems.push(ESS_MISMATCH.into())
                }
                Some(id) => {
                    if let Some(is) = &id.issuer_serial {
                        let cert = x509_cert::Certificate::from_der(&signer_cert_der)?;
                        if is.serial_number != cert.tbs_certificate.serial_number {
                            problems.push(
                                "ESS signing-certificate-v2 issuerSerial names another certificate"
                                    .into(),
                            );
                        }
                    }
                }
                None => problems.push("ESS signing-certificate-v2 lists no certificate".into()),
            },
            Some(Err(e)) => problems.push(format!("ESS signing-certificate-v2 malformed: {e}")),
            None => problems.push(
                "no ESS signing-certificate-v2 attribute (required for CAdES/PAdES B-B, RFC 5035)"
                    .into(),
            ),
        }
    }

    // The signature is over the attributes' DER as sent, re-tagged as SET OF (RFC 5652 5.4).
    let kids = derwalk::children(signer_raw.content).map_err(bad)?;
    let attrs_raw = kids
        .iter()
        .find(|k| k.tag == 0xa0)
        .map(|k| k.full)
        .ok_or_else(|| bad("signed attributes vanished".into()))?;
    let mut signed_bytes = attrs_raw.to_vec();
    signed_bytes[0] = 0x31;
    if let Some(digest_alg) = digest_alg
        && let Err(reason) = verify_raw_signature(
            &signer_cert_der,
            &si.signature_algorithm,
            digest_alg,
            &signed_bytes,
            si.signature.as_bytes(),
        )
    {
        problems.push(reason);
    }

    Ok((
        SignatureReport {
            signer_cert_der,
            chain_der,
            signing_time,
            problems,
            signature_value,
            timestamp_tokens,
        },
        econtent,
    ))
}

/// Verifies `sig` over `data` with the certificate's key; the error says why not. The
/// signature algorithm's hash must be the SignerInfo's digestAlgorithm: OpenSSL hashes the
/// signed attributes with the digestAlgorithm, ring with the signature algorithm's hash, and
/// a signature that only one of them accepts is no signature to archive.
fn verify_raw_signature(
    cert_der: &[u8],
    alg: &AlgorithmIdentifierOwned,
    digest_alg: DigestAlgorithm,
    data: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    use ring::signature as rs;
    let cert = parse_cert(cert_der)?;
    let spki = cert.public_key();
    let key_oid = ObjectIdentifier::from_bytes(spki.algorithm.algorithm.as_bytes()).ok();
    let (hash, is_ec) = match alg.oid {
        ECDSA_WITH_SHA_256 => (DigestAlgorithm::Sha256, true),
        ECDSA_WITH_SHA_384 => (DigestAlgorithm::Sha384, true),
        SHA_256_WITH_RSA_ENCRYPTION => (DigestAlgorithm::Sha256, false),
        SHA_384_WITH_RSA_ENCRYPTION => (DigestAlgorithm::Sha384, false),
        // Some signers put rsaEncryption here (RFC 3370 3.2 allows it); the hash is then the
        // digestAlgorithm.
        RSA_ENCRYPTION => (digest_alg, false),
        other => return Err(format!("signature algorithm {other} is not supported")),
    };
    if hash != digest_alg {
        return Err(format!(
            "signature algorithm {} hashes with {}, but the digestAlgorithm is {}",
            alg.oid,
            hash.name(),
            digest_alg.name()
        ));
    }
    let verifier: &dyn rs::VerificationAlgorithm = if is_ec {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .and_then(|o| ObjectIdentifier::from_bytes(o.as_bytes()).ok());
        match (key_oid == Some(ID_EC_PUBLIC_KEY), curve, hash) {
            (true, Some(SECP_256_R_1), DigestAlgorithm::Sha256) => &rs::ECDSA_P256_SHA256_ASN1,
            (true, Some(SECP_256_R_1), DigestAlgorithm::Sha384) => &rs::ECDSA_P256_SHA384_ASN1,
            (true, Some(SECP_384_R_1), DigestAlgorithm::Sha256) => &rs::ECDSA_P384_SHA256_ASN1,
            (true, Some(SECP_384_R_1), DigestAlgorithm::Sha384) => &rs::ECDSA_P384_SHA384_ASN1,
            _ => {
                return Err(
                    "ECDSA signature but the certificate key is not EC P-256 or P-384".into(),
                );
            }
        }
    } else {
        if key_oid != Some(RSA_ENCRYPTION) {
            return Err("RSA signature but the certificate key is not RSA".into());
        }
        match hash {
            DigestAlgorithm::Sha256 => &rs::RSA_PKCS1_2048_8192_SHA256,
            DigestAlgorithm::Sha384 => &rs::RSA_PKCS1_2048_8192_SHA384,
        }
    };
    rs::UnparsedPublicKey::new(verifier, spki.subject_public_key.data.as_ref())
        .verify(data, sig)
        .map_err(|_| BAD_SIGNATURE.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::identity::tests::ca_and_leaf;
    use std::path::Path;
    use std::process::Command;

    pub(crate) fn test_identity() -> (SigningIdentity, Vec<u8>) {
        let now = OffsetDateTime::now_utc();
        let (leaf, key, ca) = ca_and_leaf(
            now - time::Duration::days(1),
            now + time::Duration::days(30),
        );
        (
            SigningIdentity::for_tests(leaf, vec![ca.clone()], &key, now),
            ca,
        )
    }

    /// A CMS whose ESS hash is wrong, for the verifier's tests.
    pub(crate) fn sign_with_wrong_ess(id: &SigningIdentity, digest: &[u8]) -> Vec<u8> {
        build_signed(id, digest, CmsOptions::default(), &[0x42; 32]).unwrap()
    }

    #[test]
    fn signs_and_verifies_with_the_promised_shape() {
        let (id, ca) = test_identity();
        let digest: [u8; 32] = Sha256::digest(b"note").into();
        let t = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let der = sign_detached(
            &id,
            &digest,
            CmsOptions {
                signing_time: Some(t),
            },
        )
        .unwrap();
        let r = verify_detached(&der, &digest).unwrap();
        assert!(r.is_valid(), "{:?}", r.problems);
        assert_eq!(r.signer_cert_der, id.certificate_der());
        assert_eq!(r.chain_der, vec![ca]);
        assert_eq!(r.signing_time, Some(t));

        // Shape: v1, detached, ESS hash algorithm omitted (default sha256).
        let info = ContentInfo::from_der(&der).unwrap();
        let sd: SignedData = info.content.decode_as().unwrap();
        assert_eq!(sd.version, CmsVersion::V1);
        assert!(sd.encap_content_info.econtent.is_none());
        let si = sd.signer_infos.0.get(0).unwrap();
        let attrs = si.signed_attrs.as_ref().unwrap();
        let oids: Vec<_> = attrs.iter().map(|a| a.oid).collect();
        assert_eq!(oids.len(), 4);
        let ess = attrs
            .iter()
            .find(|a| a.oid == ID_AA_SIGNING_CERTIFICATE_V_2)
            .unwrap();
        let ess_der = ess.values.get(0).unwrap().to_der().unwrap();
        // SEQ{ SEQ{ SEQ{ OCTET STRING(32) ...: the first element of ESSCertIDv2 is the hash.
        let (outer, _) = derwalk::read_tlv(&ess_der).unwrap();
        let (certs, _) = derwalk::read_tlv(outer.content).unwrap();
        let (id0, _) = derwalk::read_tlv(certs.content).unwrap();
        let (first, _) = derwalk::read_tlv(id0.content).unwrap();
        assert_eq!(first.tag, 0x04, "hashAlgorithm must be omitted for sha256");

        // PAdES form: no signing-time.
        let der = sign_detached(&id, &digest, CmsOptions::default()).unwrap();
        let r = verify_detached(&der, &digest).unwrap();
        assert!(r.is_valid() && r.signing_time.is_none());
    }

    #[test]
    fn detects_wrong_content_wrong_ess_and_flipped_signature() {
        let (id, _) = test_identity();
        let digest: [u8; 32] = Sha256::digest(b"note").into();
        let der = sign_detached(&id, &digest, CmsOptions::default()).unwrap();
        let other: [u8; 32] = Sha256::digest(b"note!").into();
        let r = verify_detached(&der, &other).unwrap();
        assert_eq!(r.problems, vec![DIGEST_MISMATCH.to_string()]);

        let r = verify_detached(&sign_with_wrong_ess(&id, &digest), &digest).unwrap();
        assert_eq!(r.problems, vec![ESS_MISMATCH.to_string()]);

        // Flip a byte inside the signature value (the last bytes of the structure).
        let mut flipped = der.clone();
        let n = flipped.len();
        flipped[n - 5] ^= 0x01;
        let r = verify_detached(&flipped, &digest);
        assert!(
            r.as_ref()
                .map(|r| r.problems.contains(&BAD_SIGNATURE.to_string()))
                .unwrap_or(true),
            "{r:?}"
        );
        assert!(verify_detached(b"garbage", &digest).is_err());
        assert!(verify_detached(&der[..der.len() - 10], &digest).is_err());
    }

    #[test]
    fn every_single_flipped_byte_is_caught() {
        let (id, _) = test_identity();
        let digest: [u8; 32] = Sha256::digest(b"x").into();
        let der = sign_detached(&id, &digest, CmsOptions::default()).unwrap();
        for i in 0..der.len() {
            let mut d = der.clone();
            d[i] ^= 0x04;
            if let Ok(r) = verify_detached(&d, &digest) {
                // A flip in an unsigned, unused spot (e.g. the CA certificate's body, which
                // this layer does not check) may pass; a flip in what is signed must not.
                if r.is_valid() {
                    let in_ca = id.chain_der().iter().any(|ca| {
                        der.windows(ca.len())
                            .position(|w| w == ca.as_slice())
                            .is_some_and(|p| (p..p + ca.len()).contains(&i))
                    });
                    assert!(
                        in_ca,
                        "flip at {i} of {} went unnoticed: {}",
                        der.len(),
                        hex::encode(&der[i.saturating_sub(12)..i + 4])
                    );
                }
            }
        }
    }

    fn openssl() -> bool {
        Command::new("openssl").arg("version").output().is_ok()
    }

    fn run(cmd: &mut Command) -> std::process::Output {
        cmd.output().expect("spawn")
    }

    /// `openssl cms -verify` over a note signed by `id`, with `ca` as the trust anchor.
    fn openssl_verifies(dir: &Path, id: &SigningIdentity, ca_pem: &Path, flip: bool) -> bool {
        let content = b"id: 2026-11-24-poststelle-03\ndocuments: 24\n".to_vec();
        let note = dir.join("note.yaml");
        std::fs::write(&note, &content).unwrap();
        let digest = id.digest().digest(&content);
        let t = OffsetDateTime::now_utc();
        let mut der = sign_detached(
            id,
            &digest,
            CmsOptions {
                signing_time: Some(t),
            },
        )
        .unwrap();
        if flip {
            let n = der.len();
            der[n - 3] ^= 0x20;
        }
        let p7s = dir.join("note.yaml.p7s");
        std::fs::write(&p7s, &der).unwrap();
        let out = run(Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(&p7s)
            .arg("-content")
            .arg(&note)
            .arg("-CAfile")
            .arg(ca_pem)
            .args(["-purpose", "any", "-out", "/dev/null"]));
        if !flip && !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
        out.status.success()
    }

    #[test]
    fn openssl_accepts_notes_signed_with_openssl_made_keys() {
        if !openssl() {
            panic!("openssl is required for the interop tests");
        }
        for (alg, opts) in [
            (
                "ec",
                vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ),
            (
                "ec-p384",
                vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            ),
            ("rsa", vec!["-newkey", "rsa:2048"]),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let key = dir.path().join("key.pem");
            let cert = dir.path().join("cert.pem");
            let out = run(Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-nodes",
                    "-days",
                    "30",
                    "-subj",
                    "/CN=Interop Test/O=Stadt",
                    // Without these, `req -x509` makes a CA certificate, which must not sign.
                    "-addext",
                    "basicConstraints=critical,CA:FALSE",
                    "-addext",
                    "keyUsage=critical,digitalSignature,nonRepudiation",
                ])
                .args(&opts)
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert));
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let id = SigningIdentity::load(&cert, &key, &[]).unwrap();
            assert!(openssl_verifies(dir.path(), &id, &cert, false), "{alg}");
            assert!(
                !openssl_verifies(dir.path(), &id, &cert, true),
                "{alg} flipped"
            );
        }
    }

    #[test]
    fn openssl_accepts_notes_signed_with_a_chain_and_with_keygen_keys() {
        let dir = tempfile::tempdir().unwrap();
        let (id, ca) = test_identity();
        let ca_pem = dir.path().join("ca.pem");
        std::fs::write(&ca_pem, pem_cert(&ca)).unwrap();
        assert!(openssl_verifies(dir.path(), &id, &ca_pem, false));

        let out = dir.path().join("kg");
        let g = crate::crypto::keygen::generate(
            "CN=Keygen Test,O=Stadt Leipzig",
            crate::crypto::keygen::KeyKind::EcP256,
            30,
            &out,
        )
        .unwrap();
        let id = SigningIdentity::load(&g.cert_path, &g.key_path, &[]).unwrap();
        assert!(openssl_verifies(dir.path(), &id, &g.cert_path, false));
        assert!(!openssl_verifies(dir.path(), &id, &g.cert_path, true));
    }

    pub(crate) fn pem_cert(der: &[u8]) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
        for c in b64.as_bytes().chunks(64) {
            s.push_str(std::str::from_utf8(c).unwrap());
            s.push('\n');
        }
        s.push_str("-----END CERTIFICATE-----\n");
        s
    }
}
