"""Lines with offsets, and the small parsers (Chinese numerals, dates) shared by the structure stage."""

from __future__ import annotations

import re
from datetime import date
from typing import NamedTuple


class Line(NamedTuple):
    """One line of the cleaned text: its text and its span."""

    text: str
    start: int
    end: int


def split_lines(text: str) -> list[Line]:
    """Split a cleaned text into its non-empty lines, keeping each line's span."""
    out: list[Line] = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            # Cleaned lines carry no outer spaces: measure the lead only when something was cut.
            lead = 0 if len(stripped) == len(raw) else len(raw) - len(raw.lstrip())
            out.append(Line(stripped, pos + lead, pos + lead + len(stripped)))
        pos += len(raw) + 1
    return out


_DIGITS = {
    "〇": 0,
    "零": 0,
    "○": 0,
    "O": 0,
    "o": 0,
    "Ｏ": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def cn_to_int(s: str) -> int | None:
    """Read a small Chinese numeral: 十一 → 11, 二十四 → 24, 二〇二二 → 2022 (digit by digit)."""
    if not s:
        return None
    if "十" not in s:
        if all(c in _DIGITS for c in s):
            value = 0
            for c in s:
                value = value * 10 + _DIGITS[c]
            return value
        return None
    head, _, tail = s.partition("十")
    if (head and head not in _DIGITS) or (tail and tail not in _DIGITS) or len(head) > 1 or len(tail) > 1:
        return None
    return (_DIGITS[head] if head else 1) * 10 + (_DIGITS[tail] if tail else 0)


_CN = "〇零○OoＯ一二三四五六七八九十两"
# A date as written on the signature line or in page metadata; groups y, m, d. Arabic with 年月日,
# Chinese numerals (二〇二二年一月二十四日), and the web deviations 2024-02-26 / 2024.2.26 / 2024/2/26.
DATE = re.compile(
    rf"(?P<y>(?:19|20)\d{{2}}|[{_CN}]{{4}})\s*年\s*(?P<m>\d{{1,2}}|[{_CN}]{{1,2}})\s*月\s*(?P<d>\d{{1,2}}|[{_CN}]{{1,3}})\s*日"
    r"|(?P<y2>(?:19|20)\d{2})\s*[-./]\s*(?P<m2>\d{1,2})\s*[-./]\s*(?P<d2>\d{1,2})(?!\d)"
)


def parse_date(m: re.Match[str]) -> str | None:
    """The ISO date (YYYY-MM-DD) of a DATE match, or None when it is no real date."""
    y, mo, d = (
        (m.group("y"), m.group("m"), m.group("d"))
        if m.group("y")
        else (m.group("y2"), m.group("m2"), m.group("d2"))
    )
    values = [int(v) if v.isdigit() else cn_to_int(v) for v in (y, mo, d)]
    if any(v is None for v in values):
        return None
    try:
        return date(values[0], values[1], values[2]).isoformat()  # type: ignore[arg-type]
    except ValueError:
        return None


def iso_date(text: str) -> str | None:
    """The first date in a free text (page metadata such as '2024-03-28 09:18'), as ISO."""
    for m in DATE.finditer(text or ""):
        found = parse_date(m)
        if found:
            return found
    return None
