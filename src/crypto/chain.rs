//! The certificate-chain walk, one for signing and for verify (RFC 5280 6.1, simplified).
//!
//! Loading a signing identity builds the signer's issuer chain from the configured
//! certificates and judges it now; `verify` builds a signature's chain from the certificates it
//! carries and the clerk's trust anchors and judges it at the signing time. Both walk here, so
//! a chain the scan center signs with is judged by the rules the QA clerk's check applies.
//!
//! A link is a certificate whose subject is the child's issuer and whose key verifies the
//! child's signature. Unless it is a trust anchor it must be a CA (basicConstraints CA:TRUE,
//! RFC 5280 4.2.1.9) whose KeyUsage, if present, has keyCertSign (4.2.1.3); every link,
//! anchors included, must be within its validity period at the reference time
//! ([`ChainCheck::at`]). A walk ends at a trust anchor, at a self-issued certificate nothing
//! given issues (a root that is not trusted), or where no given certificate issues the last one.
//!
//! Not built: revocation (SPEC §7 `verify --crl`), name constraints, certificate policies. The
//! reference time is a parameter so that a timestamp's time can replace the signer's claim,
//! and revocation lists are meant to join [`ChainCheck`].

use std::fmt;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

/// Longest issuer chain we follow (issuers above the signer); real PKIs have 2–4 levels.
pub(crate) const MAX_CHAIN: usize = 8;

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
pub enum OutsideValidity {
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
                format!("not before {}", crate::machine::rfc3339(*not_before))
            }
            OutsideValidity::Expired { not_after } => {
                format!("not after {}", crate::machine::rfc3339(*not_after))
            }
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

/// Where a certificate of the path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `pool[i]`: the certificates given with the signer (signing.chain, a CMS's certificates).
    Pool(usize),
    /// `anchors[i]`: a trust anchor.
    Anchor(usize),
}

/// How a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The last certificate of the path (the signer itself if there are no links) is a trust
    /// anchor.
    Anchor,
    /// The last certificate is self-issued (a root) and not a trust anchor.
    SelfIssued,
    /// No given certificate issues the last one.
    IssuerMissing,
}

/// The path from a signer up, as far as the given certificates reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IssuerPath {
    /// The issuers, the signer's issuer first.
    pub(crate) links: Vec<Source>,
    pub(crate) end: End,
}

/// Why a path is refused. `child` is the certificate a link was sought for: `None` for the
/// signer, else where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ChainError {
    #[error("the signer certificate is unreadable: {0}")]
    Unreadable(String),
    /// A given certificate bears the child's issuer name, but its key does not verify the
    /// child's signature: another CA with the same name, or a CA's old or new key — or
    /// tampering. Only the pool is searched for these; an anchor of the same name is merely
    /// not the issuer.
    #[error(
        "certificate \"{child_subject}\" names \"{issuer_name}\" as its issuer, but that \
         certificate's key does not verify its signature ({reason})"
    )]
    WrongKey {
        child: Option<Source>,
        child_subject: String,
        issuer_name: String,
        candidate: usize,
        reason: String,
    },
    #[error(
        "issuer \"{subject}\" is not a CA certificate (no basicConstraints CA:TRUE, RFC 5280 \
         4.2.1.9)"
    )]
    NotCa {
        issuer: Source,
        subject: String,
        child: Option<Source>,
    },
    #[error(
        "issuer \"{subject}\" has a KeyUsage without keyCertSign, so it may not issue \
         certificates (RFC 5280 4.2.1.3)"
    )]
    NoCertSign { issuer: Source, subject: String },
    #[error("issuer certificate \"{subject}\" is {why}")]
    OutsideValidity {
        issuer: Source,
        subject: String,
        why: OutsideValidity,
    },
    #[error("the chain is longer than {MAX_CHAIN} certificates")]
    TooLong { issuer: Source },
}

/// What the links of a path are judged against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainCheck<'a> {
    /// Certificates trusted as they are (`verify --trust`); signing has none.
    pub(crate) anchors: &'a [Vec<u8>],
    /// The time validity is judged at: now when an identity is loaded, the signing time in
    /// verify.
    pub(crate) at: OffsetDateTime,
}

