"""Crawls of fixture sites on 127.0.0.1, judged by the servers' own request logs and by the manifest."""

from __future__ import annotations

import csv
import itertools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from sites.server import Handler, Hit, Site, SiteServer
from sites.sites import (
    GENERIC_DOCX_2022,
    GENERIC_PDF_2020,
    GENERIC_PDF_2021,
    TRS_PDF_2020,
    TRS_PDF_2021,
    generic_site,
    hanweb_site,
    serve,
    trs_site,
)

from extractor import __version__
from extractor.collect import crawl, load_profile
from extractor.collect.crawler import CrawlSummary
from extractor.collect.manifest import read_manifest
from extractor.collect.store import MANIFEST_COLUMNS

REPO = Path(__file__).resolve().parents[1]
DELAY = 0.2
# The delay runs from the end of one exchange to the next request, so on the server's clock
# consecutive requests are at least `delay` apart; the tolerance only covers clock rounding.
TOLERANCE = 0.01
CONTACT = "crawl-tests@example.org"
# Short timeouts and limits so that every fault costs well under a second.
FAST = {
    "allow_private": True,
    "politeness": {
        "delay": DELAY,
        "connect_timeout": 1.0,
        "read_timeout": 0.5,
        "total_timeout": 10.0,
        "retries": 1,
        "backoff": 0.2,
        "max_retry_after": 5.0,
        "max_bytes": 1_000_000,
        "contact": CONTACT,
    },
}

TRS_REPORTS = {
    "/fzzfjs/202203/t20220317_123.html",
    "/fzzfjs/202203/t20220301_118.html",
    "/fzzfjs/202103/t20210325_101.html",  # cut title on the list, full title on the page
    "/fzzfjs/202101/t20210115_95.html",
    "/fzzfjs/202003/t20200320_80.html",
}
TRS_NOT_A_REPORT = "/fzzfjs/202103/t20210310_99.html"  # cut title on the list; the page says 通知
TRS_NEVER = {
    "/fzzfjs/202202/t20220220_120.html",  # 工作要点的通知
    "/fzzfjs/202201/t20220126_119.html",  # 政府信息公开工作年度报告
    "/fzzfjs/202002/t20200228_77.html",  # a news item
    "/fzzfjs/202103/P020210310111111111111.pdf",  # attachment of the notice
    "/search/index.html",
}
TRS_LISTS = {"/fzzfjs/index.html", "/fzzfjs/index_1.html", "/fzzfjs/index_2.html"}


def profile_for(name: str, start: str, **more: Any) -> dict[str, Any]:
    """A shipped profile, pointed at a fixture server, with test timings."""
    overrides = {**FAST, "start_urls": [start], **more}
    return load_profile(name, overrides)


def write_profile(folder: Path, name: str, start: str) -> Path:
    """The same as a YAML file that extends a shipped profile (for the command line)."""
    path = folder / f"{name}-fixture.yaml"
    path.write_text(
        yaml.safe_dump(
            {"name": f"{name}-fixture", "extends": name, "start_urls": [start], **FAST}, allow_unicode=True
        ),
        encoding="utf-8",
    )
    return path


def manifest_rows(out: Path) -> list[dict[str, Any]]:
    con = sqlite3.connect(out / "manifest.sqlite")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM manifest ORDER BY id")]
    finally:
        con.close()


