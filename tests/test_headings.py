"""Heading detection: marker forms and deviations, shapes, levels, bold leads, non-headings, the seed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from extractor.clean import clean
from extractor.model import Loaded
from extractor.structure import analyse, locate
from extractor.structure.headings import find_headings, match_marker
from extractor.structure.lines import split_lines

# The shared gold folder sits beside the repository (see tests/conftest.py).
GOLD = (
    Path(__file__).resolve().parents[2] / "shared" / "gold" / "chongqing-rongchang-changyuan-2021.gold.json"
)


def headings_of(raw: str, bold_leads: list[str] | None = None) -> list[dict[str, Any]]:
    """Headings of a loaded text, through the cleaner as in the pipeline."""
    return analyse(clean(raw).text, Loaded(format="txt", text=raw, bold_leads=bold_leads or [])).headings


def body_headings(body: str, bold_leads: list[str] | None = None) -> list[dict[str, Any]]:
    """Headings of body lines only (no header or signature to find)."""
    lines = split_lines(clean(body).text)
    return find_headings(lines, 0, len(lines), bold_leads or [])


# --- marker forms: (line, expected (marker type, marker) or None) ----------------------------------
MARKERS = [
    # development: the standard hierarchy of GB/T 9704 §7.3.3, after cleaning (half-width)
    ("一、学习宣传习近平法治思想情况", ("cn_dun", "一、")),
    ("十二、其他需要报告的情况", ("cn_dun", "十二、")),
    ("(一)学习宣传情况。", ("cn_paren", "(一)")),
    ("1.认真学习了有关文件", ("arabic_dot", "1.")),
    ("(1)健全学法机制。", ("arabic_paren", "(1)")),
    ("①开展专题培训", ("circled", "①")),
    ("第一部分 2023年工作情况", ("part", "第一部分")),
    ("第二章 主要举措", ("part", "第二章")),
    # domain note c.1 deviations
    ("1、加强组织领导", ("arabic_dot", "1、")),
    ("(一)、加强组织领导", ("cn_paren", "(一)、")),
    ("一．主要举措和成效", ("cn_dun", "一．")),
    ("一.主要举措和成效", ("cn_dun", "一.")),
    ("一,主要举措和成效", ("cn_dun", "一,")),
    ("㈠加强组织领导", ("cn_paren", "㈠")),
    ("（一)混合括号", ("cn_paren", "（一)")),
    ("（一）全角括号未经清洗", ("cn_paren", "（一）")),
    ("１．全角序号未经清洗", ("arabic_dot", "１．")),
    ("⑴依法受理复议申请", ("arabic_paren", "⑴")),
    ("1)开展案卷评查", ("arabic_half_paren", "1)")),
    # bugs caught: spaces left inside brackets by PDF text extraction
    ("( 一 )加强组织领导", ("cn_paren", "( 一 )")),
    ("( 1 )健全学法机制", ("arabic_paren", "( 1 )")),
    ("1.2023年以来,全区共办理案件", ("arabic_dot", "1.")),
    ("一、2023年推进法治政府建设的主要举措和成效", ("cn_dun", "一、")),
    ("1.“八五”普法规划中期评估", ("arabic_dot", "1.")),
    ("(二)《条例》贯彻落实情况", ("cn_paren", "(二)")),
    # not headings (domain note c.1 false positives and inline enumerations)
    ("一是法制宣传针对性不够强;二是工作职责不够明确。", None),
    ("二是透彻理解法治政府建设的各项指标体系", None),
    ("一要提高站位,二要压实责任。", None),
    ("首先,提高政治站位。", None),
    ("第一,提高政治站位;第二,压实工作责任。", None),
    ("一、二季度共开展执法检查12次。", None),
    ("三、四月份集中开展宣传活动。", None),
    ("一、二等奖各1名。", None),
    ("1.2万份宣传资料全部发放到户。", None),
    ("1.5万人次参与线上学法。", None),
    ("5.08%的执法人员负责法制审核。", None),
    ("1、2月份共受理案件36件。", None),
    ("(1)班学生参加了模拟法庭。", None),
    ("(2)号楼业主委员会完成换届。", None),
    ("2021年,我区坚持以习近平法治思想为指导。", None),
    ("1月25日,街道召开专题会议。", None),
    ("12·4国家宪法日集中宣传。", None),
    # a bare marker is a plausible start; it makes a heading only with the text of the next line
    ("一、", ("cn_dun", "一、")),
]


@pytest.mark.parametrize(("line", "expected"), MARKERS)
def test_marker_forms(line: str, expected: tuple[str, str] | None) -> None:
    assert match_marker(line) == expected


# --- text, span and shape --------------------------------------------------------------------------
SHAPES = [
    # (body, expected [(marker, text, shape)]) — development
    ("(一)学习宣传情况。", [("(一)", "学习宣传情况", "line")]),
    ("(二)规范执法行为。全年组织执法培训3次。", [("(二)", "规范执法行为", "run_in")]),
    ("一、主要举措和成效", [("一、", "主要举措和成效", "line")]),
    ("一、主要举措和成效:", [("一、", "主要举措和成效", "line")]),
    ("1. 加强组织领导;", [("1.", "加强组织领导", "line")]),
    # wrapped: a long heading line cut mid-phrase and continued on a short line (PDF)
    (
        "一、2023年推进法治政府建设的主要举措和取得的\n显著成效\n(一)加强领导。全年召开会议3次。",
        [
            ("一、", "2023年推进法治政府建设的主要举措和取得的显著成效", "wrapped"),
            ("(一)", "加强领导", "run_in"),
        ],
    ),
    # not wrapped: a short next line with a 。 may be a body sentence after a standalone heading
    (
        "(一)坚持以习近平法治思想为指导全面推进依法行政\n全年召开会议3次。",
        [("(一)", "坚持以习近平法治思想为指导全面推进依法行政", "line")],
    ),
    # wrapped: a marker alone on its line
    (
        "一、\n主要举措和成效\n(一)加强领导。",
        [("一、", "主要举措和成效", "wrapped"), ("(一)", "加强领导", "line")],
    ),
    ("(一)\n(二)加强领导。", [("(二)", "加强领导", "line")]),
    # not wrapped: the heading is complete (ends on 情况), or the first line is short
    (
        "一、学习宣传习近平法治思想和中央全面依法治国工作会议精神情况\n全年学习12次",
        [("一、", "学习宣传习近平法治思想和中央全面依法治国工作会议精神情况", "line")],
    ),
    ("(一)加强组织领导\n全年召开专题会议3次", [("(一)", "加强组织领导", "line")]),
    (
        "一、2023年推进法治政府建设的主要举措和取得的\n一是加强组织领导。",
        [("一、", "2023年推进法治政府建设的主要举措和取得的", "line")],
    ),
]


@pytest.mark.parametrize(("body", "expected"), SHAPES)
def test_text_and_shape(body: str, expected: list[tuple[str, str, str]]) -> None:
    found = body_headings(body)
    assert [(h["marker"], h["text"], h["shape"]) for h in found] == expected
    cleaned = clean(body).text
    for h in found:
        span = cleaned[h["start"] : h["end"]].replace("\n", "")
        assert span.startswith(h["marker"])
        assert span.endswith(h["text"][-2:])


# --- levels: marker types actually used, in the standard order --------------------------------------
LEVELS = [
    # (body, expected [(path, level, parent)]) — development
    (
        "一、甲\n(一)乙\n1.丙\n(1)丁\n①戊",
        [
            ("一", 1, None),
            ("一/(一)", 2, 0),
            ("一/(一)/1", 3, 1),
            ("一/(一)/1/(1)", 4, 2),
            ("一/(一)/1/(1)/①", 5, 3),
        ],
    ),
    # domain note: only two levels (一、 + 1、): 1、 is level 2
    (
        "一、甲\n1、乙\n2、丙\n二、丁\n1、戊",
        [("一", 1, None), ("一/1", 2, 0), ("一/2", 2, 0), ("二", 1, None), ("二/1", 2, 3)],
    ),
    # domain note: a skipped level keeps the document's level of the marker type
    (
        "一、甲\n(一)乙\n1.丙\n二、丁\n1.戊",
        [("一", 1, None), ("一/(一)", 2, 0), ("一/(一)/1", 3, 1), ("二", 1, None), ("二/1", 3, 3)],
    ),
    # a report that starts below 一、
    ("(一)甲\n1.乙\n(二)丙", [("(一)", 1, None), ("(一)/1", 2, 0), ("(二)", 1, None)]),
    # parts above 一、
    (
        "第一部分 工作成效\n一、甲\n第二部分 下步打算\n一、乙",
        [("第一部分", 1, None), ("第一部分/一", 2, 0), ("第二部分", 1, None), ("第二部分/一", 2, 2)],
    ),
    # superfluous 顿号, full stops and spaces are left out of the path
    ("一．甲\n(一)、乙\n1、丙", [("一", 1, None), ("一/(一)", 2, 0), ("一/(一)/1", 3, 1)]),
    ("一、甲\n( 一 )乙", [("一", 1, None), ("一/(一)", 2, 0)]),
]


@pytest.mark.parametrize(("body", "expected"), LEVELS)
def test_levels_parents_paths(body: str, expected: list[tuple[str, int, int | None]]) -> None:
    found = body_headings(body)
    assert [(h["path"], h["level"], h["parent"]) for h in found] == expected


# --- unnumbered headings: bold leads (HTML) and 【…】 sub-titles --------------------------------------
def test_bold_leads_without_numbered_headings_are_level_one() -> None:
    body = "加强组织领导。区委常委会专题研究2次。\n深化执法改革。全年办理案件100件。\n一是强化学习。"
    found = body_headings(body, ["加强组织领导。", "　深化执法改革。", "一是强化学习。"])
    assert [(h["text"], h["level"], h["shape"], h["path"], h["marker"]) for h in found] == [
        ("加强组织领导", 1, "bold", "*1", ""),
        ("深化执法改革", 1, "bold", "*2", ""),
    ]


def test_bold_leads_sit_below_the_numbered_heading_above() -> None:
    body = "一、主要举措\n加强组织领导。召开会议3次。\n（二）规范执法。\n二、存在问题"
    # The raw bold run is full-width (HTML); it is normalised before matching the cleaned line.
    found = body_headings(body, ["加强组织领导。", "（二）规范执法。"])
    assert [(h["path"], h["level"], h["shape"]) for h in found] == [
        ("一", 1, "line"),
        ("一/*1", 2, "bold"),
        ("一/(二)", 2, "line"),
        ("二", 1, "line"),
    ]


def test_standalone_bold_paragraphs_sit_above_run_in_bold_leads() -> None:
    # A paragraph bold throughout is a heading of its own; a bold sentence opening a paragraph is
    # a run-in heading one level below it (HTML pages without numbers).
    body = (
        "坚持党的领导,压实主体责任\n完善领导机制。全年召开会议5次。\n健全学法制度。全年学法11次。\n"
        "聚焦营商环境,依法履行职能\n深化审批改革。进驻事项486项。\n存在的问题\n一是宣传不够。"
    )
    leads = [
        "坚持党的领导，压实主体责任",
        "完善领导机制。",
        "健全学法制度。",
        "聚焦营商环境，依法履行职能",
        "深化审批改革。",
        "存在的问题",
    ]
    found = body_headings(body, leads)
    assert [(h["text"], h["level"], h["path"]) for h in found] == [
        ("坚持党的领导,压实主体责任", 1, "*1"),
        ("完善领导机制", 2, "*1/*1"),
        ("健全学法制度", 2, "*1/*2"),
        ("聚焦营商环境,依法履行职能", 1, "*2"),
        ("深化审批改革", 2, "*2/*1"),
        ("存在的问题", 1, "*3"),
    ]


def test_long_bold_runs_are_emphasis_not_headings() -> None:
    long = (
        "全年共组织开展各类法治宣传活动一百余场次覆盖群众数万人次取得了良好的社会效果和法律效果并受到上级肯定"
    )
    assert body_headings(long + "。后文。", [long]) == []


def test_bracket_subtitles() -> None:
    found = body_headings("一、主要举措\n【强化组织领导】全年召开会议3次。\n【我要纠错】")
    assert [(h["text"], h["level"], h["shape"]) for h in found[:2]] == [
        ("主要举措", 1, "line"),
        ("强化组织领导", 2, "run_in"),
    ]


# --- zones: header and signature lines are never headings --------------------------------------------
def test_signature_block_and_header_hold_no_headings() -> None:
    raw = (
        "某区人民政府关于2023年度法治政府建设情况的报告\n区委、区人大常委会：\n现将有关情况报告如下：\n"
        "一、主要举措和成效\n（一）加强组织领导。全年召开会议3次。\n1.5万人次参与线上学法。\n"
        "二、存在的不足和原因\n一是宣传针对性不强。\n特此报告。\n某区人民政府\n2024年2月26日\n"
        "（联系人：王某，联系电话：0000-0000000）"
    )
    found = headings_of(raw)
    assert [h["marker"] + h["text"] for h in found] == [
        "一、主要举措和成效",
        "(一)加强组织领导",
        "二、存在的不足和原因",
    ]


def test_headings_are_in_reading_order_and_locate_finds_them() -> None:
    raw = "一、甲\n正文一。\n(一)乙。正文二。\n二、丙\n正文三。"
    text = clean(raw).text
    found = analyse(text, Loaded(format="txt", text=raw)).headings
    assert [h["start"] for h in found] == sorted(h["start"] for h in found)
    assert locate(found, text.index("正文二"))["section_path"] == "一/(一)"
    assert locate(found, text.index("正文三"))["section_path"] == "二"
    assert locate(found, text.index("正文一"))["section_path"] == "一"


# --- the seed against its gold ------------------------------------------------------------------------
def test_seed_headings_equal_gold(seed_text: str) -> None:
    gold = json.loads(GOLD.read_text(encoding="utf-8"))["headings"]
    found = headings_of(seed_text)
    got = [(h["level"], h["marker"], h["text"]) for h in found]
    want = [(g["level"], clean(g["marker"]).text, clean(g["text"]).text) for g in gold]
    assert got == want
    text = clean(seed_text).text
    for i, h in enumerate(found):
        assert text[h["start"] :].startswith(h["marker"] + h["text"])
        assert h["end"] == h["start"] + len(h["marker"]) + len(h["text"])
        assert h["parent"] is None or found[h["parent"]]["level"] == h["level"] - 1
        assert h["path"].split("/")[-1] == h["marker"].rstrip("、.")
        assert h["section"] and h["part"] and h["section_reason"], i
    assert [h["path"] for h in found[:5]] == ["一", "一/(一)", "一/(二)", "一/(二)/1", "一/(二)/2"]
    assert {h["shape"] for h in found} == {"line", "run_in"}
