//! RFC 3161 timestamps: the client that asks a timestamp authority (TSA) for a signature
//! timestamp, and the check of a token — when it arrives and again in `verify`.
//!
//! A request carries a SHA-256 imprint, a fresh nonce and certReq, and goes out as an HTTP
//! POST `application/timestamp-query` (RFC 3161 3.4) through `ureq` (blocking, rustls for
//! https). A reply is accepted only if its status is granted, its TSTInfo names our imprint
//! and nonce, the token's CMS signature verifies, and the TSA certificate has the extended key
//! usage timeStamping and chains to the configured trust anchor at the token's time. Anything
//! else is a [`TsaError`] naming the TSA's URL and the reason; the caller files nothing
//! unstamped.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::ID_SHA_256;
use der::asn1::{Int, OctetString};
use der::{Any, Decode, Encode};
use spki::AlgorithmIdentifier;
use time::OffsetDateTime;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use super::chain::{ChainCheck, End, check_valid_at, parse_cert};

/// id-aa-timeStampToken (RFC 3161 Appendix A): the unsigned attribute that carries a
/// signature timestamp over a SignerInfo's signature value.
pub const ID_AA_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// id-ct-TSTInfo (RFC 3161 2.4.2): the eContentType of a timestamp token.
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// Largest reply read from a TSA; real tokens are a few KiB.
const MAX_REPLY: u64 = 1 << 20;
/// Room kept for a token in a PDF's /Contents before the first reply tells its real size.
pub const DEFAULT_TOKEN_ROOM: usize = 16 * 1024;

/// Where timestamps come from and whom their signers must chain to (`signing.timestamp`).
#[derive(Debug, Clone)]
pub struct TsaConfig {
    pub url: String,
    /// The trust file (`signing.timestamp.trust`), for messages.
    pub trust_path: PathBuf,
    /// Its certificates, DER.
    pub trust: Vec<Vec<u8>>,
    /// Per attempt: connect, send and read the reply.
    pub timeout: Duration,
    /// Further attempts after a failed one.
    pub retries: u32,
}

/// The TSA failed us: its URL and why, as one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timestamp authority {url}: {reason}")]
pub struct TsaError {
    pub url: String,
    pub reason: String,
}

/// What a checked token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// TSTInfo genTime: the time the TSA vouches for.
    pub gen_time: OffsetDateTime,
    /// The TSA certificate's subject.
    pub tsa_subject: String,
    /// The TSA certificate, DER.
    pub tsa_cert_der: Vec<u8>,
    /// Whether the TSA certificate chains to one of the anchors.
    pub trusted: bool,
}

/// A configured TSA client, shared by every signature of a run.
pub struct Tsa {
    config: TsaConfig,
    agent: ureq::Agent,
    /// Largest token seen so far (0: none yet), to size PDF signature placeholders.
    largest_token: AtomicUsize,
}

impl std::fmt::Debug for Tsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tsa")
            .field("url", &self.config.url)
            .finish()
    }
}

impl Tsa {
    pub fn new(config: TsaConfig) -> Tsa {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Tsa {
            config,
            agent,
            largest_token: AtomicUsize::new(0),
        }
    }

    pub fn url(&self) -> &str {
        &self.config.url
    }

    pub fn config(&self) -> &TsaConfig {
        &self.config
    }

    /// Bytes to keep for one token in a PDF's /Contents: the largest token seen plus a margin
    /// for a longer serial, nonce or signature; before any reply, [`DEFAULT_TOKEN_ROOM`].
    pub fn token_room(&self) -> usize {
        match self.largest_token.load(Ordering::Relaxed) {
            0 => DEFAULT_TOKEN_ROOM,
            n => n + 1024,
        }
    }

