"""OCR for PDFs without a text layer, with RapidOCR (the `ocr` extra; its ONNX models ship in the wheel).

Pages are rendered with pypdfium2, recognised line by line, and the lines are rebuilt into
paragraphs with the same rules a text PDF gets: a line that reaches the right margin continues
into the next one; a short line or a heading marker ends a paragraph.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from extractor.errors import DocumentError
from extractor.model import Loaded

if TYPE_CHECKING:
    from extractor.load import Limits

# 1.5× (108 dpi): on fixture pages RapidOCR's detector found every line at 1.5× but dropped whole
# lines at 2× (a heading among them), and 1.5× takes about half the time.
RENDER_SCALE = 1.5
# A line whose right edge stops this far (as a share of the text width) short of the right margin
# ends its paragraph.
SHORT_LINE = 0.08
_HEADING_START = re.compile(r"^\s*(?:[一二三四五六七八九十]{1,3}[、.．,，]|[（(][一二三四五六七八九十\d]{1,3}[)）]|\d{1,2}[.．、](?!\d)|[①-⑳])")


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
class _Line:
    text: str
    left: float
    right: float
    top: float
    bottom: float
    score: float


def ocr_pdf(data: bytes, limits: Limits) -> Loaded:
    """OCR the first `limits.ocr_pages` pages of a PDF; return the rebuilt reading text."""
    import pypdfium2 as pdfium

    max_pages = limits.ocr_pages
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise DocumentError("E005", fmt="pdf", detail=str(exc)) from exc
    warnings: list[str] = []
    try:
        n_pages = len(pdf)
        todo = min(n_pages, max_pages)
        if n_pages > todo:
            warnings.append(f"OCR stopped after {todo} of {n_pages} pages (page limit)")
        pages: list[list[_Line]] = []
        for index in range(todo):
            page = pdf[index]
            try:
                image = page.render(scale=RENDER_SCALE).to_pil()
            finally:
                page.close()
            pages.append(_recognise(image))
    finally:
        pdf.close()
    lines = [ln for page in pages for ln in page]
    if not lines:
        raise DocumentError("E014", detail="no text recognised on any page")
    text = "\n".join(_paragraphs(page) for page in pages if page)
    confidence = sum(ln.score for ln in lines) / len(lines)
    return Loaded(
        format="pdf",
        text=text,
        pages=n_pages,
        text_source="ocr",
        ocr_confidence=round(confidence, 4),
        warnings=warnings,
    )


def _recognise(image: Any) -> list[_Line]:
    """Recognise one page image into text lines in reading order."""
    result, _ = _engine()(image)
    boxes: list[_Line] = []
    for box, text, score in result or []:
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        boxes.append(_Line(str(text), min(xs), max(xs), min(ys), max(ys), float(score)))
    return _merge_rows(boxes)


def _merge_rows(boxes: list[_Line]) -> list[_Line]:
    """Join boxes that share a baseline into one line, left to right."""
    rows: list[list[_Line]] = []
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
        lines.append(
            _Line(
                text="".join(b.text for b in row),
                left=min(b.left for b in row),
                right=max(b.right for b in row),
                top=min(b.top for b in row),
                bottom=max(b.bottom for b in row),
                score=sum(b.score for b in row) / len(row),
            )
        )
    return sorted(lines, key=lambda ln: ln.top)


def _paragraphs(lines: list[_Line]) -> str:
    """Rebuild paragraphs from the lines of one page."""
    if not lines:
        return ""
    left = min(ln.left for ln in lines)
    right = max(ln.right for ln in lines)
    width = max(right - left, 1.0)
    out: list[str] = []
    current = ""
    for ln in lines:
        starts_block = bool(_HEADING_START.match(ln.text)) or ln.left - left > 0.04 * width
        if current and starts_block:
            out.append(current)
            current = ""
        current += ln.text
        if (right - ln.right) / width > SHORT_LINE or (ln.text.endswith(("。", ":", "：")) and (right - ln.right) / width > 0.02):
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return "\n".join(out)
