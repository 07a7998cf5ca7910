//! Which identity signs, and what the protection level allows: one function for each rule,
//! used by `ingest`, `profile check` and `qa record` alike, so that the three can never judge
//! the same profile differently (STYLE §11).

use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::time::Duration;

use serde_saphyr::Spanned;

use crate::crypto::tsp::{Tsa, TsaConfig};

use crate::crypto::identity::{IdentityError, SigningIdentity};
use crate::profile::{Level, LoadedProfile, Problem, Profile, at};

/// The signer a profile names: its own certificate and key, or the store's demo identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerSource {
    /// Generated per store (or per dry run), marked untrusted in every note.
    Demo,
    /// Files, resolved against the profile's folder.
    Files {
        certificate: PathBuf,
        key: PathBuf,
        chain: Vec<PathBuf>,
    },
}

/// A signing section that names no usable signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignerSourceError {
    #[error("the profile has no signing section")]
    NoSection,
    #[error("signing needs certificate and key (or demo: true)")]
    Incomplete,
}

impl SignerSource {
    /// The signer of `profile`, with its files resolved against `base_dir`.
    pub fn of(profile: &Profile, base_dir: &Path) -> Result<SignerSource, SignerSourceError> {
        let signing = profile
            .signing
            .as_ref()
            .map(|s| &s.value)
            .ok_or(SignerSourceError::NoSection)?;
        if signing.demo {
            return Ok(SignerSource::Demo);
        }
        let (Some(cert), Some(key)) = (&signing.certificate, &signing.key) else {
            return Err(SignerSourceError::Incomplete);
        };
        Ok(SignerSource::Files {
            certificate: base_dir.join(&cert.value),
            key: base_dir.join(&key.value),
            chain: signing
                .chain
                .iter()
                .map(|c| base_dir.join(&c.value))
                .collect(),
        })
    }

    /// As [`SignerSource::of`] for a loaded profile.
    pub fn of_loaded(loaded: &LoadedProfile) -> Result<SignerSource, SignerSourceError> {
        SignerSource::of(&loaded.profile, &loaded.base_dir)
    }

    pub fn is_demo(&self) -> bool {
        matches!(self, SignerSource::Demo)
    }

    /// Loads and checks the identity: a real one from its files (valid today, key matching
    /// the certificate), the demo one from the store at `demo_home` (made there if missing).
    pub fn load(&self, demo_home: &Path) -> Result<SigningIdentity, IdentityError> {
        match self {
            SignerSource::Demo => SigningIdentity::demo(demo_home),
            SignerSource::Files {
                certificate,
                key,
                chain,
            } => SigningIdentity::load(certificate, key, chain),
        }
    }
}

/// TR-03138 A.AM.IN.H.1: from protection `hoch` on, signatures must come from a real signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a demo identity is refused at protection '{level}' (TR-03138 A.AM.IN.H.1)")]
pub struct DemoRefused {
    pub level: Level,
}

/// Whether a demo identity may sign at protection `level`.
pub fn demo_allowed(level: Level) -> Result<(), DemoRefused> {
    if level >= Level::Hoch {
        Err(DemoRefused { level })
    } else {
        Ok(())
    }
}

/// `sehr_hoch` needs a qualified timestamp on every signature (TR-03138 A.AM.IN.H.1): without
/// `signing.timestamp` the level is refused rather than pretended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "protection 'sehr_hoch' needs a qualified timestamp on every signature \
     (TR-03138 A.AM.IN.H.1), and the profile configures no signing.timestamp: ingest refuses \
     this level without one"
)]
pub struct LevelUnsupported;

/// Whether resiscan can ingest at protection `level`; `timestamped`: the profile configures a
/// TSA (`signing.timestamp`), so every signature gets a timestamp.
pub fn level_supported(level: Level, timestamped: bool) -> Result<(), LevelUnsupported> {
    if level == Level::SehrHoch && !timestamped {
        Err(LevelUnsupported)
    } else {
        Ok(())
    }
}

