//! PAdES baseline B-B signing of a PDF the writer produced with a placeholder
//! (ETSI EN 319 142-1): `/SubFilter /ETSI.CAdES.detached`, a `/ByteRange` over everything but
//! `/Contents`, CMS SignedData with ESS signing-certificate-v2, no CMS signing-time (PAdES
//! keeps the time in `/M`).
//!
//! Signing happens in place on the finished file: the writer leaves a fixed-width
//! `/ByteRange` placeholder and a zero-filled `/Contents` hex string; we fill in the real
//! ranges, hash the file minus the hex string (ISO 32000-1 12.8.1), and write the CMS into
//! the hole. No byte outside the two placeholders changes, so xref offsets stay right.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::crypto::cms::{CmsOptions, CryptoError, sign_detached};
use crate::crypto::hash::digest_ranges;
use crate::crypto::identity::SigningIdentity;

/// Where the writer left room for the signature, as byte offsets into the finished file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignaturePlaceholder {
    /// Offset of the first byte of the `/ByteRange` array's placeholder text (`[` included).
    pub byte_range_offset: u64,
    /// Width in bytes of that placeholder; the real array is padded with spaces to it.
    pub byte_range_width: usize,
    /// Offset of the `<` that opens the `/Contents` hex string.
    pub contents_offset: u64,
    /// Number of hex digits between `<` and `>` (twice the maximum CMS size).
    pub contents_hex_len: usize,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    #[error("reading or writing the PDF failed: {0}")]
    Io(io::Error),
    #[error("signature placeholder is not usable: {0}")]
    Placeholder(String),
    #[error(
        "the signature needs {needed} hex digits but the placeholder has room for {available}; \
         the PDF writer must reserve a larger /Contents"
    )]
    TooLarge { needed: usize, available: usize },
    #[error(transparent)]
    Cms(#[from] CryptoError),
}

// By hand, not `#[from]`: that would also make the I/O error the `source()` of an error that
// already prints it (STYLE §3: a cause is printed or sourced, never both).
impl From<io::Error> for SignError {
    fn from(e: io::Error) -> SignError {
        SignError::Io(e)
    }
}

/// Fills the placeholder of a finished PDF with a PAdES B-B signature by `identity`, then
/// fsyncs; returns the CMS (DER) it wrote. `file` must be open for reading and writing.
pub fn sign_pdf_in_place(
    file: &mut File,
    placeholder: &SignaturePlaceholder,
    identity: &SigningIdentity,
) -> Result<Vec<u8>, SignError> {
    let file_len = file.metadata()?.len();
    let ph = placeholder;
    let bad = |m: String| SignError::Placeholder(m);

    let hole_end = ph
        .contents_offset
        .checked_add(ph.contents_hex_len as u64 + 2)
        .filter(|end| *end <= file_len)
        .ok_or_else(|| {
            bad(format!(
                "/Contents runs past the end of the file ({file_len} bytes)"
            ))
        })?;
    let br_end = ph
        .byte_range_offset
        .checked_add(ph.byte_range_width as u64)
        .filter(|end| *end <= file_len)
        .ok_or_else(|| bad("/ByteRange runs past the end of the file".into()))?;
    if ph.byte_range_offset < hole_end && ph.contents_offset < br_end {
        return Err(bad("/ByteRange and /Contents overlap".into()));
    }
    if ph.contents_hex_len == 0 || !ph.contents_hex_len.is_multiple_of(2) {
        return Err(bad(format!(
            "/Contents length {} is not a positive even number of hex digits",
            ph.contents_hex_len
        )));
    }

    // Check the placeholders are what the writer promised before overwriting anything.
    let br_text = read_at(file, ph.byte_range_offset, ph.byte_range_width)?;
    if br_text.first() != Some(&b'[') || br_text.last() != Some(&b']') {
        return Err(bad(format!(
            "no '[...]' at the /ByteRange offset {} (found {:?})",
            ph.byte_range_offset,
            String::from_utf8_lossy(&br_text)
        )));
    }
    let hole = read_at(file, ph.contents_offset, ph.contents_hex_len + 2)?;
    if hole.first() != Some(&b'<')
        || hole.last() != Some(&b'>')
        || !hole[1..hole.len() - 1].iter().all(|b| *b == b'0')
    {
        return Err(bad(format!(
            "no zero-filled '<00…>' hex string at the /Contents offset {}",
            ph.contents_offset
        )));
    }

    // ISO 32000-1 12.8.1: [start1 len1 start2 len2], the hole being exactly the hex string
    // including its angle brackets.
    let ranges = [(0, ph.contents_offset), (hole_end, file_len - hole_end)];
    let text = format!("[0 {} {} {}", ranges[0].1, ranges[1].0, ranges[1].1);
    if text.len() + 1 > ph.byte_range_width {
        return Err(bad(format!(
            "/ByteRange placeholder of {} bytes is too narrow for \"{text}]\"",
            ph.byte_range_width
        )));
    }
    let padded = format!(
        "{text}{}]",
        " ".repeat(ph.byte_range_width - text.len() - 1)
    );
    write_at(file, ph.byte_range_offset, padded.as_bytes())?;

    // Hash what is now on disk (read back, streamed): what we sign is what a reader sees.
    let signed = digest_ranges(file, &ranges, identity.digest())
        .map_err(SignError::from)
        .and_then(|digest| {
            // PAdES: no signing-time in the CMS (ETSI EN 319 142-1 5.4); /M carries the time.
            let cms = sign_detached(identity, &digest, CmsOptions { signing_time: None })?;
            let hex = hex::encode_upper(&cms);
            if hex.len() > ph.contents_hex_len {
                return Err(SignError::TooLarge {
                    needed: hex.len(),
                    available: ph.contents_hex_len,
                });
            }
            Ok((hex, cms))
        });
    let (hex, cms) = match signed {
        Ok(signed) => signed,
        Err(e) => {
            // Leave the file as the writer made it, so a retry (bigger placeholder, other
            // key) starts from the same state.
            write_at(file, ph.byte_range_offset, &br_text)?;
            return Err(e);
        }
    };
    // The rest of the placeholder stays '0' (zero padding after the DER, as every PAdES
    // signer does).
    write_at(file, ph.contents_offset + 1, hex.as_bytes())?;
    file.sync_all()?;
    Ok(cms)
}

