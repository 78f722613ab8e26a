"""Indicators stage: bind numeric mentions to the canonical indicator schema.

Cascade per text:
1. the catalog (schemas/indicators.yaml) is loaded once and checked: JSON schema, unique ids,
   section ids known to schemas/sections.yaml, units that fit each kind;
2. each level mention (changes attach to the level before them) is read in its clause, the text
   between ，；。： or 一是/二是 enumerators;
3. trigger words are found in that clause by a dictionary scan keyed on each trigger's first two
   chars (longest first; `--matcher spacy` runs the same catalog as spaCy Matcher patterns, see
   extractor/nlp.py); triggers of one or two chars must also sit on word boundaries of the shared
   jieba segmentation (调解 is not a trigger inside 调解员); `matcher="spacy"` finds them instead with the same catalog as spaCy
   Matcher patterns over jieba tokens (extractor/nlp.py), for cross-checks;
4. the number binds to the nearest trigger before it whose indicator accepts its unit, else the
   nearest after it; when one trigger names several indicators, context words and the section
   decide;
5. values move to the canonical unit (元/亿元 → 万元, ‰ → %), occurrences are numbered per
   indicator, and each row gets a confidence.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from extractor.errors import RulesError
from extractor.rules import load_schema_yaml, schemas_dir

# Chars a "…" gap inside a trigger may not cross: clause breaks and digits (a gap never spans a number).
_GAP_BREAKS = r"\d,，;；。:：\n"
# Words that do not label a list item (共计230人次, 其中12件, 省级2个、市级8个).
_LABEL_NOISE = re.compile("共计|累计|合计|总计|其中|分别|全年|共有|达到|以上|左右|(?:国家|省|市|县|区|镇|乡)级")
# Chars around a number in which its triggers, and the context words of the paragraph, are read.
_TRIGGER_WINDOW = 40
_LONG_CLAUSE = 200
_CONTEXT_WINDOW = 300
# Every rate binds in % or ‰ (‰ is converted).
_RATE_UNITS = frozenset({"%", "‰"})
# Triggers this short are generic words; they count only on jieba word boundaries.
_SHORT_TRIGGER = 2
# Confidence of a binding (0–1), from the evidence used:
#   0.90 base when the trigger precedes the number in its clause (调解纠纷300件: the usual order),
#   0.75 base when it follows (12人专职巡防队伍);
#   -0.01 per char between trigger and number beyond 3, at most -0.25 (far triggers are weaker);
#   -0.10 for a trigger of one or two chars (受理, 宣传: generic words);
#   -0.15 when the trigger fits several indicators and context had to decide;
#   -0.10 when a 、 list separator stands between trigger and number (the trigger names an
#         earlier item of the list: 在编执法人员14人、协管人员36人);
#   +0.05 when the number sits in the indicator's own section;
# clamped to [0.05, 0.99]. Calibrated by reading bindings on the seed and the golden fixtures.
_CONF_BEFORE, _CONF_AFTER = 0.90, 0.75
_CONF_PER_CHAR, _CONF_FREE_CHARS, _CONF_MAX_DISTANCE = 0.01, 3, 0.25
_CONF_SHORT, _CONF_AMBIGUOUS, _CONF_SECTION, _CONF_LIST = 0.10, 0.15, 0.05, 0.10


@dataclass(frozen=True)
class Indicator:
    """One catalog entry."""

    id: str
    name: str
    definition: str
    unit: str
    kind: str
    section: str
    triggers: tuple[str, ...]
    context: tuple[str, ...]
    exclusions: tuple[str, ...]
    units: frozenset[str]
    example: str
    optional: bool
    order: int


@dataclass(frozen=True)
class Catalog:
    """The compiled catalog."""

    version: str
    indicators: tuple[Indicator, ...]
    by_id: dict[str, Indicator]
    # Trigger (as written in the catalog) → the indicators it names, in catalog order.
    by_trigger: dict[str, tuple[Indicator, ...]]
    # First two chars of a trigger → (trigger, gap regex or None), longest first. Scanning a clause
    # is one dict lookup per char: far cheaper than a regex alternation of hundreds of words.
    by_head: dict[str, tuple[tuple[str, re.Pattern[str] | None], ...]]


def _known_sections() -> set[str]:
    """Section ids an indicator may name: schemas/sections.yaml when present, else the fallback list."""
    if (schemas_dir() / "sections.yaml").is_file():
        data = load_schema_yaml("sections")
        entries = data.get("sections", []) if isinstance(data, dict) else []
        ids = {e["id"] for e in entries if isinstance(e, dict) and e.get("kind", "content") != "zone"}
        if ids:
            return ids
    schema = json.loads((schemas_dir() / "indicators.schema.json").read_text(encoding="utf-8"))
    return set(schema["$defs"]["fallback_sections"]["enum"])


def _trigger_regex(trigger: str, gap: int) -> str:
    """A trigger as a regex: literal parts joined by a short gap that never crosses a clause or number."""
    return f"[^{_GAP_BREAKS}]{{0,{gap}}}?".join(re.escape(p) for p in trigger.split("…"))


@functools.cache
def catalog() -> Catalog:
    """Load and check schemas/indicators.yaml (once per process)."""
    return compile_catalog(load_schema_yaml("indicators"), _known_sections())


def compile_catalog(data: dict[str, Any], sections: set[str]) -> Catalog:
    """Check a catalog already validated against its JSON schema, and compile it."""
    indicators: list[Indicator] = []
    seen: set[str] = set()
    for i, e in enumerate(data["indicators"]):
        where = f"indicators.yaml: {e['id']}"
        if e["id"] in seen:
            raise RulesError(f"{where}: duplicate indicator id")
        seen.add(e["id"])
        if e["section"] not in sections:
            raise RulesError(f"{where}: unknown section {e['section']!r} (not in schemas/sections.yaml)")
        units = frozenset(e["units"])
        if e["kind"] == "rate" and not units <= {"%", "‰"}:
            raise RulesError(f"{where}: a rate accepts only % and ‰, not {sorted(units)}")
        if e["kind"] == "money" and not all(u.endswith("元") for u in units):
            raise RulesError(f"{where}: money accepts only 元 units, not {sorted(units)}")
        if e["kind"] == "count" and units & {"%", "‰"}:
            raise RulesError(f"{where}: a count cannot accept a percentage")
        if any(t.startswith("…") or t.endswith("…") for t in e["triggers"]):
            raise RulesError(f"{where}: a trigger may not start or end with a gap")
        indicators.append(Indicator(
            id=e["id"], name=e["name"], definition=e["definition"], unit=e["unit"], kind=e["kind"],
            section=e["section"], triggers=tuple(e["triggers"]), context=tuple(e.get("context", ())),
            exclusions=tuple(e.get("exclusions", ())), units=units, example=e["example"],
            optional=bool(e.get("optional", False)), order=i,
        ))
    by_trigger: dict[str, list[Indicator]] = {}
    for ind in indicators:
        for t in ind.triggers:
            by_trigger.setdefault(t, []).append(ind)
    # At each position the longest trigger wins; every position is tried, so a trigger inside a
    # longer one (权责事项 inside 调整部门权责事项) is still seen.
    order = sorted(by_trigger, key=lambda t: (-len(t.replace("…", "")), "…" not in t, t))
    gap = int(data["gap"])
    by_head: dict[str, list[tuple[str, re.Pattern[str] | None]]] = {}
    for t in order:
        head = t.split("…")[0]
        if len(head) < 2:
            raise RulesError(f"indicators.yaml: trigger {t!r} must open with at least two chars")
        by_head.setdefault(head[:2], []).append((t, re.compile(_trigger_regex(t, gap)) if "…" in t else None))
    return Catalog(
        version=str(data["version"]),
        indicators=tuple(indicators),
        by_id={i.id: i for i in indicators},
        by_trigger={t: tuple(v) for t, v in by_trigger.items()},
        by_head={k: tuple(v) for k, v in by_head.items()},
    )


def find_triggers(cat: Catalog, text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """(start, end, trigger) of the longest trigger at each position of text[start:end]."""
    out: list[tuple[int, int, str]] = []
    # Bound methods hoisted: this loop runs once per char of every clause holding a number.
    append = out.append
    get = cat.by_head.get
    startswith = text.startswith
    for i in range(start, end - 1):
        options = get(text[i:i + 2])
        if options is None:
            continue
        for trig, rx in options:
            if rx is None:
                if startswith(trig, i) and i + len(trig) <= end:
                    append((i, i + len(trig), trig))
                    break
            else:
                m = rx.match(text, i, end)
                if m is not None:
                    append((i, m.end(), trig))
                    break
    return out


# A trigger finder: (catalog, text, start, end) → (start, end, trigger) hits in reading order.
TriggerFinder = Callable[["Catalog", str, int, int], list[tuple[int, int, str]]]
MATCHERS = ("scan", "spacy")


def trigger_finder(matcher: str = "scan") -> TriggerFinder:
    """The trigger finder of a backend: the dictionary scan, or the catalog as spaCy Matcher patterns."""
    if matcher == "scan":
        return find_triggers
    if matcher == "spacy":
        from extractor.nlp import find_triggers_spacy  # imports spaCy: only when asked for

        return find_triggers_spacy
    raise ValueError(f"unknown matcher {matcher!r} (one of {', '.join(MATCHERS)})")


class _Binder:
    """Binds the mentions of one text; caches trigger hits per clause and word-boundary checks per hit."""

    def __init__(self, text: str, mentions: list[dict[str, Any]], find: TriggerFinder = find_triggers) -> None:
        from extractor.numbers.context import text_context

        self.cat = catalog()
        self.find = find
        self.text = text
        self.ctx = text_context(text)
        spans = sorted((int(m["start"]), int(m["end"])) for m in mentions)
        self.span_starts = [s for s, _ in spans]
        self.spans = spans
        # Clause → its trigger hits outside numbers: (start, end, trigger, short).
        self.hits: dict[tuple[int, int], list[tuple[int, int, str, bool]]] = {}
        self.bounds: dict[tuple[int, int, int, int], bool] = {}

    def _own_list_label(self, cut_at: int, start: int) -> bool:
        """Tell whether the list item holding a number (after the 、 at cut_at) names something itself."""
        from extractor.numbers.context import context_rules

        label = _LABEL_NOISE.sub("", self.text[cut_at + 1:start])
        label = "".join(ch for ch in label if "\u4e00" <= ch <= "\u9fff" and ch not in context_rules().stop_words)
        return len(label) >= 2

    def _number_between(self, s: int, e: int) -> bool:
        """Tell whether a mention starts in [s, e)."""
        i = bisect.bisect_left(self.span_starts, s)
        return i < len(self.span_starts) and self.span_starts[i] < e

    def _on_word_boundaries(self, s: int, e: int, cs: int, ce: int) -> bool:
        """Tell whether [s, e) starts and ends on jieba word boundaries (short generic triggers)."""
        key = (s, e, cs, ce)
        known = self.bounds.get(key)
        if known is not None:
            return known
        from extractor.numbers.segment import cut

        a, b = max(cs, s - 4), min(ce, e + 4)
        bounds = {0}
        pos = 0
        for w in cut(self.text[a:b]):
            pos += len(w)
            bounds.add(pos)
        self.bounds[key] = found = (s - a) in bounds and (e - a) in bounds
        return found

    def _clause_hits(self, cs: int, ce: int) -> list[tuple[int, int, str, bool]]:
        """Trigger occurrences (start, end, trigger, short) in one clause, outside numbers, in reading order."""
        # `short` marks a trigger of one or two chars: its jieba boundary check is left to the
        # binding, which stops at the first candidate that fits, so most short hits are never cut.
        key = (cs, ce)
        found = self.hits.get(key)
        if found is None:
            starts, spans = self.span_starts, self.spans
            found = []
            for s, e, trig in self.find(self.cat, self.text, cs, ce):
                # Inside a number: the last mention starting before e still runs past s.
                i = bisect.bisect_right(starts, e - 1) - 1
                if i >= 0 and spans[i][1] > s:
                    continue
                found.append((s, e, trig, len(trig) <= _SHORT_TRIGGER))
            self.hits[key] = found
        return found

    def subject_hits(self, subject: str) -> list[str]:
        """Triggers inside a mention's subject (for rates that share one value)."""
        return [t for _, _, t in self.find(self.cat, subject, 0, len(subject))]

    def _context(self, start: int, ce: int, section: str | None) -> str:
        """The words an indicator's context is read in: the line up to the clause end, and the section's."""
        line_start = max(self.text.rfind("\n", 0, start) + 1, start - _CONTEXT_WINDOW)
        return self.text[line_start:ce] + " " + _section_words(section)

    def bind(self, m: dict[str, Any]) -> tuple[Indicator, str, str, float] | None:
        """The indicator a level mention binds to, the trigger, the side, and a confidence."""
        text = self.text
        start, end = int(m["start"]), int(m["end"])
        section, kind, unit_norm = m.get("section"), m.get("kind"), m.get("unit_norm")
        cs, ce = self.ctx.clause(start)
        # Triggers are read in the clause (its hits are shared by all its numbers); a very long
        # clause (a table dumped as one line) is read in a window around the number instead.
        if ce - cs > _LONG_CLAUSE:
            cs, ce = max(cs, start - _TRIGGER_WINDOW), min(ce, end + _TRIGGER_WINDOW)
        hits = self._clause_hits(cs, ce)
        # The last 、 of the clause before the number opens the number's own list item.
        cut_at = text.rfind("、", cs, start)
        # The number's own list item: 办理行政复议案件2件、行政诉讼案件3件 — 诉讼 vetoes the 3件 only.
        item_start = cut_at + 1 if cut_at >= 0 else cs
        next_cut = text.find("、", end, ce)
        item_end = next_cut if next_cut >= 0 else ce
        by_trigger = self.cat.by_trigger
        context: str | None = None  # the paragraph words, built once a candidate needs them
        # Candidates, (distance, start - end, index, start, end, trigger, short), side by side: the
        # subject's triggers, those before the number, those after it. Each side is built only when
        # the ones read before it all failed (most numbers bind to the nearest trigger before them).
        for side in ("subject", "before", "after"):
            if side == "subject":
                if m.get("rule") != "shared_rate" or not m.get("subject"):
                    continue
                group = [(0, 0, 0, start, start, t, False) for t in self.subject_hits(m["subject"])]
            elif side == "before":
                # Nearest first; at equal distance the longer (more specific) trigger first, then
                # reading order (the index keeps the sort stable without a key function).
                group = sorted((start - e, s - e, k, s, e, trig, short)
                               for k, (s, e, trig, short) in enumerate(hits) if e <= start)
                # A trigger of an earlier list item is not borrowed by an item with a label of its
                # own (在编执法人员14人、协管人员36人: 协管人员 is not 执法人员). A hit ending at or
                # before the last 、 has one between it and the number; the label is read only then.
                if cut_at >= 0 and any(c[4] <= cut_at for c in group) and self._own_list_label(cut_at, start):
                    group = [c for c in group if c[4] > cut_at]
            else:
                # A trigger after the number is only borrowed when no later number of the clause
                # follows it: 向8个街道、5个镇下放审批服务事项52项 — 下放 names the 52项, not the 8个 or 5个.
                group = sorted((s - end, s - e, k, s, e, trig, short) for k, (s, e, trig, short) in enumerate(hits)
                               if s >= end and not self._number_between(e, ce))
            for distance, _, _, hs, he, trig, short in group:
                fits: list[Indicator] = []
                scope: str | None = None
                for ind in by_trigger[trig]:
                    if not _unit_fits(ind, kind, unit_norm):
                        continue
                    if ind.context:
                        context = context if context is not None else self._context(start, ce, section)
                        if not _context_fits(ind, context):
                            continue
                    if ind.exclusions:
                        if scope is None:
                            scope = text[min(hs, item_start):max(he, item_end)]
                        if _excluded(ind, scope):
                            continue
                    fits.append(ind)
                # A short trigger counts only on jieba word boundaries; the segmentation is costly,
                # so it is checked last, for a hit that would bind (skipping it either way is alike).
                if not fits or (short and not self._on_word_boundaries(hs, he, cs, ce)):
                    continue
                if len(fits) == 1:
                    best = fits[0]
                else:
                    ctx = context = context if context is not None else self._context(start, ce, section)
                    best = max(fits, key=lambda ind: (_context_score(ind, ctx), ind.section == section, -ind.order))
                conf = _CONF_AFTER if side == "after" else _CONF_BEFORE
                conf -= min(_CONF_MAX_DISTANCE, _CONF_PER_CHAR * max(0, distance - _CONF_FREE_CHARS))
                if len(trig.replace("…", "")) <= _SHORT_TRIGGER:
                    conf -= _CONF_SHORT
                if len(fits) > 1:
                    conf -= _CONF_AMBIGUOUS
                gap_from, gap_to = (he, start) if side == "before" else (end, hs)
                if text.find("、", gap_from, gap_to) >= 0:
                    conf -= _CONF_LIST
                if best.section == section:
                    conf += _CONF_SECTION
                return best, trig, side, round(min(0.99, max(0.05, conf)), 2)
        return None


