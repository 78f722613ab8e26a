"""HTML loading: portal pages with site chrome, disclosure tables, charsets and hostile markup."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.clean import clean
from extractor.errors import DocumentError
from extractor.load import load_bytes
from extractor.load.html import declared_charset, flat_text, parse_selector
from extractor.pipeline import process_bytes

FIXTURES = Path(__file__).parent / "fixtures" / "load"
CHROME = ("首页", "当前位置", "网站标识码", "ICP备", "分享到", "打印本页", "关闭窗口", "上一篇", "主办单位",
          "统计代码", "字号", "浏览次数", "索引号", "互动交流")


def _fixture(name: str, encoding: str = "utf-8") -> bytes:
    return (FIXTURES / name).read_text(encoding="utf-8").encode(encoding)


def test_trs_page_utf8_body_meta_and_bold_leads() -> None:
    loaded = load_bytes(_fixture("portal_trs.html"), "trs.html")
    assert (loaded.format, loaded.encoding, loaded.text_source) == ("html", "utf-8", "html")
    text = clean(loaded.text).text
    for token in CHROME:
        assert token not in text, token
    lines = text.splitlines()
    assert lines[0] == "青石街道办事处关于2022年度法治政府建设情况的报告"
    assert lines[1] == "区委、区政府:"
    # The source line break inside a CJK sentence is not a space; <br> is a line break.
    assert "深入学习贯彻习近平法治思想,扎实推进法治政府建设。" in lines[2]
    assert "(二)规范行政执法行为。开展执法检查43次,立案查处违法案件17件," in lines
    assert "其中适用简易程序9件。" in lines
    assert lines[-2:] == ["某某区青石街道办事处", "2023年2月15日"]
    assert loaded.page_meta == {
        "index_no": "11500226MB1C23456X/2023-00011",
        "topic": "司法",
        "publisher": "青石街道办事处",
        "written_date": "2023年2月15日",
        "title": "青石街道办事处关于2022年度法治政府建设情况的报告",
        "doc_number": "青石街办发〔2023〕5号",
        "published_date": "2023-02-20",
    }
    assert loaded.bold_leads == [
        "一、主要举措和成效",
        "（一）依法全面履行政府职能。",
        "（二）规范行政执法行为。",
        "二、存在的不足",
        "三、下一步工作打算",
    ]
    # Every bold lead is findable in the text as the start of a line.
    raw_lines = loaded.text.splitlines()
    assert all(any(line.startswith(lead) for line in raw_lines) for lead in loaded.bold_leads)


def test_hanweb_page_in_gbk_with_declared_gb2312() -> None:
    data = _fixture("portal_hanweb.html", "gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    loaded = load_bytes(data, "zoom.htm")
    assert loaded.encoding == "gb18030"
    text = clean(loaded.text).text
    for token in CHROME:
        assert token not in text, token
    assert "版权所有" not in text and "QQ空间" not in text and "您现在的位置" not in text
    assert text.splitlines() == [
        "红枫镇2021年法治政府建设年度报告",
        "县人民政府:",
        "2021年,红枫镇以法治政府建设为抓手,推进依法行政。现将有关情况报告如下:",
        "一、2021年法治政府建设主要工作",
        "(一)加强学法用法。镇党委理论学习中心组开展集体学法6次,组织干部职工参加网上学法考试,参考率100%。",
        "(二)化解矛盾纠纷。全镇共排查矛盾纠纷215件,调解成功208件,调解成功率96.7%。",
        "二、2022年工作安排",
        "继续抓好“八五”普法,全年开展法治宣传活动不少于12场次。",
        "红枫镇人民政府",
        "2022年1月26日",
    ]
    assert loaded.page_meta["index_no"] == "000014349/2022-00021"
    assert loaded.page_meta["doc_number"] == "红枫府〔2022〕8号"
    assert loaded.page_meta["title"] == "红枫镇2021年法治政府建设年度报告"
    assert loaded.bold_leads == ["红枫镇2021年法治政府建设年度报告"]


def test_http_charset_beats_a_wrong_meta_declaration() -> None:
    page = "<html><head><meta charset='utf-8'></head><body><p>镇人民政府全年受理行政复议申请12件。</p></body></html>"
    data = page.encode("gbk")
    # The meta tag lies (utf-8); the bytes are not UTF-8, the HTTP header says gbk.
    loaded = load_bytes(data, "p.html", charset="gbk")
    assert loaded.text == "镇人民政府全年受理行政复议申请12件。"
    assert declared_charset(data) == "utf-8"


def test_big5_page_decodes() -> None:
    page = "<html><body><div id='zoom'><p>本鎮2021年法治政府建設情況報告。全年辦理行政執法案件三十六件，較上年增加五件。</p></div></body></html>"
    loaded = load_bytes(page.encode("big5"), "b5.html")
    assert loaded.encoding == "big5"
    assert "法治政府建設情況報告" in loaded.text


def test_unknown_layout_falls_back_to_densest_block() -> None:
    page = """<html><body>
    <div class="l"><a href="/">首页</a> <a href="/a">机构概况</a> <a href="/b">政务公开</a> <a href="/c">办事服务</a></div>
    <div class="wrap"><div class="t">某局2022年法治政府建设年度报告</div>
      <div class="x">
        <p>2022年，我局深入推进依法行政，全年办理行政许可事项1536件。</p>
        <p>一、强化制度建设</p>
        <p>修订内部管理制度11项，开展合法性审查27件次。</p>
      </div></div>
    <div class="r"><ul><li><a href="/n1">关于做好春节期间安全生产工作的通知</a></li>
      <li><a href="/n2">关于公布2023年度部门预算的公告</a></li></ul></div>
    <div>网站标识码：1200000001 津ICP备00000000号</div>
    </body></html>"""
    loaded = load_bytes(page.encode(), "x.html")
    assert loaded.text.splitlines() == [
        "2022年，我局深入推进依法行政，全年办理行政许可事项1536件。",
        "一、强化制度建设",
        "修订内部管理制度11项，开展合法性审查27件次。",
    ]


def test_table_rows_in_body_stay_together() -> None:
    page = """<html><body><div class="article-content"><p>主要指标完成情况如下：</p>
    <table><tr><td>行政复议案件</td><td>12件</td></tr><tr><td>行政应诉案件</td><td>5件</td></tr></table>
    </div></body></html>"""
    lines = clean(load_bytes(page.encode(), "t.html").text).text.splitlines()
    assert lines == ["主要指标完成情况如下:", "行政复议案件 12件", "行政应诉案件 5件"]


def test_empty_body_with_attachment_link_warns() -> None:
    page = '<html><body><div id="zoom"><a href="/files/2022fzzf.pdf"></a></div></body></html>'
    loaded = load_bytes(page.encode(), "a.html")
    assert loaded.text == ""
    assert any("2022fzzf.pdf" in w for w in loaded.warnings)
    doc = process_bytes(page.encode(), "a.html")
    assert (doc.status, doc.message[:6]) == ("empty", "[E003]")


@pytest.mark.parametrize(
    ("selector", "parsed"),
    [
        ("#zoom", (None, "zoom", frozenset())),
        ("div.TRS_Editor", ("div", None, frozenset({"TRS_Editor"}))),
        (".a.b#c", (None, "c", frozenset({"a", "b"}))),
        ("article", ("article", None, frozenset())),
    ],
)
def test_selector_subset(selector: str, parsed: tuple[object, ...]) -> None:
    sel = parse_selector(selector)
    assert (sel.tag, sel.id, sel.classes) == parsed


@pytest.mark.parametrize("bad", ["div p", "a[href]", "", "div > p"])
def test_selector_subset_refuses_the_rest(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_selector(bad)


# --- hostile markup ---------------------------------------------------------------------------


def test_hundred_thousand_nested_divs_end_with_text() -> None:
    depth = 100_000
    page = "<html><body>" + "<div>" * depth + "<p>深层嵌套中的正文：全年办结案件8件。</p>" + "</div>" * depth + "</body></html>"
    loaded = load_bytes(page.encode(), "deep.html")
    assert loaded.text == "深层嵌套中的正文：全年办结案件8件。"
    assert any("nested too deeply" in w for w in loaded.warnings)
    assert clean(loaded.text).text == "深层嵌套中的正文:全年办结案件8件。"


def test_unclosed_deep_spans_and_comments_stay_linear() -> None:
    page = "<html><body><p>开头一段。</p>" + "<span>" * 100_000 + "<!-- 未闭合注释 " + "<div" * 1000
    loaded = load_bytes(page.encode(), "deep2.html")
    assert loaded.text == "开头一段。"


def test_entity_expansion_in_html_is_not_performed() -> None:
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    page = f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY l0 "哈">{lol}]><html><body><p>正文&l9;结束</p></body></html>'
    loaded = load_bytes(page.encode(), "lol.html")
    assert "哈哈" not in loaded.text
    assert len(loaded.text) < 100


def test_flat_text_drops_scripts_and_keeps_blocks() -> None:
    markup = "<div>甲<script>var x = '<p>乙</p>';</script></div><p>丙&amp;丁</p><br>戊"
    assert flat_text(markup) == "甲\n丙&丁\n戊"


def test_docx_named_file_that_is_html_is_read_as_html() -> None:
    page = "<html><body><div id='zoom'><p>这是一个以DOCX为扩展名保存的网页，正文内容完整保留。</p></div></body></html>"
    loaded = load_bytes(page.encode(), "report.docx")
    assert (loaded.format, loaded.text) == ("html", "这是一个以DOCX为扩展名保存的网页，正文内容完整保留。")


def test_mht_single_file_page() -> None:
    import quopri

    html = _fixture("portal_hanweb.html", "gbk")
    body = quopri.encodestring(html).decode("ascii")
    mht = (
        "MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"b1\"\r\n\r\n--b1\r\n"
        "Content-Type: text/html; charset=\"gb2312\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"{body}\r\n--b1--\r\n"
    ).encode("ascii")
    loaded = load_bytes(mht, "report.doc")
    assert loaded.format == "mht"
    assert "全镇共排查矛盾纠纷215件" in loaded.text
    assert loaded.page_meta["doc_number"] == "红枫府〔2022〕8号"


def test_html_without_body_text_is_empty_not_an_error() -> None:
    with pytest.raises(DocumentError) as err:
        load_bytes(b"", "x.html")
    assert err.value.status == "empty"
    loaded = load_bytes(b"<html><head><title>t</title></head><body></body></html>", "x.html")
    assert loaded.text == ""


def test_metadata_table_with_header_cells_without_colons() -> None:
    page = """<html><body><table class="xxgk"><tr><th>索引号</th><td>11330100MB0000000A/2023-001</td>
    <th>发布机构</th><td>某市司法局</td></tr><tr><th>成文日期</th><td>2023-03-01</td><th>发布日期</th><td>2023-03-02</td></tr>
    </table><div class="article_content"><p>某市司法局2022年法治政府建设年度报告正文第一段，全年审查规范性文件43件。</p></div>
    </body></html>"""
    loaded = load_bytes(page.encode(), "m.html")
    assert loaded.page_meta == {
        "index_no": "11330100MB0000000A/2023-001",
        "publisher": "某市司法局",
        "written_date": "2023-03-01",
        "published_date": "2023-03-02",
    }
    assert loaded.text == "某市司法局2022年法治政府建设年度报告正文第一段，全年审查规范性文件43件。"


def test_shipped_rules_validate_and_bad_selectors_are_refused() -> None:
    import json

    import jsonschema

    from extractor.rules import RULES_DIR, load_rules

    data = load_rules("html_chrome")
    assert [parse_selector(s) for s in data["body_selectors"]]
    schema = json.loads((RULES_DIR / "html_chrome.schema.json").read_text(encoding="utf-8"))
    broken = dict(data, body_selectors=["div.content p"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    unknown_key = dict(data, meta_labels={"索引号": "index_number"})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(unknown_key, schema)


@pytest.mark.parametrize(
    ("head", "h1", "title"),
    [
        ("某区司法局2022年法治政府建设年度报告_某区人民政府", "", "某区司法局2022年法治政府建设年度报告"),
        ("某市人民政府门户网站 - 某县2023年法治政府建设情况报告", "某县2023年法治政府建设情况报告",
         "某县2023年法治政府建设情况报告"),
        ("首页", "", None),
    ],
)
def test_page_title_from_title_tag(head: str, h1: str, title: str | None) -> None:
    page = (f"<html><head><title>{head}</title></head><body><h1>{h1}</h1>"
            "<div id='zoom'><p>全年办理行政复议案件12件，行政应诉案件5件，败诉率为零。</p></div></body></html>")
    assert load_bytes(page.encode(), "t.html").page_meta.get("title") == title


def test_generic_selector_on_a_side_box_yields_to_the_article() -> None:
    paras = "".join(f"<p>第{i}段：全年办理行政复议案件{i + 10}件，行政应诉案件{i}件，复议纠错率保持稳定。</p>" for i in range(8))
    page = (
        "<html><body><div class='content'><p>热点专题：法治政府建设示范创建工作动态，欢迎关注。</p></div>"
        f"<div class='mainbox'><div class='txt'>{paras}</div></div></body></html>"
    )
    lines = load_bytes(page.encode(), "side.html").text.splitlines()
    assert len(lines) == 8 and lines[0].startswith("第0段")
