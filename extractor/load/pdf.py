"""PDF: the text layer rebuilt into reading text, one paragraph per line.

The cascade, in order:
1. open with pypdfium2 and count pages; over the page limit stops here, before any layout work;
2. per page, read lines with their geometry: pdfium's text and character boxes (fast), or
   pdfplumber's de-duplicated characters where pdfium's output fails a sanity check;
3. no text layer (or an unreadable one) means a scanned PDF: OCR when the extra is installed;
4. drop page numbers and running headers/footers (lines repeated in the top/bottom band);
5. join lines wrapped by the page width back into paragraphs (rules/pdf_layout.yaml).

Steps 4 and 5 are pure functions of `PageLines` records, whichever engine produced them.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import io
import itertools
import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from extractor.errors import DocumentError
from extractor.model import Loaded
from extractor.rules import load_rules

if TYPE_CHECKING:
    from extractor.load import Limits

Engine = Literal["auto", "pdfium", "pdfplumber"]

_CJK = "\u2e80-\u2fff\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_LATIN = re.compile(r"[A-Za-z]")
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_GARBLED = re.compile("[\ue000-\uf8ff\ufffd\x00-\x08\x0b\x0e-\x1f]")
# A line whose characters come in identical pairs ("一一、、总总") is a fake-bold heading that
# the engine did not de-duplicate.
_MIN_DOUBLED_LEN = 4
# A gap this wide (in em, above the line's usual gap) between Latin letters or digits is a space.
_LATIN_SPACE_EM = 0.2
# At least this share of pages without a text layer sends the whole document to OCR (when the
# extra is installed): a scan with a typed cover page is still a scan.
_OCR_SHARE = 0.5
# Page numbers sit among the two first or two last lines of a page (a footer line may follow).
_PAGE_NUMBER_LINES = 2


@dataclass(frozen=True)
class Line:
    """One visual line; coordinates in points from the page's top-left corner."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


@dataclass
class PageLines:
    """The lines of one page, in reading order, with the page size."""

    lines: list[Line]
    width: float
    height: float
    chars: int = 0
    garbled: bool = False
    engine: str = "pdfium"


@dataclass(frozen=True)
class _Layout:
    heading: re.Pattern[str]
    paragraph_end: frozenset[str]
    page_numbers: tuple[re.Pattern[str], ...]
    band: float
    band_lines: int
    repeat_share: float
    indent_em: float
    short_em: float
    far_short_em: float
    size_change: float
    gap_lines: float
    display_size: float
    display_join: float
    cjk_space_em: float
    min_page_chars: int
    garbled_share: float


@functools.cache
def _layout() -> _Layout:
    data = load_rules("pdf_layout")
    return _Layout(
        heading=re.compile(data["heading_start"]),
        paragraph_end=frozenset(data["paragraph_end"]),
        page_numbers=tuple(re.compile(p) for p in data["page_number_lines"]),
        band=float(data["band"]),
        band_lines=int(data["band_lines"]),
        repeat_share=float(data["repeat_share"]),
        indent_em=float(data["indent_em"]),
        short_em=float(data["short_em"]),
        far_short_em=float(data["far_short_em"]),
        size_change=float(data["size_change"]),
        gap_lines=float(data["gap_lines"]),
        display_size=float(data["display_size"]),
        display_join=float(data["display_join"]),
        cjk_space_em=float(data["cjk_space_em"]),
        min_page_chars=int(data["min_page_chars"]),
        garbled_share=float(data["garbled_share"]),
    )


