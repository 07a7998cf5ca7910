#!/usr/bin/env bash
# Quick start: install what is missing, build, and ingest the sample batch with the demo
# profile into ./demo-store. Exit code 3 is expected: the samples contain one broken scan,
# which is quarantined with its reason while everything else is filed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1
cargo build --release --locked || exit 1
./target/release/resiscan ingest samples/poststelle-2026-11-24 --profile profiles/demo.yaml --store demo-store
code=$?
echo "resiscan ingest exited with $code (0 all filed, 3 some documents need a person, 1 failure)" >&2
[ "$code" -eq 0 ] || [ "$code" -eq 3 ]
