"""Per-document limits: file size, the time limit around a slow loader."""

from __future__ import annotations

import signal

import pytest

from extractor.errors import DocumentError
from extractor.load import Limits, load_bytes
from extractor.pipeline import Options, process_bytes, process_file


def test_file_over_the_size_limit_is_too_large(seed_text: str) -> None:
    data = seed_text.encode()
    with pytest.raises(DocumentError) as err:
        load_bytes(data, "seed.txt", Limits(max_bytes=1000))
    assert (err.value.code, err.value.status) == ("E001", "too_large")
    assert str(len(data)) in err.value.message


def test_file_on_disk_over_the_limit_is_not_read(tmp_path, seed_text: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.txt"
    path.write_text(seed_text, encoding="utf-8")
    doc = process_file(path, Options(limits=Limits(max_bytes=1000)))
    assert (doc.status, doc.message[:6], doc.bytes) == ("too_large", "[E001]", path.stat().st_size)


def _spin(*args: object, **kwargs: object) -> None:
    """A loader stuck in pure-Python work (a runaway layout loop)."""
    n = 0
    while True:
        n += 1


def test_time_limit_stops_a_loader_stuck_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    import extractor.load.html as html_loader

    monkeypatch.setattr(html_loader, "load_html", _spin)
    handler = signal.getsignal(signal.SIGALRM)
    outer = signal.getitimer(signal.ITIMER_REAL)  # pytest-timeout's own alarm, when it uses signals
    doc = process_bytes(b"<html><body><p>x</p></body></html>", "slow.html", Options(limits=Limits(time_limit=0.2)))
    assert (doc.status, doc.message) == ("error", "[E008] time limit of 0.2s exceeded")
    # The previous handler is back, and an outer alarm is re-armed rather than cancelled.
    assert signal.getsignal(signal.SIGALRM) is handler
    after = signal.getitimer(signal.ITIMER_REAL)
    assert (after[0] > 0) == (outer[0] > 0)
    assert after[0] <= outer[0]


def test_an_outer_alarm_survives_the_document_time_limit() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    outer = signal.getitimer(signal.ITIMER_REAL)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        doc = process_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20), "a.png", Options(limits=Limits(time_limit=5.0)))
        assert doc.status == "unsupported_format"
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 25.0 < left <= 30.0
        assert fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, *outer)
        signal.signal(signal.SIGALRM, previous)


def test_time_limit_stops_a_real_pdf_load() -> None:
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for page in range(60):
        c.setFont("STSong-Light", 12)
        for row in range(40):
            c.drawString(72, 760 - row * 18, f"第{page + 1}页第{row + 1}行：全年办理行政执法案件{page * 40 + row}件。")
        c.showPage()
    c.save()
    # Loading 60 full pages takes far longer than a millisecond, on any machine.
    doc = process_bytes(buf.getvalue(), "long.pdf", Options(limits=Limits(time_limit=0.001)))
    assert (doc.status, doc.message[:6]) == ("error", "[E008]")
