"""Region lookup: the bundled division table (regenerated and diffed) and name resolution."""

from __future__ import annotations

import gzip

import pytest

from extractor.structure import fold, make_regions, regions
from extractor.structure.regions import find_names, find_township, resolve


def test_bundled_table_regenerates_identically() -> None:
    committed = gzip.decompress(make_regions.OUTPUT.read_bytes()).decode("utf-8")
    assert gzip.decompress(make_regions.build()).decode("utf-8") == committed


def test_bundled_fold_table_regenerates_identically() -> None:
    committed = gzip.decompress(fold.TABLE.read_bytes()).decode("utf-8")
    assert gzip.decompress(fold.build()).decode("utf-8") == committed


FOLD = [
    # (traditional, simplified) — one char for one char, so spans survive
    ("蘇州市吳江區市場監督管理局", "苏州市吴江区市场监督管理局"),
    ("關於2023年法治政府建設情況的報告", "关于2023年法治政府建设情况的报告"),
    ("乾縣", "乾县"),  # a char that may stand for itself stays: place names keep it
    ("重庆市荣昌区", "重庆市荣昌区"),  # simplified text is left alone
    ("關於荣昌区\U0001F600", "关于荣昌区\U0001F600"),  # a char beyond the BMP stays as it is
    ("重庆市荣昌区\U0001F600", "重庆市荣昌区\U0001F600"),
]


@pytest.mark.parametrize(("traditional", "simplified"), FOLD)
def test_fold(traditional: str, simplified: str) -> None:
    assert fold.fold(traditional) == simplified
    assert (
        resolve([(fold.fold(traditional), 0, 0)])["region_path"]
        == resolve([(simplified, 0, 0)])["region_path"]
    )


def test_table_levels_and_vintage() -> None:
    t = regions.table()
    by_rank: dict[int, int] = {}
    for unit in t.by_code.values():
        by_rank[unit.rank] = by_rank.get(unit.rank, 0) + 1
        assert unit.rank == 1 or unit.parent in t.by_code, unit
    assert by_rank[1] == 34  # 23 provinces, 5 autonomous regions, 4 municipalities, 2 SARs
    assert 320 <= by_rank[2] <= 340 and 2800 <= by_rank[3] <= 3100
    assert t.by_code["500153"].name == "荣昌区" and t.by_code["500153"].parent == "500000"
    assert t.by_code["510124"].status == "former"  # 郫县, a district (郫都区) since 2016


def one(snippet: str) -> dict:
    return resolve([(snippet, 0, 0)])


RESOLVE = [
    # (organ or title text, expected region_path, admin_code) — development
    ("中共重庆市荣昌区昌元街道工作委员会", ["重庆市", "荣昌区"], "500153"),
    ("荣昌区人民政府", ["重庆市", "荣昌区"], "500153"),  # implicit parent filled from the table
    ("安吉县人民政府", ["浙江省", "湖州市", "安吉县"], "330523"),
    ("成都市人民政府", ["四川省", "成都市"], "510100"),
    ("四川省人民政府", ["四川省"], "510000"),
    ("仙桃市司法局", ["湖北省", "仙桃市"], "429004"),  # county-level city directly under the province
    ("神农架林区人民政府", ["湖北省", "神农架林区"], "429021"),
    ("北京市朝阳区人民政府", ["北京市", "朝阳区"], "110105"),
    ("吉林省长春市朝阳区人民政府", ["吉林省", "长春市", "朝阳区"], "220104"),
    ("郫县人民政府", ["四川省", "成都市", "郫县"], "510124"),  # a former name (2016 → 郫都区)
    ("郫都区人民政府", ["四川省", "成都市", "郫都区"], "510117"),
    ("区市场监管局", [], None),  # 市 of 市场 is no city
]


@pytest.mark.parametrize(("snippet", "path", "code"), RESOLVE)
def test_resolve(snippet: str, path: list[str], code: str | None) -> None:
    region = one(snippet)
    assert region["region_path"] == path
    assert region["admin_code"] == code


