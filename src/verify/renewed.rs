//! What `resiscan renew` changes, as `verify` accepts it (SPEC §7, see `store::renew`).
//!
//! Renewing appends a DSS and a document timestamp to every filed PDF, so a PDF's bytes no
//! longer equal the SHA-256 its transfer notes (and, until the renew run's chain link, the
//! chain) recorded. [`pdf_against_record`] is the one comparison every place that holds a PDF
//! against a recorded hash uses: the file equals the recorded hash, or a prefix of it that
//! ends at a revision end (`%%EOF`) has that hash and everything after it is only
//! well-formed DSS and document-timestamp revisions ([`crate::pdf::update::check_appended`]).
//! A content edit, anywhere, still fails.
//!
//! [`check_archive_timestamp`] checks one archive timestamp `renew` keeps beside a note.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{ItemKind, ItemReport, TrustStore};

/// How a PDF on disk stands against a SHA-256 a signed record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdfAgainstRecord {
    /// The file is exactly what was recorded.
    Same { actual: String },
    /// The recorded file is the file's first `recorded_len` bytes, ending at a revision end;
    /// the `revisions` after it only add validation data and document timestamps.
    Renewed {
        actual: String,
        recorded_len: u64,
        revisions: usize,
    },
    /// Neither. `reason` says why a prefix with the recorded hash did not count, if one had it.
    Differs {
        actual: String,
        reason: Option<String>,
    },
}

impl PdfAgainstRecord {
    /// The SHA-256 of the whole file as it is.
    pub fn actual(&self) -> &str {
        match self {
            PdfAgainstRecord::Same { actual }
            | PdfAgainstRecord::Renewed { actual, .. }
            | PdfAgainstRecord::Differs { actual, .. } => actual,
        }
    }

    /// Whether the file is the recorded one or a renewal of it.
    pub fn is_recorded(&self) -> bool {
        !matches!(self, PdfAgainstRecord::Differs { .. })
    }

    /// `None` when the file is the recorded one or a renewal of it; else the finding, e.g.
    /// "x.pdf: SHA-256 … differs from the note's …".
    pub fn problem(&self, pdf: &Path, whose: &str, recorded: &str) -> Option<String> {
        match self {
            PdfAgainstRecord::Differs { actual, reason } => Some(format!(
                "{}: SHA-256 {actual} differs from {whose} {recorded}{}",
                pdf.display(),
                reason
                    .as_deref()
                    .map(|r| format!(
                        " (the recorded file is its start, but what follows is not only \
                         renewal: {r})"
                    ))
                    .unwrap_or_default()
            )),
            _ => None,
        }
    }
}

