"""Validates the (last) signature of a PDF with pyHanko, the independent PAdES validator of
tests/it/tsa.rs: `pyhanko_validate.py FILE.pdf ROOT.pem...`. Prints one line
`intact=.. valid=.. trusted=.. timestamp=.. timestamp_trusted=.. level=..` and then pyHanko's
own details. Nothing is fetched from the network; revocation is not checked here."""

import sys

from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def main() -> int:
    pdf, roots = sys.argv[1], sys.argv[2:]
    trust = list(load_certs_from_pemder(roots))
    vc = ValidationContext(trust_roots=trust, allow_fetching=False)
    with open(pdf, "rb") as f:
        reader = PdfFileReader(f)
        sigs = reader.embedded_signatures
        if not sigs:
            print("no signature")
            return 2
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
        print(status.pretty_print_details())
    return 0


if __name__ == "__main__":
    sys.exit(main())
