#!/usr/bin/env bash
# The test suite: formatting, lints, unit and integration tests (the integration tests run the
# real binary against Tesseract, poppler, qpdf and openssl). Installs missing packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
# The unit tests drive libtesseract inside the test process, which does not re-exec itself as
# the resiscan binary does (src/openmp.rs): keep OpenMP from oversubscribing the cores there.
export OMP_THREAD_LIMIT=1
cargo test --locked --lib --bins --tests
