"""Comparable tables: one row per region × report year, one column per canonical indicator.

The panel is built from the records of a run (documents.jsonl) in a few pure steps; a run folder is
read one region × year group at a time (`iter_panel_groups`), so memory does not grow with the corpus:

1. keep the documents that were processed (status ok) and read their region, year and indicators;
2. group them by panel key (region, level, report year; department reports also by issuer);
3. inside a group, merge duplicates: the same bytes under several paths (same doc_id) and
   near-duplicates (shingled Jaccard of the cleaned texts ≥ NEAR_DUPLICATE_JACCARD);
4. for every catalog indicator choose one value per row, deterministically:
   actual before target, canonical section before other sections, primary document before the
   others, then the first occurrence in the text;
5. flag every cell: ok | approx | conflict | target | missing.

Two tables come out: `panel` (wide: values plus `<indicator>__flag` companions) and
`panel_values` (long: one row per found cell, with the provenance of the chosen value).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import math
import operator
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Character shingle length and threshold for near-duplicates. Web copies of one report differ by
# page chrome, a missing title line or a re-typed date; 5-grams over the text without whitespace
# give ~0.95+ for such copies and well under 0.5 for two reports of one template in two years.
SHINGLE = 5
NEAR_DUPLICATE_JACCARD = 0.9

# Separator of multi-valued cells (sources, doc ids); the same full-width semicolon as tables.py.
SEP = "；"
FLAG_SUFFIX = "__flag"
FLAGS = ("ok", "approx", "conflict", "target", "missing")

# Levels whose reports come from several bodies of one region: the issuer is part of the key.
_ISSUER_KEYED_LEVELS = {"department"}
_REGION_PARTS = ("province", "city", "county", "township")
_KINDS = {"c": "count", "count": "count", "r": "rate", "rate": "rate", "m": "money", "money": "money"}
_FALSEY = {"", "0", "false", "no", "none", "null"}

# Fixed columns of the wide panel, before the indicator columns: (column, arrow type).
PANEL_COLUMNS: list[tuple[str, str]] = [
    ("panel_key", "string"),
    ("region_id", "string"),
    ("province", "string"),
    ("city", "string"),
    ("county", "string"),
    ("township", "string"),
    ("admin_code", "string"),
    ("level", "string"),
    ("issuer", "string"),
    ("report_year", "int64"),
    ("key_status", "string"),
    ("title", "string"),
    ("n_documents", "int64"),
    ("n_sources", "int64"),
    ("n_indicators", "int64"),
    ("doc_ids", "string"),
    ("sources", "string"),
]

# The long table of chosen values with their provenance: (column, arrow type).
PANEL_VALUE_COLUMNS: list[tuple[str, str]] = [
    ("panel_key", "string"),
    ("region_id", "string"),
    ("level", "string"),
    ("report_year", "int64"),
    ("indicator", "string"),
    ("name", "string"),
    ("kind", "string"),
    ("value", "float64"),
    ("unit", "string"),
    ("flag", "string"),
    ("approx", "string"),
    ("is_target", "bool"),
    ("n_candidates", "int64"),
    ("n_actual", "int64"),
    ("actual_values", "string"),
    ("doc_id", "string"),
    ("source", "string"),
    ("occurrence", "int64"),
    ("start", "int64"),
    ("end", "int64"),
    ("surface", "string"),
    ("sentence", "string"),
    ("section_path", "string"),
    ("section", "string"),
    ("rule", "string"),
    ("confidence", "float64"),
]


# --- the indicator catalog ---------------------------------------------------------------------


@functools.cache
def catalog() -> tuple[dict[str, Any], ...]:
    """The indicator catalog (schemas/indicators.yaml) as normalised entries; empty when absent."""
    from extractor.rules import schemas_dir

    if not (schemas_dir() / "indicators.yaml").is_file():
        return ()
    from extractor.rules import load_schema_yaml

    return tuple(normalise_catalog(load_schema_yaml("indicators")))


def normalise_catalog(data: Any) -> list[dict[str, Any]]:
    """Entries {id, name, unit, kind, section, triggers, definition} from a catalog document."""
    if isinstance(data, dict):
        data = data.get("indicators", data)
    if isinstance(data, dict):  # a mapping id -> entry
        data = [{"id": k, **(v or {})} for k, v in data.items()]
    entries = []
    for raw in data or []:
        ind_id = str(raw.get("id") or "").strip()
        if not ind_id:
            continue
        triggers = raw.get("triggers") or raw.get("trigger_words") or raw.get("synonyms") or []
        if isinstance(triggers, str):
            triggers = [t for t in re.split(r"[；;、,，]\s*", triggers) if t]
        name = str(raw.get("name") or raw.get("name_zh") or raw.get("label") or ind_id)
        kind = str(raw.get("kind") or "").strip().lower()
        entries.append(
            {
                "id": ind_id,
                "name": name,
                "unit": str(raw.get("unit") or ""),
                "kind": _KINDS.get(kind, kind),
                "section": str(raw.get("section") or ""),
                "triggers": [str(t) for t in triggers],
                "definition": str(raw.get("definition") or raw.get("description") or name),
            }
        )
    return entries


# --- documents → panel rows ----------------------------------------------------------------------


@dataclass
class PanelDoc:
    """What the panel needs of one processed document."""

    doc_id: str
    sources: list[str]
    chars: int
    title: str
    issuer: str
    region: dict[str, str]
    level: str
    report_year: int | None
    indicators: list[dict[str, Any]]
    text: str = ""
    key: tuple[str, ...] = field(default=())
    key_status: str = "ok"


def panel_doc(record: dict[str, Any]) -> PanelDoc | None:
    """The panel view of one documents.jsonl record; None when the document was not processed."""
    if record.get("status") != "ok":
        return None
    meta = record.get("metadata") or {}
    region_raw = meta.get("region") or {}
    region = {k: _text(region_raw.get(k)) for k in (*_REGION_PARTS, "admin_code")}
    issuers = meta.get("issuers") or []
    if isinstance(issuers, str):
        issuers = [issuers]
    doc = PanelDoc(
        doc_id=str(record.get("doc_id") or ""),
        sources=[str(record.get("source") or "")],
        chars=int(record.get("chars") or 0),
        title=_text(meta.get("title")),
        issuer=SEP.join(str(i) for i in issuers if i),
        region=region,
        level=_text(meta.get("level")),
        report_year=_year(meta.get("report_year")),
        indicators=list(record.get("indicators") or []),
        text=str(record.get("text") or ""),
    )
    doc.key, doc.key_status = panel_key(doc)
    return doc


def region_id(region: dict[str, str]) -> str:
    """A region's stable id: its names joined top-down by '/', else its administrative code.

    Names come first because the code is often the county's even when the report is a township's
    (invented or renamed townships have none of their own), and a county code would merge them.
    """
    names = "/".join(region.get(k) or "" for k in _REGION_PARTS).strip("/")
    return names or region.get("admin_code") or ""


def panel_key(doc: PanelDoc) -> tuple[tuple[str, ...], str]:
    """The grouping key of a document and its key status (ok, no_region, no_year, no_region_no_year)."""
    rid = region_id(doc.region)
    missing = [name for name, ok in (("region", rid), ("year", doc.report_year is not None)) if not ok]
    status = "no_" + "_no_".join(missing) if missing else "ok"
    issuer = doc.issuer if doc.level in _ISSUER_KEYED_LEVELS else ""
    year = "" if doc.report_year is None else str(doc.report_year)
    key = (rid, doc.level, issuer, year)
    # Without a region or a year there is nothing to compare on: such a document stays on its own row.
    if missing:
        key = (*key, doc.doc_id)
    return key, status


def _compact(text: str) -> str:
    """A text without whitespace (str.split's whitespace is exactly the \\s of re)."""
    return "".join(text.split())


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    """Character n-grams of a text with all whitespace removed."""
    compact = _compact(text)
    if len(compact) <= n:
        return {compact} if compact else set()
    return {compact[i : i + n] for i in range(len(compact) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two sets (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def shingle_codes(texts: list[str], n: int = SHINGLE) -> list[Any] | None:
    """The shingles of each text as a sorted array of distinct integers (None for an empty text).

    Characters are numbered within the texts' own alphabet, so an n-gram packs exactly into one
    64-bit integer and equal n-grams get equal numbers: sizes and intersections, hence Jaccard
    similarities, are those of `shingles`, at a fraction of the cost. None for all when a text is
    one short shingle (n characters or fewer) or the alphabet is too large to pack.
    """
    import numpy as np

    compact = [_compact(t) for t in texts]
    if any(0 < len(c) <= n for c in compact):
        return None
    points = [
        np.frombuffer(c.encode("utf-32-le", "surrogatepass"), dtype="<u4") if c else None for c in compact
    ]
    present = [p for p in points if p is not None]
    if not present:
        return [None] * len(texts)
    alphabet = _distinct(np.concatenate(present))
    bits = max(1, (len(alphabet) - 1).bit_length())
    if bits * n > 64:
        return None
    codes: list[Any] = []
    for p in points:
        if p is None:
            codes.append(None)
            continue
        chars = np.searchsorted(alphabet, p).astype(np.uint64)
        count = len(chars) - n + 1
        grams = chars[:count].copy()
        for k in range(1, n):
            grams = (grams << np.uint64(bits)) | chars[k : k + count]
        codes.append(_distinct(grams))
    return codes


def _distinct(values: Any) -> Any:
    """The distinct values of a numpy array, sorted (np.unique without its overhead on small arrays)."""
    import numpy as np

    values = np.sort(values)
    keep = np.empty(len(values), dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _near_codes(a: Any, b: Any) -> bool:
    """Whether two shingle_codes arrays are near-duplicates (Jaccard ≥ NEAR_DUPLICATE_JACCARD)."""
    import numpy as np

    small, large = sorted((len(a), len(b)))
    # The Jaccard similarity is at most small / large: most pairs of different reports stop here.
    if small / large < NEAR_DUPLICATE_JACCARD:
        return False
    at = np.searchsorted(b, a)
    at[at == len(b)] = 0
    common = int(np.count_nonzero(b[at] == a))
    return common / (len(a) + len(b) - common) >= NEAR_DUPLICATE_JACCARD


def merge_duplicates(docs: list[PanelDoc]) -> list[list[PanelDoc]]:
    """Cluster the documents of one group into reports: same doc_id, or near-duplicate cleaned texts.

    Each cluster lists its copies primary first; the primary copy has the longest cleaned text
    (a web copy is often cut short), then the smallest doc_id. Clusters come in primary order.
    """
    by_id: dict[str, PanelDoc] = {}
    for d in docs:
        if d.doc_id in by_id:
            by_id[d.doc_id].sources.extend(s for s in d.sources if s not in by_id[d.doc_id].sources)
        else:
            by_id[d.doc_id] = PanelDoc(**{**d.__dict__, "sources": list(d.sources)})
    unique = sorted(by_id.values(), key=lambda d: (-d.chars, d.doc_id))
    codes = shingle_codes([d.text for d in unique]) if len(unique) > 1 else [None]
    sets = [shingles(d.text) for d in unique] if codes is None else []

    def near(i: int, j: int) -> bool:
        # Texts that were not kept (keep_text off) cannot be compared: never merge on nothing.
        if codes is not None:
            return codes[i] is not None and codes[j] is not None and _near_codes(codes[i], codes[j])
        return bool(sets[i] and sets[j]) and jaccard(sets[i], sets[j]) >= NEAR_DUPLICATE_JACCARD

    clusters: list[list[PanelDoc]] = []
    taken = [False] * len(unique)
    for i, d in enumerate(unique):
        if taken[i]:
            continue
        taken[i] = True
        cluster = [d]
        for j in range(i + 1, len(unique)):
            if not taken[j] and near(i, j):
                taken[j] = True
                cluster.append(unique[j])
        clusters.append(cluster)
    return clusters


def _is_approx(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return value is not None and str(value).strip().lower() not in _FALSEY


def _canonical(value: Any, unit: str, kind: str) -> float | None:
    """The value in the catalog's canonical unit (money in 万元); None when not a finite number."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    # Indicator rows are already canonical; this only guards money rows that kept a raw unit.
    if kind == "money" and unit == "元":
        v /= 10000
    elif kind == "money" and unit == "亿元":
        v *= 10000
    return v


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def choose_value(
    candidates: list[tuple[int, dict[str, Any]]], entry: dict[str, Any], include_targets: bool = False
) -> dict[str, Any] | None:
    """Choose one indicator value among (document rank, indicator row) candidates; None when none.

    Order: actual (is_target false) first, canonical section first, document rank, occurrence,
    start offset. Targets fill a cell only when `include_targets` is set and no actual exists.
    """
    kind = entry["kind"]
    usable = []
    for rank, row in candidates:
        # The unit only matters for money (see _canonical).
        unit = _text(row.get("unit")) if kind == "money" else ""
        value = _canonical(row.get("value"), unit, kind)
        if value is not None:
            usable.append((rank, row, value))
    if not usable:
        return None

    def order(item: tuple[int, dict[str, Any], float]) -> tuple[Any, ...]:
        rank, row, _ = item
        return (
            bool(row.get("is_target")),
            _text(row.get("section")) != entry["section"] if entry["section"] else False,
            rank,
            _int(row.get("occurrence"), 0),
            _int(row.get("start"), 0),
        )

    if len(usable) > 1:
        usable.sort(key=order)
    actual = [v for _, row, v in usable if not row.get("is_target")]
    distinct: list[float] = []
    for v in actual:
        if not distinct or not any(_same(v, d) for d in distinct):
            distinct.append(v)
    rank, row, value = usable[0]
    is_target = bool(row.get("is_target"))
    if is_target and not include_targets:
        flag, value = "missing", None
    elif len(distinct) > 1:
        flag = "conflict"
    elif is_target:
        flag = "target"
    elif _is_approx(row.get("approx")):
        flag = "approx"
    else:
        flag = "ok"
    return {
        "row": row,
        "rank": rank,
        "value": value,
        "flag": flag,
        "is_target": is_target,
        "n_candidates": len(usable),
        "n_actual": len(actual),
        "actual_values": SEP.join(map(_fmt, distinct)),
    }


def build_panel(
    records: Iterable[dict[str, Any]],
    indicators: Iterable[dict[str, Any]] | None = None,
    include_targets: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Build (panel rows, panel_values rows) from documents.jsonl records (pure; no I/O)."""
    entries = list(catalog() if indicators is None else indicators)
    _check_ids(entries)
    groups: dict[tuple[str, ...], list[PanelDoc]] = {}
    for record in records:
        doc = panel_doc(record)
        if doc is not None:
            groups.setdefault(doc.key, []).append(doc)
    rows: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    for key in sorted(groups, key=_sort_key(groups)):
        row, cells = _panel_row(key, merge_duplicates(groups[key]), entries, include_targets)
        rows.append(row)
        values.extend(cells)
    return rows, values


def _group_order(key: tuple[str, ...], first: PanelDoc) -> tuple[Any, ...]:
    """Where a group's row goes in the panel: by region names, level, issuer, year, then key."""
    return (*(first.region.get(p) or "" for p in _REGION_PARTS), first.level, key[2], first.report_year or 0, key)


def _sort_key(groups: dict[tuple[str, ...], list[PanelDoc]]) -> Any:
    def key(k: tuple[str, ...]) -> tuple[Any, ...]:
        return _group_order(k, groups[k][0])

    return key


def _panel_row(
    key: tuple[str, ...], clusters: list[list[PanelDoc]], entries: list[dict[str, Any]], include_targets: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    # Copies of one report rank right after its primary copy, so they only matter for conflicts.
    docs = [d for cluster in clusters for d in cluster]
    primary = docs[0]
    pkey = "|".join(key)
    row: dict[str, Any] = {
        "panel_key": pkey,
        "region_id": key[0],
        **{p: primary.region.get(p) or None for p in (*_REGION_PARTS, "admin_code")},
        "level": primary.level or None,
        "issuer": primary.issuer or None,
        "report_year": primary.report_year,
        "key_status": primary.key_status,
        "title": primary.title or None,
        "n_documents": len(clusters),
        "n_sources": sum(len(d.sources) for d in docs),
        "n_indicators": 0,
        "doc_ids": SEP.join(d.doc_id for d in docs),
        "sources": SEP.join(s for d in docs for s in d.sources),
    }
    by_indicator: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for rank, d in enumerate(docs):
        for ind in d.indicators:
            by_indicator.setdefault(str(ind.get("indicator")), []).append((rank, ind))
    cells = []
    found = 0
    for entry in entries:
        # Most catalog indicators have no row in a group: choose_value would return None for them.
        candidates = by_indicator.get(entry["id"])
        chosen = choose_value(candidates, entry, include_targets) if candidates else None
        row[entry["id"]] = chosen["value"] if chosen else None
        row[entry["id"] + FLAG_SUFFIX] = chosen["flag"] if chosen else "missing"
        if chosen is None:
            continue
        found += chosen["value"] is not None
        src = chosen["row"]
        doc = docs[chosen["rank"]]
        cells.append(
            {
                "panel_key": pkey,
                "region_id": key[0],
                "level": row["level"],
                "report_year": row["report_year"],
                "indicator": entry["id"],
                "name": entry["name"],
                "kind": entry["kind"],
                "value": chosen["value"],
                "unit": entry["unit"] or _text(src.get("unit")),
                "flag": chosen["flag"],
                "approx": _text(src.get("approx")) if _is_approx(src.get("approx")) else None,
                "is_target": chosen["is_target"],
                "n_candidates": chosen["n_candidates"],
                "n_actual": chosen["n_actual"],
                "actual_values": chosen["actual_values"] or None,
                "doc_id": doc.doc_id,
                "source": doc.sources[0] if doc.sources else None,
                "occurrence": src.get("occurrence"),
                "start": src.get("start"),
                "end": src.get("end"),
                "surface": src.get("surface"),
                "sentence": src.get("sentence"),
                "section_path": src.get("section_path"),
                "section": src.get("section"),
                "rule": src.get("rule"),
                "confidence": src.get("confidence"),
            }
        )
    row["n_indicators"] = found
    return row, cells


def _check_ids(entries: list[dict[str, Any]]) -> None:
    fixed = {c for c, _ in PANEL_COLUMNS}
    seen: set[str] = set()
    for e in entries:
        if e["id"] in fixed or e["id"] in seen:
            raise ValueError(f"indicator id {e['id']!r} clashes with a panel column or another indicator")
        seen.add(e["id"])


def panel_columns(indicators: Iterable[dict[str, Any]] | None = None) -> list[tuple[str, str]]:
    """All wide-panel columns, fixed then (value, flag) per catalog indicator: (column, arrow type)."""
    entries = list(catalog() if indicators is None else indicators)
    cols = list(PANEL_COLUMNS)
    for e in entries:
        cols += [(e["id"], "float64"), (e["id"] + FLAG_SUFFIX, "string")]
    return cols


# --- files --------------------------------------------------------------------------------------


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    """Stream the records of a documents.jsonl file."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


# The top-level fields the panel reads from a documents.jsonl record besides its status: the
# grouping pass needs the first two, building a group all (the text only to compare documents).
_KEY_FIELDS = ("doc_id", "metadata")
_DOC_FIELDS = (*_KEY_FIELDS, "source", "chars", "indicators")

_scan_value = json.JSONDecoder().scan_once
# The bytes _depth drops: all but quotes and brackets (UTF-8 never uses ASCII bytes inside a character).
_NOT_MARKS = bytes(sorted(set(range(256)) - set(b'"[]{}')))
# Bytes decoded first for a scalar value (an id, a count, a path).
_SCALAR_WINDOW = 1024
# The key the writer puts after a big value (keys are sorted): where its decoding may stop.
_NEXT_KEY = {"indicators": b'"mentions": '}


def _depth(fragment: bytes) -> int:
    """Opened minus closed brackets in a piece of JSON text, brackets inside strings not counted."""
    # Escapes only occur inside strings: dropping escaped backslashes, then escaped quotes, leaves
    # every remaining quote a delimiter. Texts hold many escaped newlines, these two seldom.
    if b"\\\\" in fragment:
        fragment = fragment.replace(b"\\\\", b"")
    if b'\\"' in fragment:
        fragment = fragment.replace(b'\\"', b"")
    # Quotes and brackets only. Two adjacent quotes are an empty string, or two strings with
    # nothing outside between them: dropping the pair leaves what is outside the strings as it is.
    marks = fragment.translate(None, _NOT_MARKS).replace(b'""', b"")
    if b'"' in marks:  # strings holding brackets
        marks = b"".join(marks.split(b'"')[::2])
    return marks.count(b"{") + marks.count(b"[") - marks.count(b"}") - marks.count(b"]")


def _member_value(line: bytes, start: int, stop: int) -> tuple[bool, Any]:
    """(True, value) for the JSON value of an object member at byte `start`; (False, None) if none.

    Only the value's own bytes are decoded when it ends before `stop` (or, for a scalar, within a
    short window); otherwise the rest of the line. It must be followed by ',' or '}'.
    """
    if stop <= start:
        stop = start + _SCALAR_WINDOW if line[start : start + 1] not in (b"[", b"{") else len(line)
    for cut in (stop, len(line)) if stop < len(line) else (len(line),):
        # A cut never splits a UTF-8 sequence: back off continuation bytes (10xxxxxx).
        while start < cut < len(line) and 0x80 <= line[cut] < 0xC0:
            cut -= 1
        text = line[start:cut].decode("utf-8")
        try:
            value, end = _scan_value(text, 0)
        except (StopIteration, ValueError):
            continue  # cut short, or not JSON: the whole rest, or the caller's full decode, decides
        # What follows tells a complete value from a number cut short ("1." of "1.5").
        if text[end:].lstrip(" \t\r\n")[:1] in (",", "}"):
            return True, value
    return False, None


def top_level_fields(line: bytes, keys: Iterable[str]) -> dict[str, Any] | None:
    """Decode only some top-level fields of a one-line JSON object; None when that cannot be done safely.

    A record line is mostly headings and mentions the panel never reads: the wanted values are
    found by their `"key": ` bytes and decoded alone. A match counts only at the top level
    (bracket depth 1, counted on the shorter side of the line); as with json.loads the last one
    wins. None (decode the whole line instead) when a key is absent or written another way.
    """
    found: dict[str, Any] = {}
    size = len(line)
    for key in keys:
        needle = f'"{key}": '.encode()
        end = size
        while True:
            at = line.rfind(needle, 0, end)
            if at < 0:
                return None
            if (_depth(line[:at]) == 1) if at <= size - at else (_depth(line[at:]) == -1):
                break
            end = at
        start = at + len(needle)
        stop = line.find(_NEXT_KEY[key], start) if key in _NEXT_KEY else -1
        ok, found[key] = _member_value(line, start, stop)
        if not ok:
            return None
    return found


def _fields(line: bytes, keys: tuple[str, ...]) -> dict[str, Any]:
    """Some top-level fields of one documents.jsonl line, None for absent ones (as record.get gives)."""
    try:
        found = top_level_fields(line, keys)
    except UnicodeDecodeError:
        found = None
    if found is None:
        record = json.loads(line)
        found = {k: record.get(k) for k in keys}
    return found


def _index_run(
    jsonl: Path,
) -> tuple[dict[tuple[str, ...], list[tuple[int, int]]], dict[tuple[str, ...], tuple[Any, ...]]]:
    """One pass over documents.jsonl: the (offset, size) of each panel key's records, and its sort key.

    Only offsets and keys are kept (tens of bytes per document), never the records themselves.
    """
    offsets: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    order: dict[tuple[str, ...], tuple[Any, ...]] = {}
    with jsonl.open("rb") as fh:
        pos = 0
        for line in fh:
            start, pos = pos, pos + len(line)
            if line.isspace():  # as `not line.strip()`, without copying the line
                continue
            # The status first: a failed document's record may lack the other fields.
            if _fields(line, ("status",))["status"] != "ok":
                continue
            doc = panel_doc({"status": "ok", **_fields(line, _KEY_FIELDS)})
            if doc is None:
                continue
            if doc.key not in offsets:
                offsets[doc.key] = []
                order[doc.key] = _group_order(doc.key, doc)
            offsets[doc.key].append((start, len(line)))
    return offsets, order


def _read_group(fh: Any, spans: list[tuple[int, int]]) -> list[PanelDoc]:
    """The panel documents of one group, read back by offset; texts only when the group must compare them."""
    docs = []
    lines = []
    for start, size in spans:
        fh.seek(start)
        line = fh.read(size)
        doc = panel_doc({"status": "ok", **_fields(line, _DOC_FIELDS)})  # the index kept processed ones only
        if doc is not None:
            docs.append(doc)
            lines.append(line)
    # Texts only serve to find near-duplicates among different documents (merge_duplicates).
    if len({d.doc_id for d in docs}) > 1:
        for doc, line in zip(docs, lines, strict=True):
            doc.text = str(_fields(line, ("text",))["text"] or "")
    return docs


def iter_panel_groups(
    out: str | Path, indicators: Iterable[dict[str, Any]] | None = None, include_targets: bool = False
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Yield (panel row, panel_values rows) group by group, in panel order, with bounded memory.

    The same rows as `build_panel` over the run's records, but only one region × year group's
    records are in memory at a time: they are read back by offset from documents.jsonl.
    """
    entries = list(catalog() if indicators is None else indicators)
    _check_ids(entries)
    jsonl = Path(out) / "documents.jsonl"
    offsets, order = _index_run(jsonl)
    with jsonl.open("rb") as fh:
        for key in sorted(offsets, key=order.__getitem__):
            docs = _read_group(fh, offsets[key])
            yield _panel_row(key, merge_duplicates(docs), entries, include_targets)


def build_panel_from_run(
    out: str | Path, indicators: Iterable[dict[str, Any]] | None = None, include_targets: bool = False
) -> tuple[Any, Any]:
    """Build the panel of a run folder as two pandas DataFrames (panel, panel_values)."""
    entries = list(catalog() if indicators is None else indicators)
    rows: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    for row, cells in iter_panel_groups(out, entries, include_targets):
        rows.append(row)
        values.extend(cells)
    return to_frame(rows, panel_columns(entries)), to_frame(values, PANEL_VALUE_COLUMNS)


def to_frame(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> Any:
    """A DataFrame with the given columns and nullable dtypes (Int64, Float64-as-float, boolean)."""
    import pandas as pd

    dtypes = {"string": "object", "int64": "Int64", "float64": "float64", "bool": "boolean"}
    data = {c: [r.get(c) for r in rows] for c, _ in columns}
    frame = pd.DataFrame(data, columns=[c for c, _ in columns])
    for c, kind in columns:
        if kind == "float64":
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
        elif kind == "string":
            frame[c] = frame[c].astype("object").where(frame[c].notna(), None)
        else:
            frame[c] = frame[c].astype(dtypes[kind])
    return frame


# Integers this large lose digits on pandas' way through float64: batches holding one go that way.
_EXACT_INT = 2**53
_not_none = functools.partial(operator.is_not, None)
# The dtypes to_frame gives each column type, as pyarrow's pandas metadata names them.
_PANDAS_TYPES = {
    "string": ("unicode", "object"),
    "int64": ("int64", "Int64"),
    "float64": ("float64", "float64"),
    "bool": ("bool", "boolean"),
}


def plain_columns(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> list[Sequence[Any]] | None:
    """The rows as one sequence per column, valued as `to_frame` would; None when a value needs pandas.

    Plain values are None, str in text columns, bool in flag columns, int in integer columns and
    int or float in float columns (NaN becomes None, as to_frame makes it missing).
    """
    names = [c for c, _ in columns]
    try:
        # One C call per row; a single column would make itemgetter return bare values.
        get = operator.itemgetter(*names) if len(names) > 1 else lambda r: (r[names[0]],)
        table = list(map(get, rows))
    except KeyError:
        table = [tuple(r.get(c) for c in names) for r in rows]
    data: list[Sequence[Any]] = list(zip(*table, strict=True)) if table else [()] * len(names)
    for i, (_, kind) in enumerate(columns):
        values = data[i]
        types = set(map(type, values))
        types.discard(type(None))
        if kind == "float64":
            if not types <= {float, int}:
                return None
            if int in types or any(map(math.isnan, filter(_not_none, values))):
                if any(type(v) is int and not -_EXACT_INT < v < _EXACT_INT for v in values):
                    return None
                data[i] = [None if v is None or v != v else float(v) for v in values]
        elif kind == "int64":
            if not types <= {int} or max(map(abs, filter(_not_none, values)), default=0) >= _EXACT_INT:
                return None
        elif not types <= ({bool} if kind == "bool" else {str}):
            return None
    return data


def write_csv_rows(fh: Any, columns: list[tuple[str, str]], data: list[Sequence[Any]], header: bool) -> None:
    """Write plain column lists as CSV rows, exactly as to_csv(index=False) writes to_frame's frame."""
    # pandas writes with the csv module: minimal quoting, doubled quotes, os.linesep, floats as
    # repr, missing values empty. The module tests every character of every field, so the cells
    # are made here column by column, and the module only writes batches it must quote itself.
    names = _csv_cells([c for c, _ in columns])
    cells = [_csv_cells(values) for values in data] if len(columns) > 1 else [None]
    if names is not None and all(c is not None for c in cells):
        lines = [",".join(names)] if header else []
        lines += map(",".join, zip(*cells, strict=True))
        fh.write(os.linesep.join(lines) + os.linesep if lines else "")
        return
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator=os.linesep)
    if header:
        writer.writerow([c for c, _ in columns])
    writer.writerows(zip(*data, strict=True))
    fh.write(text.getvalue())


def _csv_cells(values: Sequence[Any]) -> list[str] | None:
    """The CSV cells of one plain column (see write_csv_rows); None when one holds a carriage return.

    A cell holding the delimiter, a quote or a newline is quoted, its quotes doubled, as the csv
    module does; a carriage return is left to the module (its quoting of one depends on the line
    terminator and the Python version).
    """
    cells = [
        v if type(v) is str else "" if v is None else repr(v) if type(v) is float else str(v) for v in values
    ]
    joined = "".join(cells)
    if "\r" in joined:
        return None
    if "," in joined or '"' in joined or "\n" in joined:
        cells = [_csv_quoted(c) if "," in c or '"' in c or "\n" in c else c for c in cells]
    return cells


def _csv_quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


def arrow_table(data: list[Sequence[Any]], schema: Any) -> Any:
    """An Arrow table from plain column lists (see plain_columns) with a fixed schema."""
    import pyarrow as pa

    arrays = [pa.array(values, type=f.type) for values, f in zip(data, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def pandas_metadata(columns: list[tuple[str, str]]) -> bytes:
    """The pandas metadata pyarrow stores for a frame from `to_frame`, so pandas reads back its dtypes."""
    from importlib.metadata import version

    import pyarrow as pa

    meta = {
        "index_columns": [],
        "column_indexes": [],
        "columns": [
            {
                "name": col,
                "field_name": col,
                "pandas_type": _PANDAS_TYPES[kind][0],
                "numpy_type": _PANDAS_TYPES[kind][1],
                "metadata": None,
            }
            for col, kind in columns
        ],
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": version("pandas"),
    }
    return json.dumps(meta).encode("utf-8")


# Panel rows per written batch: CSV rows and one Parquet row group each, so memory stays flat.
PANEL_BATCH = 1000


def write_panel(out: str | Path, indicators: Iterable[dict[str, Any]] | None = None) -> dict[str, int]:
    """Write panel.{csv,parquet} and panel_values.{csv,parquet} into a run folder and its DuckDB file.

    Rows are written in batches as groups are built, never holding the whole panel in memory.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    entries = list(catalog() if indicators is None else indicators)
    specs = {"panel": panel_columns(entries), "panel_values": PANEL_VALUE_COLUMNS}
    tmp = {name: (out / f".{name}.csv.tmp", out / f".{name}.parquet.tmp") for name in specs}
    counts = dict.fromkeys(specs, 0)
    buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in specs}
    csv_files = {name: tmp[name][0].open("w", encoding="utf-8", newline="") for name in specs}
    parquet: dict[str, Any] = {}
    schemas = {
        name: arrow_schema(cols).with_metadata({b"pandas": pandas_metadata(cols)})
        for name, cols in specs.items()
    }

    def flush(name: str) -> None:
        rows, header = buffers[name], counts[name] == 0
        data = plain_columns(rows, specs[name])
        if data is None:
            # Values of other types (numbers as text, fractional offsets...): pandas converts them.
            frame = to_frame(rows, specs[name])
            frame.to_csv(csv_files[name], index=False, header=header)
            table = pa.Table.from_pandas(frame, schema=arrow_schema(specs[name]), preserve_index=False)
        else:
            write_csv_rows(csv_files[name], specs[name], data, header)
            table = arrow_table(data, schemas[name])
        if name not in parquet:
            # The first batch's schema carries pandas' metadata, so nullable dtypes read back as written.
            parquet[name] = pq.ParquetWriter(tmp[name][1], table.schema)
        parquet[name].write_table(table)
        if loader is not None:
            loader.add(name, table)
        counts[name] += len(rows)
        buffers[name] = []

    db = out / "extractor.duckdb"
    loader = DuckDBLoader(db) if db.is_file() else None
    published = False
    try:
        for row, cells in iter_panel_groups(out, entries):
            buffers["panel"].append(row)
            buffers["panel_values"].extend(cells)
            if len(buffers["panel"]) >= PANEL_BATCH:
                flush("panel")
            if len(buffers["panel_values"]) >= PANEL_BATCH:
                flush("panel_values")
        for name in specs:
            if buffers[name] or counts[name] == 0:
                flush(name)  # an empty panel still gets its header and a typed Parquet file
        for name in specs:
            csv_files[name].close()
            parquet[name].close()
            tmp[name][0].chmod(0o644)
            tmp[name][0].replace(out / f"{name}.csv")
            tmp[name][1].replace(out / f"{name}.parquet")
        published = True
    finally:
        for name in specs:
            csv_files[name].close()
            if name in parquet:
                parquet[name].close()
        # The DuckDB tables change only once the files are published, as if loaded from them.
        if loader is not None:
            loader.close(commit=published)
    return counts


def arrow_schema(columns: list[tuple[str, str]]) -> Any:
    """An Arrow schema from (column, type) pairs."""
    from extractor.outputs import schema_of

    return schema_of(columns)


def frame_to_parquet(
    frame: Any,
    path: Path,
    columns: list[tuple[str, str]] | None = None,
    metadata: dict[str, str] | None = None,
) -> None:
    """Write a DataFrame as Parquet with a fixed schema (so all-empty columns keep their type)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(columns) if columns else None
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    pq.write_table(table, path)


# Views over the run tables, created in every DuckDB file that holds them.
DUCKDB_VIEWS = {
    # Every indicator row with the region and year of its document, ready to pivot. The same file
    # under two paths has one documents row per path: join on one of them, so rows are not doubled.
    "indicator_values": (
        "SELECT d.province, d.city, d.county, d.township, d.admin_code, d.level AS region_level, "
        "d.report_year, d.title, i.* FROM indicators i JOIN ("
        "SELECT DISTINCT ON (doc_id) * FROM documents ORDER BY doc_id, source) d USING (doc_id)"
    ),
}


class DuckDBLoader:
    """Replaces tables of an existing DuckDB file batch by batch, on a thread of its own.

    DuckDB works without holding the GIL, so loading overlaps the building of the next batches
    instead of reading the finished Parquet files back at the end. Batches go to staging tables
    (committed one by one, so DuckDB's memory stays flat); they replace the tables in a single
    transaction at the end, or are dropped. The tables and views are those add_to_duckdb makes
    from the same batches written as Parquet.
    """

    STAGING = "{}__building"

    def __init__(self, db: Path) -> None:
        import queue
        import threading

        self.db = db
        self.error: BaseException | None = None
        self._commit = False
        # A few batches at most wait in memory.
        self._queue: Any = queue.Queue(maxsize=4)
        self._thread = threading.Thread(target=self._run, name="panel-duckdb", daemon=True)
        self._thread.start()

    def add(self, table: str, batch: Any) -> None:
        """Queue an Arrow batch of a table: the first one starts the table anew, the next ones append."""
        # After an error the files are still written; close() raises it once they are published.
        if self.error is None:
            self._queue.put((table, batch))

    def close(self, commit: bool) -> None:
        """Replace the tables (and create the views) or drop what was loaded; re-raise the thread's error."""
        self._commit = commit
        self._queue.put(None)
        self._thread.join()
        if self.error is not None and commit:
            raise self.error

    def _run(self) -> None:
        con = None
        done = False
        started: list[str] = []
        try:
            import duckdb

            con = duckdb.connect(str(self.db))
            # One thread while the rows are built on another core.
            con.execute("SET threads = 1")
            while (item := self._queue.get()) is not None:
                table, batch = item
                staging = self.STAGING.format(table)
                con.register("panel_batch", batch)
                if table in started:
                    con.execute(f'INSERT INTO "{staging}" SELECT * FROM panel_batch')
                else:
                    con.execute(f'CREATE OR REPLACE TABLE "{staging}" AS SELECT * FROM panel_batch')
                    started.append(table)
                con.unregister("panel_batch")
            done = True
            if self._commit:
                con.execute("RESET threads")  # nothing else runs now: all cores for the checkpoint
                con.execute("BEGIN TRANSACTION")
                for table in started:
                    con.execute(f'DROP TABLE IF EXISTS "{table}"')
                    con.execute(f'ALTER TABLE "{self.STAGING.format(table)}" RENAME TO "{table}"')
                create_views(con)
                con.execute("COMMIT")
                started = []
        except BaseException as exc:
            self.error = exc
            # Keep taking batches until the end, so the producer never waits on a full queue.
            while not done and self._queue.get() is not None:
                pass
        finally:
            if con is not None:
                if self.error is not None:
                    with contextlib.suppress(Exception):  # raises when no transaction is open
                        con.execute("ROLLBACK")
                for table in started:  # not swapped in: leave no staging table behind
                    with contextlib.suppress(Exception):
                        con.execute(f'DROP TABLE IF EXISTS "{self.STAGING.format(table)}"')
                con.close()


def add_to_duckdb(db: Path, parquet: dict[str, Path]) -> None:
    """Replace tables in an existing DuckDB file from Parquet files and (re)create the views."""
    import duckdb

    con = duckdb.connect(str(db))
    try:
        for table, src in parquet.items():
            con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM read_parquet(?)', [str(src)])
        create_views(con)
    finally:
        con.close()


def create_views(con: Any) -> None:
    """Create the views whose tables exist in an open DuckDB connection."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if {"indicators", "documents"} <= tables:
        for name, sql in DUCKDB_VIEWS.items():
            con.execute(f'CREATE OR REPLACE VIEW "{name}" AS {sql}')


def load_panel(out: str | Path) -> Any:
    """The wide panel of a run folder as a pandas DataFrame (built on the fly for older runs)."""
    import pandas as pd

    out = Path(out)
    path = out / "panel.parquet"
    if path.is_file():
        frame = pd.read_parquet(path)
    elif (out / "documents.jsonl").is_file():
        frame = build_panel_from_run(out)[0]
    else:
        raise FileNotFoundError(
            f"{out} holds neither panel.parquet nor documents.jsonl: run `extractor run` first"
        )
    return frame


# --- small helpers -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return SEP.join(str(v) for v in value)
    return str(value).strip()


def _year(value: Any) -> int | None:
    try:
        year = int(str(value).strip()[:4])
    except (TypeError, ValueError):
        return None
    return year if 1949 <= year <= 2100 else None


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(v)
