"""Heading detection: numbered markers, run-in and wrapped headings, bold leads; levels and the tree.

Rules live in extractor/rules/headings.yaml. A heading is found at line start only; its text runs to
the first 。 (the rest of the line is body: a run-in heading) or to the end of the line. Levels are
the marker types a document actually uses, in the standard order, renumbered from 1; unnumbered
headings (bold paragraph leads in HTML, 【…】 sub-titles) sit one level below the numbered heading
above them, and a run-in one one level below a standalone one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from extractor.rules import load_rules
from extractor.structure.lines import Line

CONTEXTUAL = ("bold", "bracket")


@dataclass(frozen=True)
class _Rules:
    marker: re.Pattern[str]
    ranks: dict[str, int]
    path_strip: dict[str, str]
    follow: re.Pattern[str]
    text_end: str
    strip: str
    wrap_min_first: int
    wrap_max_next: int
    complete_end: re.Pattern[str]
    bold_max_chars: int
    bracket: re.Pattern[str]
    enumeration: re.Pattern[str]


@functools.cache
def rules() -> _Rules:
    """Compile extractor/rules/headings.yaml once."""
    data = load_rules("headings")
    alternatives = "|".join(f"(?P<{m['id']}>{m['pattern']})" for m in data["markers"])
    return _Rules(
        marker=re.compile(f"^(?:{alternatives})"),
        ranks={m["id"]: int(m["rank"]) for m in data["markers"]},
        path_strip={m["id"]: m["path_strip"] for m in data["markers"]},
        follow=re.compile(data["follow"]),
        text_end=data["text_end"],
        strip=data["strip"],
        wrap_min_first=int(data["wrap"]["min_first"]),
        wrap_max_next=int(data["wrap"]["max_next"]),
        complete_end=re.compile(data["wrap"]["complete_end"]),
        bold_max_chars=int(data["contextual"]["bold_max_chars"]),
        bracket=re.compile("^" + data["contextual"]["bracket"]),
        enumeration=re.compile("^(?:" + "|".join(data["inline_enumeration"]) + ")"),
    )


def match_marker(line: str) -> tuple[str, str] | None:
    """The (marker type, marker) a line opens with, when it is a plausible heading start."""
    r = rules()
    m = r.marker.match(line)
    if not m or not m.lastgroup:
        return None
    rest = line[m.end() :].lstrip()
    if rest and not r.follow.match(rest):
        return None
    return m.lastgroup, m.group()


def _end_of_text(line: str, begin: int) -> int:
    """Index in `line` where the heading text that starts at `begin` ends (first text_end or end)."""
    end = len(line)
    for ch in rules().text_end:
        # Only an earlier end can matter: search up to the one found so far.
        i = line.find(ch, begin, end)
        if i >= 0:
            end = i
    return end


def _stripped_end(line: str, begin: int, end: int) -> int:
    """Move `end` left over trailing punctuation and spaces."""
    strip = rules().strip
    while end > begin and line[end - 1] in strip:
        end -= 1
    return end


def normalise_leads(leads: Sequence[str]) -> list[str]:
    """Bold-lead texts as they appear in the cleaned text (half-width, single spaces), longest first."""
    from extractor.clean import normalise_width

    out = {" ".join(normalise_width(lead).split()) for lead in leads}
    return sorted((s for s in out if len(s) >= 2), key=len, reverse=True)


def find_headings(
    lines: Sequence[Line], lo: int, hi: int, bold_leads: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Detect the headings of lines[lo:hi] (the body), in reading order, with levels and the tree."""
    r = rules()
    leads = normalise_leads(bold_leads)
    found: list[dict[str, Any]] = []
    i = lo
    while i < hi:
        line = lines[i]
        heading = _numbered(lines, i, hi, leads) or _contextual(line, leads, r)
        if heading is not None:
            found.append(heading)
            i += heading.pop("_lines", 1)
        else:
            i += 1
    _assign_levels(found)
    return found


def _numbered(lines: Sequence[Line], i: int, hi: int, leads: Sequence[str] = ()) -> dict[str, Any] | None:
    """A heading opened by a numbering marker on line i, with its shape."""
    line = lines[i]
    hit = match_marker(line.text)
    if hit is None:
        return None
    kind, marker = hit
    text = line.text
    begin = len(marker)
    while begin < len(text) and text[begin] == " ":
        begin += 1
    nxt = lines[i + 1] if i + 1 < hi else None
    if begin >= len(text):
        # A marker alone on its line: the heading text is the next line (PDF layout).
        if nxt is None or match_marker(nxt.text):
            return None
        stop = _stripped_end(nxt.text, 0, _end_of_text(nxt.text, 0))
        if stop == 0:
            return None
        return _record(kind, marker, nxt.text[:stop], line.start, nxt.start + stop, "wrapped", lines=2)
    cut = _end_of_text(text, begin)
    stop = _stripped_end(text, begin, cut)
    if stop <= begin:
        return None
    if cut < len(text):
        shape = "run_in" if text[cut + 1 :].strip() else "line"
        return _record(kind, marker, text[begin:stop], line.start, line.start + stop, shape)
    # No 。 on the line: a standalone heading, unless it is a long line cut mid-phrase.
    if nxt is not None and _is_wrap(text, nxt.text, leads):
        tail_stop = _stripped_end(nxt.text, 0, len(nxt.text))
        merged = text[begin:] + nxt.text[:tail_stop]
        return _record(kind, marker, merged, line.start, nxt.start + tail_stop, "wrapped", lines=2)
    return _record(kind, marker, text[begin:stop], line.start, line.start + stop, "line")


