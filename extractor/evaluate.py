"""Evaluation: score the pipeline against hand-checked gold files and enforce quality floors.

Gold files (*.gold.json, format in schemas/gold.schema.json) name a document and list its
metadata, headings and numeric facts. `evaluate` runs the pipeline on each named document and
scores headings and numbers as precision/recall/F1 and metadata fields as accuracy, per document
and micro-averaged over all documents. The scoring itself (`score`) is a pure function of a gold
record and a Document, so tests can score hand-built predictions.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.clean import normalise_width
from extractor.model import Document

GOLD_SUFFIX = ".gold.json"
# Values agree when they differ by at most this fraction (1.2万 read as 12000.000000001 is fine).
VALUE_REL_TOL = 1e-6
# Mention kinds that are not level values; the gold never lists them (see schemas/gold.schema.json).
NON_LEVEL_KINDS = frozenset({"delta"})
# Scale words that may lead a unit: 836.5万元 written as (836.5, 万元) or as (8365000, 元) is one
# quantity, so both sides are compared as (value × scale, base unit).
UNIT_SCALES = {"万": 1e4, "亿": 1e8}
# Metadata fields scored when present in a gold file, in report order.
METADATA_FIELDS = (
    "title",
    "issuers",
    "doc_number",
    "reference_doc_number",
    "addressee",
    "report_year",
    "signed_date",
    "region_path",
    "level",
)
# Gazetteer placeholders that stand between a province and its counties; not part of a path.
REGION_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
# Metrics a floors file may name; each is a number in [0, 1].
METRICS = (
    "headings_p",
    "headings_r",
    "headings_f1",
    "headings_marker_p",
    "headings_marker_r",
    "headings_marker_f1",
    "numbers_p",
    "numbers_r",
    "numbers_f1",
    "numbers_q_p",
    "numbers_q_r",
    "numbers_q_f1",
    "metadata_acc",
)

_SPACE = re.compile(r"\s+")

_FLOORS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "overall": {"$ref": "#/$defs/floors"},
        "documents": {"type": "object", "additionalProperties": {"$ref": "#/$defs/floors"}},
    },
    "additionalProperties": False,
    "$defs": {
        "floors": {
            "type": "object",
            "propertyNames": {"enum": list(METRICS)},
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
        }
    },
}


class EvalError(ValueError):
    """A gold or floors file is unreadable or invalid, or names a document that is not there."""


# ---------------------------------------------------------------------------------------------
# Counting


@dataclass
class Counts:
    """True positives, false positives and false negatives of one matching."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        """Share of predictions that match gold; 1.0 when nothing was expected nor predicted."""
        if self.tp + self.fp == 0:
            return 1.0 if self.fn == 0 else 0.0
        return self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        """Share of gold items found; 1.0 when nothing was expected nor predicted."""
        if self.tp + self.fn == 0:
            return 1.0 if self.fp == 0 else 0.0
        return self.tp / (self.tp + self.fn)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def norm(value: Any) -> str:
    """The comparison form of a string: half-width, no whitespace; None becomes ''."""
    if value is None:
        return ""
    return _SPACE.sub("", normalise_width(str(value)))


# ---------------------------------------------------------------------------------------------
# Headings


def lcs_pairs(a: Sequence[Any], b: Sequence[Any]) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence of `a` and `b` (an order-keeping 1:1 matching)."""
    n, m = len(a), len(b)
    # table[i][j] = LCS length of a[i:], b[j:]; filled backwards so the walk below goes forwards.
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if a[i] == b[j] else max(below[j], row[j + 1])
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        if a[i] == b[j]:
            pairs.append((i, j))
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _heading_key(h: dict[str, Any], part: str) -> tuple[int, str]:
    try:
        level = int(h.get("level") or 0)
    except (TypeError, ValueError):
        level = 0
    return (level, norm(h.get(part)))


@dataclass
class HeadingScore:
    """Heading matching on (level, text) and on (level, marker)."""

    text: Counts
    marker: Counts
    missed: list[dict[str, Any]] = field(default_factory=list)
    spurious: list[dict[str, Any]] = field(default_factory=list)


