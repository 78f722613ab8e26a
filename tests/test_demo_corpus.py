"""The constructed demo corpus: regenerates byte-stable, carries every source text, stays comparable."""

from __future__ import annotations

import importlib.util
import io
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = REPO / "tests" / "fixtures" / "demo_sources"
CONSTRUCTED = REPO / "corpora" / "constructed"
README = REPO / "corpora" / "README.md"

# Real sub-districts and towns of 荣昌区; the constructed units must not borrow any of them.
REAL_UNITS = (
    "昌元",
    "昌州",
    "广顺",
    "安富",
    "峰高",
    "双河",
    "直升",
    "路孔",
    "清江",
    "仁义",
    "河包",
    "古昌",
    "吴家",
    "观胜",
    "铜鼓",
    "清流",
    "盘龙",
    "远觉",
    "清升",
    "龙集",
    "万灵",
)

# Trigger phrases from the indicator catalog that every report should use, so the units compare.
SHARED_TRIGGERS = (
    "会前学法",
    "法治宣传活动",
    "发放宣传资料",
    "调解矛盾纠纷",
    "调解成功率",
    "持证行政执法人员",
    "主动公开政府信息",
    "法律顾问",
    "审查合同",
    "合法性审查",
    "信访事项",
    "法律援助",
    "法律明白人",
    "民主法治示范",
    "应急演练",
    "罚没款",
    "行政处罚案件",
    "第一责任人",
)

_CN_DIGIT = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


