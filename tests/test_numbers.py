"""Numbers stage: grammar forms, rejections, context fields, the seed gold, and rule loading.

Examples are grouped by origin (price-parser style): development examples written while building
the grammar, examples from the domain note, the seed's gold numbers, bugs caught, and known
failures kept as strict xfail. Expected outputs for longer tables live as quantulum3-style JSON in
tests/fixtures/numbers/ ({"req": text, "res": [...]}); `python -m extractor.numbers --fixture TEXT`
prints a candidate for review.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from extractor.errors import RulesError
from extractor.numbers import find_mentions, working_text
from extractor.numbers.__main__ import FIXTURE_FIELDS, fixture_item
from extractor.numbers.__main__ import main as candidate_main
from extractor.numbers.chinese import parse_chinese, parse_chinese_decimal
from extractor.numbers.grammar import compile_grammar, grammar
from extractor.rules import RULES_DIR, load_rules

FIXTURES = Path(__file__).parent / "fixtures" / "numbers"
GOLD = Path(__file__).resolve().parents[2] / "shared" / "gold" / "chongqing-rongchang-changyuan-2021.gold.json"


def _fixture_cases() -> list[Any]:
    cases = []
    for path in sorted(FIXTURES.glob("*.json")):
        for i, case in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            cases.append(pytest.param(case["req"], case["res"], id=f"{path.stem}-{i}"))
    return cases


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, float) or isinstance(got, float):
        return got is not None and math.isclose(float(expected), float(got), rel_tol=1e-9)
    return bool(expected == got)


@pytest.mark.parametrize(("req", "res"), _fixture_cases())
def test_fixture(req: str, res: list[dict[str, Any]]) -> None:
    got = find_mentions(req, [])
    assert len(got) == len(res), [m["surface"] for m in got]
    for want, m in zip(res, got, strict=True):
        item = fixture_item(m)
        # A fixture states every reviewed field: a field it leaves out must be empty.
        assert set(item) == set(want), (m["surface"], set(item) ^ set(want))
        for key, value in want.items():
            assert _same(value, m[key]), (m["surface"], key, value, m[key])


def test_fixture_files_use_known_fields() -> None:
    for path in FIXTURES.glob("*.json"):
        for case in json.loads(path.read_text(encoding="utf-8")):
            for item in case["res"]:
                assert set(item) <= set(FIXTURE_FIELDS), path.name


# --- forms, by origin --------------------------------------------------------------------------
# (text, [(surface, value, unit, approx)])
DEVELOPMENT = [
    ("全年共办理各类案件1,234件", [("1,234件", 1234, "件", None)]),
    ("召开专题会议十二次", [("十二次", 12, "次", None)]),
    ("组织两次集中培训", [("两次", 2, "次", None)]),
    ("受理申请一百〇五件", [("一百〇五件", 105, "件", None)]),
    ("开展主题宣传三十余场", [("三十余场", 30, "场", "余")]),
    ("参与群众百余人", [("百余人", 100, "人", "余")]),
    ("开展宣传十余次", [("十余次", 10, "次", "余")]),
    ("接待群众上千人次", [("上千人次", 1000, "人次", "上")]),
    ("参与人数上万人", [("上万人", 10000, "人", "上")]),
    ("惠及群众50余万人次", [("50余万人次", 500000, "人次", "余")]),
    ("办结事项1.19万件", [("1.19万件", 11900, "件", None)]),
    ("组织50批次3.2万余人参加学法考试", [("50批次", 50, "批次", None), ("3.2万余人", 32000, "人", "余")]),
    ("罚没款2亿元", [("2亿元", 2, "亿元", None)]),
    ("罚没款合计836.5万元", [("836.5万元", 836.5, "万元", None)]),
    ("投入经费三点五万元", [("三点五万元", 3.5, "万元", None)]),
    ("办结率达到百分之百", [("百分之百", 100, "%", None)]),
    ("群众满意率百分之九十五", [("百分之九十五", 95, "%", None)]),
    ("九成以上的纠纷在基层化解", [("九成以上", 90, "成", "以上")]),
    ("三分之一的村建立了调解室", [("三分之一", 33.33, "分之", None)]),
    ("三分之一以上的村", [("三分之一以上", 33.33, "分之", "以上")]),
    ("发案率控制在千分之三以内", [("千分之三以内", 0.3, "分之", "以内")]),
    ("满意率达百分之95以上", [("百分之95以上", 95, "%", "以上")]),
    ("培训500人/次", [("500人/次", 500, "人/次", None)]),
    ("培训2个小时", [("2个小时", 2, "个小时", None)]),
    ("累计开展巡查3次至5次", [("3次至5次", 3, "次", None)]),
    ("累计培训2000余人(次)", [("2000余人(次)", 2000, "人(次)", "余")]),
    ("参加人员100人以上", [("100人以上", 100, "人", "以上")]),
    ("管控200多名重点人员", [("200多名", 200, "名", "多")]),
    ("入驻企业超200家", [("超200家", 200, "家", "超")]),
    ("覆盖群众逾千人", [("逾千人", 1000, "人", "逾")]),
    ("每月至少3次", [("至少3次", 3, "次", "至少")]),
    ("参训不足10人", [("不足10人", 10, "人", "不足")]),
    ("开展法律法规宣传160场(次)", [("160场(次)", 160, "场(次)", None)]),
    ("开展“送法下乡”活动40(场)次", [("40(场)次", 40, "(场)次", None)]),
    ("出动宣传车600辆(次)", [("600辆(次)", 600, "辆(次)", None)]),
    ("开展为期3个月的专项整治", [("3个月", 3, "个月", None)]),
    ("万人犯罪率控制在5‰以内", [("5‰以内", 5, "‰", "以内")]),
    ("发放宣传资料１．５万份", [("１．５万份", 15000, "份", None)]),
    ("調解糾紛300餘件", [("300餘件", 300, "件", "餘")]),
]
DOMAIN_NOTE = [  # the value grammar and normalisation rules of the domain note, section (b)
    ("各级调解组织调处矛盾纠纷1367件", [("1367件", 1367, "件", None)]),
    ("调处纠纷1,367件", [("1,367件", 1367, "件", None)]),
    ("发放资料1.2万份", [("1.2万份", 12000, "份", None)]),
    ("投入资金0.36亿元", [("0.36亿元", 0.36, "亿元", None)]),
    ("开展宣传三十余场", [("三十余场", 30, "场", "余")]),
    ("培训百余人次", [("百余人次", 100, "人次", "余")]),
    ("受教育群众约3.6万人次", [("约3.6万人次", 36000, "人次", "约")]),
    ("查处案件12宗,办理案件8起,发现病例3例", [("12宗", 12, "宗", None), ("8起", 8, "起", None),
                                                 ("3例", 3, "例", None)]),
]
SEED = [  # phrases of the seed report, as the gold reads them
    ("宣讲100余次", [("100余次", 100, "次", "余")]),
    ("滚动排查近100万人次", [("近100万人次", 1000000, "人次", "近")]),
    ("发放各类宣传材料近15万份", [("近15万份", 150000, "份", "近")]),
    ("建立12人专职巡防队伍", [("12人", 12, "人", None)]),
    ("负责法治审核的人员占本单位执法人员总数的5.08%", [("5.08%", 5.08, "%", None)]),
    ("在虹桥、新峰、螺罐、许溪、方家坝等5个村社区推进", [("5个", 5, "个", None)]),
    ("方家坝五个村社区均建设“平安卫士”监控平台", [("五个", 5, "个", None)]),
    ("编组133组2500余户", [("133组", 133, "组", None), ("2500余户", 2500, "户", "余")]),
    ("配备执法记录仪1台、摄像机1台", [("1台", 1, "台", None), ("1台", 1, "台", None)]),
]
BUGS = [  # regressions, named by what they reproduce
    ("签约3家律师事务所", [("3家", 3, "家", None)]),  # 约 inside 签约 is no qualifier
    ("最近3个月完成整改", [("3个月", 3, "个月", None)]),  # 近 inside 最近 is no qualifier
    ("提前3天通知", [("3天", 3, "天", None)]),  # 提前 is no rank (前十)
    ("联合市场监管等5部门开展检查", [("5部门", 5, "部门", None)]),  # 3部门 is not 3部
    ("机关干部旁听庭审一场。", [("一场", 1, "场", None)]),  # a clause-final 一场 counts
    ("1.全面落实权责清单制度,共梳理事项12项", [("12项", 12, "项", None)]),  # heading marker 1.
    ("主动公开信息157条,累计悬挂横幅2000条", [("157条", 157, "条", None), ("2000条", 2000, "条", None)]),
]
KNOWN_FAILURES = [
    ("覆盖1/3的行政村", [("1/3", 33.33, "/", None)]),  # Arabic fractions are not read
]


def _check(text: str, expected: list[tuple[str, float, str, str | None]]) -> None:
    got = [(m["surface"], m["value"], m["unit"], m["approx"]) for m in find_mentions(text, [])]
    assert len(got) == len(expected), got
    for (s, v, u, a), (gs, gv, gu, ga) in zip(expected, got, strict=True):
        assert (gs, gu, ga) == (s, u, a)
        assert math.isclose(gv, v, rel_tol=1e-9)


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(t, e, id=f"development-{i}") for i, (t, e) in enumerate(DEVELOPMENT)]
    + [pytest.param(t, e, id=f"domain-{i}") for i, (t, e) in enumerate(DOMAIN_NOTE)]
    + [pytest.param(t, e, id=f"seed-{i}") for i, (t, e) in enumerate(SEED)]
    + [pytest.param(t, e, id=f"bug-{i}") for i, (t, e) in enumerate(BUGS)]
    + [pytest.param(t, e, id=f"known-{i}", marks=pytest.mark.xfail(strict=True))
       for i, (t, e) in enumerate(KNOWN_FAILURES)],
)
def test_forms(text: str, expected: list[tuple[str, float, str, str | None]]) -> None:
    _check(text, expected)


RANGES = [
    ("每次培训3至5天", 3, 5, "天"),
    ("开展巡查3-5次", 3, 5, "次"),
    ("走访企业3~5家", 3, 5, "家"),
    ("每月检查三至五次", 3, 5, "次"),
    ("服务10-15万人次", 100000, 150000, "人次"),
    ("服务10万人次至15万人次", 100000, 150000, "人次"),
    ("每周两三次", 2, 3, "次"),
    ("设立七八个服务点", 7, 8, "个"),
    ("占比5%至8%", 5, 8, "%"),
]


@pytest.mark.parametrize(("text", "low", "high", "unit"), RANGES)
def test_ranges_keep_both_ends(text: str, low: float, high: float, unit: str) -> None:
    (m,) = find_mentions(text, [])
    assert (m["value"], m["value_high"], m["unit"], m["rule"]) == (low, high, unit, "range")


NORMALISED = [
    ("查处案件12宗", "件", "count"), ("办理案件8起", "件", "count"), ("发现病例3例", "件", "count"),
    ("聘请2名调解员", "人", "count"), ("培训300人次", "人次", "count"), ("出庭应诉15件次", "件次", "count"),
    ("宣传160场(次)", "场次", "count"), ("活动40(场)次", "场次", "count"), ("出动600辆(次)", "辆次", "count"),
    ("承诺3个工作日", "工作日", "count"), ("罚款3000元", "元", "money"), ("挽回50余万元", "万元", "money"),
    ("占比5.08%", "%", "rate"), ("九成以上", "%", "rate"), ("提高3个百分点", "百分点", "rate"),
]


@pytest.mark.parametrize(("text", "unit_norm", "kind"), NORMALISED)
def test_unit_norm_and_kind(text: str, unit_norm: str, kind: str) -> None:
    (m,) = find_mentions(text, [])
    assert (m["unit_norm"], m["kind"]) == (unit_norm, kind)


def test_scale_goes_into_value_and_multiplier() -> None:
    (m,) = find_mentions("发放各类宣传材料近15万份", [])
    assert (m["value"], m["multiplier"], m["unit"]) == (150000, 10000, "份")
    (m,) = find_mentions("罚没款836.5万元", [])
    assert (m["value"], m["multiplier"], m["unit"], m["unit_norm"]) == (836.5, 1, "万元", "万元")


# --- rejections ---------------------------------------------------------------------------------
REJECTED = [
    "2021年,街道全面推进法治政府建设", "今年3月25日", "1至10月", "2022年1月24日", "4.15全民国家安全教育日",
    "“12·4”国家宪法日", "12.4宪法日当天", "实施纲要(2021-2025年)", "实施纲要(2021—2025年)", "今年三季度",
    "一季度", "一、二季度", "荣委法办便笺〔2022〕2号", "索引号:11500226MB1524588E/2022-00012",
    "(联系人:雷敏,联系电话:61478313)", "邮编:402460", "http://www.example.gov.cn/2022/3件", "第一议题",
    "开展第72次集体学法", "首批试点", "进入全市前十名", "考核排名第3", "平安家园6995平台", "12345热线", "8890平台",
    "12348法律服务热线", "110接处警", "“三项制度”", "三项制度", "一岗双责", "五张网", "四个意识", "一规划两纲要",
    "三审三校", "法律八进", "省市县乡四级", "三级综治中心", "三治融合", "三重一大", "两个维护", "“八五”普法",
    "七五普法", "马上办、一次办", "最多跑一次", "《关于加强3项工作的意见》", "第十二条", "进一步", "一批群众",
    "一次性告知", "百名律师进千村", "送法律进万家", "三台县", "五台山", "十分重要", "三番五次", "千家万户",
    "“十四五”规划", "唯一一个", "数十次", "几百人", "一条街", "第一个试点区域", "习近平法治思想“十一个坚持”",
    "一户一档,一案一档", "做到人手一册,", "开展二次审核", "成千上万人", "三五成群", "排名全市第2位", "打造15分钟公共法律服务圈", "落实中央八项规定精神", "推进三所一庭一队联动", "党的二十届三中全会", "提供7×24小时服务",
]


@pytest.mark.parametrize("text", REJECTED)
def test_not_a_quantity(text: str) -> None:
    assert find_mentions(text, []) == []


def test_three_months_is_a_duration() -> None:
    # Policy: N个月 is a duration and kept (unit 个月, norm 月); a bare month (3月) is a date.
    assert [m["unit_norm"] for m in find_mentions("开展为期3个月的整治,3月完成", [])] == ["月"]


# --- context fields -------------------------------------------------------------------------------
def test_delta_fields_never_hold_the_level() -> None:
    got = find_mentions("全年收到行政复议申请412件,同比增长12%;败诉率6.8%,同比下降2.1个百分点;较上年增加5件", [])
    assert [(m["value"], m["delta_value"], m["delta_type"]) for m in got] == [
        (412, None, None), (None, 12, "pct"), (6.8, None, None), (None, -2.1, "pp"), (None, 5, "abs")]


@pytest.mark.parametrize(("text", "value", "delta"), [
    ("考核权重提高至8%", 8, None),  # 提高至: the new level
    ("持证率提高3个百分点", None, ("pp", 3)),
    ("办件量比上年多500件", None, ("abs", 500)),
    ("办件量增幅12%", None, ("pct", 12)),
    ("新增民主法治示范村3个", 3, None),  # 新增 is a level
    ("审批时限平均压缩62%", 62, None),  # a reduction rate is a level
])
def test_change_or_level(text: str, value: float | None, delta: tuple[str, float] | None) -> None:
    (m,) = find_mentions(text, [])
    assert m["value"] == value
    assert ((m["delta_type"], m["delta_value"]) if m["delta_type"] else None) == delta


def test_items_listed_after_a_change_are_changes() -> None:
    def deltas(text: str) -> list[tuple[Any, Any, Any]]:
        return [(m["value"], m["delta_type"], m["delta_value"]) for m in find_mentions(text, [])]

    assert deltas("同比分别增长12%、15%") == [(None, "pct", 12), (None, "pct", 15)]
    assert deltas("较上年分别增加3件和5件") == [(None, "abs", 3), (None, "abs", 5)]
    assert deltas("分别下降2个百分点、3个百分点") == [(None, "pp", -2), (None, "pp", -3)]
    assert deltas("同比增长12%、满意率98%") == [(None, "pct", 12), (98, None, None)]


def test_one_value_shared_by_listed_rates() -> None:
    got = find_mentions("信访事项办结率、满意率均为100%", [])
    assert [(m["subject"], m["value"], m["surface"], m["rule"]) for m in got] == [
        ("信访事项办结率", 100, "100%", "shared_rate"), ("满意率", 100, "100%", "shared_rate")]
    assert got[0]["start"] == got[1]["start"]
    # Values given one by one are separate numbers, not a shared one.
    assert [m["rule"] for m in find_mentions("办结率、满意率分别为98%、95%", [])] == ["percent", "percent"]


@pytest.mark.parametrize(("text", "target"), [
    ("力争培训执法人员200人次", True),
    ("确保复议纠错率控制在15%以内", True),
    ("拟新建调解室3个", True),
    ("将培训执法人员300人次", True),
    ("开展计划生育宣传3次", False),
    ("将基层治理与城市管理相融合,建成网格54个", False),
    ("全年培训执法人员200人次", False),
])
def test_target_cues(text: str, target: bool) -> None:
    assert find_mentions(text, [])[-1]["is_target"] is target


def test_sections_and_parts_from_headings() -> None:
    text = "一、严格执法。办理行政处罚案件12件。\n二、存在问题。执法人员仅有3人。\n三、工作打算。开展培训5次。"
    # Hand-made heading tree in the structure stage's shape (start, path, section, part).
    headings = [
        {"start": text.index("一、"), "path": "一", "section": "law_enforcement", "part": "measures"},
        {"start": text.index("二、"), "path": "二", "section": "problems", "part": "problems"},
        {"start": text.index("三、"), "path": "三", "section": "next_year_plan", "part": "plan"},
    ]
    got = find_mentions(text, headings)
    assert [(m["section_path"], m["section"], m["part"], m["is_target"]) for m in got] == [
        ("一", "law_enforcement", "measures", False),
        ("二", "problems", "problems", True),
        ("三", "next_year_plan", "plan", True),
    ]


def test_without_headings_sections_are_empty() -> None:
    (m,) = find_mentions("办理行政处罚案件12件", [])
    assert (m["section_path"], m["section"], m["part"]) == ("", None, None)


@pytest.mark.parametrize(("text", "scope"), [
    ("全区共有持证行政执法人员1120名", "全区"),
    ("以区政府为被申请人的案件12件", "以区政府为被申请人"),
    ("区政府本级收到复议申请15件", "区政府本级"),
    ("全县办理法律援助案件310件", "全县"),
    ("办理法律援助案件310件", None),
])
def test_scope(text: str, scope: str | None) -> None:
    assert find_mentions(text, [])[-1]["scope"] == scope


@pytest.mark.parametrize(("text", "subject"), [
    ("今年共调解各类纠纷300余件", "调解各类纠纷"),
    ("街道聘请了2名专职调解员", "专职调解员"),
    ("在10个村社区做到了法律服务全覆盖", "村社区"),
    ("建立12人专职巡防队伍", "专职巡防队伍"),
    ("依法对200多名重点人员进行管控", "重点人员"),
    ("执法人员59人", "执法人员"),
    ("发放各类宣传材料近15万份", "发放各类宣传材料"),
])
def test_subject(text: str, subject: str) -> None:
    assert find_mentions(text, [])[-1]["subject"] == subject


def test_sentence_holds_the_mention() -> None:
    text = "一是主动公开。2021年在政府网站主动公开信息157条,主要包括领导信息。二是严格审核。"
    (m,) = find_mentions(text, [])
    assert m["sentence"] == "2021年在政府网站主动公开信息157条,主要包括领导信息。"


# --- the seed against its gold -------------------------------------------------------------------
DATE_LIKE = re.compile(r"\d{4}年|\d{1,2}月\d{1,2}日|〔\d{4}〕|\d{7,}")


def _score(gold: list[dict[str, Any]], mentions: list[dict[str, Any]], text: str, qualifier: bool) -> float:
    """F1 of one-to-one matches: value and unit agree, and the gold quote contains the surface."""
    used: set[int] = set()
    hits = 0
    for g in gold:
        quote_at = [m.start() for m in re.finditer(re.escape(g["quote"]), text)]
        for j, m in enumerate(mentions):
            if j in used or m["value"] is None:
                continue
            inside = any(q <= m["start"] and m["end"] <= q + len(g["quote"]) for q in quote_at)
            same = math.isclose(m["value"], g["value"]) and g["unit"] in (m["unit"], m["unit_norm"])
            if inside and same and (not qualifier or (m["approx"] or None) == g["approx"]):
                used.add(j)
                hits += 1
                break
    predicted = len({(m["start"], m["end"]) for m in mentions if m["value"] is not None})
    precision, recall = hits / max(predicted, 1), hits / max(len(gold), 1)
    return 2 * precision * recall / max(precision + recall, 1e-9)


@pytest.fixture(scope="module")
def seed_gold() -> dict[str, Any]:
    return json.loads(GOLD.read_text(encoding="utf-8"))


def test_seed_scores(seed_text: str, seed_gold: dict[str, Any]) -> None:
    mentions = find_mentions(seed_text, [])
    assert _score(seed_gold["numbers"], mentions, seed_text, qualifier=False) >= 0.97
    assert _score(seed_gold["numbers"], mentions, seed_text, qualifier=True) >= 0.95


def test_seed_reports_no_date_document_number_or_phone(seed_text: str) -> None:
    for m in find_mentions(seed_text, []):
        assert not DATE_LIKE.search(m["surface"]), m["surface"]
        assert "联系" not in m["sentence"]


def test_scorer_can_fail(seed_text: str, seed_gold: dict[str, Any]) -> None:
    mentions = find_mentions(seed_text, [])
    assert _score(seed_gold["numbers"], mentions[::2], seed_text, qualifier=False) < 0.8
    wrong = [{**m, "approx": None} for m in mentions]
    assert _score(seed_gold["numbers"], wrong, seed_text, qualifier=True) < 0.95


def test_spans_slice_to_surface(seed_text: str) -> None:
    raw = seed_text.replace(",", "，").replace(":", "：").replace("(", "（").replace(")", "）")
    for text in (seed_text, raw):
        for m in find_mentions(text, []):
            assert text[m["start"]:m["end"]] == m["surface"]
            assert m["surface"] in text[m["start"] - len(m["sentence"]):m["end"] + len(m["sentence"])]


def test_raw_full_width_text_reads_like_cleaned(seed_text: str) -> None:
    wide = seed_text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    got = [(m["value"], m["unit_norm"], m["start"]) for m in find_mentions(wide, [])]
    assert got == [(m["value"], m["unit_norm"], m["start"]) for m in find_mentions(seed_text, [])]
    assert len(working_text(wide)) == len(wide)


# --- Chinese numerals -----------------------------------------------------------------------------
CHINESE = [
    ("十二", 12), ("两", 2), ("十", 10), ("一百二十", 120), ("一百〇五", 105), ("两千零五", 2005), ("三万五千", 35000),
    ("十万", 100000), ("两万五", 25000), ("一百五", 150), ("九十五", 95), ("一千二百三十四", 1234), ("三百零二万", 3020000),
    ("二十万", 200000), ("一十", 10), ("百", 100), ("万", 10000),
]
NOT_CHINESE = ["十四五", "二〇二一", "一二", "零", "十百", "百百", "〇五"]


@pytest.mark.parametrize(("text", "value"), CHINESE)
def test_chinese_numerals(text: str, value: int) -> None:
    g = grammar()
    n = parse_chinese(text, g.digits, g.cn_units, g.cn_big)
    assert n is not None and n.value == value


@pytest.mark.parametrize("text", NOT_CHINESE)
def test_malformed_chinese_numerals(text: str) -> None:
    g = grammar()
    assert parse_chinese(text, g.digits, g.cn_units, g.cn_big) is None


def test_chinese_decimals() -> None:
    g = grammar()
    assert parse_chinese_decimal("九十五点五", "点", g.digits, g.cn_units, g.cn_big) == 95.5
    assert parse_chinese_decimal("九十五点", "点", g.digits, g.cn_units, g.cn_big) is None


# --- rules as data ----------------------------------------------------------------------------------
def test_rules_validate_against_their_schema() -> None:
    schema = json.loads((RULES_DIR / "numbers.schema.json").read_text(encoding="utf-8"))
    data = copy.deepcopy(load_rules("numbers"))
    jsonschema.validate(data, schema)
    data["units"][0]["kind"] = "weight"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


@pytest.mark.parametrize("breakage", ["duplicate_unit", "bad_regex", "traditional_numeral"])
def test_broken_rules_fail_loading(breakage: str) -> None:
    data = copy.deepcopy(load_rules("numbers"))
    if breakage == "duplicate_unit":
        data["units"].append(dict(data["units"][0]))
    elif breakage == "bad_regex":
        data["reject"]["skip_spans"].append("(unclosed")
    else:
        data["traditional"] += " 萬一"
    with pytest.raises(RulesError):
        compile_grammar(data)


def test_every_form_is_declared(seed_text: str) -> None:
    forms = grammar().forms
    text = seed_text + "\n" + "\n".join(t for t, _ in DEVELOPMENT) + "\n办结率、满意率均为100%,同比增长5%,较上年增加3件,下降2个百分点"
    for m in find_mentions(text, []):
        assert m["rule"] in forms


def test_candidate_script_prints_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    assert candidate_main(["--fixture", "调解各类纠纷300余件"]) == 0
    (case,) = json.loads(capsys.readouterr().out)
    assert case == {"req": "调解各类纠纷300余件", "res": [
        {"surface": "300余件", "value": 300, "unit": "件", "unit_norm": "件", "approx": "余", "kind": "count",
         "rule": "count"}]}


def test_candidate_script_runs_the_pipeline_on_a_file(seed_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert candidate_main(["--indicators", "--file", str(seed_path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    first = rows[0]
    assert (first["indicator"], first["value"], first["section"]) == (
        "xi_thought_study_sessions", 12, "study_xi_rule_of_law_thought")


def test_sentence_evidence_is_cut_in_text_without_punctuation() -> None:
    text = "调解纠纷3件" * 2000  # a table dumped as one line: no clause or sentence ends
    mentions = find_mentions(text, [])
    assert len(mentions) == 2000
    assert max(len(m["sentence"]) for m in mentions) <= 2 * 150 + len("3件")
    assert all(m["surface"] in m["sentence"] for m in mentions)


def test_mentions_follow_the_document_schema_and_table_columns(seed_text: str) -> None:
    from extractor.numbers import MENTION_KEYS
    from extractor.rules import load_json_schema
    from extractor.tables import TABLES

    item = load_json_schema("document")["properties"]["mentions"]["items"]
    text = seed_text + "\n同比增长12%,办结率、满意率均为100%,3至5次"
    mentions = find_mentions(text, [])
    for m in mentions:
        jsonschema.validate(m, item)
        assert tuple(m) == MENTION_KEYS
    columns = [c for c, _ in TABLES["mentions"] if c not in ("doc_id", "idx")]
    assert columns == list(MENTION_KEYS)


def test_headings_without_positions_are_ignored() -> None:
    headings = [{"path": "一", "section": "law_enforcement"}, {"start": 0, "path": "二", "section": "problems",
                                                                 "part": "problems"}]
    (m,) = find_mentions("执法人员仅有3人", headings)
    assert (m["section_path"], m["section"], m["is_target"]) == ("二", "problems", True)
