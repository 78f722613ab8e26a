"""No input makes a loader touch the network: a real HTTP server on 127.0.0.1 counts requests."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from extractor.errors import DocumentError
from extractor.load import load_bytes


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Counting.hits.append(self.path)
        body = b'<!ENTITY secret "leaked">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Counting.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_html_references_are_never_fetched(server: str) -> None:
    page = f"""<?xml version="1.0"?>
<!DOCTYPE html SYSTEM "{server}/page.dtd" [<!ENTITY ext SYSTEM "{server}/entity">]>
<html xmlns:xi="http://www.w3.org/2001/XInclude"><head>
<link rel="stylesheet" href="{server}/style.css"><script src="{server}/app.js"></script>
<meta http-equiv="refresh" content="0; url={server}/refresh"></head>
<body><div id="zoom"><p>正文&ext;内容：全年办理行政复议案件21件，纠错率9.5%。</p>
<img src="{server}/img.png"><iframe src="{server}/frame"></iframe><xi:include href="{server}/inc.xml"/>
</div></body></html>"""
    loaded = load_bytes(page.encode(), "page.html")
    assert "全年办理行政复议案件21件" in loaded.text
    assert "leaked" not in loaded.text
    assert _Counting.hits == []


def test_docx_external_relationships_are_never_fetched(server: str) -> None:
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    d = docx.Document()
    d.add_paragraph("附件材料见外部链接。")
    d.part.relate_to(f"{server}/template.dotm", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate", is_external=True)
    d.part.relate_to(f"{server}/picture.png", RT.IMAGE, is_external=True)
    buf = io.BytesIO()
    d.save(buf)
    assert load_bytes(buf.getvalue(), "ext.docx").text == "附件材料见外部链接。"
    assert _Counting.hits == []


def test_docx_external_entity_is_refused_without_fetching(server: str) -> None:
    import zipfile

    import docx

    d = docx.Document()
    d.add_paragraph("正文")
    buf = io.BytesIO()
    d.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/document.xml":
                xml = data.decode()
                head = xml.index("?>") + 2
                xml = xml[:head] + f'<!DOCTYPE d [<!ENTITY x SYSTEM "{server}/xxe">]>' + xml[head:]
                data = xml.replace("正文", "&x;").encode()
            dst.writestr(info, data)
    with pytest.raises(DocumentError) as err:
        load_bytes(out.getvalue(), "xxe.docx")
    assert err.value.code == "E005"
    assert _Counting.hits == []


def test_loaders_write_no_files(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import os
    import tempfile
    from pathlib import Path

    import docx
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf_buf = io.BytesIO()
    c = canvas.Canvas(pdf_buf)
    c.setFont("STSong-Light", 12)
    c.drawString(72, 700, "全年办理行政复议案件12件。")
    c.showPage()
    c.save()
    d = docx.Document()
    d.add_paragraph("全年办理行政复议案件12件。")
    docx_buf = io.BytesIO()
    d.save(docx_buf)
    inputs = {
        "a.pdf": pdf_buf.getvalue(),
        "a.docx": docx_buf.getvalue(),
        "a.html": (Path(__file__).parent / "fixtures" / "load" / "portal_trs.html").read_bytes(),
        "a.txt": "全年办理行政复议案件12件。".encode("gbk"),
    }
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(work))
    monkeypatch.setenv("TMPDIR", str(work))
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    for name, data in inputs.items():
        assert "件" in load_bytes(data, name).text
    assert os.listdir(work) == []