def score_headings(gold: list[dict[str, Any]], predicted: list[dict[str, Any]]) -> HeadingScore:
    """Align predicted with gold headings in reading order and count matches."""
    g_text = [_heading_key(h, "text") for h in gold]
    p_text = [_heading_key(h, "text") for h in predicted]
    pairs = lcs_pairs(g_text, p_text)
    g_marker = [_heading_key(h, "marker") for h in gold]
    p_marker = [_heading_key(h, "marker") for h in predicted]
    marker_tp = len(lcs_pairs(g_marker, p_marker))
    tp = len(pairs)
    matched_g = {i for i, _ in pairs}
    matched_p = {j for _, j in pairs}
    return HeadingScore(
        text=Counts(tp, len(predicted) - tp, len(gold) - tp),
        marker=Counts(marker_tp, len(predicted) - marker_tp, len(gold) - marker_tp),
        missed=[_brief_heading(h) for i, h in enumerate(gold) if i not in matched_g],
        spurious=[_brief_heading(h) for j, h in enumerate(predicted) if j not in matched_p],
    )


def _brief_heading(h: dict[str, Any]) -> dict[str, Any]:
    return {"level": h.get("level"), "marker": h.get("marker"), "text": h.get("text")}


# ---------------------------------------------------------------------------------------------
# Numbers


def _squeezed(text: str) -> tuple[str, list[int]]:
    """The text without whitespace, and for each kept char its index in `text`."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if not ch.isspace():
            chars.append(ch)
            index.append(i)
    return "".join(chars), index


def locate_quotes(text: str, quotes: Sequence[str]) -> list[tuple[int, int] | None]:
    """Span of each quote in `text`, ignoring whitespace; the k-th repeat of a quote takes the k-th occurrence."""
    squeezed, index = _squeezed(normalise_width(text))
    seen: dict[str, int] = {}
    spans: list[tuple[int, int] | None] = []
    for quote in quotes:
        q = norm(quote)
        k = seen.get(q, 0)
        seen[q] = k + 1
        pos = -1
        for _ in range(k + 1):
            pos = squeezed.find(q, pos + 1) if q else -1
            if pos < 0:
                break
        spans.append((index[pos], index[pos + len(q) - 1] + 1) if pos >= 0 else None)
    return spans


def _approx_key(value: Any) -> str:
    return norm(value) if value not in (None, False) else ""


def quantity(value: Any, unit: Any) -> tuple[float, str] | None:
    """(value, unit) with a leading scale word moved into the value: (836.5, 万元) -> (8365000.0, 元)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    u = norm(unit)
    while len(u) > 1 and u[0] in UNIT_SCALES:
        v, u = v * UNIT_SCALES[u[0]], u[1:]
    return v, u


def same_quantity(gold: dict[str, Any], mention: dict[str, Any]) -> bool:
    """Whether a mention states the gold number's value in its unit (as written or normalised)."""
    g = quantity(gold["value"], gold["unit"])
    if g is None:
        return False
    for unit in ({mention.get("unit"), mention.get("unit_norm")} - {None}) or {""}:
        p = quantity(mention.get("value"), unit)
        if p is not None and p[1] == g[1] and math.isclose(p[0], g[0], rel_tol=VALUE_REL_TOL, abs_tol=1e-9):
            return True
    return False


def _compatible(gold: dict[str, Any], span: tuple[int, int], mention: dict[str, Any], qualifier: bool) -> bool:
    try:
        start, end = int(mention["start"]), int(mention["end"])
    except (KeyError, TypeError, ValueError):
        return False
    if not (start < span[1] and end > span[0]) or not same_quantity(gold, mention):
        return False
    return not qualifier or _approx_key(gold.get("approx")) == _approx_key(mention.get("approx"))