    /// A timestamp token (the ContentInfo DER) over `imprint` (SHA-256), checked; retried
    /// `retries` times on any failure, the last failure's reason returned.
    pub fn stamp(&self, imprint: &[u8; 32]) -> Result<Vec<u8>, TsaError> {
        let attempts = self.config.retries.saturating_add(1);
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(250 * u64::from(attempt.min(8))));
            }
            match self.once(imprint) {
                Ok(token) => {
                    self.largest_token.fetch_max(token.len(), Ordering::Relaxed);
                    return Ok(token);
                }
                Err(reason) => {
                    tracing::warn!(
                        "timestamp authority {} (attempt {} of {attempts}): {reason}",
                        self.config.url,
                        attempt + 1
                    );
                    last = reason;
                }
            }
        }
        Err(TsaError {
            url: self.config.url.clone(),
            reason: if attempts > 1 {
                format!("{last} (after {attempts} attempts)")
            } else {
                last
            },
        })
    }

    /// One request and the check of its reply.
    fn once(&self, imprint: &[u8; 32]) -> Result<Vec<u8>, String> {
        let nonce = fresh_nonce()?;
        let request = request_der(imprint, &nonce)?;
        let mut reply = self
            .agent
            .post(&self.config.url)
            .header("Content-Type", "application/timestamp-query")
            .header("Accept", "application/timestamp-reply")
            .send(&request[..])
            .map_err(|e| match e {
                ureq::Error::Timeout(_) => format!(
                    "no reply within {} s (timeout)",
                    self.config.timeout.as_secs_f64()
                ),
                ureq::Error::Io(io) => format!("not reachable: {io}"),
                other => format!("request failed: {other}"),
            })?;
        let status = reply.status();
        if !status.is_success() {
            return Err(format!("HTTP status {status}"));
        }
        let body = reply
            .body_mut()
            .with_config()
            .limit(MAX_REPLY)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::Timeout(_) => format!(
                    "no complete reply within {} s (timeout)",
                    self.config.timeout.as_secs_f64()
                ),
                other => format!("reading the reply failed: {other}"),
            })?;
        let token = token_of_reply(&body)?;
        let info = check_token(&token, imprint, Some(&nonce), &self.config.trust)
            .map_err(|reason| format!("token refused: {reason}"))?;
        if !info.trusted {
            return Err(format!(
                "token refused: the TSA certificate \"{}\" does not chain to a trusted TSA \
                 root ({})",
                info.tsa_subject,
                self.config.trust_path.display()
            ));
        }
        Ok(token)
    }
}

/// 64 random bits, positive and minimally encoded (first byte 0x01..=0x7f).
fn fresh_nonce() -> Result<Vec<u8>, String> {
    use rand::Rng;
    let mut n = [0u8; 8];
    rand::rng().fill(&mut n[..]);
    n[0] = (n[0] & 0x7f).max(1);
    Ok(n.to_vec())
}

fn sha256_imprint(imprint: &[u8; 32]) -> Result<MessageImprint, String> {
    Ok(MessageImprint {
        hash_algorithm: AlgorithmIdentifier {
            oid: ID_SHA_256,
            parameters: Some(Any::null()),
        },
        hashed_message: OctetString::new(imprint.to_vec()).map_err(|e| e.to_string())?,
    })
}

/// The DER of a TimeStampReq (RFC 3161 2.4.1) for `imprint` with `nonce` and certReq.
pub fn request_der(imprint: &[u8; 32], nonce: &[u8]) -> Result<Vec<u8>, String> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: sha256_imprint(imprint)?,
        req_policy: None,
        nonce: Some(Int::new(nonce).map_err(|e| e.to_string())?),
        cert_req: true,
        extensions: None,
    };
    req.to_der()
        .map_err(|e| format!("encoding the request failed: {e}"))
}

