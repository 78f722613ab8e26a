"""The crawl loop: a persistent frontier, per-host pacing, robots.txt, retries, redirects and trap bounds.

Network requests run in a small thread pool; everything else (parsing, deciding, writing the
manifest) runs in the calling thread, one fetch at a time, each in its own transaction.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protego import Protego

from extractor.collect import parse
from extractor.collect.fetch import ROBOTS_TOKEN, Fetched, Fetcher, retry_after_seconds
from extractor.collect.store import Entry, Store, now_iso
from extractor.collect.urls import absolute, allowed, domain_entry, host_key, normalize

log = logging.getLogger("extractor.collect")

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_TRANSIENT_ERRORS = frozenset({"timeout", "connect_error", "protocol_error"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Hosts we never reach at all: every URL of theirs is skipped for this pass.
_HOST_BLOCKING_ERRORS = frozenset({"private_address", "dns_error", "bad_url"})
# Links that name a list page rather than an article, even when their text reads like a report
# title (a column called 法治政府建设年度报告).
_LIST_SHAPED = re.compile(r"(?:/|/(?:index|list|default)(?:_\d+)?\.s?html?|/col/col\d+/index\.html)$", re.I)
_MARKUP_TYPES = ("text/html", "application/xhtml", "text/xml", "application/xml")
_EXTENSIONS = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/ofd": ".ofd",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
    "application/vnd.rar": ".rar",
    "application/x-rar-compressed": ".rar",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "text/plain": ".txt",
    "text/xml": ".xml",
    "application/xml": ".xml",
}
# robots.txt is small; Google reads the first 500 KiB.
_ROBOTS_MAX_BYTES = 512 * 1024
# A Crawl-delay above this is honoured only up to it (one request a minute is polite enough).
_MAX_CRAWL_DELAY = 60.0


@dataclass
class CrawlSummary:
    """What one crawl run did."""

    out: Path
    requests: int = 0
    stored: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    reports: int = 0
    attachments: int = 0
    finished: bool = False
    resumed: bool = False
    seconds: float = 0.0


@dataclass
class _Job:
    """A frontier entry on its way: the URL of the current redirect hop and the retry count."""

    entry: Entry
    url: str
    chain: tuple[str, ...] = ()
    attempt: int = 0
    not_before: float = 0.0


@dataclass
class _Host:
    """Pacing state of one scheme://host:port."""

    key: str
    delay: float
    queue: deque[_Job] = field(default_factory=deque)
    robots: Protego | None = None
    # unknown → pending → ready, or blocked (unreachable: private address, no DNS name)
    robots_state: str = "unknown"
    robots_attempt: int = 0
    blocked_reason: str = ""
    next_allowed: float = 0.0
    active: int = 0


