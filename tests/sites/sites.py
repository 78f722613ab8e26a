"""The fixture sites: pages under tests/sites/<name>/ plus routes for what a folder cannot do (faults).

Report texts and organ names are constructed for the tests in the style of real reports; none is real data.
"""

from __future__ import annotations

import email.utils
import functools
import io
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sites.server import Handler, Hit, Route, Site, SiteServer

HERE = Path(__file__).resolve().parent
# How long the hanging route keeps a client waiting at most (the server's loops are bounded).
HANG_SECONDS = 5.0
# The endless body stops by itself after this many bytes, if the client has not cut it first.
ENDLESS_LIMIT = 16 * 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Real PDF and DOCX files, made here


@functools.cache
def report_pdf(title: str, *lines: str) -> bytes:
    """A small real PDF with Chinese text (reportlab's built-in STSong-Light font)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)  # invariant: the same bytes on every run
    pdf.setFont("STSong-Light", 16)
    pdf.drawCentredString(A4[0] / 2, A4[1] - 72, title)
    pdf.setFont("STSong-Light", 12)
    y = A4[1] - 110
    for line in lines:
        pdf.drawString(72, y, line)
        y -= 22
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@functools.cache
def report_docx(title: str, *paragraphs: str) -> bytes:
    """A small real DOCX (python-docx), with fixed core properties so its bytes are stable."""
    import datetime

    import docx

    document = docx.Document()
    document.core_properties.created = datetime.datetime(2023, 2, 10)
    document.core_properties.modified = datetime.datetime(2023, 2, 10)
    document.core_properties.last_modified_by = ""
    document.add_heading(title, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Faults


def once_then_static(status: int, headers: dict[str, str] | None = None, dated_retry: float = 0.0) -> Route:
    """Answer `status` (with `headers`) to the first request, then serve the file.

    With `dated_retry`, also send Retry-After as an HTTP date that many seconds ahead (whole seconds,
    as HTTP dates have no fractions).
    """
    count = [0]

    def route(handler: Handler, hit: Hit) -> None:
        count[0] += 1
        if count[0] == 1:
            extra = dict(headers or {})
            if dated_retry:
                extra["Retry-After"] = email.utils.formatdate(time.time() + dated_retry, usegmt=True)
            handler.send(
                hit, status, b"<html><body>busy</body></html>", {"Content-Type": "text/html", **extra}
            )
        else:
            handler.serve_static(hit)

    return route


def hang(handler: Handler, hit: Hit) -> None:
    """Accept the request, then say nothing (until the server stops or HANG_SECONDS pass)."""
    handler.server.closing.wait(HANG_SECONDS)
    handler.send(hit, 200, b"%PDF-1.4 late", {"Content-Type": "application/pdf"})


def endless(handler: Handler, hit: Hit) -> None:
    """A body without Content-Length that goes on until the client hangs up."""
    hit.status = 200
    handler.send_response(200)
    handler.send_header("Content-Type", "application/zip")
    handler.end_headers()
    chunk = b"PK\x03\x04" + b"\x00" * (64 * 1024 - 4)
    sent = 0
    while sent < ENDLESS_LIMIT and not handler.server.closing.is_set():
        handler.wfile.write(chunk)
        sent += len(chunk)


def redirect(target: str) -> Route:
    """302 to `target` (absolute, or relative to the site)."""

    def route(handler: Handler, hit: Hit) -> None:
        handler.send(hit, 302, b"", {"Location": target})

    return route


# ---------------------------------------------------------------------------------------------
# Sites

TRS_PDF_2021 = "/fzzfjs/202203/P020220317512345678901.pdf"
TRS_PDF_2020 = "/fzzfjs/202103/P020210325498765432101.pdf"


def trs_site(dated_retry: float = 0.0) -> Site:
    """A TRS-style county portal: GBK pages, createPageHTML pagination, a 429 and a 503 on the way.

    `dated_retry` gives the 503 a Retry-After HTTP date that many seconds ahead.
    """
    return Site(
        root=HERE / "trs",
        encoding="gbk",
        files={
            TRS_PDF_2021: report_pdf(
                "鹤汀街道办事处关于2021年度法治政府建设情况的报告",
                "一、主要举措和成效",
                "全年办理行政处罚案件126件。",
            ),
            TRS_PDF_2020: report_pdf(
                "鹤汀街道办事处关于2020年度法治政府建设情况的报告",
                "一、主要工作及成效",
                "全年集体讨论决定重大事项9项。",
            ),
        },
        routes={
            "/fzzfjs/202203/t20220301_118.html": once_then_static(429, {"Retry-After": "1"}),
            "/fzzfjs/index_1.html": once_then_static(503, dated_retry=dated_retry),
        },
    )


HANWEB_PDF = "2201141530123.pdf"
# The data proxy's 50 records, newest first: (title, article path, date). Four are reports, one of
# them listed twice under two columns (the same page under two URLs).
_FILLER = [
    "关于开展森林防火专项检查的通知",
    "2022年第{n}批低保对象公示",
    "召开村级组织换届工作会议",
    "关于做好汛期安全防范工作的通知",
    "2021年政府信息公开工作年度报告",
    "乡村振兴项目建设情况公示",
]


def hanweb_records() -> list[tuple[str, str, str]]:
    """The column's records as the data proxy serves them."""
    records = []
    for n in range(1, 51):
        month, day = 12 - (n % 12), 1 + (n % 27)
        records.append(
            (
                f"檀溪镇{_FILLER[n % len(_FILLER)].format(n=n)}",
                f"/art/2022/{month}/{day}/art_123_{1000 + n}.html",
                f"2022-{month:02d}-{day:02d}",
            )
        )
    records[0] = ("檀溪镇2022年法治政府建设年度报告", "/art/2023/2/20/art_123_789.html", "2023-02-20")
    records[6] = ("檀溪镇2021年法治政府建设年度报告", "/art/2022/1/14/art_123_456.html", "2022-01-14")
    records[7] = ("檀溪镇2021年法治政府建设年度报告", "/art/2022/1/14/art_124_456.html", "2022-01-14")
    records[47] = ("檀溪镇2020年法治政府建设年度报告", "/art/2021/2/5/art_123_321.html", "2021-02-05")
    return records


