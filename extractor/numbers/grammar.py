"""The number grammar: rules/numbers.yaml compiled once into regexes, and the candidate scanner.

Scanning is regex-first and cheap: one regex finds the runs of digits and numeral chars, a char
test after each run says which forms can follow, and only those anchored patterns are tried;
Python then validates the few matches against the rejection rules.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from extractor.errors import RulesError
from extractor.numbers.chinese import parse_chinese, parse_chinese_decimal
from extractor.rules import load_rules

_AR = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# Chars that close a clause; a bare 一 + measure word right before one is a real count.
_CLAUSE_END = frozenset(",，。;；、)）\n!！?？")


def _alt(words: list[str] | tuple[str, ...]) -> str:
    """Regex alternation of literal words, longest first (Python alternation is first-match)."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


@dataclass(frozen=True)
class Unit:
    """One measure word of the grammar."""

    unit: str
    norm: str
    kind: str
    arabic_only: bool
    not_before: tuple[str, ...]


@dataclass(frozen=True)
class Grammar:
    """The compiled number grammar."""

    version: int
    # Traditional → simplified, char for char (a str.translate table).
    traditional: dict[int, int]
    digits: dict[str, int]
    cn_units: dict[str, int]
    cn_big: dict[str, int]
    cn_chars: str
    scales: dict[str, int]
    units: dict[str, Unit]
    # (text, not_after chars, only_before chars), longest first
    qual_before: tuple[tuple[str, str, str], ...]
    rx_qual_before: re.Pattern[str]
    rx_runs: re.Pattern[str]
    # Chars that may follow a run of numerals in each form (a cheap gate before the regex).
    count_next: frozenset[str]
    percent_next: frozenset[str]
    tenth_next: frozenset[str]
    rx_count: re.Pattern[str]
    rx_percent: re.Pattern[str]
    rx_percent_cn: re.Pattern[str]
    rx_tenth: re.Pattern[str]
    rx_fraction: re.Pattern[str]
    tenth_not_before: tuple[str, ...]
    percent_signs: dict[str, str]
    decimal_point: str
    ordinal_before: tuple[str, ...]
    rank_before: str
    rank_word_chars: str
    context_window: int
    rx_context_before: re.Pattern[str] | None
    vague_before: tuple[str, ...]
    rx_skip_lines: tuple[re.Pattern[str], ...]
    # One pattern each: a pattern that opens with a literal or a char class is skipped to fast,
    # which an alternation of them would lose.
    rx_skip_spans: tuple[re.Pattern[str], ...]
    rx_enclosures: tuple[re.Pattern[str], ...]
    # Set phrases that open with a numeral ("{n}项制度"): matched at the number itself.
    rx_numeral_phrases: re.Pattern[str] | None
    # Set phrases written out in full (最多跑一次, 三审三校): found once per text.
    rx_literal_phrases: re.Pattern[str] | None
    bare_one: frozenset[str]
    bare_scale: frozenset[str]
    place_suffixes: str
    delta_down: tuple[str, ...]
    delta_weak: frozenset[str]
    rx_delta_verb: re.Pattern[str]
    rx_delta_rate_word: re.Pattern[str]
    rx_comparison: re.Pattern[str]
    pp_units: frozenset[str]
    forms: frozenset[str]
    raw: dict[str, Any] = field(repr=False, hash=False, compare=False, default_factory=dict)


@functools.cache
def grammar() -> Grammar:
    """Load, check and compile rules/numbers.yaml (once per process)."""
    return compile_grammar(load_rules("numbers"))