def _is_wrap(first: str, nxt: str, leads: Sequence[str] = ()) -> bool:
    """Tell whether `nxt` ends a heading line that a line wrap cut (be conservative).

    Only a short continuation without any 。 is taken: a short body sentence after a standalone
    heading ("全年召开会议3次。") looks just like the tail of a wrapped run-in heading.
    """
    r = rules()
    if len(first) < r.wrap_min_first or r.complete_end.search(first) or first[-1] in r.strip:
        return False
    if match_marker(nxt) or r.enumeration.match(nxt) or r.bracket.match(nxt):
        return False
    if any(nxt.startswith(lead) for lead in leads):
        return False
    return len(nxt) <= r.wrap_max_next and _end_of_text(nxt, 0) == len(nxt)


def _contextual(line: Line, leads: Sequence[str], r: _Rules) -> dict[str, Any] | None:
    """An unnumbered heading: a bold paragraph lead (HTML) or a 【…】 sub-title."""
    text = line.text
    m = r.bracket.match(text)
    if m:
        inner = m.group(1).strip()
        if inner and not r.enumeration.match(inner):
            shape = "run_in" if text[m.end() :].strip(r.strip) else "line"
            words = inner.rstrip(r.strip)
            offset = m.start(1) + (len(m.group(1)) - len(m.group(1).lstrip()))
            found = _record("bracket", "", words, line.start, line.start + offset + len(words), shape)
            found["_inline"] = shape == "run_in"
            return found
    for lead in leads:
        if not text.startswith(lead) or r.enumeration.match(lead):
            continue
        stop = _stripped_end(text, 0, min(_end_of_text(text, 0), len(lead)))
        if 2 <= stop <= r.bold_max_chars:
            found = _record("bold", "", text[:stop], line.start, line.start + stop, "bold")
            found["_inline"] = bool(text[len(lead) :].strip())
            return found
        return None
    return None


def _record(
    kind: str, marker: str, text: str, start: int, end: int, shape: str, lines: int = 1
) -> dict[str, Any]:
    return {
        "level": 0,
        "marker": marker,
        "marker_type": kind,
        "text": text,
        "start": start,
        "end": end,
        "parent": None,
        "path": "",
        "section": None,
        "part": None,
        "shape": shape,
        "_lines": lines,
    }


def _assign_levels(found: list[dict[str, Any]]) -> None:
    """Levels from the marker types the document uses; parents and paths from the levels."""
    r = rules()
    used = sorted({r.ranks[h["marker_type"]] for h in found if h["marker_type"] not in CONTEXTUAL})
    level_of_rank = {rank: i + 1 for i, rank in enumerate(used)}
    # Unnumbered headings sit below the numbered heading above them; among them, a run-in lead
    # ("完善领导机制。全年…") sits below a standalone one ("坚持党的领导,压实主体责任").
    last_numbered, standalone_seen = 0, False
    for h in found:
        if h["marker_type"] in CONTEXTUAL:
            inline = h.pop("_inline", False)
            h["level"] = last_numbered + (2 if inline and standalone_seen else 1)
            standalone_seen = standalone_seen or not inline
        else:
            h["level"] = level_of_rank[r.ranks[h["marker_type"]]]
            last_numbered, standalone_seen = h["level"], False
    counters: dict[int | None, int] = {}
    # The parent is the nearest earlier heading of a lower level. A stack of open headings (levels
    # rising) finds it: a heading at or above the new one's level can parent nothing after it.
    open_: list[int] = []
    for idx, h in enumerate(found):
        level = h["level"]
        while open_ and found[open_[-1]]["level"] >= level:
            open_.pop()
        parent = open_[-1] if open_ else None
        open_.append(idx)
        h["parent"] = parent
        if h["marker_type"] in CONTEXTUAL:
            counters[parent] = counters.get(parent, 0) + 1
            part = f"*{counters[parent]}"
        else:
            part = h["marker"].rstrip(r.path_strip[h["marker_type"]]).replace(" ", "") or h["marker"]
        h["path"] = f"{found[parent]['path']}/{part}" if parent is not None else part
