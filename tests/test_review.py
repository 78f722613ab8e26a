"""The review page: escaped text, highlights with tooltips, outline anchors, coverage; rendered in Chromium."""

from __future__ import annotations

import html
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from handmade import CATALOG, fact, make_doc, standard_doc, write_run

from extractor import panel
from extractor.cli import main
from extractor.review import colour, highlight, render

CHROMIUM = "/usr/bin/chromium"
EVIL_TITLE = "<script>alert('title')</script>"
EVIL_TEXT = (
    "关于2022年法治政府建设情况的报告<img src=x onerror=alert('img')>\n"
    "一、主要举措和成效\n"
    '（一）严格规范公正文明执法。全年办理行政处罚案件120件，"onmouseover="alert(\'attr\')" 另有检查38次。\n'
    "二、存在的不足和原因\n"
    "</div></section><script>alert('text')</script>\n"
)


def _evil_doc():
    doc = make_doc(
        EVIL_TEXT,
        [fact("admin_penalty_cases", "120件", 120, "law_enforcement", approx="<b onclick=alert('q')>余</b>")],
        town="长岭",
        year=2022,
    )
    doc.metadata["title"] = EVIL_TITLE
    doc.source = "corpora/<i>evil</i>.txt"
    doc.source_url = "javascript:alert('url')"
    # A numeric mention bound to no indicator, and one with a span outside the text (ignored).
    start = EVIL_TEXT.index("38次")
    doc.mentions.append(
        {
            "value": 38,
            "unit": "次",
            "approx": "",
            "start": start,
            "end": start + 3,
            "rule": "num.count",
            "surface": "38次",
        }
    )
    doc.mentions.append({"value": 1, "unit": "件", "start": 10_000, "end": 10_003, "rule": "num.bad"})
    return doc


def _docs():
    failed = make_doc("坏文件", [], town=None, year=None, source="corpora/broken.pdf", status="corrupt")
    failed.message = "[E005] pdf file could not be parsed: <truncated>"
    return [standard_doc("青石", 2022), standard_doc("桂湖", 2023, cases=95), _evil_doc(), failed]


