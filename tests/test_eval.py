"""Evaluation harness: matching rules, scores of hand-built predictions, gold files, fixtures, floors."""

from __future__ import annotations

import copy
import json
import re
import runpy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from extractor.clean import normalise_width
from extractor.cli import main
from extractor.evaluate import (
    Counts,
    EvalError,
    Report,
    candidate_gold,
    check_floors,
    evaluate,
    find_gold_files,
    lcs_pairs,
    load_floors,
    load_gold,
    locate_quotes,
    max_matching,
    region_path,
    resolve_source,
    same_quantity,
    score,
    score_headings,
    score_metadata,
    score_numbers,
)
from extractor.model import Document

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden"
SHARED_GOLD = REPO.parent / "shared" / "gold"
SEED_GOLD = SHARED_GOLD / "chongqing-rongchang-changyuan-2021.gold.json"
FLOORS = GOLDEN / "floors.yaml"
ALL_GOLD = [*sorted(SHARED_GOLD.glob("*.gold.json")), *sorted(GOLDEN.glob("*.gold.json"))]


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", normalise_width(text))


def fixture_text(gold_path: Path) -> str:
    """The logical text of the document a gold file names, read without the pipeline."""
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    source = resolve_source(gold_path, gold["file"])
    if source.suffix == ".pdf":
        return runpy.run_path(str(GOLDEN / "make_pdf.py"))["plain_text"]()
    if source.suffix == ".html":
        from bs4 import BeautifulSoup

        return BeautifulSoup(source.read_bytes(), "lxml").get_text("\n")
    return source.read_bytes().decode("big5" if "big5" in source.name else "utf-8")


def perfect_prediction(gold: dict[str, Any], text: str) -> Document:
    """A Document that states exactly what the gold says, with mentions on the quotes' spans."""
    spans = locate_quotes(text, [n["quote"] for n in gold["numbers"]])
    mentions = [
        {"value": n["value"], "unit": n["unit"], "unit_norm": n["unit"], "approx": n["approx"],
         "kind": "count", "surface": text[s:e], "start": s, "end": e}
        for n, (s, e) in zip(gold["numbers"], spans, strict=True)
    ]
    meta = dict(gold["metadata"])
    path = meta.pop("region_path")
    # A municipality is both province and city in the region record.
    if len(path) == 3 and path[0].endswith("市"):
        path = [path[0], *path]
    meta["region"] = dict(zip(("province", "city", "county", "township"), path, strict=False))
    return Document(doc_id="x", source="x", headings=copy.deepcopy(gold["headings"]),
                    mentions=mentions, metadata=meta, text=text)


@pytest.fixture(scope="module")
def seed() -> tuple[dict[str, Any], str]:
    gold = load_gold(SEED_GOLD)
    return gold, (REPO / gold["file"]).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Whole-document scores of hand-built predictions


def test_perfect_prediction_scores_one(seed: tuple[dict[str, Any], str]) -> None:
    gold, text = seed
    metrics = score(gold, perfect_prediction(gold, text)).metrics()
    assert metrics == {k: 1.0 for k in metrics}


