#!/usr/bin/env bash
# What separation and barcode reading add to a whole batch's wall time (issue #14, SPEC §6:
# at most 5 %). The same generated batch (benches/batch.sh's letters, no separator sheets, so
# every page is looked at and none is cut) is ingested with four profiles, in turn, RUNS rounds,
# each into a fresh store, so a machine that gets busier part-way affects them alike:
#   plain     benches/bench.yaml as it is (reads no barcodes, no bars);
#   patch     + separation: {split_on: [patch_t, cover]};
#   text      + separation: {split_on: ["barcode:PATCHT"]} (every page read for 4 symbologies);
#   fields    + separation as `text` and the az field also read from barcodes (one read a page,
#             handed from the stack stage to the page stage).
# Prints the median wall seconds of each and its ratio to `plain`, the same for CPU seconds
# (user + system), plain's spread, and the median of each round's own ratio to that round's
# plain run: on a machine shared with other work (a virtual machine's host) the speed drifts
# between rounds, by 15 % and more, and the per-round ratio is the steadier figure.
# Usage: benches/stacks_batch.sh [PAGES (default 12)] [JOBS (default 2)] [RUNS (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES=${1:-12}
JOBS=${2:-2}
RUNS=${3:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --locked --quiet --example make_samples --bin resiscan
target/release/examples/make_samples --bench-batch "$PAGES" "$work/batch" >/dev/null

base=benches/bench.yaml
cp "$base" "$work/plain.yaml"
{ cat "$base"; printf '\nseparation:\n  split_on: [patch_t, cover]\n'; } >"$work/patch.yaml"
{ cat "$base"; printf '\nseparation:\n  split_on: ["barcode:PATCHT"]\n'; } >"$work/text.yaml"
sed "s/fields: {az: 'Aktenzeichen:?\\\\s\*(VB-\\\\d{4}-\\\\d{5})'}/fields: {az: {text: 'Aktenzeichen:?\\\\s*(VB-\\\\d{4}-\\\\d{5})', barcode: '^(VB-\\\\d{4}-\\\\d{5})\$'}}/" \
  "$work/text.yaml" >"$work/fields.yaml"
grep -q "barcode: '" "$work/fields.yaml" || { echo "fields.yaml: the az field was not rewritten" >&2; exit 1; }
for p in plain patch text fields; do
  target/release/resiscan profile check "$work/$p.yaml" >/dev/null
done

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
for round in $(seq "$RUNS"); do
  line="round $round:"
  for p in plain patch text fields; do
    rm -rf "$work/store"
    /usr/bin/time -f "%e %U %S" -o "$work/time" target/release/resiscan ingest "$work/batch" \
      --profile "$work/$p.yaml" --store "$work/store" --jobs "$JOBS" -q >/dev/null 2>"$work/err" || true
    read -r s u k < <(tail -n 1 "$work/time")
    echo "$s" >>"$work/$p.s"
    echo "$u + $k" | bc >>"$work/$p.cpu"
    line="$line $p ${s}s/$(tail -n 1 "$work/$p.cpu")cpu"
  done
  echo "$line" >&2
  # The same round's ratios: a machine whose speed drifts between rounds (a shared host)
  # affects the four runs of one round alike, far less than it moves the medians.
  p0=$(tail -n 1 "$work/plain.s")
  for p in patch text fields; do
    echo "scale=4; $(tail -n 1 "$work/$p.s") / $p0" | bc >>"$work/$p.ratio"
  done
done
plain=$(median <"$work/plain.s")
plain_cpu=$(median <"$work/plain.cpu")
echo "pages=$PAGES jobs=$JOBS runs=$RUNS (medians; ratios to plain)"
for p in plain patch text fields; do
  s=$(median <"$work/$p.s")
  c=$(median <"$work/$p.cpu")
  echo "$p: wall ${s} s (ratio $(echo "scale=3; $s / $plain" | bc)), cpu ${c} s (ratio $(echo "scale=3; $c / $plain_cpu" | bc))"
done
echo "plain's rounds: $(sort -g "$work/plain.s" | head -n 1)-$(sort -g "$work/plain.s" | tail -n 1) s"
for p in patch text fields; do
  echo "$p: median of the rounds' own wall ratios $(median <"$work/$p.ratio")"
done
