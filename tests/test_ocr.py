"""OCR of scanned PDFs: a scanned report yields the headings and numbers of its text version.

The scanned PDFs are made here: a text PDF typeset with reportlab, each page rendered to a picture
with pdfium and the pictures bound into a PDF without a text layer.
"""

from __future__ import annotations

import difflib
import io
import itertools
import json
import socket
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from scanned import PAGE_BREAK, image_only_pdf, require_cjk_font, seed_part, typeset_pdf

from extractor import cli
from extractor.clean import clean
from extractor.load import Limits, ocr
from extractor.load.ocr import _Box, merge_rows
from extractor.model import Document
from extractor.pipeline import Options, process_bytes

# Constructed text (an invented sub-district) for the short scans.
SHORT_TITLE = ["重庆市荣昌区青松街道办事处", "关于2022年度法治政府建设情况的报告"]
SHORT_BODY = [
    "一、主要工作成效",
    "全年办理行政处罚案件36件，调解矛盾纠纷128件，调解成功率达97.5%。",
]
# Share of the seed typeset for the headings-and-numbers test: three A4 pages.
SEED_SHARE = 0.4


@pytest.fixture(scope="module")
def seed_pdfs(seed_text: str) -> tuple[bytes, bytes]:
    """The first part of the seed report as a text PDF and as its scanned copy."""
    require_cjk_font()
    title, body = seed_part(seed_text, SEED_SHARE)
    text_pdf = typeset_pdf(title, body)
    return text_pdf, image_only_pdf(text_pdf)


@pytest.fixture(scope="module")
def short_scan() -> bytes:
    """A two-page scan of a short constructed report (the second page repeats the first)."""
    require_cjk_font()
    return image_only_pdf(typeset_pdf(SHORT_TITLE, [*SHORT_BODY, PAGE_BREAK, *SHORT_BODY]))


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _mentions(doc: Document) -> Counter[tuple[float, str]]:
    return Counter((float(m["value"]), str(m["unit"])) for m in doc.mentions)


def test_ocr_recovers_headings_and_numbers_of_a_scanned_report(seed_pdfs: tuple[bytes, bytes]) -> None:
    text_pdf, scan_pdf = seed_pdfs
    # A generous time limit: OCR stops early when a busy machine eats its share of the default one.
    options = Options(limits=Limits(time_limit=900))
    text_doc = process_bytes(text_pdf, "report.pdf", options)
    scan_doc = process_bytes(scan_pdf, "scan.pdf", options)
    assert (text_doc.status, text_doc.text_source) == ("ok", "pdfium")
    assert (scan_doc.status, scan_doc.text_source, scan_doc.message, scan_doc.warnings) == (
        "ok",
        "ocr",
        "",
        [],
    )
    assert scan_doc.pages == text_doc.pages == 3
    assert scan_doc.ocr_confidence is not None and 0.9 <= scan_doc.ocr_confidence <= 1.0
    # Enough to compare: the first 40% of the seed holds two levels of headings and a dozen numbers.
    assert len(text_doc.headings) >= 15 and len(text_doc.mentions) >= 10

    # Headings: the same tree (levels in order); texts equal up to a rare misread character.
    assert [h["level"] for h in scan_doc.headings] == [h["level"] for h in text_doc.headings]
    pairs = [
        (_norm(a["text"]), _norm(b["text"]))
        for a, b in zip(text_doc.headings, scan_doc.headings, strict=True)
    ]
    assert all(difflib.SequenceMatcher(None, a, b).ratio() >= 0.9 for a, b in pairs), pairs
    assert sum(a == b for a, b in pairs) >= 0.9 * len(pairs)

    # Numbers: at least 95% of the text version's (value, unit) mentions, spans valid in the OCR text.
    want, got = _mentions(text_doc), _mentions(scan_doc)
    assert sum((want & got).values()) >= 0.95 * sum(want.values()), (want - got, got - want)
    for m in scan_doc.mentions:
        assert scan_doc.text[m["start"] : m["end"]] == m["surface"]

    # Paragraphs: wrapped lines joined the same way, across page breaks too, and no page numbers.
    assert len(scan_doc.text.splitlines()) == len(text_doc.text.splitlines())
    assert "—" not in scan_doc.text