def max_matching(candidates: list[list[int]]) -> dict[int, int]:
    """Maximum one-to-one matching of left items to right items (Kuhn's augmenting paths)."""
    owner: dict[int, int] = {}  # right item -> left item

    def augment(left: int, visited: set[int]) -> bool:
        for right in candidates[left]:
            if right in visited:
                continue
            visited.add(right)
            if right not in owner or augment(owner[right], visited):
                owner[right] = left
                return True
        return False

    for left in range(len(candidates)):
        augment(left, set())
    return {left: right for right, left in owner.items()}


def level_mentions(mentions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The predicted mentions that are scored: level values, not deltas, each numeral once.

    A numeral shared by several facts (报备率、报备及时率均为100%) may come as several mentions
    with one span; it is one number in the text and in the gold, so it counts once.
    """
    out: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for m in mentions:
        if m.get("kind") in NON_LEVEL_KINDS or m.get("value") is None:
            continue
        key = (m.get("start"), m.get("end"), quantity(m.get("value"), m.get("unit")))
        if key in seen:
            continue
        seen.add(key)
        out.append(m)
    return out


@dataclass
class NumberScore:
    """Number matching on value+unit and on value+unit+qualifier."""

    plain: Counts
    qualified: Counts
    missed: list[dict[str, Any]] = field(default_factory=list)
    spurious: list[dict[str, Any]] = field(default_factory=list)
    wrong_qualifier: list[dict[str, Any]] = field(default_factory=list)
    quotes_not_found: list[str] = field(default_factory=list)


def score_numbers(gold: list[dict[str, Any]], mentions: list[dict[str, Any]], text: str) -> NumberScore:
    """Match predicted mentions to gold numbers one-to-one and count matches."""
    predicted = level_mentions(mentions)
    spans = locate_quotes(text, [g["quote"] for g in gold])
    results: dict[bool, dict[int, int]] = {}
    for qualifier in (False, True):
        candidates = [
            [j for j, m in enumerate(predicted) if span is not None and _compatible(g, span, m, qualifier)]
            for g, span in zip(gold, spans, strict=True)
        ]
        results[qualifier] = max_matching(candidates)
    plain, qualified = results[False], results[True]
    used = set(plain.values())
    return NumberScore(
        plain=Counts(len(plain), len(predicted) - len(plain), len(gold) - len(plain)),
        qualified=Counts(len(qualified), len(predicted) - len(qualified), len(gold) - len(qualified)),
        missed=[_brief_gold_number(g) for i, g in enumerate(gold) if i not in plain],
        spurious=[_brief_mention(m) for j, m in enumerate(predicted) if j not in used],
        wrong_qualifier=[
            {**_brief_gold_number(g), "predicted_approx": predicted[plain[i]].get("approx")}
            for i, g in enumerate(gold)
            if i in plain and i not in qualified
        ],
        quotes_not_found=[g["quote"] for g, span in zip(gold, spans, strict=True) if span is None],
    )


def _brief_gold_number(g: dict[str, Any]) -> dict[str, Any]:
    return {k: g.get(k) for k in ("quote", "value", "unit", "approx")}


def _brief_mention(m: dict[str, Any]) -> dict[str, Any]:
    return {k: m.get(k) for k in ("surface", "value", "unit", "approx", "start", "end")}


# ---------------------------------------------------------------------------------------------
# Metadata


def region_path(region: dict[str, Any] | None) -> list[str]:
    """The comparison path of a predicted region: [province, city, county, township] without gaps or repeats."""
    path: list[str] = []
    for key in ("province", "city", "county", "township"):
        part = norm((region or {}).get(key))
        if not part or part in REGION_PLACEHOLDERS or (path and path[-1] == part):
            continue
        path.append(part)
    return path


def _predicted_field(name: str, meta: dict[str, Any]) -> Any:
    if name == "region_path":
        if isinstance(meta.get("region"), dict):
            return region_path(meta["region"])
        return meta.get("region_path")
    return meta.get(name)


def _comparable(name: str, value: Any) -> Any:
    """The comparison form of one metadata value; empty values become None."""
    if value is None or value == "" or value == []:
        return None
    if name == "issuers":
        items = [value] if isinstance(value, str) else list(value)
        return frozenset(norm(v) for v in items if norm(v)) or None
    if name == "region_path":
        items = [value] if isinstance(value, str) else list(value)
        return tuple(norm(v) for v in items if norm(v)) or None
    if name == "report_year":
        try:
            return int(str(value).strip())
        except ValueError:
            return norm(value)
    return norm(value) or None


def score_metadata(gold: dict[str, Any], predicted: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """For each scored field present in the gold: the gold value, the predicted value and ok (bool)."""
    out: dict[str, dict[str, Any]] = {}
    for name in METADATA_FIELDS:
        if name not in gold:
            continue
        got = _predicted_field(name, predicted or {})
        ok = _comparable(name, gold[name]) == _comparable(name, got)
        out[name] = {"gold": gold[name], "predicted": got, "ok": ok}
    return out


# ---------------------------------------------------------------------------------------------
# Documents


@dataclass
class DocumentScore:
    """All scores of one gold document."""

    name: str
    gold_path: str
    source: str
    status: str
    message: str
    headings: HeadingScore
    numbers: NumberScore
    metadata: dict[str, dict[str, Any]]

    @property
    def metadata_counts(self) -> tuple[int, int]:
        """(correct, scored) metadata fields."""
        return sum(1 for v in self.metadata.values() if v["ok"]), len(self.metadata)

    def metrics(self) -> dict[str, float | None]:
        """The flat metric dict that floors refer to."""
        return _metrics(self.headings.text, self.headings.marker, self.numbers.plain, self.numbers.qualified,
                        *self.metadata_counts)

    def to_dict(self, details: bool = True) -> dict[str, Any]:
        """JSON-ready scores; `details` adds the unmatched items."""
        out: dict[str, Any] = {
            "name": self.name,
            "gold": self.gold_path,
            "source": self.source,
            "status": self.status,
            "message": self.message,
            "scores": self.metrics(),
            "counts": {
                "headings": vars(self.headings.text),
                "headings_marker": vars(self.headings.marker),
                "numbers": vars(self.numbers.plain),
                "numbers_q": vars(self.numbers.qualified),
                "metadata": dict(zip(("correct", "scored"), self.metadata_counts, strict=True)),
            },
            "metadata": self.metadata,
            "quotes_not_found": self.numbers.quotes_not_found,
        }
        if details:
            out["unmatched"] = {
                "headings_missed": self.headings.missed,
                "headings_spurious": self.headings.spurious,
                "numbers_missed": self.numbers.missed,
                "numbers_spurious": self.numbers.spurious,
                "numbers_wrong_qualifier": self.numbers.wrong_qualifier,
            }
        return out


def _metrics(h: Counts, hm: Counts, n: Counts, nq: Counts, meta_ok: int, meta_n: int) -> dict[str, float | None]:
    return {
        "headings_p": h.precision,
        "headings_r": h.recall,
        "headings_f1": h.f1,
        "headings_marker_p": hm.precision,
        "headings_marker_r": hm.recall,
        "headings_marker_f1": hm.f1,
        "numbers_p": n.precision,
        "numbers_r": n.recall,
        "numbers_f1": n.f1,
        "numbers_q_p": nq.precision,
        "numbers_q_r": nq.recall,
        "numbers_q_f1": nq.f1,
        "metadata_acc": meta_ok / meta_n if meta_n else None,
    }


def gold_name(path: Path) -> str:
    """The document name of a gold file: its file name without `.gold.json`."""
    name = path.name
    return name[: -len(GOLD_SUFFIX)] if name.endswith(GOLD_SUFFIX) else path.stem


def score(gold: dict[str, Any], doc: Document, name: str = "", gold_path: str = "") -> DocumentScore:
    """Score one predicted Document against one gold record."""
    return DocumentScore(
        name=name or Path(str(gold.get("file", ""))).stem,
        gold_path=gold_path,
        source=doc.source,
        status=doc.status,
        message=doc.message,
        headings=score_headings(gold["headings"], doc.headings or []),
        numbers=score_numbers(gold["numbers"], doc.mentions or [], doc.text or ""),
        metadata=score_metadata(gold["metadata"], doc.metadata or {}),
    )


@dataclass
class Report:
    """Scores of every evaluated document plus their micro-average."""

    documents: list[DocumentScore]

    def overall(self) -> dict[str, float | None]:
        """Micro-averaged metrics: counts summed over documents, then scored."""
        h, hm, n, nq = Counts(), Counts(), Counts(), Counts()
        meta_ok = meta_n = 0
        for d in self.documents:
            h, hm = h + d.headings.text, hm + d.headings.marker
            n, nq = n + d.numbers.plain, nq + d.numbers.qualified
            ok, scored = d.metadata_counts
            meta_ok, meta_n = meta_ok + ok, meta_n + scored
        return _metrics(h, hm, n, nq, meta_ok, meta_n)

    def metadata_fields(self) -> dict[str, tuple[int, int]]:
        """For each metadata field: (correct, scored) over all documents."""
        out: dict[str, tuple[int, int]] = {}
        for name in METADATA_FIELDS:
            results = [d.metadata[name]["ok"] for d in self.documents if name in d.metadata]
            if results:
                out[name] = (sum(results), len(results))
        return out

    def to_dict(self, details: bool = True) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "documents": [d.to_dict(details) for d in self.documents],
            "overall": self.overall(),
            "metadata_fields": {k: {"correct": c, "scored": n} for k, (c, n) in self.metadata_fields().items()},
        }


# ---------------------------------------------------------------------------------------------
# Files


def find_gold_files(paths: Iterable[str | Path]) -> list[Path]:
    """Gold files named directly, plus every *.gold.json below named folders, in a stable order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(p.rglob(f"*{GOLD_SUFFIX}")))
        elif p.is_file():
            found.append(p)
        else:
            raise EvalError(f"gold path not found: {p}")
    return list(dict.fromkeys(found))


