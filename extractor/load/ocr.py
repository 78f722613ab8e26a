"""OCR for PDFs without a text layer, with RapidOCR (the `ocr` extra; its ONNX models ship in the wheel).

The cascade, in order:
1. render each page with pypdfium2 (1.5×, capped so a huge page cannot exhaust memory);
2. recognise text boxes and join the boxes that share a baseline into visual lines;
3. hand the lines, in PDF points, to the PDF loader's own reading-text rebuild, so a scanned report
   gets exactly the rules a text PDF gets: page numbers and running headers dropped, wrapped lines
   (within and across pages) joined into paragraphs, headings and indented lines kept apart.

OCR stops at `Limits.ocr_pages` pages, and early when the document's time budget runs short; both
leave a warning and keep the pages already read. No step touches the network.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import re
import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from extractor.errors import DocumentError
from extractor.model import Loaded

if TYPE_CHECKING:
    from extractor.load import Limits
    from extractor.load.pdf import PageLines

# 1.5× (108 dpi): on fixture pages RapidOCR's detector found every line at 1.5× but dropped whole
# lines at 2× (a heading among them), and 1.5× takes about half the time.
RENDER_SCALE = 1.5
# Longest side of a rendered page in pixels. RapidOCR shrinks larger images to 2000 px anyway;
# the cap keeps a page declared 200 inches wide from allocating gigabytes.
MAX_SIDE_PX = 2000
# Share of the document's time limit that OCR may use; the rest is for the text stages. Stopping
# between pages keeps what was read, where the limit itself would discard the whole document.
TIME_SHARE = 0.7
# Boxes of one line further apart than this many line heights are separate fields (a signature
# next to a date, table cells): they are joined with a space.
FIELD_GAP_EM = 1.0
# A line whose box is within this share of the page's typical line height is set in the body
# font. OCR box heights vary with the glyphs (digits and punctuation are shorter), which the
# rebuild would read as font changes that end a paragraph.
BODY_HEIGHT_SHARE = 0.3
# A page number set as "— 3 —" often comes back with the dashes read as 一 ("-3一"); such a line
# is rewritten with plain dashes so that the page-number rules recognise it.
_DASHED_NUMBER = re.compile(r"^[-－—–―一_~·•\s]*(\d{1,4})[-－—–―一_~·•\s]*$")


def available() -> bool:
    """Tell whether the `ocr` extra (rapidocr-onnxruntime) is installed."""
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


@functools.cache
def _engine() -> Any:
    """One recogniser per process: loading the models costs about half a second."""
    from rapidocr_onnxruntime import RapidOCR

    # The angle classifier turned some upright lines of fixture pages upside down and lost them;
    # published reports are upright, so it only costs accuracy here.
    return RapidOCR(use_cls=False)


@dataclass
class _Box:
    """One recognised text box, in pixels of the rendered page."""

    text: str
    left: float
    right: float
    top: float
    bottom: float
    score: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


def ocr_pdf(data: bytes, limits: Limits) -> Loaded:
    """OCR the first `limits.ocr_pages` pages of a PDF; return the rebuilt reading text."""
    import pypdfium2 as pdfium

    from extractor.load.pdf import rebuild_text

    started = time.monotonic()
    budget = TIME_SHARE * limits.time_limit if limits.time_limit > 0 else float("inf")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise DocumentError("E005", fmt="pdf", detail=str(exc)[:200]) from None
    warnings: list[str] = []
    pages: list[PageLines] = []
    scores: list[float] = []
    slowest = 0.0
    try:
        n_pages = len(pdf)
        todo = min(n_pages, limits.ocr_pages)
        for index in range(todo):
            elapsed = time.monotonic() - started
            if index and elapsed + slowest > budget:
                warnings.append(f"OCR stopped after {index} of {n_pages} pages (time limit)")
                break
            page = pdf[index]
            try:
                width, height = page.get_size()
                scale = min(RENDER_SCALE, MAX_SIDE_PX / max(width, height, 1.0))
                image = page.render(scale=scale).to_pil()
            finally:
                page.close()
            boxes = _recognise(image)
            scores.extend(b.score for b in boxes)
            pages.append(_page_lines(boxes, width, height, scale))
            slowest = max(slowest, time.monotonic() - started - elapsed)
        else:
            if n_pages > todo:
                warnings.append(f"OCR stopped after {todo} of {n_pages} pages (page limit)")
    finally:
        pdf.close()
    if not scores:
        raise DocumentError("E014", detail="no text recognised on any page")
    return Loaded(
        format="pdf",
        text=rebuild_text(pages),
        pages=n_pages,
        text_source="ocr",
        ocr_confidence=round(sum(scores) / len(scores), 4),
        warnings=warnings,
    )


def _recognise(image: Any) -> list[_Box]:
    """Recognise the text boxes of one page image."""
    result, _ = _engine()(image)
    boxes: list[_Box] = []
    for box, text, score in result or []:
        text = str(text).strip()
        if not text:
            continue
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        boxes.append(_Box(text, min(xs), max(xs), min(ys), max(ys), float(score)))
    return boxes


def merge_rows(boxes: list[_Box]) -> list[_Box]:
    """Join boxes that share a baseline into one line, left to right, top to bottom."""
    rows: list[list[_Box]] = []
    for box in sorted(boxes, key=lambda b: (b.top, b.left)):
        mid = (box.top + box.bottom) / 2
        for row in rows:
            ref = row[0]
            if ref.top <= mid <= ref.bottom:
                row.append(box)
                break
        else:
            rows.append([box])
    lines = []
    for row in rows:
        row.sort(key=lambda b: b.left)
        text = row[0].text
        for prev, cur in itertools.pairwise(row):
            gap = cur.left - prev.right
            text += (" " if gap > FIELD_GAP_EM * max(prev.height, cur.height) else "") + cur.text
        lines.append(
            _Box(
                text=text,
                left=min(b.left for b in row),
                right=max(b.right for b in row),
                top=min(b.top for b in row),
                bottom=max(b.bottom for b in row),
                score=sum(b.score for b in row) / len(row),
            )
        )
    return sorted(lines, key=lambda ln: ln.top)


def _page_lines(boxes: list[_Box], width: float, height: float, scale: float) -> PageLines:
    """Turn one page's boxes into the PDF loader's line records, in points from the top-left."""
    from extractor.load.pdf import Line, PageLines

    rows = merge_rows(boxes)
    body = statistics.median(r.height for r in rows) if rows else 0.0
    lines = []
    for r in rows:
        if m := _DASHED_NUMBER.match(r.text):
            r.text = f"— {m.group(1)} —"
        size = body if abs(r.height - body) <= BODY_HEIGHT_SHARE * body else r.height
        lines.append(Line(r.text, r.left / scale, r.right / scale, r.top / scale, r.bottom / scale, size / scale))
    chars = sum(len(r.text.replace(" ", "")) for r in rows)
    return PageLines(lines=lines, width=width, height=height, chars=chars, engine="ocr")
