//! What a signature timestamp adds (issue #16): one CMS signature without and with an RFC 3161
//! timestamp from the test suite's TSA on 127.0.0.1 (`openssl ts -reply` behind a small HTTP
//! handler, tests/it/tsa_server.rs), including the check of each reply. Every filed document
//! carries two signatures (its PDF and its note), the batch note one more per batch, and the
//! run asks once before the first document.
//!
//! Run: `cargo bench --bench tsa`.

#[path = "../tests/it/tsa_server.rs"]
#[allow(dead_code)]
mod tsa_server;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use resiscan::crypto::cms::{CmsOptions, sign_detached};
use resiscan::crypto::tsp::{Tsa, TsaConfig};
use resiscan::crypto::{SigningIdentity, identity::IdentityError};

fn identity(dir: &std::path::Path) -> Result<SigningIdentity, IdentityError> {
    let g = resiscan::crypto::keygen::generate(
        "CN=Bench,O=Stadt",
        resiscan::crypto::keygen::KeyKind::EcP256,
        30,
        &dir.join("id"),
    )
    .expect("keygen");
    SigningIdentity::load(&g.cert_path, &g.key_path, &[])
}

fn tsa(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = tsa_server::TestTsa::start(&dir.path().join("tsa"), tsa_server::TsaCert::Good);
    let trust = std::fs::read(&server.root).expect("root");
    let trust = x509_der(&trust);
    let digest = [0x5a; 32];
    let plain = identity(dir.path()).expect("identity");
    c.bench_function("cms_sign_without_timestamp", |b| {
        b.iter(|| sign_detached(&plain, black_box(&digest), CmsOptions::default()).expect("signs"))
    });
    let stamped = identity(&dir.path().join("stamped"))
        .expect("identity")
        .with_timestamp(Some(Arc::new(Tsa::new(TsaConfig {
            url: server.url.clone(),
            trust_path: server.root.clone(),
            trust: vec![trust],
            timeout: Duration::from_secs(10),
            retries: 0,
        }))));
    c.bench_function("cms_sign_with_timestamp_localhost", |b| {
        b.iter(|| {
            sign_detached(&stamped, black_box(&digest), CmsOptions::default()).expect("signs")
        })
    });
}

/// The DER of a one-certificate PEM file.
fn x509_der(pem: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let text = String::from_utf8_lossy(pem);
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("PEM")
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = tsa
}
criterion_main!(benches);