/// Whether the profile configures `signing.timestamp` (before any check of it).
pub fn has_timestamp(profile: &Profile) -> bool {
    profile
        .signing
        .as_ref()
        .is_some_and(|s| s.value.timestamp.is_some())
}

/// The TSA `signing.timestamp` names, ready to ask; its problems (a URL that is no HTTP URL, a
/// trust file that is missing or holds no certificate) go into `out` with their lines.
pub(crate) fn timestamp(
    profile: &Profile,
    base_dir: &Path,
    out: &mut Vec<Problem>,
) -> Option<Arc<Tsa>> {
    let ts = profile.signing.as_ref()?.value.timestamp.as_ref()?;
    let t = &ts.value;
    let url = t.url.value.trim().to_string();
    let mut ok = true;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        out.push(at(
            &t.url,
            format!("signing.timestamp.url \"{url}\" is not an http:// or https:// URL"),
            Some("RFC 3161 over HTTP: the TSA provider gives the URL"),
        ));
        ok = false;
    }
    let trust_path = base_dir.join(&t.trust.value);
    let trust = match crate::crypto::identity::read_certificates(&trust_path) {
        Ok(certs) if !certs.is_empty() => certs,
        Ok(_) => {
            out.push(at(
                &t.trust,
                format!(
                    "signing.timestamp.trust {} holds no certificate",
                    trust_path.display()
                ),
                Some("give the TSA's root certificate (PEM or DER) from the TSA provider"),
            ));
            return None;
        }
        Err(reason) => {
            out.push(at(
                &t.trust,
                format!("signing.timestamp.trust {}: {reason}", trust_path.display()),
                Some(
                    "give the TSA's root certificate (PEM or DER) from the TSA provider; paths \
                     are relative to the profile's folder",
                ),
            ));
            return None;
        }
    };
    if !ok {
        return None;
    }
    Some(Arc::new(Tsa::new(TsaConfig {
        url,
        trust_path,
        trust,
        timeout: Duration::from_secs_f64(t.timeout_seconds.unwrap_or(10.0)),
        retries: t.retries.unwrap_or(2),
    })))
}

/// The signer a profile names, as loaded and checked (for `profile check` to show).
#[derive(Debug, Clone)]
pub struct SignerInfo {
    pub subject: String,
    pub fingerprint_sha256: String,
    pub not_after: String,
    pub algorithm: String,
    /// The subjects of the chain certificates the signatures carry, in chain order.
    pub chain: Vec<String>,
    /// What works but the operator should know (a missing chain, an EKU pdfsig distrusts).
    pub warnings: Vec<String>,
}

impl SignerInfo {
    pub fn of(id: &SigningIdentity) -> SignerInfo {
        SignerInfo {
            subject: id.subject().to_string(),
            fingerprint_sha256: id.fingerprint_hex(),
            not_after: id.not_after().date().to_string(),
            algorithm: id.algorithm().to_string(),
            chain: id
                .chain_der()
                .iter()
                .map(|der| {
                    crate::crypto::identity::parse_cert(der)
                        .map(|c| c.subject().to_string())
                        .unwrap_or_else(|_| "(unreadable certificate)".into())
                })
                .collect(),
            warnings: id.warnings().to_vec(),
        }
    }
}

