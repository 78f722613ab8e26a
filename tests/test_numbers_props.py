"""Property tests of the numbers and indicators stages (hypothesis)."""

from __future__ import annotations

import math
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractor.indicators import map_indicators
from extractor.numbers import find_mentions
from extractor.numbers.chinese import parse_chinese
from extractor.numbers.grammar import grammar

# Text made of the pieces that matter to the grammar, so that random text hits its edge cases.
PIECES = ["1", "2", "0", "5", ".", ",", "%", "‰", "万", "亿", "千", "百", "十", "一", "两", "三", "〇", "零", "点",
          "余", "多", "近", "约", "超", "以上", "至", "-", "~", "—", "次", "件", "人次", "场(次)", "(场)次", "个",
          "元", "万元", "个百分点", "成", "分之", "年", "月", "日", "第", "前", "《", "》", "“", "”", "〔", "〕", "号",
          "同比", "增长", "下降", "较上年", "均为", "、", "率", "力争", "全区", "。", "\n", "联系电话:", "萬", "餘",
          "調解", "纠纷", "受理", "宣传", "培训", "执法人员", "合格率", "罚没款", " ", "a", "G"]
NOISY_TEXT = st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=40).map("".join)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(NOISY_TEXT)
def test_never_raises_and_spans_slice_to_surface(text: str) -> None:
    mentions = find_mentions(text, [])
    last = -1
    for m in mentions:
        assert 0 <= m["start"] < m["end"] <= len(text)
        assert text[m["start"]:m["end"]] == m["surface"]
        assert m["start"] >= last or m["rule"] == "shared_rate"  # reading order
        last = m["start"]
        assert m["value"] is not None or m["delta_type"] is not None
        assert m["kind"] in ("count", "rate", "money")
    rows = map_indicators(text, mentions)
    for r in rows:
        m = mentions[r["mention_idx"]]
        assert (r["start"], r["end"], r["surface"]) == (m["start"], m["end"], m["surface"])
        assert 0 <= r["confidence"] <= 1


@SETTINGS
@given(st.text(max_size=60))
def test_never_raises_on_any_text(text: str) -> None:
    for m in find_mentions(text, []):
        assert text[m["start"]:m["end"]] == m["surface"]


UNITS = ["件", "次", "人次", "名", "场", "份", "条", "个", "户", "项", "家", "台"]


@SETTINGS
@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=3),
    st.sampled_from(UNITS),
    st.sampled_from(["", "万"]),
    st.booleans(),
)
def test_arabic_values_round_trip(whole: int, decimals: int, unit: str, scale: str, grouped: bool) -> None:
    number = Decimal(whole) / (10**decimals)
    written = f"{number:,}" if grouped and decimals == 0 else f"{number}"
    text = f"全年共办理各类事项{written}{scale}{unit},较好完成任务。"
    (m,) = find_mentions(text, [])
    expected = number * (10000 if scale else 1)
    assert math.isclose(m["value"], float(expected), rel_tol=1e-12)
    assert m["surface"] == f"{written}{scale}{unit}"
    assert m["multiplier"] == (10000 if scale else 1)


@SETTINGS
@given(st.integers(min_value=0, max_value=10000), st.integers(min_value=0, max_value=2))
def test_percentages_round_trip(hundredths: int, decimals: int) -> None:
    value = Decimal(hundredths) / 100
    written = f"{value:.{decimals}f}"
    (m,) = find_mentions(f"案卷评查合格率{written}%。", [])
    assert math.isclose(m["value"], float(Decimal(written)), rel_tol=1e-12)
    assert (m["unit"], m["kind"]) == ("%", "rate")


_DIGITS = "零一二三四五六七八九"


def _to_chinese(n: int) -> str:
    """Write n (1 ≤ n < 10^8) as a standard Chinese numeral (test oracle)."""
    def section(x: int) -> str:
        out, zero = "", False
        for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = x // value % 10
            if d:
                out += ("零" if zero and out else "") + _DIGITS[d] + unit
                zero = False
            elif out:
                zero = True
        return out

    high, low = divmod(n, 10000)
    if not high:
        s = section(low)
    else:
        s = section(high) + "万" + (("零" if low < 1000 else "") + section(low) if low else "")
    return s[1:] if s.startswith("一十") else s


@SETTINGS
@given(st.integers(min_value=1, max_value=99_999_999))
def test_chinese_numerals_round_trip(n: int) -> None:
    g = grammar()
    parsed = parse_chinese(_to_chinese(n), g.digits, g.cn_units, g.cn_big)
    assert parsed is not None and parsed.value == n


@SETTINGS
@given(st.integers(min_value=2, max_value=9999), st.sampled_from(UNITS))
def test_chinese_counts_read_in_text(n: int, unit: str) -> None:
    (m,) = find_mentions(f"全年开展工作{_to_chinese(n)}{unit}。", [])
    assert m["value"] == n