def _unit_fits(ind: Indicator, kind: Any, unit_norm: Any) -> bool:
    """A number (its kind and normalised unit) fits an indicator when the kind matches and the unit is accepted."""
    if ind.kind == "money":
        return kind == "money"
    if ind.kind == "rate":
        return kind == "rate" and unit_norm in _RATE_UNITS
    return kind == "count" and unit_norm in ind.units


@functools.lru_cache(maxsize=64)
def _section_words(section: str | None) -> str:
    """The heading keywords of a section (schemas/sections.yaml), as context for its numbers."""
    if not section or not (schemas_dir() / "sections.yaml").is_file():
        return ""
    for entry in load_schema_yaml("sections").get("sections", []):
        if isinstance(entry, dict) and entry.get("id") == section and entry.get("kind") != "zone":
            return " ".join(str(k) for k in entry.get("keywords", []))
    return ""


def _context_fits(ind: Indicator, context: str) -> bool:
    return not ind.context or any(w in context for w in ind.context)


def _context_score(ind: Indicator, context: str) -> int:
    """How many of the indicator's own words (context and triggers) the paragraph holds."""
    return sum(1 for w in ind.context if w in context) + sum(
        1 for t in ind.triggers if "…" not in t and t in context)


def _excluded(ind: Indicator, scope: str) -> bool:
    return any(w in scope for w in ind.exclusions)