def compile_grammar(data: dict[str, Any]) -> Grammar:
    """Compile number rules already validated against numbers.schema.json."""
    traditional: dict[int, int] = {}
    for pair in data["traditional"].split():
        t, simple = pair
        if t == simple or ord(t) in traditional or t in "零〇一二两三四五六七八九十百千万亿":
            raise RulesError(f"numbers.yaml: traditional pair {pair!r} is a repeat, a no-op or a numeral")
        traditional[ord(t)] = ord(simple)
    num = data["numerals"]
    digits, cn_units, cn_big = dict(num["digits"]), dict(num["units"]), dict(num["big"])
    cn_chars = "".join(sorted(set(digits) | set(cn_units) | set(cn_big)))
    cn = f"[{re.escape(cn_chars)}]+"
    units: dict[str, Unit] = {}
    for u in data["units"]:
        if u["unit"] in units:
            raise RulesError(f"numbers.yaml: unit {u['unit']!r} listed twice")
        units[u["unit"]] = Unit(u["unit"], u["norm"], u["kind"], bool(u.get("arabic_only")),
                                tuple(u.get("not_before", ())))
    scales = {k: int(v) for k, v in data["scales"].items()}
    q = data["qualifiers"]
    qual_before = tuple(sorted(((e["text"], e.get("not_after", ""), e.get("only_before", "")) for e in q["before"]),
                               key=lambda e: (-len(e[0]), e[0])))
    qn = _alt(q["after_number"])
    qa = _alt(q["after_unit"])
    sep = _alt(data["range_separators"])
    scale = _alt(list(scales))
    unit_alt = _alt(list(units))
    # Numbers never start inside another number, a decimal or a word in Latin letters.
    head = rf"(?<![\d.A-Za-z{re.escape(cn_chars)}])(?<!\d,)"
    point = re.escape(data["percent"]["decimal_point"])
    digit_class = f"[{re.escape(''.join(digits))}]"
    # A Chinese numeral may carry decimals after 点 (三点五万元).
    cn_dec = f"{cn}(?:{point}{digit_class}+)?"
    number = rf"(?:(?P<ar>{_AR})|(?P<cn>{cn_dec}))"
    number2 = rf"(?:(?P<ar2>{_AR})|(?P<cn2>{cn_dec}))"
    rx_count = re.compile(
        rf"{head}{number}(?:\s?(?P<sep>{sep})\s?{number2})?"
        rf"(?P<q1>{qn})?(?P<scale>{scale})?(?P<q2>{qn})? ?(?P<unit>{unit_alt})(?P<post>{qa})?"
    )
    pct = data["percent"]
    signs = dict(pct["signs"])
    sign_alt = _alt(list(signs))
    rx_percent = re.compile(
        rf"{head}(?P<ar>{_AR})(?:\s?(?:{sign_alt})?\s?(?P<sep>{sep})\s?(?P<ar2>{_AR}))?"
        rf" ?(?P<sign>{sign_alt})(?P<post>{qa})?"
    )
    rx_percent_cn = re.compile(
        rf"{re.escape(pct['prefix'])}(?:(?P<pcn>{cn}(?:{point}{digit_class}+)?)|(?P<par>{_AR}))(?P<post>{qa})?"
    )
    rx_tenth = re.compile(rf"{head}{number}{re.escape(pct['tenth'])}(?P<post>{qa})?")
    rx_fraction = re.compile(
        rf"(?<![{re.escape(cn_chars)}])(?P<den>{cn}){re.escape(pct['fraction'])}(?P<num>{cn}(?:{point}{digit_class}+)?)"
        rf"(?P<post>{qa})?"
    )
    rej = data["reject"]

    def _compile_list(patterns: list[str], what: str) -> re.Pattern[str] | None:
        if not patterns:
            return None
        try:
            # A lone pattern is compiled as it is: a group around it would hide its leading literal
            # or char class from the regex engine, which then tries every position.
            return re.compile(patterns[0] if len(patterns) == 1 else "|".join(f"(?:{p})" for p in patterns), re.M)
        except re.error as exc:
            raise RulesError(f"numbers.yaml: bad regex in {what}: {exc}") from exc

    enclosures = []
    for opening, closing, max_len in rej["enclosures"]:
        body = f"[^{re.escape(opening + closing)}\\n]" + ("*" if max_len == 0 else f"{{0,{int(max_len)}}}")
        enclosures.append(re.escape(opening) + body + re.escape(closing))
    numeral = rf"(?:\d+|{cn})"
    heads = [p[3:] for p in rej["set_phrases"] if p.startswith("{n}") and "{n}" not in p[3:]]
    others = [p for p in rej["set_phrases"] if not (p.startswith("{n}") and "{n}" not in p[3:])]
    literals = [re.escape(p).replace(re.escape("{n}"), numeral) for p in others]
    dl = data["deltas"]
    verbs = [*dl["up"], *dl["down"]]
    forms = frozenset(f["id"] for f in data["forms"])
    return Grammar(
        version=int(data["version"]),
        traditional=traditional,
        digits=digits,
        cn_units=cn_units,
        cn_big=cn_big,
        cn_chars=cn_chars,
        scales=scales,
        units=units,
        qual_before=qual_before,
        rx_qual_before=re.compile(f"(?:{_alt([e[0] for e in qual_before])})$"),
        rx_runs=re.compile(rf"[\d{re.escape(cn_chars)}]+"),
        count_next=frozenset({w[0] for w in [*units, *q["after_number"], *data["range_separators"], *scales]}
                             | {" ", ".", ",", pct["decimal_point"]}),
        percent_next=frozenset({*(w[0] for w in signs), *(w[0] for w in data["range_separators"]), " ", ".", ","}),
        tenth_next=frozenset({" ", ".", pct["decimal_point"]}),
        rx_count=rx_count,
        rx_percent=rx_percent,
        rx_percent_cn=rx_percent_cn,
        rx_tenth=rx_tenth,
        rx_fraction=rx_fraction,
        tenth_not_before=tuple(pct["tenth_not_before"]),
        percent_signs=signs,
        decimal_point=pct["decimal_point"],
        ordinal_before=tuple(rej["ordinal_before"]),
        rank_before=rej["rank_before"],
        rank_word_chars=rej["rank_word_chars"],
        context_window=int(rej["context_window"]),
        rx_context_before=re.compile(_alt(rej["context_before"])) if rej["context_before"] else None,
        rx_skip_lines=tuple(_compile_list([p], "reject.skip_lines") or re.compile("(?!)")
                            for p in rej["skip_lines"]),
        rx_skip_spans=tuple(_compile_list([p], "reject.skip_spans") or re.compile("(?!)")
                            for p in rej["skip_spans"]),
        rx_enclosures=tuple(re.compile(e) for e in enclosures),
        rx_numeral_phrases=re.compile(f"{numeral}(?:{_alt(heads)})") if heads else None,
        rx_literal_phrases=_compile_list(sorted(literals, key=len, reverse=True), "reject.set_phrases"),
        vague_before=tuple(rej["vague_before"]),
        bare_one=frozenset(rej["bare_one"]),
        bare_scale=frozenset(rej["bare_scale"]),
        place_suffixes=rej["place_suffixes"],
        delta_down=tuple(dl["down"]),
        delta_weak=frozenset(dl["weak"]),
        rx_delta_verb=re.compile(rf"(?P<verb>{_alt(verbs)})(?P<lvl>{_alt(dl['level_markers'])})?了?$"),
        rx_delta_rate_word=re.compile(rf"(?:{_alt(dl['rate_words'])})(?:为|达到?|是)?$"),
        rx_comparison=_compile_list(dl["comparison"], "deltas.comparison") or re.compile(r"(?!)"),
        pp_units=frozenset(dl["pp_units"]),
        forms=forms,
        raw=data,
    )