def load_pdf(data: bytes, limits: Limits, engine: Engine = "auto") -> Loaded:
    """Load a PDF; `engine` forces one text engine (the fidelity test compares them)."""
    import pypdfium2 as pdfium

    layout = _layout()
    warnings: list[str] = []
    # 1. Open and count pages; nothing per page happens before the page limit is checked.
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise DocumentError("E005", fmt="pdf", detail=_pdfium_detail(exc)) from None
    try:
        n_pages = len(pdf)
        if n_pages > limits.max_pages:
            raise DocumentError("E007", pages=n_pages, limit=limits.max_pages)
        if n_pages == 0:
            raise DocumentError("E005", fmt="pdf", detail="no pages")
        if b"%%EOF" not in data[-2048:]:
            warnings.append("PDF has no %%EOF end marker (truncated?); text may be incomplete")
        # 2. Lines with geometry, page by page.
        pages: list[PageLines | None] = []
        for i in range(n_pages):
            pages.append(None if engine == "pdfplumber" else _pdfium_page(pdf, i, layout))
    finally:
        pdf.close()
    redo = [i for i, p in enumerate(pages) if p is None]
    if redo:
        for i, page in zip(redo, _pdfplumber_pages(data, redo, layout), strict=True):
            pages[i] = page
    done: list[PageLines] = [p for p in pages if p is not None]
    # 3. Scanned or unreadable: OCR if available, else a clear status. A short last page (the
    # date line) has little text but is not a scan.
    textless = [p for p in done if p.chars < layout.min_page_chars or p.garbled]
    garbled = sum(1 for p in done if p.garbled)
    if len(textless) == len(done):
        return _scanned(data, limits, n_pages, garbled)
    blank = sum(1 for p in done if p.chars == 0 or p.garbled)
    if blank >= _OCR_SHARE * len(done) and _ocr() is not None:
        return _scanned(data, limits, n_pages, garbled)
    if blank:
        warnings.append(f"{blank} of {n_pages} page(s) have no readable text layer (scanned pages?)")
    # An unreadable text layer is noise; its page contributes nothing.
    readable = [p if not p.garbled else PageLines([], p.width, p.height, 0, True, p.engine) for p in done]
    text = rebuild_text(readable, layout)
    source = "pdfplumber" if any(p.engine == "pdfplumber" for p in done) else "pdfium"
    return Loaded(format="pdf", text=text, pages=n_pages, text_source=source, warnings=warnings)


def _pdfium_detail(exc: Exception) -> str:
    msg = str(exc)
    if "password" in msg.lower():
        return "encrypted (a password is needed to open it)"
    return msg[:200]


def _ocr() -> Any:
    """The OCR module when the `ocr` extra is installed and ready, else None."""
    if importlib.util.find_spec("extractor.load.ocr") is None:
        return None
    ocr = importlib.import_module("extractor.load.ocr")
    return ocr if ocr.available() else None


def _scanned(data: bytes, limits: Limits, pages: int, garbled: int) -> Loaded:
    """Hand a PDF without usable text to OCR when the `ocr` extra is installed and ready."""
    ocr = _ocr()
    if ocr is not None:
        loaded: Loaded = ocr.ocr_pdf(data, limits)
        return loaded
    if garbled:
        raise DocumentError("E015", pages=pages)
    raise DocumentError("E006", pages=pages)


# ---------------------------------------------------------------------------------------------
# Engines: page -> PageLines


def _is_garbled(text: str, layout: _Layout) -> bool:
    dense = _SPACES.sub("", text)
    return bool(dense) and len(_GARBLED.findall(dense)) > layout.garbled_share * len(dense)


def _looks_doubled(text: str) -> bool:
    return len(text) >= _MIN_DOUBLED_LEN and len(text) % 2 == 0 and text[0::2] == text[1::2]


def _pdfium_page(pdf: Any, index: int, layout: _Layout) -> PageLines | None:
    """Lines of one page from pdfium; None when its output fails a sanity check."""
    import pypdfium2 as pdfium

    try:
        return _pdfium_page_lines(pdf, index, layout)
    except pdfium.PdfiumError:
        return None  # a page pdfium cannot read may still parse in pdfminer