def dataproxy(handler: Handler, hit: Hit) -> None:
    """Hanweb's jpage data proxy: records startrecord..endrecord of column 123 as XML with CDATA."""
    query = {**hit.form, **{k: v[0] for k, v in parse_qs(urlsplit(hit.path).query).items()}}
    records = hanweb_records() if query.get("columnid") == "123" else []
    start = int(query.get("startrecord", "1"))
    end = min(int(query.get("endrecord", "15")), len(records))
    rows = "\n".join(
        f'<record><![CDATA[<li><a href="{path}" title="{title}" target="_blank">{title}</a>'
        f"<span>{date}</span></li>]]></record>"
        for title, path, date in records[start - 1 : end]
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n'
        '<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&webid=1&path=/&columnid=123'
        '&unitid=4399&webname=%E6%AA%80%E6%BA%AA%E9%95%87&permissiontype=0"></a>]]></nextgroup>\n'
        f"<totalrecord>{len(records)}</totalrecord>\n<recordset>\n{rows}\n</recordset>\n</datastore>\n"
    )
    handler.send(hit, 200, body.encode("utf-8"), {"Content-Type": "text/xml;charset=UTF-8"})


def downfile(handler: Handler, hit: Hit) -> None:
    """Hanweb's download script: the file named by ?filename=, as application/octet-stream."""
    name = parse_qs(urlsplit(hit.path).query).get("filename", [""])[0]
    if name != HANWEB_PDF:
        handler.send(hit, 404, b"not found", {"Content-Type": "text/plain"})
        return
    body = report_pdf("檀溪镇2021年法治政府建设年度报告", "一、主要工作举措", "全年重大行政决策事项4项。")
    handler.send(hit, 200, body, {"Content-Type": "application/octet-stream"})


def same_as(path: str) -> Route:
    """Serve the file of another path (one page published under two URLs)."""

    def route(handler: Handler, hit: Hit) -> None:
        body = handler.body_of(path)
        assert body is not None
        handler.send(hit, 200, body, {"Content-Type": "text/html"})

    return route


def post_only(route: Route) -> Route:
    """A route that answers POST only, as many data proxies do (GET gets 405)."""

    def only(handler: Handler, hit: Hit) -> None:
        if hit.method != "POST":
            handler.send(hit, 405, b"", {"Allow": "POST"})
        else:
            route(handler, hit)

    return only