def test_ocr_runs_with_the_network_unreachable(
    short_scan: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network unreachable (blocked by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(OSError, match="blocked"):
        socket.create_connection(("127.0.0.1", 9))
    # Load the models again with the network blocked, as a fresh worker process would.
    ocr._engine.cache_clear()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(short_scan)
    assert cli.main(["extract", str(scan), "--ocr-pages", "1"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["status"], record["text_source"], record["pages"]) == ("ok", "ocr", 2)
    assert record["warnings"] == ["OCR stopped after 1 of 2 pages (page limit)"]
    assert "行政处罚案件36件" in record["text"] and record["text"].count("主要工作成效") == 1
    assert {(36, "件"), (128, "件"), (97.5, "%")} <= {(m["value"], m["unit"]) for m in record["mentions"]}


def test_ocr_stops_early_when_the_time_budget_runs_out(short_scan: bytes) -> None:
    loaded = ocr.ocr_pdf(short_scan, Limits(time_limit=0.001))
    assert loaded.warnings == ["OCR stopped after 1 of 2 pages (time limit)"]
    assert clean(loaded.text).text.count("主要工作成效") == 1


def test_tall_page_is_read_in_bands_each_line_once() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    require_cjk_font()
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    # A long image bound as one page: 2200 pt tall, read in two bands. Lines sit on both sides of
    # the band boundary and inside the overlap.
    band = ocr.MAX_SIDE_PX / ocr.RENDER_SCALE
    step = band - ocr.BAND_OVERLAP_PX / ocr.RENDER_SCALE
    tops = [60.0, step - 20, step + 20, step + 60, band + 10, 2150.0]
    assert band < 2200 < step + band
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(320, 2200))
    c.setFont("STSong-Light", 14)
    for k, top in enumerate(tops, start=1):
        c.drawString(30, 2200 - top - 14, f"第{k}项工作办结{k * 11}件")
    c.showPage()
    c.save()
    loaded = ocr.ocr_pdf(image_only_pdf(buf.getvalue()), Limits(time_limit=900))
    text = clean(loaded.text).text
    assert [text.count(f"办结{k * 11}件") for k in range(1, len(tops) + 1)] == [1] * len(tops), text


def test_page_of_any_shape_is_rendered_within_bounds() -> None:
    assert ocr._bands(842, 1.5) == [(0, 842)]
    for width, height in [(3, 14400), (14400, 3), (14400, 14400), (1, 1), (595, 5000)]:
        scale = ocr._scale(width)
        assert width * scale <= ocr.MAX_SIDE_PX
        bands = ocr._bands(height, scale)
        assert bands[0][0] == 0 and bands[-1][1] == height
        assert all((b - t) * scale <= ocr.MAX_SIDE_PX + 1e-6 for t, b in bands)
        assert all(
            b1 - t2 >= ocr.BAND_OVERLAP_PX / scale - 1e-6 for (_, b1), (t2, _) in itertools.pairwise(bands)
        )
    from PIL import Image

    assert ocr._padded(Image.new("L", (3, 2000))).size == (ocr.DETECT_MIN_PX, 2000)


def test_scanned_pdf_keeps_status_scanned_without_the_ocr_extra(
    short_scan: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    doc = process_bytes(short_scan, "scan.pdf")
    assert (doc.status, doc.format) == ("scanned", "pdf")
    assert doc.message.startswith("[E006]") and "pip install 'extractor[ocr]'" in doc.message
    assert "2 page(s)" in doc.message
    assert doc.ocr_confidence is None and doc.headings == [] and doc.mentions == []


def test_ocr_of_a_pdf_with_blank_pages_only_is_scanned() -> None:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(200, 200))
    c.showPage()
    c.showPage()
    c.save()
    doc = process_bytes(buf.getvalue(), "blank.pdf")
    assert doc.status == "scanned"
    assert doc.message.startswith("[E014]")


def test_boxes_on_one_baseline_join_into_one_line() -> None:
    boxes = [
        _Box("关于2022年", 100, 220, 50, 70, 0.99),
        _Box("法治政府建设", 222, 340, 52, 71, 0.97),  # touching: one run of text split by the detector
        _Box("第一段正文", 100, 300, 90, 110, 0.98),
        _Box("2023年1月20日", 600, 760, 91, 109, 0.96),  # far right on the same row: a separate field
    ]
    lines = merge_rows(boxes)
    assert [ln.text for ln in lines] == ["关于2022年法治政府建设", "第一段正文 2023年1月20日"]
    assert lines[0].left == 100 and lines[0].right == 340 and lines[0].score == pytest.approx(0.98)


@pytest.mark.parametrize(
    ("read", "fixed"),
    [
        ("全年办理案件1O2件", "全年办理案件102件"),
        ("2O21年", "2021年"),
        ("共计1l5人次", "共计115人次"),
        ("-3一", "— 3 —"),  # a page number whose dashes were read as 一
        ("OCR识别", "OCR识别"),  # letters outside numbers stay
        ("第l项", "第l项"),
    ],
)
def test_recognised_lines_fix_digit_lookalikes_and_page_numbers(read: str, fixed: str) -> None:
    page = ocr._page_lines([_Box(read, 100, 400, 100, 120, 0.9)], 595, 842, 1.0)
    assert page.lines[0].text == fixed


def test_ocr_module_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = "import sys, extractor.load.ocr as o; o.available(); print('rapidocr_onnxruntime' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "False"
