//! What a signature timestamp adds (issue #16): one CMS signature without and with an RFC 3161
//! timestamp from the test suite's TSA on 127.0.0.1 (`openssl ts -reply` behind a small HTTP
//! handler, tests/it/tsa_server.rs), including the check of each reply. Every filed document
//! carries two signatures (its PDF and its note), the batch note one more per batch, and the
//! run asks once before the first document.
//!
//! PAdES B-LT: what appending the DSS (signer and TSA chains, one CRL) costs per PDF, in time
//! and bytes (the bytes are printed once, criterion times the append).
//!
//! Run: `cargo bench --bench tsa` (or `--profile dev`, dependencies at opt-level 2).

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
    dss_append(c, &stamped, dir.path(), &server.root);
    doc_timestamp(c, &stamped, dir.path(), &server.root, &server.url);
}

/// PAdES B-LTA's per-document step (what `renew` would do per PDF, which is not built): a
/// document timestamp appended, including the request to the local test TSA.
fn doc_timestamp(
    c: &mut Criterion,
    id: &SigningIdentity,
    dir: &std::path::Path,
    root: &std::path::Path,
    url: &str,
) {
    use resiscan::pdf::update::append_doc_timestamp;
    let path = dir.join("lta.pdf");
    let signed = signed_pdf(id, &path);
    let client = Tsa::new(TsaConfig {
        url: url.to_string(),
        trust_path: root.to_path_buf(),
        trust: vec![x509_der(&std::fs::read(root).expect("root"))],
        timeout: Duration::from_secs(10),
        retries: 0,
    });
    // One token first, so the room kept for the next is sized by a real one (as in a run).
    let token = client.stamp(&[0x5a; 32]).expect("stamp");
    eprintln!("B-LTA: the test TSA's token is {} bytes", token.len());
    let mut f = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&path)
        .expect("open");
    let added = append_doc_timestamp(&mut f, &client).expect("doc timestamp");
    eprintln!("B-LTA: a document timestamp adds {added} bytes per PDF");
    c.bench_function("pades_b_lta_doc_timestamp_localhost", |b| {
        b.iter_batched(
            || {
                std::fs::write(&path, &signed).expect("reset");
                std::fs::File::options()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .expect("open")
            },
            |mut f| append_doc_timestamp(&mut f, &client).expect("doc timestamp"),
            criterion::BatchSize::PerIteration,
        )
    });
}

/// A signed one-page PDF laid out as the writer lays it out (catalog 1, field, signature
/// dictionary), signed by `id` with its timestamp; returns its bytes and the CMS.
fn signed_pdf(id: &SigningIdentity, path: &std::path::Path) -> Vec<u8> {
    use resiscan::pdf::sign::{SignaturePlaceholder, sign_pdf_in_place};
    let br = "[0 0000000000 0000000000 0000000000]";
    let hole = 40_000;
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Annots [4 0 R] >>".to_string(),
        "<< /FT /Sig /T (Signature1) /V 5 0 R /Type /Annot /Subtype /Widget /F 132 /Rect [0 0 0 0] /P 3 0 R >>".to_string(),
        format!(
            "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange {br} /Contents <{}> >>",
            "0".repeat(hole)
        ),
    ];
    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(b"xref\n0 6\n0000000000 65535 f\r\n");
    for o in &offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size 6 /Root 1 0 R /ID [<00> <00>] >>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
    let find = |n: &[u8]| {
        pdf.windows(n.len())
            .position(|w| w == n)
            .expect("placeholder")
    };
    let ph = SignaturePlaceholder {
        byte_range_offset: find(br.as_bytes()) as u64,
        byte_range_width: br.len(),
        contents_offset: (find(b"/Contents <0") + "/Contents ".len()) as u64,
        contents_hex_len: hole,
    };
    std::fs::write(path, &pdf).expect("write");
    let mut f = std::fs::File::options()
        .read(true)
        .write(true)
        .open(path)
        .expect("open");
    sign_pdf_in_place(&mut f, &ph, id).expect("sign");
    std::fs::read(path).expect("read")
}

/// PAdES B-LT: appending the DSS to a signed PDF (bytes printed, time measured).
fn dss_append(
    c: &mut Criterion,
    id: &SigningIdentity,
    dir: &std::path::Path,
    root: &std::path::Path,
) {
    use resiscan::pdf::update::{Dss, append_dss};
    let path = dir.join("bench.pdf");
    let signed = signed_pdf(id, &path);
    let pki = root.parent().expect("pki dir");
    tsa_server::openssl(
        pki,
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-cert",
            "root.pem",
            "-keyfile",
            "root.key",
            "-gencrl",
            "-crldays",
            "30",
            "-out",
            "bench.crl",
        ],
    );
    let crl = resiscan::crypto::crl::read_crl(&pki.join("bench.crl")).expect("crl");
    let cms_hex_start = signed
        .windows(10)
        .position(|w| w == b"/Contents ")
        .expect("contents")
        + 11;
    let hex_end = cms_hex_start
        + signed[cms_hex_start..]
            .iter()
            .position(|b| *b == b'>')
            .expect(">");
    let cms = hex::decode(&signed[cms_hex_start..hex_end]).expect("hex");
    let mut dss = Dss::default();
    for der in resiscan::crypto::cms::certificates_of(&cms).expect("certs") {
        dss.add_cert(&der);
    }
    dss.add_cert(&x509_der(&std::fs::read(root).expect("root")));
    dss.add_crl(&crl.der);
    let mut f = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&path)
        .expect("open");
    let added = append_dss(&mut f, &dss).expect("dss");
    eprintln!(
        "B-LT: the DSS ({} certificates, {} CRL of {} bytes) adds {added} bytes per PDF",
        dss.certs.len(),
        dss.crls.len(),
        crl.der.len()
    );
    c.bench_function("pades_b_lt_append_dss", |b| {
        b.iter_batched(
            || {
                std::fs::write(&path, &signed).expect("reset");
                std::fs::File::options()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .expect("open")
            },
            |mut f| append_dss(&mut f, black_box(&dss)).expect("dss"),
            criterion::BatchSize::PerIteration,
        )
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