/// The signing half of the config phase: the protection level's rules and the signing
/// section, checked by loading the identity as ingest signs with it. Problems go into `out`
/// with their lines; a real identity comes back loaded (the demo one lives in the store and
/// is loaded when the store is open).
pub(crate) fn signing_identity(
    profile: &Profile,
    base_dir: &Path,
    out: &mut Vec<Problem>,
) -> Option<SigningIdentity> {
    if let Err(e) = level_supported(profile.protection.integrity, has_timestamp(profile)) {
        // Said here as well as by ingest, so that `profile check` and `ingest` agree.
        out.push(profile.at_integrity(
            e.to_string(),
            "configure signing.timestamp {url, trust} with a qualified TSA, or use integrity: hoch",
        ));
    }
    if profile.protection.integrity == Level::SehrHoch && profile.sample_percent() < 100.0 {
        out.push(profile.at_integrity(
            format!(
                "protection 'sehr_hoch' means every document is inspected visually by a second \
                 person (TR-03138 A.AM.IN.H.7), but qa.sample_percent is {}",
                profile.sample_percent()
            ),
            "remove qa.sample_percent (sehr_hoch defaults to 100) or set it to 100",
        ));
    }
    let tsa = timestamp(profile, base_dir, out);
    let Some(signing) = &profile.signing else {
        out.push(Problem {
            line: 0,
            column: 0,
            message: "no signing section".into(),
            hint: Some(
                "give signing.certificate and signing.key, or `signing: {demo: true}` for trials"
                    .into(),
            ),
        });
        return None;
    };
    let s = &signing.value;
    if s.demo {
        if s.certificate.is_some() || s.key.is_some() {
            out.push(at(
                signing,
                "signing.demo is true but a certificate or key is also given".into(),
                Some("remove demo: true to sign with the given key"),
            ));
        }
        if let Some(r) = s
            .revocation
            .as_ref()
            .filter(|r| r.value == crate::profile::Revocation::Embed)
        {
            out.push(at(
                r,
                "signing.revocation: embed needs a real signer: the demo identity has no CA \
                 whose CRLs could be embedded"
                    .into(),
                Some("give signing.certificate, key and chain, or remove revocation: embed"),
            ));
        }
        if let Err(refused) = demo_allowed(profile.protection.integrity) {
            out.push(at(
                signing,
                format!("a demo identity is refused at protection '{}'", refused.level),
                Some(
                    "TR-03138 A.AM.IN.H.1: protection hoch and above needs a real signing certificate",
                ),
            ));
        }
        return None;
    }
    let before = out.len();
    for (what, file) in [("certificate", &s.certificate), ("key", &s.key)] {
        match file {
            None => out.push(at(
                signing,
                format!("signing.{what} is missing"),
                Some("give both certificate and key, or demo: true"),
            )),
            Some(f) => check_file(base_dir, f, &format!("signing.{what}"), out),
        }
    }
    for f in &s.chain {
        check_file(base_dir, f, "signing.chain entry", out);
    }
    let (Some(cert), Some(key)) = (&s.certificate, &s.key) else {
        return None;
    };
    if out.len() > before {
        return None;
    }
    // The files exist: load them as ingest signs with them, so that a wrong, mismatched or
    // expired key fails here and not at night.
    let source = SignerSource::of(profile, base_dir).ok()?;
    match source.load(base_dir) {
        Ok(id) => {
            let embed = revocation_embed(profile, base_dir, &id, tsa.as_deref(), out);
            Some(id.with_timestamp(tsa).with_embed(embed))
        }
        Err(e) => {
            let SignerSource::Files {
                key: key_file,
                chain,
                ..
            } = &source
            else {
                return None;
            };
            let chain_entry = |path: &Path| {
                s.chain
                    .iter()
                    .zip(chain)
                    .find(|(_, full)| full.as_path() == path)
                    .map(|(c, _)| c)
            };
            let place = match &e {
                IdentityError::Key { .. } | IdentityError::KeyMismatch { .. } => key,
                IdentityError::Chain { path, .. } => chain_entry(path).unwrap_or(cert),
                IdentityError::Read { path, .. } if path == key_file => key,
                IdentityError::Read { path, .. } => chain_entry(path).unwrap_or(cert),
                _ => cert,
            };
            out.push(at(
                place,
                format!("signing identity unusable: {e}"),
                Some(
                    "the key must be PKCS#8 (PEM or DER), EC P-256 or RSA >= 2048, and belong to \
                     the certificate, which must be valid today; `resiscan keygen` makes a trial pair",
                ),
            ));
            None
        }
    }
}

