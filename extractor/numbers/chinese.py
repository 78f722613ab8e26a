"""Chinese numerals (十二, 一百二十, 两千零五, 三万五千) to integers, strictly: malformed runs give None."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_INF = float("inf")


@dataclass(frozen=True)
class Numeral:
    """A parsed Chinese numeral: its value, and whether it opens with a bare scale word (百余, 万人)."""

    value: int
    bare_scale: bool


def parse_chinese(
    s: str,
    digits: Mapping[str, int],
    units: Mapping[str, int],
    big: Mapping[str, int],
) -> Numeral | None:
    """Parse a run of Chinese numeral chars; None when it is not one well-formed numeral.

    Strict on purpose: "二〇二一" (a year), "十四五" (a plan name) and "一二" are not numbers.
    """
    if not s:
        return None
    total = 0
    section = 0
    digit: int | None = None
    last_unit = _INF
    last_big = _INF
    zero_seen = False
    bare = (s[0] in units and units[s[0]] > 10) or s[0] in big
    for ch in s:
        if ch in digits:
            d = digits[ch]
            if digit is not None:  # two digits in a row: 二三, 二〇二一
                return None
            if d == 0:
                if section == 0 and total == 0:  # a leading 零 is not a numeral
                    return None
                zero_seen = True
                continue
            digit = d
        elif ch in units:
            u = units[ch]
            if u >= last_unit:  # 十百, 百百
                return None
            # A unit without a digit before it: only at the head (十二, 百余, 十万) or as 零十.
            if digit is None and not ((section == 0 and total == 0) or (u == 10 and zero_seen)):
                return None
            section += (digit if digit is not None else 1) * u
            digit = None
            last_unit = u
            zero_seen = False
        elif ch in big:
            b = big[ch]
            if b >= last_big:
                return None
            if digit is not None:
                section += digit
                digit = None
            if section == 0:
                if total != 0:
                    return None
                section = 1
            total += section * b
            section = 0
            last_unit = _INF
            last_big = b
            zero_seen = False
        else:
            return None
    if digit is not None:
        # Colloquial 一百五 (150) and 两万五 (25000): a trailing digit after a unit, with no 零.
        if not zero_seen and last_unit != _INF and last_unit >= 100:
            section += digit * int(last_unit) // 10
        elif not zero_seen and last_unit == _INF and last_big != _INF and section == 0:
            section += digit * int(last_big) // 10
        else:
            section += digit
    return Numeral(total + section, bool(bare))


def parse_chinese_decimal(
    s: str,
    point: str,
    digits: Mapping[str, int],
    units: Mapping[str, int],
    big: Mapping[str, int],
) -> float | None:
    """Parse 九十五点五 style numbers (used after 百分之); None when malformed."""
    whole, sep, frac = s.partition(point)
    head = parse_chinese(whole, digits, units, big)
    if head is None:
        return None
    if not sep:
        return head.value
    if not frac or any(ch not in digits for ch in frac):
        return None
    return float(f"{head.value}.{''.join(str(digits[ch]) for ch in frac)}")
