"""A crash found by tests/test_fuzz.py: control characters after a dropped <script> or <style>.

lxml parses C0 control characters into text nodes but refuses them when the HTML loader moves
the tail text of a removed element (ValueError: "All strings must be XML compatible"). Pages
pasted from word processors carry stray vertical tabs and form feeds.
"""

from __future__ import annotations

import pytest

from extractor.load.html import load_html
from extractor.pipeline import process_bytes


def test_fuzz_minimal_case_loads() -> None:
    assert load_html(b"\x00<style></style>\x01").text == ""


@pytest.mark.parametrize("control", ["\x01", "\x0b", "\x0c", "\x1f", "\x00"])
@pytest.mark.parametrize("dropped", ["<script>var a = 1;</script>", "<style>p {}</style>"])
def test_control_character_after_a_dropped_element(control: str, dropped: str) -> None:
    page = f"<html><body><p>全年办理行政处罚案件36件。</p>{dropped}{control}调解纠纷128件。</body></html>"
    doc = process_bytes(page.encode(), "page.html")
    assert doc.status == "ok", doc.message
    assert [(m["value"], m["unit"]) for m in doc.mentions] == [(36, "件"), (128, "件")]