/// The token of a TimeStampResp, if its status grants one.
pub fn token_of_reply(body: &[u8]) -> Result<Vec<u8>, String> {
    let resp = TimeStampResp::from_der(body)
        .map_err(|e| format!("the reply is not a TimeStampResp ({e})"))?;
    use cmpv2::status::PkiStatus;
    match resp.status.status {
        PkiStatus::Accepted | PkiStatus::GrantedWithMods => {}
        other => {
            let text = resp
                .status
                .status_string
                .as_ref()
                .map(|s| {
                    s.iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .filter(|s| !s.is_empty())
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            let fail = resp
                .status
                .fail_info
                .map(|f| format!(" (failInfo {f:?})"))
                .unwrap_or_default();
            return Err(format!(
                "the TSA refused the request, status {other:?}{text}{fail}"
            ));
        }
    }
    let token = resp
        .time_stamp_token
        .ok_or("status granted but the reply carries no token")?;
    token
        .to_der()
        .map_err(|e| format!("the token does not encode: {e}"))
}

/// The time a token states (TSTInfo genTime) and the imprint it covers, read without
/// checking it: for deciding what to renew, never for trusting (that is [`check_token`]).
pub fn token_claims(token: &[u8]) -> Result<(OffsetDateTime, Vec<u8>), String> {
    let signed = super::cms::verify_tst(token).map_err(|e| e.to_string())?;
    let tst =
        TstInfo::from_der(&signed.tst_info).map_err(|e| format!("TSTInfo does not decode: {e}"))?;
    let secs = i64::try_from(tst.gen_time.to_unix_duration().as_secs())
        .map_err(|_| "genTime out of range".to_string())?;
    let time = OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| "genTime out of range".to_string())?;
    Ok((time, tst.message_imprint.hashed_message.as_bytes().to_vec()))
}

/// Checks a timestamp token against the imprint it must cover (SHA-256) and, when given, the
/// nonce of our request: the CMS signature of the TSA over the TSTInfo, the TSA certificate's
/// extended key usage timeStamping and validity at genTime, and its chain at genTime (whether
/// it reaches one of `anchors` is [`TokenInfo::trusted`]). The error is one sentence.
pub fn check_token(
    token: &[u8],
    imprint: &[u8],
    nonce: Option<&[u8]>,
    anchors: &[Vec<u8>],
) -> Result<TokenInfo, String> {
    let signed = super::cms::verify_tst(token).map_err(|e| e.to_string())?;
    if !signed.report.problems.is_empty() {
        return Err(format!(
            "the TSA's signature is not valid: {}",
            signed.report.problems.join("; ")
        ));
    }
    let tst =
        TstInfo::from_der(&signed.tst_info).map_err(|e| format!("TSTInfo does not decode: {e}"))?;
    if tst.message_imprint.hash_algorithm.oid != ID_SHA_256 {
        return Err(format!(
            "the imprint is hashed with {}, SHA-256 was requested",
            tst.message_imprint.hash_algorithm.oid
        ));
    }
    if tst.message_imprint.hashed_message.as_bytes() != imprint {
        return Err(format!(
            "the token is for another imprint ({}, expected {})",
            hex::encode(tst.message_imprint.hashed_message.as_bytes()),
            hex::encode(imprint)
        ));
    }
    if let Some(nonce) = nonce
        && tst.nonce.as_ref().map(|n| n.as_bytes()) != Some(nonce)
    {
        return Err("the token's nonce is not the request's (a replayed or foreign reply)".into());
    }
    let secs = i64::try_from(tst.gen_time.to_unix_duration().as_secs())
        .map_err(|_| "genTime out of range".to_string())?;
    let gen_time = OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| "genTime out of range".to_string())?;

    let cert_der = &signed.report.signer_cert_der;
    let cert = parse_cert(cert_der).map_err(|e| format!("TSA certificate: {e}"))?;
    let subject = cert.subject().to_string();
    match cert.extended_key_usage() {
        Ok(Some(eku)) if eku.value.time_stamping => {}
        Ok(_) => {
            return Err(format!(
                "the TSA certificate \"{subject}\" lacks the extended key usage timeStamping \
                 (RFC 3161 2.3)"
            ));
        }
        Err(e) => return Err(format!("TSA certificate \"{subject}\": {e}")),
    }
    check_valid_at(&cert, gen_time).map_err(|why| {
        format!(
            "the TSA certificate \"{subject}\" is {why} at the token's time {}",
            crate::machine::rfc3339(gen_time)
        )
    })?;
    let check = ChainCheck {
        anchors,
        at: gen_time,
    };
    let path = check
        .issuer_path(cert_der, &signed.report.chain_der)
        .map_err(|e| format!("TSA certificate chain: {e}"))?;
    Ok(TokenInfo {
        gen_time,
        tsa_subject: subject,
        tsa_cert_der: cert_der.clone(),
        trusted: path.end == End::Anchor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_der_with_sha256_nonce_and_cert_req() {
        let imprint = [7u8; 32];
        let nonce = fresh_nonce().unwrap();
        assert!(nonce[0] >= 1 && nonce[0] <= 0x7f);
        let der = request_der(&imprint, &nonce).unwrap();
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.message_imprint.hash_algorithm.oid, ID_SHA_256);
        assert_eq!(req.message_imprint.hashed_message.as_bytes(), &imprint);
        assert_eq!(req.nonce.unwrap().as_bytes(), nonce.as_slice());
        assert!(req.cert_req);
    }

    fn openssl(dir: &std::path::Path, args: &[&str]) {
        let out = std::process::Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn der_of_pem(path: &std::path::Path) -> Vec<u8> {
        crate::crypto::identity::read_certificates(path)
            .unwrap()
            .remove(0)
    }

    /// A token made by `openssl ts -reply` over `imprint` with a TSA certificate (EKU
    /// timeStamping, critical) under a root made here; returns the token and the root's DER.
    fn openssl_token(dir: &std::path::Path, imprint: &[u8; 32]) -> (Vec<u8>, Vec<u8>) {
        std::fs::write(
            dir.join("x.cnf"),
            "[tsa]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=critical,timeStamping\n[root]\nbasicConstraints=critical,CA:TRUE\n\
             keyUsage=critical,keyCertSign\n[ts]\nsigner_cert=tsa.pem\nsigner_key=tsa.key\n\
             certs=root.pem\nsigner_digest=sha256\ndefault_policy=1.2.3.4\n\
             digests=sha256\nserial=serial\ness_cert_id_alg=sha1\n",
        )
        .unwrap();
        std::fs::write(dir.join("serial"), "01\n").unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut root = vec!["req", "-x509", "-days", "30", "-subj", "/CN=R"];
        root.extend(ec);
        root.extend(["-keyout", "root.key", "-out", "root.pem"]);
        root.extend(["-config", "x.cnf", "-extensions", "root"]);
        openssl(dir, &root);
        let mut csr = vec!["req", "-new", "-subj", "/CN=T"];
        csr.extend(ec);
        csr.extend(["-keyout", "tsa.key", "-out", "tsa.csr"]);
        openssl(dir, &csr);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "tsa.csr",
                "-CA",
                "root.pem",
                "-CAkey",
                "root.key",
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                "x.cnf",
                "-extensions",
                "tsa",
                "-out",
                "tsa.pem",
            ],
        );
        std::fs::write(
            dir.join("q.tsq"),
            request_der(imprint, &[1, 2, 3, 4]).unwrap(),
        )
        .unwrap();
        openssl(
            dir,
            &[
                "ts",
                "-reply",
                "-config",
                "x.cnf",
                "-section",
                "ts",
                "-queryfile",
                "q.tsq",
                "-out",
                "r.tsr",
            ],
        );
        let token = token_of_reply(&std::fs::read(dir.join("r.tsr")).unwrap()).unwrap();
        (token, der_of_pem(&dir.join("root.pem")))
    }

    #[test]
    fn an_openssl_token_is_checked_for_imprint_nonce_and_trust() {
        let dir = tempfile::tempdir().unwrap();
        let imprint = [0x42u8; 32];
        // ESS v1 (SHA-1), as many TSAs send it.
        let (token, root) = openssl_token(dir.path(), &imprint);
        let info = check_token(
            &token,
            &imprint,
            Some(&[1, 2, 3, 4]),
            std::slice::from_ref(&root),
        )
        .unwrap();
        assert!(info.trusted);
        assert_eq!(info.tsa_subject, "CN=T");
        let now = OffsetDateTime::now_utc();
        assert!((info.gen_time - now).abs() < time::Duration::minutes(5));

        let e = check_token(&token, &[0x43; 32], None, std::slice::from_ref(&root)).unwrap_err();
        assert!(e.contains("another imprint"), "{e}");
        let e = check_token(&token, &imprint, Some(&[9]), &[root]).unwrap_err();
        assert!(e.contains("nonce"), "{e}");
        // No anchors: the token is sound but its TSA is not trusted.
        assert!(!check_token(&token, &imprint, None, &[]).unwrap().trusted);
        // A flipped byte in the TSTInfo breaks the TSA's signature (message digest).
        let mut bad = token.clone();
        let at = bad.windows(32).position(|w| w == imprint).unwrap();
        bad[at] ^= 1;
        assert!(check_token(&bad, &bad[at..at + 32], None, &[]).is_err());
    }

    #[test]
    fn refused_and_garbage_replies_say_why() {
        // TimeStampResp { status { rejection, "busy" } }
        let refused = [
            0x30, 0x0b, 0x30, 0x09, 0x02, 0x01, 0x02, 0x30, 0x04, 0x0c, 0x02, b'n', b'o',
        ];
        let e = token_of_reply(&refused).unwrap_err();
        assert!(e.contains("refused") && e.contains("Rejection"), "{e}");
        let e = token_of_reply(b"<html>").unwrap_err();
        assert!(e.contains("not a TimeStampResp"), "{e}");
        // granted without a token
        let e = token_of_reply(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00]).unwrap_err();
        assert!(e.contains("no token"), "{e}");
    }
}