impl ChainCheck<'_> {
    /// Walks up from `signer` through `pool` (any order; duplicates and the signer itself may
    /// be among them) and the anchors, anchors preferred, until the walk ends (see [`End`]).
    /// The first link that breaks a rule refuses the path.
    pub(crate) fn issuer_path(
        &self,
        signer: &[u8],
        pool: &[impl AsRef<[u8]>],
    ) -> Result<IssuerPath, ChainError> {
        let der_of = |s: Source| -> &[u8] {
            match s {
                Source::Pool(i) => pool[i].as_ref(),
                Source::Anchor(i) => &self.anchors[i],
            }
        };
        let is_anchor = |der: &[u8]| self.anchors.iter().any(|a| a.as_slice() == der);
        let mut links: Vec<Source> = Vec::new();
        let mut child_der = signer;
        let mut child_src = None;
        let mut child = parse_cert(signer).map_err(ChainError::Unreadable)?;
        loop {
            if is_anchor(child_der) {
                return Ok(IssuerPath {
                    links,
                    end: End::Anchor,
                });
            }
            // A certificate already on the path never issues again (no loops over duplicates
            // or cross-signed pairs).
            let on_path = |der: &[u8]| der == signer || links.iter().any(|l| der_of(*l) == der);
            let candidates = (0..self.anchors.len())
                .map(Source::Anchor)
                .chain((0..pool.len()).map(Source::Pool));
            let mut found = None;
            let mut wrong_key = None;
            for src in candidates {
                let der = der_of(src);
                if on_path(der) {
                    continue;
                }
                let Ok(cand) = parse_cert(der) else { continue };
                if cand.subject().as_raw() != child.issuer().as_raw() {
                    continue;
                }
                match child.verify_signature(Some(cand.public_key())) {
                    Ok(()) => {
                        found = Some((src, cand));
                        break;
                    }
                    Err(e) => {
                        if let Source::Pool(i) = src {
                            wrong_key.get_or_insert((i, e.to_string()));
                        }
                    }
                }
            }
            let self_issued = child.subject().as_raw() == child.issuer().as_raw();
            let Some((src, parent)) = found else {
                if self_issued {
                    return Ok(IssuerPath {
                        links,
                        end: End::SelfIssued,
                    });
                }
                if let Some((candidate, reason)) = wrong_key {
                    return Err(ChainError::WrongKey {
                        child: child_src,
                        child_subject: child.subject().to_string(),
                        issuer_name: child.issuer().to_string(),
                        candidate,
                        reason,
                    });
                }
                return Ok(IssuerPath {
                    links,
                    end: End::IssuerMissing,
                });
            };
            let subject = || parent.subject().to_string();
            if matches!(src, Source::Pool(_)) && !is_anchor(der_of(src)) {
                if !parent.is_ca() {
                    return Err(ChainError::NotCa {
                        issuer: src,
                        subject: subject(),
                        child: child_src,
                    });
                }
                if let Ok(Some(ku)) = parent.key_usage()
                    && !ku.value.key_cert_sign()
                {
                    return Err(ChainError::NoCertSign {
                        issuer: src,
                        subject: subject(),
                    });
                }
            }
            check_valid_at(&parent, self.at).map_err(|why| ChainError::OutsideValidity {
                issuer: src,
                subject: subject(),
                why,
            })?;
            links.push(src);
            if links.len() > MAX_CHAIN {
                return Err(ChainError::TooLong { issuer: src });
            }
            child_der = der_of(src);
            child_src = Some(src);
            child = parent;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        PKCS_ECDSA_P256_SHA256,
    };
    use time::Duration;

    /// A PKI of `issuers` CAs above a signer, EC P-256, valid from 10 days ago for 1000 days:
    /// `[signer, level 1, …, root]`, "Level N" the subject of level N. `tweak` may change any
    /// level's parameters before it is issued.
    fn pki(issuers: usize, tweak: impl Fn(usize, &mut CertificateParams)) -> Vec<Vec<u8>> {
        pki_and_signer_key(issuers, tweak).0
    }

    /// [`pki`] and the signer's key, PKCS#8 DER.
    pub(crate) fn pki_and_signer_key(
        issuers: usize,
        tweak: impl Fn(usize, &mut CertificateParams),
    ) -> (Vec<Vec<u8>>, Vec<u8>) {
        let keys: Vec<KeyPair> = (0..=issuers)
            .map(|_| KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap())
            .collect();
        let now = OffsetDateTime::now_utc();
        let params = |level: usize| {
            let mut p = CertificateParams::default();
            p.distinguished_name
                .push(DnType::CommonName, format!("Level {level}"));
            if level > 0 {
                p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            } else {
                p.is_ca = IsCa::ExplicitNoCa;
                p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            }
            p.not_before = now - Duration::days(10);
            p.not_after = now + Duration::days(1000);
            tweak(level, &mut p);
            p
        };
        let mut ders = vec![Vec::new(); issuers + 1];
        let root = params(issuers);
        ders[issuers] = root.self_signed(&keys[issuers]).unwrap().der().to_vec();
        let mut issuer = Issuer::new(root, &keys[issuers]);
        for level in (0..issuers).rev() {
            let p = params(level);
            ders[level] = p.signed_by(&keys[level], &issuer).unwrap().der().to_vec();
            issuer = Issuer::new(p, &keys[level]);
        }
        (ders, keys[0].serialize_der())
    }

    fn now_with(anchors: &[Vec<u8>]) -> ChainCheck<'_> {
        ChainCheck {
            anchors,
            at: OffsetDateTime::now_utc(),
        }
    }

    #[test]
    fn walks_to_an_anchor_a_root_or_as_far_as_given() {
        let p = pki(2, |_, _| {});
        let (signer, inter, root) = (&p[0], &p[1], &p[2]);
        // Pool in any order, with the signer and a duplicate among it.
        let pool = [root.clone(), signer.clone(), inter.clone(), inter.clone()];
        let path = now_with(&[]).issuer_path(signer, &pool).unwrap();
        assert_eq!(path.links, [Source::Pool(2), Source::Pool(0)]);
        assert_eq!(path.end, End::SelfIssued);

        let anchors = [root.clone()];
        let path = now_with(&anchors).issuer_path(signer, &pool).unwrap();
        assert_eq!(path.links, [Source::Pool(2), Source::Anchor(0)]);
        assert_eq!(path.end, End::Anchor);

        // The intermediate trusted itself: the walk stops there.
        let anchors = [inter.clone()];
        let path = now_with(&anchors).issuer_path(signer, &pool).unwrap();
        assert_eq!(
            (path.links, path.end),
            (vec![Source::Anchor(0)], End::Anchor)
        );

        // The signer itself trusted (a self-signed trial certificate): no links.
        let anchors = [signer.clone()];
        let path = now_with(&anchors).issuer_path(signer, &pool).unwrap();
        assert_eq!((path.links, path.end), (vec![], End::Anchor));

        let path = now_with(&[])
            .issuer_path(signer, std::slice::from_ref(inter))
            .unwrap();
        assert_eq!(path.links, [Source::Pool(0)]);
        assert_eq!(path.end, End::IssuerMissing);
        let path = now_with(&[])
            .issuer_path(signer, std::slice::from_ref(root))
            .unwrap();
        assert_eq!((path.links, path.end), (vec![], End::IssuerMissing));
        let none: [Vec<u8>; 0] = [];
        let path = now_with(&[]).issuer_path(signer, &none).unwrap();
        assert_eq!((path.links, path.end), (vec![], End::IssuerMissing));
    }

    #[test]
    fn an_issuer_without_key_cert_sign_is_refused_unless_trusted() {
        // One of the cases where the two walkers this module replaced disagreed: loading the
        // identity refused such a CA, while verify only asked for CA:TRUE and called the same
        // chain valid.
        let p = pki(2, |level, p| {
            if level == 1 {
                p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            }
        });
        let anchors = [p[2].clone()];
        let err = now_with(&anchors).issuer_path(&p[0], &p[1..]).unwrap_err();
        assert_eq!(
            err,
            ChainError::NoCertSign {
                issuer: Source::Pool(0),
                subject: "CN=Level 1".into()
            }
        );
        assert!(err.to_string().contains("keyCertSign"), "{err}");
        let anchors = [p[1].clone()];
        let path = now_with(&anchors).issuer_path(&p[0], &p[1..]).unwrap();
        assert_eq!(path.end, End::Anchor);
    }

    #[test]
    fn eight_issuers_are_followed_and_nine_are_too_many() {
        // The other disagreement: the identity walker accepted eight issuers above the signer,
        // while verify gave up after eight steps and called a signature whose eighth issuer
        // was the trusted root "not trusted (chain longer than 8)".
        let p = pki(MAX_CHAIN, |_, _| {});
        let anchors = [p[MAX_CHAIN].clone()];
        let path = now_with(&anchors).issuer_path(&p[0], &p[1..]).unwrap();
        assert_eq!(path.end, End::Anchor);
        assert_eq!(path.links.len(), MAX_CHAIN);
        assert_eq!(path.links.last(), Some(&Source::Anchor(0)));
        let path = now_with(&[]).issuer_path(&p[0], &p[1..]).unwrap();
        assert_eq!((path.links.len(), path.end), (MAX_CHAIN, End::SelfIssued));

        let p = pki(MAX_CHAIN + 1, |_, _| {});
        let anchors = [p[MAX_CHAIN + 1].clone()];
        let err = now_with(&anchors).issuer_path(&p[0], &p[1..]).unwrap_err();
        assert!(matches!(err, ChainError::TooLong { .. }), "{err:?}");
    }

    #[test]
    fn validity_is_judged_at_the_given_time() {
        let now = OffsetDateTime::now_utc();
        // The issuing CA expired yesterday; it was valid five days ago.
        let p = pki(2, |level, p| {
            if level == 1 {
                p.not_after = now - Duration::days(1);
            }
        });
        let anchors = [p[2].clone()];
        let at = |at| ChainCheck {
            anchors: &anchors,
            at,
        };
        let err = at(now).issuer_path(&p[0], &p[1..]).unwrap_err();
        let ChainError::OutsideValidity { issuer, why, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(issuer, Source::Pool(0));
        assert!(matches!(why, OutsideValidity::Expired { .. }), "{why:?}");
        let path = at(now - Duration::days(5))
            .issuer_path(&p[0], &p[1..])
            .unwrap();
        assert_eq!(path.end, End::Anchor);
        // Anchors are judged too: before the root's notBefore nothing is valid.
        let err = at(now - Duration::days(20))
            .issuer_path(&p[0], &p[1..])
            .unwrap_err();
        assert!(
            matches!(
                err,
                ChainError::OutsideValidity {
                    why: OutsideValidity::NotYetValid { .. },
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_look_alike_issuer_in_the_pool_is_named_but_not_one_among_the_anchors() {
        let p = pki(2, |_, _| {});
        let other = pki(2, |_, _| {});
        // Same subject "Level 1", other key.
        let pool = [other[1].clone(), p[2].clone()];
        let err = now_with(&[]).issuer_path(&p[0], &pool).unwrap_err();
        assert!(
            matches!(
                &err,
                ChainError::WrongKey {
                    child: None,
                    candidate: 0,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("does not verify"), "{err}");
        // With the real issuing CA also given, in any order, the one that verifies is taken.
        let pool = [other[1].clone(), p[1].clone(), p[2].clone()];
        let path = now_with(&[]).issuer_path(&p[0], &pool).unwrap();
        assert_eq!(path.links, [Source::Pool(1), Source::Pool(2)]);
        // A trusted certificate of the same name is simply not the issuer.
        let anchors = [other[1].clone()];
        let none: [Vec<u8>; 0] = [];
        let path = now_with(&anchors).issuer_path(&p[0], &none).unwrap();
        assert_eq!(path.end, End::IssuerMissing);
    }

    #[test]
    fn a_non_ca_issuer_is_refused_unless_trusted() {
        let p = pki(1, |level, p| {
            if level == 1 {
                p.is_ca = IsCa::ExplicitNoCa;
                p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            }
        });
        let err = now_with(&[]).issuer_path(&p[0], &p[1..]).unwrap_err();
        assert!(
            matches!(
                err,
                ChainError::NotCa {
                    issuer: Source::Pool(0),
                    child: None,
                    ..
                }
            ),
            "{err:?}"
        );
        let anchors = [p[1].clone()];
        let path = now_with(&anchors).issuer_path(&p[0], &p[1..]).unwrap();
        assert_eq!(
            (path.links, path.end),
            (vec![Source::Anchor(0)], End::Anchor)
        );
    }

    #[test]
    fn an_unreadable_signer_is_an_error() {
        let none: [Vec<u8>; 0] = [];
        let err = now_with(&[]).issuer_path(b"not DER", &none).unwrap_err();
        assert!(matches!(err, ChainError::Unreadable(_)), "{err:?}");
    }
}