@dataclass
class Candidate:
    """A quantity found by the grammar, before sentence context is added."""

    start: int
    end: int
    value: int | float | None
    unit: str
    unit_norm: str
    kind: str
    multiplier: int = 1
    approx: str | None = None
    value_high: int | float | None = None
    rule: str = "count"
    core_start: int = 0  # where the number itself starts (after a qualifier)


def _num(x: Decimal) -> int | float:
    """A Decimal as int when integral, else float."""
    return int(x) if x == x.to_integral_value() else float(x)


class _Blocked:
    """Sorted, merged character intervals whose numbers are never quantities."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans.sort()
        merged: list[tuple[int, int]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        self.starts = [s for s, _ in merged]
        self.spans = merged

    def hits(self, start: int, end: int) -> bool:
        """Tell whether [start, end) overlaps a blocked interval."""
        i = bisect.bisect_right(self.starts, end - 1) - 1
        return i >= 0 and self.spans[i][1] > start


def blocked_spans(g: Grammar, text: str) -> _Blocked:
    """Spans of `text` in which numbers are titles, identifiers or skipped lines (set phrases aside)."""
    spans: list[tuple[int, int]] = []
    for rx in g.rx_skip_lines:
        for m in rx.finditer(text):
            ls = text.rfind("\n", 0, m.start()) + 1
            le = text.find("\n", m.end())
            spans.append((ls, len(text) if le < 0 else le))
    for rx in (*g.rx_skip_spans, g.rx_literal_phrases):
        if rx is not None:
            spans.extend(m.span() for m in rx.finditer(text))
    # One pattern per enclosure: each opens with a literal char, which the regex engine skips to fast.
    for rx in g.rx_enclosures:
        spans.extend(m.span() for m in rx.finditer(text))
    return _Blocked(spans)


class Scanner:
    """Validates grammar matches against the rejection rules and turns them into Candidates."""

    def __init__(self, g: Grammar, text: str) -> None:
        self.g = g
        self.text = text
        self.blocked = blocked_spans(g, text)

    # -- shared checks -------------------------------------------------------------------------

    def _qualifier(self, core: int) -> tuple[int, str | None]:
        """Return (start, qualifier) for a number starting at `core`: 近15万份 starts at 近."""
        text = self.text
        if self.g.rx_qual_before.search(text, max(0, core - 4), core) is None:
            return core, None
        for word, not_after, only_before in self.g.qual_before:
            ps = core - len(word)
            if ps < 0 or not text.startswith(word, ps):
                continue
            if only_before and text[core] not in only_before:
                continue
            if ps > 0 and text[ps - 1] in not_after:
                continue  # 签约3家, 最近3个月: part of another word
            return ps, word
        return core, None

    def _rejected(self, core: int, start: int, end: int) -> bool:
        """Blocked spans, set phrases, ordinals, ranks and identifiers around one candidate."""
        g, text = self.g, self.text
        if self.blocked.hits(core, end):
            return True
        if g.rx_numeral_phrases is not None and g.rx_numeral_phrases.match(text, core):
            return True
        left = text[max(0, start - 6):start].rstrip(" ")
        if left.endswith(g.ordinal_before):
            return True
        if left.endswith(g.rank_before):
            before = left[:-len(g.rank_before)]
            if not before or before[-1] not in g.rank_word_chars:
                return True
        return g.rx_context_before is not None and bool(
            g.rx_context_before.search(text, max(0, core - g.context_window), core))

    def _chinese(self, s: str) -> tuple[Decimal, bool] | None:
        g = self.g
        whole, point, frac = s.partition(g.decimal_point)
        n = parse_chinese(whole, g.digits, g.cn_units, g.cn_big)
        if n is None:
            return None
        if not point:
            return Decimal(n.value), n.bare_scale
        return Decimal(f"{n.value}.{''.join(str(g.digits[ch]) for ch in frac)}"), n.bare_scale

    def _number(self, ar: str | None, cn: str | None) -> tuple[Decimal, bool] | None:
        """Parse one number group; returns (value, bare_scale) or None."""
        if ar is not None:
            return Decimal(ar.replace(",", "")), False
        if cn is not None:
            return self._chinese(cn)
        return None

    def _neighbours(self, cn: str) -> tuple[Decimal, Decimal] | None:
        """Two neighbouring digits written together (一两, 两三, 七八): a loose range, else None."""
        digits = self.g.digits
        if len(cn) != 2 or cn[0] not in digits or cn[1] not in digits:
            return None
        low, high = digits[cn[0]], digits[cn[1]]
        return (Decimal(low), Decimal(high)) if low >= 1 and high == low + 1 else None

    # -- forms ---------------------------------------------------------------------------------

    def count(self, m: re.Match[str]) -> Candidate | None:
        """number (range) qualifier scale unit qualifier: 12次, 近15万份, 836.5万元, 3至5次."""
        g, text = self.g, self.text
        unit = g.units[m.group("unit")]
        core = m.start()
        cn = m.group("cn")
        q1, q2, scale, post = m.group("q1"), m.group("q2"), m.group("scale"), m.group("post")
        after = text[m.end("unit"):m.end("unit") + 4]
        if unit.not_before and after.startswith(unit.not_before) and not post:
            return None
        if cn is not None:
            if unit.arabic_only or text.endswith(g.vague_before, 0, core):
                return None  # 十分 (an adverb), 数十次 / 几百人 (vague)
            # 一 alone (一批, 一次性, 一条街) is a quantity only at the end of a clause: 旁听庭审一场。
            if (m.group("sep") is None and cn in g.bare_one and not (scale or q1 or q2)
                    and not (after[:1] in _CLAUSE_END or not after)):
                return None
            if unit.unit != "个" and after[:1] and after[0] in g.place_suffixes:
                return None
            if scale and cn[-1] in g.cn_big:  # 三十万万: never
                return None
        elif "来" in (q1, q2):
            return None  # 十来个 is Chinese only
        parsed = self._number(m.group("ar"), cn)
        pair_high: Decimal | None = None
        if parsed is None and cn is not None and m.group("sep") is None:
            pair = self._neighbours(cn)  # 两三次, 七八个: a loose range
            if pair is not None:
                parsed, pair_high = (pair[0], False), pair[1]
        if parsed is None:
            return None
        value = parsed[0]
        bare = cn is not None and cn[0] in g.bare_scale
        start, qual = self._qualifier(core)
        if bare and not (qual or q1 or q2 or post):
            return None  # 百名律师进千村, 进万家: a slogan, not a count
        if self._rejected(core, start, m.end("unit")):
            return None
        high = pair_high
        if m.group("sep") is not None:
            parsed2 = self._number(m.group("ar2"), m.group("cn2"))
            if parsed2 is None or parsed2[0] <= value:
                return None
            high = parsed2[0]
        approx = qual or q1 or q2 or post
        rule = "range" if high is not None else "count"
        if unit.kind == "money":
            # Money keeps its scale in the unit: 836.5万元 → 836.5 万元; 三十万元 → 30 万元.
            prefix = scale or ""
            if cn is not None and not scale and len(cn) > 1 and cn[-1] in g.cn_big:
                head = self._chinese(cn[:-1])
                if head is None:
                    return None
                value, prefix = head[0], cn[-1]
            written = prefix + unit.unit
            return Candidate(start, m.end(), _num(value), written, written, "money", 1, approx,
                             None if high is None else _num(high), "range" if high is not None else "money", core)
        mult = g.scales[scale] if scale else 1
        shown = mult
        if cn is not None and not scale and len(cn) > 1 and cn[-1] in g.cn_big:
            shown = g.cn_big[cn[-1]]  # 三十万人: the scale is written inside the numeral
        return Candidate(start, m.end(), _num(value * mult), unit.unit, unit.norm, unit.kind, shown, approx,
                         None if high is None else _num(high * mult), rule, core)

    def percent(self, m: re.Match[str]) -> Candidate | None:
        """Arabic percentages and per-mille: 5.08%, 3%-5%."""
        core = m.start()
        start, qual = self._qualifier(core)
        if self._rejected(core, start, m.end("sign")):
            return None
        value = Decimal(m.group("ar").replace(",", ""))
        high = None
        if m.group("ar2") is not None:
            high = Decimal(m.group("ar2").replace(",", ""))
            if high <= value:
                return None
        sign = self.g.percent_signs[m.group("sign")]
        return Candidate(start, m.end(), _num(value), m.group("sign"), sign, "rate", 1, qual or m.group("post"),
                         None if high is None else _num(high), "range" if high is not None else "percent", core)

    def percent_cn(self, m: re.Match[str]) -> Candidate | None:
        """百分之九十五, 百分之百, 百分之95."""
        g = self.g
        core = m.start()
        if m.group("par") is not None:
            value: float | None = float(m.group("par").replace(",", ""))
        else:
            value = parse_chinese_decimal(m.group("pcn"), g.decimal_point, g.digits, g.cn_units, g.cn_big)
        if value is None or value > 1000:
            return None
        start, qual = self._qualifier(core)
        if self._rejected(core, start, m.end("pcn") if m.group("pcn") else m.end("par")):
            return None
        return Candidate(start, m.end(), _num(Decimal(str(value))), "%", "%", "rate", 1,
                         qual or m.group("post"), None, "percent_chinese", core)

    def tenth(self, m: re.Match[str]) -> Candidate | None:
        """九成, 8成以上 (tenths as a percentage)."""
        g, text = self.g, self.text
        core = m.start()
        if not m.group("post") and text.startswith(g.tenth_not_before, m.end()):
            return None
        cn = m.group("cn")
        if cn is not None and cn in g.bare_one:
            return None
        parsed = self._number(m.group("ar"), cn)
        if parsed is None or (cn is not None and cn[0] in g.bare_scale) or parsed[0] <= 0 or parsed[0] > 10:
            return None
        start, qual = self._qualifier(core)
        if self._rejected(core, start, m.end()):
            return None
        return Candidate(start, m.end(), _num(parsed[0] * 10), g.raw["percent"]["tenth"], "%", "rate", 1,
                         qual or m.group("post"), None, "tenth", core)

    def fraction(self, m: re.Match[str]) -> Candidate | None:
        """三分之一, 千分之三 (as a percentage, rounded to two decimals)."""
        g = self.g
        den = self._chinese(m.group("den"))
        num = parse_chinese_decimal(m.group("num"), g.decimal_point, g.digits, g.cn_units, g.cn_big)
        # A bare scale word is a denominator only as 千分之 / 万分之 (百分之 is a percentage).
        if den is None or num is None or den[0] == 0 or (den[1] and den[0] < 1000):
            return None
        if self._rejected(m.start(), m.start(), m.end("num")):
            return None
        pct = (Decimal(str(num)) * 100 / den[0]).quantize(Decimal("0.01"))
        return Candidate(m.start(), m.end(), _num(pct), g.raw["percent"]["fraction"], "%", "rate", 1,
                         m.group("post"), None, "fraction", m.start())

    def scan(self) -> list[Candidate]:
        """Every quantity candidate in the text, non-overlapping, in reading order.

        Every form opens with a number, so the scanner walks the runs of digits and numeral chars
        (one cheap regex) and tries the anchored forms at each run start, most specific first.
        A number never starts inside a run (十四五个 holds no 五个), so run starts are enough.
        """
        g, text = self.g, self.text
        pct = g.raw["percent"]
        prefix, fraction, tenth = pct["prefix"], pct["fraction"], pct["tenth"]
        out: list[Candidate] = []
        done = 0
        n = len(text)
        for run in g.rx_runs.finditer(text):
            pos = run.start()
            if pos < done:
                continue
            # Each form is tried only when the char after the run can continue it: most runs are
            # a 一 inside a word (统一, 一是) and fail every form at once.
            nxt = text[run.end()] if run.end() < n else ""
            tries: list[tuple[re.Pattern[str], Any]] = []
            if text.startswith(prefix, pos):
                tries.append((g.rx_percent_cn, self.percent_cn))
            if text.startswith(fraction, run.end()):
                tries.append((g.rx_fraction, self.fraction))
            if nxt in g.percent_next:
                tries.append((g.rx_percent, self.percent))
            if nxt == tenth or nxt in g.tenth_next:
                tries.append((g.rx_tenth, self.tenth))
            if nxt in g.count_next:
                tries.append((g.rx_count, self.count))
            for rx, make in tries:
                m = rx.match(text, pos)
                if m is not None:
                    cand = make(m)
                    if cand is not None:
                        out.append(cand)
                        done = cand.end
                        break
        return self._merge_ranges(out)

    def _merge_ranges(self, found: list[Candidate]) -> list[Candidate]:
        """Join a range written with the unit on both ends (3次至5次, 3万人至5万人) into one."""
        if len(found) < 2:
            return found
        seps = self.g.raw["range_separators"]
        out: list[Candidate] = [found[0]]
        for c in found[1:]:
            p = out[-1]
            joined = self.text[p.end:c.start].strip()
            if (joined in seps and p.unit == c.unit and p.value_high is None and c.value_high is None
                    and p.value is not None and c.value is not None and c.value > p.value
                    and p.approx is None and c.approx is None and p.rule in ("count", "money", "percent")
                    and c.rule == p.rule):
                out[-1] = Candidate(p.start, c.end, p.value, p.unit, p.unit_norm, p.kind, p.multiplier, None,
                                    c.value, "range", p.core_start)
            else:
                out.append(c)
        return out
