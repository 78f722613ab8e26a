"""DOCX loading on documents made with python-docx, and on generated zip bombs and entity bombs."""

from __future__ import annotations

import io
import zipfile

import pytest

from extractor.clean import clean
from extractor.errors import DocumentError
from extractor.load import Limits, load_bytes
from extractor.load.docx import chinese_numeral, format_number


def _save(document: object) -> bytes:
    buf = io.BytesIO()
    document.save(buf)  # type: ignore[attr-defined]
    return buf.getvalue()


def _report() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("白沙镇2022年法治政府建设情况报告", style="Title")
    d.add_paragraph("县委、县政府：")
    d.add_paragraph("2022年，白沙镇坚持以习近平法治思想为指导，现将有关情况报告如下：")
    d.add_heading("一、主要工作", level=1)
    p = d.add_paragraph()
    p.add_run("（一）强化学法用法。").bold = True
    p.add_run("全年组织集体学法9次，参学干部320人次。")
    d.add_paragraph("主要指标见下表：")
    table = d.add_table(rows=3, cols=3)
    rows = [("指标", "2021年", "2022年"), ("行政复议案件（件）", "12", "15"), ("行政诉讼案件（件）", "3", "2")]
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    d.add_paragraph("（二）化解矛盾纠纷。全年调解纠纷128件。")
    d.add_paragraph("特此报告。")
    return _save(d)


def test_docx_paragraphs_and_table_in_document_order() -> None:
    loaded = load_bytes(_report(), "report.docx")
    assert (loaded.format, loaded.text_source) == ("docx", "docx")
    assert clean(loaded.text).text.splitlines() == [
        "白沙镇2022年法治政府建设情况报告",
        "县委、县政府:",
        "2022年,白沙镇坚持以习近平法治思想为指导,现将有关情况报告如下:",
        "一、主要工作",
        "(一)强化学法用法。全年组织集体学法9次,参学干部320人次。",
        "主要指标见下表:",
        "指标 2021年 2022年",
        "行政复议案件(件) 12 15",
        "行政诉讼案件(件) 3 2",
        "(二)化解矛盾纠纷。全年调解纠纷128件。",
        "特此报告。",
    ]
    assert loaded.bold_leads == ["白沙镇2022年法治政府建设情况报告", "一、主要工作", "（一）强化学法用法。"]


def test_merged_cells_are_not_repeated() -> None:
    import docx

    d = docx.Document()
    table = d.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(1, 0)).text = "执法检查"
    table.cell(0, 1).text, table.cell(0, 2).text = "次数", "43"
    table.cell(1, 1).text, table.cell(1, 2).text = "立案", "17"
    text = load_bytes(_save(d), "t.docx").text
    assert text.splitlines() == ["执法检查\t次数\t43", "立案\t17"]


def test_one_cell_layout_table_keeps_its_paragraphs() -> None:
    import docx

    d = docx.Document()
    cell = d.add_table(rows=1, cols=1).cell(0, 0)
    cell.text = "一、基本情况"
    cell.add_paragraph("全年办理行政许可事项1536件。")
    assert load_bytes(_save(d), "box.docx").text.splitlines() == ["一、基本情况", "全年办理行政许可事项1536件。"]


_CHINESE_LIST = """<w:abstractNum xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" w:abstractNumId="90">
  <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/></w:lvl>
  <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%2）"/></w:lvl>
  <w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%3."/></w:lvl>
</w:abstractNum>"""
_NUM = """<w:num xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" w:numId="90">
  <w:abstractNumId w:val="90"/></w:num>"""


def test_automatic_list_numbers_are_written_out() -> None:
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn

    d = docx.Document()
    numbering = d.part.numbering_part.element
    # abstractNum elements must precede num elements in numbering.xml.
    first_num = numbering.find(qn("w:num"))
    first_num.addprevious(parse_xml(_CHINESE_LIST))
    numbering.append(parse_xml(_NUM))
    items = [(0, "主要工作"), (1, "依法履职"), (2, "清理权责事项"), (2, "规范行政审批"), (1, "严格执法"),
             (0, "存在问题"), (1, "宣传不够")]
    for level, text in items:
        p = d.add_paragraph(text)
        num_pr = parse_xml(
            '<w:numPr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f'<w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>'
        )
        p._p.get_or_add_pPr().append(num_pr)
    assert load_bytes(_save(d), "n.docx").text.splitlines() == [
        "一、主要工作", "（一）依法履职", "1.清理权责事项", "2.规范行政审批", "（二）严格执法", "二、存在问题", "（一）宣传不够",
    ]


@pytest.mark.parametrize(
    ("n", "fmt", "label"),
    [(1, "chineseCounting", "一"), (10, "chineseCounting", "十"), (12, "chineseCountingThousand", "十二"),
     (20, "chineseCounting", "二十"), (105, "chineseCounting", "一百零五"), (3, "ideographTraditional", "丙"),
     (2, "decimalEnclosedCircleChinese", "②"), (4, "upperRoman", "IV"), (28, "lowerLetter", "bb"),
     (7, "decimalFullWidth", "７"), (7, "decimal", "7")],
)
def test_number_formats(n: int, fmt: str, label: str) -> None:
    assert format_number(n, fmt) == label


def test_chinese_numerals_up_to_999() -> None:
    assert [chinese_numeral(n) for n in (11, 99, 100, 110, 119, 999)] == ["十一", "九十九", "一百", "一百一十", "一百一十九", "九百九十九"]


