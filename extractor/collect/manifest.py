"""Hand-off from a crawl to `extractor run`: the stored documents with what the site said about them."""

from __future__ import annotations

import csv
import re
import sqlite3
from pathlib import Path
from typing import Any

from extractor.collect.store import MANIFEST_COLUMNS

MANIFEST_NAMES = ("manifest.sqlite", "manifest.csv")
# Keys the pipeline reads from source_info (see extractor.pipeline.process_bytes).
_PASSED_ON = ("published_date", "publisher", "doc_number", "index_no")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.I)


def manifest_file(path: str | Path) -> Path | None:
    """The manifest a path names: the file itself, or the one inside a crawl folder; None otherwise."""
    path = Path(path)
    if path.is_file() and path.name in MANIFEST_NAMES:
        return path
    if path.is_dir():
        for name in MANIFEST_NAMES:
            if (path / name).is_file():
                return path / name
    return None


def find_manifests(path: str | Path) -> list[Path]:
    """The crawl manifests a run input names: the manifest itself, or those of every crawl folder below."""
    path = Path(path)
    if path.is_file():
        return [path] if path.name in MANIFEST_NAMES else []
    if not path.is_dir():
        return []
    folders = sorted({p.parent for name in MANIFEST_NAMES for p in path.rglob(name)})
    return [m for m in (manifest_file(folder) for folder in folders) if m is not None]


def _rows(manifest: Path) -> list[dict[str, Any]]:
    if manifest.suffix == ".csv":
        with manifest.open(encoding="utf-8", newline="") as fh:
            return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(fh)]
    try:
        con = sqlite3.connect(f"{manifest.resolve().as_uri()}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        try:
            columns = ", ".join(MANIFEST_COLUMNS)
            return [dict(r) for r in con.execute(f"SELECT {columns} FROM manifest ORDER BY id")]
        finally:
            con.close()
    except sqlite3.Error as exc:
        # A damaged database: the CSV export beside it is the next best record.
        csv_copy = manifest.with_name("manifest.csv")
        if csv_copy.is_file():
            return _rows(csv_copy)
        raise ValueError(f"cannot read crawl manifest {manifest}: {exc}") from exc


def _is_document(row: dict[str, Any]) -> bool:
    if not row.get("sha256") or not row.get("path"):
        return False
    if row.get("kind") == "attachment":
        return True
    return row.get("kind") == "article" and str(row.get("matched")) == "1"


def read_manifest(path: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every stored report once (articles that pass the title filter, and attachments), with its source info.

    `path` is manifest.sqlite, manifest.csv or the crawl folder holding them. A document fetched
    under several URLs is listed once: the first URL is `source_url`, the others `other_urls`.
    Attachments take the title, date and disclosure fields of the article that links them.
    """
    manifest = manifest_file(path)
    if manifest is None:
        raise FileNotFoundError(f"no manifest.sqlite or manifest.csv at {path}")
    root = manifest.parent
    rows = _rows(manifest)
    by_url = {row["url"]: row for row in rows}
    items: dict[str, tuple[Path, dict[str, Any]]] = {}
    for row in rows:
        if not _is_document(row):
            continue
        known = items.get(row["sha256"])
        if known is not None:
            known[1].setdefault("other_urls", []).append(row["url"])
            continue
        parent = by_url.get(row.get("parent_url") or "") or {}
        if parent:
            title = parent.get("page_title") or parent.get("title") or row.get("title")
        else:
            title = row.get("page_title") or row.get("title")
        info: dict[str, Any] = {"source_url": row["url"], "title": title}
        for key in _PASSED_ON:
            info[key] = row.get(key) or parent.get(key)
        if parent:
            info["parent_url"] = parent["url"]
            info["attachment_name"] = row.get("title")
        info["list_page"] = row.get("list_page")
        charset = _CHARSET.search(row.get("content_type") or "")
        if charset:
            info["charset"] = charset.group(1)
        items[row["sha256"]] = (root / row["path"], {k: v for k, v in info.items() if v})
    return list(items.values())
