//! PAdES baseline B-B signing of a PDF the writer produced with a placeholder
//! (ETSI EN 319 142-1): `/SubFilter /ETSI.CAdES.detached`, a `/ByteRange` over everything but
//! `/Contents`, CMS SignedData with ESS signing-certificate-v2, no CMS signing-time (PAdES
//! keeps the time in `/M`).

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
