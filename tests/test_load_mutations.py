"""Damaged inputs: every mutation of a valid file loads or fails with a coded DocumentError."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractor.errors import DocumentError
from extractor.load import Limits, load_bytes
from extractor.model import Loaded

FIXTURES = Path(__file__).parent / "fixtures" / "load"


def _pdf() -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont("STSong-Light", 12)
    c.drawString(72, 760, "一、主要工作")
    c.drawString(96, 740, "全年办理行政复议案件12件，纠错率8.3%。")
    c.showPage()
    c.save()
    return buf.getvalue()


def _docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("一、主要工作")
    d.add_paragraph("全年办理行政复议案件12件。")
    d.add_table(rows=1, cols=2).cell(0, 0).text = "案件"
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


SOURCES = {
    "report.pdf": _pdf(),
    "report.docx": _docx(),
    "page.html": (FIXTURES / "portal_hanweb.html").read_text(encoding="utf-8").encode("gbk"),
    "report.txt": "一、主要工作\n全年办理行政复议案件12件，纠错率8.3%。\n".encode("gb18030"),
}

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**9), st.integers(0, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10**9), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**9), st.integers(0, 255)),
    st.tuples(st.just("repeat"), st.integers(0, 10**9), st.integers(1, 64)),
)


def mutate(data: bytes, steps: list[tuple[str, int, int]]) -> bytes:
    """Apply byte-level damage: flip a byte, cut the tail, insert bytes, repeat a chunk."""
    out = bytearray(data)
    for kind, where, arg in steps:
        if not out:
            break
        pos = where % len(out)
        if kind == "flip":
            out[pos] = arg
        elif kind == "cut":
            del out[pos:]
        elif kind == "insert":
            out[pos:pos] = bytes([arg]) * 7
        else:
            out[pos:pos] = out[pos : pos + arg] * 3
    return bytes(out)


@pytest.mark.parametrize("name", sorted(SOURCES))
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_files_load_or_fail_with_a_code(name: str, steps: list[tuple[str, int, int]]) -> None:
    data = mutate(SOURCES[name], steps)
    try:
        loaded = load_bytes(data, name, Limits(max_unzipped=5_000_000))
    except DocumentError as exc:
        assert exc.code.startswith("E") and exc.status != "error"
        return
    assert isinstance(loaded, Loaded) and isinstance(loaded.text, str)
