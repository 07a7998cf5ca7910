#!/usr/bin/env bash
# Whole-batch benchmark: the same generated batch, the same core count, timed three ways —
#   1. bare Tesseract (deu, one thread per process, JOBS processes): the physical limit
#      (../shared/tools/tesseract_limit.sh);
#   2. resiscan ingest --jobs JOBS (profile benches/bench.yaml: deu, blank pages kept);
#   3. img2pdf + OCRmyPDF (PDF/A-2b), where a venv with both exists (ANCHOR_VENV, default ~/.anchors).
# The three run in turn, RUNS rounds, so a machine that gets busier or quieter part-way affects
# them alike; the figures are medians over the rounds. Prints wall seconds, peak RSS, pages/s,
# the ratios and where resiscan's time went (stage sums from report.json), and appends a dated
# row to benches/results.csv.
# Usage: benches/batch.sh [PAGES (default 24)] [JOBS (default 2)] [RUNS (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES=${1:-24}
JOBS=${2:-2}
RUNS=${3:-3}
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
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

venv=${ANCHOR_VENV:-$HOME/.anchors}
anchor=""
[ -x "$venv/bin/ocrmypdf" ] && [ -x "$venv/bin/img2pdf" ] && anchor=yes
: >"$work/tess"; : >"$work/ours"; : >"$work/ours_kb"; : >"$work/anchor"
for round in $(seq "$RUNS"); do
  rm -rf "$work/t" "$work/store" "$work/a"
  read -r s _ < <(timed "$TOOLS/tesseract_limit.sh" "$work/batch" "$work/t" "$JOBS")
  echo "$s" >>"$work/tess"
  read -r s kb < <(timed target/release/resiscan ingest "$work/batch" \
    --profile benches/bench.yaml --store "$work/store" --jobs "$JOBS" -q)
  echo "$s" >>"$work/ours"; echo "$kb" >>"$work/ours_kb"
  if [ -n "$anchor" ]; then
    read -r s _ < <(timed "$TOOLS/ocrmypdf_batch.sh" "$work/batch" "$work/a" "$JOBS")
    echo "$s" >>"$work/anchor"
  fi
  echo "round $round: tesseract $(tail -n1 "$work/tess") s, resiscan $(tail -n1 "$work/ours") s${anchor:+, ocrmypdf $(tail -n1 "$work/anchor") s}" >&2
done
filed=$(find "$work/store" -name '*.pdf' -not -path '*/.resiscan/*' | wc -l)
tess_s=$(median <"$work/tess")
ours_s=$(median <"$work/ours")
ours_kb=$(median <"$work/ours_kb")
anchor_s=""
[ -n "$anchor" ] && anchor_s=$(median <"$work/anchor")

ratio=$(echo "scale=3; $ours_s / $tess_s" | bc)
pps=$(echo "scale=2; $PAGES / $ours_s" | bc)
echo "pages=$PAGES jobs=$JOBS runs=$RUNS documents_filed=$filed (medians over the runs)"
echo "bare tesseract:  ${tess_s} s"
echo "resiscan ingest: ${ours_s} s  (${pps} pages/s, peak RSS $((ours_kb / 1024)) MiB)"
echo "ratio resiscan / bare tesseract: ${ratio}  (target <= 1.15)"
anchor_ratio=""
if [ -n "$anchor_s" ]; then
  anchor_ratio=$(echo "scale=3; $anchor_s / $ours_s" | bc)
  echo "img2pdf + OCRmyPDF: ${anchor_s} s; OCRmyPDF / resiscan: ${anchor_ratio}  (target >= 1.8)"
fi
# Where the time went in the last resiscan run: per-stage sums over the documents (CPU time of
# the workers, so with JOBS workers they add up to about JOBS times the wall time).
python3 - "$work/store/_batches" <<'EOF' || true
import json, pathlib, sys
totals = {}
for report in pathlib.Path(sys.argv[1]).glob("*/report.json"):
    for doc in json.loads(report.read_text())["documents"]:
        for stage, ms in doc["times"].items():
            totals[stage] = totals.get(stage, 0.0) + ms
print("stage sums: " + ", ".join(f"{k[:-3]} {v / 1000:.2f} s" for k, v in totals.items()))
EOF
results=benches/results.csv
[ -f "$results" ] || echo "date,commit,pages,jobs,tesseract_s,resiscan_s,ratio,resiscan_peak_rss_mib,ocrmypdf_s,ocrmypdf_over_resiscan,runs" >"$results"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ),$(git rev-parse --short HEAD),$PAGES,$JOBS,$tess_s,$ours_s,$ratio,$((ours_kb / 1024)),$anchor_s,$anchor_ratio,$RUNS" >>"$results"