def load_gold(path: str | Path) -> dict[str, Any]:
    """Read one gold file and validate it against schemas/gold.schema.json."""
    import jsonschema

    from extractor.rules import load_json_schema

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalError(f"{path}: cannot read gold file: {exc}") from exc
    try:
        jsonschema.validate(data, load_json_schema("gold"))
    except jsonschema.ValidationError as exc:
        loc = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        raise EvalError(f"{path}: {loc}: {exc.message}") from exc
    return data


def repo_root() -> Path:
    """The folder above the package: the repository root in a checkout."""
    return Path(__file__).resolve().parents[1]


def resolve_source(gold_path: Path, file: str, root: str | Path | None = None) -> Path:
    """Find the document a gold file names: under --root, else the repo root, the gold folder and its parents."""
    if root is not None:
        bases = [Path(root)]
    else:
        here = gold_path.resolve().parent
        bases = [repo_root(), here, *here.parents]
    for base in bases:
        candidate = base / file
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(b) for b in bases[:4]) + (", ..." if len(bases) > 4 else "")
    raise EvalError(f"{gold_path}: document '{file}' not found (looked under {tried})")


def evaluate(gold_paths: Iterable[str | Path], root: str | Path | None = None) -> Report:
    """Run the pipeline on every document named by the gold files and score it."""
    from extractor.pipeline import process_file

    files = find_gold_files(gold_paths)
    golds = [(path, load_gold(path)) for path in files]
    sources = [resolve_source(path, gold["file"], root) for path, gold in golds]
    documents = []
    for (path, gold), source in zip(golds, sources, strict=True):
        doc = process_file(source)
        documents.append(score(gold, doc, gold_name(path), str(path)))
    return Report(documents)


