"""A scanned PDF whose page is a sliver (3 × 2000 pt) made OCR allocate gigabytes.

RapidOCR's detector scales an image up until its short side has 736 px: a 3-px-wide render became
an image about 490,000 px long, and the process was killed for lack of memory. Found while
trying page shapes by hand; now the image is padded instead of scaled.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Generous for the OCR models (the run needs well under 1 GiB); the old behaviour needed tens.
ADDRESS_SPACE = 3 << 30

CODE = """
import io, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
import pypdfium2 as pdfium
from extractor.errors import DocumentError
from extractor.load import Limits
from extractor.load.ocr import ocr_pdf

pdf = pdfium.PdfDocument.new()
pdf.new_page(3, 2000)
pdf.new_page(2000, 3)
buf = io.BytesIO()
pdf.save(buf)
try:
    ocr_pdf(buf.getvalue(), Limits(time_limit=600))
except DocumentError as exc:
    print(exc.code)
"""


def test_ocr_of_sliver_pages_stays_within_memory() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CODE.format(limit=ADDRESS_SPACE)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "E014"), proc.stderr[-2000:]
