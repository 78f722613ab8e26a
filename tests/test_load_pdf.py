"""PDF loading on PDFs the tests draw with reportlab's built-in CJK font, and on hostile PDFs."""

from __future__ import annotations

import difflib
import importlib.machinery
import io
import re
import sys
import types
import zipfile
from collections.abc import Callable

import pytest

from extractor.clean import clean
from extractor.errors import DocumentError
from extractor.load import Limits, load_bytes
from extractor.load.pdf import Line, PageLines, _looks_doubled, load_pdf, rebuild_text

FONT = "STSong-Light"
HEADER = "昌元街道2021年法治政府建设情况报告"
# (text, align): "title" centred and large, "left" flush, "right" right-aligned, "para" indented.
Block = tuple[str, str]


@pytest.fixture(scope="module")
def canvas_mod() -> types.ModuleType:
    """reportlab's canvas with the CJK font registered."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return canvas


def _width(text: str, size: float) -> float:
    from reportlab.pdfbase import pdfmetrics

    return pdfmetrics.stringWidth(text, FONT, size)


def wrap(text: str, width: float, size: float, indent: float) -> list[str]:
    """Break a paragraph char by char at the text width, as CJK typesetting does."""
    lines: list[str] = []
    cur = ""
    avail = width - indent
    for ch in text:
        if cur and _width(cur + ch, size) > avail:
            lines.append(cur)
            cur, avail = ch, width
        else:
            cur += ch
    if cur:
        lines.append(cur)
    return lines


def render(
    canvas_mod: types.ModuleType,
    blocks: list[Block],
    header: str = "",
    size: float = 12,
    page_number: Callable[[int], str] = lambda n: f"— {n} —",
    overprint_headings: bool = False,
) -> bytes:
    """Draw blocks on A4 pages with a running header, page numbers, 2-em first-line indents."""
    from reportlab.lib.pagesizes import A4

    buf = io.BytesIO()
    c = canvas_mod.Canvas(buf, pagesize=A4)
    width_page, height = A4
    left, right = 72.0, width_page - 72.0
    width = right - left
    state = {"page": 1, "y": 0.0}

    def start_page() -> None:
        c.setFont(FONT, 9)
        if header:
            c.drawCentredString(width_page / 2, height - 40, header)
        c.drawCentredString(width_page / 2, 40, page_number(state["page"]))
        state["y"] = height - 80

    def need(room: float) -> None:
        if state["y"] - room < 80:
            c.showPage()
            state["page"] += 1
            start_page()

    def draw(x: float, text: str, font_size: float, twice: bool) -> None:
        c.setFont(FONT, font_size)
        c.drawString(x, state["y"], text)
        if twice:  # fake bold: the same glyphs again, on top
            c.drawString(x, state["y"], text)

    start_page()
    for text, align in blocks:
        if align == "title":
            need(16 * 1.8)
            draw(width_page / 2 - _width(text, 16) / 2, text, 16, overprint_headings)
            state["y"] -= 16 * 1.8
            continue
        if align == "right":
            need(size * 1.6)
            draw(right - _width(text, size), text, size, False)
            state["y"] -= size * 1.6
            continue
        indent = 0.0 if align == "left" else 2 * size
        heading = re.match(r"^([一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）])", text) is not None
        for j, line in enumerate(wrap(text, width, size, indent)):
            need(size * 1.6)
            draw(left + (indent if j == 0 else 0), line, size, overprint_headings and heading)
            state["y"] -= size * 1.6
    c.showPage()
    c.save()
    return buf.getvalue()


def seed_blocks(cleaned_seed: str) -> list[Block]:
    """The cleaned seed report as blocks: title lines, addressee, paragraphs, signature."""
    lines = cleaned_seed.splitlines()
    blocks: list[Block] = [(ln, "title") for ln in lines[:3]]
    blocks.append((lines[3], "left"))
    close = lines.index("特此报告")
    blocks += [(ln, "para") for ln in lines[4 : close + 1]]
    blocks += [(ln, "right") for ln in lines[close + 1 : close + 4]]
    blocks += [(ln, "para") for ln in lines[close + 4 :]]
    return blocks


def _dense(text: str) -> str:
    return re.sub(r"\s", "", text)


def fidelity(loaded_text: str, source: str) -> float:
    """difflib ratio between cleaned loader output and the cleaned source, whitespace ignored."""
    return difflib.SequenceMatcher(None, _dense(clean(loaded_text).text), _dense(source), autojunk=False).ratio()


@pytest.fixture(scope="module")
def cleaned_seed(seed_text: str) -> str:
    return clean(seed_text).text


@pytest.fixture(scope="module")
def seed_pdf(canvas_mod: types.ModuleType, cleaned_seed: str) -> bytes:
    return render(canvas_mod, seed_blocks(cleaned_seed), header=HEADER)


# --- the seed report rendered to PDF ----------------------------------------------------------


def test_seed_pdf_is_multi_page_with_furniture(seed_pdf: bytes) -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(seed_pdf)
    raw = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    assert len(raw) >= 4
    # The raw text layer holds what the loader must remove.
    assert all(HEADER in page for page in raw)
    assert "— 2 —" in raw[1]


@pytest.mark.parametrize("engine", ["pdfium", "pdfplumber"])
def test_seed_pdf_text_matches_source(seed_pdf: bytes, cleaned_seed: str, engine: str) -> None:
    loaded = load_pdf(seed_pdf, Limits(), engine)  # type: ignore[arg-type]
    assert loaded.text_source == engine
    assert loaded.pages and loaded.pages >= 4
    assert fidelity(loaded.text, cleaned_seed) >= 0.99
    text = clean(loaded.text).text
    assert HEADER not in text
    assert not re.search(r"—\s*\d+\s*—", text)
    # Paragraphs are rebuilt, headings stay on their own lines.
    lines = text.splitlines()
    for heading in ("一、学习宣传习近平法治思想和中央全面依法治国工作会议精神情况", "(三)解决问题情况。", "四、2022年工作打算"):
        assert heading in lines
    matcher = difflib.SequenceMatcher(None, lines, cleaned_seed.splitlines(), autojunk=False)
    assert matcher.ratio() >= 0.95


def test_fast_path_fidelity_not_below_pdfplumber(
    seed_pdf: bytes, cleaned_seed: str, canvas_mod: types.ModuleType
) -> None:
    # The variants use the first part of the report: the pdfplumber path is the slow one.
    part = "\n".join(cleaned_seed.splitlines()[:16])
    fixtures = {
        "seed": (seed_pdf, cleaned_seed),
        "bold-headings": (render(canvas_mod, seed_blocks_head(part), header=HEADER, overprint_headings=True), part),
        "page-x-of-y": (render(canvas_mod, seed_blocks_head(part), page_number=lambda n: f"第{n}页 共9页"), part),
        "dash-page-numbers": (render(canvas_mod, seed_blocks_head(part), page_number=lambda n: f"-{n}-"), part),
    }
    for name, (data, source) in fixtures.items():
        fast = load_pdf(data, Limits(), "pdfium")
        slow = load_pdf(data, Limits(), "pdfplumber")
        assert fast.text_source == "pdfium" and slow.text_source == "pdfplumber"
        assert fidelity(fast.text, source) >= fidelity(slow.text, source), name
        assert fidelity(fast.text, source) >= 0.99, name


def seed_blocks_head(part: str) -> list[Block]:
    """The opening of the seed report as blocks (title, addressee, paragraphs)."""
    lines = part.splitlines()
    return [(ln, "title") for ln in lines[:3]] + [(lines[3], "left")] + [(ln, "para") for ln in lines[4:]]


def test_auto_engine_uses_pdfium_for_a_clean_text_layer(seed_pdf: bytes) -> None:
    loaded = load_bytes(seed_pdf, "report.pdf")
    assert (loaded.format, loaded.text_source) == ("pdf", "pdfium")


# --- wraps, headings, fake bold -----------------------------------------------------------------


def _cut_inside_number(prefix_pool: str, number_text: str, width: float, size: float) -> str:
    """Find a lead-in so that the char-level wrap falls right after the first digit of the number."""
    for n in range(len(prefix_pool)):
        text = prefix_pool[:n] + number_text
        first = wrap(text, width, size, 2 * size)[0]
        if first.endswith(number_text[: number_text.index("1") + 1]) and first.endswith("1"):
            return text
    raise AssertionError("no cut found")


def test_number_cut_by_a_wrap_is_joined(canvas_mod: types.ModuleType) -> None:
    from reportlab.lib.pagesizes import A4

    pool = "今年以来，白鹭街道坚持和发展新时代“枫桥经验”，深入开展矛盾纠纷排查化解专项行动，" * 2
    para = _cut_inside_number(pool, "共调解纠纷123件，调解成功率98%。", A4[0] - 144, 12)
    blocks: list[Block] = [("白鹭街道2023年法治政府建设情况报告", "title"), ("一、化解矛盾纠纷", "para"), (para, "para"),
                           ("（一）强化调解队伍。", "para"), ("全年培训调解员45人次。", "para")]
    data = render(canvas_mod, blocks)
    for engine in ("pdfium", "pdfplumber"):
        text = load_pdf(data, Limits(), engine).text  # type: ignore[arg-type]
        assert "共调解纠纷123件" in text
        assert text.splitlines() == [b[0] for b in blocks]


def test_overprinted_headings_have_no_doubled_characters(canvas_mod: types.ModuleType) -> None:
    blocks: list[Block] = [
        ("青松镇2022年度法治政府建设工作报告", "title"),
        ("一、主要做法", "para"),
        ("（一）抓实学法用法。镇党委理论学习中心组集体学法6次。", "para"),
        ("二、存在问题", "para"),
        ("基层执法力量不足。", "para"),
    ]
    data = render(canvas_mod, blocks, overprint_headings=True)
    # The drawing really is doubled: pdfplumber's plain extraction shows every character twice.
    import pdfplumber
    import pypdfium2 as pdfium

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert "一一、、主主要要做做法法" in (pdf.pages[0].extract_text() or "")
    assert len(pdfium.PdfDocument(data)) == 1
    for engine in ("pdfium", "pdfplumber", "auto"):
        text = load_pdf(data, Limits(), engine).text  # type: ignore[arg-type]
        assert text.splitlines() == [b[0] for b in blocks], engine


@pytest.mark.parametrize(
    ("text", "doubled"),
    [("一一、、主主要要", True), ("主要做法", False), ("人人", False), ("常常见见", True), ("进一步", False)],
)
def test_doubled_line_check(text: str, doubled: bool) -> None:
    assert _looks_doubled(text) is doubled


# --- the pure paragraph rebuild, on hand-made line geometry -------------------------------------


def _page(rows: list[tuple[str, float, float, float]], size: float = 12.0) -> PageLines:
    """rows: (text, x0, x1, top)."""
    lines = [Line(t, x0, x1, top, top + size, size) for t, x0, x1, top in rows]
    return PageLines(lines=lines, width=595.0, height=842.0, chars=sum(len(r[0]) for r in rows))


def test_rebuild_joins_across_pages_and_drops_furniture() -> None:
    page1 = _page([
        ("某某区司法局2022年工作报告", 200, 395, 40),
        ("一、主要工作", 96, 168, 100),
        ("全年办理法律援助案件2", 96, 523, 120),
        ("35件，同比增长12%，其中", 72, 523, 140),
        ("刑事案件98件。", 72, 160, 160),
        ("-1-", 290, 305, 800),
    ])
    page2 = _page([
        ("某某区司法局2022年工作报告", 200, 395, 40),
        ("（一）加强普法。全年开展普法活动63场次，覆盖群众", 96, 523, 100),
        ("1.5万人次。", 72, 140, 120),
        ("-2-", 290, 305, 800),
    ])
    text = rebuild_text([page1, page2])
    assert text.splitlines() == [
        "一、主要工作",
        "全年办理法律援助案件235件，同比增长12%，其中刑事案件98件。",
        "（一）加强普法。全年开展普法活动63场次，覆盖群众1.5万人次。",
    ]


def test_rebuild_keeps_short_lines_and_latin_word_spaces() -> None:
    page = _page([
        ("区委、区政府：", 72, 156, 100),
        ("依托smart", 96, 523, 120),
        ("city平台，共受理投诉", 72, 523, 140),
        ("56件。", 72, 110, 160),
        ("特此报告。", 96, 156, 180),
    ])
    assert rebuild_text([page]).splitlines() == ["区委、区政府：", "依托smart city平台，共受理投诉56件。", "特此报告。"]


# --- statuses -------------------------------------------------------------------------------------


def _blank_pdf(pages: int) -> bytes:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(595, 842)
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


@pytest.fixture
def no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the OCR hook report 'not installed', whatever the environment has."""
    module = types.ModuleType("extractor.load.ocr")
    module.__spec__ = importlib.machinery.ModuleSpec("extractor.load.ocr", None)
    module.available = lambda: False  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "extractor.load.ocr", module)


