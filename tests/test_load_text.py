"""Format sniffing, text decoding (UTF-8, GB18030/GBK, Big5, damaged and mixed) and load statuses."""

from __future__ import annotations

import codecs
import io
import random
import zipfile

import pytest

from extractor.clean import clean
from extractor.errors import DocumentError
from extractor.load import load_bytes, sniff
from extractor.load.text import decode
from extractor.pipeline import process_bytes

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
TRADITIONAL = "本鎮2021年法治政府建設情況報告。全年辦理行政執法案件三十六件，較上年增加五件，行政復議維持率達百分之九十。"


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in names:
            zf.writestr(name, "<x/>")
    return buf.getvalue()


# --- decoding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encode", "encoding"),
    [
        (lambda s: s.encode("utf-8"), "utf-8"),
        (lambda s: codecs.BOM_UTF8 + s.encode("utf-8"), "utf-8-sig"),
        (lambda s: s.encode("gbk"), "gb18030"),
        (lambda s: s.encode("gb18030"), "gb18030"),
        (lambda s: s.encode("utf-16"), "utf-16"),
    ],
    ids=["utf8", "utf8-bom", "gbk", "gb18030", "utf16-bom"],
)
def test_seed_round_trips_through_each_encoding(seed_text: str, encode: object, encoding: str) -> None:
    loaded = load_bytes(encode(seed_text), "seed.txt")  # type: ignore[operator]
    assert (loaded.format, loaded.encoding) == ("txt", encoding)
    assert loaded.text.lstrip("\ufeff") == seed_text
    assert loaded.warnings == []


def test_big5_is_told_from_gbk() -> None:
    text, enc, _ = decode(TRADITIONAL.encode("big5"))
    assert (text, enc) == (TRADITIONAL, "big5")
    # Traditional characters in GBK stay GBK.
    text, enc, _ = decode(TRADITIONAL.encode("gbk"))
    assert (text, enc) == (TRADITIONAL, "gb18030")


def test_gb18030_only_characters_under_a_gb2312_declaration() -> None:
    text = "𠀀镕基同志与喆、堃、䶮三人讨论"  # characters outside GB2312
    assert decode(text.encode("gb18030"), "gb2312")[:2] == (text, "gb18030")


def test_valid_utf8_beats_a_stale_declaration(seed_text: str) -> None:
    text, enc, warnings = decode(seed_text.encode("utf-8"), "gb2312")
    assert (text, enc) == (seed_text, "utf-8")
    assert "gb2312 ignored" in warnings[0]


def test_damaged_utf8_stays_utf8(seed_text: str) -> None:
    data = seed_text.encode("utf-8")
    cut = data.index("调解".encode()) + 1  # a character cut in the middle
    damaged = data[:cut] + data[cut + 2 :]
    text, enc, warnings = decode(damaged)
    assert enc == "utf-8" and warnings
    assert text.count("\ufffd") <= 2
    assert text[:200] == seed_text[:200] and text[-200:] == seed_text[-200:]


def test_damaged_gbk_keeps_the_readable_lines(seed_text: str) -> None:
    lines = seed_text.splitlines()
    data = "\n".join(lines).encode("gbk")
    pos = data.index("开展理论学习".encode("gbk"))
    damaged = data[:pos] + b"\xff" + data[pos + 1 :]
    loaded = load_bytes(damaged, "bad.txt")
    out = loaded.text.splitlines()
    assert len(out) == len(lines)
    assert sum(a == b for a, b in zip(out, lines, strict=True)) == len(lines) - 1
    assert any("replaced" in w for w in loaded.warnings)


def test_mixed_utf8_and_gbk_lines(seed_text: str) -> None:
    lines = seed_text.splitlines()[:12]
    data = b"\n".join(ln.encode("gbk" if i % 3 == 1 else "utf-8") for i, ln in enumerate(lines))
    text, enc, warnings = decode(data)
    assert enc == "mixed"
    assert text.splitlines() == lines
    assert "0 line(s) had bytes replaced" in warnings[0]


def test_nul_bytes_are_dropped_by_cleaning(seed_text: str) -> None:
    part = seed_text[:600]
    data = part[:100].encode() + b"\0" + part[100:300].encode() + b"\0\0" + part[300:].encode()
    loaded = load_bytes(data, "nul.txt")
    assert loaded.format == "txt"
    assert clean(loaded.text).text == clean(part).text


# --- sniffing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "fmt"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a.pdf", "pdf"),
        (b"\n\n%PDF-1.4\n", "a.bin", "pdf"),
        (_zip(["[Content_Types].xml", "word/document.xml"]), "a.pdf", "docx"),
        (_zip(["OFD.xml", "Doc_0/Document.xml"]), "a.ofd", "ofd"),
        (_zip(["xl/workbook.xml"]), "a.xlsx", "xlsx"),
        (_zip(["ppt/presentation.xml"]), "a.pptx", "pptx"),
        (_zip(["readme.txt"]), "a.zip", "zip"),
        (OLE, "a.doc", "doc"),
        (OLE, "a.wps", "wps"),
        (OLE, "a", "doc"),
        (OLE, "a.xls", "xls"),
        (b"{\\rtf1\\ansi\\ansicpg936 abc}", "a.doc", "rtf"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "a.png", "png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 20, "a.jpg", "jpeg"),
        (b"<!DOCTYPE html><html><body>x</body></html>", "a.docx", "html"),
        (codecs.BOM_UTF8 + "<html><p>你好</p></html>".encode(), "a.txt", "html"),
        (b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=x\r\n", "a.doc", "mht"),
        (b'<?xml version="1.0"?><?mso-application progid="Word.Document"?><w:wordDocument>', "a.doc", "wordml"),
        ("法治政府建设情况报告".encode("gbk"), "a.txt", "txt"),
        (random.Random(7).randbytes(4096), "a.txt", "binary"),
    ],
)
def test_sniff(data: bytes, name: str, fmt: str) -> None:
    assert sniff(data, name) == fmt


# --- statuses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "code", "status", "named"),
    [
        (b"", "empty.txt", "E002", "empty", "empty"),
        (OLE, "report.doc", "E004", "unsupported_format", "'doc'"),
        (OLE, "report.wps", "E004", "unsupported_format", "'wps'"),
        (_zip(["OFD.xml"]), "report.ofd", "E004", "unsupported_format", "'ofd'"),
        (b"{\\rtf1 abc}", "report.rtf", "E004", "unsupported_format", "'rtf'"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "scan.png", "E004", "unsupported_format", "'png'"),
        (_zip(["xl/workbook.xml"]), "data.xlsx", "E004", "unsupported_format", "'xlsx'"),
        (_zip(["a.txt"]), "files.zip", "E004", "unsupported_format", "'zip'"),
        (b'<?xml version="1.0"?><w:wordDocument>', "old.xml", "E004", "unsupported_format", "'wordml'"),
    ],
)
def test_unloadable_inputs_get_a_status_and_a_message(
    data: bytes, name: str, code: str, status: str, named: str
) -> None:
    with pytest.raises(DocumentError) as err:
        load_bytes(data, name)
    assert (err.value.code, err.value.status) == (code, status)
    assert named in err.value.message
    doc = process_bytes(data, name)
    assert (doc.status, doc.message) == (status, err.value.message)


def test_random_bytes_are_corrupt() -> None:
    for seed in range(5):
        data = random.Random(seed).randbytes(8192 + seed)
        doc = process_bytes(data, "noise.txt")
        assert doc.status == "corrupt", doc.message
        assert "[E010]" in doc.message
