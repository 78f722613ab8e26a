"""Batch runs: every input appears once, tables agree across formats, reruns use the cache."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from extractor.runner import run


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_run_seed_outputs_agree(tmp_path: Path, seed_path: Path) -> None:
    out = tmp_path / "out"
    summary = run([seed_path], out, workers=1, progress=False)
    assert summary.statuses == {"ok": 1}
    docs = _csv_rows(out / "documents.csv")
    assert [d["status"] for d in docs] == ["ok"]
    con = duckdb.connect(str(out / "extractor.duckdb"), read_only=True)
    for table in ("documents", "headings", "mentions", "indicators"):
        n_csv = len(_csv_rows(out / f"{table}.csv"))
        assert pq.read_table(out / f"{table}.parquet").num_rows == n_csv
        assert con.execute(f"select count(*) from {table}").fetchone()[0] == n_csv
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["statuses"] == {"ok": 1} and info["schema_version"]


def test_rerun_uses_cache(tmp_path: Path, seed_path: Path) -> None:
    out = tmp_path / "out"
    first = run([seed_path], out, workers=1, progress=False)
    second = run([seed_path], out, workers=1, progress=False)
    assert (first.processed, second.processed, second.cached) == (1, 0, 1)
    forced = run([seed_path], out, workers=1, progress=False, force=True)
    assert forced.processed == 1


def test_missing_input_still_gets_a_row(tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = run([tmp_path / "nope.pdf"], out, workers=1, progress=False)
    assert summary.statuses == {"error": 1}
    row = _csv_rows(out / "documents.csv")[0]
    assert "E013" in row["message"]
