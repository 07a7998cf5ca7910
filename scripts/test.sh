#!/usr/bin/env bash
# The test suite: formatting, lints, unit and integration tests (the integration tests run the
# real binary against Tesseract, poppler, qpdf and openssl). Installs missing packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --lib --bins --tests
