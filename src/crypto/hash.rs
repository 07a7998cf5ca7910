//! Streamed SHA-256 for the evidence chain (TR-03138 A.NB.4: the transfer note lists the
//! hash of every source file and of the output). Sources are hashed *as they are read*, before
//! any processing, and outputs *as they are written*, so the recorded hash is of exactly the
//! bytes that went in or came out — no second read that could see a different file.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Read buffer for streamed hashing; large enough to keep syscalls cheap, small enough that
/// many workers hashing at once stay bounded in memory.
const CHUNK: usize = 256 * 1024;

/// SHA-256 of a file, read in chunks (never the whole file in memory).
pub fn sha256_file(path: &Path) -> io::Result<[u8; 32]> {
    sha256_file_len(path).map(|(sha, _)| sha)
}

/// SHA-256 of a file and the number of bytes hashed, as one read (a source file's entry in
/// the transfer note: the length is of the bytes hashed, not of a second look).
pub fn sha256_file_len(path: &Path) -> io::Result<([u8; 32], u64)> {
    let mut reader = HashingReader::new(File::open(path)?);
    io::copy(&mut reader, &mut io::sink())?;
    Ok(reader.finish())
}

/// [`sha256_file_len`] with the hash as lower-case hex.
pub fn sha256_file_hex_len(path: &Path) -> io::Result<(String, u64)> {
    sha256_file_len(path).map(|(sha, len)| (hex::encode(sha), len))
}

/// SHA-256 of a file as lower-case hex, the form the transfer note records.
pub fn sha256_file_hex(path: &Path) -> io::Result<String> {
    sha256_file(path).map(hex::encode)
}

/// The hash function of a signature. SHA-256 for EC P-256 and RSA; SHA-384 for EC P-384,
/// because ring signs P-384 only as ECDSA-with-SHA384 and CMS verifiers (OpenSSL) hash the
/// signed attributes with the SignerInfo's digestAlgorithm, so the content digest, the
/// digestAlgorithm and the signature's hash must all be the same function (RFC 5753 2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
}

impl DigestAlgorithm {
    /// The algorithm an OID names (NIST hash OIDs, RFC 5754 2), if we support it.
    pub fn from_oid(oid: &const_oid::ObjectIdentifier) -> Option<Self> {
        use const_oid::db::rfc5912::{ID_SHA_256, ID_SHA_384};
        match *oid {
            ID_SHA_256 => Some(DigestAlgorithm::Sha256),
            ID_SHA_384 => Some(DigestAlgorithm::Sha384),
            _ => None,
        }
    }

    pub fn oid(self) -> const_oid::ObjectIdentifier {
        use const_oid::db::rfc5912::{ID_SHA_256, ID_SHA_384};
        match self {
            DigestAlgorithm::Sha256 => ID_SHA_256,
            DigestAlgorithm::Sha384 => ID_SHA_384,
        }
    }

    /// "SHA-256" / "SHA-384", for messages.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha384 => "SHA-384",
        }
    }

    /// The digest of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(bytes);
        h.finalize().to_vec()
    }

    fn hasher(self) -> Box<dyn sha2::digest::DynDigest> {
        match self {
            DigestAlgorithm::Sha256 => Box::new(Sha256::new()),
            DigestAlgorithm::Sha384 => Box::new(sha2::Sha384::new()),
        }
    }
}

/// The digest of a file, read in chunks.
pub fn digest_file(path: &Path, alg: DigestAlgorithm) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    digest_ranges(&mut f, &[(0, len)], alg)
}

/// The digest of the given byte ranges `(offset, len)` of a reader, in order. Used for PAdES,
/// where the signed bytes are the file minus the `/Contents` hole (ISO 32000-1 12.8.1).
pub(crate) fn digest_ranges<R: Read + io::Seek>(
    reader: &mut R,
    ranges: &[(u64, u64)],
    alg: DigestAlgorithm,
) -> io::Result<Vec<u8>> {
    let mut hasher = alg.hasher();
    let mut buf = vec![0u8; CHUNK];
    for &(offset, len) in ranges {
        reader.seek(io::SeekFrom::Start(offset))?;
        let mut left = len;
        while left > 0 {
            let want = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
            let n = reader.read(&mut buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("file ends inside the signed range {offset}+{len}"),
                ));
            }
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
    }
    Ok(hasher.finalize().to_vec())
}

/// A `Read` adapter that hashes every byte passing through it.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// The SHA-256 of everything read so far and its length in bytes.
    pub fn finish(self) -> ([u8; 32], u64) {
        (self.hasher.finalize().into(), self.count)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// A `Write` adapter that hashes every byte the inner writer accepted: SHA-256 (what notes
/// record) and, when made with [`HashingWriter::for_signing`], also the digest a signature over
/// the same bytes needs — so a large note is written, hashed and ready to sign in one pass.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    signing: Option<Box<dyn sha2::digest::DynDigest>>,
    count: u64,
    /// The first I/O error, kept because a serialiser between the caller and this writer
    /// (YAML, JSON) reports it as its own error type and the kind (disk full) would be lost.
    error: Option<(io::ErrorKind, String)>,
}

