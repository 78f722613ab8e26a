"""A crash found by tests/test_fuzz.py: a PDF whose page tree lost the end of its /Pages node.

pdfium still counts the page but cannot load it; the PDF loader reads no text, hands the file to
OCR, and OCR's page load raised PdfiumError (an internal error). Unloadable pages are now skipped
with a warning, and a PDF with no loadable page at all is corrupt.
"""

from __future__ import annotations

import io
import re

from scanned import PAGE_BREAK, image_only_pdf, require_cjk_font, typeset_pdf

from extractor.clean import clean
from extractor.load import Limits
from extractor.load.ocr import ocr_pdf
from extractor.pipeline import process_bytes


def _damaged_page_tree() -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(300, 200), invariant=1)
    c.setFont("STSong-Light", 10)
    c.drawString(20, 170, "全年办理行政处罚案件36件，")
    c.showPage()
    c.save()
    data = buf.getvalue()
    cut = b" ] /Type /Pages\n>>\n"  # the end of the /Kids array and of the /Pages dictionary
    assert data.count(cut) == 1
    return data.replace(cut, b"")


def test_pdf_whose_only_page_cannot_be_loaded_is_corrupt() -> None:
    doc = process_bytes(_damaged_page_tree(), "report.pdf")
    assert (doc.status, doc.format) == ("corrupt", "pdf"), doc.message
    assert doc.message.startswith("[E005]")


def test_ocr_skips_a_page_that_cannot_be_loaded() -> None:
    require_cjk_font()
    scan = image_only_pdf(
        typeset_pdf(["某街道办事处"], ["全年办理行政处罚案件36件。", PAGE_BREAK, "调解纠纷128件。"])
    )
    kids = re.search(rb"/Kids\s*\[([^\]]*)\]", scan)
    assert kids is not None
    second = re.findall(rb"\d+ 0 R", kids.group(1))[1]
    damaged = scan.replace(kids.group(0), kids.group(0).replace(second, b"99 0 R"))  # a dangling page
    loaded = ocr_pdf(damaged, Limits(time_limit=600))
    assert loaded.pages == 2 and loaded.warnings == ["page(s) 2 could not be rendered for OCR"]
    assert "行政处罚案件36件" in clean(loaded.text).text