def extension_for(content_type: str | None, url: str, known: list[str]) -> str:
    """File extension for convenience only (the loaders sniff the bytes): from the type, else the URL."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    url_ext = parse.file_extension(url)
    if mime in ("text/html", "application/xhtml+xml"):
        return ".html"
    if url_ext in known:
        return f".{url_ext}"
    if mime in _EXTENSIONS:
        return _EXTENSIONS[mime]
    if url_ext in ("html", "htm", "shtml"):
        return ".html"
    return ".bin"


class Crawler:
    """One crawl of one profile into one folder; `run()` resumes an unfinished pass or starts a new one."""

    def __init__(self, profile: dict[str, Any], out: str | Path) -> None:
        self.profile = profile
        self.out = Path(out)
        self.politeness = profile["politeness"]
        self.limits = profile["limits"]
        self.start_urls = [normalize(u) for u in profile.get("start_urls") or []]
        self.domains = list(profile.get("domains") or []) + [domain_entry(u) for u in self.start_urls]
        self.filter = parse.TitleFilter.from_profile(profile["filter"])
        self.article_urls = [re.compile(p) for p in profile["articles"].get("url") or []]
        self.extensions = list(profile["attachments"]["extensions"])
        self.hosts: dict[str, _Host] = {}
        self.summary = CrawlSummary(out=self.out)
        self.stopping = False

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> CrawlSummary:
        """Crawl until the frontier is empty or the request budget is spent; always leave a consistent state."""
        started = time.perf_counter()
        self.store = Store(self.out)
        self.fetcher = Fetcher(self.politeness, bool(self.profile.get("allow_private")), self.store.tmp)
        concurrency = int(self.politeness["concurrency"])
        self.pool = ThreadPoolExecutor(max_workers=4 * concurrency, thread_name_prefix="crawl")
        interrupted = True
        try:
            self.summary.resumed = self.store.begin_pass(self.profile["name"])
            with self.store.transaction():
                self.store.add(self._seed(url) for url in self.start_urls)
            for entry in self.store.pending():
                self._enqueue(_Job(entry, entry.url))
            self._loop(concurrency)
            if not self.stopping and not any(h.queue for h in self.hosts.values()):
                self.store.finish_pass()
                self.summary.finished = True
            interrupted = False
        finally:
            # Interrupted (Ctrl-C): do not sit out a slow download; what is committed stays committed.
            self.pool.shutdown(wait=not interrupted, cancel_futures=True)
            self.fetcher.close()
            self._count_documents()
            self.store.export_csv()
            self.store.close()
            self.summary.seconds = round(time.perf_counter() - started, 3)
        return self.summary

    def _loop(self, concurrency: int) -> None:
        active: dict[Future[Fetched], tuple[_Job | None, _Host]] = {}
        while True:
            if not self.stopping:
                self._dispatch(active, concurrency)
            if not active:
                wake = None if self.stopping else self._next_wake(concurrency)
                if wake is None:
                    return
                time.sleep(max(0.0, wake - time.monotonic()))
                continue
            wake = None if self.stopping else self._next_wake(concurrency)
            timeout = None if wake is None else max(0.0, wake - time.monotonic())
            done, _ = wait(list(active), timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                job, host = active.pop(future)
                host.active -= 1
                fetched = future.result()
                # The delay runs from the end of the last exchange: a slow answer is no reason to hurry.
                host.next_allowed = max(host.next_allowed, fetched.finished + host.delay)
                if job is None:
                    self._robots_done(host, fetched)
                else:
                    self._handle(job, host, fetched)

    def _next_wake(self, concurrency: int) -> float | None:
        """The earliest moment a queued request may start, or None when nothing can start."""
        times = []
        for host in self.hosts.values():
            if host.queue and host.active < concurrency and host.robots_state != "pending":
                times.append(max(host.next_allowed, host.queue[0].not_before))
        return min(times) if times else None

    def _dispatch(self, active: dict[Future[Fetched], tuple[_Job | None, _Host]], concurrency: int) -> None:
        for host in list(self.hosts.values()):
            while host.queue and host.active < concurrency and not self.stopping:
                if host.robots_state == "blocked":  # nothing to wait for: no request goes there
                    self._skip_job(host.queue.popleft(), host.blocked_reason)
                    continue
                now = time.monotonic()
                if host.next_allowed > now:
                    break
                if host.robots_state == "unknown":
                    active[self._submit(host, functools.partial(self._fetch_robots, host))] = (None, host)
                    break
                if host.robots_state == "pending":
                    break
                job = host.queue[0]
                if job.not_before > now:
                    break
                host.queue.popleft()
                if host.robots is not None and not host.robots.can_fetch(job.url, ROBOTS_TOKEN):
                    self._skip_job(job, "robots")
                    continue
                active[self._submit(host, self._request(job))] = (job, host)

    def _request(self, job: _Job) -> Callable[[], Fetched]:
        """The request for a job: a GET (conditional when a copy is stored), or a data-proxy POST."""
        spec = self.profile["pagination"].get("dataproxy") or {}
        if (
            spec.get("method") == "post"
            and job.entry.kind == "list"
            and job.url.split("?")[0].endswith("dataproxy.jsp")
        ):
            url, form = parse.dataproxy_post(job.url)
            return functools.partial(self.fetcher.get, url, form=form)
        return functools.partial(self.fetcher.get, job.url, self._conditional(job))

    def _submit(self, host: _Host, request: Callable[[], Fetched]) -> Future[Fetched]:
        host.active += 1
        host.next_allowed = time.monotonic() + host.delay
        self.summary.requests += 1
        if self.summary.requests >= int(self.limits["max_pages"]):
            self.stopping = True
            log.info("request budget of %d spent; the next run resumes from here", self.limits["max_pages"])
        return self.pool.submit(request)

    def _host(self, url: str) -> _Host:
        key = host_key(url)
        if key not in self.hosts:
            self.hosts[key] = _Host(key, float(self.politeness["delay"]))
        return self.hosts[key]

    def _enqueue(self, job: _Job, front: bool = False) -> None:
        queue = self._host(job.url).queue
        if front:
            queue.appendleft(job)
        else:
            queue.append(job)

    # -- robots.txt -------------------------------------------------------------------------

    def _fetch_robots(self, host: _Host) -> Fetched:
        """GET /robots.txt, following up to five in-allowlist redirects (RFC 9309), paced by the host delay."""
        url = f"{host.key}/robots.txt"
        for _ in range(5):
            fetched = self.fetcher.get(url, max_bytes=_ROBOTS_MAX_BYTES)
            target = absolute(url, fetched.headers.get("location")) if fetched.status in _REDIRECTS else None
            if target is None or not allowed(target, self.domains):
                return fetched
            time.sleep(host.delay)
            url = target
        return fetched

    def _robots_done(self, host: _Host, fetched: Fetched) -> None:
        status = fetched.status
        text = ""
        if fetched.body is not None:
            text = fetched.body.read_bytes().decode("utf-8", errors="replace")
            fetched.discard()
        if fetched.error in _HOST_BLOCKING_ERRORS:
            host.robots_state, host.blocked_reason = "blocked", fetched.error or ""
            log.warning("not crawling %s: %s %s", host.key, fetched.error, fetched.detail)
            return
        if status is not None and 200 <= status < 300:
            host.robots = Protego.parse(text)
        elif status is not None and 400 <= status < 500 and status != 429:
            host.robots = Protego.parse("")  # no robots.txt: everything is allowed (RFC 9309 2.3.1.3)
        elif host.robots_attempt < int(self.politeness["retries"]):
            host.robots_attempt += 1
            wait_s = retry_after_seconds(fetched.headers.get("retry-after"))
            if wait_s is None:
                wait_s = float(self.politeness["backoff"]) * 2 ** (host.robots_attempt - 1)
            wait_s = min(wait_s, float(self.politeness["max_retry_after"]))
            host.next_allowed = max(host.next_allowed, time.monotonic() + wait_s)
            host.robots_state = "unknown"
            return
        else:
            # Unreachable robots.txt: assume complete disallow (RFC 9309 2.3.1.4).
            log.warning(
                "robots.txt of %s unreachable (%s): crawling nothing there", host.key, status or fetched.error
            )
            host.robots = Protego.parse("User-agent: *\nDisallow: /\n")
        host.robots_state = "ready"
        crawl_delay = host.robots.crawl_delay(ROBOTS_TOKEN)
        if crawl_delay:
            host.delay = max(host.delay, min(float(crawl_delay), _MAX_CRAWL_DELAY))

    # -- outcomes ---------------------------------------------------------------------------

    def _conditional(self, job: _Job) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for a URL whose earlier copy is on disk."""
        if job.chain or job.attempt:
            return {}
        previous = self.store.previous(job.entry.url)
        if not previous or not previous.get("path") or not (self.out / previous["path"]).is_file():
            return {}
        headers = {}
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
        return headers

    def _handle(self, job: _Job, host: _Host, fetched: Fetched) -> None:
        status = fetched.status
        now = time.monotonic()
        log.info("%s %s %s", status or fetched.error, job.entry.kind, job.url)
        if fetched.error in _HOST_BLOCKING_ERRORS:
            self._fail(job, fetched, fetched.error or "")
            return
        if fetched.error in _TRANSIENT_ERRORS or status in _RETRY_STATUSES:
            wait_s = retry_after_seconds(fetched.headers.get("retry-after"))
            if wait_s is not None and wait_s > float(self.politeness["max_retry_after"]):
                self._fail(job, fetched, "retry_after_too_long")
                return
            if job.attempt < int(self.politeness["retries"]):
                if wait_s is None:
                    wait_s = float(self.politeness["backoff"]) * 2**job.attempt
                job.attempt += 1
                job.not_before = now + wait_s
                # The whole host backs off, not just this URL.
                host.next_allowed = max(host.next_allowed, job.not_before)
                host.queue.appendleft(job)
                return
            self._fail(job, fetched, fetched.error or f"http_{status}")
            return
        if status in _REDIRECTS and fetched.headers.get("location"):
            self._redirect(job, fetched)
            return
        if fetched.error or status is None or not (200 <= status < 300 or status == 304):
            self._fail(job, fetched, fetched.error or f"http_{status}")
            return
        self._succeed(job, fetched)

    def _redirect(self, job: _Job, fetched: Fetched) -> None:
        target = absolute(job.url, fetched.headers.get("location"))
        if target is None:
            self._fail(job, fetched, "bad_redirect")
        elif target == job.url or target in job.chain:
            self._fail(job, fetched, "redirect_loop")
        elif len(job.chain) >= int(self.limits["max_redirects"]):
            self._fail(job, fetched, "too_many_redirects")
        elif not allowed(target, self.domains):
            self._fail(job, fetched, "offsite_redirect", skipped=(target, "offsite"))
        else:
            job.chain = (*job.chain, job.url)
            job.url, job.attempt, job.not_before = target, 0, 0.0
            self._enqueue(job, front=True)

    def _skip_job(self, job: _Job, reason: str) -> None:
        """A URL not requested at all (robots.txt, unreachable host); a redirect hop fails its entry."""
        with self.store.transaction():
            self.store.skip(job.url, reason, job.entry.list_page or job.entry.parent_url)
            if job.chain:
                self.store.record({**self._row(job, Fetched(url=job.url)), "error": reason})
                self.store.settle(job.entry.url, "failed")
            else:
                self.store.settle(job.entry.url, "skipped")
        self.summary.skipped[reason] += 1
        log.info("skipped (%s) %s", reason, job.url)

    def _row(self, job: _Job, fetched: Fetched) -> dict[str, Any]:
        entry = job.entry
        return {
            "url": entry.url,
            "final_url": job.url,
            "status": fetched.status,
            "content_type": fetched.headers.get("content-type"),
            "fetched_at": now_iso(),
            "kind": entry.kind,
            "list_page": entry.list_page,
            "title": entry.title,
            "published_date": entry.published_date,
            "parent_url": entry.parent_url,
            "etag": fetched.headers.get("etag"),
            "last_modified": fetched.headers.get("last-modified"),
            "depth": entry.depth,
        }

    def _fail(self, job: _Job, fetched: Fetched, error: str, skipped: tuple[str, str] | None = None) -> None:
        fetched.discard()
        row = {**self._row(job, fetched), "error": f"{error}: {fetched.detail}" if fetched.detail else error}
        previous = self.store.previous(job.entry.url)
        if previous and previous.get("sha256"):
            # A failed re-crawl keeps the copy fetched before.
            for key in (
                "sha256",
                "bytes",
                "path",
                "content_type",
                "page_title",
                "matched",
                "doc_number",
                "index_no",
                "publisher",
                "etag",
                "last_modified",
            ):
                row[key] = previous.get(key)
        with self.store.transaction():
            self.store.record(row)
            if skipped:
                self.store.skip(skipped[0], skipped[1], job.url)
            self.store.settle(job.entry.url, "failed")
        self.summary.failed += 1
        if skipped:
            self.summary.skipped[skipped[1]] += 1
        log.warning("failed (%s) %s", row["error"], job.entry.url)

    def _succeed(self, job: _Job, fetched: Fetched) -> None:
        entry = job.entry
        previous = self.store.previous(entry.url)
        row = self._row(job, fetched)
        if fetched.status == 304:
            if previous is None or not previous.get("path") or not (self.out / previous["path"]).is_file():
                self._fail(job, fetched, "unexpected_304")  # we sent no validator, or the copy is gone
                return
            for key in ("sha256", "bytes", "path", "content_type"):
                row[key] = previous.get(key)
            row["etag"] = row["etag"] or previous.get("etag")
            row["last_modified"] = row["last_modified"] or previous.get("last_modified")
            self.summary.unchanged += 1
        elif fetched.body is None or fetched.sha256 is None:
            self._fail(job, fetched, "no_body")
            return
        else:
            extension = extension_for(row["content_type"], job.url, self.extensions)
            row["sha256"], row["bytes"] = fetched.sha256, fetched.size
            row["path"] = self.store.keep_file(fetched.body, fetched.sha256, extension, job.url)
            fetched.body = None
            if previous and previous.get("sha256") == fetched.sha256:
                self.summary.unchanged += 1
            else:
                self.summary.stored += 1
        data = (self.out / row["path"]).read_bytes() if self._is_markup(row["content_type"]) else None

        children: list[Entry] = []
        skips: list[tuple[str, str, str]] = []
        if entry.kind == "article":
            self._read_article(job, data, row, children, skips)
        elif entry.kind == "attachment":
            row["matched"] = 1 if entry.parent_url or entry.verdict == "yes" else 0
        with self.store.transaction():
            if entry.kind == "list" and data is not None:
                self._read_list(job, data, row, children, skips)
            self.store.record(row)
            added = self.store.add(children)
            for url, reason, found_on in skips:
                self.store.skip(url, reason, found_on)
            self.store.settle(entry.url, "done")
        for reason in (s[1] for s in skips):
            self.summary.skipped[reason] += 1
        for child in added:
            self._enqueue(_Job(child, child.url))

    @staticmethod
    def _is_markup(content_type: str | None) -> bool:
        mime = (content_type or "").split(";", 1)[0].strip().lower()
        return mime.startswith(_MARKUP_TYPES) or not mime

    # -- reading pages ----------------------------------------------------------------------

    def _read_article(
        self,
        job: _Job,
        data: bytes | None,
        row: dict[str, Any],
        children: list[Entry],
        skips: list[tuple[str, str, str]],
    ) -> None:
        entry = job.entry
        if data is None:  # the "article" is a file (a PDF linked straight from the list)
            row["matched"] = int(entry.verdict == "yes")
            return
        soup = parse.soup_of(parse.decode_html(data, row["content_type"]))
        article = parse.read_article(soup, job.url, self.profile["articles"], self.profile["attachments"])
        row["page_title"] = article.title or None
        matched = entry.verdict == "yes" or self.filter.verdict(article.title) == "yes"
        row["matched"] = int(matched)
        for key in ("doc_number", "index_no", "publisher"):
            row[key] = article.meta.get(key)
        row["published_date"] = row["published_date"] or article.meta.get("published_date")
        if not matched:
            return
        for link in article.attachments:
            if not allowed(link.url, self.domains):
                skips.append((link.url, "offsite", entry.url))
                continue
            children.append(
                Entry(
                    url=link.url,
                    kind="attachment",
                    depth=entry.depth + 1,
                    list_page=entry.list_page,
                    title=link.title,
                    published_date=row["published_date"],
                    parent_url=entry.url,
                    verdict="yes",
                )
            )

    def _read_list(
        self,
        job: _Job,
        data: bytes,
        row: dict[str, Any],
        children: list[Entry],
        skips: list[tuple[str, str, str]],
    ) -> None:
        """Items, pagination and (unknown sites) further list pages; runs inside the fetch's transaction."""
        entry = job.entry
        text = parse.decode_html(data, row["content_type"])
        soup = parse.soup_of(text)
        lists = self.profile["lists"]
        items = parse.list_links(soup, job.url, lists, self.extensions) + parse.record_links(
            text, job.url, lists, self.extensions
        )
        row["page_title"] = parse.article_title(soup, ["title"]) or None

        as_lists: list[parse.Link] = []
        for link in items:
            verdict = self.filter.verdict(link.title)
            if verdict == "no":
                continue
            if not link.is_file and _LIST_SHAPED.search(link.url):
                as_lists.append(link)
                continue
            if not allowed(link.url, self.domains):
                skips.append((link.url, "offsite", entry.url))
                continue
            children.append(
                Entry(
                    url=link.url,
                    kind="attachment" if link.is_file else "article",
                    depth=entry.depth + 1,
                    list_page=job.url,
                    title=link.title,
                    published_date=link.date,
                    verdict=verdict,
                )
            )

        # Pagination traps: a page whose items were all seen already, or that repeats another page.
        # The page links themselves differ from page to page, so they do not count as items.
        pages = self._pages(soup, text, job.url, entry.page_no)
        item_urls = sorted({link.url for link in items} - {page.url for page in pages} - {job.url})
        fresh = self.store.new_items(item_urls)
        streak = 0 if fresh else entry.empty_streak + 1
        digest = hashlib.sha256("\n".join(item_urls).encode()).hexdigest()
        twin = self.store.seen_page(digest, entry.url) if item_urls else None
        trapped = twin is not None or streak >= int(self.limits["max_empty_pages"])
        for page in pages:
            if not allowed(page.url, self.domains) or page.url == entry.url:
                continue
            if trapped:
                skips.append((page.url, "pagination_trap", entry.url))
            elif page.page_no > int(self.limits["max_list_pages"]):
                skips.append((page.url, "page_bound", entry.url))
            else:
                children.append(
                    Entry(
                        url=page.url,
                        kind="list",
                        depth=entry.depth,
                        page_no=page.page_no,
                        empty_streak=streak,
                        list_page=job.url,
                    )
                )

        if entry.depth < int(self.limits["max_depth"]):
            follow = parse.follow_links(soup, job.url, self.profile["follow"]) + as_lists
            for link in follow:
                if allowed(link.url, self.domains) and link.url != entry.url:
                    children.append(
                        Entry(
                            url=link.url,
                            kind="list",
                            depth=entry.depth + 1,
                            list_page=job.url,
                            title=link.title,
                        )
                    )

    def _pages(self, soup: Any, text: str, url: str, page_no: int) -> list[parse.PageLink]:
        pagination = self.profile["pagination"]
        pages = parse.next_links(soup, url, pagination, page_no)
        if pagination.get("numbered"):
            pages += parse.numbered_links(soup, url, pagination["numbered"])
        if pagination.get("trs_script"):
            pages += parse.trs_pages(text, url)
        if pagination.get("dataproxy"):
            pages += parse.dataproxy_pages(
                text, url, pagination["dataproxy"], int(self.limits["max_list_pages"])
            )
        return pages

    def _seed(self, url: str) -> Entry:
        """A start URL: a list page, or an article / a file when it looks like one."""
        if parse.file_extension(url) in self.extensions:
            return Entry(url=url, kind="attachment", verdict="yes")
        if any(r.search(url) for r in self.article_urls) and not _LIST_SHAPED.search(url):
            return Entry(url=url, kind="article", verdict="maybe")
        return Entry(url=url, kind="list")

    def _count_documents(self) -> None:
        row = self.store.db.execute(
            "SELECT SUM(kind = 'article' AND matched = 1 AND sha256 IS NOT NULL),"
            " SUM(kind = 'attachment' AND sha256 IS NOT NULL) FROM manifest"
        ).fetchone()
        self.summary.reports, self.summary.attachments = int(row[0] or 0), int(row[1] or 0)


def crawl(profile: dict[str, Any], out: str | Path) -> CrawlSummary:
    """Crawl the sites of a loaded profile into `out` (resuming an unfinished crawl there)."""
    return Crawler(profile, out).run()
