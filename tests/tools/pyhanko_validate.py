"""Validates the (last) signature of a PDF with pyHanko, the independent PAdES validator of
tests/it/tsa.rs and tests/it/ltv.rs: `pyhanko_validate.py [--ltv] FILE.pdf ROOT.pem...`.
Prints one line `intact=.. valid=.. trusted=.. timestamp=.. timestamp_trusted=.. time=..` and,
with --ltv, a second one `revoked=.. dss_certs=.. dss_crls=.. modification=.. coverage=..`,
for PDFs with document timestamps (B-LTA) `doc_timestamps=N doc_ts_intact=.. doc_ts_valid=..
doc_ts_trusted=..`,
then pyHanko's own details. Nothing is fetched from the network.

Without --ltv revocation is not checked. With --ltv (PAdES B-LT) the validation context holds
the trust roots and only what the PDF's DSS carries, and revocation checking is "require": the
signer and the TSA are trusted only if CRLs for their certificates are embedded and say they
were not revoked."""

import sys

from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko_certvalidator import ValidationContext


def main() -> int:
    args = sys.argv[1:]
    ltv = args and args[0] == "--ltv"
    if ltv:
        args = args[1:]
    pdf, roots = args[0], args[1:]
    trust = list(load_certs_from_pemder(roots))
    with open(pdf, "rb") as f:
        reader = PdfFileReader(f)
        sigs = [s for s in reader.embedded_signatures if s.sig_object.get("/Type") != "/DocTimeStamp"]
        if not sigs:
            print("no signature")
            return 2
        if ltv:
            settings = {
                "trust_roots": trust,
                "allow_fetching": False,
                "revocation_mode": "require",
            }
            try:
                dss = DocumentSecurityStore.read_dss(reader)
                vc = dss.as_validation_context(settings)
            except NoDSSFoundError:
                dss = None
                vc = ValidationContext(crls=[], ocsps=[], **settings)
        else:
            dss = None
            vc = ValidationContext(trust_roots=trust, allow_fetching=False)
        status = validate_pdf_signature(sigs[-1], vc, ts_validation_context=vc)
        ts = status.timestamp_validity
        print(
            "intact=%s valid=%s trusted=%s timestamp=%s timestamp_trusted=%s time=%s"
            % (
                status.intact,
                status.valid,
                status.trusted,
                ts is not None and ts.intact and ts.valid,
                ts is not None and ts.trusted,
                ts.timestamp.isoformat() if ts is not None else None,
            )
        )
        if ltv:
            print(
                "revoked=%s dss_certs=%d dss_crls=%d modification=%s coverage=%s"
                % (
                    status.revoked,
                    len(list(dss.load_certs())) if dss else 0,
                    len(dss.crls) if dss else 0,
                    status.modification_level.name if status.modification_level else None,
                    status.coverage.name if status.coverage else None,
                )
            )
        # PAdES B-LTA: every document timestamp, validated against the same context.
        doc_ts = [s for s in reader.embedded_signatures if s.sig_object.get("/Type") == "/DocTimeStamp"]
        if doc_ts:
            results = [validate_pdf_timestamp(s, validation_context=vc) for s in doc_ts]
            print(
                "doc_timestamps=%d doc_ts_intact=%s doc_ts_valid=%s doc_ts_trusted=%s"
                % (
                    len(results),
                    all(r.intact for r in results),
                    all(r.valid for r in results),
                    all(r.trusted for r in results),
                )
            )
        print(status.pretty_print_details())
    return 0


if __name__ == "__main__":
    sys.exit(main())
