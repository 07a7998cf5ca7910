#!/usr/bin/env python3
"""Compares two resiscan stores made from the same batches (e.g. before and after a refactor)
and says whether they are the same apart from what must differ between two runs: times, the
signatures, the per-store demo identity, and the hashes of files that carry a time.

usage: scripts/compare-stores.py STORE_A STORE_B

For PDFs that compare byte for byte (dates and signature value aside), let both runs sign with
the same demo identity: copy STORE_A/.resiscan/demo-identity into the empty STORE_B before
its ingest (the signature placeholder is sized from the certificate).

Rules, per file:
- the file lists must be equal (the unfinished-run lock and the demo key pair aside: their
  contents differ by construction, their names are compared);
- YAML/JSON: equal after masking RFC 3339 times, stage timings, the store's own path, and
  64-hex values under keys that hash a time-bearing file or the demo certificate;
- PDFs: equal after masking the dates in Info and XMP and the signature's /Contents;
- .p7s (CMS with signing time) and the demo identity: present in both (not compared);
- index.sqlite: every table's rows equal after the same masking.
Exit 0 when the stores match, 1 with every difference listed when they do not.
"""
import os
import re
import sqlite3
import sys

TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
# Keys whose 64-hex value hashes something that carries a time (a signed PDF, a note) or the
# demo certificate generated per store.
HASH_KEYS = rb"(?:pdf_sha256|pdf|transfer_note|certificate_sha256|note_sha256|batch_note_sha256|sha256)"
KEYED_HASH = re.compile(rb'("?' + HASH_KEYS + rb'"?\s*:\s*"?)[0-9a-f]{64}')
TIMING = re.compile(rb'("(?:[a-z]+_ms|seconds)"\s*:\s*)[0-9.e+-]+')
PDF_DATE = re.compile(rb"D:\d{14}[^)]*")
PDF_CONTENTS = re.compile(rb"/Contents\s*<[0-9A-Fa-f]*>")
# The placeholder is sized from the signer's certificates, and each store's demo certificate
# is generated anew: its length (and so the byte ranges) may differ by a byte.
PDF_BYTERANGE = re.compile(rb"/ByteRange\s*\[[0-9 ]*\]")
# The batch note's `document_notes:` map: document id -> SHA-256 of its (time-bearing) note.
NOTE_MAP = re.compile(rb"(document_notes:\n)((?:[ ]+\S+: [0-9a-f]{64}\n)+)")
SKIP_CONTENT = (".p7s",)
SKIP_FILES = {".resiscan/lock", ".resiscan/demo-identity/cert.pem", ".resiscan/demo-identity/key.pk8.pem"}


def files(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def masked_text(data, root, source_hashes):
    data = data.replace(os.path.abspath(root).encode(), b"<STORE>")
    data = TIME.sub(b"<TIME>", data)
    data = TIMING.sub(rb"\1<MS>", data)

    def keyed(m):
        value = m.group(0)[len(m.group(1)):]
        # A source file's hash is the same in both stores and must stay compared.
        return value if value in source_hashes else m.group(1) + b"<HASH>"

    data = NOTE_MAP.sub(
        lambda m: m.group(1) + re.sub(rb"[0-9a-f]{64}", b"<HASH>", m.group(2)), data
    )
    return KEYED_HASH.sub(keyed, data)


def masked_pdf(data):
    data = PDF_DATE.sub(b"D:<DATE>", data)
    data = TIME.sub(b"<TIME>", data)
    data = PDF_BYTERANGE.sub(b"/ByteRange [<RANGE>]", data)
    return PDF_CONTENTS.sub(b"/Contents <SIG>", data)


def index_rows(path, root, source_hashes):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = []
    tables = [r[0] for r in con.execute("select name from sqlite_master where type='table' order by name")]
    for t in tables:
        cols = [c[1] for c in con.execute(f"pragma table_info('{t}')")]
        for row in con.execute(f"select * from '{t}' order by 1"):
            cells = []
            for c, v in zip(cols, row):
                v = str(v).encode()
                if c in ("pdf_sha256",):
                    v = b"<HASH>"
                cells.append(masked_text(v, root, source_hashes))
            rows.append((t, tuple(cells)))
    con.close()
    return rows


def source_hashes(root):
    """Every source file hash the notes record (stable between runs)."""
    found = set()
    for rel in files(root):
        if rel.endswith(".transfer.yaml") or rel.endswith("transfer-note.yaml"):
            text = open(os.path.join(root, rel), "rb").read()
            for block in re.findall(rb"sources:\n((?:\s+.*\n)+?)\s*pages:", text):
                found.update(re.findall(rb"sha256: ([0-9a-f]{64})", block))
    return found


def main(a, b):
    problems = []
    fa, fb = files(a), files(b)
    for only, where in ((fa - fb, a), (fb - fa, b)):
        for f in sorted(only):
            problems.append(f"only in {where}: {f}")
    hashes = source_hashes(a) & source_hashes(b)
    for rel in sorted(fa & fb):
        pa, pb = os.path.join(a, rel), os.path.join(b, rel)
        if rel in SKIP_FILES or rel.endswith(SKIP_CONTENT) or "/.resiscan/" in "/" + rel and rel.endswith(".pem"):
            continue
        if rel.endswith("index.sqlite"):
            if index_rows(pa, a, hashes) != index_rows(pb, b, hashes):
                problems.append(f"index rows differ: {rel}")
            continue
        da, db = open(pa, "rb").read(), open(pb, "rb").read()
        if rel.endswith(".pdf"):
            ma, mb = masked_pdf(da), masked_pdf(db)
        else:
            ma, mb = masked_text(da, a, hashes), masked_text(db, b, hashes)
        if ma != mb:
            la, lb = ma.splitlines(), mb.splitlines()
            diff = next((i for i, (x, y) in enumerate(zip(la, lb)) if x != y), min(len(la), len(lb)))
            show = lambda ls: ls[diff][:160] if diff < len(ls) else b"<end>"
            problems.append(f"differs: {rel} (line {diff + 1}: {show(la)!r} vs {show(lb)!r})")
    compared = len(fa & fb)
    if problems:
        print("\n".join(problems))
        print(f"{len(problems)} difference(s) in {compared} files")
        return 1
    print(f"stores match: {compared} files, same names; contents equal apart from times, signatures, the demo identity and hashes of time-bearing files")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
