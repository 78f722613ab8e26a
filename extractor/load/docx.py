"""DOCX: paragraphs and table rows in document order, with Word's automatic numbering written out.

The package is checked before any XML is parsed: member sizes and compression ratios against zip
bombs, and no DTD in any XML part (entity expansion, external entities). python-docx opens the
package (its lxml parser does not resolve entities); the body is then walked as XML, so that tables
sit where they are and tracked insertions, hyperlinks and content controls keep their text.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from extractor.errors import DocumentError
from extractor.model import Loaded

if TYPE_CHECKING:
    from extractor.load import Limits

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
# Real document XML compresses 5-20x; a big member compressed far more is a bomb.
_BOMB_RATIO = 200
_BOMB_MIN_SIZE = 10 * 1024 * 1024
_MAX_MEMBERS = 5000
# What reading a damaged zip member can raise (bad CRC, bad deflate data, unknown compression,
# RuntimeError for a member flagged as encrypted).
_ZIP_READ_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError, RuntimeError)
# A DTD must come before the root element; this much of each XML part is scanned for one.
_PROLOG_BYTES = 64 * 1024
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)
_FALSE = frozenset({"0", "false", "off", "none"})
_MAX_TABLE_DEPTH = 20
_CHINESE_DIGITS = "零一二三四五六七八九"
_HEAVENLY_STEMS = "甲乙丙丁戊己庚辛壬癸"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_HEADING_STYLE = re.compile(r"^(heading|标题|title)\s*\d*$", re.I)
_BOLD_LEAD_MAX = 80
_MAX_COUNTER = 32767


def check_package(data: bytes, limits: Limits) -> None:
    """Refuse zip bombs and XML with DTDs before anything is decompressed into memory."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise DocumentError("E005", fmt="docx", detail=str(exc)[:200]) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise DocumentError("E005", fmt="docx", detail=f"{len(infos)} zip members")
        total = 0
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.max_unzipped or (info.file_size > _BOMB_MIN_SIZE and ratio > _BOMB_RATIO):
                raise DocumentError("E011", what=f"zip member {info.filename}", limit=limits.max_unzipped)
            total += info.file_size
        if total > limits.max_unzipped:
            raise DocumentError("E011", what="the DOCX package", limit=limits.max_unzipped)
        for info in infos:
            if info.filename.endswith((".xml", ".rels")):
                try:
                    with zf.open(info) as fh:
                        head = fh.read(_PROLOG_BYTES)
                except _ZIP_READ_ERRORS as exc:
                    raise DocumentError("E005", fmt="docx", detail=f"{info.filename}: {exc}"[:200]) from None
                if _DTD.search(head):
                    raise DocumentError(
                        "E005", fmt="docx", detail=f"{info.filename} declares a DTD (entities are not allowed)"
                    )


def load_docx(data: bytes, limits: Limits) -> Loaded:
    """Load a DOCX: one paragraph or table row per line."""
    check_package(data, limits)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (MemoryError, RecursionError):
        raise
    except (PackageNotFoundError, KeyError, *_ZIP_READ_ERRORS) as exc:
        raise DocumentError("E005", fmt="docx", detail=f"{type(exc).__name__}: {exc}"[:200]) from None
    except Exception as exc:  # lxml syntax errors and python-docx internals on malformed parts
        raise DocumentError("E005", fmt="docx", detail=f"{type(exc).__name__}: {exc}"[:200]) from None
    # A damaged main part may parse yet lack the w:document root or its w:body.
    body = getattr(document.element, "body", None)
    if body is None:
        raise DocumentError("E005", fmt="docx", detail="word/document.xml has no w:document/w:body")
    reader = _Reader(_Styles.from_document(document), _Numbering.from_document(document))
    lines: list[str] = []
    for line in reader.blocks(body, 0):
        if line.strip():
            lines.append(line.strip())
    return Loaded(
        format="docx",
        text="\n".join(lines),
        text_source="docx",
        bold_leads=reader.bold_leads,
        warnings=reader.warnings,
    )


