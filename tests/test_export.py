"""Exports: every format reads back with the same values, versions recorded, contact data opt-in."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from handmade import CATALOG, fact, make_doc, standard_doc, write_run
from openpyxl import load_workbook

from extractor import __version__, export, panel
from extractor.cli import main
from extractor.codebook import all_tables, describe
from extractor.runner import Cache

LONG = "各类矛盾纠纷排查化解工作持续推进，" * 2200  # ~37,000 characters: over Excel's cell limit
TABLES = (
    "documents",
    "headings",
    "mentions",
    "indicators",
    "panel",
    "panel_values",
    "codebook",
    "indicator_catalog",
)


@pytest.fixture
def handmade_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the hand-made catalog the one the package reads."""
    monkeypatch.setattr(panel, "catalog", lambda: tuple(CATALOG))


@pytest.fixture
def run_dir(tmp_path: Path, handmade_catalog: None) -> Path:
    tricky = '=HYPERLINK("http://example.invalid")\x07 <b>办理</b>行政处罚案件77件。'
    long_text = f"重庆市荣昌区长岭街道办事处关于2022年法治政府建设情况的报告\n{LONG}全年审核规范性文件6件。\n{tricky}\n"
    docs = [
        standard_doc("青石", 2022),
        standard_doc("青石", 2023, cases=140, fines=1.25),
        standard_doc("青石", 2022, source="corpora/mirror/qingshi-2022.txt"),  # same bytes, second path
        make_doc(
            long_text,
            [
                fact("normative_docs_legality_reviewed", "6件", 6, "institutional_system"),
                fact("admin_penalty_cases", "77件", 77, "law_enforcement", approx="余"),
            ],
            town="长岭",
            year=2022,
        ),
        make_doc("无法解析", [], town=None, year=None, source="corpora/broken.pdf", status="corrupt"),
    ]
    out = write_run(tmp_path / "run", docs)
    panel.write_panel(out, CATALOG)
    cache = Cache(out / ".cache")
    for i, doc in enumerate(docs):
        cache.put(f"{i:064x}", doc.to_dict())  # records as the runner caches them, contact included
    return out


def _expected(run: Path, with_contact: bool = False) -> dict[str, pd.DataFrame]:
    return dict(export.run_tables(run, with_contact))


def _canon(value: Any) -> Any:
    """One cell in a comparable form: empty → None, numbers and booleans → float."""
    if value is None or value is pd.NA or value == "":
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (bool, int, float)) or hasattr(value, "item"):
        return float(value)
    return str(value)


def _same(actual: list[Any], expected: list[Any], where: str) -> None:
    assert len(actual) == len(expected), where
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        a, e = _canon(a), _canon(e)
        if isinstance(e, float) and isinstance(a, float):
            assert math.isclose(a, e, rel_tol=1e-12), f"{where}[{i}]: {a} != {e}"
        else:
            assert a == e, f"{where}[{i}]: {a!r} != {e!r}"


def _typed_csv(path: Path, frame: pd.DataFrame) -> dict[str, list[Any]]:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    out: dict[str, list[Any]] = {}
    for col in frame.columns:
        kind = frame[col].dtype
        if str(kind) == "boolean":
            out[col] = [None if v == "" else v == "True" for v in raw[col]]
        elif pd.api.types.is_numeric_dtype(kind):
            out[col] = [None if v == "" else float(v) for v in raw[col]]
        else:
            out[col] = list(raw[col])
    return out


def test_csv_round_trip_with_bom_and_sidecar(run_dir: Path, tmp_path: Path) -> None:
    dest = tmp_path / "csv"
    assert main(["export", str(run_dir), "--format", "csv", "--bom", "--dest", str(dest)]) == 0
    expected = _expected(run_dir)
    assert {p.stem for p in dest.glob("*.csv")} == set(TABLES)
    for table, frame in expected.items():
        path = dest / f"{table}.csv"
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        back = _typed_csv(path, frame)
        assert list(back) == list(frame.columns)
        for col in frame.columns:
            _same(back[col], list(frame[col]), f"{table}.{col}")
    sidecar = json.loads((dest / "export.json").read_text(encoding="utf-8"))
    assert sidecar["package_version"] == __version__ and sidecar["schema_version"]
    assert sidecar["tables"]["panel"] == 3 and sidecar["encoding"] == "utf-8-sig"


