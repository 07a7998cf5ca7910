#!/usr/bin/env bash
# Renders a batch's QA sheet (STORE/_batches/BATCH/qa-sheet.html, written by `resiscan qa
# sample`) in headless Chromium and saves a screenshot, to look at the sheet as an inspector's
# browser shows it. Not part of CI: Chromium is heavy. Installs Debian's `chromium` if missing.
#
# usage: scripts/qa-sheet-screenshot.sh STORE BATCH OUT.png
set -euo pipefail

if [ "$#" -ne 3 ]; then
    echo "usage: $0 STORE BATCH OUT.png" >&2
    exit 2
fi
store=$1
batch=$2
out=$3

sheet="$store/_batches/$batch/qa-sheet.html"
if [ ! -f "$sheet" ]; then
    echo "$sheet not found: run \`resiscan qa sample --store $store --batch $batch\` first" >&2
    exit 1
fi

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "chromium not found; installing it (apt-get install -y chromium)" >&2
    apt-get install -y chromium >&2
    browser=$(command -v chromium)
fi

sheet_abs=$(realpath "$sheet")
out_abs=$(realpath -m "$out")
mkdir -p "$(dirname "$out_abs")"
rm -f "$out_abs"
# A throw-away profile: no state from earlier runs, nothing left behind.
profile_dir=$(mktemp -d)
trap 'rm -rf "$profile_dir"' EXIT

# --screenshot writes the file and exits; timeout guards a browser that hangs.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --hide-scrollbars \
    --user-data-dir="$profile_dir" \
    --screenshot="$out_abs" --window-size=1200,1600 "file://$sheet_abs" >/dev/null 2>&1 || true

if [ ! -f "$out_abs" ]; then
    echo "no screenshot was written to $out_abs" >&2
    exit 1
fi
size=$(stat -c %s "$out_abs")
# A blank 1200x1600 PNG compresses to a few KB; a rendered sheet with thumbnails is far larger.
if [ "$size" -lt 20000 ]; then
    echo "$out_abs is only $size bytes: the sheet did not render" >&2
    exit 1
fi
echo "$out_abs ($size bytes)"