def _money_to_wan(value: float, unit: str) -> float:
    """Money in 万元, whatever scale its unit carries (元, 千元, 万元, 亿元, 百万元)."""
    from extractor.numbers.grammar import grammar

    prefix = unit[:-1] if unit.endswith("元") else unit
    scale = Decimal(grammar().scales.get(prefix, 1)) if prefix else Decimal(1)
    return float(Decimal(str(value)) * scale / Decimal(10000))


def canonical_value(ind: Indicator, m: dict[str, Any]) -> tuple[float, str]:
    """The mention's value in the indicator's canonical unit, and that unit."""
    value = m["value"]
    if ind.kind == "money":
        return _money_to_wan(value, m.get("unit_norm") or m.get("unit") or "元"), ind.unit
    if ind.kind == "rate":
        return (value / 10 if m.get("unit_norm") == "‰" else value), ind.unit
    return value, m.get("unit_norm") or ind.unit


def _delta_after(mentions: list[dict[str, Any]], i: int) -> tuple[Any, Any]:
    """The change written right after level mention i in the same sentence (同比上升35%), if any."""
    m = mentions[i]
    nxt = mentions[i + 1] if i + 1 < len(mentions) else {}
    is_change = nxt.get("value") is None and nxt.get("delta_type") and nxt.get("sentence") == m.get("sentence")
    # A percentage-point change only qualifies a rate.
    if is_change and (m.get("kind") == "rate" or nxt.get("delta_type") != "pp"):
        return nxt.get("delta_value"), nxt.get("delta_type")
    return None, None


