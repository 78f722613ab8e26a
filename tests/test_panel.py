"""The panel: one row per region × year, deterministic value choice, flags, merged duplicates."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from handmade import CATALOG, fact, make_doc, report, standard_doc, write_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import extractor
from extractor.panel import (
    FLAG_SUFFIX,
    NEAR_DUPLICATE_JACCARD,
    PANEL_COLUMNS,
    PANEL_VALUE_COLUMNS,
    arrow_schema,
    arrow_table,
    build_panel,
    catalog,
    choose_value,
    jaccard,
    normalise_catalog,
    pandas_metadata,
    panel_columns,
    plain_columns,
    shingle_codes,
    shingles,
    to_frame,
    top_level_fields,
    write_csv_rows,
    write_panel,
)

LAW = CATALOG[0]
RATE = CATALOG[2]


def _panel(docs: list, include_targets: bool = False) -> tuple[list[dict], list[dict]]:
    return build_panel([d.to_dict() for d in docs], CATALOG, include_targets=include_targets)


def _row(rows: list[dict], town: str, year: int) -> dict:
    [row] = [r for r in rows if r["township"] == f"{town}街道" and r["report_year"] == year]
    return row


def test_one_row_per_region_year_with_every_catalog_indicator() -> None:
    docs = [standard_doc("青石", 2022), standard_doc("青石", 2023, cases=140), standard_doc("桂湖", 2022)]
    rows, _ = _panel(docs)
    assert [(r["township"], r["report_year"]) for r in rows] == [
        ("桂湖街道", 2022),
        ("青石街道", 2022),
        ("青石街道", 2023),
    ]
    for row in rows:
        assert list(row) == [c for c, _ in panel_columns(CATALOG)]
        assert (row["province"], row["county"], row["level"]) == ("重庆市", "荣昌区", "subdistrict")
        # legal_aid_cases is never mentioned: still a column, empty and flagged missing.
        assert row["legal_aid_cases"] is None and row["legal_aid_cases" + FLAG_SUFFIX] == "missing"
    assert _row(rows, "青石", 2023)["admin_penalty_cases"] == 140
    assert _row(rows, "青石", 2022)["admin_penalty_cases"] == 120


def test_townships_sharing_the_county_code_stay_apart() -> None:
    docs = [standard_doc("青石", 2022), standard_doc("桂湖", 2022)]
    for d in docs:
        d.metadata["region"]["admin_code"] = "500153"  # the county's code, as lookups give it
    rows, _ = _panel(docs)
    assert [r["region_id"] for r in rows] == [
        "重庆市/重庆市/荣昌区/桂湖街道",
        "重庆市/重庆市/荣昌区/青石街道",
    ]
    assert all(r["admin_code"] == "500153" for r in rows)


def test_actual_beats_target_and_targets_stay_out_by_default() -> None:
    rows, values = _panel([standard_doc("青石", 2022)])
    assert rows[0]["law_exam_pass_rate"] == 98.5
    assert rows[0]["law_exam_pass_rate" + FLAG_SUFFIX] == "ok"
    [cell] = [v for v in values if v["indicator"] == "law_exam_pass_rate"]
    assert (cell["n_candidates"], cell["n_actual"], cell["is_target"]) == (2, 1, False)
    assert cell["surface"] == "98.5%" and cell["section"] == "leadership_mechanism"


def test_target_only_cell_is_missing_unless_targets_are_included() -> None:
    text = report("青石", 2022)
    doc = make_doc(
        text,
        [fact("law_exam_pass_rate", "100%", 100.0, "next_year_plan", is_target=True)],
        town="青石",
        year=2022,
    )
    rows, _ = _panel([doc])
    assert rows[0]["law_exam_pass_rate"] is None
    assert rows[0]["law_exam_pass_rate" + FLAG_SUFFIX] == "missing"
    rows, _ = _panel([doc], include_targets=True)
    assert rows[0]["law_exam_pass_rate"] == 100.0
    assert rows[0]["law_exam_pass_rate" + FLAG_SUFFIX] == "target"


def test_canonical_section_first_then_first_occurrence() -> None:
    cands = [
        (0, {"value": 7, "section": "power_oversight", "occurrence": 1, "start": 10, "is_target": False}),
        (0, {"value": 9, "section": "law_enforcement", "occurrence": 3, "start": 300, "is_target": False}),
        (0, {"value": 8, "section": "law_enforcement", "occurrence": 2, "start": 200, "is_target": False}),
    ]
    chosen = choose_value(cands, LAW)
    assert chosen["value"] == 8 and chosen["flag"] == "conflict"
    assert chosen["actual_values"] == "8；9；7"
    # Shuffling the candidates never changes the choice.
    assert choose_value(list(reversed(cands)), LAW)["value"] == 8


def test_approx_flag_and_equal_repeats_are_no_conflict() -> None:
    cands = [
        (
            0,
            {
                "value": 1500,
                "approx": "余",
                "section": "law_enforcement",
                "occurrence": 1,
                "is_target": False,
            },
        ),
        (
            0,
            {
                "value": 1500.0,
                "approx": "",
                "section": "law_enforcement",
                "occurrence": 2,
                "is_target": False,
            },
        ),
    ]
    chosen = choose_value(cands, LAW)
    assert (chosen["value"], chosen["flag"], chosen["n_actual"]) == (1500, "approx", 2)
    assert choose_value([(0, {"value": "n/a"})], LAW) is None


def test_money_in_wan_yuan() -> None:
    money = CATALOG[1]
    assert choose_value([(0, {"value": 365000, "unit": "元"})], money)["value"] == pytest.approx(36.5)
    assert choose_value([(0, {"value": 36.5, "unit": "万元"})], money)["value"] == 36.5
    assert choose_value([(0, {"value": 0.2, "unit": "亿元"})], money)["value"] == pytest.approx(2000)


def test_same_document_under_two_sources_is_one_report() -> None:
    a = standard_doc("青石", 2022, source="corpora/a/qingshi.txt")
    b = standard_doc("青石", 2022, source="corpora/b/qingshi-copy.txt")
    assert a.doc_id == b.doc_id
    rows, _ = _panel([a, b])
    [row] = rows
    assert (row["n_documents"], row["n_sources"]) == (1, 2)
    assert row["sources"] == "corpora/a/qingshi.txt；corpora/b/qingshi-copy.txt"
    assert row["admin_penalty_cases" + FLAG_SUFFIX] == "ok"


def test_near_duplicate_copies_merge_but_different_reports_do_not() -> None:
    base = standard_doc("青石", 2022, source="corpora/site/qingshi.html")
    # The same report re-posted with a web header line: near-identical text, other bytes.
    copy = make_doc(
        "首页 > 政务公开\n" + base.text,
        [fact("admin_penalty_cases", "120件", 120, "law_enforcement")],
        town="青石",
        year=2022,
        source="corpora/mirror/qingshi.txt",
    )
    assert jaccard(shingles(base.text), shingles(copy.text)) >= 0.9
    rows, _ = _panel([base, copy])
    [row] = rows
    assert (row["n_documents"], row["n_sources"]) == (1, 2)
    assert row["doc_ids"].split("；") == [copy.doc_id, base.doc_id]  # the longer copy is primary
    assert row["admin_penalty_cases" + FLAG_SUFFIX] == "ok"

    other_text = "关于2022年度依法行政工作的补充报告\n" + "全年开展执法检查，办理行政处罚案件95件。\n" * 3
    other = make_doc(
        other_text,
        [fact("admin_penalty_cases", "95件", 95, "law_enforcement")],
        town="青石",
        year=2022,
        source="corpora/other.txt",
    )
    rows, values = _panel([base, other])
    [row] = rows
    assert row["n_documents"] == 2
    assert row["admin_penalty_cases"] == 120  # the longer report ranks first
    assert row["admin_penalty_cases" + FLAG_SUFFIX] == "conflict"
    [cell] = [v for v in values if v["indicator"] == "admin_penalty_cases"]
    assert cell["actual_values"] == "120；95" and cell["doc_id"] == base.doc_id


def test_documents_without_region_or_year_keep_their_own_rows() -> None:
    a = make_doc(report("青石", 2022), [], town="青石", year=None, source="x/a.txt")
    b = make_doc(report("青石", 2023), [], town="青石", year=None, source="x/b.txt")
    c = make_doc(report("无名", 2022), [], town=None, year=2022, source="x/c.txt")
    failed = make_doc(report("桂湖", 2022), [], town="桂湖", year=2022, status="corrupt")
    rows, _ = _panel([a, b, c, failed])
    assert sorted(r["key_status"] for r in rows) == ["no_region", "no_year", "no_year"]
    assert all(r["n_documents"] == 1 for r in rows)


def test_catalog_normalisation_accepts_the_domain_shapes() -> None:
    entries = normalise_catalog(
        {
            "indicators": [
                {"id": "a", "name": "甲", "unit": "件", "kind": "C", "section": "s", "triggers": "一；二"},
                {"id": "b", "name_zh": "乙", "kind": "rate", "synonyms": ["三"], "description": "乙的定义"},
            ]
        }
    )
    assert entries[0]["kind"] == "count" and entries[0]["triggers"] == ["一", "二"]
    assert (entries[1]["name"], entries[1]["definition"], entries[1]["triggers"]) == (
        "乙",
        "乙的定义",
        ["三"],
    )
    with pytest.raises(ValueError):
        build_panel([], [{"id": "level", "name": "", "unit": "", "kind": "", "section": "", "triggers": []}])


def test_write_and_load_panel(tmp_path: Path) -> None:
    out = write_run(
        tmp_path / "run",
        [
            standard_doc("青石", 2022),
            standard_doc("青石", 2023, rate=99.0),
            standard_doc("桂湖", 2023, fines=12.25),
        ],
    )
    counts = write_panel(out, CATALOG)
    assert counts == {"panel": 3, "panel_values": 9}
    panel = extractor.load_panel(out)
    assert list(panel.columns) == [c for c, _ in panel_columns(CATALOG)]
    assert panel["report_year"].tolist() == [2023, 2022, 2023]
    assert panel["fines_confiscations_amount"].tolist() == [12.25, 36.5, 36.5]
    assert math.isnan(panel["legal_aid_cases"].iloc[0])
    from_csv = pd.read_csv(out / "panel.csv")
    assert from_csv["law_exam_pass_rate"].tolist() == [98.5, 98.5, 99.0]
    con = duckdb.connect(str(out / "extractor.duckdb"), read_only=True)
    assert con.execute("select count(*) from panel").fetchone() == (3,)
    assert con.execute("select count(*) from panel_values where flag = 'ok'").fetchone() == (9,)
    assert con.execute(
        "select sum(value) from indicator_values where township = '桂湖街道' "
        "and indicator = 'fines_confiscations_amount'"
    ).fetchone() == (12.25,)


def test_written_panel_in_small_batches_equals_the_pure_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import extractor.panel as panel_module

    docs = [standard_doc(town, year) for town in ("青石", "桂湖", "石岭") for year in (2021, 2022, 2023)]
    out = write_run(tmp_path / "run", docs)
    # Batches of two rows: the streamed files must not depend on where batches are cut.
    monkeypatch.setattr(panel_module, "PANEL_BATCH", 2)
    counts = write_panel(out, CATALOG)
    rows, values = build_panel(panel_module.iter_records(out / "documents.jsonl"), CATALOG)
    assert counts == {"panel": len(rows), "panel_values": len(values)} and len(rows) == 9
    expected = panel_module.to_frame(rows, panel_columns(CATALOG))
    assert (out / "panel.csv").read_text(encoding="utf-8") == expected.to_csv(index=False)

    def plain(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.astype(object).where(frame.notna(), None)

    pd.testing.assert_frame_equal(plain(pd.read_parquet(out / "panel.parquet")), plain(expected))
    assert len(pd.read_parquet(out / "panel_values.parquet")) == len(values)


def test_panel_uses_the_shipped_catalog() -> None:
    ids = [e["id"] for e in catalog()]
    cols = [c for c, _ in panel_columns()]
    assert cols[: len(PANEL_COLUMNS)] == [c for c, _ in PANEL_COLUMNS]
    assert cols[len(PANEL_COLUMNS) :: 2] == ids


# Text that looks like JSON structure: keys, brackets and quotes inside strings must stay text.
_PIECES = ['"', "\\", "[", "]", "{", "}", ", ", ": ", '"status": ', '"mentions": [', "字", "a", "\n"]
_TRICKY = st.lists(st.sampled_from(_PIECES), max_size=6).map("".join)
_KEYS = ["status", "doc_id", "metadata", "indicators", "mentions", "text"]
_ANY_KEY = st.sampled_from(_KEYS) | _TRICKY
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ANY_KEY, inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(_ANY_KEY, _JSON, max_size=6),
    st.lists(st.sampled_from(_KEYS), min_size=1, max_size=3, unique=True),
    st.booleans(),
    st.booleans(),
)
def test_top_level_fields_read_what_json_loads_reads(
    record: dict, keys: list[str], ascii_only: bool, sort_keys: bool
) -> None:
    line = json.dumps(record, ensure_ascii=ascii_only, sort_keys=sort_keys).encode()
    got = top_level_fields(line, keys)
    if all(k in record for k in keys):
        assert got == {k: record[k] for k in keys}
    else:  # a key only nested (or nowhere): the caller decodes the whole line
        assert got is None
    # Other separators than the writer's: never guessed, the whole line is decoded.
    assert top_level_fields(json.dumps(record, separators=(",", ":")).encode(), keys) is None


def test_batches_are_written_as_pandas_writes_them() -> None:
    columns = [("s", "string"), ("i", "int64"), ("f", "float64"), ("b", "bool")]
    rows = [
        {"s": '带"引号", 逗号', "i": 1, "f": 0.1 + 0.2, "b": True},
        {"s": "两行\n文本", "i": None, "f": 1e16, "b": None},
        {"s": None, "i": -(2**40), "f": math.nan, "b": False},
        {"s": "", "i": 0, "f": 3, "b": True},  # an int in a float column is written as a float
        {"s": " 前导空格", "i": 7, "f": None, "b": False},
        {"s": "x", "i": 2, "f": -1.5e-7, "b": True},
        {"s": "y", "i": 3, "f": math.inf, "b": None},
        {"s": "回车\r符", "i": 4, "f": 2.5, "b": True},  # left to the csv module
    ]
    frame = to_frame(rows, columns)
    for batch in (rows, rows[:-1], rows[:1], []):
        data = plain_columns(batch, columns)
        assert data is not None
        written = io.StringIO()
        write_csv_rows(written, columns, data, header=True)
        assert written.getvalue() == to_frame(batch, columns).to_csv(index=False)
    schema = arrow_schema(columns).with_metadata({b"pandas": pandas_metadata(columns)})
    table = arrow_table(plain_columns(rows, columns), schema)
    expected = pa.Table.from_pandas(frame, schema=arrow_schema(columns), preserve_index=False)
    assert table.equals(expected)
    # The column dtypes pandas restores from the metadata (Int64, boolean) are the ones it wrote.
    written_meta, pandas_meta = (json.loads(t.schema.metadata[b"pandas"]) for t in (table, expected))
    assert written_meta["columns"] == pandas_meta["columns"]
    pd.testing.assert_frame_equal(table.to_pandas(), expected.to_pandas())
    # Values pandas converts its own way (text in number columns, fractional or huge integers).
    for col, value in (("f", "0.9"), ("i", 2.0), ("i", 2**60), ("b", 1), ("s", 5), ("f", True)):
        assert plain_columns([{**rows[0], col: value}], columns) is None


def test_odd_indicator_values_are_written_the_pandas_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import extractor.panel as panel_module

    out = write_run(tmp_path / "run", [standard_doc(t, 2022) for t in ("青石", "桂湖", "石岭")])
    lines = (out / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[1])
    record["indicators"][0].update(confidence="0.9", occurrence=1.0)  # text and float from older tools
    lines[1] = json.dumps(record, ensure_ascii=False, sort_keys=True)
    (out / "documents.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(panel_module, "PANEL_BATCH", 2)  # batches with and without the odd row
    write_panel(out, CATALOG)
    _, values = build_panel(panel_module.iter_records(out / "documents.jsonl"), CATALOG)
    expected = to_frame(values, PANEL_VALUE_COLUMNS)
    assert expected["confidence"].tolist().count(0.9) == len(expected)
    assert (out / "panel_values.csv").read_text(encoding="utf-8") == expected.to_csv(index=False)
    written = pd.read_parquet(out / "panel_values.parquet")
    assert (written["occurrence"].dtype, written["is_target"].dtype) == ("Int64", "boolean")
    def plain(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.astype(object).where(frame.notna(), None)

    pd.testing.assert_frame_equal(plain(written), plain(expected))


def test_shingle_codes_agree_with_shingle_sets() -> None:
    texts = [report("青石", 2022), report("青石", 2023), report("桂湖", 2022, cases="95")]
    texts += ["首页 > 政务公开\n" + texts[0], texts[0].replace("\n", "\n\n  "), texts[1][:-30], ""]
    codes = shingle_codes(texts)
    assert codes is not None and codes[-1] is None
    near = 0
    for i, a in enumerate(texts[:-1]):
        assert len(codes[i]) == len(shingles(a))
        for j, b in enumerate(texts[:-1]):
            exact = len(set(codes[i].tolist()) & set(codes[j].tolist()))
            assert exact == len(shingles(a) & shingles(b))
            near += jaccard(shingles(a), shingles(b)) >= NEAR_DUPLICATE_JACCARD and i != j
    assert near  # the web copy and the re-spaced copy of the first report
    # A text of five characters or fewer is one short shingle: the sets are used instead.
    assert shingle_codes(["短文本", texts[0]]) is None


def test_a_failed_panel_leaves_the_duckdb_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import extractor.panel as panel_module

    out = write_run(tmp_path / "run", [standard_doc(t, 2022) for t in ("青石", "桂湖", "石岭")])
    write_panel(out, CATALOG)
    # The next build meets a last group whose indicators cannot be read, after the batches of
    # the two groups before it went to the DuckDB loader (which would leave a panel of two rows).
    lines = (out / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines.pop())
    broken["metadata"]["region"]["township"] = "龙井街道"
    line = json.dumps(broken, ensure_ascii=False, sort_keys=True)
    line = line.replace('"indicators": [', '"indicators": [}', 1)
    (out / "documents.jsonl").write_text("\n".join([*lines, line]) + "\n", encoding="utf-8")
    monkeypatch.setattr(panel_module, "PANEL_BATCH", 1)
    with pytest.raises(json.JSONDecodeError):
        write_panel(out, CATALOG)
    con = duckdb.connect(str(out / "extractor.duckdb"), read_only=True)
    assert con.execute("select count(*) from panel").fetchone() == (3,)
    assert con.execute("select count(*) from panel_values").fetchone() == (9,)
    tables = {name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()}
    assert tables == {"documents", "headings", "mentions", "indicators", "panel", "panel_values", "indicator_values"}
    assert len(pd.read_csv(out / "panel.csv")) == 3
