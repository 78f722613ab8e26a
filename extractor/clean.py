"""Cleaning, common to every format: unify widths, normalise whitespace, strip page chrome.

The output keeps an offset map so that any span in the cleaned text maps back to the loaded text.
Cleaning is idempotent: clean(clean(x).text).text == clean(x).text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from extractor.model import Cleaned
from extractor.rules import load_rules

# Full-width ASCII (U+FF01..U+FF5E) maps onto ASCII; the ideographic space and the odd spaces map
# onto a plain space. All are one-to-one, so offsets survive `str.translate`.
_WIDTH_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_WIDTH_TABLE.update({0x3000: 0x20, 0xA0: 0x20, 0x2002: 0x20, 0x2003: 0x20, 0x2009: 0x20, 0x0B: 0x20})
_WIDTH_TABLE.update({0x0C: 0x0A, 0x0D: 0x0A, 0x2028: 0x0A, 0x2029: 0x0A, 0x85: 0x0A})
# Hyphen-like dashes inside numbers ("2021－2025") are already handled by the FF0D entry above.

# Characters dropped outright: NUL and C0 controls (but tab/newline), zero-width marks, the BOM.
_DROP = "".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A)) + "\u200b\u200c\u200d\u2060\ufeff\x7f"
_RUN = re.compile(r"\S+")
_HAS_DROP = re.compile(f"[{re.escape(_DROP)}]")
_SIGNATURE_DATE = re.compile(
    r"^(?:(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|[〇零○O一二三四五六七八九]{4}\s*年\s*[一二三四五六七八九十]{1,3}\s*月\s*[一二三四五六七八九十]{1,3}\s*日"
    r"|(?:19|20)\d{2}[-./]\d{1,2}[-./]\d{1,2})$"
)


@dataclass(frozen=True)
class _Chrome:
    tokens: tuple[str, ...]
    short_line: int
    min_tokens: int
    patterns: tuple[re.Pattern[str], ...]
    # The line patterns as one alternation (one match call per line), or None when a pattern could
    # not stand inside one (a backreference or inline flags).
    any_pattern: re.Pattern[str] | None
    # Any one token: most short lines hold none, and one search rules them out before counting.
    any_token: re.Pattern[str]
    exact: frozenset[str]
    trailer_keep: tuple[str, ...]


# What keeps a regex from being one branch of an alternation: numbered or named backreferences
# and conditionals (group numbers shift), and inline flags (global flags must open the whole).
_NOT_A_BRANCH = re.compile(r"\\[1-9]|\(\?P=|\(\?\(|\(\?[aiLmsux]+\)")


def _alternation(sources: list[str]) -> re.Pattern[str] | None:
    """The patterns as one alternation that matches where any of them matches, or None if unsafe."""
    if not sources or any(_NOT_A_BRANCH.search(p) for p in sources):
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in sources))
    except re.error:  # e.g. two patterns naming the same group
        return None


@functools.cache
def _chrome() -> _Chrome:
    data = load_rules("boilerplate")
    sources = list(data["line_patterns"])
    return _Chrome(
        tokens=tuple(data["tokens"]),
        short_line=int(data["short_line"]),
        min_tokens=int(data["min_tokens"]),
        patterns=tuple(re.compile(p) for p in sources),
        any_pattern=_alternation(sources),
        any_token=re.compile("|".join(re.escape(t) for t in data["tokens"])),
        exact=frozenset(s.translate(_WIDTH_TABLE) for s in data["exact_lines"]),
        trailer_keep=tuple(data["trailer_keep"]),
    )


def is_chrome_line(line: str) -> bool:
    """Tell whether one stripped, width-normalised line is website boilerplate."""
    rules = _chrome()
    if line in rules.exact:
        return True
    if rules.any_pattern is not None:
        if rules.any_pattern.match(line):
            return True
    elif any(p.match(line) for p in rules.patterns):
        return True
    if len(line) > rules.short_line:
        return False
    if rules.min_tokens > 0 and rules.any_token.search(line) is None:
        return False
    # Each token found counts one (True sums as 1).
    return sum(map(line.__contains__, rules.tokens)) >= rules.min_tokens


@functools.cache
def _width_chars() -> tuple[re.Pattern[str], dict[str, str]]:
    """The chars _WIDTH_TABLE maps, as one character class, and the plain form of each."""
    plain = {chr(cp): chr(to) for cp, to in _WIDTH_TABLE.items()}
    return re.compile("[" + "".join(re.escape(ch) for ch in sorted(plain)) + "]"), plain


def normalise_width(text: str) -> str:
    """Map full-width ASCII and odd spaces to their plain forms, one char for one char."""
    finder, plain = _width_chars()
    # A report holds only a few distinct such chars (，：；（）…): replacing each once is several
    # times faster than `str.translate`, which looks up every char of the text. No plain form is
    # itself mapped, so the order of the replacements does not matter.
    for ch in set(finder.findall(text)):
        text = text.replace(ch, plain[ch])
    return text


def clean(text: str) -> Cleaned:
    """Return the cleaned text of a loaded document together with its offset map."""
    wide = normalise_width(text)
    rules = _chrome()
    # 1. Split into lines, keeping each line's start offset in the loaded text; 2. compact every
    # line: whitespace runs become one space, dropped chars vanish.
    compact: list[tuple[str, Sequence[int]]] = []
    pos = 0
    # Control and zero-width chars are rare: one search of the whole text spares one per line.
    has_drop = _HAS_DROP.search(wide) is not None
    for raw in wide.split("\n"):
        start = pos
        pos += len(raw) + 1
        if has_drop and _HAS_DROP.search(raw):  # rebuild such a line char by char
            line, offs = _drop_inside(raw, start)
            if line and not is_chrome_line(line):
                compact.append((line, offs))
            continue
        # str.split() and the \S+ runs cut at the same (Unicode) whitespace.
        line = " ".join(raw.split())
        if not line or is_chrome_line(line):
            continue
        if len(line) == len(raw):
            # Nothing was removed: every gap was one char, which maps to its own space.
            compact.append((line, range(start, start + len(raw))))
            continue
        chars: list[str] = []
        offs: list[int] = []
        for m in _RUN.finditer(raw):
            if chars:
                chars.append(" ")
                offs.append(start + m.start() - 1)
            chars.append(m.group())
            offs.extend(range(start + m.start(), start + m.end()))
        compact.append((line, offs))
    # 3. After the signature date, keep only the notes (附注) that belong to the report.
    compact = _trim_trailer(compact, rules.trailer_keep)
    # 4. Join with single newlines; the newline maps to the char after the line in the source.
    out: list[str] = []
    offsets: list[int] = []
    for i, (line, offs) in enumerate(compact):
        if i:
            out.append("\n")
            offsets.append(offsets[-1] + 1)
        out.append(line)
        offsets.extend(offs)
    offsets.append(offsets[-1] + 1 if offsets else 0)
    return Cleaned(text="".join(out), offsets=offsets)


def _drop_inside(raw: str, start: int) -> tuple[str, list[int]]:
    """Compact one line char by char when it holds control or zero-width chars."""
    chars: list[str] = []
    offs: list[int] = []
    pending_space = -1
    for i, ch in enumerate(raw):
        if ch in _DROP:
            continue
        if ch.isspace():
            if chars and pending_space < 0:
                pending_space = start + i
            continue
        if pending_space >= 0:
            chars.append(" ")
            offs.append(pending_space)
            pending_space = -1
        chars.append(ch)
        offs.append(start + i)
    return "".join(chars), offs


def _trim_trailer(lines: list[tuple[str, Sequence[int]]], keep: tuple[str, ...]) -> list[tuple[str, Sequence[int]]]:
    """Drop portal chrome that follows the signature date, keeping 附注-style notes."""
    if len(lines) < 4:
        return lines
    # Only a date line in the last third can be the signature date.
    floor = (2 * len(lines)) // 3
    last_date = -1
    for i in range(len(lines) - 1, floor - 1, -1):
        if _SIGNATURE_DATE.match(lines[i][0]):
            last_date = i
            break
    if last_date < 0:
        return lines
    tail = [ln for ln in lines[last_date + 1 :] if ln[0].startswith(keep)]
    return lines[: last_date + 1] + tail