fn read_at(file: &mut File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

fn write_at(file: &mut File, offset: u64, bytes: &[u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::cms::tests::test_identity;
    use std::path::Path;
    use std::process::Command;

    const BR_PLACEHOLDER: &str = "[0 ########## ########## ##########]";

    /// A tiny valid PDF laid out like the writer's output: a signature field on page 1, in the
    /// AcroForm, pointing to a top-level signature dictionary with placeholders.
    pub(crate) fn unsigned_pdf(contents_hex_len: usize) -> (Vec<u8>, SignaturePlaceholder) {
        unsigned_pdf_with(contents_hex_len, false)
    }

    /// Like [`unsigned_pdf`]; `contents_first` puts /Contents before /ByteRange, as some
    /// other writers do.
    pub(crate) fn unsigned_pdf_with(
        contents_hex_len: usize,
        contents_first: bool,
    ) -> (Vec<u8>, SignaturePlaceholder) {
        let content = b"BT /F1 12 Tf 20 100 Td (Hello) Tj ET";
        // /M is "now", as the writer will set it; certificates made for the tests are valid
        // around now.
        let now = time::OffsetDateTime::now_utc();
        let m = format!(
            "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        let hole = format!("/Contents <{}>", "0".repeat(contents_hex_len));
        let sig = if contents_first {
            format!(
                "<< /Type /Sig {hole} /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached \
                 /M ({m}) /ByteRange {BR_PLACEHOLDER} >>"
            )
        } else {
            format!(
                "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached \
                 /M ({m}) /ByteRange {BR_PLACEHOLDER} {hole} >>"
            )
        };
        let objects: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] /SigFlags 3 >> >>"
                .to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R \
              /Resources << /Font << /F1 7 0 R >> >> /Annots [5 0 R] >>"
                .to_vec(),
            [
                format!("<< /Length {} >>\nstream\n", content.len()).as_bytes(),
                content,
                b"\nendstream",
            ]
            .concat(),
            b"<< /FT /Sig /T (Signature1) /V 6 0 R /Type /Annot /Subtype /Widget /F 132 \
              /Rect [0 0 0 0] /P 3 0 R >>"
                .to_vec(),
            sig.into_bytes(),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        ];
        let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(pdf.len());
            pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            pdf.extend_from_slice(body);
            pdf.extend_from_slice(b"\nendobj\n");
        }
        let xref = pdf.len();
        pdf.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for o in &offsets {
            pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        pdf.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> \
                 <0123456789ABCDEF0123456789ABCDEF>] >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        let find = |needle: &[u8]| pdf.windows(needle.len()).position(|w| w == needle).unwrap();
        let br = find(BR_PLACEHOLDER.as_bytes());
        let contents = find(b"/Contents <0") + "/Contents ".len();
        (
            pdf.clone(),
            SignaturePlaceholder {
                byte_range_offset: br as u64,
                byte_range_width: BR_PLACEHOLDER.len(),
                contents_offset: contents as u64,
                contents_hex_len,
            },
        )
    }

    /// Writes a signed test PDF to `path`.
    pub(crate) fn signed_pdf(path: &Path, identity: &SigningIdentity) {
        signed_pdf_with(path, identity, false);
    }

    pub(crate) fn signed_pdf_with(path: &Path, identity: &SigningIdentity, contents_first: bool) {
        let (pdf, ph) = unsigned_pdf_with(16384, contents_first);
        std::fs::write(path, &pdf).unwrap();
        let mut f = File::options().read(true).write(true).open(path).unwrap();
        sign_pdf_in_place(&mut f, &ph, identity).unwrap();
    }

    #[test]
    fn signed_pdf_is_valid_for_pdfsig_and_qpdf() {
        let dir = tempfile::tempdir().unwrap();
        let (id, _) = test_identity();
        let path = dir.path().join("doc.pdf");
        let (unsigned, _) = unsigned_pdf(16384);
        signed_pdf(&path, &id);
        let signed = std::fs::read(&path).unwrap();
        assert_eq!(
            signed.len(),
            unsigned.len(),
            "signing must not change the length"
        );

        let out = Command::new("pdfsig")
            .arg(&path)
            .output()
            .expect("pdfsig is installed");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Signature Validation: Signature is Valid."),
            "{text}"
        );
        assert!(text.contains("ETSI.CAdES.detached"), "{text}");
        // The test CA is not in poppler's trust store: math valid, chain untrusted.
        assert!(
            text.contains("Certificate Validation: Certificate issuer isn't Trusted.")
                || text.contains("Certificate Validation: Certificate issuer is unknown."),
            "{text}"
        );
        let out = Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .expect("qpdf");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );

        // One flipped byte in the signed part: pdfsig must refuse it.
        let mut bad = signed.clone();
        let pos = signed.windows(5).position(|w| w == b"Hello").unwrap();
        bad[pos] = b'J';
        let bad_path = dir.path().join("bad.pdf");
        std::fs::write(&bad_path, &bad).unwrap();
        let out = Command::new("pdfsig").arg(&bad_path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("Signature is Valid."), "{text}");
    }

    #[test]
    fn rsa_signed_pdf_with_contents_first_is_valid_for_pdfsig() {
        let dir = tempfile::tempdir().unwrap();
        let g = crate::crypto::keygen::generate(
            "CN=RSA Signer,O=Stadt",
            crate::crypto::keygen::KeyKind::Rsa3072,
            30,
            &dir.path().join("k"),
        )
        .unwrap();
        let id = SigningIdentity::load(&g.cert_path, &g.key_path, &[]).unwrap();
        let path = dir.path().join("rsa.pdf");
        signed_pdf_with(&path, &id, true);
        let out = Command::new("pdfsig").arg(&path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Signature Validation: Signature is Valid."),
            "{text}"
        );
        let trust =
            crate::verify::TrustStore::from_pem_files(std::slice::from_ref(&g.cert_path)).unwrap();
        let r = crate::verify::verify_pdf(&path, &trust);
        assert_eq!(r.status, crate::verify::Status::Valid, "{:?}", r.problems);
    }

    #[test]
    fn bad_placeholders_are_refused_without_touching_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (id, _) = test_identity();
        let path = dir.path().join("doc.pdf");
        let (pdf, ph) = unsigned_pdf(200);
        std::fs::write(&path, &pdf).unwrap();
        let mut f = File::options().read(true).write(true).open(&path).unwrap();

        // Room for 100 bytes of CMS is too little.
        let err = sign_pdf_in_place(&mut f, &ph, &id).unwrap_err();
        assert!(
            matches!(err, SignError::TooLarge { available: 200, .. }),
            "{err}"
        );

        let mut shifted = ph;
        shifted.contents_offset += 1;
        let err = sign_pdf_in_place(&mut f, &shifted, &id).unwrap_err();
        assert!(err.to_string().contains("/Contents offset"), "{err}");

        let mut narrow = ph;
        narrow.byte_range_width = 8;
        let err = sign_pdf_in_place(&mut f, &narrow, &id).unwrap_err();
        assert!(err.to_string().contains("'[...]'"), "{err}");

        let mut past = ph;
        past.contents_offset = pdf.len() as u64;
        let err = sign_pdf_in_place(&mut f, &past, &id).unwrap_err();
        assert!(err.to_string().contains("past the end"), "{err}");
        drop(f);
        // Every refusal left the file exactly as it was.
        assert_eq!(std::fs::read(&path).unwrap(), pdf);
    }
}