/// What a [`HashingWriter`] saw.
#[derive(Debug)]
pub struct Hashed<W> {
    pub sha256: [u8; 32],
    /// The digest of the signing algorithm, for [`HashingWriter::for_signing`].
    pub signing_digest: Option<Vec<u8>>,
    pub len: u64,
    /// The inner writer, flushed.
    pub inner: W,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            signing: None,
            count: 0,
            error: None,
        }
    }

    /// Also computes the `alg` digest a detached signature over the written bytes needs.
    pub fn for_signing(inner: W, alg: DigestAlgorithm) -> Self {
        let mut w = HashingWriter::new(inner);
        w.signing = Some(alg.hasher());
        w
    }

    /// The first I/O error a write or flush met, if any.
    pub fn io_error(&self) -> Option<io::Error> {
        self.error
            .as_ref()
            .map(|(kind, msg)| io::Error::new(*kind, msg.clone()))
    }

    /// The hashes and length of everything written, and the inner writer back (flushed).
    pub fn finish(mut self) -> io::Result<Hashed<W>> {
        self.flush()?;
        Ok(Hashed {
            sha256: self.hasher.finalize().into(),
            signing_digest: self.signing.map(|h| h.finalize().to_vec()),
            len: self.count,
            inner: self.inner,
        })
    }

    fn keep<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r
            && self.error.is_none()
        {
            self.error = Some((e.kind(), e.to_string()));
        }
        r
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Hash only what the inner writer took: a short write must not hash bytes twice.
        let r = self.inner.write(buf);
        let n = self.keep(r)?;
        self.hasher.update(&buf[..n]);
        if let Some(h) = &mut self.signing {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.keep(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // FIPS 180-2 test vector.
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn reader_and_writer_hash_what_passes_through() {
        let mut r = HashingReader::new(&b"abc"[..]);
        let mut out = Vec::new();
        io::copy(&mut r, &mut out).unwrap();
        let (h, n) = r.finish();
        assert_eq!(hex::encode(h), ABC);
        assert_eq!(n, 3);

        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"ab").unwrap();
        w.write_all(b"c").unwrap();
        let done = w.finish().unwrap();
        assert_eq!(hex::encode(done.sha256), ABC);
        assert_eq!((done.len, done.inner.as_slice()), (3, &b"abc"[..]));
        assert!(done.signing_digest.is_none());
    }

    /// A writer that accepts one byte per call, to check short writes are hashed once.
    struct OneByte(Vec<u8>);
    impl Write for OneByte {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.extend_from_slice(&buf[..buf.len().min(1)]);
            Ok(buf.len().min(1))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_writes_are_hashed_once() {
        let mut w = HashingWriter::new(OneByte(Vec::new()));
        w.write_all(b"abc").unwrap();
        let done = w.finish().unwrap();
        assert_eq!(hex::encode(done.sha256), ABC);
        assert_eq!(done.inner.0, b"abc");
    }

    #[test]
    fn a_signing_writer_digests_with_the_signing_algorithm_too() {
        let mut w = HashingWriter::for_signing(OneByte(Vec::new()), DigestAlgorithm::Sha384);
        w.write_all(b"abc").unwrap();
        let done = w.finish().unwrap();
        assert_eq!(hex::encode(done.sha256), ABC);
        assert_eq!(
            done.signing_digest.unwrap(),
            DigestAlgorithm::Sha384.digest(b"abc")
        );
    }

    /// A writer whose disk is full.
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::StorageFull))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_first_io_error_is_kept_with_its_kind() {
        let mut w = HashingWriter::new(Full);
        assert!(w.io_error().is_none());
        // As a serialiser would: the error comes back, but the caller only sees the serialiser's.
        let _ = serde_json::to_writer(&mut w, &vec![1, 2, 3]);
        assert_eq!(w.io_error().unwrap().kind(), io::ErrorKind::StorageFull);
    }

    #[test]
    fn file_and_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        // Larger than one chunk so the loop runs more than once.
        let data: Vec<u8> = (0..(CHUNK * 2 + 17)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            <[u8; 32]>::from(Sha256::digest(&data))
        );
        assert_eq!(
            sha256_file_hex(&p).unwrap(),
            crate::crypto::sha256_hex(&data)
        );

        let mut f = File::open(&p).unwrap();
        let got = digest_ranges(
            &mut f,
            &[(0, 10), (CHUNK as u64, 20)],
            DigestAlgorithm::Sha256,
        )
        .unwrap();
        let mut want = Sha256::new();
        want.update(&data[..10]);
        want.update(&data[CHUNK..CHUNK + 20]);
        assert_eq!(got, want.finalize().to_vec());
        let got = digest_ranges(
            &mut f,
            &[(0, 10), (CHUNK as u64, 20)],
            DigestAlgorithm::Sha384,
        )
        .unwrap();
        let mut want = sha2::Sha384::new();
        want.update(&data[..10]);
        want.update(&data[CHUNK..CHUNK + 20]);
        assert_eq!(got, want.finalize().to_vec());
        assert_eq!(
            digest_file(&p, DigestAlgorithm::Sha384).unwrap(),
            DigestAlgorithm::Sha384.digest(&data)
        );
        // A range past the end is an error, not a silently shorter hash.
        let err = digest_ranges(
            &mut f,
            &[(data.len() as u64 - 5, 10)],
            DigestAlgorithm::Sha256,
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(sha256_file(&dir.path().join("missing")).is_err());
    }
}