@pytest.fixture(scope="module")
def build() -> ModuleType:
    """The generator script, imported from its path (tests/fixtures is not a package)."""
    spec = importlib.util.spec_from_file_location("demo_build", SOURCES / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve string annotations through sys.modules, so register before running it.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rebuilt(build: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh build of the whole corpus in a temporary folder."""
    out = tmp_path_factory.mktemp("constructed")
    build.build(out)
    return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _docx_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _extract(path: Path, build: ModuleType) -> str:
    """Reading text of a generated file, by format, with page headers and footers cut off PDFs."""
    data = path.read_bytes()
    suffix = path.suffix
    if suffix == ".txt":
        for enc in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                continue
        raise AssertionError(f"{path.name}: neither UTF-8 nor GB18030")
    if suffix == ".html":
        from bs4 import BeautifulSoup

        return BeautifulSoup(data, "lxml").get_text("\n")
    if suffix == ".pdf":
        import pdfplumber

        mm = 72 / 25.4
        top, bottom = build.PDF_MARGINS_MM["top"] * mm, build.PDF_MARGINS_MM["bottom"] * mm
        pages = []
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                body = page.crop((0, top - 3 * mm, page.width, page.height - bottom + 3 * mm))
                pages.append(body.extract_text() or "")
        return "\n".join(pages)
    if suffix == ".docx":
        import docx

        document = docx.Document(io.BytesIO(data))
        parts = [p.text for p in document.paragraphs]
        for table in document.tables:
            parts.extend("\t".join(cell.text for cell in row.cells) for row in table.rows)
        return "\n".join(parts)
    raise AssertionError(f"unexpected file in corpus: {path.name}")


def _signature_date(lines: list[str]) -> tuple[int, int, int]:
    """Year, month, day of the signature date, in either arabic or Chinese-numeral form."""
    for line in reversed(lines):
        m = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", line)
        if m:
            return int(m[1]), int(m[2]), int(m[3])
        m = re.fullmatch(
            r"([〇零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,2})月([一二三四五六七八九十]{1,3})日",
            line,
        )
        if m:
            return int("".join(str(_CN_DIGIT[c]) for c in m[1])), _cn_small(m[2]), _cn_small(m[3])
    raise AssertionError("no signature date")


def _cn_small(s: str) -> int:
    if "十" not in s:
        return _CN_DIGIT[s]
    tens, _, ones = s.partition("十")
    return (_CN_DIGIT[tens] if tens else 1) * 10 + (_CN_DIGIT[ones] if ones else 0)


# ---------------------------------------------------------------------------------------------


def test_regenerated_corpus_matches_committed_files(build: ModuleType, rebuilt: Path) -> None:
    committed = sorted(p.name for p in CONSTRUCTED.iterdir())
    assert sorted(p.name for p in rebuilt.iterdir()) == committed
    assert committed == sorted(r.filename for r in build.REPORTS)
    stale = []
    for name in committed:
        fresh, kept = (rebuilt / name).read_bytes(), (CONSTRUCTED / name).read_bytes()
        # For DOCX the member contents are what matters; deflate output could differ between zlib builds.
        same = _docx_members(fresh) == _docx_members(kept) if name.endswith(".docx") else fresh == kept
        if not same:
            stale.append(name)
    assert not stale, f"run tests/fixtures/demo_sources/build.py and commit the result; stale: {stale}"


def test_generator_is_deterministic(build: ModuleType, rebuilt: Path) -> None:
    for report in build.REPORTS:
        assert build.render(report) == (rebuilt / report.filename).read_bytes(), report.filename


def test_every_source_text_is_in_the_corpus(build: ModuleType) -> None:
    manifest = {r.stem: r for r in build.REPORTS}
    assert {p.stem for p in SOURCES.glob("*.txt")} == set(manifest), "every source has a manifest entry"
    for report in manifest.values():
        text = _squash(_extract(CONSTRUCTED / report.filename, build))
        missing = [line for line in build.read_lines(report) if _squash(line) not in text]
        assert not missing, f"{report.filename} lacks {missing[:3]}"


def test_pdf_pages_carry_running_header_and_page_numbers(build: ModuleType) -> None:
    import pdfplumber

    pdfs = [r for r in build.REPORTS if r.fmt == "pdf"]
    assert pdfs
    for report in pdfs:
        with pdfplumber.open(CONSTRUCTED / report.filename) as pdf:
            assert len(pdf.pages) >= 2, f"{report.filename} should wrap onto more than one page"
            for number, page in enumerate(pdf.pages, start=1):
                lines = (page.extract_text() or "").splitlines()
                assert _squash(lines[0]) == _squash(report.options["header"]), report.filename
                assert _squash(lines[-1]) == f"—{number}—", report.filename


def test_formats_and_encodings_are_mixed(build: ModuleType) -> None:
    formats = Counter(r.fmt for r in build.REPORTS)
    assert formats["txt"] >= 3 and formats["html"] >= 3 and formats["pdf"] >= 3 and formats["docx"] >= 2
    raw = {p.name: p.read_bytes() for p in CONSTRUCTED.iterdir()}
    for name, data in raw.items():
        if name.endswith(".pdf"):
            assert data.startswith(b"%PDF-"), name
        elif name.endswith(".docx"):
            assert "word/document.xml" in _docx_members(data), name
        elif name.endswith(".html"):
            assert data.lstrip().lower().startswith(b"<!doctype html"), name
    txts = [data for name, data in raw.items() if name.endswith(".txt")]
    gb_only = [d for d in txts if _fails_utf8(d)]
    assert len(gb_only) == 1 and "法治政府" in gb_only[0].decode("gb18030")
    assert any(d.startswith(b"\xef\xbb\xbf") for d in txts), "one TXT is saved with a BOM"


def _fails_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_html_pages_have_portal_chrome_around_the_article(build: ModuleType) -> None:
    from bs4 import BeautifulSoup

    pages = [r for r in build.REPORTS if r.fmt == "html"]
    bold_only = 0
    for report in pages:
        soup = BeautifulSoup((CONSTRUCTED / report.filename).read_bytes(), "lxml")
        text = soup.get_text(" ")
        for chrome in (
            "当前位置",
            "索引号",
            "发文字号",
            "发布机构",
            "成文日期",
            "发布日期",
            "打印本页",
            "关闭窗口",
            "主办单位",
            "网站标识码",
            "ICP备",
        ):
            assert chrome in text, (report.filename, chrome)
        assert re.search(r"字体：【\s*大\s*中\s*小\s*】", text), report.filename
        zoom = soup.find(id="zoom")
        assert zoom is not None
        bold = [s.get_text() for s in zoom.find_all("strong")]
        unnumbered = [
            b for b in bold if not re.match(r"[一二三四五六七八九十]+、|（\w{1,3}）|\d{1,2}[.、]", b)
        ]
        # A repeated title is bold too; a page of bold headings has many unnumbered ones and no numbered.
        if len(unnumbered) >= 5 and len(unnumbered) == len(bold):
            bold_only += 1
    assert bold_only == 1, "exactly one page carries unnumbered bold headings"


def test_docx_table_holds_figures_that_match_the_text(build: ModuleType) -> None:
    import docx

    tables = []
    for report in (r for r in build.REPORTS if r.fmt == "docx"):
        document = docx.Document(CONSTRUCTED / report.filename)
        tables += [(report, t) for t in document.tables]
    assert len(tables) == 1
    report, table = tables[0]
    body = "".join(build.read_lines(report))
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0][1:] == [f"{report.year - 1}年", f"{report.year}年"]
    # The current-year column repeats figures stated in the text of the same report.
    for label, _, current in rows[1:]:
        unit = re.search(r"（(.)）", label)[1]
        assert f"{current}{unit}" in body, (label, current)


def test_units_years_and_signature_dates(build: ModuleType) -> None:
    years_by_unit: dict[str, set[int]] = {}
    for report in build.REPORTS:
        years_by_unit.setdefault(report.unit, set()).add(report.year)
        lines = build.read_lines(report)
        assert report.unit in "".join(lines[: report.title_lines]), report.stem
        assert "重庆市荣昌区" in lines[0]
        year, month, _ = _signature_date(lines)
        assert year == report.year + 1 and 1 <= month <= 3, report.stem
        assert str(report.year) in "".join(lines[: report.title_lines]), "title names the reported year"
    assert len(years_by_unit) == 4
    assert set().union(*years_by_unit.values()) == {2021, 2022, 2023}
    assert sorted(len(y) for y in years_by_unit.values()) == [2, 3, 3, 3]
    all_text = "".join(r.source.read_text(encoding="utf-8") for r in build.REPORTS)
    for name in REAL_UNITS:
        assert not re.search(f"{name}(街道|镇)", all_text), name
    assert "二〇二三年二月十日" in all_text


def test_reports_share_indicators_and_stay_report_sized(build: ModuleType) -> None:
    for report in build.REPORTS:
        text = report.source.read_text(encoding="utf-8")
        assert 1500 <= len(_squash(text)) <= 3500, report.stem
        absent = [t for t in SHARED_TRIGGERS if t not in text]
        assert len(absent) <= 2, (report.stem, absent)
        assert "现将" in text and "报告如下" in text, report.stem
        assert re.search(r"(力争|确保|计划).{0,30}\d", text), f"{report.stem}: plan has targets"


def test_structure_varies_between_units(build: ModuleType) -> None:
    def headings(stem: str, pattern: str) -> list[str]:
        return [
            ln
            for ln in (SOURCES / f"{stem}.txt").read_text(encoding="utf-8").splitlines()
            if re.match(pattern, ln)
        ]

    # 云岭镇 uses two levels only: 一、 and 1、.
    for year in (2022, 2023):
        stem = f"rongchang-yunling-{year}"
        assert headings(stem, r"[一二三四五六七八九十]、") and headings(stem, r"\d、")
        assert not headings(stem, r"（[一二三四五六七八九十]）") and not headings(stem, r"\d\.")
    # 棠溪街道 puts the 第一责任人 item in a top-level section of its own.
    for year in (2021, 2022, 2023):
        assert any(
            "第一责任人" in h for h in headings(f"rongchang-tangxi-{year}", r"[一二三四五六七八九十]、")
        )
    # 石桥镇 follows the chapter order of the 2021—2025 纲要.
    order = (
        "习近平法治思想",
        "政府机构职能体系",
        "依法行政制度体系",
        "行政决策制度体系",
        "行政执法工作体系",
        "突发事件应对体系",
        "社会矛盾纠纷",
        "制约和监督体系",
        "科技保障体系",
        "加强党的领导",
    )
    for year in (2021, 2023):
        level2 = headings(f"rongchang-shiqiao-{year}", r"（[一二三四五六七八九十]+）")[: len(order)]
        assert [next(k for k in order if k in h) for h in level2] == list(order)
    # 青林街道 goes four levels deep: 一、 （一） 1. （1）.
    assert headings("rongchang-qinglin-2022", r"（\d）") and headings("rongchang-qinglin-2022", r"\d\.")


def test_readme_lists_every_file_as_constructed() -> None:
    readme = README.read_text(encoding="utf-8")
    assert "seed/chongqing-rongchang-changyuan-2021.txt" in readme
    for path in sorted(CONSTRUCTED.iterdir()):
        row = next((ln for ln in readme.splitlines() if f"constructed/{path.name}" in ln), None)
        assert row is not None, path.name
        assert path.suffix.lstrip(".").upper() in row.upper(), path.name
    assert "not real data" in readme