def test_parquet_round_trip_with_versions(run_dir: Path, tmp_path: Path) -> None:
    written = export.export(run_dir, ["parquet"], tmp_path / "pq")
    expected = _expected(run_dir)
    assert sorted(p.stem for p in written["parquet"]) == sorted(TABLES)
    for table, frame in expected.items():
        path = tmp_path / "pq" / f"{table}.parquet"
        meta = json.loads(pq.read_schema(path).metadata[b"extractor"])
        assert meta["package_version"] == __version__
        back = pd.read_parquet(path)
        assert list(back.columns) == list(frame.columns)
        for col in frame.columns:
            _same(list(back[col]), list(frame[col]), f"{table}.{col}")


def test_xlsx_round_trip_limits_and_about_sheet(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 4)  # 3 data rows per sheet: the split is exercised
    export.export(run_dir, ["xlsx"], tmp_path / "x")
    book = load_workbook(tmp_path / "x" / "extractor.xlsx", read_only=True)
    expected = _expected(run_dir)
    about = {r[0]: r[1] for r in book["about"].iter_rows(min_row=2, values_only=True)}
    assert about["package_version"] == __version__ and about["schema_version"]
    assert about["truncated:mentions"].startswith("1 cell(s) longer than 32767 characters cut")
    assert "truncated:documents" not in about
    for table, frame in expected.items():
        names = [table] + [
            f"{table[:26]} ({k})" for k in range(2, 100) if f"{table[:26]} ({k})" in book.sheetnames
        ]
        rows: list[tuple[Any, ...]] = []
        for name in names:
            sheet_rows = list(book[name].iter_rows(values_only=True))
            assert list(sheet_rows[0]) == list(frame.columns)
            assert len(sheet_rows) <= 4
            rows += sheet_rows[1:]
        if len(frame) > 3:
            assert f"split:{table}" in about
        for j, col in enumerate(frame.columns):
            want = [
                v[: export.EXCEL_MAX_CHARS - len(export.TRUNCATION_MARK)] + export.TRUNCATION_MARK
                if isinstance(v, str) and len(v) > export.EXCEL_MAX_CHARS
                else v
                for v in frame[col]
            ]
            want = [w.replace("\x07", "\ufffd") if isinstance(w, str) else w for w in want]
            _same([r[j] if j < len(r) else None for r in rows], want, f"{table}.{col}")
    # Text that looks like a formula stays text.
    book = load_workbook(tmp_path / "x" / "extractor.xlsx")
    sentences = [
        c
        for name in book.sheetnames
        if name.startswith("mentions")
        for row in book[name].iter_rows()
        for c in row
        if isinstance(c.value, str)
    ]
    formula = [c for c in sentences if c.value.startswith("=HYPERLINK")]
    assert formula and all(c.data_type == "s" for c in formula)


def test_dta_round_trip_with_labels_and_name_mapping(run_dir: Path, tmp_path: Path) -> None:
    export.export(run_dir, ["dta"], tmp_path / "d")
    mapping = pd.read_csv(tmp_path / "d" / "stata_names.csv", dtype=str)
    expected = _expected(run_dir)
    for table in ("documents", "headings", "mentions", "indicators", "panel", "panel_values"):
        frame = expected[table]
        path = tmp_path / "d" / f"{table}.dta"
        names = dict(mapping[mapping["table"] == table][["column", "stata_name"]].itertuples(index=False))
        assert list(names) == list(frame.columns)
        assert all(len(n) <= 32 for n in names.values()) and len(set(names.values())) == len(names)
        back = pd.read_stata(path, convert_categoricals=False)
        with pd.io.stata.StataReader(path) as reader:
            labels = reader.variable_labels()
            data_label = reader.data_label
        assert data_label.startswith(f"extractor {__version__} schema ")
        for col in frame.columns:
            name = names[col]
            desc = describe(table, col)
            label = desc if name == col else f"{col}: {desc}"
            assert labels[name] == (label if len(label) <= 80 else label[:79] + "…")
            _same(list(back[name]), list(frame[col]), f"{table}.{col}")
    # Long and reserved names are mapped, deterministically.
    panel_names = dict(mapping[mapping["table"] == "panel"][["column", "stata_name"]].itertuples(index=False))
    assert panel_names["normative_docs_legality_reviewed"] == "normative_docs_legality_reviewed"
    mention_names = dict(
        mapping[mapping["table"] == "mentions"][["column", "stata_name"]].itertuples(index=False)
    )
    assert mention_names["end"] == "end_"
    flag = panel_names["normative_docs_legality_reviewed__flag"]
    assert len(flag) == 32 and flag.startswith("normative_docs_legality_re_")
    assert flag == export.stata_name("normative_docs_legality_reviewed__flag")


