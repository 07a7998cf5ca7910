#!/usr/bin/env bash
# Whole-batch benchmark: the same generated batch, the same core count, timed three ways —
#   1. bare Tesseract (deu, one thread per process, JOBS processes): the physical limit
#      (../shared/tools/tesseract_limit.sh);
#   2. resiscan ingest --jobs JOBS (profile benches/bench.yaml: deu, blank pages kept);
#   3. img2pdf + OCRmyPDF (PDF/A-2b), where a venv with both exists (ANCHOR_VENV, default ~/.anchors).
# Prints wall seconds, peak RSS, pages/s and the ratios, and appends a dated row to
# benches/results.csv. Usage: benches/batch.sh [PAGES (default 24)] [JOBS (default 2)]
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES=${1:-24}
JOBS=${2:-2}
TOOLS=${RESISCAN_TOOLS:-../shared/tools}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --locked --quiet --example make_samples --bin resiscan
target/release/examples/make_samples --bench-batch "$PAGES" "$work/batch" >/dev/null

# Runs a command under GNU time; prints "wall_seconds peak_rss_kib".
timed() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || true
  tail -n 1 "$work/time"
}

read -r tess_s tess_kb < <(timed "$TOOLS/tesseract_limit.sh" "$work/batch" "$work/tess" "$JOBS")
read -r ours_s ours_kb < <(timed target/release/resiscan ingest "$work/batch" \
  --profile benches/bench.yaml --store "$work/store" --jobs "$JOBS" -q)
filed=$(find "$work/store" -name '*.pdf' -not -path '*/.resiscan/*' | wc -l)

anchor_s=""
venv=${ANCHOR_VENV:-$HOME/.anchors}
if [ -x "$venv/bin/ocrmypdf" ] && [ -x "$venv/bin/img2pdf" ]; then
  read -r anchor_s _ < <(timed "$TOOLS/ocrmypdf_batch.sh" "$work/batch" "$work/anchor" "$JOBS")
fi

ratio=$(echo "scale=3; $ours_s / $tess_s" | bc)
pps=$(echo "scale=2; $PAGES / $ours_s" | bc)
echo "pages=$PAGES jobs=$JOBS documents_filed=$filed"
echo "bare tesseract:  ${tess_s} s"
echo "resiscan ingest: ${ours_s} s  (${pps} pages/s, peak RSS $((ours_kb / 1024)) MiB)"
echo "ratio resiscan / bare tesseract: ${ratio}  (target <= 1.15)"
anchor_ratio=""
if [ -n "$anchor_s" ]; then
  anchor_ratio=$(echo "scale=3; $anchor_s / $ours_s" | bc)
  echo "img2pdf + OCRmyPDF: ${anchor_s} s; OCRmyPDF / resiscan: ${anchor_ratio}  (target >= 1.8)"
fi
results=benches/results.csv
[ -f "$results" ] || echo "date,commit,pages,jobs,tesseract_s,resiscan_s,ratio,resiscan_peak_rss_mib,ocrmypdf_s,ocrmypdf_over_resiscan" >"$results"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ),$(git rev-parse --short HEAD),$PAGES,$JOBS,$tess_s,$ours_s,$ratio,$((ours_kb / 1024)),$anchor_s,$anchor_ratio" >>"$results"
