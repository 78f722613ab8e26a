"""The run's table writer: rows appended one by one and as pre-encoded chunks give the same tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from extractor import tables
from extractor.outputs import RunWriter, encode_rows
from extractor.pipeline import Options, process_file

REPO = Path(__file__).resolve().parents[1]


def _records() -> list[Any]:
    paths = sorted((REPO / "corpora").rglob("*.txt"))[:4]
    docs = [process_file(p, Options()) for p in paths]
    # Cells a worker can meet besides plain values: quotes, commas, newlines, empty strings, bools.
    docs[0].metadata = {**(docs[0].metadata or {}), "title": '标题，含"引号"\n与换行', "doc_number": ""}
    return docs


def _write(out: Path, chunked: bool) -> Path:
    writer = RunWriter(out)
    for doc in _records():
        by_table: dict[str, list[dict[str, Any]]] = {t: [] for t in tables.TABLES}
        for table, row in tables.rows(doc):
            by_table[table].append(row)
        for table, rows in by_table.items():
            if chunked:
                writer.add_chunk(table, encode_rows(table, rows))
            else:
                for row in rows:
                    writer.add_row(table, row)
    writer.close()
    return out


def test_chunks_write_the_same_tables_as_rows(tmp_path: Path) -> None:
    one, chunk = _write(tmp_path / "rows", False), _write(tmp_path / "chunks", True)
    for table in tables.TABLES:
        assert (one / f"{table}.csv").read_bytes() == (chunk / f"{table}.csv").read_bytes(), table
        a, b = pd.read_parquet(one / f"{table}.parquet"), pd.read_parquet(chunk / f"{table}.parquet")
        assert len(a) > 0 and a.equals(b), table
    assert '"标题，含""引号""\n与换行"' in (chunk / "documents.csv").read_text(encoding="utf-8")


def test_an_empty_chunk_adds_nothing(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path)
    chunk = encode_rows("mentions", [])
    assert chunk.rows == 0 and chunk.csv == "" and len(chunk.columns) == len(tables.TABLES["mentions"])
    writer.add_chunk("mentions", chunk)
    writer.close()
    assert writer.counts["mentions"] == 0
    assert len(pd.read_parquet(tmp_path / "mentions.parquet")) == 0


def test_row_coercion_matches_the_column_types() -> None:
    row = tables._row("mentions", {"idx": "3", "value": 2, "is_target": 1, "surface": 12, "unit": "", "start": ""})
    assert row["idx"] == 3 and row["value"] == 2.0 and isinstance(row["value"], float)
    assert row["is_target"] is True and row["surface"] == "12" and row["unit"] == "" and row["start"] is None
    assert row["subject"] is None