def by_path(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Manifest rows keyed by path and query (the port of a fixture server changes from run to run)."""
    out = {}
    for row in rows:
        parts = urlsplit(row["url"])
        out[parts.path + (f"?{parts.query}" if parts.query else "")] = row
    return out


def skipped(out: Path) -> dict[str, str]:
    con = sqlite3.connect(out / "manifest.sqlite")
    try:
        return dict(con.execute("SELECT url, reason FROM skipped").fetchall())
    finally:
        con.close()


def requested(server: SiteServer) -> set[str]:
    return {hit.route for hit in server.hits()}


def assert_paced(hits: list[Hit], delay: float) -> None:
    """Consecutive requests to one host start at least `delay` apart."""
    starts = sorted(hits, key=lambda h: h.started)
    for before, after in itertools.pairwise(starts):
        assert after.started - before.started >= delay - TOLERANCE, (before.path, after.path)


@pytest.fixture(scope="module")
def trs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SiteServer, Path, CrawlSummary]]:
    """One complete crawl of the TRS fixture site."""
    out = tmp_path_factory.mktemp("trs") / "raw"
    with serve(trs_site(dated_retry=1.5)) as server:
        summary = crawl(profile_for("trs", server.url + "/fzzfjs/index.html"), out)
        yield server, out, summary


@pytest.fixture(scope="module")
def hanweb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SiteServer, Path, CrawlSummary]]:
    """One complete crawl of the Hanweb fixture site."""
    out = tmp_path_factory.mktemp("hanweb") / "raw"
    with serve(hanweb_site()) as server:
        summary = crawl(profile_for("hanweb", server.url + "/col/col123/index.html"), out)
        yield server, out, summary


@pytest.fixture(scope="module")
def generic(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SiteServer, SiteServer, Path, CrawlSummary]]:
    """One complete crawl of the generic fixture site from its home page; `offsite` must stay untouched."""
    out = tmp_path_factory.mktemp("generic") / "raw"
    with serve(generic_site("http://127.0.0.1:9")) as offsite, serve(generic_site(offsite.url)) as server:
        summary = crawl(profile_for("generic", server.url + "/"), out)
        yield server, offsite, out, summary


# ---------------------------------------------------------------------------------------------
# TRS: GBK pages, script pagination, 429 and 503


def test_trs_collects_exactly_the_reports(trs: tuple[SiteServer, Path, CrawlSummary]) -> None:
    server, out, summary = trs
    paths = requested(server)
    assert paths == {"/robots.txt"} | TRS_LISTS | TRS_REPORTS | {TRS_NOT_A_REPORT, TRS_PDF_2021, TRS_PDF_2020}
    assert not paths & TRS_NEVER
    rows = by_path(manifest_rows(out))
    assert {p for p, r in rows.items() if r["kind"] == "article" and r["matched"] == 1} == TRS_REPORTS
    assert rows[TRS_NOT_A_REPORT]["matched"] == 0
    assert {p for p, r in rows.items() if r["kind"] == "attachment"} == {TRS_PDF_2021, TRS_PDF_2020}
    assert {p for p, r in rows.items() if r["kind"] == "list"} == TRS_LISTS
    # GBK pages decoded: the full title from the page, the date and number from the disclosure table.
    cut = rows["/fzzfjs/202103/t20210325_101.html"]
    assert (
        cut["title"].endswith("...")
        and cut["page_title"] == "鹤汀街道办事处关于2020年度法治政府建设情况的报告"
    )
    first = rows["/fzzfjs/202203/t20220317_123.html"]
    assert (first["published_date"], first["doc_number"], first["publisher"]) == (
        "2022-03-17",
        "鹤办〔2022〕8号",
        "鹤汀街道办事处",
    )
    pdf = rows[TRS_PDF_2021]
    assert pdf["parent_url"] == first["url"] and pdf["path"].endswith(".pdf")
    assert summary.finished and summary.failed == 0 and (summary.reports, summary.attachments) == (5, 2)


def test_trs_retries_honour_retry_after_and_back_off(trs: tuple[SiteServer, Path, CrawlSummary]) -> None:
    server, _, _ = trs
    throttled = server.hits("/fzzfjs/202203/t20220301_118.html")
    assert [h.status for h in throttled] == [429, 200]
    assert throttled[1].started - throttled[0].started >= 1.0 - TOLERANCE  # Retry-After: 1
    # The whole host waited, not just that URL.
    assert not [h for h in server.hits() if throttled[0].started < h.started < throttled[1].started]
    busy = server.hits("/fzzfjs/index_1.html")
    assert [h.status for h in busy] == [503, 200]
    # Retry-After as an HTTP date: not before that second (the backoff alone would be 0.2 s).
    assert busy[1].started >= int(busy[0].started + 1.5) - TOLERANCE


def test_trs_pacing_concurrency_and_user_agent(trs: tuple[SiteServer, Path, CrawlSummary]) -> None:
    server, _, _ = trs
    hits = server.hits()
    assert_paced(hits, DELAY)
    for before, after in itertools.pairwise(hits):
        assert after.started >= before.ended  # one request in flight per host
    assert {h.headers["user-agent"] for h in hits} == {f"extractor/{__version__} (+{CONTACT})"}


def test_manifest_csv_matches_the_database(trs: tuple[SiteServer, Path, CrawlSummary]) -> None:
    _, out, _ = trs
    with (out / "manifest.csv").open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == MANIFEST_COLUMNS
        rows = list(reader)
    assert [(r["url"], r["sha256"]) for r in rows] == [
        (r["url"], r["sha256"] or "") for r in manifest_rows(out)
    ]
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.parent != out)
    assert sorted(out / r["path"] for r in manifest_rows(out) if r["path"]) == files
    assert not (out / "manifest.sqlite-wal").exists()  # folded back at the end


def test_recrawl_sends_validators_and_stores_nothing_new(
    tmp_path: Path, trs: tuple[SiteServer, Path, CrawlSummary]
) -> None:
    server, first_out, _ = trs
    out = tmp_path / "raw"
    shutil.copytree(first_out, out)
    before = manifest_rows(out)
    n = len(server.hits())
    summary = crawl(profile_for("trs", server.url + "/fzzfjs/index.html"), out)
    again = [h for h in server.hits()[n:] if h.route != "/robots.txt"]
    assert {h.route for h in again} == TRS_LISTS | TRS_REPORTS | {
        TRS_NOT_A_REPORT,
        TRS_PDF_2021,
        TRS_PDF_2020,
    }
    assert all(h.headers.get("if-none-match") and h.headers.get("if-modified-since") for h in again)
    assert {h.status for h in again} == {304}
    assert summary.finished and not summary.resumed
    assert (summary.stored, summary.unchanged) == (0, len(again))
    assert [(r["url"], r["sha256"]) for r in manifest_rows(out)] == [(r["url"], r["sha256"]) for r in before]


def test_kill_9_then_rerun_resumes_without_refetching(
    tmp_path: Path, trs: tuple[SiteServer, Path, CrawlSummary]
) -> None:
    _, full_out, _ = trs
    out = tmp_path / "raw"
    with serve(trs_site()) as server:
        command = [
            sys.executable,
            "-m",
            "extractor",
            "crawl",
            "--out",
            str(out),
            "--profile",
            str(write_profile(tmp_path, "trs", server.url + "/fzzfjs/index.html")),
        ]
        process = subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while len(server.hits()) < 7 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
        killed_at = len(server.hits())
        stored = {r["url"] for r in manifest_rows(out) if r["sha256"]}
        assert 0 < len(stored) < len(by_path(manifest_rows(full_out)))

        summary = crawl(load_profile(command[-1]), out)
        assert summary.finished and summary.resumed
        rerun = {server.url + h.path for h in server.hits()[killed_at:]}
    assert not rerun & stored  # nothing stored before the kill was fetched again
    rows = manifest_rows(out)
    assert len({r["url"] for r in rows}) == len(rows)
    resumed = {p: r["sha256"] for p, r in by_path(rows).items()}
    uninterrupted = {p: r["sha256"] for p, r in by_path(manifest_rows(full_out)).items()}
    assert resumed == uninterrupted
    files = [p for p in out.rglob("*") if p.is_file() and p.parent != out]
    assert len(files) == len({r["sha256"] for r in rows if r["sha256"]})


def test_request_budget_stops_and_the_next_run_finishes(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    with serve(trs_site()) as server:
        profile = profile_for("trs", server.url + "/fzzfjs/index.html")
        first = crawl({**profile, "limits": {**profile["limits"], "max_pages": 4}}, out)
        assert (first.requests, first.finished) == (4, False)
        assert len(server.hits()) == 4
        second = crawl(profile, out)
        assert second.finished and second.resumed
    assert {
        p for p, r in by_path(manifest_rows(out)).items() if r["matched"] == 1 and r["kind"] == "article"
    } == TRS_REPORTS


def test_command_line_with_year_range(tmp_path: Path) -> None:
    from extractor.cli import main

    out = tmp_path / "raw"
    with serve(trs_site()) as server:
        code = main(
            [
                "crawl",
                "--profile",
                "trs",
                "--out",
                str(out),
                "--start-url",
                server.url + "/fzzfjs/index.html",
                "--years",
                "2020-2021",
                "--delay",
                "0.1",
                "--contact",
                "someone@uni.example",
                "--max-pages",
                "100",
            ]
        )
        # --start-url gives the host, but not permission to reach a loopback address.
        assert code == 0 and server.hits() == []
        profile = write_profile(tmp_path, "trs", server.url + "/fzzfjs/index.html")
        code = main(
            [
                "crawl",
                "--profile",
                str(profile),
                "--out",
                str(out),
                "--years",
                "2020-2021",
                "--contact",
                "someone@uni.example",
            ]
        )
        assert code == 0
        paths = requested(server)
        agents = {h.headers["user-agent"] for h in server.hits()}
    assert "/fzzfjs/202003/t20200320_80.html" not in paths  # the 2019 report
    assert TRS_REPORTS - {"/fzzfjs/202003/t20200320_80.html"} <= paths
    assert agents == {f"extractor/{__version__} (+someone@uni.example)"}
    assert "private_address" in set(skipped(out).values())


def test_command_line_refuses_a_profile_without_start_urls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from extractor.cli import main

    assert main(["crawl", "--profile", "generic", "--out", str(tmp_path / "raw")]) == 2
    assert "--start-url" in capsys.readouterr().err
    assert main(["crawl", "--profile", "no-such-profile", "--out", str(tmp_path / "raw")]) == 2


def _chain_page(handler: Handler, hit: Hit) -> None:
    """/news/index_N.html brings one new (non-report) item per page; /empty/index_N.html brings none."""
    folder, name = hit.route.rsplit("/", 1)
    n = int(name.removeprefix("index").removesuffix(".html").lstrip("_") or 0)
    item = (
        f'<li><a href="t{n}.html">第{n}期工作动态</a><span>2022-01-01</span></li>'
        if folder == "/news" or n == 0
        else ""
    )
    body = (
        f'<html><head><meta charset="utf-8"></head><body><ul class="list">{item}</ul>'
        f'<a href="index_{n + 1}.html">下一页</a></body></html>'
    )
    handler.send(hit, 200, body.encode(), {"Content-Type": "text/html; charset=utf-8"})


def test_pagination_bounds_page_numbers_and_empty_pages(tmp_path: Path) -> None:
    site = Site(routes={r"/(news|empty)/index(_\d+)?\.html": _chain_page})
    with serve(site) as server:
        profile = profile_for(
            "trs", server.url + "/news/index.html", politeness={**FAST["politeness"], "delay": 0.05}
        )
        profile["start_urls"].append(server.url + "/empty/index.html")
        profile["limits"] = {**profile["limits"], "max_list_pages": 3, "max_empty_pages": 2}
        summary = crawl(profile, tmp_path / "raw")
        paths = requested(server)
    assert {p for p in paths if p.startswith("/news/")} == {
        "/news/index.html",
        "/news/index_1.html",
        "/news/index_2.html",
        "/news/index_3.html",
    }
    assert {p for p in paths if p.startswith("/empty/")} == {
        "/empty/index.html",
        "/empty/index_1.html",
        "/empty/index_2.html",
    }
    reasons = skipped(tmp_path / "raw")
    assert reasons[server.url + "/news/index_4.html"] == "page_bound"
    assert reasons[server.url + "/empty/index_3.html"] == "pagination_trap"
    assert summary.finished


def test_private_addresses_are_refused_unless_allowed(tmp_path: Path) -> None:
    with serve(trs_site()) as server:
        profile = profile_for("trs", server.url + "/fzzfjs/index.html", allow_private=False)
        summary = crawl(profile, tmp_path / "raw")
        assert server.hits() == []
    assert summary.skipped["private_address"] == 1 and summary.finished


# ---------------------------------------------------------------------------------------------
# Hanweb: XML data proxy, crawl delay, one page under two URLs


def test_hanweb_reads_the_data_proxy(hanweb: tuple[SiteServer, Path, CrawlSummary]) -> None:
    server, out, summary = hanweb
    proxy = [parse_qs(urlsplit(h.path).query) for h in server.hits("/module/web/jpage/dataproxy.jsp")]
    assert [(q["startrecord"], q["endrecord"], q["perpage"], q["columnid"], q["webid"]) for q in proxy] == [
        (["1"], ["45"], ["15"], ["123"], ["1"]),
        (["46"], ["50"], ["15"], ["123"], ["1"]),
    ]
    articles = {h.route for h in server.hits() if h.route.startswith("/art/")}
    assert articles == {
        "/art/2023/2/20/art_123_789.html",
        "/art/2022/1/14/art_123_456.html",
        "/art/2022/1/14/art_124_456.html",
        "/art/2021/2/5/art_123_321.html",
    }
    assert len(server.hits("/module/download/downfile.jsp")) == 1
    rows = by_path(manifest_rows(out))
    record_48 = rows["/art/2021/2/5/art_123_321.html"]
    assert record_48["list_page"].endswith(
        "startrecord=46&endrecord=50&perpage=15&col=1&webid=1&path=/&columnid=123"
        "&unitid=4399&webname=%E6%AA%80%E6%BA%AA%E9%95%87&permissiontype=0"
    )
    attachment = rows["/module/download/downfile.jsp?classid=0&filename=2201141530123.pdf"]
    assert attachment["path"].endswith(".pdf") and attachment["content_type"] == "application/octet-stream"
    assert summary.finished and summary.failed == 0


def test_hanweb_data_proxy_by_post(tmp_path: Path) -> None:
    with serve(hanweb_site(method="post")) as server:
        profile = profile_for(
            "hanweb", server.url + "/col/col123/index.html", pagination={"dataproxy": {"method": "post"}}
        )
        summary = crawl(profile, tmp_path / "raw")
        proxy = server.hits("/module/web/jpage/dataproxy.jsp")
    assert [(h.method, h.path.split("?")[1], h.form["columnid"], h.form["unitid"]) for h in proxy] == [
        ("POST", "startrecord=1&endrecord=45&perpage=15", "123", "4399"),
        ("POST", "startrecord=46&endrecord=50&perpage=15", "123", "4399"),
    ]
    assert (summary.reports, summary.attachments, summary.failed) == (4, 1, 0)


def test_hanweb_crawl_delay_from_robots(hanweb: tuple[SiteServer, Path, CrawlSummary]) -> None:
    server, _, _ = hanweb
    assert_paced([h for h in server.hits() if h.route != "/robots.txt"], 0.3)


def test_same_page_under_two_urls_is_stored_once(hanweb: tuple[SiteServer, Path, CrawlSummary]) -> None:
    _, out, _ = hanweb
    rows = by_path(manifest_rows(out))
    one, two = rows["/art/2022/1/14/art_123_456.html"], rows["/art/2022/1/14/art_124_456.html"]
    assert one["sha256"] == two["sha256"] and one["path"] == two["path"]
    documents = read_manifest(out)
    assert len(documents) == len({r["sha256"] for r in rows.values() if r["kind"] != "list"}) == 4
    info = next(info for _, info in documents if info["source_url"] == one["url"])
    assert info["other_urls"] == [two["url"]]
    assert (info["title"], info["published_date"], info["doc_number"]) == (
        "檀溪镇2021年法治政府建设年度报告",
        "2022-01-14",
        "檀政〔2022〕3号",
    )
    pdf = next(info for _, info in documents if "downfile" in info["source_url"])
    assert pdf["parent_url"] == one["url"] and pdf["title"] == "檀溪镇2021年法治政府建设年度报告"


# ---------------------------------------------------------------------------------------------
# Generic: an unknown site, every fault


GENERIC_ARTICLES = {
    "/xxgk/fdzdgknr/fzzfjs/202302/t20230215_301.html",
    "/xxgk/fdzdgknr/fzzfjs/202202/t20220228_201.html",
    "/xxgk/fdzdgknr/fzzfjs/202003/t20200310_101.html",
}


def test_generic_finds_the_column_and_its_reports(
    generic: tuple[SiteServer, SiteServer, Path, CrawlSummary],
) -> None:
    server, _, out, summary = generic
    paths = requested(server)
    assert GENERIC_ARTICLES | {GENERIC_PDF_2020, GENERIC_PDF_2021, GENERIC_DOCX_2022} <= paths
    # Links that are neither on the way to the reports nor reports are left alone.
    assert not paths & {
        "/news/index.html",
        "/news/2022/0301.html",
        "/hdjl/index.html",
        "/xxgk/ysqgk.html",
        "/xxgk/fdzdgknr/jgzn/index.html",
        "/xxgk/fdzdgknr/fzzfjs/202301/t20230105_300.html",
        "/xxgk/fdzdgknr/fzzfjs/202001/t20200106_100.html",
        "/xxgk/fdzdgknr/ghjh/t20220110_11.html",
    }
    rows = by_path(manifest_rows(out))
    assert rows["/xxgk/fdzdgknr/fzzfjs/"]["kind"] == "list"  # a column named 法治政府建设年度报告
    assert {p for p, r in rows.items() if r["kind"] == "article" and r["matched"] == 1} == GENERIC_ARTICLES
    assert rows[GENERIC_PDF_2020]["parent_url"] is None  # a file linked straight from the list
    assert rows[GENERIC_DOCX_2022]["path"].endswith(".docx")
    assert summary.finished
    assert_paced(server.hits(), DELAY)


def test_generic_never_leaves_its_host_nor_ignores_robots(
    generic: tuple[SiteServer, SiteServer, Path, CrawlSummary],
) -> None:
    server, offsite, out, _ = generic
    assert offsite.hits() == []
    assert not [h for h in server.hits() if h.route.startswith("/private/")]
    reasons = skipped(out)
    assert reasons[server.url + "/private/2018report.html"] == "robots"
    assert reasons[offsite.url + "/fzzfjs/2021.html"] == "offsite"
    assert reasons["http://example.invalid/fzzfjs/report2021.html"] == "offsite"
    assert reasons[offsite.url + "/scan.pdf"] == "offsite"  # a redirect that tried to leave


def test_generic_faults_are_recorded_not_fatal(
    generic: tuple[SiteServer, SiteServer, Path, CrawlSummary],
) -> None:
    server, _, out, _ = generic
    rows = by_path(manifest_rows(out))
    errors = {p: (r["status"], (r["error"] or "").split(":")[0]) for p, r in rows.items() if r["error"]}
    assert errors == {
        "/xxgk/fdzdgknr/fzzfjs/202202/P020220228202.pdf": (404, "http_404"),
        "/files/loop.pdf": (302, "redirect_loop"),
        "/files/huge.zip": (200, "too_large"),
        "/files/slow.pdf": (None, "timeout"),
        "/files/moved.pdf": (302, "offsite_redirect"),
    }
    assert [h.route for h in server.hits() if h.route.startswith("/files/loop")] == [
        "/files/loop.pdf",
        "/files/loop2.pdf",
    ]
    assert len(server.hits("/files/slow.pdf")) == 2  # one retry
    assert rows["/files/huge.zip"]["sha256"] is None and rows["/files/loop.pdf"]["final_url"].endswith(
        "loop2.pdf"
    )
    # The endless 下一页 chain: page 3 repeats page 2, so page 4 is never asked for.
    assert server.hits("/xxgk/fdzdgknr/fzzfjs/list_3.html") and not server.hits(
        "/xxgk/fdzdgknr/fzzfjs/list_4.html"
    )
    assert skipped(out)[server.url + "/xxgk/fdzdgknr/fzzfjs/list_4.html"] == "pagination_trap"


def test_attachment_names_cannot_escape_the_folder(
    generic: tuple[SiteServer, SiteServer, Path, CrawlSummary],
) -> None:
    _, _, out, _ = generic
    row = by_path(manifest_rows(out))["/download.do?file=../../etc/passwd"]
    stored = (out / row["path"]).resolve()
    assert stored.parent.parent == out.resolve() and stored.name == f"{row['sha256']}.bin"
    assert stored.read_bytes().startswith(b"%PDF")
    assert not [p for p in out.parent.rglob("*passwd*")]


def test_run_on_the_crawl_folder_keeps_source_urls(
    tmp_path: Path, generic: tuple[SiteServer, SiteServer, Path, CrawlSummary]
) -> None:
    from extractor.runner import run

    server, _, out, _ = generic
    summary = run([out], tmp_path / "run", workers=1, progress=False)
    with (tmp_path / "run" / "documents.csv").open(encoding="utf-8") as fh:
        documents = list(csv.DictReader(fh))
    assert sum(summary.statuses.values()) == len(documents) == 7
    found = {(d["source_url"].removeprefix(server.url), d["format"]) for d in documents}
    assert found == {(p, "html") for p in GENERIC_ARTICLES} | {
        (GENERIC_PDF_2021, "pdf"),
        (GENERIC_PDF_2020, "pdf"),
        (GENERIC_DOCX_2022, "docx"),
        ("/download.do?file=../../etc/passwd", "pdf"),
    }
    # The manifest.csv alone is enough too.
    assert len(read_manifest(out / "manifest.csv")) == 7


def test_a_crawl_folder_inside_a_corpus_expands_through_its_manifest(
    tmp_path: Path, generic: tuple[SiteServer, SiteServer, Path, CrawlSummary]
) -> None:
    from extractor.runner import expand_inputs

    _, _, out, _ = generic
    corpus = tmp_path / "corpus"
    shutil.copytree(out, corpus / "raw")
    (corpus / "notes.txt").write_text("某街道2021年法治政府建设工作报告", encoding="utf-8")
    items = expand_inputs([corpus])
    assert len(items) == 8  # the 7 crawled documents, no list page, and the loose file
    assert {i.path.name for i in items if not i.source_info} == {"notes.txt"}
    assert [i.path for i in expand_inputs([corpus / "raw" / "manifest.sqlite"])] == [
        i.path for i in items if i.source_info
    ]


# ---------------------------------------------------------------------------------------------
# The README's worked example


def _readme_profile() -> dict[str, Any]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("```yaml\n# my-county.yaml\n", 1)[1].split("```", 1)[0]
    return yaml.safe_load(block)


def test_readme_worked_example_profile(tmp_path: Path) -> None:
    column = "/zwgk/zfxxgk/fdzdgknr/fzzfjsndbg/"

    def rows(*items: tuple[str, str, str]) -> str:
        return "".join(
            f'<tr><td><a href="{href}">{title}</a></td><td class="date">{date}</td></tr>'
            for href, title, date in items
        )

    def page(body: str) -> bytes:
        return f'<html><head><meta charset="utf-8"></head><body>{body}</body></html>'.encode()

    files = {
        column + "index.shtml": page(
            '<table class="list">'
            + rows(
                ("./202403/t20240301_7.shtml", "某县2023年法治政府建设年度报告", "2024-03-01"),
                ("./202402/t20240201_6.shtml", "关于报送2023年法治政府建设年度报告的通知", "2024-02-01"),
            )
            + '</table><div class="page"><a href="index_1.shtml">2</a></div>'
        ),
        column + "index_1.shtml": page(
            '<table class="list">'
            + rows(
                ("./202303/t20230301_5.shtml", "某县2022年法治政府建设年度报告", "2023-03-01"),
                ("./201903/t20190301_1.shtml", "某县2018年法治政府建设年度报告", "2019-03-01"),
            )
            + "</table>"
        ),
        column + "202403/t20240301_7.shtml": page(
            '<h1>某县2023年法治政府建设年度报告</h1><div class="nav"><a href="/guide.pdf">办事指南</a></div>'
            '<div id="UCAP-CONTENT"><p>正文</p></div><p>附件：<a href="P020240301.pdf">报告全文.pdf</a></p>'
        ),
        column + "202403/P020240301.pdf": b"%PDF-1.4 report",
        column + "202303/t20230301_5.shtml": page(
            '<h1>某县2022年法治政府建设年度报告</h1><div id="UCAP-CONTENT">正文</div>'
        ),
    }
    profile_path = tmp_path / "my-county.yaml"
    example = _readme_profile()
    with serve(Site(files=files)) as server:
        example["start_urls"] = [server.url + column + "index.shtml"]
        example["allow_private"] = True
        example["politeness"] = {**example["politeness"], "delay": 0.05}
        profile_path.write_text(yaml.safe_dump(example, allow_unicode=True), encoding="utf-8")
        summary = crawl(load_profile(profile_path), tmp_path / "raw")
        paths = requested(server)
    # Not the notice, not the 2018 report (years from 2019), not the PDF outside the article body.
    assert paths == {
        "/robots.txt",
        column + "index.shtml",
        column + "index_1.shtml",
        column + "202403/t20240301_7.shtml",
        column + "202403/P020240301.pdf",
        column + "202303/t20230301_5.shtml",
    }
    assert (summary.reports, summary.attachments, summary.finished) == (2, 1, True)