def test_perturbed_prediction_scores_lower(seed: tuple[dict[str, Any], str]) -> None:
    gold, text = seed
    doc = perfect_prediction(gold, text)
    doc.headings.pop(5)  # one heading missed
    doc.headings[0]["level"] = 2  # one at the wrong level: missed and spurious
    doc.headings[1]["text"] += "。全年"  # run-in text not cut at 。: missed and spurious, marker still right
    doc.mentions[0]["value"] = 13  # wrong value: missed and spurious
    doc.mentions[1]["approx"] = None  # qualifier lost: right for value+unit only
    doc.mentions[2]["unit"] = doc.mentions[2]["unit_norm"] = "人"  # 人次 read as 人
    doc.mentions.append({"value": 3, "unit": "号", "start": 10, "end": 12})  # spurious
    doc.metadata["title"] = "关于2021年法治政府建设的报告"
    result = score(gold, doc)
    n_h, n_n = len(gold["headings"]), len(gold["numbers"])
    assert vars(result.headings.text) == {"tp": n_h - 3, "fp": 2, "fn": 3}
    assert vars(result.headings.marker) == {"tp": n_h - 2, "fp": 1, "fn": 2}
    assert vars(result.numbers.plain) == {"tp": n_n - 2, "fp": 3, "fn": 2}
    assert vars(result.numbers.qualified) == {"tp": n_n - 3, "fp": 4, "fn": 3}
    assert result.metadata_counts == (7, 8)
    assert [w["quote"] for w in result.numbers.wrong_qualifier] == [gold["numbers"][1]["quote"]]
    metrics = result.metrics()
    assert all(metrics[k] < 1.0 for k in ("headings_f1", "headings_marker_f1", "numbers_f1", "numbers_q_f1",
                                          "metadata_acc"))
    assert metrics["numbers_q_f1"] < metrics["numbers_f1"]


def test_failed_document_scores_zero_but_is_reported(seed: tuple[dict[str, Any], str]) -> None:
    gold, _ = seed
    doc = Document(doc_id="x", source="x.pdf", status="corrupt", message="[E005] broken")
    result = score(gold, doc)
    assert (result.status, result.headings.text.tp, result.numbers.plain.tp) == ("corrupt", 0, 0)
    assert len(result.numbers.quotes_not_found) == len(gold["numbers"])
    assert result.metrics()["numbers_f1"] == 0.0


# ---------------------------------------------------------------------------------------------
# Matching rules, one by one

QUOTE_CASES = [
    # (text, quotes, expected spans) — development examples
    ("开展学习12次，宣讲12次", ["学习12次"], [(2, 7)]),
    ("宣讲12次；又宣讲12次", ["宣讲12次", "宣讲12次"], [(0, 5), (7, 12)]),  # repeats in order
    ("宣讲12次", ["宣讲12次", "宣讲12次"], [(0, 5), None]),  # a second occurrence is not there
    ("发放资料１．５万份", ["资料1.5万份"], [(2, 9)]),  # widths
    ("案件1\n236件", ["案件1236件"], [(0, 8)]),  # a number split by a line break
    ("没有这个", ["12次"], [None]),
]


@pytest.mark.parametrize(("text", "quotes", "spans"), QUOTE_CASES)
def test_locate_quotes(text: str, quotes: list[str], spans: list[tuple[int, int] | None]) -> None:
    assert locate_quotes(text, quotes) == spans


QUANTITY_CASES = [
    # (gold value, gold unit, mention, same?) — development examples
    (12, "次", {"value": 12, "unit": "次"}, True),
    (12000, "件", {"value": 12000.000001, "unit": "件"}, True),  # within the relative tolerance
    (12000, "件", {"value": 12001, "unit": "件"}, False),
    (8365000, "元", {"value": 836.5, "unit": "万元"}, True),  # scale kept in the unit
    (105000000, "元", {"value": 1.05, "unit": "亿元"}, True),
    (8365000, "元", {"value": 836.5, "unit": "元"}, False),
    (5.08, "%", {"value": 5.08, "unit": "％"}, True),  # width-normalised
    (59, "人次", {"value": 59, "unit": "人"}, False),  # 人次 is not 人
    (30, "宗", {"value": 30, "unit": "宗", "unit_norm": "件"}, True),
    (30, "件", {"value": 30, "unit": "宗", "unit_norm": "件"}, True),  # normalised unit also counts
    (160, "场(次)", {"value": 160, "unit": "场（次）"}, True),
]


@pytest.mark.parametrize(("value", "unit", "mention", "same"), QUANTITY_CASES)
def test_same_quantity(value: float, unit: str, mention: dict[str, Any], same: bool) -> None:
    assert same_quantity({"value": value, "unit": unit}, mention) is same


