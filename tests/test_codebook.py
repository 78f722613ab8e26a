"""The codebook: every column of every table described, every catalog indicator listed, Markdown and CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from handmade import CATALOG

from extractor import panel
from extractor.cli import main
from extractor.codebook import all_tables, codebook_rows, describe, render_markdown
from extractor.panel import FLAG_SUFFIX
from extractor.tables import TABLES


def test_every_run_table_column_is_described() -> None:
    missing = [f"{t}.{c}" for t, cols in TABLES.items() for c, _ in cols if not describe(t, c)]
    assert missing == [], "add these to schemas/columns.yaml"


def test_no_description_of_a_column_that_does_not_exist() -> None:
    from extractor.codebook import columns_doc

    tables = all_tables()
    stale = [
        f"{t}.{c}"
        for t, spec in columns_doc()["tables"].items()
        for c in spec["columns"]
        if c not in {name for name, _ in tables.get(t, [])}
    ]
    assert stale == []


def test_shipped_catalog_columns_are_described() -> None:
    rows = codebook_rows()
    assert all(r["description"] for r in rows), [
        f"{r['table']}.{r['column']}" for r in rows if not r["description"]
    ]
    ids = [e["id"] for e in panel.catalog()]
    panel_cols = [r["column"] for r in rows if r["table"] == "panel"]
    for ind in ids:
        assert ind in panel_cols and ind + FLAG_SUFFIX in panel_cols


def test_cli_writes_markdown_and_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(panel, "catalog", lambda: tuple(CATALOG))
    assert main(["codebook", "--out", str(tmp_path / "cb")]) == 0
    with (tmp_path / "cb" / "columns.csv").open(encoding="utf-8") as fh:
        columns = list(csv.DictReader(fh))
    assert {(r["table"], r["column"]) for r in columns} == {
        (t, c) for t, cols in all_tables().items() for c, _ in cols
    }
    flag = next(r for r in columns if r["column"] == "normative_docs_legality_reviewed__flag")
    assert flag["type"] == "string" and len(flag["stata_name"]) == 32
    assert "ok, approx, conflict, target or missing" in flag["description"]
    value = next(r for r in columns if r["table"] == "panel" and r["column"] == "fines_confiscations_amount")
    assert value["type"] == "float64" and "罚没金额 (万元)" in value["description"]
    with (tmp_path / "cb" / "indicators.csv").open(encoding="utf-8") as fh:
        indicators = list(csv.DictReader(fh))
    assert [r["id"] for r in indicators] == [e["id"] for e in CATALOG]
    assert indicators[0]["triggers"] == "行政处罚案件；立案查处"
    md = (tmp_path / "cb" / "codebook.md").read_text(encoding="utf-8")
    for t in all_tables():
        assert f"### `{t}`" in md
    assert "| `law_exam_pass_rate` | 学法考试合格率 | % | rate |" in md
    assert "### law_enforcement" in md and "canonical section" in md


def test_markdown_cells_escape_pipes(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = {**CATALOG[0], "id": "x", "definition": "含|竖线", "triggers": ["a|b"]}
    monkeypatch.setattr(panel, "catalog", lambda: (entry,))
    md = render_markdown()
    assert "含\\|竖线" in md and "a\\|b" in md
