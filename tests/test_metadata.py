"""Report metadata: titles of every pattern, issuers, doc numbers, addressee, dates, year, level, contact.

Fixture reports are written for these tests in the style of real reports; place names of provinces,
cities and counties are real (so that region lookup works), townships and facts are invented.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from extractor.clean import clean
from extractor.model import Loaded
from extractor.structure import Structure, analyse
from extractor.structure.lines import cn_to_int, iso_date
from extractor.structure.metadata import date_line, doc_numbers, level_of

# The shared gold folder sits beside the repository (see tests/conftest.py).
GOLD = (
    Path(__file__).resolve().parents[2] / "shared" / "gold" / "chongqing-rongchang-changyuan-2021.gold.json"
)


def structure_of(raw: str, **loaded: Any) -> Structure:
    return analyse(clean(raw).text, Loaded(format="txt", text=raw, **loaded))


def assert_spans(st: Structure, text: str) -> None:
    """Every value read from the text is found at its provenance span."""
    meta, prov = st.metadata, st.provenance

    def at(name: str) -> str | None:
        where = prov.get(name)
        if not where or where.get("start") is None:
            return None
        return text[where["start"] : where["end"]]

    for name in ("title", "addressee", "doc_number", "reference_doc_number"):
        if at(name) is not None:
            assert at(name).replace("\n", "") == meta[name], name
    if at("report_year") is not None and prov["report_year"]["source"] != "inferred":
        assert at("report_year") == str(meta["report_year"])
    if at("signed_date") is not None:
        m = date_line(at("signed_date"))
        assert m is not None and iso_date(m.group()) == meta["signed_date"]
    if at("level") is not None and prov["level"]["source"] != "inferred":
        assert level_of(at("level")) == meta["level"]
    for (s, e), issuer in zip(prov.get("issuers", {}).get("spans", []), meta.get("issuers", []), strict=True):
        assert s is None or text[s:e] == issuer


# --- the seed against its gold ---------------------------------------------------------------------------
def test_seed_metadata_equals_gold(seed_text: str) -> None:
    gold = json.loads(GOLD.read_text(encoding="utf-8"))["metadata"]
    st = structure_of(seed_text)
    meta = st.metadata
    for key in (
        "title",
        "issuers",
        "region_path",
        "level",
        "report_year",
        "signed_date",
        "addressee",
        "reference_doc_number",
        "problems_section_heading",
        "plan_section_heading",
    ):
        assert meta[key] == gold[key], key
    assert "doc_number" not in meta  # the seed's only number is the one its preamble cites
    assert meta["region"] == {
        "province": "重庆市",
        "city": "重庆市",
        "county": "荣昌区",
        "township": "昌元街道",
        "admin_code": "500153",
    }
    assert st.contact == {"person": "雷敏", "phone": "61478313", "spans": st.contact["spans"]}
    text = clean(seed_text).text
    assert_spans(st, text)
    assert text[slice(*st.provenance["issuers"]["spans"][1])] == "重庆市荣昌区人民政府昌元街道办事处"
    assert st.provenance["report_year"]["source"] == "title"
    assert st.provenance["signed_date"]["source"] == "signature"
    assert text[slice(*st.contact["spans"]["phone"])] == "61478313"


# --- titles of every pattern of the domain note c.2 --------------------------------------------------------
TITLES = [
    # (report, expected {field: value}) — domain note c.2 patterns, in reports written for this test
    (  # district, organ in the title line, 关于…年度…情况的报告
        "成都市武侯区人民政府关于2023年度法治政府建设情况的报告\n市委、市人大常委会：\n现将有关情况报告如下：\n"
        "一、主要举措和成效\n特此报告。\n成都市武侯区人民政府\n2024年2月26日",
        {
            "title": "成都市武侯区人民政府关于2023年度法治政府建设情况的报告",
            "issuers": ["成都市武侯区人民政府"],
            "report_year": 2023,
            "level": "district",
            "region_path": ["四川省", "成都市", "武侯区"],
            "signed_date": "2024-02-26",
            "addressee": "市委、市人大常委会",
        },
    ),
    (  # joint Party and government report, both organs on the title line
        "中共安吉县委 安吉县人民政府关于2022年法治政府建设情况的报告\n市委、市政府：\n一、主要举措\n"
        "中共安吉县委\n安吉县人民政府\n2023年3月1日",
        {
            "issuers": ["中共安吉县委", "安吉县人民政府"],
            "level": "county",
            "report_year": 2022,
            "region_path": ["浙江省", "湖州市", "安吉县"],
            "addressee": "市委、市政府",
        },
    ),
    (  # joint report with the organs on their own lines above a 关于 title (the seed's layout)
        "中共杭州市西湖区青芝街道工作委员会\n杭州市西湖区人民政府青芝街道办事处\n关于2021年法治政府建设工作的报告\n"
        "区委、区政府:\n一、主要举措",
        {
            "title": "关于2021年法治政府建设工作的报告",
            "level": "subdistrict",
            "issuers": ["中共杭州市西湖区青芝街道工作委员会", "杭州市西湖区人民政府青芝街道办事处"],
            "region_path": ["浙江省", "杭州市", "西湖区", "青芝街道"],
        },
    ),
    (  # department, …年法治政府建设工作报告 without 关于
        "重庆市渝北区司法局2022年法治政府建设工作报告\n一、主要举措\n重庆市渝北区司法局\n2023年1月20日",
        {
            "issuers": ["重庆市渝北区司法局"],
            "level": "department",
            "report_year": 2022,
            "region_path": ["重庆市", "渝北区"],
        },
    ),
    (  # township, …年度报告
        "安吉县青禾镇人民政府2021年度法治政府建设年度报告\n一、主要举措\n安吉县青禾镇人民政府\n二〇二二年一月二十日",
        {
            "level": "township",
            "report_year": 2021,
            "signed_date": "2022-01-20",
            "region_path": ["浙江省", "湖州市", "安吉县", "青禾镇"],
        },
    ),
    (  # 工作总结, title wrapped over two lines, a date byline under it
        "黄石市下陆区人民政府关于2020年度法治政府\n建设工作的总结\n（2021年2月1日）\n区委：\n一、主要工作",
        {
            "title": "黄石市下陆区人民政府关于2020年度法治政府建设工作的总结",
            "report_year": 2020,
            "addressee": "区委",
            "region_path": ["湖北省", "黄石市", "下陆区"],
        },
    ),
    (  # a PDF wrap that leaves only the end of the title on the next line
        "宜昌市夷陵区人民政府关于2023年度法治政府建设情况\n的报告\n区委、区人大常委会：\n一、主要举措",
        {
            "title": "宜昌市夷陵区人民政府关于2023年度法治政府建设情况的报告",
            "addressee": "区委、区人大常委会",
            "region_path": ["湖北省", "宜昌市", "夷陵区"],
        },
    ),
    (  # an HTML page keeps its title in <h1>: the text opens with the addressee
        "区委、区政府:\n2022年,容川街道坚持依法行政。现将有关情况报告如下:\n坚持党的领导\n佛山市顺德区容川街道办事处\n"
        "2023年2月28日",
        {
            "addressee": "区委、区政府",
            "report_year": 2022,
            "level": "subdistrict",
            "region_path": ["广东省", "佛山市", "顺德区", "容川街道"],
        },
    ),
    (  # a title without the subject words, at the top under the issuer; a 抄送 note after the date
        "某某经济技术开发区管委会\n关于2023年度工作情况的报告\n一、主要工作\n特此报告。\n某某经济技术开发区管委会\n"
        "2024年1月5日\n抄送：市依法治市办",
        {
            "title": "关于2023年度工作情况的报告",
            "issuers": ["某某经济技术开发区管委会"],
            "signed_date": "2024-01-05",
            "level": "department",
        },
    ),
    (  # organ byline under the title
        "2022年法治政府建设情况报告\n仙桃市司法局\n市委、市政府:\n一、主要举措",
        {
            "issuers": ["仙桃市司法局"],
            "level": "department",
            "region_path": ["湖北省", "仙桃市"],
            "addressee": "市委、市政府",
        },
    ),
    (  # no title line: region from the signature, year from the body
        "2022年，青禾镇在县委、县政府的坚强领导下，认真贯彻落实法治政府建设各项要求，现将有关情况报告如下：\n"
        "一、工作开展情况\n二、存在问题\n特此报告。\n安吉县青禾镇人民政府\n2023年2月10日",
        {
            "issuers": ["安吉县青禾镇人民政府"],
            "report_year": 2022,
            "level": "township",
            "region_path": ["浙江省", "湖州市", "安吉县", "青禾镇"],
        },
    ),
]


@pytest.mark.parametrize(("raw", "expected"), TITLES)
def test_title_patterns(raw: str, expected: dict[str, Any]) -> None:
    st = structure_of(raw)
    for key, value in expected.items():
        assert st.metadata.get(key) == value, key
    assert_spans(st, clean(raw).text)


def test_no_title_no_signature_uses_page_metadata() -> None:
    page = {
        "title": "青禾镇2023年法治政府建设年度报告",
        "published_date": "2024-03-28 09:18",
        "publisher": "安吉县青禾镇人民政府",
        "written_date": "2024年3月20日",
        "doc_number": "青政〔2024〕8号",
    }
    st = structure_of("全镇坚持依法行政。\n一、主要举措\n二、下一步打算", page_meta=page)
    m = st.metadata
    assert m["title"] == page["title"] and st.provenance["title"]["source"] == "page"
    assert m["doc_number"] == "青政〔2024〕8号"
    assert m["signed_date"] == "2024-03-20" and m["published_date"] == "2024-03-28"
    assert m["report_year"] == 2023 and st.provenance["report_year"]["source"] == "page"
    assert m["level"] == "township" and m["region_path"] == ["浙江省", "湖州市", "安吉县", "青禾镇"]


def test_traditional_characters_are_matched_folded_and_reported_as_written() -> None:
    raw = (
        "蘇州市吳江區市場監督管理局2023年法治政府建設工作報告\n區委、區政府：\n現將有關情況報告如下：\n"
        "一、主要舉措和成效\n（一）強化法治引領。全年學習6次。\n二、存在的不足\n特此報告。\n"
        "蘇州市吳江區市場監督管理局\n2024年1月30日\n（聯繫人：張某，聯繫電話：0512-00000000）"
    )
    st = structure_of(raw)
    m = st.metadata
    assert m["title"] == "蘇州市吳江區市場監督管理局2023年法治政府建設工作報告"
    assert m["issuers"] == ["蘇州市吳江區市場監督管理局"] and m["addressee"] == "區委、區政府"
    assert m["region_path"] == ["江苏省", "苏州市", "吴江区"] and m["level"] == "department"
    assert [h["text"] for h in st.headings] == ["主要舉措和成效", "強化法治引領", "存在的不足"]
    assert [h["section"] for h in st.headings] == ["measures_general", "measures_general", "problems"]
    assert st.contact["person"] == "張某"
    assert_spans(st, clean(raw).text)


# --- report year: reported, never posted ---------------------------------------------------------------------
YEARS = [
    # (report, page_meta, expected year, expected source) — domain note 0.1 (posting year is not the year)
    ("关于2021年法治政府建设工作的报告\n一、甲", {"published_date": "2022-03-01"}, 2021, "title"),
    (
        "某区法治政府建设情况报告\n2021年，我区坚持依法行政。\n一、甲",
        {"published_date": "2024-12-01"},
        2021,
        "body",
    ),
    (
        "某区法治政府建设情况报告\n根据《法治政府建设实施纲要(2021—2025年)》，2022年以来我区……\n一、甲",
        {},
        2022,
        "body",
    ),
    ("某区法治政府建设情况报告\n一、甲\n某区人民政府\n2023年2月1日", {}, 2022, "inferred"),
    ("某区法治政府建设情况报告\n一、甲", {"published_date": "2024-03-01"}, None, None),
]


@pytest.mark.parametrize(("raw", "page", "year", "source"), YEARS)
def test_report_year(raw: str, page: dict[str, str], year: int | None, source: str | None) -> None:
    st = structure_of(raw, page_meta=page)
    assert st.metadata.get("report_year") == year
    assert st.provenance.get("report_year", {}).get("source") == source


# --- document numbers: own vs cited, and the web deviations of c.3 -----------------------------------------
OWN_NUMBERS = [
    # (number line under/over the title, expected own number) — domain note c.3
    ("某政报〔2024〕3号", "某政报〔2024〕3号"),
    ("某政报[2024]3号", "某政报[2024]3号"),
    ("某政报【2024】3号", "某政报【2024】3号"),
    ("某政报（2024）3号", "某政报(2024)3号"),
    ("某政报(2024)3号", "某政报(2024)3号"),
    ("某政报〔2024〕第3号", "某政报〔2024〕第3号"),
    ("某政报〔2024〕03号", "某政报〔2024〕03号"),
    ("签发人：张某 某政报〔2024〕3号", "某政报〔2024〕3号"),
    ("发文字号：某政报〔2024〕3号", "某政报〔2024〕3号"),
]


@pytest.mark.parametrize(("line", "number"), OWN_NUMBERS)
def test_own_doc_number(line: str, number: str) -> None:
    raw = f"{line}\n某区人民政府关于2023年度法治政府建设情况的报告\n区委：\n现将情况报告如下：\n一、主要举措"
    st = structure_of(raw)
    assert st.metadata["doc_number"] == number
    assert "reference_doc_number" not in st.metadata
    assert st.provenance["doc_number"]["source"] == "header"


CITED = [
    # (preamble, cited number) — the seed's pattern and its variants
    ("按照荣委法办便笺〔2022〕2号文件要求,现将情况报告如下:", "荣委法办便笺〔2022〕2号"),
    ("根据《关于做好年度报告工作的通知》(渝北法治办〔2023〕1号)要求,现报告如下:", "渝北法治办〔2023〕1号"),
    ("根据区委依法治区办《通知》(某法治办[2024]5号)精神,现报告如下:", "某法治办[2024]5号"),
    ("现将有关情况报告如下:", None),
]


@pytest.mark.parametrize(("preamble", "number"), CITED)
def test_cited_number_is_a_reference_not_the_own_number(preamble: str, number: str | None) -> None:
    st = structure_of(f"某区人民政府关于2023年度法治政府建设情况的报告\n区委:\n{preamble}\n一、主要举措")
    assert st.metadata.get("reference_doc_number") == number
    assert "doc_number" not in st.metadata


def test_doc_numbers_trim_lead_in_words() -> None:
    assert [n for _, _, n in doc_numbers("按照某委法办〔2022〕2号和某府发〔2021〕15号文件要求")] == [
        "某委法办〔2022〕2号",
        "某府发〔2021〕15号",
    ]
    assert doc_numbers("(2022)12号") == []  # no organ code


# --- signing dates: c.6 forms and deviations -----------------------------------------------------------
DATES = [
    # (signature date line, ISO) — domain note c.6
    ("2024年2月26日", "2024-02-26"),
    ("2024年02月26日", "2024-02-26"),
    ("二〇二二年一月二十四日", "2022-01-24"),
    ("二○二二年十二月三十一日", "2022-12-31"),
    ("二零二四年二月二十六日", "2024-02-26"),
    ("2024-02-26", "2024-02-26"),
    ("2024.2.26", "2024-02-26"),
    ("2024/2/26", "2024-02-26"),
    ("（2024年2月26日）", "2024-02-26"),
    ("某区人民政府 2024年2月26日", "2024-02-26"),
    # not dates
    ("2024年2月30日", None),
    ("2024年2月26日召开专题会议", None),
    ("发布时间：2024-03-28", None),
]


@pytest.mark.parametrize(("line", "iso"), DATES)
def test_signing_dates(line: str, iso: str | None) -> None:
    raw = f"某区人民政府关于2023年度法治政府建设情况的报告\n一、主要举措\n正文。\n某区人民政府\n{line}"
    assert structure_of(raw).metadata.get("signed_date") == iso


def test_date_helpers() -> None:
    assert [cn_to_int(s) for s in ("十", "十一", "二十", "二十四", "三十一", "二〇二二", "九")] == [
        10,
        11,
        20,
        24,
        31,
        2022,
        9,
    ]
    assert cn_to_int("百") is None
    assert iso_date("2024-03-28 09:18") == "2024-03-28"
    assert iso_date("发布日期：2024年3月8日") == "2024-03-08"
    assert iso_date("") is None
    assert date_line("中共某区委 某区人民政府 2024年2月26日") is not None


def test_signature_with_joint_organs_on_one_line() -> None:
    st = structure_of(
        "关于2023年法治政府建设情况的报告\n一、主要举措\n中共安吉县委 安吉县人民政府\n2024年2月1日"
    )
    assert st.metadata["issuers"] == ["中共安吉县委", "安吉县人民政府"]
    assert st.provenance["issuers"]["source"] == "signature"
    assert st.metadata["level"] == "county"


# --- addressee --------------------------------------------------------------------------------------------
ADDRESSEES = [
    # (line after the title, addressee) — domain note c.4
    ("区委、区人大常委会：", "区委、区人大常委会"),
    ("区委全面依法治区委员会：", "区委全面依法治区委员会"),
    ("县委依法治县办:", "县委依法治县办"),
    ("区政府：", "区政府"),
    ("现将有关情况报告如下：", None),
    ("2023年，我区坚持依法行政，现报告如下：", None),
]


@pytest.mark.parametrize(("line", "addressee"), ADDRESSEES)
def test_addressee(line: str, addressee: str | None) -> None:
    st = structure_of(f"某区人民政府关于2023年度法治政府建设情况的报告\n{line}\n一、主要举措")
    assert st.metadata.get("addressee") == addressee


# --- level from the organ string (c.2) ----------------------------------------------------------------------
LEVELS = [
    ("中共重庆市荣昌区昌元街道工作委员会", "subdistrict"),
    ("重庆市荣昌区人民政府昌元街道办事处", "subdistrict"),
    ("某街道党工委", "subdistrict"),
    ("安吉县青禾镇人民政府", "township"),
    ("中共安吉县青禾镇委员会", "township"),
    ("青禾乡人民政府", "township"),
    ("重庆市荣昌区人民政府", "district"),
    ("中共重庆市荣昌区委员会", "district"),
    ("荣昌区委", "district"),
    ("安吉县人民政府", "county"),
    ("简阳市人民政府", "county"),  # a county-level city, by the region table
    ("峨边彝族自治县人民政府", "county"),
    ("成都市人民政府", "city"),
    ("恩施土家族苗族自治州人民政府", "city"),
    ("四川省人民政府", "province"),
    ("重庆市荣昌区司法局", "department"),
    ("荣昌区人民政府办公室", "department"),
    ("中共荣昌区委政法委员会", "department"),
    ("中共荣昌区委组织部", "department"),
    ("荣昌区发展和改革委员会", "department"),
    ("区市场监管局", "department"),
    ("某县乡村振兴局", "department"),
    ("某区城乡建设委员会", "department"),
    ("某某区人民政府", "district"),  # not in the table: read from the unit's suffix
]


@pytest.mark.parametrize(("organ", "level"), LEVELS)
def test_level_of_organ(organ: str, level: str) -> None:
    assert level_of(organ) == level


# --- contact (personal data, kept apart) -----------------------------------------------------------------
CONTACTS = [
    ("（联系人：王某某，联系电话：028-85550000）", {"person": "王某某", "phone": "028-85550000"}),
    ("(联系人:雷敏,联系电话:61478313)", {"person": "雷敏", "phone": "61478313"}),
    ("（联系人：李某；电话：13800000000）", {"person": "李某", "phone": "13800000000"}),
    ("（联系人：欧阳某某 联系方式：(0571)12345678）", {"person": "欧阳某某", "phone": "(0571)12345678"}),
    ("（此件公开发布）", {}),
]


@pytest.mark.parametrize(("note", "contact"), CONTACTS)
def test_contact_note(note: str, contact: dict[str, str]) -> None:
    raw = f"某区人民政府关于2023年度法治政府建设情况的报告\n一、主要举措\n正文。\n某区人民政府\n2024年2月26日\n{note}"
    st = structure_of(raw)
    assert {k: v for k, v in st.contact.items() if k != "spans"} == contact
    assert not any(str(v) in json.dumps(st.metadata, ensure_ascii=False) for v in contact.values())
    if contact:
        assert st.metadata["signed_date"] == "2024-02-26"  # the note does not hide the date