def _val(el: Any, tag: str) -> str | None:
    child = el.find(W + tag) if el is not None else None
    return child.get(W + "val") if child is not None else None


def _on(el: Any, tag: str) -> bool | None:
    """A toggle property (w:b, w:bCs): True, False, or None when not set."""
    child = el.find(W + tag) if el is not None else None
    if child is None:
        return None
    return (child.get(W + "val") or "true").lower() not in _FALSE


@dataclass
class _Styles:
    """Paragraph styles: bold, numbering and heading-ness, following basedOn chains."""

    by_id: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: Any) -> _Styles:
        try:
            root = document.styles.element
        except (KeyError, AttributeError, NotImplementedError):
            return cls()
        return cls({s.get(W + "styleId"): s for s in root.iterchildren(W + "style")})

    def chain(self, style_id: str | None) -> Iterator[Any]:
        seen: set[str] = set()
        while style_id and style_id in self.by_id and style_id not in seen:
            seen.add(style_id)
            style = self.by_id[style_id]
            yield style
            style_id = _val(style, "basedOn")

    def bold(self, style_id: str | None) -> bool:
        for style in self.chain(style_id):
            value = _on(style.find(W + "rPr"), "b")
            if value is not None:
                return value
        return False

    def is_heading(self, style_id: str | None) -> bool:
        for style in self.chain(style_id):
            name = _val(style, "name") or ""
            if _HEADING_STYLE.match(name.strip()):
                return True
        return False

    def num_pr(self, style_id: str | None) -> Any:
        for style in self.chain(style_id):
            ppr = style.find(W + "pPr")
            num = ppr.find(W + "numPr") if ppr is not None else None
            if num is not None:
                return num
        return None


@dataclass
class _Level:
    fmt: str
    text: str
    start: int


@dataclass
class _Numbering:
    """Word's automatic list numbering (numbering.xml), rendered as the labels a reader sees."""

    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)
    # Lists (numIds) of one abstract definition share their counters, as in Word, unless a list
    # overrides a start value (a restarted list): then it counts on its own.
    counter_key: dict[str, str] = field(default_factory=dict)
    counters: dict[str, dict[int, int]] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: Any) -> _Numbering:
        try:
            root = document.part.numbering_part.element
        except (KeyError, AttributeError, NotImplementedError):
            return cls()
        abstract: dict[str, dict[int, _Level]] = {}
        for an in root.iterchildren(W + "abstractNum"):
            abstract[an.get(W + "abstractNumId") or ""] = {
                _int(lvl.get(W + "ilvl"), 0): _Level(
                    fmt=_val(lvl, "numFmt") or "decimal",
                    text=_val(lvl, "lvlText") or "",
                    start=_int(_val(lvl, "start"), 1),
                )
                for lvl in an.iterchildren(W + "lvl")
            }
        numbering = cls()
        for num in root.iterchildren(W + "num"):
            num_id = num.get(W + "numId") or ""
            abstract_id = _val(num, "abstractNumId") or ""
            levels = dict(abstract.get(abstract_id, {}))
            restarted = False
            for override in num.iterchildren(W + "lvlOverride"):
                ilvl = _int(override.get(W + "ilvl"), 0)
                start = _val(override, "startOverride")
                if start is not None and ilvl in levels:
                    levels[ilvl] = _Level(levels[ilvl].fmt, levels[ilvl].text, _int(start, 1))
                    restarted = True
            numbering.levels[num_id] = levels
            numbering.counter_key[num_id] = f"num:{num_id}" if restarted else f"abstract:{abstract_id}"
        return numbering

    def label(self, num_id: str, ilvl: int) -> str:
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels or num_id == "0":
            return ""
        counters = self.counters.setdefault(self.counter_key.get(num_id, num_id), {})
        counters[ilvl] = counters.get(ilvl, levels[ilvl].start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        if levels[ilvl].fmt in ("bullet", "none"):
            return ""

        def sub(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            level = levels.get(k)
            if level is None:
                return ""
            return format_number(counters.get(k, level.start), level.fmt)

        return re.sub(r"%([1-9])", sub, levels[ilvl].text)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def format_number(n: int, fmt: str) -> str:
    """Render a list counter in one of Word's number formats."""
    if not 0 < n <= _MAX_COUNTER:
        # Word counts lists up to 32767; a larger start value is damage or a numbering bomb
        # (letters and Roman numerals grow with the value: 10^11 as letters is 4 GB).
        return str(n)
    if fmt in ("chineseCounting", "chineseCountingThousand", "chineseLegalSimplified", "taiwaneseCounting",
               "taiwaneseCountingThousand", "japaneseCounting", "ideographLegalTraditional"):
        return chinese_numeral(n)
    if fmt in ("ideographTraditional", "ideographZodiac"):
        return _HEAVENLY_STEMS[(n - 1) % 10]
    if fmt.startswith("decimalEnclosedCircle") and 1 <= n <= len(_CIRCLED):
        return _CIRCLED[n - 1]
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(d) + 0xFEE0) for d in str(n))
    if fmt in ("lowerLetter", "upperLetter"):
        letter = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter.upper() if fmt == "upperLetter" else letter
    if fmt in ("lowerRoman", "upperRoman"):
        roman = _roman(n)
        return roman if fmt == "upperRoman" else roman.lower()
    return str(n)


