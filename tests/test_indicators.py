"""Indicators stage: the catalog as data, binding numbers to indicators, canonical values."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import jsonschema
import pytest

from extractor.errors import RulesError
from extractor.indicators import _known_sections, catalog, compile_catalog, map_indicators
from extractor.numbers import find_mentions
from extractor.numbers.segment import cut
from extractor.rules import load_schema_yaml, schemas_dir


def rows_of(text: str) -> list[dict[str, Any]]:
    return map_indicators(text, find_mentions(text, []))


def bound(text: str) -> list[tuple[str, float, str]]:
    return [(r["indicator"], r["value"], r["unit"]) for r in rows_of(text)]


# --- the catalog ----------------------------------------------------------------------------------
def test_catalog_loads_with_every_drafted_indicator() -> None:
    cat = catalog()
    assert len(cat.indicators) == 86
    assert cat.version.count(".") == 2
    assert {"xi_thought_study_sessions", "disputes_mediated", "public_satisfaction_rule_of_law"} <= set(cat.by_id)
    kinds = {i.kind for i in cat.indicators}
    assert kinds == {"count", "rate", "money"}


def test_catalog_sections_are_known_sections() -> None:
    sections = {e["id"] for e in load_schema_yaml("sections")["sections"]}
    assert {i.section for i in catalog().indicators} <= sections


@pytest.mark.parametrize("indicator", [pytest.param(i, id=i.id) for i in catalog().indicators])
def test_every_example_maps_to_its_own_indicator(indicator: Any) -> None:
    rows = rows_of(indicator.example)
    assert indicator.id in [r["indicator"] for r in rows], rows


def _data() -> dict[str, Any]:
    return copy.deepcopy(load_schema_yaml("indicators"))


@pytest.mark.parametrize("breakage", ["duplicate_id", "unknown_section", "rate_unit", "count_percent", "short_head"])
def test_broken_catalog_fails_loading(breakage: str) -> None:
    data = _data()
    first = data["indicators"][0]
    if breakage == "duplicate_id":
        data["indicators"].append(copy.deepcopy(first))
    elif breakage == "unknown_section":
        first["section"] = "astrology"
    elif breakage == "rate_unit":
        rate = next(i for i in data["indicators"] if i["kind"] == "rate")
        rate["units"] = ["%", "件"]
    elif breakage == "count_percent":
        first["units"] = [*first["units"], "%"]
    else:
        first["triggers"] = ["学…法"]
    with pytest.raises(RulesError):
        compile_catalog(data, _known_sections())


def test_catalog_schema_rejects_unknown_fields_and_kinds() -> None:
    schema = json.loads((schemas_dir() / "indicators.schema.json").read_text(encoding="utf-8"))
    data = _data()
    jsonschema.validate(data, schema)
    bad = copy.deepcopy(data)
    bad["indicators"][0]["colour"] = "red"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad = copy.deepcopy(data)
    bad["indicators"][0]["kind"] = "ratio"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_triggers_segment_as_one_token_in_a_private_tokenizer() -> None:
    import jieba

    assert "持证行政执法人员" in cut("全区共有持证行政执法人员1120名")
    assert "持证行政执法人员" not in jieba.dt.FREQ  # the global dictionary is left alone


# --- the seed ---------------------------------------------------------------------------------------
SEED_EXPECTED = [
    ("xi_thought_study_sessions", 12, None),
    ("info_disclosed_proactively", 157, None),
    ("enforcement_personnel", 59, None),
    ("publicity_events", 160, None),
    ("publicity_materials", 150000, "近"),
    ("disputes_mediated", 300, "余"),
]


@pytest.mark.parametrize(("indicator", "value", "approx"), SEED_EXPECTED)
def test_seed_indicators(seed_text: str, indicator: str, value: float, approx: str | None) -> None:
    rows = [r for r in rows_of(seed_text) if r["indicator"] == indicator]
    assert rows, indicator
    assert (rows[0]["value"], rows[0]["approx"], rows[0]["occurrence"]) == (value, approx, 1)


def test_seed_rows_point_at_their_mentions(seed_text: str) -> None:
    mentions = find_mentions(seed_text, [])
    for r in map_indicators(seed_text, mentions):
        m = mentions[r["mention_idx"]]
        assert seed_text[r["start"]:r["end"]] == r["surface"] == m["surface"]
        assert r["trigger"].replace("…", "")[:2] in m["sentence"]


# --- binding ----------------------------------------------------------------------------------------
def test_compound_sentence_binds_left_to_right() -> None:
    text = "全年收到行政复议申请412件,依法受理378件,审结351件,其中直接纠错49件,直接纠错率14.0%。"
    assert bound(text) == [
        ("admin_review_received", 412, "件"), ("admin_review_accepted", 378, "件"),
        ("admin_review_concluded", 351, "件"), ("admin_review_corrected", 49, "件"),
        ("admin_review_correction_rate", 14, "%"),
    ]


def test_a_percentage_never_binds_a_count() -> None:
    assert bound("主动公开政府信息占比35%") == []
    assert bound("执法人员持证率100%") == [("enforcement_cert_rate", 100, "%")]


def test_trigger_after_the_number_when_none_before() -> None:
    (r,) = rows_of("组织186人参加执法资格考试")
    assert (r["indicator"], r["rule"]) == ("enforcement_cert_exam", "trigger_after")
    (before,) = rows_of("执法资格考试参考186人")
    assert before["rule"] == "trigger_before" and before["confidence"] > r["confidence"]


@pytest.mark.parametrize(("text", "wan"), [
    ("罚没款合计836.5万元", 836.5),
    ("罚没款3000元", 0.3),
    ("罚没款1.2亿元", 12000),
    ("罚没款三十万元", 30),
])
def test_money_in_wan_yuan(text: str, wan: float) -> None:
    (r,) = rows_of(text)
    assert r["indicator"] == "fines_confiscations_amount" and r["unit"] == "万元"
    assert math.isclose(r["value"], wan)


def test_context_decides_between_pass_rates() -> None:
    assert bound("年度学法考试合格率99.6%") == [("law_exam_pass_rate", 99.6, "%")]
    assert bound("开展执法案卷评查,合格率96.5%") == [("case_file_pass_rate", 96.5, "%")]
    assert bound("合格率98%") == []  # no context: nothing to decide with


def test_short_triggers_need_word_boundaries() -> None:
    assert bound("调解纠纷120件") == [("disputes_mediated", 120, "件")]
    assert bound("聘请专职调解员5件") == []  # 调解 inside 调解员 is no trigger


def test_exclusions_veto() -> None:
    assert bound("受理群众投诉举报2.86万件") == []
    assert bound("依法受理378件") == [("admin_review_accepted", 378, "件")]


def test_delta_rides_on_the_level() -> None:
    (r,) = rows_of("败诉率6.8%,同比下降2.1个百分点")
    assert (r["value"], r["delta_value"], r["delta_type"]) == (6.8, -2.1, "pp")
    (r,) = rows_of("全年收到行政复议申请412件,同比上升35%")
    assert (r["value"], r["delta_value"], r["delta_type"]) == (412, 35, "pct")


def test_occurrences_are_numbered_per_indicator() -> None:
    rows = rows_of("在政府网站主动公开信息157条,在政务新媒体发布信息111条;调处矛盾纠纷20件")
    assert [(r["indicator"], r["occurrence"]) for r in rows] == [
        ("info_disclosed_proactively", 1), ("info_disclosed_proactively", 2), ("disputes_mediated", 1)]


def test_targets_stay_marked() -> None:
    (r,) = rows_of("力争法律顾问覆盖率达到100%")
    assert r["is_target"] is True and r["indicator"] == "legal_adviser_coverage_rate"


def test_shared_rate_binds_each_named_rate() -> None:
    rows = rows_of("重大决策合法性审查率、集体讨论率均达100%")
    assert [(r["indicator"], r["trigger"]) for r in rows] == [
        ("major_decision_procedure_rate", "合法性审查率"), ("major_decision_procedure_rate", "集体讨论率")]


def test_traditional_characters_bind_too() -> None:
    assert bound("調解糾紛300餘件") == [("disputes_mediated", 300, "件")]


def test_no_mentions_no_rows() -> None:
    assert map_indicators("", []) == []
    assert map_indicators("全年开展专题学习", []) == []


def test_a_trigger_after_the_number_belongs_to_a_later_number() -> None:
    assert bound("向8个街道、5个镇下放审批服务事项52项") == [("items_cancelled_delegated", 52, "项")]


def test_a_list_item_with_its_own_label_does_not_borrow_a_trigger() -> None:
    assert bound("共有在编执法人员14人、协管人员36人") == [("enforcement_personnel", 14, "人")]
    rows = rows_of("组织领导干部旁听行政案件庭审4场、共计230人次")  # 共计 labels nothing
    assert [(r["indicator"], r["value"]) for r in rows] == [("trial_observation_participants", 230)]
    assert rows[0]["confidence"] < 0.9  # the trigger stands before a 、 list separator


def test_administrative_licences_next_to_penalty_cases() -> None:
    assert bound("办理行政处罚案件3418件、行政许可1.9万件") == [
        ("admin_penalty_cases", 3418, "件"), ("admin_license_decisions", 19000, "件")]


BUGS = [  # bindings that went wrong once, named by what they reproduce
    ("全县一审行政诉讼案件收案152件", [("admin_litigation_cases", 152, "件")]),  # 收案 is no reconsideration here
    ("县政府作为被申请人的行政复议案件37件", [("admin_review_received", 37, "件")]),
    ("新增省级民主法治示范村2个、市级8个", [("demo_rule_of_law_villages", 2, "个"), ("demo_rule_of_law_villages", 8, "个")]),
    ("全年网上办件28.6万件", [("gov_service_volume", 286000, "件")]),
    # Cancelled licensing items are cancellations, not the size of the licensing list.
    ("全年取消行政许可事项12项,下放县级管理权限23项", [("items_cancelled_delegated", 12, "项"),
                                                  ("items_cancelled_delegated", 23, "项")]),
    ("审核县政府规范性文件12件", [("normative_docs_legality_reviewed", 12, "件")]),
    ("抽查案卷400卷,合格率97.5%", [("case_files_reviewed", 400, "卷"), ("case_file_pass_rate", 97.5, "%")]),
    ("对习近平法治思想宣传、宣讲100余次", []),  # not a legal-publicity event
    ("全年办理各类政务服务事项1.4万件", [("gov_service_volume", 14000, "件")]),  # cases, not items
]


@pytest.mark.parametrize(("text", "expected"), BUGS)
def test_bindings_caught_as_bugs(text: str, expected: list[tuple[str, float, str]]) -> None:
    assert bound(text) == expected


def test_a_target_cue_opening_the_sentence_governs_it() -> None:
    rows = rows_of("力争行政复议纠错率控制在15%以内,全年开展普法活动不少于300场。")
    assert [(r["indicator"], r["is_target"]) for r in rows] == [
        ("admin_review_correction_rate", True), ("publicity_events", True)]


def test_section_keywords_give_context() -> None:
    text = "合格率98%"
    mentions = find_mentions(text, [{"start": 0, "path": "一", "section": "law_enforcement", "part": "measures"}])
    assert [r["indicator"] for r in map_indicators(text, mentions)] == ["case_file_pass_rate"]
    assert map_indicators(text, find_mentions(text, [])) == []


def test_per_mille_rates_bind_in_percent() -> None:
    (r,) = rows_of("信访事项按期办结率达999‰")
    assert (r["indicator"], r["value"], r["unit"]) == ("petition_resolution_rate", 99.9, "%")


def test_exclusions_apply_to_the_numbers_own_list_item() -> None:
    assert bound("以街道为被申请人的行政复议案件2件、以街道为被告的行政诉讼案件3件") == [
        ("admin_review_received", 2, "件"), ("admin_litigation_cases", 3, "件")]


def test_generic_legality_reviews_and_audience_context() -> None:
    assert bound("全年开展合法性审查29件") == [("legality_reviews_total", 29, "件")]
    assert bound("对规范性文件开展合法性审查29件") == [("normative_docs_legality_reviewed", 29, "件")]
    assert bound("组织应急演练十余次,参与群众1,600余人次") == [("emergency_drills", 10, "次")]


def test_rows_follow_the_document_schema_and_table_columns(seed_text: str) -> None:
    from extractor.rules import load_json_schema
    from extractor.tables import TABLES

    item = load_json_schema("document")["properties"]["indicators"]["items"]
    rows = rows_of(seed_text + "\n败诉率6.8%,同比下降2.1个百分点")
    columns = [c for c, _ in TABLES["indicators"] if c != "doc_id"]
    for r in rows:
        jsonschema.validate(r, item)
        assert list(r) == columns