def _pdfium_page_lines(pdf: Any, index: int, layout: _Layout) -> PageLines | None:
    page = pdf[index]
    try:
        width, height = page.get_size()
        if page.get_rotation() % 180:
            # Boxes of a rotated page are in unrotated space; pdfplumber handles the geometry.
            return None
        textpage = page.get_textpage()
        try:
            count = textpage.count_chars()
            text = textpage.get_text_range(0, count) if count > 0 else ""
            if len(text) != count:
                return None  # char indices and string positions disagree (surrogates, ligatures)
            lines = _pdfium_lines(textpage, text, height, layout)
        finally:
            textpage.close()
    finally:
        page.close()
    if lines is None:
        return None
    dense = _SPACES.sub("", text)
    return PageLines(
        lines=lines, width=width, height=height, chars=len(dense), garbled=_is_garbled(text, layout)
    )


def _pdfium_lines(textpage: Any, text: str, height: float, layout: _Layout) -> list[Line] | None:
    lines: list[Line] = []
    pos = 0
    for m in [*_LINE_BREAK.finditer(text), None]:
        end = m.start() if m else len(text)
        seg_start, seg = pos, text[pos:end]
        pos = m.end() if m else len(text)
        stripped = seg.strip()
        if not stripped:
            continue
        lead = len(seg) - len(seg.lstrip())
        first = seg_start + lead
        last = seg_start + lead + len(stripped) - 1
        left, bottom, _, top = textpage.get_charbox(first, loose=True)
        _, bottom2, right, top2 = textpage.get_charbox(last, loose=True)
        size = top - bottom
        if size <= 0:
            size = max(top2 - bottom2, 1.0)
        if _looks_doubled(stripped):
            return None
        if " " in stripped or "\u3000" in stripped:
            stripped = _drop_layout_spaces(stripped, first, textpage, size, layout)
        lines.append(
            Line(
                text=stripped,
                x0=left,
                x1=right,
                top=height - max(top, top2),
                bottom=height - min(bottom, bottom2),
                size=size,
            )
        )
    return lines


def _drop_layout_spaces(line: str, first: int, textpage: Any, size: float, layout: _Layout) -> str:
    """Remove spaces that the engine put between CJK characters standing close together."""
    out: list[str] = []
    for k, ch in enumerate(line):
        if ch in " \u3000" and 0 < k < len(line) - 1:
            prev, nxt = line[k - 1], line[k + 1]
            if _CJK_CHAR.match(prev) and _CJK_CHAR.match(nxt):
                right = textpage.get_charbox(first + k - 1, loose=True)[2]
                left = textpage.get_charbox(first + k + 1, loose=True)[0]
                if left - right < layout.cjk_space_em * size:
                    continue
        out.append(ch)
    return "".join(out)


