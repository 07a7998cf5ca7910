//! Certificate revocation lists as files: read (PEM or DER) and matched to the certificates
//! they speak about. Used by `verify --crl` and by `signing.crls` (PAdES B-LT), so both read a
//! CRL file the same way (STYLE §11).

use std::path::{Path, PathBuf};

/// A CRL read from a file, DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlFile {
    pub path: PathBuf,
    pub der: Vec<u8>,
}

/// Reads one CRL (PEM "X509 CRL" or DER); the reason it is unusable otherwise.
pub fn read_crl(path: &Path) -> Result<CrlFile, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let der = if bytes.starts_with(b"-----BEGIN") {
        match x509_parser::pem::parse_x509_pem(&bytes) {
            Ok((_, pem)) if pem.label == "X509 CRL" => pem.contents,
            Ok((_, pem)) => {
                return Err(format!("PEM block is a {}, not an X509 CRL", pem.label));
            }
            Err(e) => return Err(format!("not PEM: {e}")),
        }
    } else {
        bytes
    };
    match x509_parser::parse_x509_crl(&der) {
        Ok(([], _)) => {}
        Ok(_) => return Err("trailing bytes after the CRL".into()),
        Err(e) => return Err(format!("not a certificate revocation list ({e})")),
    }
    Ok(CrlFile {
        path: path.to_path_buf(),
        der,
    })
}

/// The certificate in `pool` (DER) that issued `crl` — its subject is the CRL's issuer and its
/// key verifies the CRL's signature — or why none does.
pub fn crl_issuer<'a>(crl: &CrlFile, pool: &'a [Vec<u8>]) -> Result<&'a [u8], String> {
    let (_, parsed) =
        x509_parser::parse_x509_crl(&crl.der).map_err(|e| format!("not a CRL ({e})"))?;
    let mut named = false;
    for der in pool {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
            continue;
        };
        if cert.subject().as_raw() != parsed.issuer().as_raw() {
            continue;
        }
        named = true;
        if parsed.verify_signature(cert.public_key()).is_ok() {
            return Ok(der);
        }
    }
    Err(if named {
        format!(
            "it is issued by \"{}\" but its signature does not verify with that certificate's key",
            parsed.issuer()
        )
    } else {
        format!(
            "its issuer \"{}\" is none of the signer's or the TSA's chain certificates",
            parsed.issuer()
        )
    })
}

/// `signing.revocation: embed`: what goes into each PDF's DSS besides the certificates its
/// signature carries.
#[derive(Debug, Clone, Default)]
pub struct Embed {
    /// `signing.crls`, each checked against the chains at profile load.
    pub crls: Vec<CrlFile>,
    /// Certificates the signatures do not carry: the TSA's trust anchors and the issuers of
    /// the CRLs.
    pub certs: Vec<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_no_crl_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.crl");
        std::fs::write(&p, b"hello").unwrap();
        assert!(
            read_crl(&p)
                .unwrap_err()
                .contains("not a certificate revocation list")
        );
        std::fs::write(
            &p,
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(read_crl(&p).unwrap_err().contains("not an X509 CRL"));
        assert!(
            read_crl(&dir.path().join("missing.crl"))
                .unwrap_err()
                .contains("cannot read")
        );
    }
}