def chinese_numeral(n: int) -> str:
    """1 -> 一, 10 -> 十, 12 -> 十二, 20 -> 二十, 105 -> 一百零五 (as list labels are written)."""
    if n <= 0:
        return str(n)
    if n < 10:
        return _CHINESE_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _CHINESE_DIGITS[tens]) + "十" + (_CHINESE_DIGITS[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        tail = "" if rest == 0 else ("零" + _CHINESE_DIGITS[rest] if rest < 10 else ("一" if rest < 20 else "") + chinese_numeral(rest))
        return _CHINESE_DIGITS[hundreds] + "百" + tail
    return str(n)


def _roman(n: int) -> str:
    out = []
    for value, sym in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                       (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out.append(sym)
            n -= value
    return "".join(out)


class _Reader:
    """Walk the body XML into lines; collect bold leads and warnings on the way."""

    def __init__(self, styles: _Styles, numbering: _Numbering) -> None:
        self.styles = styles
        self.numbering = numbering
        self.bold_leads: list[str] = []
        self.warnings: list[str] = []

    def blocks(self, container: Any, depth: int) -> Iterator[str]:
        """Lines of a block container (body, table cell, content control) in document order."""
        for child in container.iterchildren():
            tag = child.tag
            if tag == W + "p":
                yield self.paragraph(child)
            elif tag == W + "tbl":
                yield from self.table(child, depth + 1)
            elif tag in (W + "sdt", W + "customXml"):
                content = child.find(W + "sdtContent") if tag == W + "sdt" else child
                if content is not None:
                    yield from self.blocks(content, depth)

    def table(self, tbl: Any, depth: int) -> Iterator[str]:
        """A table row per line, cells tab-separated; a one-cell row (a layout box) as its paragraphs."""
        if depth > _MAX_TABLE_DEPTH:
            self.warnings.append(f"tables nested more than {_MAX_TABLE_DEPTH} deep were skipped")
            return
        for tr in tbl.iterchildren(W + "tr"):
            cells = [tc for tc in tr.iterchildren(W + "tc") if not _merged_continuation(tc)]
            if len(cells) == 1:
                yield from self.blocks(cells[0], depth)
                continue
            texts = [" ".join(t.strip() for t in self.blocks(tc, depth) if t.strip()) for tc in cells]
            yield "\t".join(texts)

    def paragraph(self, p: Any) -> str:
        ppr = p.find(W + "pPr")
        style_id = _val(ppr, "pStyle")
        label = self._label(ppr, style_id)
        runs = list(_runs(p))
        text = label + "".join(t for t, _ in runs)
        lead = self._bold_lead(ppr, style_id, label, runs, text)
        if lead:
            self.bold_leads.append(lead)
        return text

    def _label(self, ppr: Any, style_id: str | None) -> str:
        num = ppr.find(W + "numPr") if ppr is not None else None
        if num is None:
            num = self.styles.num_pr(style_id)
        if num is None:
            return ""
        num_id = _val(num, "numId")
        if num_id is None:
            # A style gives the list; the paragraph may only set the level, or the reverse.
            style_num = self.styles.num_pr(style_id)
            num_id = _val(style_num, "numId") if style_num is not None else None
        return self.numbering.label(num_id or "", _int(_val(num, "ilvl"), 0)) if num_id else ""

    def _run_bold(self, rpr: Any, style_bold: bool) -> bool:
        """Bold from the run itself, else its character style, else the paragraph style."""
        direct = _on(rpr, "b")
        if direct is not None:
            return direct
        for style in self.styles.chain(_val(rpr, "rStyle")):
            value = _on(style.find(W + "rPr"), "b")
            if value is not None:
                return value
        return style_bold

    def _bold_lead(self, ppr: Any, style_id: str | None, label: str, runs: list[tuple[str, Any]], text: str) -> str:
        if not text.strip():
            return ""
        if self.styles.is_heading(style_id):
            lead = text.strip()
        else:
            style_bold = self.styles.bold(style_id)
            bold: list[str] = []
            for run_text, rpr in runs:
                if not run_text.strip() and not bold:
                    continue
                if not self._run_bold(rpr, style_bold):
                    break
                bold.append(run_text)
            lead = (label + "".join(bold)).strip() if bold else ""
        return lead if len(lead) <= _BOLD_LEAD_MAX and any(ch.isalnum() for ch in lead) else ""


def _merged_continuation(tc: Any) -> bool:
    """A cell continuing a vertical merge repeats nothing; it is empty in the XML."""
    tcpr = tc.find(W + "tcPr")
    vmerge = tcpr.find(W + "vMerge") if tcpr is not None else None
    return vmerge is not None and (vmerge.get(W + "val") or "continue") == "continue"


def _runs(p: Any) -> Iterator[tuple[str, Any]]:
    """(text, run properties) of each run in a paragraph, through hyperlinks, insertions, fields and smart tags."""
    stack = [iter(p.iterchildren())]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        tag = child.tag
        if not isinstance(tag, str) or tag in (W + "pPr", W + "del", W + "moveFrom", _MC_FALLBACK):
            continue
        if tag == W + "r":
            yield _run_text(child), child.find(W + "rPr")
        elif tag != W + "p":
            stack.append(iter(child.iterchildren()))


def _run_text(r: Any) -> str:
    parts: list[str] = []
    for el in r.iterchildren():
        tag = el.tag
        if tag == W + "t":
            parts.append(el.text or "")
        elif tag == W + "tab":
            parts.append("\t")
        elif tag == W + "cr" or (tag == W + "br" and el.get(W + "type") in (None, "textWrapping")):
            # A page or column break leaves the paragraph whole; a line break splits it.
            parts.append("\n")
        elif tag == W + "noBreakHyphen":
            parts.append("-")
        elif tag == W + "sym":
            code = el.get(W + "char") or ""
            # Symbol-font code points (F0xx) have no Unicode meaning; others are plain characters.
            if re.fullmatch(r"[0-9A-Fa-f]{2,5}", code) and not code.upper().startswith("F0"):
                parts.append(chr(int(code, 16)))
    return "".join(parts)