def test_pdf_without_text_layer_is_scanned(no_ocr: None) -> None:
    with pytest.raises(DocumentError) as err:
        load_bytes(_blank_pdf(3), "scan.pdf")
    assert (err.value.code, err.value.status) == ("E006", "scanned")
    assert "3 page(s)" in err.value.message and "'ocr' extra" in err.value.message


def test_scanned_pdf_goes_to_ocr_when_available(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []

    def ocr_pdf(data: bytes, limits: Limits) -> object:
        from extractor.model import Loaded

        calls.append((len(data), limits.ocr_pages))
        return Loaded(format="pdf", text="识别出的文字", pages=2, text_source="ocr", ocr_confidence=0.9)

    module = types.ModuleType("extractor.load.ocr")
    module.__spec__ = importlib.machinery.ModuleSpec("extractor.load.ocr", None)
    module.available = lambda: True  # type: ignore[attr-defined]
    module.ocr_pdf = ocr_pdf  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "extractor.load.ocr", module)
    data = _blank_pdf(2)
    loaded = load_bytes(data, "scan.pdf")
    assert (loaded.text_source, loaded.text) == ("ocr", "识别出的文字")
    assert calls == [(len(data), Limits().ocr_pages)]


def test_ten_thousand_empty_pages_rejected_before_page_work(no_ocr: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import extractor.load.pdf as pdf_loader

    data = _blank_pdf(10_000)
    opened: list[int] = []
    real_page = pdf_loader._pdfium_page

    def counting_page(pdf: object, index: int, layout: object) -> object:
        opened.append(index)
        return real_page(pdf, index, layout)  # type: ignore[arg-type]

    monkeypatch.setattr(pdf_loader, "_pdfium_page", counting_page)
    with pytest.raises(DocumentError) as err:
        load_bytes(data, "huge.pdf")
    assert (err.value.code, err.value.status) == ("E007", "too_large")
    assert "10000 pages" in err.value.message
    assert opened == []
    # Under a raised page limit the same file is simply scanned.
    with pytest.raises(DocumentError) as err2:
        load_bytes(data, "huge.pdf", Limits(max_pages=20_000))
    assert err2.value.code == "E006"


def test_truncated_pdf_is_corrupt(seed_pdf: bytes) -> None:
    with pytest.raises(DocumentError) as err:
        load_bytes(seed_pdf[: len(seed_pdf) // 2], "cut.pdf")
    assert (err.value.code, err.value.status) == ("E005", "corrupt")
    assert "pdf file could not be parsed" in err.value.message


def test_pdf_named_file_that_is_a_docx_is_read_as_docx() -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("这是一份被误命名为PDF的Word文档。")
    buf = io.BytesIO()
    d.save(buf)
    assert zipfile.is_zipfile(io.BytesIO(buf.getvalue()))
    loaded = load_bytes(buf.getvalue(), "report.pdf")
    assert (loaded.format, loaded.text) == ("docx", "这是一份被误命名为PDF的Word文档。")


@pytest.mark.parametrize(("user_password", "readable"), [("user", False), ("", True)])
def test_encrypted_pdf(canvas_mod: types.ModuleType, user_password: str, readable: bool) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    buf = io.BytesIO()
    enc = StandardEncryption(user_password, ownerPassword="owner", canCopy=0)
    c = canvas_mod.Canvas(buf, encrypt=enc)
    c.setFont(FONT, 12)
    c.drawString(72, 700, "只设权限密码的文件照常读取，共计十二项。")
    c.showPage()
    c.save()
    if readable:
        assert load_bytes(buf.getvalue(), "perm.pdf").text == "只设权限密码的文件照常读取，共计十二项。"
    else:
        with pytest.raises(DocumentError) as err:
            load_bytes(buf.getvalue(), "locked.pdf")
        assert err.value.status == "corrupt" and "password" in err.value.message


def test_some_pages_without_text_warn(canvas_mod: types.ModuleType, no_ocr: None) -> None:
    buf = io.BytesIO()
    c = canvas_mod.Canvas(buf)
    c.setFont(FONT, 12)
    c.drawString(72, 700, "第一页有文字层：全年办理案件12件。")
    c.showPage()
    c.rect(72, 72, 300, 500, fill=1)  # a "scanned" page: graphics only
    c.showPage()
    c.save()
    loaded = load_bytes(buf.getvalue(), "mixed.pdf")
    assert (loaded.text, loaded.pages) == ("第一页有文字层：全年办理案件12件。", 2)
    assert loaded.warnings == ["1 of 2 page(s) have no readable text layer (scanned pages?)"]


@pytest.mark.parametrize(
    ("text", "garbled"),
    [("\ue001\ue002\ue003 \ue004、\ue005", True), ("正文\ufffd\ufffd\ufffd\ufffd", True), ("全年办理案件12件\ue000", False)],
)
def test_unreadable_text_layer_check(text: str, garbled: bool) -> None:
    from extractor.load.pdf import _is_garbled, _layout

    assert _is_garbled(text, _layout()) is garbled


def test_alternating_headers_and_bare_page_numbers_are_dropped() -> None:
    topics = ["规范性文件备案审查", "重大行政决策程序", "行政执法三项制度", "行政复议体制改革", "矛盾纠纷多元化解"]
    pages = []
    for n, topic in enumerate(topics, start=1):
        header = "某区人民政府" if n % 2 else "某区2022年法治政府建设年度报告"
        pages.append(_page([
            (header, 220, 375, 40),
            (f"{topic}工作扎实推进，全年完成", 96, 523, 120),
            ("12", 300, 312, 140),  # a bare number inside the text block stays
            (f"{topic}相关任务，办结事项共{n * 7}件。", 72, 300, 160),
            (str(n), 295, 301, 800),
        ]))
    lines = rebuild_text(pages).splitlines()
    assert lines[:3] == ["规范性文件备案审查工作扎实推进，全年完成", "12", "规范性文件备案审查相关任务，办结事项共7件。"]
    assert len(lines) == 15
    assert not any("某区" in ln for ln in lines)


def test_title_wrapped_by_the_page_joins_but_stacked_title_lines_do_not() -> None:
    def title_page(rows: list[tuple[str, float, float, float]]) -> PageLines:
        lines = [Line(t, x0, x1, top, top + 16, 16.0) for t, x0, x1, top in rows]
        body = [Line(f"全年开展第{i}项法治宣传活动，覆盖群众约两千人次，取得良好效果，", 72, 523, 200 + 20 * i, 212 + 20 * i, 12.0)
                for i in range(6)]
        return PageLines(lines=lines + body, width=595.0, height=842.0, chars=500)

    wrapped = title_page([("某县人民政府关于2023年度法治政府建设情况的", 100, 495, 100), ("报告", 281, 313, 125)])
    assert rebuild_text([wrapped]).splitlines()[0] == "某县人民政府关于2023年度法治政府建设情况的报告"
    stacked = title_page([("中共某县某镇委员会", 226, 370, 100), ("某县某镇人民政府", 234, 362, 125),
                          ("关于2023年法治政府建设情况的报告", 170, 426, 150)])
    assert rebuild_text([stacked]).splitlines()[:3] == ["中共某县某镇委员会", "某县某镇人民政府", "关于2023年法治政府建设情况的报告"]


@pytest.mark.parametrize("char_space", [0.0, 4.0, 10.0])
def test_letter_spaced_lines_get_no_spaces_but_columns_do(canvas_mod: types.ModuleType, char_space: float) -> None:
    from reportlab.lib.pagesizes import A4

    buf = io.BytesIO()
    c = canvas_mod.Canvas(buf, pagesize=A4)
    c.setFont(FONT, 12)
    # A wrapped paragraph sets the text block's margins; each test line below starts indented.
    filler = "街道坚持依法行政，持续推进法治政府建设，各项工作取得新进展。" * 4
    for i, line in enumerate(wrap(filler, A4[0] - 144, 12, 24)):
        c.drawString(96 if i == 0 else 72, 760 - 20 * i, line)
    t = c.beginText()
    t.setFont(FONT, 12)
    t.setCharSpace(char_space)
    t.setTextOrigin(96, 660)
    t.textOut("全年办理行政复议案件12件，纠错率8.3%。")
    c.drawText(t)
    c.setFont(FONT, 12)
    c.drawString(96, 640, "行政应诉案件")
    c.drawString(300, 640, "15")
    c.drawString(96, 620, "依托smart city平台")
    c.showPage()
    c.save()
    for engine in ("pdfium", "pdfplumber"):
        lines = load_pdf(buf.getvalue(), Limits(), engine).text.splitlines()  # type: ignore[arg-type]
        assert lines[0] == filler, engine
        assert lines[1] == "全年办理行政复议案件12件，纠错率8.3%。", engine
        assert lines[2].split() == ["行政应诉案件", "15"], engine
        assert lines[3] == "依托smart city平台", engine


def _text_then_blank_pages(canvas_mod: types.ModuleType, blank: int, last_line: str | None = None) -> bytes:
    buf = io.BytesIO()
    c = canvas_mod.Canvas(buf)
    c.setFont(FONT, 12)
    c.drawString(72, 700, "封面：某镇2023年法治政府建设情况报告（扫描件）")
    c.showPage()
    for _ in range(blank):
        c.rect(72, 72, 300, 500, fill=1)
        c.showPage()
    if last_line:
        c.setFont(FONT, 12)
        c.drawString(400, 700, last_line)
        c.showPage()
    c.save()
    return buf.getvalue()


def test_mostly_scanned_pdf_goes_to_ocr_when_available(
    canvas_mod: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from extractor.model import Loaded

    module = types.ModuleType("extractor.load.ocr")
    module.__spec__ = importlib.machinery.ModuleSpec("extractor.load.ocr", None)
    module.available = lambda: True  # type: ignore[attr-defined]
    module.ocr_pdf = lambda data, limits: Loaded(format="pdf", text="OCR", text_source="ocr")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "extractor.load.ocr", module)
    assert load_bytes(_text_then_blank_pages(canvas_mod, 2), "scan.pdf").text_source == "ocr"
    # A short last page (the date) is not a scanned page.
    dated = load_bytes(_text_then_blank_pages(canvas_mod, 0, "2024年1月5日"), "dated.pdf")
    assert dated.text_source == "pdfium" and dated.warnings == []
    assert dated.text.splitlines()[-1] == "2024年1月5日"
