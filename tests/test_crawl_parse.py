"""Crawl building blocks without a network: profiles, URLs, title filter, list/pagination/article reading."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from extractor import __version__
from extractor.collect import load_profile, overrides_from_args
from extractor.collect import parse as P
from extractor.collect.crawler import extension_for
from extractor.collect.fetch import retry_after_seconds, user_agent
from extractor.collect.profile import profile_names
from extractor.collect.urls import absolute, allowed, folder_name, is_public_ip, normalize
from extractor.errors import RulesError

# ---------------------------------------------------------------------------------------------
# Profiles


def test_shipped_profiles_validate() -> None:
    assert {"trs", "hanweb", "generic"} <= set(profile_names())
    for name in profile_names():
        profile = load_profile(name)
        assert profile["politeness"]["delay"] == 1.0 and profile["politeness"]["concurrency"] == 1
        assert profile["allow_private"] is False


def test_profile_extends_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "name: my-site\nextends: trs\nstart_urls: ['https://www.example.gov.cn/fzzfjs/']\n"
        "lists: {items: ['.my-list li']}\n",
        encoding="utf-8",
    )
    profile = load_profile(path, {"politeness": {"delay": 2.5}})
    assert profile["name"] == "my-site"
    assert profile["lists"]["items"] == [".my-list li"]
    assert profile["lists"]["date"] == "span"  # kept from trs
    assert profile["pagination"]["trs_script"] is True
    assert profile["politeness"]["delay"] == 2.5 and profile["politeness"]["retries"] == 3


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("name: x\nlists: {itemz: ['li']}\n", "lists"),
        ("name: x\npoliteness: {delay: -1}\n", "politeness/delay"),
        ("name: x\nstart_urls: ['ftp://example.gov.cn/']\n", "start_urls/0"),
        ("name: x\nattachments: {extensions: ['../pdf']}\n", "attachments/extensions/0"),
    ],
)
def test_bad_profiles_are_refused_with_the_place(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError, match=where):
        load_profile(path)


def test_profile_that_extends_itself(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("name: loop\nextends: loop.yaml\n", encoding="utf-8")
    with pytest.raises(RulesError, match="extends itself"):
        load_profile(path)


@pytest.mark.parametrize(
    ("years", "expected"),
    [
        ("2021", {"from": 2021, "to": 2021}),
        ("2019-2023", {"from": 2019, "to": 2023}),
        ("2020-", {"from": 2020, "to": None}),
        ("-2020", {"from": None, "to": 2020}),
    ],
)
def test_years_option(years: str, expected: dict[str, int | None]) -> None:
    import argparse

    args = argparse.Namespace(start_url=None, delay=None, contact=None, max_pages=None, years=years)
    assert overrides_from_args(args)["filter"]["years"] == expected


# ---------------------------------------------------------------------------------------------
# URLs and the allowlist


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.GOV.cn:80/a/b.html#top", "http://www.example.gov.cn/a/b.html"),
        ("https://example.gov.cn:443", "https://example.gov.cn/"),
        ("http://127.0.0.1:8080/x?b=2&a=1", "http://127.0.0.1:8080/x?b=2&a=1"),
    ],
)
def test_normalize(url: str, expected: str) -> None:
    assert normalize(url) == expected


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("./202203/t20220317_123.html", "http://gov.example/fzzfjs/202203/t20220317_123.html"),
        ("../xxgk/", "http://gov.example/xxgk/"),
        ("javascript:void(0)", None),
        ("mailto:a@b.c", None),
        ("#top", None),
        ("ftp://gov.example/a.pdf", None),
        ("", None),
        ("http://[::1:80/", None),
    ],
)
def test_absolute(href: str, expected: str | None) -> None:
    assert absolute("http://gov.example/fzzfjs/index.html", href) == expected


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://www.hz.gov.cn/a.html", True),  # subdomain of an allowed domain
        ("https://hz.gov.cn/a.html", True),
        ("http://hz.gov.cn:8080/a.html", False),  # a bare domain admits the default ports only
        ("http://evilhz.gov.cn/a.html", False),
        ("http://127.0.0.1:8123/a", True),
        ("http://127.0.0.1:8124/a", False),  # another loopback port is another site
        ("http://example.invalid/", False),
        ("ftp://hz.gov.cn/", False),
    ],
)
def test_allowlist(url: str, ok: bool) -> None:
    assert allowed(url, ["hz.gov.cn", "127.0.0.1:8123"]) is ok


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("172.20.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_ip(address) is public


def test_folder_name_has_no_separators() -> None:
    assert folder_name("http://127.0.0.1:8123/a") == "127.0.0.1_8123"
    assert folder_name("https://www.gov.cn/a") == "www.gov.cn"


# ---------------------------------------------------------------------------------------------
# HTTP details


def test_user_agent_names_the_crawler_and_the_contact() -> None:
    assert user_agent("lab@uni.example") == f"extractor/{__version__} (+lab@uni.example)"
    assert user_agent(None).startswith(f"extractor/{__version__} (+http")


def test_retry_after_seconds_and_http_date() -> None:
    now = time.time()
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(" 0 ") == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    import email.utils

    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= (retry_after_seconds(date, now) or 0) <= 31
    assert retry_after_seconds(email.utils.formatdate(now - 60, usegmt=True), now) == 0.0


@pytest.mark.parametrize(
    ("content_type", "url", "expected"),
    [
        ("application/pdf", "http://x/a", ".pdf"),
        ("application/octet-stream", "http://x/module/download/downfile.jsp?filename=a.pdf", ".pdf"),
        ("application/msword", "http://x/P0123.wps", ".wps"),  # WPS files are served as msword
        ("text/html; charset=gbk", "http://x/a.pdf", ".html"),  # an error page where a file was expected
        ("application/octet-stream", "http://x/download.do?file=../../etc/passwd", ".bin"),
        (None, "http://x/t20220317_1.html", ".html"),
    ],
)
def test_extension_for(content_type: str | None, url: str, expected: str) -> None:
    assert extension_for(content_type, url, ["pdf", "doc", "docx", "wps", "ofd", "zip"]) == expected


# ---------------------------------------------------------------------------------------------
# Titles and dates

REPORTS = P.TitleFilter(all_of=(("法治政府建设",), ("报告", "总结")), none_of=("通知", "解读"))


@pytest.mark.parametrize(
    ("title", "verdict"),
    [
        ("某区人民政府关于2021年度法治政府建设情况的报告", "yes"),
        ("某街道2020年法治政府建设工作总结", "yes"),
        ("中共某区委 某区人民政府关于 2022 年法治政府建设情况的报告", "yes"),
        ("某镇法治政府建设年度报告（2023年）", "yes"),
        ("关于印发《2022年法治政府建设工作要点》的通知", "no"),
        ("关于报送2021年度法治政府建设情况报告的通知", "no"),
        ("《2021年法治政府建设年度报告》解读", "no"),
        ("某区2021年政府信息公开工作年度报告", "no"),
        ("某街道办事处关于2020年度法治政府建设情况的...", "maybe"),  # cut by the list
        ("关于开展法治政府建设示范创建活动的…", "maybe"),
        ("某区2021年政府工作报告...", "no"),
        ("", "no"),
    ],
)
def test_title_filter(title: str, verdict: str) -> None:
    assert REPORTS.verdict(title) == verdict


def test_title_filter_years() -> None:
    recent = P.TitleFilter(all_of=(("法治政府建设",), ("报告",)), year_from=2020, year_to=2021)
    assert recent.verdict("某区关于2021年法治政府建设情况的报告") == "yes"
    assert recent.verdict("某区关于2019年法治政府建设情况的报告") == "no"
    assert recent.verdict("某区法治政府建设年度报告") == "yes"  # no year in the title: cannot tell


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("2022-01-14", "2022-01-14"),
        ("[2022/1/4]", "2022-01-04"),
        ("发布时间：2022年3月7日 09:30", "2022-03-07"),
        ("2022.03.17", "2022-03-17"),
        ("2022-13-01", None),
        ("浏览次数：20220", None),
    ],
)
def test_parse_date(text: str, date: str | None) -> None:
    assert P.parse_date(text) == date


# ---------------------------------------------------------------------------------------------
# Pages

LISTS = {"items": ["ul.list li"], "link": "a", "date": "span", "title_attribute": "title"}
EXTS = ["pdf", "doc", "docx"]


def test_decode_gbk_page_declared_gb2312() -> None:
    # 「镕」 is in GBK but not in GB2312: portals declare gb2312 and send GBK.
    html = '<html><head><meta charset="gb2312"></head><body>朱镕街道法治政府建设</body></html>'
    assert "朱镕街道" in P.decode_html(html.encode("gbk"))
    assert "朱镕街道" in P.decode_html(html.encode("gbk"), "text/html; charset=GBK")
    assert P.decode_html("<p>法治</p>".encode()) == "<p>法治</p>"
    xml = '<?xml version="1.0" encoding="GBK"?><datastore>法治</datastore>'.encode("gbk")
    assert "法治" in P.decode_html(xml)


def test_list_links_title_attribute_date_and_files() -> None:
    soup = P.soup_of("""<ul class="list">
      <li><a href="./202203/t1.html" title="某区人民政府关于2021年度法治政府建设情况的报告">某区人民政府关于2021年度...</a>
          <span>2022-03-17</span></li>
      <li><a href="/files/r.pdf">2020年法治政府建设年度报告</a><span>[2021/3/1]</span></li>
      <li>no link</li></ul><ul><li><a href="/nav.html">首页</a></li></ul>""")
    links = P.list_links(soup, "http://g.example/fzzfjs/index.html", LISTS, EXTS)
    assert links == [
        P.Link(
            "http://g.example/fzzfjs/202203/t1.html",
            "某区人民政府关于2021年度法治政府建设情况的报告",
            "2022-03-17",
        ),
        P.Link("http://g.example/files/r.pdf", "2020年法治政府建设年度报告", "2021-03-01", True),
    ]


def test_record_links_from_hanweb_cdata() -> None:
    raw = (
        '<datastore><recordset><record><![CDATA[<li><a href="/art/2022/1/14/art_123_456.html">'
        "某镇2021年法治政府建设年度报告</a><span>2022-01-14</span></li>]]></record></recordset></datastore>"
    )
    links = P.record_links(raw, "http://g.example/col/col123/index.html", {**LISTS, "items": ["li"]}, EXTS)
    assert links == [
        P.Link(
            "http://g.example/art/2022/1/14/art_123_456.html", "某镇2021年法治政府建设年度报告", "2022-01-14"
        )
    ]


@pytest.mark.parametrize(
    ("script", "pages"),
    [
        ('createPageHTML(3, 0, "index", "html");', ["index.html", "index_1.html", "index_2.html"]),
        (
            "var countPage = 2//共多少页\ncreatePageHTML(countPage, currentPage, 'index', 'shtml');",
            ["index.shtml", "index_1.shtml"],
        ),
        ("createPageHTML('page_div', 2, 1, 'list', 'html', 30);", ["list.html", "list_1.html"]),
        ("function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt) {}", []),
        ('createPageHTML(1, 0, "index", "html");', ["index.html"]),
        ('createPageHTML(3, 0, "../../etc/x", "html");', []),
    ],
)
def test_trs_script_pages(script: str, pages: list[str]) -> None:
    found = P.trs_pages(f"<script>{script}</script>", "http://g.example/fzzfjs/index_1.html")
    assert [p.url.rsplit("/", 1)[1] for p in found] == pages
    assert [p.page_no for p in found] == list(range(len(pages)))


def test_dataproxy_pages_from_column_and_from_answer() -> None:
    page = """<div id="4399"><script type="text/xml"><datastore><nextgroup><![CDATA[<a href="/module/web/jpage/
dataproxy.jsp?page=1&webid=1&path=/&columnid=123&unitid=4399&permissiontype=0"></a>]]></nextgroup></datastore></script></div>
<script>$('#4399').jpage({ perPage: 15, totalRecord: 50, proxyUrl: '/module/web/jpage/dataproxy.jsp' });</script>"""
    spec = {"proxy_url": "/module/web/jpage/dataproxy.jsp", "group": 3}
    pages = P.dataproxy_pages(page, "http://g.example/col/col123/index.html", spec, 100)
    assert [p.url for p in pages] == [
        "http://g.example/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=45&perpage=15&col=1&webid=1"
        "&path=/&columnid=123&unitid=4399&permissiontype=0",
        "http://g.example/module/web/jpage/dataproxy.jsp?startrecord=46&endrecord=50&perpage=15&col=1&webid=1"
        "&path=/&columnid=123&unitid=4399&permissiontype=0",
    ]
    # Without a total on the page, only the first group; its answer gives the total and the rest.
    first = P.dataproxy_pages(
        page.replace("totalRecord: 50", ""), "http://g.example/col/col123/index.html", spec, 100
    )
    assert len(first) == 1 and "endrecord=45" in first[0].url
    answer = "<datastore><totalrecord>100</totalrecord><recordset></recordset></datastore>"
    rest = P.dataproxy_pages(answer, first[0].url, spec, 100)
    assert [p.url.split("?")[1].split("&perpage")[0] for p in rest] == [
        "startrecord=1&endrecord=45",
        "startrecord=46&endrecord=90",
        "startrecord=91&endrecord=100",
    ]
    assert P.dataproxy_pages("<html>no widget</html>", "http://g.example/a.html", spec, 100) == []


def test_dataproxy_post_split() -> None:
    url = "http://g.example/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=45&perpage=15&col=1&webid=1&path=/&columnid=123"
    assert P.dataproxy_post(url) == (
        "http://g.example/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=45&perpage=15",
        {"col": "1", "webid": "1", "path": "/", "columnid": "123"},
    )


def test_next_and_numbered_links() -> None:
    soup = P.soup_of("""<div class="page"><a href="index.html">首页</a><a href="index_1.html">2</a>
        <a href="index_2.html">3</a><a href="index_1.html">下一页</a><a href="../other/index_3.html">x</a>
        <a href="/fzzfjs/sub/index_4.html">y</a></div>""")
    base = "http://g.example/fzzfjs/index.html"
    pagination = {"next_text": ["下一页"]}
    assert P.next_links(soup, base, pagination, 0) == [P.PageLink("http://g.example/fzzfjs/index_1.html", 1)]
    numbered = P.numbered_links(soup, base, r"(?:^|/)index(?:_\d+)?\.s?html?$")
    assert sorted((p.url.rsplit("/", 1)[1], p.page_no) for p in numbered) == [
        ("index_1.html", 1),
        ("index_2.html", 2),
    ]


def test_follow_links_by_text_and_href() -> None:
    soup = P.soup_of("""<a href="/xxgk/">政府信息公开</a><a href="/news/">新闻动态</a>
        <a href="/col/fzzfjsndbg/">年度报告专栏</a><a href="/zwgk/fzzfjs/">专栏</a>""")
    follow = {"text": ["信息公开"], "href": ["fzzfjs"]}
    urls = [link.url for link in P.follow_links(soup, "http://g.example/", follow)]
    assert urls == [
        "http://g.example/xxgk/",
        "http://g.example/col/fzzfjsndbg/",
        "http://g.example/zwgk/fzzfjs/",
    ]


def test_read_article_meta_and_attachments() -> None:
    soup = P.soup_of("""<html><head><title>某镇2021年法治政府建设年度报告_某镇人民政府</title>
      <meta name="PubDate" content="2022-01-14 10:00"></head><body>
      <div class="nav"><a href="/guide.pdf">办事指南.pdf</a></div>
      <table><tr><td>索引号：</td><td>003312345/2022-00456</td><td>发布机构：</td><td>某镇人民政府</td></tr>
             <tr><td>发文字号：</td><td>某政〔2022〕3号</td><td>成文日期：</td><td>2022年1月10日</td></tr></table>
      <div id="zoom"><p>正文</p><p><a href="/module/download/downfile.jsp?classid=0&filename=1.pdf">报告全文</a></p></div>
      <div class="fj">附件：<a href="P0202201.docx">附表.docx</a> <a href="/art/2022/1/1/art_1_2.html">附件2：说明</a></div>
      </body></html>""")
    article = P.read_article(
        soup,
        "http://g.example/art/2022/1/14/art_123_456.html",
        {"title": ["h1", "title"], "body": ["#zoom"]},
        {"extensions": ["pdf", "docx"], "text": ["附件"]},
    )
    assert article.title == "某镇2021年法治政府建设年度报告"
    assert article.meta == {
        "index_no": "003312345/2022-00456",
        "publisher": "某镇人民政府",
        "doc_number": "某政〔2022〕3号",
        "written_date": "2022-01-10",
        "published_date": "2022-01-14",
    }
    assert [a.url.rsplit("/", 1)[1] for a in article.attachments] == [
        "downfile.jsp?classid=0&filename=1.pdf",
        "P0202201.docx",
        "art_1_2.html",
    ]


def test_inline_meta_labels() -> None:
    soup = P.soup_of("<div>索引号：11330000/2023-1 发文字号：某办〔2023〕2号 发布日期：2023-02-01</div>")
    assert P.disclosure_meta(soup) == {
        "index_no": "11330000/2023-1",
        "doc_number": "某办〔2023〕2号",
        "published_date": "2023-02-01",
    }
