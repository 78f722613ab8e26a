"""Build text PDFs with reportlab and image-only ("scanned") PDFs from them, for the OCR tests.

pdfium draws the non-embedded CJK font STSong-Light with a system CJK font; without one the pages
render blank and OCR finds nothing, so `require_cjk_font` fails loudly instead of letting an OCR
test pass or fail for the wrong reason.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Sequence

import pytest

FONT = "STSong-Light"
# Rendering scale of the "scanner": 2× is 144 dpi, a low but common scanning resolution.
SCAN_SCALE = 2.0
PAGE_BREAK = "\f"


def require_cjk_font() -> None:
    """Fail the calling test unless fontconfig knows a Chinese font that pdfium can draw with."""
    if shutil.which("fc-list") is None:
        pytest.fail(
            "fc-list (fontconfig) is missing: cannot check for a CJK system font; "
            "install fontconfig and fonts-wqy-zenhei (as .ci/run does)"
        )
    found = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    ).stdout
    if not found.strip():
        pytest.fail(
            "no CJK system font: pdfium renders the non-embedded STSong-Light blank without one, "
            "so a scanned test PDF would hold no text; install fonts-wqy-zenhei (as .ci/run does)"
        )


def typeset_pdf(title: Sequence[str], paragraphs: Sequence[str], page_numbers: bool = True) -> bytes:
    """An A4 report in the usual layout: centred title, 2-em indented justified paragraphs, '— N —' footers.

    A paragraph that is PAGE_BREAK starts a new page.
    """
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle(
        "body",
        fontName=FONT,
        fontSize=12,
        leading=20,
        wordWrap="CJK",
        alignment=TA_JUSTIFY,
        firstLineIndent=24,
    )
    head = ParagraphStyle(
        "title", parent=body, fontSize=16, leading=26, alignment=TA_CENTER, firstLineIndent=0
    )
    width, _ = A4

    def footer(canvas: object, doc: object) -> None:
        if page_numbers:
            canvas.setFont(FONT, 10)  # type: ignore[attr-defined]
            canvas.drawCentredString(width / 2, 15 * mm, f"— {doc.page} —")  # type: ignore[attr-defined]

    story = [Paragraph(line, head) for line in title]
    story += [PageBreak() if p == PAGE_BREAK else Paragraph(p, body) for p in paragraphs]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=28 * mm,
        rightMargin=26 * mm,
        topMargin=30 * mm,
        bottomMargin=28 * mm,
        invariant=1,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def image_only_pdf(pdf: bytes, scale: float = SCAN_SCALE) -> bytes:
    """Render every page of `pdf` to a picture and bind the pictures into a PDF with no text layer."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        images = []
        for i in range(len(doc)):
            page = doc[i]
            images.append(page.render(scale=scale).to_pil().convert("L"))
            page.close()
    finally:
        doc.close()
    out = io.BytesIO()
    # 72 × scale dpi keeps each page at its original size in points.
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=72 * scale)
    return out.getvalue()


def seed_part(text: str, share: float) -> tuple[list[str], list[str]]:
    """The title lines and the body paragraphs of the first `share` of a report text."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    first_heading = next(i for i, ln in enumerate(lines) if ln.startswith("一、"))
    # The title block ends at the addressee line (ends with a colon) before the first heading.
    title_end = next(i for i in range(first_heading) if lines[i].endswith((":", "：")))
    body: list[str] = []
    budget = share * len(text)
    for line in lines[title_end:]:
        body.append(line)
        budget -= len(line)
        if budget <= 0:
            break
    return lines[:title_end], body