class _Collect(HTMLParser):
    """Collects tags with their attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Collect:
    parser = _Collect()
    parser.feed(page)
    return parser


def test_untrusted_text_is_escaped_everywhere() -> None:
    page = render([d.to_dict() for d in _docs()], {}, CATALOG)
    parsed = _parse(page)
    scripts = [a for t, a in parsed.tags if t == "script"]
    assert len(scripts) == 1  # only the page's own script
    assert not [t for t, a in parsed.tags if t in ("img", "b", "i", "iframe")]
    assert not any(k.startswith("on") for _, a in parsed.tags for k in a)
    assert not any((a.get("href") or "").startswith("javascript:") for _, a in parsed.tags)
    text = "".join(parsed.text)
    for raw in (
        EVIL_TITLE,
        "<img src=x onerror=alert('img')>",
        "<script>alert('text')</script>",
        "corpora/<i>evil</i>.txt",
    ):
        assert raw in text  # shown to the reader as text
    # Nothing is loaded from anywhere: no src/href leaves the page.
    assert not [a for t, a in parsed.tags if a.get("src")]
    assert all((a.get("href") or "#").startswith("#") for t, a in parsed.tags if t == "a")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_highlights_carry_value_unit_qualifier_and_rule() -> None:
    doc = _evil_doc()
    out = highlight(
        doc.text, doc.mentions, doc.indicators, doc.headings, "d", {"admin_penalty_cases": "行政处罚案件数"}
    )
    marks = re.findall(r'<mark class="([^"]+)"[^>]*title="([^"]*)"[^>]*>([^<]*)</mark>', out)
    assert [(c, t) for c, _, t in marks] == [("ind", "120件"), ("num", "38次")]
    tip = marks[0][1]
    for part in (
        "行政处罚案件数 [admin_penalty_cases]",
        "value: 120 件",
        "qualifier: &lt;b onclick=alert(&#x27;q&#x27;)&gt;余&lt;/b&gt;",
        "rule: test.admin_penalty_cases",
        "number: 120 件",
    ):
        assert part in tip
    assert "rule: num.count" in marks[1][1]
    bg, border = colour("admin_penalty_cases")
    assert f"--c:{bg};--b:{border}" in out
    # Every heading has an anchor at its offset in the text.
    for i, h in enumerate(doc.headings):
        before = re.sub(r"<[^>]+>", "", out.split(f'<a class="anchor" id="d-h{i}">')[0])
        assert len(html.unescape(before)) == h["start"]


def test_overlapping_spans_are_cut_not_nested() -> None:
    text = "受理行政复议申请412件，其中纠错49件。"
    a, b = text.index("412件"), text.index("49件")
    inds = [
        {"indicator": "x", "value": 412, "start": a, "end": a + 4, "rule": "r1"},
        {"indicator": "y", "value": 49, "start": a + 2, "end": b + 3, "rule": "r2"},
    ]
    out = highlight(text, [], inds, [], "d", {})
    assert "<mark" not in re.sub(r"<mark[^>]*>[^<]*</mark>", "", out)  # marks never nest
    assert re.sub(r"<[^>]+>", "", out) == text
    assert out.count("<mark") == 3 and "r1" in out and "r2" in out


def test_cli_writes_one_self_contained_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(panel, "catalog", lambda: tuple(CATALOG))
    out = write_run(tmp_path / "run", _docs())
    assert main(["review", str(out)]) == 0
    page = (out / "review.html").read_text(encoding="utf-8")
    parsed = _parse(page)
    ids = {a.get("id") for _, a in parsed.tags}
    links = [a["href"][1:] for t, a in parsed.tags if t == "a" and a.get("href")]
    assert links and all(link in ids for link in links)  # every outline and list link has its target
    assert page.count('class="cell found"') == 7  # coverage: 3 + 3 + 1 indicator cells
    assert "corrupt" in page and "&lt;truncated&gt;" in page
    assert "2 of 5 catalog indicators found in no document" in page


def _chromium_or_skip() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs the Debian package 'chromium'")
        pytest.skip("Chromium is not installed (apt-get install chromium)")


def test_page_in_headless_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    monkeypatch.setattr(panel, "catalog", lambda: tuple(CATALOG))
    docs = _docs()
    out = write_run(tmp_path / "run", docs)
    main(["review", str(out)])
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "review.html").as_uri())
            page.wait_for_load_state("load")

            assert page.locator("table.documents tbody tr").count() == 4
            assert page.locator("mark.ind").count() == 4 + 4 + 1  # standard reports: 3 actuals + 1 target
            assert page.locator("mark.num").count() == 1
            assert (
                page.locator("nav.toc a").count()
                == sum(len(d.headings) for d in docs if d.status == "ok")
                == 13
            )
            assert page.locator("table.coverage td.cell.found").count() == 7
            # The injected markup is visible as text and never ran.
            assert EVIL_TITLE in page.locator("section.doc h2").nth(2).inner_text()

            mark = page.locator("mark.ind[data-ind='admin_penalty_cases']").first
            assert "value: 120 件" in (mark.get_attribute("title") or "")
            mark.hover()
            tip = page.locator("#tip")
            assert tip.is_visible()
            assert (
                "value: 120 件" in tip.inner_text() and "rule: test.admin_penalty_cases" in tip.inner_text()
            )

            link = page.locator("section.doc").nth(1).locator("nav.toc a").nth(2)
            target = link.get_attribute("href")
            link.click()
            assert page.evaluate("location.hash") == target
            assert page.locator(target).count() == 1
            box = page.locator(target).bounding_box()
            assert box is not None and 0 <= box["y"] < 900
            page.screenshot(path=str(tmp_path / "review.png"))
        finally:
            browser.close()
    assert problems == []
    assert all(url.startswith("file://") for url in requests), requests
    assert (tmp_path / "review.png").stat().st_size > 10_000


def test_contact_details_are_blanked_on_the_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from extractor.runner import Cache

    monkeypatch.setattr(panel, "catalog", lambda: tuple(CATALOG))
    doc = standard_doc("青石", 2022)
    doc.text += "（联系人：王某，联系电话：023-00000000）\n"
    person, phone = doc.text.index("王某"), doc.text.index("023-00000000")
    doc.contact = {
        "person": "王某",
        "phone": "023-00000000",
        "spans": {"person": [person, person + 2], "phone": [phone, phone + 12]},
    }
    out = write_run(tmp_path / "run", [doc])
    assert "023-00000000" in (out / "documents.jsonl").read_text(
        encoding="utf-8"
    )  # the published text has it
    Cache(out / ".cache").put("0" * 64, doc.to_dict())
    main(["review", str(out)])
    page = (out / "review.html").read_text(encoding="utf-8")
    assert "023-00000000" not in page and "王某" not in page
    assert "联系人：＊＊，联系电话：" + "＊" * 12 in page
    # Blanking keeps every offset: the highlights still cover their own surfaces.
    assert re.search(r'data-ind="admin_penalty_cases"[^>]*>120件</mark>', page)