/// `signing.revocation: embed` with `signing.crls` (PAdES B-LT, SPEC §7): every CRL is read
/// and must be issued (and signed) by a certificate of the signer's chain or the TSA's trust
/// file, so that what ingest embeds speaks about the certificates it signs with. A CRL that
/// revokes the signer itself is refused: every PDF signed with it would be invalid. Problems go
/// into `out` naming the file and its line.
pub(crate) fn revocation_embed(
    profile: &Profile,
    base_dir: &Path,
    id: &SigningIdentity,
    tsa: Option<&Tsa>,
    out: &mut Vec<Problem>,
) -> Option<Arc<crate::crypto::crl::Embed>> {
    use crate::crypto::crl::{Embed, crl_issuer, read_crl};
    use crate::profile::Revocation;
    let signing = profile.signing.as_ref()?;
    let s = &signing.value;
    let embed = s
        .revocation
        .as_ref()
        .is_some_and(|r| r.value == Revocation::Embed);
    if !embed {
        if let Some(first) = s.crls.first() {
            out.push(at(
                first,
                "signing.crls is given but signing.revocation is not embed: the CRLs would not \
                 be used"
                    .into(),
                Some("add `revocation: embed` to the signing section, or remove crls"),
            ));
        }
        return None;
    }
    let place = s.revocation.as_ref().expect("embed is set");
    if tsa.is_none() {
        out.push(at(
            place,
            "signing.revocation: embed makes PDFs PAdES B-LT, which rests on a signature \
             timestamp, and the profile configures no (usable) signing.timestamp"
                .into(),
            Some("configure signing.timestamp {url, trust}, or remove revocation: embed"),
        ));
        return None;
    }
    if s.crls.is_empty() {
        out.push(at(
            place,
            "signing.revocation: embed needs the CRLs to embed (signing.crls)".into(),
            Some("list the CA's current CRL files: crls: [keys/ca.crl]"),
        ));
        return None;
    }
    let mut pool: Vec<Vec<u8>> = std::iter::once(id.certificate_der().to_vec())
        .chain(id.chain_der().iter().cloned())
        .collect();
    let tsa_certs: Vec<Vec<u8>> = tsa.map(|t| t.config().trust.clone()).unwrap_or_default();
    pool.extend(tsa_certs.iter().cloned());
    let signer = crate::crypto::identity::parse_cert(id.certificate_der()).ok()?;
    let now = time::OffsetDateTime::now_utc();
    let mut result = Embed {
        crls: Vec::new(),
        certs: tsa_certs,
    };
    let before = out.len();
    for f in &s.crls {
        let path = base_dir.join(&f.value);
        let problem = |reason: String| {
            at(
                f,
                format!("signing.crls entry {}: {reason}", path.display()),
                Some(
                    "give CRLs (PEM or DER) issued by the signer's CA or the TSA's CA; paths are \
                     relative to the profile's folder",
                ),
            )
        };
        let crl = match read_crl(&path) {
            Ok(c) => c,
            Err(reason) => {
                out.push(problem(reason));
                continue;
            }
        };
        let issuer = match crl_issuer(&crl, &pool) {
            Ok(issuer) => issuer.to_vec(),
            Err(reason) => {
                out.push(problem(format!("does not match the chain: {reason}")));
                continue;
            }
        };
        if let Ok((_, parsed)) = x509_parser::parse_x509_crl(&crl.der)
            && parsed.issuer().as_raw() == signer.issuer().as_raw()
            && let Some(entry) = parsed
                .iter_revoked_certificates()
                .find(|r| r.raw_serial() == signer.raw_serial())
            && entry.revocation_date.to_datetime() <= now
        {
            out.push(problem(format!(
                "it revokes the signing certificate itself (since {}): every signature made \
                 with it would be invalid",
                crate::machine::rfc3339(entry.revocation_date.to_datetime())
            )));
            continue;
        }
        if !result.certs.contains(&issuer) {
            result.certs.push(issuer);
        }
        result.crls.push(crl);
    }
    (out.len() == before).then(|| Arc::new(result))
}

