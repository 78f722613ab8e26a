"""Property tests (hypothesis) over the pure stages and the whole per-document function.

Inputs are built from the pieces reports are made of (numbers in every notation, units, qualifiers,
heading markers, full-width forms, line breaks) mixed with arbitrary characters and bytes.
CI runs a fixed, derandomised budget; set EXTRACTOR_FUZZ_EXAMPLES=5000 to explore with random
seeds. A crash found here becomes a named test in tests/regressions/.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import os
import re
import zipfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractor.clean import clean, normalise_width
from extractor.errors import MESSAGES, DocumentError
from extractor.load.html import load_html
from extractor.model import STATUSES, Loaded
from extractor.numbers import MENTION_KEYS, find_mentions
from extractor.pipeline import process_bytes
from extractor.rules import load_json_schema
from extractor.structure import analyse, locate

_EXPLORE = int(os.environ.get("EXTRACTOR_FUZZ_EXAMPLES", "0"))


def budget(n: int) -> settings:
    """CI: `n` examples from a fixed seed; exploring: the requested number, random seeds."""
    return settings(
        max_examples=_EXPLORE or n,
        deadline=None,
        derandomize=not _EXPLORE,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# ---------------------------------------------------------------------------------------------
# Strategies

NUMBERS = [
    "0",
    "12",
    "100",
    "1,234",
    "3.5",
    "98.7",
    "0.05",
    "2021",
    "1.2万",
    "3亿",
    "十",
    "二十三",
    "一百零五",
    "两千",
    "三成",
    "五分之一",
    "１２",
    "９８．５",
    "1/3",
    "1—2",
    "3-5",
    "10~20",
    "½",
    "Ⅲ",
    "①",
    "1e5",
    "99999999999999999999",
    "1.2.3",
    "0.0.0",
    "百分之九十",
    "千分之三",
    "〇",
    "○",
]
UNITS = [
    "件",
    "次",
    "人次",
    "人",
    "名",
    "个",
    "万元",
    "元",
    "亿元",
    "%",
    "％",
    "‰",
    "个百分点",
    "户",
    "场",
    "份",
    "条",
    "项",
    "起",
    "天",
    "小时",
    "倍",
    "年",
    "月",
    "日",
    "号",
    "期",
    "届",
    "平方米",
    "公里",
    "家",
    "余",
]
QUALIFIERS = [
    "近",
    "约",
    "余",
    "多",
    "以上",
    "不少于",
    "超过",
    "达",
    "同比增长",
    "下降",
    "提高",
    "共",
    "累计",
    "力争",
    "计划",
    "第",
    "全年",
    "其中",
]
MARKERS = [
    "一、",
    "二、",
    "十二、",
    "（一）",
    "(二)",
    "1.",
    "2．",
    "（3）",
    "(4)",
    "①",
    "第一部分",
    "第二章",
    "第三条",
    "一是",
    "【",
    "】",
    "一、二、三、",
]
TEXT = [
    "法治政府建设",
    "行政处罚案件",
    "调解矛盾纠纷",
    "法律顾问",
    "报告",
    "街道办事处",
    "重庆市荣昌区",
    "区政府：",
    "2022年1月24日",
    "〔2022〕2号",
    "联系人：",
    "电话：",
    "特此报告",
    "中共",
    "委员会",
    "。",
    "，",
    "、",
    "；",
    "：",
    ":",
    ",",
    ".",
    "（",
    "）",
    "(",
    ")",
    "“",
    "”",
    "《",
    "》",
    "—",
    "-",
    "~",
    "至",
    "到",
    " ",
    "\u3000",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\u200b",
    "\ufeff",
    "\x00",
    "\x0c",
    "\u2028",
    "\ufffd",
    "\U0001f600",
]
PIECES = NUMBERS + UNITS + QUALIFIERS + MARKERS + TEXT


def report_texts(max_pieces: int = 60) -> st.SearchStrategy[str]:
    """Texts assembled from report pieces, with arbitrary characters mixed in."""
    piece = st.one_of(st.sampled_from(PIECES), st.sampled_from(PIECES), st.text(max_size=4))
    return st.lists(piece, max_size=max_pieces).map("".join)


def report_lines() -> st.SearchStrategy[str]:
    """Line-structured texts: each line opens with a heading marker or not."""
    line = st.tuples(st.sampled_from(["", "", *MARKERS]), report_texts(12)).map("".join)
    return st.lists(line, max_size=25).map("\n".join)


HTML_PIECES = [
    "<html>",
    "</html>",
    "<head>",
    "<body>",
    "<div>",
    "</div>",
    "<p>",
    "</p>",
    "<br>",
    "<br/>",
    "<table>",
    "<tr>",
    "<td>",
    "</td>",
    "</tr>",
    "</table>",
    "<span>",
    "<b>",
    "</b>",
    "<strong>",
    '<div id="zoom">',
    '<div class="TRS_Editor">',
    "<script>",
    "</script>",
    "<style>",
    "</style>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<?xml version='1.0'?>",
    '<!DOCTYPE html [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
    "&a;",
    "&b;",
    '<meta charset="gbk">',
    '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">',
    "<title>",
    "</title>",
    "&amp;",
    "&nbsp;",
    "&#0;",
    "&#x110000;",
    "&#99999999;",
    "&#12345",
    "&",
    "<",
    ">",
    "</",
    "<p <p>",
    '<a href="',
    '"',
    "'",
    "=",
    "发布时间：",
    "索引号：",
    "来源：",
    "<td>发文字号：</td><td>荣府发〔2022〕1号</td>",
]


def html_bytes() -> st.SearchStrategy[bytes]:
    """HTML token soup (text pieces and tags) in one of the encodings pages come in, or raw bytes."""
    soup = st.lists(st.one_of(st.sampled_from(HTML_PIECES), st.sampled_from(PIECES)), max_size=80).map(
        "".join
    )
    encoded = st.tuples(soup, st.sampled_from(["utf-8", "gb18030", "big5", "utf-16", "latin-1"])).map(
        lambda p: p[0].encode(p[1], errors="replace")
    )
    return st.one_of(
        encoded, st.binary(max_size=600), st.tuples(encoded, st.binary(max_size=40)).map(b"".join)
    )


# ---------------------------------------------------------------------------------------------
# Cleaning


def _check_cleaned(source: str) -> None:
    cleaned = clean(source)
    text, offsets = cleaned.text, cleaned.offsets
    assert len(offsets) == len(text) + 1
    assert all(a <= b for a, b in itertools.pairwise(offsets)), "offsets go backwards"
    assert all(0 <= o <= len(source) for o in offsets)
    wide = normalise_width(source)
    for i, ch in enumerate(text):
        if not ch.isspace():
            assert wide[offsets[i]] == ch, (i, ch, source[offsets[i]])
    assert clean(text).text == text, "cleaning is not idempotent"
    for start in range(0, len(text), max(1, len(text) // 7)):
        s, e = cleaned.to_source(start, min(start + 3, len(text)))
        assert 0 <= s <= e <= len(source) + 1


@budget(400)
@given(report_texts())
def test_clean_keeps_offsets_valid_and_is_idempotent(source: str) -> None:
    _check_cleaned(source)


@budget(150)
@given(report_lines())
def test_clean_keeps_offsets_valid_on_line_structured_text(source: str) -> None:
    _check_cleaned(source)


# ---------------------------------------------------------------------------------------------
# Numbers (the grammar alone, and its round trips, are property-tested in test_numbers_props.py;
# here it runs on cleaned, line-structured text with the heading tree the structure stage found)


def _check_mentions(text: str, mentions: list[dict]) -> None:
    prev = -1
    for m in mentions:
        assert set(MENTION_KEYS) <= set(m), set(MENTION_KEYS) - set(m)
        assert 0 <= m["start"] < m["end"] <= len(text)
        assert text[m["start"] : m["end"]] == m["surface"]
        assert m["start"] >= prev, "mentions out of reading order"
        prev = m["start"]
        # A change ("提高2个百分点") has no level: its value is null and the change is in delta_value.
        if m["value"] is None:
            assert isinstance(m["delta_value"], int | float) and math.isfinite(m["delta_value"])
        else:
            assert isinstance(m["value"], int | float) and math.isfinite(m["value"])
        if m["value_high"] is not None:
            assert math.isfinite(m["value_high"])
        assert isinstance(m["unit"], str)


@budget(150)
@given(report_lines())
def test_number_grammar_spans_are_valid_in_a_heading_tree(source: str) -> None:
    text = clean(source).text
    headings = analyse(text, Loaded(format="txt", text=source)).headings
    mentions = find_mentions(text, headings)
    _check_mentions(text, mentions)
    for m in mentions:  # each number sits in the section of the innermost heading before it
        assert m["section_path"] == locate(headings, m["start"])["section_path"], m


# ---------------------------------------------------------------------------------------------
# Headings


@budget(250)
@given(report_lines(), st.lists(st.sampled_from(TEXT + MARKERS), max_size=4))
def test_heading_tree_is_consistent_on_any_text(source: str, bold: list[str]) -> None:
    text = clean(source).text
    found = analyse(text, Loaded(format="html", text=source, bold_leads=bold))
    starts = [h["start"] for h in found.headings]
    assert starts == sorted(starts)
    for i, h in enumerate(found.headings):
        assert 0 <= h["start"] <= h["end"] <= len(text)
        assert h["level"] >= 1
        assert h["parent"] is None or (
            0 <= h["parent"] < i and found.headings[h["parent"]]["level"] < h["level"]
        )
        # A wrapped heading's text runs over a line break that it does not keep.
        assert h["text"].strip() and h["text"] in text[h["start"] : h["end"]].replace("\n", "")
    for key, where in found.provenance.items():
        if isinstance(where, dict) and isinstance(where.get("start"), int) and where.get("source") != "page":
            assert 0 <= where["start"] <= where["end"] <= len(text), key


# ---------------------------------------------------------------------------------------------
# HTML loader


@budget(600)
@given(html_bytes())
def test_html_loader_never_fails_but_with_a_document_error(data: bytes) -> None:
    try:
        loaded = load_html(data)
    except DocumentError as exc:
        assert exc.code in MESSAGES
        return
    assert loaded.format == "html" and isinstance(loaded.text, str)
    assert all(isinstance(v, str) for v in loaded.page_meta.values())


# ---------------------------------------------------------------------------------------------
# The whole per-document function


@functools.cache
def _record_validator() -> Any:
    import jsonschema

    schema = load_json_schema("document")
    return jsonschema.validators.validator_for(schema)(schema)


def _check_document(data: bytes, name: str) -> None:
    doc = process_bytes(data, name)
    assert doc.status in STATUSES
    # The record as published in documents.jsonl (the runner leaves out contact and timings).
    record = {k: v for k, v in doc.to_dict().items() if k not in ("contact", "timings")}
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _record_validator().iter_errors(record)
    ]
    assert not errors, errors
    if doc.status == "ok":
        assert doc.message == ""
        _check_mentions(doc.text, doc.mentions)
    else:
        code = re.match(r"\[(E\d{3})\]", doc.message)
        assert code, doc.message
        assert MESSAGES[code.group(1)][0] == doc.status
        # Internal errors are bugs: the fuzz budget must not find any.
        assert code.group(1) != "E009", doc.message


MAGIC = [
    b"",
    b"%PDF-1.4\n",
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    b"<html>",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"{\\rtf1",
    b"MIME-Version: 1.0\r\nContent-Type: multipart/related\r\n",
    b"\x89PNG\r\n\x1a\n",
    b"<?xml version='1.0'?><w:wordDocument>",
]


@budget(400)
@given(
    st.sampled_from(MAGIC),
    st.binary(max_size=400),
    st.sampled_from(["a.txt", "a.pdf", "a.docx", "a.html", ""]),
)
def test_pipeline_never_raises_on_random_bytes(magic: bytes, data: bytes, name: str) -> None:
    _check_document(magic + data, name)


@budget(200)
@given(report_lines(), st.sampled_from(["utf-8", "gb18030", "big5", "utf-16", "utf-8-sig"]))
def test_pipeline_never_raises_on_random_report_text(text: str, encoding: str) -> None:
    _check_document(text.encode(encoding, errors="replace"), "report.txt")


def _small_docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("某镇人民政府关于2022年度法治政府建设情况的报告")
    d.add_paragraph("一、主要工作")
    d.add_paragraph("全年办理行政处罚案件36件，罚没款12.5万元。")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _small_pdf() -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(300, 200), invariant=1)
    c.setFont("STSong-Light", 10)
    for i, line in enumerate(["一、主要工作", "全年办理行政处罚案件36件，", "罚没款12.5万元。"]):
        c.drawString(20, 170 - 14 * i, line)
    c.showPage()
    c.save()
    return buf.getvalue()


SEEDS = {"docx": _small_docx(), "pdf": _small_pdf()}


def _docx_member_mutants() -> st.SearchStrategy[bytes]:
    """A valid DOCX whose document.xml is replaced by a mutated copy (the zip stays valid)."""
    with zipfile.ZipFile(io.BytesIO(SEEDS["docx"])) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}

    def build(xml: bytes) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as out:
            for n, body in members.items():
                out.writestr(n, xml if n == "word/document.xml" else body)
        return buf.getvalue()

    return _mutants(members["word/document.xml"]).map(build)


def _mutants(seed: bytes) -> st.SearchStrategy[bytes]:
    """Byte-level mutations of a seed file: overwrite, delete, insert, truncate."""

    def apply(ops: list[tuple[int, int, int, bytes]]) -> bytes:
        data = bytearray(seed)
        for kind, where, length, blob in ops:
            if not data:
                break
            at = where % len(data)
            if kind == 0:
                data[at : at + len(blob)] = blob
            elif kind == 1:
                del data[at : at + length]
            elif kind == 2:
                data[at:at] = blob
            else:
                del data[at:]
        return bytes(data)

    op = st.tuples(
        st.integers(0, 3), st.integers(0, 1 << 20), st.integers(1, 64), st.binary(min_size=1, max_size=8)
    )
    return st.lists(op, min_size=1, max_size=6).map(apply)


@budget(400)
@given(
    st.one_of(
        _mutants(SEEDS["pdf"]).map(lambda d: (d, "m.pdf")),
        _mutants(SEEDS["docx"]).map(lambda d: (d, "m.docx")),
        _docx_member_mutants().map(lambda d: (d, "x.docx")),
    )
)
def test_pipeline_never_raises_on_mutated_pdf_and_docx(sample: tuple[bytes, str]) -> None:
    _check_document(*sample)


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_mutation_seeds_are_valid_documents(kind: str) -> None:
    doc = process_bytes(SEEDS[kind], f"seed.{kind}")
    assert doc.status == "ok", doc.message
    assert [(m["value"], m["unit"]) for m in doc.mentions] == [(36, "件"), (12.5, "万元")]