def _gold_number(quote: str, value: float, unit: str, approx: str | None = None) -> dict[str, Any]:
    return {"quote": quote, "value": value, "unit": unit, "approx": approx, "what": ""}


def _mention(value: float, unit: str, start: int, end: int, **extra: Any) -> dict[str, Any]:
    return {"value": value, "unit": unit, "start": start, "end": end, "surface": "", **extra}


def test_numbers_need_the_quote_place() -> None:
    text = "学习12次。宣讲12次。"
    gold = [_gold_number("宣讲12次", 12, "次")]
    elsewhere = score_numbers(gold, [_mention(12, "次", 2, 5)], text)
    assert vars(elsewhere.plain) == {"tp": 0, "fp": 1, "fn": 1}
    here = score_numbers(gold, [_mention(12, "次", 8, 11)], text)
    assert vars(here.plain) == {"tp": 1, "fp": 0, "fn": 0}


def test_numbers_match_one_to_one() -> None:
    text = "执法人员59人，其中59人持证"
    gold = [_gold_number("执法人员59人，其中59人", 59, "人"), _gold_number("执法人员59人", 59, "人")]
    # One mention overlaps both quotes: it can stand for one gold number only.
    one = score_numbers(gold, [_mention(59, "人", 4, 7)], text)
    assert vars(one.plain) == {"tp": 1, "fp": 0, "fn": 1}
    # Greedy in gold order would give the long quote the first mention and leave the short quote
    # with nothing; the maximum matching finds both.
    both = score_numbers(gold, [_mention(59, "人", 4, 7), _mention(59, "人", 10, 13)], text)
    assert vars(both.plain) == {"tp": 2, "fp": 0, "fn": 0}


def test_qualifier_is_scored_apart() -> None:
    text = "调解纠纷300余件"
    gold = [_gold_number("调解纠纷300余件", 300, "件", "余")]
    right = score_numbers(gold, [_mention(300, "件", 4, 9, approx="余")], text)
    wrong = score_numbers(gold, [_mention(300, "件", 4, 9, approx=None)], text)
    assert (right.plain.tp, right.qualified.tp) == (1, 1)
    assert (wrong.plain.tp, wrong.qualified.tp) == (1, 0)
    # No qualifier in gold: None, '' and a missing key all agree.
    plain = score_numbers([_gold_number("300件", 300, "件")], [_mention(300, "件", 0, 4, approx="")], "300件")
    assert plain.qualified.tp == 1


def test_deltas_and_repeated_numerals_are_not_extra_predictions() -> None:
    text = "受理1236件，同比增长12%；报备率、报备及时率均为100%"
    gold = [_gold_number("受理1236件", 1236, "件"), _gold_number("均为100%", 100, "%")]
    mentions = [
        _mention(1236, "件", 2, 7),
        _mention(12, "%", 12, 15, kind="delta"),  # a change, never a gold number
        _mention(100, "%", 27, 31, subject="报备率"),  # one numeral read for two facts
        _mention(100, "%", 27, 31, subject="报备及时率"),
    ]
    result = score_numbers(gold, mentions, text)
    assert vars(result.plain) == {"tp": 2, "fp": 0, "fn": 0}
    # The same change read as a level is a spurious number.
    assert score_numbers(gold, [*mentions, _mention(12, "%", 12, 15)], text).plain.fp == 1


def test_max_matching_is_maximum() -> None:
    assert max_matching([[0, 1], [0]]) == {0: 1, 1: 0}
    assert len(max_matching([[0], [0], [1, 2]])) == 2
    assert max_matching([]) == {}


