"""Crashes found by tests/test_fuzz.py in damaged DOCX packages (zip headers, main document part).

Each was an internal error (status `error`, [E009]) before the fix; a damaged package must get a
coded status like any other broken file.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable

import pytest

from extractor.load import sniff
from extractor.pipeline import process_bytes

# Offsets inside a zip central-directory entry (PK\x01\x02) and a local file header (PK\x03\x04).
CD_VERSION_NEEDED, CD_FLAGS, CD_NAME_LEN, CD_NAME = 6, 8, 28, 46
LOCAL_FLAGS, LOCAL_NAME_LEN, LOCAL_NAME = 6, 26, 30


def _report_docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("全年办理行政处罚案件36件。")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _patch(
    data: bytes, member: str, signature: bytes, name_len_at: int, name_at: int, field: int, value: int
) -> bytes:
    """Set a 16-bit header field of `member` in every header with `signature`."""
    out = bytearray(data)
    pos = out.find(signature)
    hits = 0
    while pos >= 0:
        n = struct.unpack_from("<H", out, pos + name_len_at)[0]
        if out[pos + name_at : pos + name_at + n] == member.encode():
            struct.pack_into("<H", out, pos + field, value)
            hits += 1
        pos = out.find(signature, pos + 4)
    assert hits == 1
    return bytes(out)


def test_docx_whose_central_directory_asks_for_zip_version_6_4() -> None:
    # zipfile refuses versions above 6.3 with NotImplementedError, raised while sniffing.
    data = _patch(
        _report_docx(), "word/document.xml", b"PK\x01\x02", CD_NAME_LEN, CD_NAME, CD_VERSION_NEEDED, 64
    )
    assert sniff(data, "report.docx") == "docx"  # from the local headers, as for any damaged package
    doc = process_bytes(data, "report.docx")
    assert (doc.status, doc.message[:6]) == ("corrupt", "[E005]")
    assert "zip file version 6.4" in doc.message


@pytest.mark.parametrize("member", ["word/document.xml", "word/_rels/document.xml.rels"])
def test_docx_member_flagged_as_encrypted(member: str) -> None:
    # zipfile raises RuntimeError ("password required") when such a member is opened.
    data = _patch(_report_docx(), member, b"PK\x01\x02", CD_NAME_LEN, CD_NAME, CD_FLAGS, 1)
    data = _patch(data, member, b"PK\x03\x04", LOCAL_NAME_LEN, LOCAL_NAME, LOCAL_FLAGS, 1)
    doc = process_bytes(data, "report.docx")
    assert (doc.status, doc.format) == ("corrupt", "docx")
    assert doc.message.startswith("[E005]") and member in doc.message


def _with_document_xml(data: bytes, fix: Callable[[bytes], bytes]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            body = src.read(name)
            dst.writestr(name, fix(body) if name == "word/document.xml" else body)
    return out.getvalue()


@pytest.mark.parametrize(
    "fix",
    [
        pytest.param(
            lambda x: x.replace(b"<w:document ", b"<w:documenx ").replace(b"</w:document>", b"</w:documenx>"),
            id="root-element-renamed",
        ),
        pytest.param(
            lambda x: x.replace(b"<w:body>", b"<w:bodx>").replace(b"</w:body>", b"</w:bodx>"),
            id="body-element-renamed",
        ),
        pytest.param(
            lambda x: x[: x.index(b"<w:body>")] + x[x.index(b"</w:body>") + len(b"</w:body>") :],
            id="body-missing",
        ),
    ],
)
def test_docx_main_part_without_a_document_body(fix: Callable[[bytes], bytes]) -> None:
    # python-docx parses such a part, then has no body to walk (AttributeError before the fix).
    doc = process_bytes(_with_document_xml(_report_docx(), fix), "report.docx")
    assert (doc.status, doc.format) == ("corrupt", "docx")
    assert doc.message.startswith("[E005]") and "w:body" in doc.message
