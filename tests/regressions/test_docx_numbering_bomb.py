"""A DOCX "numbering bomb", found while reading the list-numbering code for hostile inputs.

A list level may declare any start value; rendered as letters or Roman numerals the label grows
with the value (10^11 as letters is a 4 GB string). A few hundred bytes of numbering.xml made the
loader run out of memory. Counters past Word's own maximum (32767) are now written as digits.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from extractor.load.docx import format_number
from extractor.pipeline import process_bytes

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def numbered_report(fmt: str, start: int) -> bytes:
    """A two-paragraph report whose first paragraph is an item of a list starting at `start`."""
    import docx

    d = docx.Document()
    d.add_paragraph("主要工作", style="List Number")
    d.add_paragraph("全年办理行政处罚案件36件。")
    buf = io.BytesIO()
    d.save(buf)
    numbering = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:numbering xmlns:w="{W}">'
        f'<w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0"><w:start w:val="{start}"/>'
        f'<w:numFmt w:val="{fmt}"/><w:lvlText w:val="%1."/></w:lvl></w:abstractNum>'
        '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>'
    )
    numbered = b'<w:pStyle w:val="ListNumber"/><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "word/numbering.xml":
                data = numbering.encode()
            elif name == "word/document.xml":
                assert data.count(b'<w:pStyle w:val="ListNumber"/>') == 1
                data = data.replace(b'<w:pStyle w:val="ListNumber"/>', numbered)
            dst.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "start", "label"),
    [
        ("upperLetter", 3, "C."),
        ("upperLetter", 100_000_000, "100000000."),
        ("lowerRoman", 10**13, "10000000000000."),
    ],
)
def test_list_starting_at_a_huge_value_keeps_a_short_label(fmt: str, start: int, label: str) -> None:
    doc = process_bytes(numbered_report(fmt, start), "report.docx")
    assert doc.status == "ok", doc.message
    assert doc.text.splitlines()[0] == f"{label}主要工作"


def test_counter_formats_are_bounded() -> None:
    assert format_number(32767, "upperLetter") == "G" * 1261
    assert format_number(32768, "upperLetter") == "32768"
    assert format_number(0, "lowerRoman") == "0" and format_number(-4, "upperLetter") == "-4"
