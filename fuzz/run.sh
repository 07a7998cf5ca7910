#!/usr/bin/env bash
# Runs one fuzz target for SECONDS with the settings of fuzz/README.md:
#   fuzz/run.sh TARGET SECONDS [more libFuzzer flags]
# New inputs go to fuzz/runs/TARGET (not committed); the seeds in fuzz/corpus are read only.
# Crashes, timeouts and out-of-memory inputs land in fuzz/artifacts/TARGET.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer flags]}
secs=${2:?usage: fuzz/run.sh TARGET SECONDS [libFuzzer flags]}
shift 2
case $target in
    # Every image seed reaches the format detection.
    image_intake) max_len=65536 malloc=256 seeds="corpus/image_intake corpus/image_tiff corpus/image_png corpus/image_jpeg" ;;
    # 256 MB for one allocation: 8x the largest buffer a 4 Mpx page needs (common.rs).
    image_*) max_len=65536 malloc=256 seeds="corpus/$target" ;;
    *) max_len=4096 malloc=2048 seeds="corpus/$target" ;;
esac
# -timeout=30: the instrumented build is 25-70x slower than a release build. A 2000x2000
# CMYK JPEG of 1 KB (0.2 s in release) and a YAML alias bomb at the parser's node budget
# (0.4 s) took 10-14 s here; at 10 s libFuzzer stopped on them as "timeouts".
mkdir -p "runs/$target" logs
# RUSTC_BOOTSTRAP=1: cargo-fuzz needs nightly flags (-Zsanitizer) and only stable is here.
# One fuzzer process, in-process (no -jobs/-workers: they only fork a child that logs to a file).
RUSTC_BOOTSTRAP=1 nice -n 10 cargo fuzz run -a "$target" "runs/$target" $seeds -- \
    -max_total_time="$secs" -max_len="$max_len" -rss_limit_mb=2048 -malloc_limit_mb="$malloc" \
    -timeout=30 -report_slow_units=1 -print_final_stats=1 "$@" 2>&1 |
    tee "logs/$target-$(date +%Y%m%d-%H%M%S).log"