def test_headings_align_in_order() -> None:
    gold = [{"level": 1, "marker": "一、", "text": "学习情况"}, {"level": 2, "marker": "(一)", "text": "学习宣传"},
            {"level": 1, "marker": "二、", "text": "存在问题"}]
    predicted = [{"level": 1, "marker": "二、", "text": "存在问题"}, {"level": 1, "marker": "一、", "text": "学习情况"},
                 {"level": 2, "marker": "（一）", "text": "学习 宣传"}]
    result = score_headings(gold, predicted)
    # 存在问题 comes first in the prediction, so only two can be aligned in order.
    assert vars(result.text) == {"tp": 2, "fp": 1, "fn": 1}
    assert [h["text"] for h in result.missed] == ["存在问题"]
    assert lcs_pairs("abcd", "acbd") in ([(0, 0), (1, 2), (3, 3)], [(0, 0), (2, 1), (3, 3)])


def test_marker_score_ignores_text() -> None:
    gold = [{"level": 3, "marker": "1.", "text": "依法防控"}]
    predicted = [{"level": 3, "marker": "1.", "text": "依法防控。紧紧依靠人民"}]
    result = score_headings(gold, predicted)
    assert (result.text.tp, result.marker.tp) == (0, 1)


REGION_CASES = [
    # (region record, path) — development examples
    ({"province": "重庆市", "city": "重庆市", "county": "荣昌区", "township": "昌元街道"}, ["重庆市", "荣昌区", "昌元街道"]),
    ({"province": "重庆市", "city": "市辖区", "county": "荣昌区", "township": None}, ["重庆市", "荣昌区"]),
    ({"province": "浙江省", "city": "湖州市", "county": "安吉县", "township": ""}, ["浙江省", "湖州市", "安吉县"]),
    ({}, []),
]


@pytest.mark.parametrize(("region", "path"), REGION_CASES)
def test_region_path(region: dict[str, Any], path: list[str]) -> None:
    assert region_path(region) == path


def test_metadata_comparison() -> None:
    gold = {"title": "关于2021年法治政府建设工作的报告", "issuers": ["甲街道工委", "甲街道办事处"], "doc_number": None,
            "report_year": 2021, "region_path": ["重庆市", "荣昌区"], "addressee": "区委、区政府", "other": "x"}
    predicted = {"title": "关于2021年法治政府建设工作的报告 ", "issuers": ["甲街道办事处", "甲街道工委"],
                 "doc_number": "", "report_year": "2021", "addressee": "区委、区政府:",
                 "region": {"province": "重庆市", "city": "重庆市", "county": "荣昌区"}}
    result = score_metadata(gold, predicted)
    assert "other" not in result  # fields outside the schema are not scored
    assert {k: v["ok"] for k, v in result.items()} == {
        "title": True, "issuers": True, "doc_number": True, "addressee": False, "report_year": True,
        "region_path": True}
    # A null gold value needs an empty prediction.
    assert not score_metadata({"doc_number": None}, {"doc_number": "荣委〔2022〕2号"})["doc_number"]["ok"]


def test_counts_edge_cases() -> None:
    assert (Counts().precision, Counts().recall, Counts().f1) == (1.0, 1.0, 1.0)
    assert Counts(fn=3).f1 == 0.0
    assert Counts(fp=2).f1 == 0.0
    assert Counts(tp=1, fp=1, fn=1).f1 == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------------
# Gold files and fixtures


@pytest.mark.parametrize("path", ALL_GOLD, ids=lambda p: p.name)
def test_gold_file_is_valid(path: Path) -> None:
    gold = load_gold(path)
    assert gold["headings"] and gold["numbers"]


def test_invalid_gold_is_rejected(tmp_path: Path) -> None:
    gold = json.loads(SEED_GOLD.read_text(encoding="utf-8"))
    del gold["numbers"][0]["quote"]
    bad = tmp_path / "bad.gold.json"
    bad.write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(EvalError, match="numbers/0"):
        load_gold(bad)