def test_municipality_convention_city_repeats_province() -> None:
    region = one("重庆市荣昌区人民政府")
    assert (region["province"], region["city"], region["county"]) == ("重庆市", "重庆市", "荣昌区")
    assert region["region_path"] == ["重庆市", "荣昌区"]


def test_filled_levels_are_recorded() -> None:
    assert one("荣昌区人民政府")["filled"] == ["重庆市"]
    assert one("安吉县人民政府")["filled"] == ["湖州市", "浙江省"]
    assert one("重庆市荣昌区人民政府")["filled"] == []


AMBIGUOUS = [
    # (evidence, expected path, expected code, number of candidates) — same county name in two places
    ([("朝阳区人民政府", 0, 0)], ["朝阳区"], None, 2),
    ([("鼓楼区人民政府", 0, 0)], ["鼓楼区"], None, 4),
    # the other names in the text decide: a province in the issuers, a short city name in the body
    (
        [("朝阳区人民政府", 0, 0), ("北京市朝阳区2023年法治政府建设情况", 50, 1)],
        ["北京市", "朝阳区"],
        "110105",
        0,
    ),
    (
        [("鼓楼区人民政府", 0, 0), ("全区认真落实福州市委部署", 80, 4)],
        ["福建省", "福州市", "鼓楼区"],
        "350102",
        0,
    ),
    (
        [("鼓楼区人民政府", 0, 0), ("江苏省委依法治省办", 80, 4)],
        ["江苏省", "鼓楼区"],
        None,
        2,
    ),  # 南京 or 徐州
]


@pytest.mark.parametrize(("evidence", "path", "code", "candidates"), AMBIGUOUS)
def test_ambiguity_is_resolved_by_context_or_left_open(
    evidence: list, path: list[str], code: str | None, candidates: int
) -> None:
    region = resolve(evidence)
    assert region["region_path"] == path
    assert region["admin_code"] == code
    assert len(region["ambiguous"]) == candidates


def test_trusted_snippets_beat_the_body() -> None:
    # The issuer is 安吉县; the body mentions another county: the issuer wins, the body only votes.
    region = resolve([("安吉县人民政府", 0, 0), ("学习借鉴德清县经验", 40, 4)])
    assert region["admin_code"] == "330523"
    assert region["span"] == (0, 3)
    # Without any issuer, the body decides.
    assert resolve([("学习借鉴德清县经验", 40, 4)])["admin_code"] == "330521"


TOWNSHIPS = [
    ("重庆市荣昌区人民政府昌元街道办事处", "昌元街道"),
    ("中共重庆市荣昌区昌元街道工作委员会", "昌元街道"),
    ("安吉县青禾镇人民政府", "青禾镇"),
    ("中共某某乡委员会", "某某乡"),
    ("某县某某镇人民政府", "某某镇"),  # an unknown county name is cut off too
    ("峨边彝族自治县黑竹沟镇人民政府", "黑竹沟镇"),
    ("湖州市新市镇人民政府", "新市镇"),  # 市 inside the township name stays
    ("青禾镇2023年法治政府建设年度报告", "青禾镇"),  # a title that opens with the township
    ("安吉县青禾镇关于2023年法治政府建设情况的报告", "青禾镇"),
    ("荣昌区人民政府", None),
    ("加强城乡2023年规划", None),
    ("区城乡建设委员会", None),
]


@pytest.mark.parametrize(("organ", "township"), TOWNSHIPS)
def test_find_township(organ: str, township: str | None) -> None:
    hit = find_township(organ)
    assert (hit[2] if hit else None) == township
    if hit:
        assert organ[hit[0] : hit[1]] == township


def test_find_names_prefers_the_longest_name_and_skips_words() -> None:
    assert [n for _, _, n in find_names("内蒙古自治区呼和浩特市新城区")] == [
        "内蒙古自治区",
        "呼和浩特市",
        "新城区",
    ]
    assert find_names("市场监管") == []