def hanweb_site(method: str = "get") -> Site:
    """A Hanweb-style township portal: a column fed by the XML data proxy; robots.txt asks for a crawl delay.

    With method="post" the data proxy answers POST only.
    """
    return Site(
        root=HERE / "hanweb",
        charset_header="UTF-8",
        routes={
            "/module/web/jpage/dataproxy.jsp": post_only(dataproxy) if method == "post" else dataproxy,
            "/module/download/downfile.jsp": downfile,
            "/art/2022/1/14/art_124_456.html": same_as("/art/2022/1/14/art_123_456.html"),
        },
    )


GENERIC_LIST = "/xxgk/fdzdgknr/fzzfjs/"
_LIST_N = re.compile(r"/xxgk/fdzdgknr/fzzfjs/list_(\d+)\.html")


def generic_list_page(handler: Handler, hit: Hit) -> None:
    """Page 2 of the report column, and behind it an endless 下一页 chain repeating page 2's items."""
    match = _LIST_N.fullmatch(hit.route)
    assert match is not None
    n = int(match.group(1))
    if n > 10_000:
        handler.send(hit, 404, b"", {"Content-Type": "text/html"})
        return
    body = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>法治政府建设年度报告（第{n}页）</title></head>
<body><div class="position">当前位置：首页 &gt; 政府信息公开 &gt; 法定主动公开内容 &gt; 法治政府建设年度报告</div>
<ul class="list">
<li><a href="202003/t20200310_101.html">鹤汀街道2019年法治政府建设年度报告</a><span>2020-03-10</span></li>
<li><a href="202001/t20200106_100.html">鹤汀街道开展“宪法宣传周”活动</a><span>2020-01-06</span></li>
</ul>
<div class="page"><a href="list_{n + 1}.html">下一页</a></div></body></html>"""
    handler.send(hit, 200, body.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


def passwd(handler: Handler, hit: Hit) -> None:
    """An attachment whose name (in the link and in Content-Disposition) climbs out of any folder."""
    body = report_pdf("鹤汀街道2019年法治政府建设年度报告", "附件1")
    handler.send(
        hit,
        200,
        body,
        {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": 'attachment; filename="../../etc/passwd"',
        },
    )


GENERIC_PDF_2021 = "/xxgk/fdzdgknr/fzzfjs/202202/P020220228201.pdf"
GENERIC_PDF_2020 = "/xxgk/fdzdgknr/fzzfjs/P020210310990.pdf"
GENERIC_DOCX_2022 = "/xxgk/fdzdgknr/fzzfjs/202302/P020230215301.docx"


def generic_site(offsite: str) -> Site:
    """A portal of unknown make: disclosure pages down to the report column, every fault on the way.

    `offsite` is the base URL of another server that the crawl must never touch.
    """
    return Site(
        root=HERE / "generic",
        charset_header="utf-8",
        substitutions={"{{OFFSITE}}": offsite},
        files={
            GENERIC_PDF_2021: report_pdf(
                "鹤汀街道2021年法治政府建设年度报告", "一、主要工作", "全年办理行政执法案件89件。"
            ),
            GENERIC_PDF_2020: report_pdf(
                "鹤汀街道2020年法治政府建设年度报告", "一、主要工作", "开展法治宣传活动20场。"
            ),
            GENERIC_DOCX_2022: report_docx(
                "鹤汀街道2022年法治政府建设年度报告",
                "区委、区政府：",
                "一、主要举措和成效",
                "全年组织领导干部集体学法4次。",
            ),
        },
        routes={
            r"/xxgk/fdzdgknr/fzzfjs/list_\d+\.html": generic_list_page,
            "/download.do": passwd,
            "/files/huge.zip": endless,
            "/files/slow.pdf": hang,
            "/files/loop.pdf": redirect("/files/loop2.pdf"),
            "/files/loop2.pdf": redirect("/files/loop.pdf"),
            "/files/moved.pdf": redirect(f"{offsite}/scan.pdf"),
        },
    )


def serve(site: Site) -> SiteServer:
    """Start a server for `site` (use as a context manager or call .stop())."""
    return SiteServer(site).start()
