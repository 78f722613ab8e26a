"""Section taxonomy (schemas/sections.yaml) and the classification of headings into sections and parts."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from extractor.clean import clean
from extractor.errors import RulesError
from extractor.model import Loaded
from extractor.rules import load_json_schema, load_schema_yaml
from extractor.structure import analyse, locate
from extractor.structure.sections import body_vote, build_taxonomy, keywords_in, match_words, taxonomy

CONTENT = {
    "study_xi_rule_of_law_thought",
    "first_responsible_person",
    "leadership_mechanism",
    "government_functions",
    "institutional_system",
    "major_decisions",
    "law_enforcement",
    "emergency_response",
    "dispute_resolution",
    "power_oversight",
    "digital_government",
    "legal_publicity",
    "problems",
    "next_year_plan",
}
ZONES = {"header", "preamble", "signature", "other_matters", "page_chrome"}


def headings_of(raw: str) -> list[dict[str, Any]]:
    return analyse(clean(raw).text, Loaded(format="txt", text=raw)).headings


# --- the taxonomy file --------------------------------------------------------------------------------
def test_taxonomy_has_the_fourteen_sections_the_zones_and_one_catch_all() -> None:
    tax = taxonomy()
    assert {k for k, s in tax.items() if s.kind == "content"} == CONTENT
    assert {k for k, s in tax.items() if s.kind == "zone"} == ZONES
    assert [s.part for s in tax.values() if s.kind == "general"] == ["measures"]
    for sec in tax.values():
        assert sec.name
        if sec.kind == "content":
            assert sec.keywords and sec.anchor, sec.id
    assert tax["problems"].part == "problems" and tax["next_year_plan"].part == "plan"
    assert all(tax[z].part == "other" for z in ZONES)
    assert isinstance(load_schema_yaml("sections")["version"], int)


def test_duplicate_section_ids_are_rejected() -> None:
    data = copy.deepcopy(load_schema_yaml("sections"))
    data["sections"].append(copy.deepcopy(data["sections"][0]))
    with pytest.raises(RulesError, match="duplicate section id"):
        build_taxonomy(data)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["sections"][0].update(part="results"),  # unknown part
        lambda d: d["sections"][0].pop("keywords"),  # missing field
        lambda d: d["sections"][0].update(id="Study Xi"),  # id not snake_case
        lambda d: d.pop("version"),  # unversioned
    ],
)
def test_schema_rejects_malformed_entries(mutate: Any) -> None:
    data = copy.deepcopy(load_schema_yaml("sections"))
    mutate(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, load_json_schema("sections"))


# --- a heading's own words: one example per section ------------------------------------------------------
OWN_WORDS = [
    # domain note (a): keyword examples, in headings written for this test
    ("深入学习贯彻习近平法治思想", "study_xi_rule_of_law_thought"),
    ("党政主要负责人履行推进法治建设第一责任人职责情况", "first_responsible_person"),
    ("加强党的领导,完善法治政府建设推进机制", "leadership_mechanism"),
    ("依法全面履行政府职能", "government_functions"),
    ("持续优化法治化营商环境", "government_functions"),
    ("完善依法行政制度体系", "institutional_system"),
    ("加强行政规范性文件合法性审核", "institutional_system"),
    ("推进重大行政决策科学化民主化法治化", "major_decisions"),
    ("坚持严格规范公正文明执法", "law_enforcement"),
    ("依法预防处置重大突发事件", "emergency_response"),
    ("依法有效化解社会矛盾纠纷", "dispute_resolution"),
    ("发挥行政复议化解行政争议主渠道作用", "dispute_resolution"),
    ("强化对行政权力的制约和监督", "power_oversight"),
    ("全面推进政务公开", "power_oversight"),
    ("全面建设数字法治政府", "digital_government"),
    ("深入开展“八五”普法", "legal_publicity"),
    ("存在的不足和原因", "problems"),
    ("2024年工作安排", "next_year_plan"),
    ("下一步工作打算", "next_year_plan"),
    ("其他需要报告的情况", "other_matters"),
]


@pytest.mark.parametrize(("heading", "section"), OWN_WORDS)
def test_own_words_classify(heading: str, section: str) -> None:
    found = headings_of(f"一、{heading}\n正文。")
    assert found[0]["section"] == section
    assert found[0]["part"] == taxonomy()[section].part


# --- parts: the top-level 举措 / 问题 / 下一步 decide ------------------------------------------------------
REPORT = """一、2023年推进法治政府建设的主要举措和成效
(一)依法全面履行政府职能。全年办件3万件。
1.深化“放管服”改革。办结率100%。
(二)加强组织领导。区委常委会专题研究2次。
二、存在的不足和原因
(一)执法规范化水平不高。案卷合格率仅90%。
(二)法治宣传针对性不强。
三、2024年工作安排
(一)深化行政执法体制改革。力争案卷合格率达到98%。
四、其他需要报告的情况
无。"""


def test_parts_follow_the_top_level_headings() -> None:
    found = headings_of(REPORT)
    got = [(h["path"], h["section"], h["part"]) for h in found]
    assert got == [
        ("一", "measures_general", "measures"),
        ("一/(一)", "government_functions", "measures"),
        ("一/(一)/1", "government_functions", "measures"),
        ("一/(二)", "leadership_mechanism", "measures"),
        ("二", "problems", "problems"),
        ("二/(一)", "problems", "problems"),  # topical words, but under 存在的不足 it is a problem
        ("二/(二)", "problems", "problems"),
        ("三", "next_year_plan", "plan"),
        ("三/(一)", "next_year_plan", "plan"),
        ("四", "other_matters", "other"),
    ]
    assert "under 二" in found[5]["section_reason"]


PART_CASES = [
    # (report, expected part per heading) — development
    # a short township report that puts problems at the second level
    (
        "一、工作开展情况\n(一)普法宣传\n(二)存在问题\n(三)下一步打算",
        ["measures", "measures", "problems", "plan"],
    ),
    # a heading that names measures and plan decides nothing; its children decide for themselves
    (
        "一、2023年工作情况及2024年工作打算\n(一)加强领导\n(二)下一步工作安排",
        ["measures", "measures", "plan"],
    ),
    # problems and plan in one heading: the first named
    ("三、存在的问题和下一步打算\n(一)执法力量不足", ["problems", "problems"]),
    # a long run-in sentence that mentions 问题 in passing decides nothing (bug caught on the seed)
    (
        "一、主要举措\n1.着力研究解决基层法治基础薄弱、法治人才不足、执法力量分散、宣传覆盖面不广、群众参与度不高等存在问题。正文。",
        ["measures", "measures"],
    ),
    ("一、主要举措\n1.着力研究解决基层法治基础薄弱、法治人才不足等问题。正文。", ["measures", "measures"]),
]


@pytest.mark.parametrize(("report", "parts"), PART_CASES)
def test_part_decisions(report: str, parts: list[str]) -> None:
    assert [h["part"] for h in headings_of(report)] == parts


# --- ancestors, body vote, and the catch-all with its reason ----------------------------------------------
def test_ancestor_words_then_body_vote_then_catch_all() -> None:
    found = headings_of(
        "一、深入推进严格规范公正文明执法\n"
        "1.持续发力。全年开展执法检查20次。\n"
        "二、坚持创新\n"
        "1.打造特色品牌。开展普法宣传活动45场,法治宣传覆盖各村,普法读本发放到户。\n"
        "2.其他。全年完成各项任务。"
    )
    by_path = {h["path"]: h for h in found}
    assert by_path["一/1"]["section"] == "law_enforcement"
    assert by_path["一/1"]["section_reason"].startswith("ancestor 一:")
    assert by_path["二/1"]["section"] == "legal_publicity"
    assert by_path["二/1"]["section_reason"].startswith("body vote:")
    assert by_path["二/2"]["section"] == "measures_general"
    assert by_path["二/2"]["section_reason"] == "no keyword in heading, ancestors or body"
    assert by_path["二"]["section_reason"].endswith("its sub-headings carry the topics")


def test_ties_go_to_the_ancestors_section() -> None:
    # 合法性审查 (major_decisions) and 规范性文件 (institutional_system) weigh the same here.
    found = headings_of("一、完善依法行政制度体系\n1.加强合法性审查,规范性文件全部备案。")
    assert found[1]["section"] == "institutional_system"


def test_body_vote_needs_a_clear_winner() -> None:
    assert body_vote("召开会议。") is None
    assert body_vote("调解纠纷,开展普法。") is None  # one hit each: a tie
    vote = body_vote("开展普法宣传,法治宣传进村,普法读本发放。")
    assert vote is not None and vote[0] == "legal_publicity"


def test_nested_keywords_are_all_found_longest_first() -> None:
    assert list(keywords_in("开展法治宣传教育和应急演练")) == [
        (2, "法治宣传教育"), (2, "法治宣传"), (9, "应急演练"), (9, "应急")]
    words = match_words("开展法治宣传教育和应急演练")
    assert words["legal_publicity"] == (10, 2, ["法治宣传教育", "法治宣传"])
    assert words["emergency_response"] == (6, 9, ["应急演练", "应急"])


def test_negative_words_veto_a_section() -> None:
    assert "problems" not in match_words("解决问题情况")
    assert "problems" in match_words("存在问题")


def test_seed_sections(seed_text: str) -> None:
    text = clean(seed_text).text
    found = analyse(text, Loaded(format="txt", text=seed_text)).headings

    def section_of(start: str) -> tuple[str, str]:
        h = next(h for h in found if h["text"].startswith(start))
        return h["section"], h["part"]

    assert section_of("学习宣传习近平法治思想") == ("study_xi_rule_of_law_thought", "measures")
    assert section_of("全面依法履行政府职能") == ("government_functions", "measures")
    assert section_of("重大行政决策科学民主合法") == ("major_decisions", "measures")
    assert section_of("社会矛盾纠纷依法有效化解") == ("dispute_resolution", "measures")
    assert section_of("存在的问题") == ("problems", "problems")
    assert section_of("2022年工作打算") == ("next_year_plan", "plan")
    assert all(h["part"] == "measures" for h in found[:-2])
    # Numbers between headings are located in their innermost heading; the preamble before them.
    assert locate(found, text.index("专题学习12次"))["section"] == "study_xi_rule_of_law_thought"
    assert locate(found, text.index("按照荣委法办"))["section"] == "preamble"
    assert locate(found, text.index("157条"))["section_path"] == "二/(二)/5"


def test_locate_without_headings_is_measures_not_preamble() -> None:
    assert locate([], 10) == {"section_path": "", "section": "measures_general", "part": "measures"}


def test_section_always_agrees_with_part() -> None:
    # A long run-in sentence that names 存在问题 decides no part, and is no problems section either.
    found = headings_of(
        "一、主要举措\n1.着力研究解决基层法治基础薄弱、法治人才不足、执法力量分散、宣传覆盖面不广、群众参与度不高等存在问题。"
        "全年开展普法宣传20场,法治宣传覆盖各村。"
    )
    assert (found[1]["part"], found[1]["section"]) == ("measures", "legal_publicity")
    for h in headings_of(REPORT):
        assert taxonomy()[h["section"]].part == h["part"]
