"""Cleaning: widths, whitespace, page chrome, and the offset map back to the loaded text."""

from __future__ import annotations

import pytest

from extractor.clean import _WIDTH_TABLE, _alternation, clean, is_chrome_line, normalise_width

WIDTH_CASES = [
    # (loaded, cleaned) — development examples
    ("（一）学习宣传情况。", "(一)学习宣传情况。"),
    ("开展专题学习１２次，发放资料１．５万份", "开展专题学习12次,发放资料1.5万份"),
    ("\u3000\u3000区委、区政府：", "区委、区政府:"),
    ("占比５．０８％", "占比5.08%"),
    ("a\u200bb\x00c", "abc"),
    ("第一行\r\n\r\n第二行", "第一行\n第二行"),
    ("  多个   空格  ", "多个 空格"),
]


@pytest.mark.parametrize(("loaded", "cleaned"), WIDTH_CASES)
def test_width_and_whitespace(loaded: str, cleaned: str) -> None:
    assert clean(loaded).text == cleaned


CHROME_LINES = ["首页 > 政务公开 > 法治政府建设", "来源：区司法局  发布时间：2022-03-01", "【字体：大 中 小】 打印本页 关闭窗口",
                "网站标识码5001530001 渝ICP备12345678号", "上一篇：关于某某的通知", "国务院部门网站"]
BODY_LINES = ["一、2023年推进法治政府建设的主要举措和成效", "（二）规范执法行为。全年组织执法培训3次。", "特此报告"]


@pytest.mark.parametrize("line", CHROME_LINES)
def test_chrome_lines_dropped(line: str) -> None:
    assert is_chrome_line(clean(line).text or line)
    assert clean(line).text == ""


@pytest.mark.parametrize("line", BODY_LINES)
def test_body_lines_kept(line: str) -> None:
    assert clean(line).text != ""


def test_offsets_map_back_to_loaded_text(seed_text: str) -> None:
    cleaned = clean(seed_text)
    for i, ch in enumerate(cleaned.text):
        src = seed_text[cleaned.offsets[i]]
        if ch in " \n":
            continue
        assert clean(src).text == ch, (i, ch, src)
    start = cleaned.text.index("专题学习12次")
    s, e = cleaned.to_source(start, start + len("专题学习12次"))
    assert seed_text[s:e] == "专题学习12次"


def test_cleaning_is_idempotent(seed_text: str) -> None:
    once = clean(seed_text).text
    assert clean(once).text == once


def test_seed_trailer_chrome_removed_and_note_kept(seed_text: str) -> None:
    text = clean(seed_text).text
    assert "国务院部门网站" not in text
    assert "其他网站" not in text
    assert text.rstrip().endswith("(联系人:雷敏,联系电话:61478313)")


def test_contact_note_after_signature_kept_without_brackets() -> None:
    text = "正文。\n特此报告。\n某某街道办事处\n2023年2月1日\n联系人:张某,联系电话:023-00000000\n网站地图\n国务院部门网站"
    cleaned = clean(text).text
    assert cleaned.endswith("联系人:张某,联系电话:023-00000000")
    assert "网站地图" not in cleaned


def test_width_map_leaves_chars_beyond_the_bmp_alone() -> None:
    assert clean("Ａ１\U0001F600，乙").text == "A1\U0001F600,乙"


def test_width_map_is_one_char_for_one_char_and_never_chains() -> None:
    # normalise_width replaces char by char; a plain form that were mapped again would chain.
    assert set(_WIDTH_TABLE.values()).isdisjoint(_WIDTH_TABLE)
    every = "".join(chr(cp) for cp in _WIDTH_TABLE)
    assert normalise_width("甲" + every + "乙") == "甲" + every.translate(_WIDTH_TABLE) + "乙"


def test_one_char_gaps_map_to_their_own_offsets() -> None:
    cleaned = clean("甲\t乙\n丙  丁")
    assert cleaned.text == "甲 乙\n丙 丁"
    # The tab is the space of line one; a run of two spaces maps to its last char.
    assert cleaned.offsets == [0, 1, 2, 3, 4, 6, 7, 8]


def test_chrome_patterns_share_one_alternation_only_when_they_can() -> None:
    assert _alternation([r"(a)\1"]) is None  # a backreference would point at another group
    assert _alternation(["(?i)x"]) is None  # global flags must open the whole pattern
    assert _alternation(["(?P<n>x)", "(?P<n>y)"]) is None  # one group name twice
    union = _alternation(["^来源", "^(上一篇|下一篇)"])
    assert union is not None
    assert union.match("下一篇：通知") and union.match("来源：区司法局") and not union.match("正文来源")