# ---------------------------------------------------------------------------------------------
# Floors


def load_floors(path: str | Path) -> dict[str, Any]:
    """Read and validate a floors YAML file: {overall: {metric: min}, documents: {name: {metric: min}}}."""
    import jsonschema
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise EvalError(f"{path}: cannot read floors file: {exc}") from exc
    try:
        jsonschema.validate(data, _FLOORS_SCHEMA)
    except jsonschema.ValidationError as exc:
        loc = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        raise EvalError(f"{path}: {loc}: {exc.message}") from exc
    return data


def check_floors(report: Report, floors: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Compare scores with floors; return (failures, notes). Floors of documents not evaluated are noted."""
    failures: list[str] = []
    notes: list[str] = []
    targets: list[tuple[str, dict[str, float | None]]] = [("overall", report.overall())]
    by_name = {d.name: d for d in report.documents}
    for name in floors.get("documents") or {}:
        if name in by_name:
            targets.append((name, by_name[name].metrics()))
        else:
            notes.append(f"floors for '{name}' skipped: no such gold document evaluated")
    for name, scores in targets:
        wanted = floors.get("overall") if name == "overall" else floors["documents"][name]
        for metric, floor in (wanted or {}).items():
            got = scores.get(metric)
            # A rounding hair below a floor pinned from a printed value is not a regression.
            if got is None or got + 1e-9 < floor:
                shown = "not measured" if got is None else f"{got:.4f}"
                failures.append(f"{name}: {metric} = {shown} < floor {floor}")
    return failures, notes


# ---------------------------------------------------------------------------------------------
# Output


def _f(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def format_report(report: Report, verbose: bool = False) -> str:
    """The human-readable score table, with unmatched items when `verbose`."""
    width = max([len(d.name) for d in report.documents] + [len("overall (micro)")])
    head = (f"{'document':<{width}}  {'status':<7} {'H-P':>5} {'H-R':>5} {'H-F1':>5} {'HM-F1':>5}  "
            f"{'N-P':>5} {'N-R':>5} {'N-F1':>5} {'NQ-F1':>5}  {'meta':>5}  counts")
    lines = [head, "-" * len(head)]

    def row(name: str, status: str, m: dict[str, float | None], counts: str) -> str:
        return (f"{name:<{width}}  {status:<7} {_f(m['headings_p'])} {_f(m['headings_r'])} {_f(m['headings_f1'])} "
                f"{_f(m['headings_marker_f1'])}  {_f(m['numbers_p'])} {_f(m['numbers_r'])} {_f(m['numbers_f1'])} "
                f"{_f(m['numbers_q_f1'])}  {_f(m['metadata_acc'])}  {counts}")

    def counts(h: Counts, n: Counts, ok: int, scored: int) -> str:
        return f"H {h.tp}/{h.tp + h.fn} ({h.tp + h.fp} pred)  N {n.tp}/{n.tp + n.fn} ({n.tp + n.fp} pred)  M {ok}/{scored}"

    for d in report.documents:
        lines.append(row(d.name, d.status, d.metrics(), counts(d.headings.text, d.numbers.plain, *d.metadata_counts)))
    h = sum((d.headings.text for d in report.documents), Counts())
    n = sum((d.numbers.plain for d in report.documents), Counts())
    meta = [d.metadata_counts for d in report.documents]
    lines.append("-" * len(head))
    lines.append(row("overall (micro)", "", report.overall(),
                     counts(h, n, sum(c for c, _ in meta), sum(s for _, s in meta))))
    fields = report.metadata_fields()
    if fields:
        lines.append("metadata fields: " + ", ".join(f"{k} {c}/{s}" for k, (c, s) in fields.items()))
    lines.append("H = headings (level+text), HM = headings (level+marker), N = numbers (value+unit), "
                 "NQ = numbers with qualifier, meta = metadata accuracy")
    for d in report.documents:
        notes = _document_notes(d, verbose)
        if notes:
            lines.append("")
            lines.append(f"== {d.name} ({d.source})")
            lines.extend(notes)
    return "\n".join(lines)


def _document_notes(d: DocumentScore, verbose: bool) -> list[str]:
    notes: list[str] = []
    if d.status != "ok":
        notes.append(f"  status {d.status}: {d.message}")
    if d.numbers.quotes_not_found:
        notes.append(f"  {len(d.numbers.quotes_not_found)} gold quote(s) not found in the cleaned text"
                     + (": " + " | ".join(d.numbers.quotes_not_found) if verbose else " (-v lists them)"))
    if not verbose:
        return notes
    for name, v in d.metadata.items():
        if not v["ok"]:
            notes.append(f"  metadata {name}: gold {v['gold']!r}, got {v['predicted']!r}")
    for h in d.headings.missed:
        notes.append(f"  heading missed:   L{h['level']} {h['marker']} {h['text']}")
    for h in d.headings.spurious:
        notes.append(f"  heading spurious: L{h['level']} {h['marker']} {h['text']}")
    for g in d.numbers.missed:
        notes.append(f"  number missed:   {g['value']:g} {g['unit']} {g['approx'] or ''} «{g['quote']}»")
    for m in d.numbers.spurious:
        notes.append(f"  number spurious: {m['value']} {m['unit']} {m['approx'] or ''} «{m['surface']}» @{m['start']}")
    for g in d.numbers.wrong_qualifier:
        notes.append(f"  qualifier wrong: gold {g['approx']!r}, got {g['predicted_approx']!r} «{g['quote']}»")
    return notes


# ---------------------------------------------------------------------------------------------
# Candidate gold


def candidate_gold(doc: Document, file: str) -> dict[str, Any]:
    """A gold record built from the pipeline's current output, for a person to review and correct."""
    meta = doc.metadata or {}
    metadata: dict[str, Any] = {}
    for name in METADATA_FIELDS:
        value = _predicted_field(name, meta)
        if name == "issuers":
            value = [value] if isinstance(value, str) else list(value or [])
        elif name == "region_path":
            value = list(value or [])
        metadata[name] = value if value not in ("",) else None
    mentions = level_mentions(doc.mentions or [])
    numbers = [
        {
            "quote": _candidate_quote(doc.text, int(m["start"]), int(m["end"])),
            "value": m.get("value"),
            "unit": m.get("unit") or "",
            "approx": m.get("approx") or None,
            "what": "",
        }
        for m in mentions
    ]
    return {
        "file": file,
        "metadata": metadata,
        "headings": [{"level": h.get("level"), "marker": h.get("marker") or "", "text": h.get("text") or ""}
                     for h in doc.headings or []],
        "numbers": numbers,
    }


_QUOTE_STOP = "，。；：、,;:!?！？\n"


def _candidate_quote(text: str, start: int, end: int) -> str:
    """The mention plus up to 8 chars of left context in its clause, widened until its first occurrence is this one."""
    left = start
    while left > 0 and start - left < 8 and text[left - 1] not in _QUOTE_STOP:
        left -= 1
    while True:
        span = locate_quotes(text, [text[left:end]])[0]
        if (span is not None and span[0] <= start < span[1]) or left == 0 or text[left - 1] == "\n":
            return text[left:end]
        left -= 1


# ---------------------------------------------------------------------------------------------
# Command line


def cli_eval(args: argparse.Namespace) -> int:
    """`extractor eval`: print scores; exit 1 when a floor is missed, 2 on bad gold/floors input."""
    verbose = bool(getattr(args, "verbose", False))
    try:
        floors = load_floors(args.floors) if args.floors else None
        report = evaluate(args.gold, root=args.root)
    except EvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failures, notes = check_floors(report, floors) if floors is not None else ([], [])
    if args.json:
        out = report.to_dict(details=True)
        out["floors"] = {"file": args.floors, "failures": failures, "notes": notes}
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        print(format_report(report, verbose))
        if floors is not None:
            print("")
            for note in notes:
                print(f"note: {note}")
            if failures:
                print(f"FLOORS MISSED ({len(failures)}) in {args.floors}:")
                for failure in failures:
                    print(f"  {failure}")
            else:
                print(f"floors met ({args.floors})")
    return 1 if failures else 0