def _pdfplumber_pages(data: bytes, indices: Sequence[int], layout: _Layout) -> list[PageLines]:
    """Lines of the given pages from pdfplumber, with overprinted (fake-bold) characters merged."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import PdfminerException

    out: list[PageLines] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for i in indices:
                page = pdf.pages[i].dedupe_chars(tolerance=1)
                lines = [_plumber_line(ln, layout) for ln in page.extract_text_lines(strip=True, return_chars=True)]
                text = "".join(c["text"] for c in page.chars)
                dense = _SPACES.sub("", text)
                out.append(
                    PageLines(
                        lines=[ln for ln in lines if ln.text],
                        width=float(page.width),
                        height=float(page.height),
                        chars=len(dense),
                        garbled=_is_garbled(text, layout),
                        engine="pdfplumber",
                    )
                )
                page.close()
    except (PdfminerException, PDFSyntaxError) as exc:
        raise DocumentError("E005", fmt="pdf", detail=str(exc)[:200]) from None
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:  # pdfminer's internals fail in many ways on malformed objects
        raise DocumentError("E005", fmt="pdf", detail=f"{type(exc).__name__}: {exc}"[:200]) from None
    return out


def _plumber_line(line: dict[str, Any], layout: _Layout) -> Line:
    """Rebuild a pdfplumber line from its characters, spacing them by the same rule as pdfium."""
    chars = [c for c in line["chars"] if c["text"].strip()]
    if not chars:
        return Line("", 0, 0, 0, 0, 0)
    size = statistics.median(float(c["size"]) for c in chars) or 1.0
    gaps = [float(cur["x0"]) - float(prev["x1"]) for prev, cur in itertools.pairwise(chars)]
    # Letter-spaced text (justified CJK lines, spaced-out titles) has wide but even gaps: a space
    # is a gap well above the line's usual one.
    base = max(0.0, statistics.median(gaps)) if gaps else 0.0
    parts = [chars[0]["text"]]
    for (prev, cur), gap in zip(itertools.pairwise(chars), gaps, strict=True):
        cjk = _CJK_CHAR.match(prev["text"][-1]) or _CJK_CHAR.match(cur["text"][0])
        if gap - base > (layout.cjk_space_em if cjk else _LATIN_SPACE_EM) * size:
            parts.append(" ")
        parts.append(cur["text"])
    return Line(
        text="".join(parts).strip(),
        x0=float(line["x0"]),
        x1=float(line["x1"]),
        top=float(line["top"]),
        bottom=float(line["bottom"]),
        size=size,
    )


# ---------------------------------------------------------------------------------------------
# Reading text: PageLines -> str


@dataclass
class _Metrics:
    em: float
    left: float
    right: float
    pitch: float
    page_edges: dict[int, tuple[float, float]] = field(default_factory=dict)


def rebuild_text(pages: Sequence[PageLines], layout: _Layout | None = None) -> str:
    """Join the lines of all pages into reading text: one paragraph (or heading) per line."""
    layout = layout or _layout()
    body = drop_page_furniture(pages, layout)
    metrics = _metrics(body)
    paragraphs: list[str] = []
    prev: Line | None = None
    prev_page = -1
    for page_no, lines in enumerate(body):
        for line in lines:
            if prev is not None and _continues(prev, line, prev_page, page_no, metrics, layout):
                paragraphs[-1] = _join(paragraphs[-1], line.text)
            else:
                paragraphs.append(line.text)
            prev, prev_page = line, page_no
    return "\n".join(paragraphs)


def _norm_furniture(text: str) -> str:
    return _DIGITS.sub("#", _SPACES.sub("", text))


def drop_page_furniture(pages: Sequence[PageLines], layout: _Layout | None = None) -> list[list[Line]]:
    """Drop page numbers and running headers/footers; return each page's body lines top-down."""
    layout = layout or _layout()
    ordered = [_reading_order(p.lines) for p in pages]
    # Candidates: the first/last `band_lines` lines of a page, when inside the top/bottom band.
    candidates: list[dict[int, str]] = []
    for page, lines in zip(pages, ordered, strict=True):
        cand: dict[int, str] = {}
        top_limit, bottom_limit = page.height * layout.band, page.height * (1 - layout.band)
        for k in range(min(layout.band_lines, len(lines))):
            if lines[k].bottom <= top_limit:
                cand[k] = "top"
        for k in range(max(0, len(lines) - layout.band_lines), len(lines)):
            if lines[k].top >= bottom_limit:
                cand[k] = "bottom"
        candidates.append(cand)
    seen: Counter[tuple[str, str]] = Counter()
    for lines, cand in zip(ordered, candidates, strict=True):
        seen.update({(band, _norm_furniture(lines[k].text)) for k, band in cand.items()})
    with_text = sum(1 for lines in ordered if lines)
    need = max(2, math.ceil(layout.repeat_share * with_text))
    out: list[list[Line]] = []
    for lines, cand in zip(ordered, candidates, strict=True):
        keep: list[Line] = []
        for k, line in enumerate(lines):
            band = cand.get(k)
            if band is not None:
                dense = _SPACES.sub("", line.text)
                # A bare number is a page number only at the very edge of the page.
                edge = k < _PAGE_NUMBER_LINES or k >= len(lines) - _PAGE_NUMBER_LINES
                if edge and any(p.match(dense) for p in layout.page_numbers):
                    continue
                if seen[(band, _norm_furniture(line.text))] >= need:
                    continue
            keep.append(line)
        out.append(keep)
    return out


