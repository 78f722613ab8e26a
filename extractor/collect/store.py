"""Crawl state on disk: raw files named by hash, and one SQLite file holding the manifest and the frontier.

Every fetch is committed in one transaction together with the links it revealed, so a crawl
killed at any moment resumes from the last committed fetch: nothing stored is fetched again and
nothing is recorded twice.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from extractor.collect.urls import folder_name

SCHEMA_VERSION = 1

# The manifest's columns, in the order of manifest.csv.
MANIFEST_COLUMNS = (
    "url",
    "final_url",
    "status",
    "content_type",
    "sha256",
    "bytes",
    "path",
    "fetched_at",
    "kind",
    "list_page",
    "title",
    "page_title",
    "published_date",
    "parent_url",
    "matched",
    "doc_number",
    "index_no",
    "publisher",
    "etag",
    "last_modified",
    "error",
    "depth",
)

_DDL = """
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS manifest (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL UNIQUE,
    final_url TEXT, status INTEGER, content_type TEXT, sha256 TEXT, bytes INTEGER, path TEXT,
    fetched_at TEXT, kind TEXT NOT NULL, list_page TEXT, title TEXT, page_title TEXT, published_date TEXT,
    parent_url TEXT, matched INTEGER, doc_number TEXT, index_no TEXT, publisher TEXT, etag TEXT,
    last_modified TEXT, error TEXT, depth INTEGER
);
CREATE INDEX IF NOT EXISTS manifest_sha256 ON manifest (sha256);
CREATE TABLE IF NOT EXISTS frontier (
    url TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, depth INTEGER NOT NULL,
    page_no INTEGER NOT NULL, empty_streak INTEGER NOT NULL, list_page TEXT, title TEXT,
    published_date TEXT, parent_url TEXT, verdict TEXT, state TEXT NOT NULL DEFAULT 'pending'
);
CREATE TABLE IF NOT EXISTS passes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, profile TEXT, started_at TEXT, finished_at TEXT
);
CREATE TABLE IF NOT EXISTS skipped (url TEXT PRIMARY KEY, reason TEXT, found_on TEXT, seen_at TEXT);
CREATE TABLE IF NOT EXISTS pass_items (url TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS pass_pages (hash TEXT PRIMARY KEY, url TEXT);
"""


def now_iso() -> str:
    """The current time as an ISO 8601 UTC timestamp (seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Entry:
    """A URL in the frontier, with what the page that linked it said about it."""

    url: str
    kind: str  # list | article | attachment
    depth: int = 0
    page_no: int = 0
    empty_streak: int = 0
    list_page: str | None = None
    title: str | None = None
    published_date: str | None = None
    parent_url: str | None = None
    # The title filter's verdict on the link text: yes | maybe (None for lists and start URLs).
    verdict: str | None = None
    seq: int = 0


class Store:
    """The crawl folder: `<out>/<host>/<sha256>.<ext>` files and `<out>/manifest.sqlite`."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.tmp = out / ".tmp"
        # Partial downloads of a killed crawl: never referenced by the manifest.
        if self.tmp.is_dir():
            for stale in self.tmp.iterdir():
                stale.unlink(missing_ok=True)
        self.tmp.mkdir(exist_ok=True)
        self.db = sqlite3.connect(out / "manifest.sqlite", isolation_level=None)
        self.db.row_factory = sqlite3.Row
        # WAL: a reader (a researcher's notebook) never blocks the crawl; NORMAL sync survives a
        # killed process (only an OS crash could lose the last commits).
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_DDL)
        self.db.execute("INSERT OR IGNORE INTO info VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self._seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM frontier").fetchone()[0]

    # -- passes -----------------------------------------------------------------------------

    def begin_pass(self, profile: str) -> bool:
        """Resume the unfinished pass (True), or start a new one over a fresh frontier (False)."""
        last = self.db.execute("SELECT id, finished_at FROM passes ORDER BY id DESC LIMIT 1").fetchone()
        if last is not None and last["finished_at"] is None:
            return True
        with self.transaction():
            self.db.execute("DELETE FROM frontier")
            self.db.execute("DELETE FROM pass_items")
            self.db.execute("DELETE FROM pass_pages")
            self.db.execute("INSERT INTO passes (profile, started_at) VALUES (?, ?)", (profile, now_iso()))
        self._seq = 0
        return False

    def finish_pass(self) -> None:
        """Mark the current pass complete: the next crawl starts a new one (a re-crawl)."""
        with self.transaction():
            self.db.execute(
                "UPDATE passes SET finished_at = ? WHERE id = (SELECT MAX(id) FROM passes)", (now_iso(),)
            )

    # -- frontier ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit: everything inside commits together or not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def add(self, entries: Iterable[Entry]) -> list[Entry]:
        """Add URLs not yet in this pass's frontier; return those that were new."""
        added = []
        for entry in entries:
            entry.seq = self._seq + 1
            cur = self.db.execute(
                "INSERT OR IGNORE INTO frontier (url, seq, kind, depth, page_no, empty_streak, list_page, title,"
                " published_date, parent_url, verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.url,
                    entry.seq,
                    entry.kind,
                    entry.depth,
                    entry.page_no,
                    entry.empty_streak,
                    entry.list_page,
                    entry.title,
                    entry.published_date,
                    entry.parent_url,
                    entry.verdict,
                ),
            )
            if cur.rowcount:
                self._seq = entry.seq
                added.append(entry)
        return added

    def pending(self) -> list[Entry]:
        """URLs of this pass not yet fetched, in discovery order."""
        rows = self.db.execute(
            "SELECT url, kind, depth, page_no, empty_streak, list_page, title, published_date, parent_url,"
            " verdict, seq FROM frontier WHERE state = 'pending' ORDER BY seq"
        ).fetchall()
        return [Entry(**dict(row)) for row in rows]

    def settle(self, url: str, state: str) -> None:
        """Mark a frontier URL done, failed or skipped."""
        self.db.execute("UPDATE frontier SET state = ? WHERE url = ?", (state, url))

    def skip(self, url: str, reason: str, found_on: str | None) -> None:
        """Note a URL that was deliberately not requested (robots, offsite, private address, trap)."""
        self.db.execute(
            "INSERT OR REPLACE INTO skipped VALUES (?, ?, ?, ?)", (url, reason, found_on, now_iso())
        )

    def new_items(self, urls: Iterable[str]) -> int:
        """Remember list items seen in this pass; return how many were not seen before."""
        return sum(
            self.db.execute("INSERT OR IGNORE INTO pass_items VALUES (?)", (u,)).rowcount for u in set(urls)
        )

    def seen_page(self, digest: str, url: str) -> str | None:
        """The other list page of this pass with the same items, if any (a pagination trap)."""
        row = self.db.execute("SELECT url FROM pass_pages WHERE hash = ?", (digest,)).fetchone()
        if row is not None and row["url"] != url:
            return str(row["url"])
        self.db.execute("INSERT OR IGNORE INTO pass_pages VALUES (?, ?)", (digest, url))
        return None

    # -- manifest ---------------------------------------------------------------------------

    def previous(self, url: str) -> dict[str, Any] | None:
        """The manifest row of `url` from an earlier fetch, if any."""
        row = self.db.execute("SELECT * FROM manifest WHERE url = ?", (url,)).fetchone()
        return dict(row) if row is not None else None

    def record(self, row: dict[str, Any]) -> None:
        """Insert or update the manifest row of a URL (its first-fetch order is kept)."""
        values = {column: row.get(column) for column in MANIFEST_COLUMNS}
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "url")
        self.db.execute(
            f"INSERT INTO manifest ({columns}) VALUES ({marks}) ON CONFLICT (url) DO UPDATE SET {updates}",
            tuple(values.values()),
        )

    def keep_file(self, tmp: Path, sha256: str, extension: str, url: str) -> str:
        """Move a downloaded file to `<host>/<sha256><ext>`, or drop it when that content is stored already.

        Returns the stored path relative to the crawl folder. The name comes from the hash alone,
        never from the server or the link, so no name can escape the folder.
        """
        row = self.db.execute(
            "SELECT path FROM manifest WHERE sha256 = ? AND path IS NOT NULL ORDER BY id LIMIT 1", (sha256,)
        ).fetchone()
        if row is not None and (self.out / row["path"]).is_file():
            tmp.unlink(missing_ok=True)
            return str(row["path"])
        relative = f"{folder_name(url)}/{sha256}{extension}"
        target = self.out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
        return relative

    def rows(self) -> list[dict[str, Any]]:
        """All manifest rows in first-fetch order."""
        columns = ", ".join(MANIFEST_COLUMNS)
        return [dict(r) for r in self.db.execute(f"SELECT {columns} FROM manifest ORDER BY id")]

    def export_csv(self) -> Path:
        """Write manifest.csv (atomically) from the SQLite manifest."""
        path = self.out / "manifest.csv"
        tmp = path.with_name(f"manifest.csv.{os.getpid()}.tmp")
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows())
        os.replace(tmp, path)
        return path

    def close(self) -> None:
        """Fold the write-ahead log back into the database file and close it."""
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.execute("PRAGMA journal_mode=DELETE")
        self.db.close()
        with contextlib.suppress(OSError):
            self.tmp.rmdir()
