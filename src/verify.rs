//! `resiscan verify`: the QA clerk's checks of signatures, certificates, hashes, completeness.
//!
//! This module holds the signature side: for a PAdES PDF ([`verify_pdf`]) or a detached CMS
//! beside a transfer note ([`verify_detached_file`]) it answers "is the signature
//! mathematically valid, over exactly these bytes, by a certificate valid at signing time, and
//! does that certificate chain to one the clerk trusts?" Each answer is an [`ItemReport`] with
//! a status and specific, human-readable reasons. Note-content checks (the hashes a note lists
//! vs. the files, completeness of a batch) build on it: they add findings with
//! [`ItemReport::fail`].
//!
//! PDFs are not parsed whole: we find the last signature dictionary by scanning back from the
//! end for `/ByteRange`, read that one object, and hash the signed ranges streamed — verify
//! should run at hundreds of documents per second.

mod addendum;
mod completeness;
pub(crate) mod renewed;
mod walk;
pub use addendum::verify_addendum;
pub use walk::{VerifyOptions, VerifyOutcome, run, run_with};

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use crate::crypto::chain::{ChainCheck, ChainError, End, IssuerPath, MAX_CHAIN};
use crate::crypto::cms::{SignatureReport, digest_algorithm_of, verify_detached};
use crate::crypto::hash::{digest_file, digest_ranges};
use crate::crypto::identity::{check_valid_at, parse_cert, read_certificates, signing_use_problem};

/// Largest detached signature file we read (a CMS with a long chain is a few KB).
const MAX_P7S: u64 = 1 << 20;
/// How far back from `/ByteRange` the object header may be. Generous because some writers put
/// a large `/Contents` hex string before `/ByteRange` (a CMS with a long chain and embedded
/// revocation data can reach 100 KB, i.e. 200 KB of hex).
const DICT_LOOKBACK: u64 = 512 * 1024;
/// How far past `/ByteRange` the dictionary may still run (same reason).
const DICT_LOOKAHEAD: u64 = 512 * 1024;

pub const NOT_TRUSTED: &str = "signer does not chain to a trusted certificate";
pub const APPENDED: &str = "modified after signing (appended revision)";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("trust file {}: {reason}", path.display())]
    Trust { path: PathBuf, reason: String },
    #[error("CRL file {}: {reason}", path.display())]
    Crl { path: PathBuf, reason: String },
}

/// A certificate revocation list given with `verify --crl` (DER; PEM is converted on load).
#[derive(Debug, Clone)]
struct Crl {
    path: PathBuf,
    der: Vec<u8>,
}

/// The certificates the clerk trusts (`--trust`). Empty: signatures are still checked, but
/// every signer is reported untrusted (SPEC §1).
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    anchors: Vec<Vec<u8>>,
    /// `--crl` files: revocation is judged at the signing time they are checked against.
    crls: Vec<Crl>,
}

impl TrustStore {
    pub fn empty() -> Self {
        TrustStore::default()
    }

    /// Loads trust anchors from PEM files (several certificates per file allowed) or DER.
    pub fn from_pem_files(paths: &[PathBuf]) -> Result<Self, VerifyError> {
        let mut anchors = Vec::new();
        for path in paths {
            let ders = read_certificates(path).map_err(|reason| VerifyError::Trust {
                path: path.clone(),
                reason,
            })?;
            anchors.extend(ders);
        }
        Ok(TrustStore {
            anchors,
            crls: Vec::new(),
        })
    }

    pub fn from_der(anchors: Vec<Vec<u8>>) -> Self {
        TrustStore {
            anchors,
            crls: Vec::new(),
        }
    }

    /// Adds the CRLs in `paths` (PEM or DER, one CRL per file); a file that cannot be read or
    /// is no CRL is an error naming it.
    pub fn with_crls(mut self, paths: &[PathBuf]) -> Result<Self, VerifyError> {
        for path in paths {
            let err = |reason: String| VerifyError::Crl {
                path: path.clone(),
                reason,
            };
            let der = crate::crypto::crl::read_crl(path).map_err(err)?.der;
            self.crls.push(Crl {
                path: path.clone(),
                der,
            });
        }
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}

/// What was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A PAdES-signed PDF.
    Pdf,
    /// A file with a detached CMS signature beside it (`.p7s`), e.g. a transfer note.
    Detached,
    /// A batch folder `_batches/<id>` as a whole (its unfinished-run marker).
    Batch,
    /// A path that is none of these nor a batch folder or store (missing, an empty folder).
    Unknown,
}

/// The verdict, least severe first, so items merge with `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Mathematically valid and the signer chains to a trusted certificate.
    Valid,
    /// Left by a run that has not finished (a full disk, a crash): nothing is wrong with it,
    /// but the batch is not complete until the same `ingest` runs again. Not a failure.
    Pending,
    /// Mathematically valid, but the signer does not chain to a trusted certificate.
    Untrusted,
    /// Something is wrong: see the problems.
    Invalid,
}

/// The result of verifying one item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    pub path: PathBuf,
    pub kind: ItemKind,
    pub status: Status,
    /// The signer certificate's subject.
    pub signer: Option<String>,
    /// When it was signed: the PDF's /M, or the CMS signing-time of a note.
    #[serde(with = "time::serde::rfc3339::option")]
    pub signed_at: Option<OffsetDateTime>,
    /// The time a valid signature timestamp proves (RFC 3161 genTime), if there is one.
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<OffsetDateTime>,
    /// The timestamp authority that proves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_by: Option<String>,
    /// Every reason the status is not Valid, as sentences for the clerk.
    pub problems: Vec<String>,
    /// What the clerk should know about a valid item, e.g. that the signer certificate has
    /// expired since it signed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What each of `problems` is, in the same order (for callers that must tell a broken item
    /// from an untrusted one without reading the sentences).
    #[serde(skip)]
    findings: Vec<Finding>,
}

/// The kind of one problem of an [`ItemReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The item is invalid ([`ItemReport::fail`]).
    Failure,
    /// It belongs to a run that has not finished ([`ItemReport::pending`]).
    Pending,
    /// The signer does not chain to a trusted certificate.
    Untrusted,
}