@pytest.mark.parametrize("path", ALL_GOLD, ids=lambda p: p.name)
def test_gold_quotes_and_headings_occur_in_text(path: Path) -> None:
    gold = load_gold(path)
    text = _squeeze(fixture_text(path))
    # Each quote occurs exactly as often as the gold lists it, so it places its number unambiguously.
    listed = Counter(_squeeze(n["quote"]) for n in gold["numbers"])
    wrong = {q: (k, text.count(q)) for q, k in listed.items() if text.count(q) != k}
    assert not wrong, f"quote: (listed, in text): {wrong}"
    missing = [h["text"] for h in gold["headings"] if _squeeze(h["marker"] + h["text"]) not in text]
    assert not missing
    for key in ("title", "doc_number", "reference_doc_number", "addressee"):
        value = gold["metadata"].get(key)
        assert value is None or _squeeze(value) in text, key


FIXTURE_GOLD = sorted(GOLDEN.glob("*.gold.json"))


def test_fixture_set_covers_the_brief() -> None:
    golds = {p.name: load_gold(p) for p in FIXTURE_GOLD}
    assert len(golds) >= 8
    suffixes = {Path(g["file"]).suffix for g in golds.values()}
    assert {".txt", ".html", ".pdf"} <= suffixes
    levels = {g["metadata"]["level"] for g in golds.values()}
    assert {"district", "county", "subdistrict", "township", "department"} <= levels
    assert any(g["metadata"]["title"] is None for g in golds.values())
    assert any(len(g["metadata"]["issuers"]) == 2 and g["metadata"]["doc_number"] for g in golds.values())
    assert any(max(h["level"] for h in g["headings"]) == 4 for g in golds.values())


@pytest.mark.parametrize("path", FIXTURE_GOLD, ids=lambda p: p.name)
def test_fixture_size(path: Path) -> None:
    # The report itself, without page chrome: 1,000-3,000 characters.
    gold = load_gold(path)
    source = resolve_source(path, gold["file"])
    if source.suffix == ".html":
        from bs4 import BeautifulSoup

        text = BeautifulSoup(source.read_bytes(), "lxml").select_one("#zoom").get_text()
    else:
        text = fixture_text(path)
    assert 1000 <= len(_squeeze(text)) <= 3000


def test_committed_pdf_matches_its_generator() -> None:
    import pdfplumber

    make_pdf = runpy.run_path(str(GOLDEN / "make_pdf.py"))
    with pdfplumber.open(make_pdf["PDF_PATH"]) as pdf:
        pages = [page.extract_text() or "" for page in pdf.pages]
    body = "".join(re.sub(r"-\s*\d+\s*-\s*$", "", page.strip()) for page in pages)
    assert _squeeze(body) == _squeeze(make_pdf["plain_text"]())
    # The layout shows what the fixture is for (wrapped number and heading, page-spanning paragraph).
    make_pdf["check"](make_pdf["layout"]())


# ---------------------------------------------------------------------------------------------
# Files, floors and the command line


def test_find_and_resolve(tmp_path: Path) -> None:
    files = find_gold_files([GOLDEN, SEED_GOLD])
    assert SEED_GOLD in files and len(files) == len(FIXTURE_GOLD) + 1
    with pytest.raises(EvalError, match="not found"):
        find_gold_files([tmp_path / "nowhere"])
    # The seed gold names a path relative to the repository root.
    assert resolve_source(SEED_GOLD, "corpora/seed/chongqing-rongchang-changyuan-2021.txt").is_file()
    with pytest.raises(EvalError, match="not found"):
        resolve_source(SEED_GOLD, "corpora/seed/missing.txt")


def test_floors_file_is_valid_and_names_real_documents() -> None:
    floors = load_floors(FLOORS)
    names = {p.name.removesuffix(".gold.json") for p in ALL_GOLD}
    assert set(floors["documents"]) <= names
    assert floors["overall"]


def test_floors_reject_unknown_metrics(tmp_path: Path) -> None:
    path = tmp_path / "floors.yaml"
    path.write_text("overall: {heading_f1: 0.5}\n", encoding="utf-8")
    with pytest.raises(EvalError, match="heading_f1"):
        load_floors(path)


