//! Evidence: SHA-256 over inputs and outputs, the signing identity (certificate, chain, PKCS#8
//! key), CMS SignedData (RFC 5652) with ESS signing-certificate-v2 (RFC 5035), built from the
//! RustCrypto `cms`/`der` types and signed with `ring`.

pub(crate) mod chain;
pub mod cms;
pub mod crl;
mod derwalk;
pub mod hash;
pub mod identity;
pub mod keygen;
pub mod tsp;

pub use cms::{
    CmsOptions, CryptoError, SignatureReport, sign_detached, verify_detached,
    verify_detached_content,
};
pub use hash::{HashingReader, HashingWriter, sha256_file, sha256_file_hex};
pub use identity::{IdentityError, KeyAlgorithm, SigningIdentity};

use sha2::{Digest, Sha256};

/// SHA-256 of `bytes` as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
