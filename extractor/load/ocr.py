"""OCR for PDFs without a text layer, with RapidOCR (the `ocr` extra; its ONNX models ship in the wheel).

The cascade, in order:
1. render each page with pypdfium2 (1.5×; a very wide page smaller, a very tall one in bands, so
   that no page shape can exhaust memory);
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
# Longest side of a rendered image in pixels. RapidOCR shrinks larger images to 2000 px anyway;
# a wider page is rendered smaller, a taller one in bands of at most this height.
MAX_SIDE_PX = 2000
# Overlap of two bands of a tall page: more than twice the tallest line expected.
BAND_OVERLAP_PX = 160
# RapidOCR's detector scales an image up until its short side has 736 px; a narrower image is
# padded with white to this size first (see _padded).
DETECT_MIN_PX = 736
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
# Letters the recogniser confuses with digits, fixed only between two digits ("2O21", "1l5").
_DIGIT_LOOKALIKES = {"O": "0", "o": "0", "l": "1", "I": "1", "|": "1"}
_LOOKALIKE_IN_NUMBER = re.compile(r"(?<=\d)[OolI|](?=\d)")
# A page number set as "— 3 —" often comes back with the dashes read as 一 ("-3一"); such a line
# is rewritten with plain dashes so that the page-number rules recognise it.
_DASHED_NUMBER = re.compile(r"^[-－—–―一_~·•\s]*(\d{1,4})[-－—–―一_~·•\s]*$")


def available() -> bool:
    """Tell whether the `ocr` extra (rapidocr-onnxruntime and its onnxruntime) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("rapidocr_onnxruntime", "onnxruntime"))


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
    engine = _start_engine()
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
        unreadable: list[int] = []
        for index in range(todo):
            try:
                page = pdf[index]
            except pdfium.PdfiumError:  # a damaged page tree: the other pages may still read
                unreadable.append(index + 1)
                continue
            out_of_time = False
            boxes: list[_Box] = []
            try:
                width, height = page.get_size()
                scale = _scale(width)
                for top, bottom in _bands(height, scale):
                    elapsed = time.monotonic() - started
                    if (index or top) and elapsed + slowest > budget:
                        out_of_time = True
                        break
                    try:
                        image = page.render(scale=scale, crop=(0, height - bottom, 0, top)).to_pil()
                    except pdfium.PdfiumError:
                        unreadable.append(index + 1)
                        break
                    found = _keep_band(_recognise(engine, image), top, bottom, height, scale)
                    boxes.extend(_shift(b, top * scale) for b in found)
                    slowest = max(slowest, time.monotonic() - started - elapsed)
            finally:
                page.close()
            if boxes or not out_of_time:  # a page cut short keeps the bands already read
                scores.extend(b.score for b in boxes)
                pages.append(_page_lines(boxes, width, height, scale))
            if out_of_time:
                warnings.append(f"OCR stopped after {index} of {n_pages} pages (time limit)")
                break
        else:
            if n_pages > todo:
                warnings.append(f"OCR stopped after {todo} of {n_pages} pages (page limit)")
    finally:
        pdf.close()
    if unreadable and len(unreadable) == todo:
        raise DocumentError(
            "E005", fmt="pdf", detail=f"no page could be rendered (pages {_ranges(unreadable)})"
        )
    if unreadable:
        warnings.append(f"page(s) {_ranges(unreadable)} could not be rendered for OCR")
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


def _ranges(pages: list[int]) -> str:
    """Page numbers as short ranges: 1-3, 7."""
    out: list[str] = []
    for n in pages:
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def _start_engine() -> Any:
    """The recogniser, or a clear per-document error when the extra is installed but broken."""
    try:
        return _engine()
    except Exception as exc:  # onnxruntime raises its own types for a missing or damaged model
        raise DocumentError(
            "E014", detail=f"OCR engine could not start: {type(exc).__name__}: {exc}"[:200]
        ) from None


def _scale(width: float) -> float:
    """Render scale of a page: RENDER_SCALE, less for a page so wide it would pass MAX_SIDE_PX."""
    return min(RENDER_SCALE, MAX_SIDE_PX / max(width, 1.0))


def _bands(height: float, scale: float) -> list[tuple[float, float]]:
    """Horizontal bands (top, bottom in points) that cover a page, each at most MAX_SIDE_PX tall.

    A tall page (a long image bound as one page) is read band by band at full resolution rather
    than shrunk until its text is unreadable; bands overlap so that every line lies whole in one.
    """
    tall = MAX_SIDE_PX / scale
    if height <= tall:
        return [(0.0, height)]
    overlap = BAND_OVERLAP_PX / scale
    step = tall - overlap
    bands = []
    top = 0.0
    while top + overlap < height:
        bands.append((top, min(top + tall, height)))
        top += step
    return bands


def _keep_band(boxes: list[_Box], top: float, bottom: float, height: float, scale: float) -> list[_Box]:
    """The boxes a band owns: centres in its half of each overlap, so a line is read once."""
    half = BAND_OVERLAP_PX / scale / 2
    lo = 0.0 if top <= 0 else half
    hi = (bottom - top) if bottom >= height else (bottom - top) - half
    return [b for b in boxes if lo * scale <= (b.top + b.bottom) / 2 < hi * scale]


def _shift(box: _Box, dy: float) -> _Box:
    return _Box(box.text, box.left, box.right, box.top + dy, box.bottom + dy, box.score)


def _recognise(engine: Any, image: Any) -> list[_Box]:
    """Recognise the text boxes of one page image."""
    image = _padded(image)
    result, _ = engine(image)
    boxes: list[_Box] = []
    for box, text, score in result or []:
        text = str(text).strip()
        if not text:
            continue
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        boxes.append(_Box(text, min(xs), max(xs), min(ys), max(ys), float(score)))
    return boxes


def _padded(image: Any) -> Any:
    """Pad a narrow image with white up to DETECT_MIN_PX on each side.

    RapidOCR's detector scales the short side up to 736 px; for a sliver of a page (3 × 2000 px)
    that means an image hundreds of thousands of pixels long and gigabytes of memory.
    """
    w, h = image.size
    if min(w, h) >= DETECT_MIN_PX:
        return image
    from PIL import Image

    canvas = Image.new(image.mode, (max(w, DETECT_MIN_PX), max(h, DETECT_MIN_PX)), "white")
    canvas.paste(image, (0, 0))
    return canvas


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
        r.text = _LOOKALIKE_IN_NUMBER.sub(lambda m: _DIGIT_LOOKALIKES[m.group()], r.text)
        if m := _DASHED_NUMBER.match(r.text):
            r.text = f"— {m.group(1)} —"
        size = body if abs(r.height - body) <= BODY_HEIGHT_SHARE * body else r.height
        lines.append(
            Line(r.text, r.left / scale, r.right / scale, r.top / scale, r.bottom / scale, size / scale)
        )
    chars = sum(len(r.text.replace(" ", "")) for r in rows)
    return PageLines(lines=lines, width=width, height=height, chars=chars, engine="ocr")