# --- hostile packages -------------------------------------------------------------------------


def _with_member(data: bytes, name: str, payload: bytes | None = None, writer: object = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info.filename))
        if payload is not None:
            dst.writestr(name, payload)
        elif writer is not None:
            with dst.open(name, "w") as fh:
                writer(fh)  # type: ignore[operator]
    return out.getvalue()


def test_zip_bomb_member_is_refused_before_reading() -> None:
    chunk = b"\0" * (1 << 20)

    def zeros(fh: object) -> None:
        for _ in range(64):
            fh.write(chunk)  # type: ignore[attr-defined]

    bomb = _with_member(_report(), "word/media/image1.png", writer=zeros)
    assert len(bomb) < 1_000_000  # 64 MB of zeros squeezed into well under 1 MB
    with pytest.raises(DocumentError) as err:
        load_bytes(bomb, "bomb.docx")
    assert (err.value.code, err.value.status) == ("E011", "too_large")
    assert "word/media/image1.png" in err.value.message


def test_package_over_the_unzipped_limit_is_refused() -> None:
    import os

    data = _with_member(_report(), "word/media/image2.bin", payload=os.urandom(300_000))
    with pytest.raises(DocumentError) as err:
        load_bytes(data, "big.docx", Limits(max_unzipped=200_000))
    assert err.value.code == "E011"
    assert load_bytes(data, "big.docx").text.startswith("白沙镇")


def test_billion_laughs_in_document_xml_is_refused() -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    with zipfile.ZipFile(io.BytesIO(_report())) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
    decl_end = xml.index("?>") + 2
    root_start = xml.index("<w:document")
    evil = xml[:decl_end] + f'<!DOCTYPE w:document [<!ENTITY lol0 "lol">{lol}]>' + xml[root_start:]
    evil = evil.replace("特此报告。", "&lol9;")
    with pytest.raises(DocumentError) as err:
        load_bytes(_with_member(_report(), "word/document.xml", payload=evil.encode()), "lol.docx")
    assert (err.value.code, err.value.status) == ("E005", "corrupt")
    assert "DTD" in err.value.message


def test_external_entity_is_refused() -> None:
    with zipfile.ZipFile(io.BytesIO(_report())) as zf:
        rels = zf.read("word/_rels/document.xml.rels").decode("utf-8")
    decl_end = rels.index("?>") + 2
    evil = rels[:decl_end] + '<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/steal">]>' + rels[decl_end:]
    with pytest.raises(DocumentError) as err:
        load_bytes(_with_member(_report(), "word/_rels/document.xml.rels", payload=evil.encode()), "xxe.docx")
    assert err.value.code == "E005"


def test_truncated_docx_is_corrupt() -> None:
    data = _report()
    with pytest.raises(DocumentError) as err:
        load_bytes(data[: len(data) // 2], "cut.docx")
    assert (err.value.code, err.value.status) == ("E005", "corrupt")


def test_bold_from_a_character_style_makes_a_bold_lead() -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    d = docx.Document()
    strong = d.styles.add_style("要点加粗", WD_STYLE_TYPE.CHARACTER)
    strong.font.bold = True
    p = d.add_paragraph()
    p.add_run("（三）健全依法决策机制。", style="要点加粗")
    p.add_run("全年审查重大行政决策事项6项。")
    plain = d.add_paragraph()
    plain.add_run("一是开展合法性审查；")
    plain.add_run("二是落实专家论证。")
    loaded = load_bytes(_save(d), "s.docx")
    assert loaded.bold_leads == ["（三）健全依法决策机制。"]


def test_lists_sharing_a_definition_continue_and_restarted_lists_restart() -> None:
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn

    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    d = docx.Document()
    numbering = d.part.numbering_part.element
    numbering.find(qn("w:num")).addprevious(parse_xml(_CHINESE_LIST))
    numbering.append(parse_xml(f'<w:num {ns} w:numId="91"><w:abstractNumId w:val="90"/></w:num>'))
    numbering.append(parse_xml(f'<w:num {ns} w:numId="92"><w:abstractNumId w:val="90"/></w:num>'))
    numbering.append(parse_xml(
        f'<w:num {ns} w:numId="93"><w:abstractNumId w:val="90"/>'
        '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
    ))
    for num_id, text in [("91", "甲"), ("92", "乙"), ("93", "丙"), ("93", "丁")]:
        p = d.add_paragraph(text)
        p._p.get_or_add_pPr().append(
            parse_xml(f'<w:numPr {ns}><w:ilvl w:val="0"/><w:numId w:val="{num_id}"/></w:numPr>')
        )
    assert load_bytes(_save(d), "l.docx").text.splitlines() == ["一、甲", "二、乙", "一、丙", "二、丁"]


def test_page_break_inside_a_paragraph_keeps_it_whole() -> None:
    import docx
    from docx.enum.text import WD_BREAK

    d = docx.Document()
    p = d.add_paragraph()
    p.add_run("全年办理行政复议案件")
    p.add_run().add_break(WD_BREAK.PAGE)
    p.add_run("12件。")
    q = d.add_paragraph()
    q.add_run("第一行")
    q.add_run().add_break(WD_BREAK.LINE)
    q.add_run("第二行")
    assert load_bytes(_save(d), "b.docx").text.splitlines() == ["全年办理行政复议案件12件。", "第一行", "第二行"]
