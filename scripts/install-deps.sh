#!/usr/bin/env bash
# Installs the Debian 12 packages resiscan needs to build, run and test — only those missing.
# Tesseract's C library and models, leptonica and clang (bindgen), poppler (pdftotext, pdfsig,
# pdffonts), qpdf, openssl, fonts for the sample generator; python3-pikepdf for the PDF/A check;
# libnss3-tools (certutil) so the PKI tests can make pdfsig trust their test root;
# libtiff-tools (tiffcp, tiffset) and libjpeg-turbo-progs (cjpeg) write the outside-made images
# of tests/it/images.rs; chromium and chromium-driver run the QA station's browser test
# (tests/it/qa_serve.rs, through WebDriver).
set -euo pipefail
packages=(
  build-essential pkg-config libclang-dev clang
  libtesseract-dev libleptonica-dev tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng tesseract-ocr-osd
  poppler-utils qpdf openssl ghostscript fonts-dejavu-core python3-pikepdf imagemagick liblcms2-utils bc time
  libnss3-tools libtiff-tools libjpeg-turbo-progs python3-venv
  chromium chromium-driver
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# pyHanko, the independent PAdES validator of the timestamp tests (tests/it/tsa.rs), from PyPI
# into a virtual environment beside the checkout (.venv-tools/, git-ignored); skipped when
# present. python3-venv (in the list above) is Debian's venv module.
venv="$(cd "$(dirname "$0")/.." && pwd)/.venv-tools"
# pikepdf there too: /work/shared/tools/pdfa_check.py, the outside PDF/A-2b check, needs it.
if ! "$venv/bin/python" -c "import pyhanko, pyhanko_certvalidator, pikepdf" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q "pyHanko==0.38.0" "pyhanko-certvalidator==0.33.0" "pikepdf==10.18.0"
fi