impl ItemReport {
    /// A report that starts Valid; checks lower it with [`ItemReport::fail`].
    pub fn new(path: &Path, kind: ItemKind) -> Self {
        ItemReport {
            path: path.to_path_buf(),
            kind,
            status: Status::Valid,
            signer: None,
            signed_at: None,
            timestamp: None,
            timestamp_by: None,
            problems: Vec::new(),
            notes: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// The problems that make the item invalid, without those about trust or an unfinished
    /// run.
    pub fn failures(&self) -> impl Iterator<Item = &str> {
        self.problems
            .iter()
            .zip(&self.findings)
            .filter(|(_, f)| **f == Finding::Failure)
            .map(|(p, _)| p.as_str())
    }

    /// Records a finding that makes the item invalid (the extension point for content checks).
    pub fn fail(&mut self, reason: impl Into<String>) {
        self.problems.push(reason.into());
        self.findings.push(Finding::Failure);
        self.status = Status::Invalid;
    }

    /// Records that the item belongs to a run that has not finished; never lowers a worse
    /// status.
    pub fn pending(&mut self, reason: impl Into<String>) {
        self.problems.push(reason.into());
        self.findings.push(Finding::Pending);
        self.status = self.status.max(Status::Pending);
    }

    /// Records that the signer is not trusted; never lowers an Invalid.
    fn distrust(&mut self, reason: impl Into<String>) {
        self.problems.push(reason.into());
        self.findings.push(Finding::Untrusted);
        self.status = self.status.max(Status::Untrusted);
    }
}

/// Verifies the last PAdES signature of a PDF.
pub fn verify_pdf(path: &Path, trust: &TrustStore) -> ItemReport {
    let mut report = ItemReport::new(path, ItemKind::Pdf);
    if let Err(reason) = check_pdf(path, trust, &mut report) {
        report.fail(reason);
    }
    report
}

/// Verifies `content_path` against the detached CMS in `p7s_path`.
pub fn verify_detached_file(
    content_path: &Path,
    p7s_path: &Path,
    trust: &TrustStore,
) -> ItemReport {
    let mut report = ItemReport::new(content_path, ItemKind::Detached);
    let run = |report: &mut ItemReport| -> Result<(), String> {
        let size = std::fs::metadata(p7s_path)
            .map_err(|e| format!("cannot read signature {}: {e}", p7s_path.display()))?
            .len();
        if size > MAX_P7S {
            return Err(format!(
                "signature {} is {size} bytes, not a CMS signature",
                p7s_path.display()
            ));
        }
        let cms = std::fs::read(p7s_path)
            .map_err(|e| format!("cannot read signature {}: {e}", p7s_path.display()))?;
        let alg = digest_algorithm_of(&cms)
            .map_err(|e| format!("signature {} unreadable: {e}", p7s_path.display()))?;
        let digest = digest_file(content_path, alg).map_err(|e| format!("cannot read: {e}"))?;
        let sig = verify_detached(&cms, &digest)
            .map_err(|e| format!("signature {} unreadable: {e}", p7s_path.display()))?;
        let at = sig.signing_time;
        judge_signature(sig, at, trust, report);
        Ok(())
    };
    if let Err(reason) = run(&mut report) {
        report.fail(reason);
    }
    report
}

/// The checks common to PDFs and notes, on a parsed CMS: its own problems, the signer
/// certificate at signing time, and the chain to the trust store.
fn judge_signature(
    sig: SignatureReport,
    signed_at: Option<OffsetDateTime>,
    trust: &TrustStore,
    report: &mut ItemReport,
) {
    report.signed_at = signed_at;
    for p in &sig.problems {
        report.fail(p.clone());
    }
    let signer = match parse_cert(&sig.signer_cert_der) {
        Ok(c) => c,
        Err(e) => {
            report.fail(format!("signer certificate unreadable: {e}"));
            return;
        }
    };
    report.signer = Some(signer.subject().to_string());
    // Validity is judged at the signing time (the chain model): a note signed while its
    // certificate was valid stays valid after the certificate expires, or no archive would
    // outlive its signing certificate. The time is the signer's own claim (CMS signing-time,
    // PDF /M), not a timestamp, so the report says when we rely on it; pyHanko, pdfsig and
    // `openssl cms` judge at the current time and call such signatures expired or
    // indeterminate. Without a claimed time, the certificate must be valid now.
    let now = OffsetDateTime::now_utc();
    // A signature timestamp (RFC 3161, over the signature value) proves the signature existed
    // at its genTime; validity is then judged at that time instead of the claim.
    let proven = check_timestamps(&sig, trust, report);
    let at = proven.or(signed_at).unwrap_or(now);
    let which = match proven {
        Some(_) => "the time proven by the timestamp",
        None => "the claimed signing time",
    };
    if proven.is_none() && at > now + time::Duration::minutes(10) {
        report.fail(format!(
            "the claimed signing time {} lies in the future: the signer's clock was wrong or \
             the time is forged",
            crate::machine::rfc3339(at)
        ));
    }
    if let Err(e) = check_valid_at(&signer, at) {
        report.fail(format!(
            "certificate {} at signing time ({})",
            e.what(),
            e.bound()
        ));
    } else if let Err(e @ crate::crypto::identity::OutsideValidity::Expired { .. }) =
        check_valid_at(&signer, now)
    {
        report.notes.push(format!(
            "the signer certificate has {} since ({}); valid because it was valid at {which} \
             {}{}",
            e.what(),
            e.bound(),
            crate::machine::rfc3339(at),
            if proven.is_some() {
                ""
            } else {
                " (no timestamp proves that time)"
            }
        ));
    }
    check_revocation(&sig, trust, at, which, proven.is_some(), report);
    if let Some(problem) = signing_use_problem(&signer) {
        report.fail(format!("signer certificate unfit for signing: {problem}"));
    }

    // Walk up to a trust anchor by the one chain walk signing uses too (crypto::chain),
    // judged at the signing time.
    let check = ChainCheck {
        anchors: &trust.anchors,
        at,
    };
    match check.issuer_path(&sig.signer_cert_der, &sig.chain_der) {
        Ok(IssuerPath {
            end: End::Anchor, ..
        }) => {}
        Ok(_) if trust.is_empty() => {
            report.distrust(format!("{NOT_TRUSTED} (no trust anchors given)"))
        }
        Ok(_) => report.distrust(NOT_TRUSTED),
        Err(ChainError::TooLong { .. }) => {
            report.distrust(format!("{NOT_TRUSTED} (chain longer than {MAX_CHAIN})"))
        }
        // A named issuer present but not verifying is tampering, not mere distrust.
        Err(ChainError::WrongKey { child_subject, .. }) => report.fail(format!(
            "certificate \"{child_subject}\" is not signed by the included issuer certificate"
        )),
        Err(ChainError::NotCa { subject, .. }) => {
            report.fail(format!("issuer \"{subject}\" is not a CA certificate"))
        }
        Err(ChainError::OutsideValidity { subject, why, .. }) => report.fail(format!(
            "issuer certificate \"{subject}\" {} at signing time ({})",
            why.what(),
            why.bound()
        )),
        Err(e) => report.fail(e.to_string()),
    }
}

/// Checks every signature timestamp of `sig` (imprint over the signature value, the TSA's
/// signature, EKU timeStamping, the TSA's validity at genTime, its chain to a trust anchor);
/// returns the earliest time a valid one proves. A broken timestamp makes the item invalid;
/// one whose TSA is not trusted makes it untrusted.
fn check_timestamps(
    sig: &SignatureReport,
    trust: &TrustStore,
    report: &mut ItemReport,
) -> Option<OffsetDateTime> {
    use sha2::{Digest, Sha256};
    let imprint = Sha256::digest(&sig.signature_value);
    let mut proven: Option<OffsetDateTime> = None;
    for token in &sig.timestamp_tokens {
        match crate::crypto::tsp::check_token(token, &imprint, None, &trust.anchors) {
            Ok(info) => {
                if !info.trusted {
                    report.distrust(format!(
                        "the timestamp's TSA \"{}\" does not chain to a trusted certificate",
                        info.tsa_subject
                    ));
                }
                if proven.is_none_or(|p| info.gen_time < p) {
                    proven = Some(info.gen_time);
                    report.timestamp = Some(info.gen_time);
                    report.timestamp_by = Some(info.tsa_subject);
                }
            }
            Err(reason) => report.fail(format!("signature timestamp invalid: {reason}")),
        }
    }
    proven
}

/// Judges the signer certificate (and the certificates the CMS carries) against the `--crl`
/// lists at `at`: revoked at or before it is invalid; revoked after it is a note.
fn check_revocation(
    sig: &SignatureReport,
    trust: &TrustStore,
    at: OffsetDateTime,
    which: &str,
    proven: bool,
    report: &mut ItemReport,
) {
    if trust.crls.is_empty() {
        return;
    }
    let pool: Vec<&[u8]> = std::iter::once(sig.signer_cert_der.as_slice())
        .chain(sig.chain_der.iter().map(Vec::as_slice))
        .chain(trust.anchors.iter().map(Vec::as_slice))
        .collect();
    let certs: Vec<_> = pool.iter().filter_map(|d| parse_cert(d).ok()).collect();
    for (i, cert_der) in std::iter::once(&sig.signer_cert_der)
        .chain(sig.chain_der.iter())
        .enumerate()
    {
        let Ok(cert) = parse_cert(cert_der) else {
            continue;
        };
        for crl_file in &trust.crls {
            let Ok((_, crl)) = x509_parser::parse_x509_crl(&crl_file.der) else {
                continue;
            };
            if crl.issuer().as_raw() != cert.issuer().as_raw() {
                continue;
            }
            // The CRL must be signed by the certificate's issuer.
            let issuer_ok = certs.iter().any(|c| {
                c.subject().as_raw() == crl.issuer().as_raw()
                    && crl.verify_signature(c.public_key()).is_ok()
            });
            if !issuer_ok {
                report.fail(format!(
                    "CRL {} names \"{}\" as issuer but does not verify with that issuer's key \
                     (or the issuer certificate is not available)",
                    crl_file.path.display(),
                    crl.issuer()
                ));
                continue;
            }
            let Some(entry) = crl
                .iter_revoked_certificates()
                .find(|r| r.raw_serial() == cert.raw_serial())
            else {
                continue;
            };
            let revoked = entry.revocation_date.to_datetime();
            let whose = if i == 0 {
                "the signer certificate".to_string()
            } else {
                format!("chain certificate \"{}\"", cert.subject())
            };
            if revoked <= at {
                report.fail(format!(
                    "{whose} was revoked at {} (CRL {}), before {which} {}{}",
                    crate::machine::rfc3339(revoked),
                    crl_file.path.display(),
                    crate::machine::rfc3339(at),
                    if proven {
                        ""
                    } else {
                        " (the time is only claimed: no timestamp proves it)"
                    }
                ));
            } else {
                report.notes.push(format!(
                    "{whose} was revoked at {} (CRL {}), after {which} {}: the signature \
                     stays valid",
                    crate::machine::rfc3339(revoked),
                    crl_file.path.display(),
                    crate::machine::rfc3339(at)
                ));
            }
        }
    }
}

/// The PDF checks; an `Err` is a reason that ends the verification (Invalid).
fn check_pdf(path: &Path, trust: &TrustStore, report: &mut ItemReport) -> Result<(), String> {
    let Signed {
        mut file,
        len,
        obj_start,
        dict,
    } = Signed::open(path)?;
    let get = |key: &[u8]| dict.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    check_signature_dictionary(&mut file, len, obj_start, get, trust, report)
}

/// A filed PDF opened at its own signature dictionary (see [`own_signature_dictionary`]).
struct Signed {
    file: File,
    len: u64,
    obj_start: u64,
    dict: DictEntries,
}

impl Signed {
    fn open(path: &Path) -> Result<Signed, String> {
        let mut file = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
        let len = file
            .metadata()
            .map_err(|e| format!("cannot read: {e}"))?
            .len();
        let (obj_start, dict) = own_signature_dictionary(&mut file, len)?;
        Ok(Signed {
            file,
            len,
            obj_start,
            dict,
        })
    }
}

/// The newest signature dictionary that is a signature, not a document timestamp (PAdES
/// B-LTA appends those after it; they are checked with the revisions they close).
fn own_signature_dictionary(file: &mut File, len: u64) -> Result<(u64, DictEntries), String> {
    let mut search_end = len;
    loop {
        let (obj_start, dict) = signature_dictionary(file, len, search_end)?;
        let is_doc_ts = dict
            .iter()
            .any(|(k, v)| k == b"Type" && matches!(v, Obj::Name(n) if n == b"DocTimeStamp"));
        if !is_doc_ts {
            return Ok((obj_start, dict));
        }
        search_end = obj_start;
    }
}

/// What `renew` reads of a filed PDF before it extends it: the CMS of the PDF's own signature
/// and what the revisions after the signed range hold (DSS, document timestamps), judged as
/// `verify` judges them. Signatures are not checked here; `renew` first holds the file
/// against its signed record.
pub(crate) fn pdf_evidence(path: &Path) -> Result<(Vec<u8>, crate::pdf::update::Appended), String> {
    let Signed {
        mut file,
        len,
        dict,
        ..
    } = Signed::open(path)?;
    let get = |key: &[u8]| dict.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let [_, _, start2, len2] = byte_range(get(b"ByteRange"))?;
    let Some(Obj::Hex { bytes: cms, .. }) = get(b"Contents") else {
        return Err("signature dictionary has no /Contents hex string".into());
    };
    let signed_end = start2.checked_add(len2).ok_or("/ByteRange overflows")?;
    if signed_end > len {
        return Err("/ByteRange runs past the end of the file".into());
    }
    let appended = if signed_end < len {
        crate::pdf::update::check_appended(&mut file, signed_end, len)
            .map_err(|reason| format!("{APPENDED}: {reason}"))?
    } else {
        crate::pdf::update::Appended::default()
    };
    Ok((cms.clone(), appended))
}

/// A signature dictionary's /ByteRange: four non-negative integers.
fn byte_range(value: Option<&Obj>) -> Result<[u64; 4], String> {
    let ints: Vec<u64> = match value {
        Some(Obj::Array(items)) => items
            .iter()
            .filter_map(|o| match o {
                Obj::Int(i) => u64::try_from(*i).ok(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    <[u64; 4]>::try_from(ints)
        .map_err(|_| "/ByteRange is not an array of four non-negative integers".to_string())
}

/// A dictionary's entries as the lexer reads them.
type DictEntries = Vec<(Vec<u8>, Obj)>;

/// The last dictionary holding `/ByteRange` before `search_end`: its object's offset and its
/// entries.
fn signature_dictionary(
    file: &mut File,
    len: u64,
    search_end: u64,
) -> Result<(u64, DictEntries), String> {
    let file = &mut *file;
    let br_pos = rfind_in_file(file, search_end, b"/ByteRange")
        .map_err(|e| format!("cannot read: {e}"))?
        .ok_or("not signed: no signature dictionary (/ByteRange) found")?;

    // The object that holds /ByteRange: find its header (a short look back first, the usual
    // case; a long one if a big /Contents comes first), then read the dictionary.
    let mut obj_start = None;
    for lookback in [8192, DICT_LOOKBACK] {
        let window_start = br_pos.saturating_sub(lookback);
        let head =
            read_range(file, window_start, br_pos - window_start).map_err(|e| e.to_string())?;
        obj_start = find_object_start(&head).map(|p| window_start + p as u64);
        if obj_start.is_some() || window_start == 0 {
            break;
        }
    }
    let obj_start = obj_start.ok_or("signature dictionary: no 'obj' header before /ByteRange")?;
    // The dictionary may contain a large /Contents string; read generously but bounded.
    let tail_len = (len - obj_start).min(br_pos - obj_start + DICT_LOOKAHEAD);
    let text = read_range(file, obj_start, tail_len).map_err(|e| e.to_string())?;
    let body_at = text
        .windows(3)
        .position(|w| w == b"obj")
        .map(|p| p + 3)
        .ok_or("signature dictionary: no 'obj' header")?;
    let mut lexer = Lexer {
        data: &text,
        pos: body_at,
        depth: 0,
    };
    match lexer.value() {
        Some(Obj::Dict(d)) => Ok((obj_start, d)),
        _ => Err("signature dictionary: the object is not a readable dictionary".into()),
    }
}

/// The checks of one signature dictionary (`get` reads its entries) at `obj_start`.
fn check_signature_dictionary<'d>(
    file: &mut File,
    len: u64,
    obj_start: u64,
    get: impl Fn(&[u8]) -> Option<&'d Obj>,
    trust: &TrustStore,
    report: &mut ItemReport,
) -> Result<(), String> {
    match get(b"Type") {
        None => {}
        Some(Obj::Name(n)) if n == b"Sig" => {}
        Some(_) => return Err("signature dictionary /Type is not /Sig".into()),
    }
    match get(b"SubFilter") {
        Some(Obj::Name(n)) if n == b"ETSI.CAdES.detached" => {}
        Some(Obj::Name(n)) => report.fail(format!(
            "/SubFilter /{} is not PAdES (/ETSI.CAdES.detached expected)",
            String::from_utf8_lossy(n)
        )),
        _ => report.fail("signature dictionary has no /SubFilter"),
    }
    let signed_at = match get(b"M") {
        Some(Obj::Str(s)) => {
            let t = parse_pdf_date(s);
            if t.is_none() {
                report.fail(format!(
                    "/M \"{}\" is not a PDF date",
                    String::from_utf8_lossy(s)
                ));
            }
            t
        }
        _ => None,
    };

    let [start, len1, start2, len2] = byte_range(get(b"ByteRange"))?;
    if start != 0 {
        return Err(format!(
            "/ByteRange starts at {start}, not 0: the file's start is not signed"
        ));
    }
    let (hole_start, hole_end) = (len1, start2);
    let Some(Obj::Hex {
        start: h0,
        end: h1,
        bytes: cms,
    }) = get(b"Contents")
    else {
        return Err("signature dictionary has no /Contents hex string".into());
    };
    // The hole must be exactly the /Contents string, < and > included (ISO 32000-1 12.8.1).
    if obj_start + *h0 as u64 != hole_start || obj_start + *h1 as u64 != hole_end {
        return Err("/ByteRange does not exclude exactly the /Contents hex string".into());
    }
    let signed_end = start2.checked_add(len2).ok_or("/ByteRange overflows")?;
    if signed_end > len {
        return Err(format!(
            "/ByteRange runs past the end of the file ({signed_end} > {len} bytes): file truncated"
        ));
    }
    // Revisions after the signed one may only add validation data (PAdES B-LT's DSS);
    // anything else is a change to the signed document.
    let mut embedded = None;
    if signed_end < len {
        match crate::pdf::update::check_appended(file, signed_end, len) {
            Ok(found) => {
                for r in &found.revisions {
                    report
                        .notes
                        .push(format!("appended after the signature: {r}"));
                }
                check_doc_timestamps(file, &found.doc_timestamps, trust, report);
                embedded = Some(found);
            }
            Err(reason) => report.fail(format!(
                "{APPENDED}: {} bytes after the signed range; {reason}",
                len - signed_end
            )),
        }
    }

    let alg =
        digest_algorithm_of(cms).map_err(|e| format!("signature container unreadable: {e}"))?;
    let digest = digest_ranges(file, &[(0, len1), (start2, len2)], alg)
        .map_err(|e| format!("cannot read: {e}"))?;
    let sig = verify_detached(cms, &digest)
        .map_err(|e| format!("signature container unreadable: {e}"))?;
    // The CRLs the PDF carries (B-LT) are judged like `--crl` ones: a validator needs nothing
    // from outside. Their issuers' signatures are checked as any CRL's.
    match embedded.filter(|e| !e.dss.crls.is_empty()) {
        Some(found) => {
            let mut with_dss = trust.clone();
            with_dss
                .crls
                .extend(found.dss.crls.into_iter().map(|der| Crl {
                    path: PathBuf::from("embedded in the PDF's DSS"),
                    der,
                }));
            judge_signature(sig, signed_at, &with_dss, report);
        }
        None => judge_signature(sig, signed_at, trust, report),
    }
    Ok(())
}

/// PAdES B-LTA document timestamps: each token's imprint must be the SHA-256 of the bytes its
/// `/ByteRange` covers, its TSA's signature valid and its certificate chained to a `--trust`
/// anchor at its time. Each proves that the file up to it existed then.
fn check_doc_timestamps(
    file: &mut File,
    stamps: &[crate::pdf::update::DocTimestamp],
    trust: &TrustStore,
    report: &mut ItemReport,
) {
    for (i, ts) in stamps.iter().enumerate() {
        let [_, a, b, c] = ts.byte_range;
        let digest = match digest_ranges(
            file,
            &[(0, a), (b, c)],
            crate::crypto::hash::DigestAlgorithm::Sha256,
        ) {
            Ok(d) => d,
            Err(e) => {
                report.fail(format!("document timestamp {}: cannot read: {e}", i + 1));
                continue;
            }
        };
        match crate::crypto::tsp::check_token(&ts.token, &digest, None, &trust.anchors) {
            Ok(info) => {
                if !info.trusted {
                    report.distrust(format!(
                        "the document timestamp's TSA \"{}\" does not chain to a trusted \
                         certificate",
                        info.tsa_subject
                    ));
                }
                report.notes.push(format!(
                    "document timestamp {}: {} by {}",
                    i + 1,
                    crate::machine::rfc3339(info.gen_time),
                    info.tsa_subject
                ));
            }
            Err(reason) => report.fail(format!("document timestamp {} invalid: {reason}", i + 1)),
        }
    }
}

fn read_range(file: &mut File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::with_capacity(len as usize);
    file.by_ref().take(len).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Offset of the last occurrence of `needle`, scanning backwards in chunks: the newest
/// signature is normally near the end, so big PDFs are not read whole twice.
fn rfind_in_file(file: &mut File, len: u64, needle: &[u8]) -> io::Result<Option<u64>> {
    const CHUNK: u64 = 64 * 1024;
    let overlap = needle.len() as u64;
    let mut end = len;
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let read_end = (end + overlap).min(len);
        let buf = read_range(file, start, read_end - start)?;
        if let Some(p) = buf.windows(needle.len()).rposition(|w| w == needle) {
            return Ok(Some(start + p as u64));
        }
        end = start;
    }
    Ok(None)
}

/// The start of the last "N G obj" header in `head`.
fn find_object_start(head: &[u8]) -> Option<usize> {
    let mut search_end = head.len();
    while let Some(p) = head[..search_end].windows(3).rposition(|w| w == b"obj") {
        // Walk back over "N G " to the start of the object number.
        let before = &head[..p];
        let trimmed = before.trim_ascii_end();
        let gen_start = trimmed
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1);
        let rest = trimmed[..gen_start].trim_ascii_end();
        let num_start = rest
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1);
        if gen_start < trimmed.len() && num_start < rest.len() {
            return Some(num_start);
        }
        search_end = p;
    }
    None
}

/// A PDF object, as much as the signature dictionary needs.
#[derive(Debug)]
enum Obj {
    Dict(Vec<(Vec<u8>, Obj)>),
    Array(Vec<Obj>),
    Name(Vec<u8>),
    Str(Vec<u8>),
    /// A hex string with the offsets of its `<` and one past its `>`.
    Hex {
        start: usize,
        end: usize,
        bytes: Vec<u8>,
    },
    Int(i64),
    Other,
}

/// A small PDF lexer/parser for one object (ISO 32000-1 7.2, 7.3). Depth-limited so hostile
/// nesting cannot overflow the stack.
struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
    depth: usize,
}

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

impl Lexer<'_> {
    fn skip_ws(&mut self) {
        while let Some(&b) = self.data.get(self.pos) {
            if b.is_ascii_whitespace() || b == 0 {
                self.pos += 1;
            } else if b == b'%' {
                while self
                    .data
                    .get(self.pos)
                    .is_some_and(|b| *b != b'\n' && *b != b'\r')
                {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn value(&mut self) -> Option<Obj> {
        self.skip_ws();
        if self.depth > 32 {
            return None;
        }
        let rest = self.data.get(self.pos..)?;
        match *rest.first()? {
            b'<' if rest.get(1) == Some(&b'<') => {
                self.pos += 2;
                self.depth += 1;
                let mut entries = Vec::new();
                loop {
                    self.skip_ws();
                    if self.data.get(self.pos..self.pos + 2) == Some(b">>") {
                        self.pos += 2;
                        self.depth -= 1;
                        return Some(Obj::Dict(entries));
                    }
                    let Obj::Name(key) = self.value()? else {
                        return None;
                    };
                    let mut v = self.value()?;
                    // "N G R" references: fold into one value.
                    if let Obj::Int(_) = v {
                        let save = self.pos;
                        if let Some(Obj::Int(_)) = self.value() {
                            self.skip_ws();
                            if self.data.get(self.pos) == Some(&b'R') {
                                self.pos += 1;
                                v = Obj::Other;
                            } else {
                                self.pos = save;
                            }
                        } else {
                            self.pos = save;
                        }
                    }
                    entries.push((key, v));
                }
            }
            b'<' => {
                let start = self.pos;
                let close = rest.iter().position(|b| *b == b'>')?;
                let digits: Vec<u8> = rest[1..close]
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                let mut digits = digits;
                if digits.len() % 2 == 1 {
                    digits.push(b'0'); // ISO 32000-1 7.3.4.3: a missing last digit is 0
                }
                let bytes = hex::decode(&digits).ok()?;
                self.pos += close + 1;
                Some(Obj::Hex {
                    start,
                    end: self.pos,
                    bytes,
                })
            }
            b'[' => {
                self.pos += 1;
                self.depth += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.data.get(self.pos) == Some(&b']') {
                        self.pos += 1;
                        self.depth -= 1;
                        return Some(Obj::Array(items));
                    }
                    items.push(self.value()?);
                }
            }
            b'/' => {
                let mut name = Vec::new();
                self.pos += 1;
                while let Some(&b) = self.data.get(self.pos) {
                    if b.is_ascii_whitespace() || is_delim(b) {
                        break;
                    }
                    if b == b'#'
                        && let Some(v) = self
                            .data
                            .get(self.pos + 1..self.pos + 3)
                            .and_then(|h| hex::decode(h).ok())
                    {
                        name.extend(v);
                        self.pos += 3;
                        continue;
                    }
                    name.push(b);
                    self.pos += 1;
                }
                Some(Obj::Name(name))
            }
            b'(' => {
                self.pos += 1;
                let mut out = Vec::new();
                let mut nest = 1;
                loop {
                    let b = *self.data.get(self.pos)?;
                    self.pos += 1;
                    match b {
                        b'\\' => {
                            let e = *self.data.get(self.pos)?;
                            self.pos += 1;
                            match e {
                                b'n' => out.push(b'\n'),
                                b'r' => out.push(b'\r'),
                                b't' => out.push(b'\t'),
                                b'b' => out.push(8),
                                b'f' => out.push(12),
                                b'0'..=b'7' => {
                                    let mut v = u32::from(e - b'0');
                                    for _ in 0..2 {
                                        match self.data.get(self.pos) {
                                            Some(d @ b'0'..=b'7') => {
                                                v = v * 8 + u32::from(d - b'0');
                                                self.pos += 1;
                                            }
                                            _ => break,
                                        }
                                    }
                                    out.push((v & 0xff) as u8);
                                }
                                b'\n' => {}
                                b'\r' => {
                                    if self.data.get(self.pos) == Some(&b'\n') {
                                        self.pos += 1;
                                    }
                                }
                                other => out.push(other),
                            }
                        }
                        b'(' => {
                            nest += 1;
                            out.push(b);
                        }
                        b')' => {
                            nest -= 1;
                            if nest == 0 {
                                return Some(Obj::Str(out));
                            }
                            out.push(b);
                        }
                        _ => out.push(b),
                    }
                }
            }
            _ => {
                let start = self.pos;
                while let Some(&b) = self.data.get(self.pos) {
                    if b.is_ascii_whitespace() || is_delim(b) {
                        break;
                    }
                    self.pos += 1;
                }
                if self.pos == start {
                    return None; // a stray delimiter such as ')' or '>'
                }
                let token = &self.data[start..self.pos];
                Some(
                    std::str::from_utf8(token)
                        .ok()
                        .and_then(|t| t.parse::<i64>().ok())
                        .map_or(Obj::Other, Obj::Int),
                )
            }
        }
    }
}

/// Parses a PDF date "D:YYYYMMDDHHmmSSOHH'mm'" (ISO 32000-1 7.9.4); all parts after the year
/// are optional, a missing offset means UTC (the best reading of "unknown").
fn parse_pdf_date(s: &[u8]) -> Option<OffsetDateTime> {
    let s = std::str::from_utf8(s).ok()?;
    let s = s.strip_prefix("D:").unwrap_or(s);
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (d, tz) = s.split_at(digits_end);
    if d.len() < 4 || d.len() % 2 != 0 || d.len() > 14 {
        return None;
    }
    let part = |from: usize, default: u8| -> Option<u8> {
        d.get(from..from + 2)
            .map_or(Some(default), |p| p.parse().ok())
    };
    let year: i32 = d[..4].parse().ok()?;
    let month = time::Month::try_from(part(4, 1)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, part(6, 1)?).ok()?;
    let t = time::Time::from_hms(part(8, 0)?, part(10, 0)?, part(12, 0)?).ok()?;
    let offset = match tz.as_bytes().first() {
        None | Some(b'Z') => time::UtcOffset::UTC,
        Some(&sign @ (b'+' | b'-')) => {
            let rest: String = tz[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            let h: i8 = rest.get(..2)?.parse().ok()?;
            let m: i8 = rest.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
            let (h, m) = if sign == b'-' { (-h, -m) } else { (h, m) };
            time::UtcOffset::from_hms(h, m, 0).ok()?
        }
        _ => return None,
    };
    Some(time::PrimitiveDateTime::new(date, t).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningIdentity;
    use crate::crypto::cms::tests::{pem_cert, sign_with_wrong_ess, test_identity};
    use crate::crypto::cms::{
        BAD_SIGNATURE, CmsOptions, DIGEST_MISMATCH, ESS_MISMATCH, sign_detached,
    };
    use crate::crypto::hash::sha256_file;
    use crate::crypto::identity::tests::ca_and_leaf;
    use crate::pdf::sign::tests::signed_pdf;
    use std::process::Command;

    fn trust_of(ca: &[u8]) -> TrustStore {
        TrustStore::from_der(vec![ca.to_vec()])
    }

    fn note(dir: &Path, id: &SigningIdentity, at: OffsetDateTime) -> (PathBuf, PathBuf) {
        let content = dir.join("note.yaml");
        std::fs::write(&content, "id: batch-1\ndocuments: 3\n").unwrap();
        let digest = digest_file(&content, id.digest()).unwrap();
        let p7s = dir.join("note.yaml.p7s");
        std::fs::write(
            &p7s,
            sign_detached(
                id,
                &digest,
                CmsOptions {
                    signing_time: Some(at),
                },
            )
            .unwrap(),
        )
        .unwrap();
        (content, p7s)
    }

    /// Regression (issue 12): with eight issuers above the signer, loading the identity
    /// accepted the chain, but verify gave up one step short of the trusted root and reported
    /// "not trusted (chain longer than 8)". One chain walk now serves both.
    #[test]
    fn a_chain_signing_accepts_is_one_verify_follows_to_the_root() {
        let (pki, key) = crate::crypto::chain::tests::pki_and_signer_key(MAX_CHAIN, |_, _| {});
        let now = OffsetDateTime::now_utc();
        let id = SigningIdentity::for_tests(pki[0].clone(), pki[1..].to_vec(), &key, now);
        assert_eq!(id.chain_der().len(), MAX_CHAIN);
        let dir = tempfile::tempdir().unwrap();
        let (content, p7s) = note(dir.path(), &id, now);
        let r = verify_detached_file(&content, &p7s, &trust_of(&pki[MAX_CHAIN]));
        assert_eq!(r.status, Status::Valid, "{:?}", r.problems);
    }

    #[test]
    fn failures_leave_out_trust_and_unfinished_runs() {
        let mut r = ItemReport::new(Path::new("x.pdf"), ItemKind::Pdf);
        r.distrust(NOT_TRUSTED);
        r.pending("left by a run that has not finished");
        assert_eq!(r.failures().count(), 0);
        r.fail("signature does not match");
        assert_eq!(
            r.failures().collect::<Vec<_>>(),
            ["signature does not match"]
        );
        assert_eq!(r.problems.len(), 3);
        assert_eq!(r.status, Status::Invalid);
    }

    #[test]
    fn signed_pdf_is_valid_with_trust_and_untrusted_without() {
        let dir = tempfile::tempdir().unwrap();
        let (id, ca) = test_identity();
        let path = dir.path().join("doc.pdf");
        signed_pdf(&path, &id);
        let r = verify_pdf(&path, &trust_of(&ca));
        assert_eq!(r.status, Status::Valid, "{:?}", r.problems);
        assert_eq!(r.signer.as_deref(), Some("CN=Test Signer"));
        let age = OffsetDateTime::now_utc() - r.signed_at.unwrap();
        assert!(age.whole_seconds().abs() < 60, "{age}");
        let r = verify_pdf(&path, &TrustStore::empty());
        assert_eq!(r.status, Status::Untrusted);
        assert!(r.problems[0].starts_with(NOT_TRUSTED), "{:?}", r.problems);
        assert_eq!(r.failures().count(), 0, "{:?}", r.problems);
        let (_, _, other_ca) = ca_and_leaf(
            OffsetDateTime::now_utc(),
            OffsetDateTime::now_utc() + time::Duration::days(1),
        );
        assert_eq!(
            verify_pdf(&path, &trust_of(&other_ca)).status,
            Status::Untrusted
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["status"], "untrusted");
        assert_eq!(json["kind"], "pdf");
    }

    #[test]
    fn every_flipped_byte_of_a_signed_pdf_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let (id, ca) = test_identity();
        let path = dir.path().join("doc.pdf");
        signed_pdf(&path, &id);
        let good = std::fs::read(&path).unwrap();
        let trust = trust_of(&ca);
        let hole = good.windows(10).position(|w| w == b"/Contents ").unwrap() + 10;
        let cms_len = good[hole + 1..]
            .iter()
            .position(|b| *b == b'0' || *b == b'>')
            .unwrap();
        // Every byte outside the zero padding of /Contents (which carries no information).
        let bad_path = dir.path().join("bad.pdf");
        let mut checked = 0;
        for i in (0..good.len()).filter(|i| !(hole + 1 + cms_len + 2..hole + 16385).contains(i)) {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            std::fs::write(&bad_path, &bad).unwrap();
            let r = verify_pdf(&bad_path, &trust);
            assert_eq!(
                r.status,
                Status::Invalid,
                "flip at {i} ({:?}) passed",
                good[i] as char
            );
            checked += 1;
        }
        assert!(checked > 1000);

        // The specific reason for a change in the page content.
        let mut bad = good.clone();
        let pos = good.windows(5).position(|w| w == b"Hello").unwrap();
        bad[pos] = b'J';
        std::fs::write(&bad_path, &bad).unwrap();
        let r = verify_pdf(&bad_path, &trust);
        assert_eq!(r.problems, vec![DIGEST_MISMATCH.to_string()]);
    }

    #[test]
    fn appended_revision_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (id, ca) = test_identity();
        let path = dir.path().join("doc.pdf");
        signed_pdf(&path, &id);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        use std::io::Write;
        f.write_all(b"8 0 obj\n(evil)\nendobj\nxref\n8 1\n0000017500 00000 n \ntrailer\n<< /Size 9 /Root 1 0 R /Prev 100 >>\nstartxref\n17530\n%%EOF\n").unwrap();
        drop(f);
        let r = verify_pdf(&path, &trust_of(&ca));
        assert_eq!(r.status, Status::Invalid);
        assert!(
            r.problems.iter().any(|p| p.starts_with(APPENDED)),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn notes_valid_flipped_expired_wrong_ess_and_swapped_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (id, ca) = test_identity();
        let trust = trust_of(&ca);
        let now = OffsetDateTime::now_utc();
        let (content, p7s) = note(dir.path(), &id, now);
        let r = verify_detached_file(&content, &p7s, &trust);
        assert_eq!(r.status, Status::Valid, "{:?}", r.problems);
        assert_eq!(r.kind, ItemKind::Detached);
        assert_eq!(
            r.signed_at.map(|t| t.unix_timestamp()),
            Some(now.unix_timestamp())
        );

        // One flipped byte in the note.
        let mut bytes = std::fs::read(&content).unwrap();
        bytes[4] ^= 0x01;
        std::fs::write(&content, &bytes).unwrap();
        let r = verify_detached_file(&content, &p7s, &trust);
        assert_eq!(
            (r.status, r.problems.clone()),
            (Status::Invalid, vec![DIGEST_MISMATCH.to_string()])
        );
        bytes[4] ^= 0x01;
        std::fs::write(&content, &bytes).unwrap();

        // Wrong ESS hash.
        let digest = sha256_file(&content).unwrap();
        std::fs::write(&p7s, sign_with_wrong_ess(&id, &digest)).unwrap();
        let r = verify_detached_file(&content, &p7s, &trust);
        assert_eq!(
            (r.status, r.problems.clone()),
            (Status::Invalid, vec![ESS_MISMATCH.to_string()])
        );

        // Expired certificate: signed (per its signing-time) after the certificate ended.
        let (old, old_key, old_ca) = ca_and_leaf(
            now - time::Duration::days(400),
            now - time::Duration::days(35),
        );
        let expired = SigningIdentity::for_tests(
            old,
            vec![old_ca.clone()],
            &old_key,
            now - time::Duration::days(40),
        );
        let (content, p7s) = note(dir.path(), &expired, now);
        let r = verify_detached_file(&content, &p7s, &trust_of(&old_ca));
        assert_eq!(r.status, Status::Invalid);
        assert!(
            r.problems
                .iter()
                .any(|p| p.starts_with("certificate expired at signing time (not after ")),
            "{:?}",
            r.problems
        );
        // Signed while valid (signing-time inside the validity): valid, with a note that
        // the certificate has expired since and that the time is only claimed.
        let (content, p7s) = note(dir.path(), &expired, now - time::Duration::days(40));
        let r = verify_detached_file(&content, &p7s, &trust_of(&old_ca));
        assert_eq!(r.status, Status::Valid, "{:?}", r.problems);
        assert!(
            r.notes[0].contains("has expired since") && r.notes[0].contains("claimed"),
            "{:?}",
            r.notes
        );
        // A claimed signing time in the future is false whatever the certificate says.
        let (content, p7s) = note(dir.path(), &id, now + time::Duration::days(2));
        let r = verify_detached_file(&content, &p7s, &trust);
        assert_eq!(r.status, Status::Invalid);
        assert!(
            r.problems.iter().any(|p| p.contains("lies in the future")),
            "{:?}",
            r.problems
        );
        let (content, p7s) = note(dir.path(), &id, now);
        assert!(
            verify_detached_file(&content, &p7s, &trust)
                .notes
                .is_empty()
        );

        // Swapped certificate: same issuer name and serial, another key.
        let (content, p7s) = note(dir.path(), &id, now);
        let swapped = swap_signer_certificate(&std::fs::read(&p7s).unwrap());
        std::fs::write(&p7s, swapped).unwrap();
        let r = verify_detached_file(&content, &p7s, &trust);
        assert_eq!(r.status, Status::Invalid);
        assert!(
            r.problems.contains(&ESS_MISMATCH.to_string()),
            "{:?}",
            r.problems
        );
        assert!(
            r.problems.contains(&BAD_SIGNATURE.to_string()),
            "{:?}",
            r.problems
        );

        // Missing or garbage signature file.
        std::fs::write(&p7s, b"junk").unwrap();
        let r = verify_detached_file(&content, &p7s, &trust);
        assert!(r.problems[0].contains("unreadable"), "{:?}", r.problems);
        let r = verify_detached_file(&content, &dir.path().join("none.p7s"), &trust);
        assert_eq!(r.status, Status::Invalid);
    }

    /// Replaces the signer certificate in a CMS by one with the same issuer and serial number
    /// but a different key (signed by a look-alike CA).
    fn swap_signer_certificate(cms_der: &[u8]) -> Vec<u8> {
        use der::{Decode, Encode};
        let mut info = cms::content_info::ContentInfo::from_der(cms_der).unwrap();
        let mut sd: cms::signed_data::SignedData = info.content.decode_as().unwrap();
        let certs: Vec<_> = sd.certificates.take().unwrap().0.into_vec();
        let mut out = Vec::new();
        for c in certs {
            let cms::cert::CertificateChoices::Certificate(cert) = c else {
                panic!()
            };
            if cert
                .tbs_certificate
                .subject
                .to_string()
                .contains("Test Signer")
            {
                let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
                let mut p = rcgen::CertificateParams::default();
                p.distinguished_name
                    .push(rcgen::DnType::CommonName, "Test Signer");
                p.serial_number = Some(rcgen::SerialNumber::from_slice(
                    cert.tbs_certificate.serial_number.as_bytes(),
                ));
                let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
                let mut ca = rcgen::CertificateParams::default();
                ca.distinguished_name
                    .push(rcgen::DnType::CommonName, "Test Root CA");
                let issuer = rcgen::Issuer::new(ca, &ca_key);
                let fake = p.signed_by(&key, &issuer).unwrap();
                out.push(cms::cert::CertificateChoices::Certificate(
                    x509_cert::Certificate::from_der(fake.der()).unwrap(),
                ));
            } else {
                out.push(cms::cert::CertificateChoices::Certificate(cert));
            }
        }
        sd.certificates = Some(out.try_into().unwrap());
        info.content = der::Any::encode_from(&sd).unwrap();
        info.to_der().unwrap()
    }

    #[test]
    fn keygen_certificate_as_its_own_trust_anchor_and_openssl_agrees() {
        let dir = tempfile::tempdir().unwrap();
        let g = crate::crypto::keygen::generate(
            "CN=QA Test,O=Stadt",
            crate::crypto::keygen::KeyKind::EcP256,
            30,
            &dir.path().join("k"),
        )
        .unwrap();
        let id = SigningIdentity::load(&g.cert_path, &g.key_path, &[]).unwrap();
        let (content, p7s) = note(dir.path(), &id, OffsetDateTime::now_utc());
        let trust = TrustStore::from_pem_files(std::slice::from_ref(&g.cert_path)).unwrap();
        assert_eq!(
            verify_detached_file(&content, &p7s, &trust).status,
            Status::Valid
        );
        assert_eq!(
            verify_detached_file(&content, &p7s, &TrustStore::empty()).status,
            Status::Untrusted
        );
        let ok = Command::new("openssl")
            .args([
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-purpose",
                "any",
                "-out",
                "/dev/null",
                "-in",
            ])
            .arg(&p7s)
            .arg("-content")
            .arg(&content)
            .arg("-CAfile")
            .arg(&g.cert_path)
            .status()
            .unwrap();
        assert!(ok.success());

        // A demo identity's PDF: pdfsig says valid but not trusted; we say untrusted.
        let store = tempfile::tempdir().unwrap();
        let demo = SigningIdentity::demo(store.path()).unwrap();
        let pdf = dir.path().join("demo.pdf");
        signed_pdf(&pdf, &demo);
        let out = Command::new("pdfsig").arg(&pdf).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Signature Validation: Signature is Valid."),
            "{text}"
        );
        assert!(
            !text.contains("Certificate Validation: Certificate is Trusted."),
            "{text}"
        );
        assert_eq!(
            verify_pdf(&pdf, &TrustStore::empty()).status,
            Status::Untrusted
        );
        let _ = pem_cert;
    }

    #[test]
    fn trust_files_and_unsigned_or_broken_pdfs() {
        let dir = tempfile::tempdir().unwrap();
        let (_, ca) = test_identity();
        let (_, ca2) = test_identity();
        let two = dir.path().join("cas.pem");
        std::fs::write(&two, pem_cert(&ca) + &pem_cert(&ca2)).unwrap();
        assert_eq!(TrustStore::from_pem_files(&[two]).unwrap().anchors.len(), 2);
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "hello").unwrap();
        let err = TrustStore::from_pem_files(&[junk]).unwrap_err();
        assert!(err.to_string().contains("junk.pem"), "{err}");

        let plain = dir.path().join("plain.pdf");
        std::fs::write(&plain, b"%PDF-1.7\n1 0 obj\n<< >>\nendobj\n%%EOF\n").unwrap();
        let r = verify_pdf(&plain, &TrustStore::empty());
        assert_eq!(r.status, Status::Invalid);
        assert!(r.problems[0].starts_with("not signed"), "{:?}", r.problems);
        let r = verify_pdf(&dir.path().join("missing.pdf"), &TrustStore::empty());
        assert!(r.problems[0].starts_with("cannot read"), "{:?}", r.problems);
    }

    /// Throughput of `verify_pdf` (run with `--ignored --nocapture`): 200 signed PDFs of
    /// ~500 KB each (a few scanned pages), verified one after another on one core.
    #[test]
    #[ignore = "measurement, not a check"]
    fn verify_throughput() {
        let dir = tempfile::tempdir().unwrap();
        let (id, ca) = test_identity();
        let (pdf, ph) = crate::pdf::sign::tests::unsigned_pdf(16384);
        // Pad with a comment before the signature object: 500 KB of "image data".
        let pad = 500 * 1024;
        let mut big = pdf[..9].to_vec();
        big.extend(std::iter::repeat_n(b'%', 1));
        big.extend((0..pad).map(|i| if i % 100 == 99 { b'\n' } else { b'x' }));
        big.push(b'\n');
        big.extend_from_slice(&pdf[9..]);
        let shift = (pad + 2) as u64;
        let ph = crate::pdf::sign::SignaturePlaceholder {
            byte_range_offset: ph.byte_range_offset + shift,
            contents_offset: ph.contents_offset + shift,
            ..ph
        };
        let n = 200;
        let paths: Vec<PathBuf> = (0..n)
            .map(|i| {
                let p = dir.path().join(format!("{i}.pdf"));
                std::fs::write(&p, &big).unwrap();
                let mut f = File::options().read(true).write(true).open(&p).unwrap();
                crate::pdf::sign::sign_pdf_in_place(&mut f, &ph, &id).unwrap();
                p
            })
            .collect();
        let trust = trust_of(&ca);
        let start = std::time::Instant::now();
        for p in &paths {
            assert_eq!(verify_pdf(p, &trust).status, Status::Valid);
        }
        let secs = start.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        for p in &paths {
            sha256_file(p).unwrap();
        }
        println!(
            "  of which hashing alone: {:.3} s",
            t.elapsed().as_secs_f64()
        );
        let cms_der = {
            let d = std::fs::read(&paths[0]).unwrap();
            let h = ph.contents_offset as usize + 1;
            hex::decode(&d[h..h + 16384]).unwrap()
        };
        let t = std::time::Instant::now();
        for _ in 0..n {
            let r = verify_detached(&cms_der, &[0; 32]).unwrap();
            let mut rep = ItemReport::new(Path::new("x"), ItemKind::Pdf);
            judge_signature(r, None, &trust, &mut rep);
        }
        println!(
            "  of which CMS + chain checks: {:.3} s",
            t.elapsed().as_secs_f64()
        );
        println!(
            "verify_pdf: {n} PDFs of {} KB in {secs:.3} s = {:.0} documents/s",
            big.len() / 1024,
            n as f64 / secs
        );
    }

    proptest::proptest! {
        /// Hostile bytes never panic the PDF lexer, the date parser or the CMS parser.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let mut lexer = Lexer { data: &data, pos: 0, depth: 0 };
            let _ = lexer.value();
            let _ = parse_pdf_date(&data);
            let _ = verify_detached(&data, &[0; 32]);
            let _ = find_object_start(&data);
        }

        /// Dictionary-shaped garbage, deeper nesting than allowed included.
        #[test]
        fn pdf_like_tokens_never_panic(parts in proptest::collection::vec(
            proptest::sample::select(vec!["<<", ">>", "[", "]", "(", ")", "\\", "/N", "<0A", ">", "12", "0 R", " ", "%c\n", "#4"]),
            0..200,
        )) {
            let data = parts.concat().into_bytes();
            let mut lexer = Lexer { data: &data, pos: 0, depth: 0 };
            let _ = lexer.value();
        }
    }

    #[test]
    fn pdf_dates() {
        let t = parse_pdf_date(b"D:20261125100000+01'00'").unwrap();
        assert_eq!(t.unix_timestamp(), 1_795_597_200); // 09:00 UTC
        assert_eq!(parse_pdf_date(b"D:2026").unwrap().year(), 2026);
        assert_eq!(
            parse_pdf_date(b"D:20261125100000Z").unwrap().offset(),
            time::UtcOffset::UTC
        );
        assert!(parse_pdf_date(b"D:20261345").is_none());
        assert!(parse_pdf_date(b"yesterday").is_none());
    }
}