def test_check_floors(seed: tuple[dict[str, Any], str]) -> None:
    gold, text = seed
    doc = perfect_prediction(gold, text)
    doc.mentions = doc.mentions[:-5]
    report = Report([score(gold, doc, name="seed")])
    failures, notes = check_floors(report, {"overall": {"headings_f1": 1.0, "numbers_r": 0.95},
                                            "documents": {"seed": {"numbers_f1": 0.99}, "other": {"numbers_f1": 1}}})
    assert failures == [
        f"overall: numbers_r = {42 / 47:.4f} < floor 0.95",
        f"seed: numbers_f1 = {2 * 42 / (42 + 47):.4f} < floor 0.99",
    ]
    assert notes == ["floors for 'other' skipped: no such gold document evaluated"]


def test_eval_command_meets_the_committed_floors(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", str(SHARED_GOLD), str(GOLDEN), "--floors", str(FLOORS), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["floors"]["failures"] == []
    assert code == 0
    names = [d["name"] for d in out["documents"]]
    assert "chongqing-rongchang-changyuan-2021" in names and len(names) == len(ALL_GOLD)
    assert set(out["overall"]) >= {"headings_f1", "numbers_f1", "numbers_q_f1", "metadata_acc"}


def test_eval_command_fails_below_a_floor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A gold number whose quote is nowhere in the text can never be found, so no pipeline reaches
    # numbers recall 1.0 on this gold: the floor must fail.
    gold = json.loads(SEED_GOLD.read_text(encoding="utf-8"))
    gold["numbers"].append(_gold_number("不在文中的引文99次", 99, "次"))
    path = tmp_path / "seed-plus.gold.json"
    path.write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    floors = tmp_path / "floors.yaml"
    floors.write_text("documents: {seed-plus: {numbers_r: 1.0}}\noverall: {numbers_r: 0.0}\n", encoding="utf-8")
    code = main(["eval", str(path), "--floors", str(floors), "-v"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0].startswith("document") and "seed-plus" in out
    assert "FLOORS MISSED (1)" in out and "seed-plus: numbers_r = " in out
    assert "不在文中的引文99次" in out  # -v lists the quote that was not found


def test_eval_command_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = json.loads(SEED_GOLD.read_text(encoding="utf-8"))
    gold["file"] = "no/such/report.txt"
    path = tmp_path / "x.gold.json"
    path.write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    assert main(["eval", str(path)]) == 2
    assert "not found" in capsys.readouterr().err


def test_root_option_places_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "zhejiang-huzhou-anji-qinghe-2023"
    gold = json.loads((GOLDEN / f"{name}.gold.json").read_text(encoding="utf-8"))
    gold["file"] = f"docs/{name}.txt"
    (tmp_path / "gold").mkdir()
    (tmp_path / "gold" / f"{name}.gold.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "data" / "docs").mkdir(parents=True)
    (tmp_path / "data" / "docs" / f"{name}.txt").write_bytes((GOLDEN / f"{name}.txt").read_bytes())
    assert main(["eval", str(tmp_path / "gold"), "--root", str(tmp_path / "data"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["documents"][0]["source"] == str(tmp_path / "data" / "docs" / f"{name}.txt")
    # Without --root the path is looked up under the repository and the gold folder's parents only.
    assert main(["eval", str(tmp_path / "gold")]) == 2


def test_evaluate_and_candidate_round_trip() -> None:
    # A candidate gold made from the pipeline's output scores that same output perfectly.
    path = GOLDEN / "sichuan-chengdu-xindu-2022.gold.json"
    report = evaluate([path])
    from extractor.pipeline import process_file

    doc = process_file(GOLDEN / "sichuan-chengdu-xindu-2022.txt")
    assert report.documents[0].status == doc.status
    candidate = candidate_gold(doc, "sichuan-chengdu-xindu-2022.txt")
    metrics = score(candidate, doc).metrics()
    assert all(v in (1.0, None) for v in metrics.values()), metrics
