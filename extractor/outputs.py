"""Streaming table writers for a run: CSV, JSONL, Parquet row groups and a DuckDB file.

Everything is written into a staging folder and moved into place at the end, so an interrupted
run never leaves a half-written table behind.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractor.tables import TABLES

# Rows buffered per Parquet row group: bounded memory whatever the corpus size.
ROW_GROUP = 5000
# Memory DuckDB may use while it copies the Parquet files into extractor.duckdb.
DUCKDB_MEMORY = "256MB"


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file via a temp file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); a published table gets the usual permissions.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@functools.cache
def _umask() -> int:
    # Read once: os.umask can only be read by setting it, which other threads could notice.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def schema_of(columns: list[tuple[str, str]]) -> Any:
    """An Arrow schema from (column, type) pairs, the types named as in tables.TABLES."""
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_()}
    return pa.schema([(col, types[kind]) for col, kind in columns])


def arrow_schema(table: str) -> Any:
    """The fixed Arrow schema of one output table."""
    return schema_of(TABLES[table])


@dataclass
class Chunk:
    """Some rows of one table, ready to append: their CSV text and their values column by column."""

    rows: int
    csv: str
    columns: list[list[Any]]


def encode_rows(table: str, rows: list[dict[str, Any]]) -> Chunk:
    """Encode rows of a table as `RunWriter.add_chunk` appends them (keys outside its columns are ignored).

    Workers call this, so the process writing the tables only copies text and extends lists.
    """
    names = [c for c, _ in TABLES[table]]
    values = [[row.get(c) for c in names] for row in rows]
    buf = io.StringIO()
    csv.writer(buf).writerows(values)  # the dialect of RunWriter's own csv.writer
    columns = [list(col) for col in zip(*values, strict=True)] if values else [[] for _ in names]
    return Chunk(rows=len(values), csv=buf.getvalue(), columns=columns)


class RunWriter:
    """Writes all tables of a run, row by row, into a staging folder, then publishes them."""

    def __init__(self, out: Path, tables: tuple[str, ...] = tuple(TABLES), csv_bom: bool = False) -> None:
        self.out = out
        self.tables = tables
        out.mkdir(parents=True, exist_ok=True)
        self.stage = Path(tempfile.mkdtemp(dir=out, prefix=".staging-"))
        self._columns = {t: [c for c, _ in TABLES[t]] for t in tables}
        self._csv_files: dict[str, Any] = {}
        self._csv: dict[str, Any] = {}
        # Parquet rows are buffered column by column: building Arrow arrays from columns is several
        # times faster than from row dicts.
        self._buffers: dict[str, dict[str, list[Any]]] = {t: self._empty(t) for t in tables}
        self._parquet: dict[str, Any] = {}
        self.counts = dict.fromkeys(tables, 0)
        for t in tables:
            fh = (self.stage / f"{t}.csv").open("w", encoding="utf-8-sig" if csv_bom else "utf-8", newline="")
            self._csv_files[t] = fh
            # A plain writer on values in column order writes what csv.DictWriter would, without
            # its per-row key checks.
            writer = csv.writer(fh)
            writer.writerow(self._columns[t])
            self._csv[t] = writer
        self._jsonl = (self.stage / "documents.jsonl").open("w", encoding="utf-8")

    def _empty(self, table: str) -> dict[str, list[Any]]:
        return {c: [] for c in self._columns[table]}

    def add_record(self, record: dict[str, Any]) -> None:
        """Append one full document record to documents.jsonl."""
        self.add_jsonl(json.dumps(record, ensure_ascii=False, sort_keys=True))

    def add_jsonl(self, line: str) -> None:
        """Append one record already encoded as a JSON line (no newline) to documents.jsonl."""
        self._jsonl.write(line + "\n")

    def add_row(self, table: str, row: dict[str, Any]) -> None:
        """Append one row to a table (keys outside the table's columns are ignored)."""
        values = [row.get(c) for c in self._columns[table]]
        self._csv[table].writerow(values)
        buf = self._buffers[table]
        for column, value in zip(buf.values(), values, strict=True):
            column.append(value)
        self.counts[table] += 1
        if len(next(iter(buf.values()))) >= ROW_GROUP:
            self._flush(table)

    def add_chunk(self, table: str, chunk: Chunk) -> None:
        """Append rows encoded by `encode_rows`: the same CSV bytes and table contents as `add_row` one by one."""
        if not chunk.rows:
            return
        self._csv_files[table].write(chunk.csv)
        buf = self._buffers[table]
        for column, values in zip(buf.values(), chunk.columns, strict=True):
            column.extend(values)
        self.counts[table] += chunk.rows
        if len(next(iter(buf.values()))) >= ROW_GROUP:
            self._flush(table)

    def _flush(self, table: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        buf = self._buffers[table]
        rows = len(next(iter(buf.values())))
        if not rows and table in self._parquet:
            return
        schema = arrow_schema(table)
        if table not in self._parquet:
            self._parquet[table] = pq.ParquetWriter(self.stage / f"{table}.parquet", schema)
        if rows:
            arrays = [pa.array(buf[f.name], type=f.type) for f in schema]
            self._parquet[table].write_table(pa.Table.from_arrays(arrays, schema=schema))
        self._buffers[table] = self._empty(table)

    def close(self, extra_files: dict[str, str] | None = None) -> None:
        """Finish every file, build the DuckDB database, and move everything into `out`."""
        for t in self.tables:
            self._flush(t)
            self._parquet[t].close()
            self._csv_files[t].close()
        self._jsonl.close()
        build_duckdb(self.stage / "extractor.duckdb", {t: self.stage / f"{t}.parquet" for t in self.tables})
        extra = extra_files or {}
        for name, text in extra.items():
            (self.stage / name).write_text(text, encoding="utf-8")
        # Tables first, run.json last: a run.json newer than the tables marks a complete set. A run
        # killed between two renames leaves a mix of old and new tables, which the next run
        # (finding every record in the cache) replaces.
        for path in sorted(self.stage.iterdir(), key=lambda p: (p.name in extra, p.name)):
            if not path.name.startswith("."):  # DuckDB's spill folder stays behind
                os.replace(path, self.out / path.name)
        shutil.rmtree(self.stage, ignore_errors=True)

    def abort(self) -> None:
        """Drop the staging folder, leaving earlier outputs untouched."""
        for fh in [*self._csv_files.values(), self._jsonl]:
            fh.close()
        for w in self._parquet.values():
            w.close()
        shutil.rmtree(self.stage, ignore_errors=True)


def build_duckdb(path: Path, parquet: dict[str, Path], views: dict[str, str] | None = None) -> None:
    """Create a DuckDB file holding one table per Parquet file (DuckDB streams the copy)."""
    import duckdb

    path.unlink(missing_ok=True)
    # A bounded buffer pool: DuckDB otherwise keeps the pages it wrote, so the run's memory would
    # grow with the corpus. It spills to a temp folder beside the file when it needs more.
    con = duckdb.connect(
        str(path), config={"memory_limit": DUCKDB_MEMORY, "temp_directory": str(path.parent / ".duckdb-tmp")}
    )
    try:
        for table, src in parquet.items():
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM read_parquet(?)', [str(src)])
        for name, sql in (views or {}).items():
            con.execute(f'CREATE VIEW "{name}" AS {sql}')
    finally:
        con.close()
