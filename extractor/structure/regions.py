"""Region lookup: place names in a report → province, city, county, township and admin code.

The table (extractor/data/regions.csv.gz, made by `make_regions`) holds the current national code
table to county level plus county names of an older vintage (`former`). Township-level units are
not in it: the township name comes from the organ string only, and `admin_code` is then the code of
the county it belongs to.

Conventions: municipalities (北京/天津/上海/重庆) have no prefecture level, so `city` repeats the
province (重庆市), which keeps `city` filled for grouping; `region_path` lists each name once.
A county-level unit directly under a province (仙桃市, 神农架林区) has `city` = None.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TABLE = Path(__file__).resolve().parents[1] / "data" / "regions.csv.gz"

# Township-level unit inside an organ string or a title: the name runs up to 街道/镇/乡 and is
# followed by the organ (办事处, 人民政府, 党工委, ...), 关于, a year, or the end. 民族乡 names
# (XX彝族乡) end in 乡 too.
_TOWNSHIP = re.compile(
    r"([\u4e00-\u9fa5]{1,10}?(?:街道|镇|乡))(?=办事处|人民政府|政府|党工委|党委|工作委员会|委员会|工委|关于|$|[ 、,\d])"
)
_NOT_TOWNSHIP = frozenset(
    {"城乡", "乡镇", "村镇", "城镇", "集镇", "小镇", "名镇", "重镇", "家乡", "下乡", "返乡"}
)
# Organ words that may stand between a county name and a township name ("荣昌区人民政府昌元街道").
_ORGAN_PREFIX = re.compile(r"^(?:人民政府|政府|委员会|党委|区委|县委|市委|中共)+")
# Suffixes cut off to get the short name of a province or prefecture (重庆, 福州, 内蒙古).
_SHORT_NAME = re.compile(r"(?:壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区|省|市|地区|盟)$")


@dataclass(frozen=True)
class Unit:
    """One row of the administrative-division table."""

    code: str
    name: str
    kind: str
    rank: int
    parent: str
    status: str


@dataclass(frozen=True)
class _Table:
    by_code: dict[str, Unit]
    by_name: dict[str, tuple[Unit, ...]]
    lengths: tuple[int, ...]
    # Last two chars of a name → the lengths of the names ending so, longest first; one-char names
    # (none in the bundled table) are kept apart.
    suffix_lengths: dict[str, tuple[int, ...]]
    one_char: frozenset[str]
    name_ends: re.Pattern[str]
    short_names: dict[str, Unit]
    short_pattern: re.Pattern[str]


@functools.cache
def table() -> _Table:
    """Load the bundled table once."""
    raw = gzip.decompress(TABLE.read_bytes()).decode("utf-8")
    rows = csv.DictReader(line for line in io.StringIO(raw) if not line.startswith("#"))
    by_code: dict[str, Unit] = {}
    by_name: dict[str, list[Unit]] = {}
    for r in rows:
        unit = Unit(r["code"], r["name"], r["kind"], int(r["rank"]), r["parent"], r["status"])
        by_code[unit.code] = unit
        by_name.setdefault(unit.name, []).append(unit)
    tails: dict[str, set[int]] = {}
    for k in by_name:
        if len(k) >= 2:
            tails.setdefault(k[-2:], set()).add(len(k))
    short: dict[str, Unit] = {}
    for u in by_code.values():
        if u.rank <= 2 and u.status == "current":
            stem = _SHORT_NAME.sub("", u.name)
            if len(stem) >= 2 and stem not in short:
                short[stem] = u
    return _Table(
        by_code=by_code,
        by_name={k: tuple(v) for k, v in by_name.items()},
        lengths=tuple(sorted({len(k) for k in by_name}, reverse=True)),
        suffix_lengths={tail: tuple(sorted(v, reverse=True)) for tail, v in tails.items()},
        one_char=frozenset(k for k in by_name if len(k) == 1),
        name_ends=re.compile("[" + "".join(sorted({k[-1] for k in by_name})) + "]"),
        short_names=short,
        short_pattern=re.compile("|".join(sorted(short, key=len, reverse=True))),
    )


def ancestors(unit: Unit) -> list[Unit]:
    """The unit and its parents, innermost first."""
    t = table()
    chain = [unit]
    while chain[-1].parent and chain[-1].parent in t.by_code:
        chain.append(t.by_code[chain[-1].parent])
    return chain


def find_names(text: str) -> list[tuple[int, int, str]]:
    """Every table name in `text` as (start, end, name), left to right, the longest at each end."""
    t = table()
    out: list[tuple[int, int, str]] = []
    last = 0
    by_name, suffix_lengths, one_char = t.by_name, t.suffix_lengths, t.one_char
    # Every name ends in one of a few chars (市 区 县 旗 州 盟 省 ...): only those ends are tried,
    # and only with the lengths of names ending in the same two chars (全区 or 我县 ends none).
    for m in t.name_ends.finditer(text):
        end = m.end()
        lengths = suffix_lengths.get(text[end - 2 : end], ()) if end >= 2 else ()
        for length in (*lengths, 1) if one_char else lengths:
            start = end - length
            # A name longer than the text since the last name would overlap it.
            if start < last:
                continue
            if text[start:end] in by_name and not _cut_word(text, end):
                out.append((start, end, text[start:end]))
                last = end
                break
    return out


def _cut_word(text: str, end: int) -> bool:
    """Tell whether a name ending at `end` cuts a word (市场, 区域, 县域, 市民, 州府...)."""
    pair = text[end - 1 : end + 1]
    return pair in {"市场", "市民", "市政", "区域", "区间", "县域", "县城", "市区", "区划", "市域", "区块"}


def find_township(text: str) -> tuple[int, int, str] | None:
    """The first township-level unit (…街道 / …镇 / …乡) named in an organ string."""
    # Cut known higher-level names off first, so "荣昌区人民政府昌元街道办事处" yields 昌元街道.
    cut = 0
    for _s, e, _name in find_names(text):
        cut = max(cut, e)
    rest = text[cut:]
    organ = _ORGAN_PREFIX.match(rest)
    offset = cut + (organ.end() if organ else 0)
    m = _TOWNSHIP.search(text, offset)
    if not m:
        return None
    name = m.group(1)
    # "中共XX镇委员会" style prefixes and leading organ words are not part of the name.
    lead = _ORGAN_PREFIX.match(name)
    start = m.start(1) + (lead.end() if lead else 0)
    # An unknown higher-level name may still precede it ("某县某某镇"): cut after the last 县/区/市
    # that leaves a stem of two chars or more (新市镇 keeps its 市).
    suffix = 2 if text[m.end(1) - 2 : m.end(1)] == "街道" else 1
    stem_end = m.end(1) - suffix
    for i in range(stem_end - 3, start - 1, -1):
        if text[i] in "省市区县旗州":
            start = i + 1
            break
    name = text[start : m.end(1)]
    # Words that end in 乡/镇 without naming a place (城乡规划, 特色小镇).
    if len(name) < 2 or name == "街道" or name[-2:] in _NOT_TOWNSHIP:
        return None
    return (start, m.end(1), name)


def resolve(evidence: Sequence[tuple[str, int | None, int]], township: str | None = None) -> dict[str, Any]:
    """Resolve place names into a region.

    `evidence` holds (snippet, offset of the snippet in the text or None, trust) triples; trust 0 is
    the most trusted (the issuers), higher numbers less (title, signature, page, body). Candidates
    come from the most trusted snippets that name any place; all snippets vote on them. The deepest
    unit that agrees with the other names wins; when units of one name stay equally plausible (朝阳区
    in 北京 and in 长春) no guess is made and only the levels they share are filled.
    Returns {province, city, county, township, admin_code, region_path, span, trust, filled, ambiguous}.
    """
    t = table()
    mentions: list[tuple[int | None, int | None, str, int]] = []  # (start, end, name, trust)
    short_named: set[str] = set()
    for snippet, offset, trust in evidence:
        for s, e, name in find_names(snippet):
            mentions.append(
                (None if offset is None else offset + s, None if offset is None else offset + e, name, trust)
            )
        short_named.update(t.short_names[m.group()].code for m in t.short_pattern.finditer(snippet))
    named = {m[2] for m in mentions}
    region: dict[str, Any] = {
        "province": None,
        "city": None,
        "county": None,
        "township": township,
        "admin_code": None,
        "span": None,
        "trust": None,
        "filled": [],
        "ambiguous": [],
    }
    # A body that mentions a neighbouring county must not beat the issuer's own county.
    top = min((m[3] for m in mentions), default=0)
    best: tuple[tuple[int, int, bool], Unit, tuple[int | None, int | None]] | None = None
    ties: list[Unit] = []
    for start, end, name, trust in mentions:
        if trust != top:
            continue
        for unit in t.by_name[name]:
            chain = ancestors(unit)
            agree = sum(1 for a in chain[1:] if a.name in named or a.code in short_named)
            # Prefer more agreeing parents, then the deeper unit, then current over former names.
            key = (agree, unit.rank, unit.status == "current")
            if best is None or key > best[0]:
                best, ties = (key, unit, (start, end)), [unit]
            elif key == best[0] and unit.code not in {u.code for u in ties}:
                ties.append(unit)
    if best is None:
        region["region_path"] = [township] if township else []
        return region
    _key, unit, span = best
    region["span"] = span if span[0] is not None else None
    region["trust"] = top
    if len(ties) > 1:
        # Equally plausible units: keep only what all of them share, record the candidates.
        region["ambiguous"] = [f"{u.code} {'/'.join(a.name for a in reversed(ancestors(u)))}" for u in ties]
        shared = [a for a in ancestors(ties[0]) if all(a in ancestors(u) for u in ties[1:])]
        if ties[0].rank == 3 and all(u.name == ties[0].name for u in ties):
            region["county"] = ties[0].name
        for a in shared:
            _put(region, a, filled=a.name not in named)
    else:
        for a in ancestors(unit):
            _put(region, a, filled=a.name not in named)
        region["admin_code"] = unit.code
    region["region_path"] = _path(region)
    return region


def _put(region: dict[str, Any], unit: Unit, filled: bool) -> None:
    """Write one unit into its slot; a municipality fills both province and city."""
    if unit.rank == 1:
        region["province"] = unit.name
        if unit.kind == "直辖市":
            region["city"] = unit.name
    elif unit.rank == 2:
        region["city"] = unit.name
    else:
        region["county"] = unit.name
    if filled:
        region["filled"].append(unit.name)


def _path(region: dict[str, Any]) -> list[str]:
    path: list[str] = []
    for key in ("province", "city", "county", "township"):
        value = region.get(key)
        if value and value not in path:
            path.append(value)
    return path


def units_named(name: str) -> list[Unit]:
    """All units of the table that carry exactly this name."""
    return list(table().by_name.get(name, ()))