/// Holds the PDF at `path` against the SHA-256 (hex) `recorded` (see the module doc). The
/// common case, an unchanged file, is one streamed hash; only a file that differs is read
/// whole to look for a revision end with the recorded hash.
pub fn pdf_against_record(path: &Path, recorded: &str) -> std::io::Result<PdfAgainstRecord> {
    let recorded = recorded.trim().to_ascii_lowercase();
    let (actual, len) = crate::crypto::hash::sha256_file_hex_len(path)?;
    if actual == recorded {
        return Ok(PdfAgainstRecord::Same { actual });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    File::open(path)?.read_to_end(&mut bytes)?;
    let Some(end) = revision_end_with_hash(&bytes, &recorded) else {
        return Ok(PdfAgainstRecord::Differs {
            actual,
            reason: None,
        });
    };
    let mut file = File::open(path)?;
    match crate::pdf::update::check_appended(&mut file, end as u64, bytes.len() as u64) {
        // Only revisions count as renewal; bytes that add none (whitespace) are a change.
        Ok(found) if found.revisions.is_empty() => Ok(PdfAgainstRecord::Differs {
            actual,
            reason: Some("bytes were added after it that are no revision".into()),
        }),
        Ok(found) => Ok(PdfAgainstRecord::Renewed {
            actual,
            recorded_len: end as u64,
            revisions: found.revisions.len(),
        }),
        Err(reason) => Ok(PdfAgainstRecord::Differs {
            actual,
            reason: Some(reason),
        }),
    }
}

/// The end of the first revision (after `%%EOF` and its end of line, as a writer ends it, or
/// right after `%%EOF`) whose bytes from the start hash to `recorded`. One pass: the hash
/// state is carried forward and finished in a copy at each candidate end.
fn revision_end_with_hash(bytes: &[u8], recorded: &str) -> Option<usize> {
    const EOF: &[u8] = b"%%EOF";
    let mut h = Sha256::new();
    let mut hashed = 0;
    let mut from = 0;
    while let Some(p) = find(&bytes[from..], EOF) {
        let at = from + p + EOF.len();
        let mut ends = vec![at];
        if bytes.get(at) == Some(&b'\r') {
            ends.push(at + 1);
            if bytes.get(at + 1) == Some(&b'\n') {
                ends.push(at + 2);
            }
        } else if bytes.get(at) == Some(&b'\n') {
            ends.push(at + 1);
        }
        for end in ends {
            // The whole file was compared already.
            if end >= bytes.len() {
                return None;
            }
            h.update(&bytes[hashed..end]);
            hashed = end;
            if hex::encode(h.clone().finalize()) == recorded {
                return Some(end);
            }
        }
        from = at;
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Checks the archive timestamp `path` (`<note>.<YYYY-MM-DD>.tst`, written by `renew`): its
/// note and the note's signature are beside it, the token's imprint is the SHA-256 of the
/// note followed by its signature, the TSA's signature and certificate are valid, and the TSA
/// chains to a `--trust` anchor. A token whose name does not fit, whose note is gone or whose
/// imprint does not match is INVALID — unless `rewritten_since`: the signed chain shows that
/// the note was rewritten after the token was recorded (`qa record` rewrites the QA addendum),
/// so the token covers an earlier version; then its own imprint is checked and it is a note.
pub fn check_archive_timestamp(
    path: &Path,
    trust: &TrustStore,
    rewritten_since: Option<u64>,
) -> ItemReport {
    let mut r = ItemReport::new(path, ItemKind::Detached);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some((note_name, date)) = crate::store::renew::parse_archive_timestamp_name(&name) else {
        r.fail(
            "not an archive timestamp of `resiscan renew`: its name is not \
             <note>.<YYYY-MM-DD>.tst",
        );
        return r;
    };
    let note = path.with_file_name(note_name);
    let imprint = match crate::store::renew::archive_imprint(&note) {
        Ok(i) => i,
        Err(e) => {
            r.fail(format!(
                "a stray archive timestamp: the note it covers ({} and its signature) cannot \
                 be read: {e}",
                note.display()
            ));
            return r;
        }
    };
    let token = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) => {
            r.fail(format!("cannot read: {e}"));
            return r;
        }
    };
    let claimed = crate::crypto::tsp::token_claims(&token).map(|(_, i)| i);
    let stale = match (rewritten_since, &claimed) {
        (Some(seq), Ok(i)) if i.as_slice() != imprint.as_slice() => Some((seq, i.clone())),
        _ => None,
    };
    let checked_imprint = stale.as_ref().map_or(imprint.to_vec(), |(_, i)| i.clone());
    if let Some((seq, _)) = &stale {
        r.notes.push(format!(
            "covers an earlier version of {} and its signature, which signed chain link {seq} \
             rewrote since; the next renew stamps the current one",
            note.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    match crate::crypto::tsp::check_token(&token, &checked_imprint, None, &trust.anchors) {
        Ok(info) => {
            if !info.trusted {
                r.distrust(format!(
                    "the archive timestamp's TSA \"{}\" does not chain to a trusted certificate",
                    info.tsa_subject
                ));
            }
            let day = crate::machine::rfc3339(info.gen_time);
            if !day.starts_with(date) {
                r.fail(format!(
                    "its name says {date}, the token's time is {day} (renamed or copied)"
                ));
            }
            if stale.is_none() {
                r.notes.push(format!(
                    "archive timestamp over {} and its signature",
                    note.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
            r.timestamp = Some(info.gen_time);
            r.timestamp_by = Some(info.tsa_subject);
        }
        Err(reason) => r.fail(format!("archive timestamp invalid: {reason}")),
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renewed_pdf_counts_as_recorded_and_any_other_change_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let (id, _) = crate::crypto::cms::tests::test_identity();
        let path = dir.path().join("doc.pdf");
        crate::pdf::sign::tests::signed_pdf(&path, &id);
        let recorded = crate::crypto::sha256_file_hex(&path).unwrap();
        let signed = std::fs::read(&path).unwrap();
        assert!(matches!(
            pdf_against_record(&path, &recorded).unwrap(),
            PdfAgainstRecord::Same { .. }
        ));
        let mut f = File::options().read(true).write(true).open(&path).unwrap();
        let dss = crate::pdf::update::Dss {
            certs: vec![id.certificate_der().to_vec()],
            crls: Vec::new(),
        };
        crate::pdf::update::append_dss(&mut f, &dss).unwrap();
        drop(f);
        let m = pdf_against_record(&path, &recorded).unwrap();
        assert!(
            matches!(m, PdfAgainstRecord::Renewed { recorded_len, revisions: 1, .. }
                if recorded_len == signed.len() as u64),
            "{m:?}"
        );
        assert!(m.is_recorded());
        let renewed = std::fs::read(&path).unwrap();
        // One byte of the recorded revision changed: differs, with no prefix to excuse it.
        let mut edited = renewed.clone();
        edited[signed.len() / 2] ^= 0x01;
        std::fs::write(&path, &edited).unwrap();
        let m = pdf_against_record(&path, &recorded).unwrap();
        assert!(
            matches!(m, PdfAgainstRecord::Differs { reason: None, .. }),
            "{m:?}"
        );
        assert!(m.problem(&path, "the note's", &recorded).is_some());
        // Whitespace only after the recorded file, or an update that is not renewal.
        let mut padded = signed.clone();
        padded.extend_from_slice(b"\n\n");
        std::fs::write(&path, &padded).unwrap();
        assert!(!pdf_against_record(&path, &recorded).unwrap().is_recorded());
        let mut forged = signed.clone();
        forged.extend_from_slice(b"9 0 obj\n<< /JS (x) >>\nendobj\n%%EOF\n");
        std::fs::write(&path, &forged).unwrap();
        assert!(matches!(
            pdf_against_record(&path, &recorded).unwrap(),
            PdfAgainstRecord::Differs {
                reason: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn the_revision_end_with_the_recorded_hash_is_found() {
        let first = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n".to_vec();
        let mut both = first.clone();
        both.extend_from_slice(b"2 0 obj\n<<>>\nendobj\n%%EOF\n");
        let rec = |b: &[u8]| hex::encode(Sha256::digest(b));
        assert_eq!(
            revision_end_with_hash(&both, &rec(&first)),
            Some(first.len())
        );
        // Without the end of line, too (a writer that ends a revision right after %%EOF).
        assert_eq!(
            revision_end_with_hash(&both, &rec(&first[..first.len() - 1])),
            Some(first.len() - 1)
        );
        // The whole file is not a prefix of itself; another hash is no prefix at all.
        assert_eq!(revision_end_with_hash(&both, &rec(&both)), None);
        assert_eq!(revision_end_with_hash(&both, &rec(b"other")), None);
        // A cut in the middle of a revision is no revision end.
        assert_eq!(revision_end_with_hash(&both, &rec(&both[..20])), None);
    }
}
