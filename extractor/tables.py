"""Table definitions: the columns of every output table and how a Document becomes rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from extractor.model import Document

# (column, arrow type) per table. Types are fixed so that every Parquet row group and every
# DuckDB append agrees, whatever the first document happens to hold.
TABLES: dict[str, list[tuple[str, str]]] = {
    "documents": [
        ("doc_id", "string"),
        ("source", "string"),
        ("source_url", "string"),
        ("format", "string"),
        ("status", "string"),
        ("message", "string"),
        ("pages", "int64"),
        ("chars", "int64"),
        ("bytes", "int64"),
        ("encoding", "string"),
        ("text_source", "string"),
        ("ocr_confidence", "float64"),
        ("title", "string"),
        ("issuers", "string"),
        ("doc_number", "string"),
        ("reference_doc_number", "string"),
        ("addressee", "string"),
        ("report_year", "int64"),
        ("signed_date", "string"),
        ("published_date", "string"),
        ("province", "string"),
        ("city", "string"),
        ("county", "string"),
        ("township", "string"),
        ("admin_code", "string"),
        ("level", "string"),
        ("n_headings", "int64"),
        ("n_mentions", "int64"),
        ("n_indicators", "int64"),
        ("warnings", "string"),
    ],
    "headings": [
        ("doc_id", "string"),
        ("idx", "int64"),
        ("level", "int64"),
        ("marker", "string"),
        ("text", "string"),
        ("path", "string"),
        ("section", "string"),
        ("part", "string"),
        ("start", "int64"),
        ("end", "int64"),
        ("parent", "int64"),
        ("shape", "string"),
    ],
    "mentions": [
        ("doc_id", "string"),
        ("idx", "int64"),
        ("value", "float64"),
        ("value_high", "float64"),
        ("unit", "string"),
        ("unit_norm", "string"),
        ("multiplier", "float64"),
        ("approx", "string"),
        ("kind", "string"),
        ("delta_value", "float64"),
        ("delta_type", "string"),
        ("surface", "string"),
        ("start", "int64"),
        ("end", "int64"),
        ("sentence", "string"),
        ("section_path", "string"),
        ("section", "string"),
        ("part", "string"),
        ("is_target", "bool"),
        ("subject", "string"),
        ("scope", "string"),
        ("rule", "string"),
    ],
    "indicators": [
        ("doc_id", "string"),
        ("indicator", "string"),
        ("name", "string"),
        ("kind", "string"),
        ("occurrence", "int64"),
        ("value", "float64"),
        ("unit", "string"),
        ("approx", "string"),
        ("is_target", "bool"),
        ("delta_value", "float64"),
        ("delta_type", "string"),
        ("mention_idx", "int64"),
        ("surface", "string"),
        ("sentence", "string"),
        ("start", "int64"),
        ("end", "int64"),
        ("section_path", "string"),
        ("section", "string"),
        ("part", "string"),
        ("trigger", "string"),
        ("rule", "string"),
        ("confidence", "float64"),
    ],
}

# Metadata fields copied flat into the documents table.
_META_COLUMNS = (
    "title",
    "doc_number",
    "reference_doc_number",
    "addressee",
    "report_year",
    "signed_date",
    "published_date",
    "level",
)
_REGION_COLUMNS = ("province", "city", "county", "township", "admin_code")


def _coerce(value: Any, kind: str) -> Any:
    """Coerce one cell to its column type; lists and dicts become JSON text."""
    if value is None or value == "":
        return None if kind != "string" or value is None else value
    if isinstance(value, (list, tuple)):
        return "；".join(str(v) for v in value) if kind == "string" else None
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    try:
        if kind == "int64":
            return int(value)
        if kind == "float64":
            return float(value)
        if kind == "bool":
            return bool(value)
    except (TypeError, ValueError):
        return None
    return str(value)


# The Python type each column kind already holds when no conversion is needed.
_NATIVE = {"string": str, "int64": int, "float64": float, "bool": bool}
# (column, kind, native type) per table, looked up once per row instead of per cell.
_SPECS = {t: [(col, kind, _NATIVE[kind]) for col, kind in cols] for t, cols in TABLES.items()}


def _row(table: str, values: dict[str, Any]) -> dict[str, Any]:
    # Most cells are None or already of their column's type; only the rest go through _coerce
    # (which returns those two unchanged), since a run converts millions of cells.
    out = {}
    for col, kind, native in _SPECS[table]:
        value = values.get(col)
        out[col] = value if value is None or type(value) is native else _coerce(value, kind)
    return out


def document_row(doc: Document) -> dict[str, Any]:
    """The documents-table row of one record."""
    meta = doc.metadata or {}
    region = meta.get("region") or {}
    values: dict[str, Any] = {k: getattr(doc, k) for k in ("doc_id", "source", "source_url", "format", "status",
                                                           "message", "pages", "chars", "bytes", "encoding",
                                                           "text_source", "ocr_confidence")}
    values.update({k: meta.get(k) for k in _META_COLUMNS})
    values.update({k: region.get(k) for k in _REGION_COLUMNS})
    values["issuers"] = meta.get("issuers")
    values["n_headings"] = len(doc.headings)
    values["n_mentions"] = len(doc.mentions)
    values["n_indicators"] = len(doc.indicators)
    values["warnings"] = doc.warnings
    return _row("documents", values)


def rows(doc: Document) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (table, row) for every row that one record contributes, in a fixed order."""
    yield "documents", document_row(doc)
    for i, h in enumerate(doc.headings):
        yield "headings", _row("headings", {"doc_id": doc.doc_id, "idx": i, **h})
    for i, m in enumerate(doc.mentions):
        yield "mentions", _row("mentions", {"doc_id": doc.doc_id, "idx": i, **m})
    for ind in doc.indicators:
        yield "indicators", _row("indicators", {"doc_id": doc.doc_id, **ind})