def _reading_order(lines: list[Line]) -> list[Line]:
    """Keep the engine's order when it runs top-down; else sort by position (one column)."""
    backwards = sum(1 for a, b in itertools.pairwise(lines) if b.top < a.top - max(a.size, 1.0))
    if backwards <= 2:
        # Headers and footers drawn after the body are the usual few jumps; move them in place.
        return sorted(lines, key=lambda ln: ln.top) if backwards else lines
    return sorted(lines, key=lambda ln: (round(ln.top / max(ln.size * 0.5, 1.0)), ln.x0))


def _percentile(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def _metrics(pages: Sequence[Sequence[Line]]) -> _Metrics:
    lines = [ln for page in pages for ln in page]
    if not lines:
        return _Metrics(em=12.0, left=0.0, right=0.0, pitch=18.0)
    # The body font: the size carrying the most characters.
    weight: Counter[float] = Counter()
    for ln in lines:
        weight[round(ln.size, 1)] += len(ln.text)
    em = weight.most_common(1)[0][0] or 12.0
    left, right = _edges(lines, em)
    pitches = [
        b.top - a.top
        for page in pages
        for a, b in itertools.pairwise(page)
        if abs(a.size - em) < 0.2 * em and abs(b.size - em) < 0.2 * em and 0 < b.top - a.top < 4 * em
    ]
    pitch = statistics.median(pitches) if pitches else 1.5 * em
    metrics = _Metrics(em=em, left=left, right=right, pitch=pitch)
    for i, page in enumerate(pages):
        long_lines = [ln for ln in page if len(ln.text) >= 10]
        # Mirrored margins move the text block between odd and even pages.
        if len(long_lines) >= 6:
            metrics.page_edges[i] = _edges(page, em)
    return metrics


def _edges(lines: Sequence[Line], em: float) -> tuple[float, float]:
    long_lines = [ln for ln in lines if len(ln.text) >= 8] or list(lines)
    right = _percentile([ln.x1 for ln in long_lines], 0.9)
    full = [ln.x0 for ln in long_lines if right - ln.x1 < 1.5 * em]
    left = _percentile(full, 0.2) if full else min(ln.x0 for ln in lines)
    return left, right


def _continues(prev: Line, line: Line, prev_page: int, page_no: int, m: _Metrics, layout: _Layout) -> bool:
    """Tell whether `line` continues the paragraph that `prev` belongs to."""
    if layout.heading.match(line.text):
        return False
    if not _same_size(prev, line, layout):
        return False
    left, right = m.page_edges.get(page_no, (m.left, m.right))
    if (
        prev_page == page_no
        and min(prev.size, line.size) >= layout.display_size * m.em
        and prev.x1 - prev.x0 >= layout.display_join * (right - left)
        and prev.text[-1] not in layout.paragraph_end
    ):
        return True  # a title wrapped by the page width
    if line.x0 > left + layout.indent_em * m.em:
        return False
    same_page = prev_page == page_no
    gap = m.page_edges.get(prev_page, (m.left, m.right))[1] - prev.x1
    if gap > layout.far_short_em * m.em:
        return False
    if gap > layout.short_em * m.em and prev.text[-1] in layout.paragraph_end:
        return False
    return not (same_page and line.top - prev.top > layout.gap_lines * m.pitch)


def _same_size(a: Line, b: Line, layout: _Layout) -> bool:
    """Tell whether two lines are set in the same font size (within the size-change tolerance)."""
    return abs(a.size - b.size) <= layout.size_change * max(a.size, b.size)


def _join(head: str, tail: str) -> str:
    """Join a wrapped line to its paragraph: no space, except between two Latin words."""
    if _LATIN.match(head[-1]) and _LATIN.match(tail[0]):
        return f"{head} {tail}"
    return head + tail
