//! `store search` on an index of 10,000 synthetic letters (target: < 50 ms per query, SPEC
//! store; the CLI path opens the store read-only for every query, so that is timed too).
//!
//! Run: `cargo bench --bench store`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use resiscan::store::{NewEntry, Store, store_search};

const DOCUMENTS: usize = 10_000;

const WORDS: &[&str] = &[
    "Sehr",
    "geehrte",
    "Damen",
    "und",
    "Herren",
    "Stadtkasse",
    "Bescheid",
    "Forderung",
    "Zahlung",
    "Mahnung",
    "Frist",
    "Konto",
    "Überweisung",
    "Betrag",
    "Euro",
    "Grundsteuer",
    "Gewerbesteuer",
    "Hundesteuer",
    "Stundung",
    "Ratenzahlung",
    "Antrag",
    "Widerspruch",
    "Einspruch",
    "Grundstück",
    "Straße",
    "Müller",
    "Schröder",
    "Köhler",
    "Volkshochschule",
    "Kurs",
    "Anmeldung",
    "Abmeldung",
    "Rechnung",
    "Lieferung",
    "freundlichen",
    "Grüßen",
    "bitte",
    "wir",
    "Ihnen",
    "mitteilen",
    "dass",
    "der",
    "die",
    "das",
    "wird",
    "hiermit",
    "beantragt",
    "festgesetzt",
    "fällig",
    "Monat",
    "Jahr",
    "Quartal",
    "Vorauszahlung",
];

/// A deterministic pseudo-random letter of ~250 words; every 50th mentions a Pfändung.
fn letter(i: usize, seed: &mut u64) -> String {
    let mut next = || {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) as usize
    };
    let mut s = format!(
        "Kassenzeichen: 61.{:03}.{:03}.{}\n",
        i % 1000,
        i / 10,
        i % 10
    );
    for w in 0..250 {
        s.push_str(WORDS[next() % WORDS.len()]);
        s.push(if w % 12 == 11 { '\n' } else { ' ' });
    }
    if i.is_multiple_of(50) {
        s.push_str("Ankündigung der Pfändung Ihres Kontos.");
    }
    s
}

fn fill(dir: &Path) {
    let mut store = Store::open(dir).expect("open store");
    let mut seed = 42u64;
    let entries: Vec<NewEntry> = (0..DOCUMENTS)
        .map(|i| NewEntry {
            doc_id: format!("batch-{:03}-{:04}", i / 100, i % 100),
            batch_id: format!("batch-{:03}", i / 100),
            efile_id: (!i.is_multiple_of(7))
                .then(|| ["vollstreckung", "stundung", "grundsteuer"][i % 3].into()),
            pdf_path: format!("20/{i}.pdf"),
            note_path: format!("20/{i}.transfer.yaml"),
            meta_path: format!("20/{i}.meta.json"),
            pdf_sha256: format!("{i:064x}"),
            source_digest: format!("{:064x}", i * 31),
            filed_at: "2026-11-25T01:00:00Z".into(),
            retention_until: Some("2036-11-25".into()),
            text: letter(i, &mut seed),
        })
        .collect();
    store.record_all(&entries).expect("record");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    fill(dir.path());
    let store = Store::open_read_only(dir.path()).expect("open read-only");
    let mut g = c.benchmark_group("store_search_10k");
    for query in [
        "Pfändung",
        "Pfaendung",
        "Grundsteuer Stundung",
        "Grund*",
        "\" AND OR *",
    ] {
        g.bench_function(format!("Store::search {query:?}"), |b| {
            b.iter(|| black_box(store.search(black_box(query), 20).expect("search")))
        });
    }
    g.bench_function(
        "store_search CLI path (open + query + format) \"Pfändung\"",
        |b| b.iter(|| black_box(store_search(dir.path(), "Pfändung", 20, false).expect("search"))),
    );
    g.bench_function("Store::list all", |b| {
        b.iter(|| black_box(store.list(None).expect("list")))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