def map_indicators(text: str, mentions: list[dict[str, Any]], matcher: str = "scan") -> list[dict[str, Any]]:
    """Return indicator rows (long form) for the mentions of one document; `matcher` picks the trigger finder."""
    find = trigger_finder(matcher)
    if not mentions or not text:
        return []
    from extractor.numbers import working_text

    binder = _Binder(working_text(text), mentions, find)
    rows: list[dict[str, Any]] = []
    occurrences: Counter[str] = Counter()
    for i, m in enumerate(mentions):
        if m.get("value") is None:
            continue  # a change (delta) is never a level; it rides on the level before it
        bound = binder.bind(m)
        if bound is None:
            continue
        ind, trigger, side, conf = bound
        value, unit = canonical_value(ind, m)
        occurrences[ind.id] += 1
        delta_value, delta_type = _delta_after(mentions, i)
        rows.append({
            "indicator": ind.id,
            "name": ind.name,
            "kind": ind.kind,
            "occurrence": occurrences[ind.id],
            "value": value,
            "unit": unit,
            "approx": m.get("approx"),
            "is_target": bool(m.get("is_target")),
            "delta_value": delta_value,
            "delta_type": delta_type,
            "mention_idx": i,
            "surface": m.get("surface"),
            "sentence": m.get("sentence"),
            "start": m.get("start"),
            "end": m.get("end"),
            "section_path": m.get("section_path"),
            "section": m.get("section"),
            "part": m.get("part"),
            "trigger": trigger,
            "rule": f"trigger_{side}",
            "confidence": conf,
        })
    return rows
