//! The integration tests, one binary (like fd's `tests/tests.rs`): each module drives the real
//! `resiscan` binary or the library from the outside. One binary links the library once instead
//! of once per file, which is most of a clean test build's time.

mod cli;
mod crash;
mod faults;
mod fuzz_corpus;
mod images;
mod ingest;
mod ltv;
mod pki;
mod qa;
mod qa_serve;
mod renew;
mod scans;
mod stacks;
mod store_proof;
mod testenv;
mod tsa;
mod tsa_server;
