"""Numbers stage: every numeric fact in the text, with provenance.

Cascade per text:
1. width-normalise a working copy (one char for one char, so spans stay valid on the input);
2. scan with the compiled grammar (rules/numbers.yaml): number + unit, percentages, tenths,
   fractions, ranges; rejections (dates, ordinals, titles, slogans, identifiers) happen here;
3. add sentence context: change (delta) vs level, rates that share one value, target cues,
   scope, the counted subject (jieba part-of-speech over a short window of the clause only);
4. locate each mention in the heading tree (section path, section, part).
"""

from __future__ import annotations

import bisect
import functools
import re
from typing import Any

# Keys of a mention record, in output order (tables.TABLES["mentions"] holds the same, plus doc_id/idx).
MENTION_KEYS = (
    "value",
    "value_high",
    "unit",
    "unit_norm",
    "multiplier",
    "approx",
    "kind",
    "delta_value",
    "delta_type",
    "surface",
    "start",
    "end",
    "sentence",
    "section_path",
    "section",
    "part",
    "is_target",
    "subject",
    "scope",
    "rule",
)


@functools.cache
def _reading_table() -> tuple[dict[int, int], re.Pattern[str]]:
    """The char-for-char table to the grammar's reading form, and a regex that finds its chars.

    Width normalisation (full-width ASCII, odd spaces) as in cleaning, plus traditional to
    simplified characters from rules/numbers.yaml.
    """
    from extractor.clean import _WIDTH_TABLE
    from extractor.numbers.grammar import grammar

    table = {**grammar().traditional, **_WIDTH_TABLE}
    return table, re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(table)) + "]")


def working_text(text: str) -> str:
    """The text as the grammar reads it: half-width and simplified, one char for one char.

    Spans found in it are valid on `text`; cleaned simplified text is returned as it is.
    """
    table, finder = _reading_table()
    return text.translate(table) if finder.search(text) else text


def _as_written(work_surface: str, surface: str, piece: str | None, last: bool = False) -> str | None:
    """`piece` (found in the reading form) as written in the original surface (萬 for 万, 餘 for 余)."""
    if not piece or work_surface == surface:
        return piece
    i = work_surface.rfind(piece) if last else work_surface.find(piece)
    return surface[i:i + len(piece)] if i >= 0 else piece


# Qualifiers written after the unit; the others stand before it (found first in the surface).
_AFTER_UNIT = frozenset({"以上", "左右", "以下", "以内", "有余"})


def find_mentions(text: str, headings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return every numeric mention of a cleaned text, in reading order."""
    from extractor.numbers.context import TARGET_PARTS, text_context
    from extractor.numbers.grammar import Scanner, grammar
    from extractor.structure import locate

    if not text:
        return []
    g = grammar()
    work = working_text(text)
    candidates = Scanner(g, work).scan()
    if not candidates:
        return []
    ctx = text_context(work)
    # Headings without a position cannot own text; the rest are put in reading order for locate().
    heads = sorted((h for h in headings or [] if isinstance(h.get("start"), int)), key=lambda h: h["start"])
    # Numbers come in reading order and most share their heading with the one before: locate()
    # is asked again only past the next heading's start.
    head_starts = [h["start"] for h in heads]
    place: dict[str, Any] = {"section_path": "", "section": None, "part": None}
    # `place` holds for numbers starting in [place_from, place_until).
    place_from, place_until = (0, 0) if heads else (-1, len(text) + 1)
    mentions: list[dict[str, Any]] = []
    prev_end = -1
    for cand in candidates:
        cs, ce = ctx.clause(cand.core_start)
        ss, es, ee = ctx.sentence_evidence(cand.core_start, cand.end)
        # The subject of a number is looked for after the previous number of the same clause.
        left_start = max(cs, prev_end)
        prev_end = cand.end
        surface = text[cand.start:cand.end]
        work_surface = surface if work is text else work[cand.start:cand.end]
        if not place_from <= cand.start < place_until:
            place = locate(heads, cand.start)
            k = bisect.bisect_right(head_starts, cand.start)
            place_from = head_starts[k - 1] if k > 0 else -1
            place_until = head_starts[k] if k < len(head_starts) else len(text) + 1
        record: dict[str, Any] = {
            "value": cand.value,
            "value_high": cand.value_high,
            "unit": _as_written(work_surface, surface, cand.unit, last=True),
            "unit_norm": cand.unit_norm,
            "multiplier": cand.multiplier,
            "approx": _as_written(work_surface, surface, cand.approx, last=cand.approx in _AFTER_UNIT),
            "kind": cand.kind,
            "delta_value": None,
            "delta_type": None,
            "surface": surface,
            "start": cand.start,
            "end": cand.end,
            "sentence": text[es:ee].strip(),
            "section_path": place.get("section_path") or "",
            "section": place.get("section"),
            "part": place.get("part"),
            "is_target": bool(place.get("part") in TARGET_PARTS or place.get("section") in TARGET_PARTS
                              or ctx.is_target_cue(cs, cand.start, ss)),
            "subject": None,
            "scope": ctx.scope(ss, cand.start),
            "rule": cand.rule,
        }
        # 同比分别增长12%、15%, 分别下降2个、3个百分点: an item listed right after a change is a
        # change too, with the same direction.
        listed = ctx.listed_change(cand, mentions[-1]) if mentions and mentions[-1]["delta_type"] else None
        change = listed or ctx.delta(cand, cs)
        if change is not None:
            # A change is never a level: the value moves to the delta fields.
            record["delta_type"], record["delta_value"] = change
            record["value"], record["value_high"] = None, None
            record["rule"] = f"delta_{change[0]}"
            record["subject"] = ctx.subject(cand, left_start, ce)
            mentions.append(record)
            continue
        shared = ctx.shared_rates(cand, left_start) if cand.kind == "rate" else []
        if shared:
            for name in shared:
                mentions.append({**record, "subject": name, "rule": "shared_rate"})
            continue
        record["subject"] = ctx.subject(cand, left_start, ce)
        mentions.append(record)
    return mentions