@pytest.mark.parametrize(
    ("column", "stata"),
    [
        ("report_year", "report_year"),  # valid names stay
        ("end", "end_"),  # reserved words get a trailing underscore
        ("in", "in_"),
        ("str12", "str12_"),
        ("rule_of_law_special_meetings__flag", "rule_of_law_special_meetings_f"),  # flag suffix shortened
        ("2021_total", "_2021_total"),
        ("行政处罚", "____"),
    ],
)
def test_stata_names(column: str, stata: str) -> None:
    assert export.stata_name(column) == stata


def test_stata_names_stay_unique_within_a_table() -> None:
    names = export.stata_names(["a" * 40, "a" * 40 + "b", "x-y", "x_y"])
    assert len(set(names.values())) == 4 and all(len(n) <= 32 for n in names.values())
    assert names["x-y"] == "x_y" and names["x_y"] == "x_y_1"


def test_duckdb_tables_views_and_meta(run_dir: Path, tmp_path: Path) -> None:
    export.export(run_dir, ["duckdb"], tmp_path / "db")
    con = duckdb.connect(str(tmp_path / "db" / "extractor.duckdb"), read_only=True)
    expected = _expected(run_dir)
    for table, frame in expected.items():
        back = con.execute(f'select * from "{table}"').df()
        assert list(back.columns) == list(frame.columns)
        for col in frame.columns:
            _same(list(back[col]), list(frame[col]), f"{table}.{col}")
    meta = dict(con.execute("select key, value from meta").fetchall())
    assert meta["package_version"] == __version__ and meta["schema_version"]
    views = {r[0] for r in con.execute("select view_name from duckdb_views() where not internal").fetchall()}
    assert "indicator_values" in views
    got = con.execute(
        "select township, report_year, value from indicator_values "
        "where indicator = 'admin_penalty_cases' order by township, report_year"
    ).fetchall()
    assert got == [
        ("长岭街道", 2022, 77.0),
        ("青石街道", 2022, 120.0),
        ("青石街道", 2022, 120.0),
        ("青石街道", 2023, 140.0),
    ]
    assert con.execute(
        "select admin_penalty_cases, admin_penalty_cases__flag from panel where township = '长岭街道'"
    ).fetchone() == (77.0, "approx")


def test_contact_details_only_on_request(run_dir: Path, tmp_path: Path) -> None:
    export.export(run_dir, ["csv", "xlsx", "duckdb", "parquet", "dta"], tmp_path / "plain")
    for path in (tmp_path / "plain").iterdir():
        assert b"023-00000000" not in path.read_bytes(), path.name
    assert "contact" not in load_workbook(tmp_path / "plain" / "extractor.xlsx", read_only=True).sheetnames

    export.export(run_dir, ["csv", "duckdb"], tmp_path / "with", with_contact=True)
    contact = pd.read_csv(tmp_path / "with" / "contact.csv")
    assert len(contact) == 4  # four distinct documents (five paths) carry contact details
    assert all(json.loads(c)["phone"] == "023-00000000" for c in contact["contact"])
    con = duckdb.connect(str(tmp_path / "with" / "extractor.duckdb"), read_only=True)
    assert con.execute("select count(*) from contact").fetchone() == (4,)


def test_every_column_has_a_description(handmade_catalog: None) -> None:
    missing = [f"{t}.{c}" for t, cols in all_tables().items() for c, _ in cols if not describe(t, c)]
    assert missing == []


def test_export_refuses_what_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        export.export(tmp_path, ["csv"])
    with pytest.raises(ValueError):
        export.export(tmp_path, ["sav"])