fn check_file(base_dir: &Path, f: &Spanned<PathBuf>, what: &str, out: &mut Vec<Problem>) {
    let full = base_dir.join(&f.value);
    let problem = if full.is_file() {
        return;
    } else if full.is_dir() {
        format!("{what} {} is a folder, not a file", full.display())
    } else if f.value.starts_with("~") {
        format!(
            "{what} {} does not exist (~ is not expanded: write the full path)",
            full.display()
        )
    } else {
        format!("{what} {} does not exist", full.display())
    };
    out.push(at(
        f,
        problem,
        Some("paths are relative to the profile's folder; make a trial identity with `resiscan keygen`"),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_is_allowed_only_below_hoch() {
        assert!(demo_allowed(Level::Normal).is_ok());
        assert_eq!(
            demo_allowed(Level::Hoch),
            Err(DemoRefused { level: Level::Hoch })
        );
        assert!(demo_allowed(Level::SehrHoch).is_err());
        assert_eq!(
            DemoRefused { level: Level::Hoch }.to_string(),
            "a demo identity is refused at protection 'hoch' (TR-03138 A.AM.IN.H.1)"
        );
    }

    #[test]
    fn sehr_hoch_needs_a_timestamp() {
        assert!(level_supported(Level::Normal, false).is_ok());
        assert!(level_supported(Level::Hoch, false).is_ok());
        assert_eq!(
            level_supported(Level::SehrHoch, false),
            Err(LevelUnsupported)
        );
        assert!(level_supported(Level::SehrHoch, true).is_ok());
    }

    fn profile(signing: &str) -> Profile {
        crate::profile::parse(&format!(
            "name: t\nversion: 1\norganisation: o\nprotection: {{integrity: normal}}\n{signing}\
             efiles:\n  - id: a\n    title: A\n    match: {{all: [x]}}\n    path: \"A\"\n"
        ))
        .unwrap()
    }

    #[test]
    fn the_signer_source_follows_the_signing_section() {
        let base = Path::new("/etc/resiscan");
        assert_eq!(
            SignerSource::of(&profile("signing: {demo: true}\n"), base),
            Ok(SignerSource::Demo)
        );
        assert_eq!(
            SignerSource::of(
                &profile("signing: {certificate: c.pem, key: k.pem, chain: [ca.pem]}\n"),
                base
            ),
            Ok(SignerSource::Files {
                certificate: base.join("c.pem"),
                key: base.join("k.pem"),
                chain: vec![base.join("ca.pem")],
            })
        );
        assert_eq!(
            SignerSource::of(&profile("signing: {certificate: c.pem}\n"), base),
            Err(SignerSourceError::Incomplete)
        );
        assert_eq!(
            SignerSource::of(&profile(""), base),
            Err(SignerSourceError::NoSection)
        );
    }

    #[test]
    fn a_demo_source_loads_the_stores_identity_and_files_load_from_disk() {
        let t = tempfile::tempdir().unwrap();
        let demo = SignerSource::Demo.load(t.path()).unwrap();
        assert!(demo.is_demo());
        let g = crate::crypto::keygen::generate(
            "CN=T,O=S",
            crate::crypto::keygen::KeyKind::EcP256,
            30,
            &t.path().join("k"),
        )
        .unwrap();
        let real = SignerSource::Files {
            certificate: g.cert_path.clone(),
            key: g.key_path.clone(),
            chain: Vec::new(),
        }
        .load(t.path())
        .unwrap();
        assert!(!real.is_demo());
        assert_eq!(real.fingerprint_hex(), g.fingerprint);
    }
}
