"""Batch runs: expand inputs, process each document in isolation, cache results, write tables."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor import __version__
from extractor.model import Document
from extractor.outputs import RunWriter
from extractor.pipeline import Options, process_file, sha256_file

log = logging.getLogger("extractor")

# Names never treated as input documents when walking folders.
_SKIP_NAMES = {".DS_Store", "Thumbs.db", "README.md", "manifest.sqlite", "manifest.csv"}
_SKIP_SUFFIXES = (".gold.json", ".tmp", ".part")


@dataclass(frozen=True)
class InputItem:
    """One input document: a path plus what the crawl manifest knows about it."""

    path: Path
    source_info: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class RunSummary:
    """What a run did, as written to run.json."""

    out: Path
    statuses: dict[str, int]
    tables: dict[str, int]
    processed: int
    cached: int
    seconds: float


def expand_inputs(inputs: Iterable[str | Path], exclude: Path | None = None) -> list[InputItem]:
    """Walk files and folders into a sorted, de-duplicated list of input items."""
    items: dict[Path, InputItem] = {}
    excluded = exclude.resolve() if exclude else None
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if not child.is_file() or _skipped(child, path, excluded):
                    continue
                items.setdefault(child, InputItem(child))
        else:
            # A missing path still becomes a row (status error), so nothing the user named is lost.
            items.setdefault(path, InputItem(path))
    return [items[p] for p in sorted(items, key=lambda p: str(p))]


def _skipped(path: Path, root: Path, excluded: Path | None) -> bool:
    rel = path.relative_to(root)
    if any(part.startswith(".") for part in rel.parts):
        return True
    if path.name in _SKIP_NAMES or path.name.endswith(_SKIP_SUFFIXES):
        return True
    return bool(excluded and excluded in path.resolve().parents)


def cache_key(doc_sha: str, options: Options, source_info: dict[str, Any]) -> str:
    """Key of a cached record: content, package version, schema/rules version and options."""
    from extractor.rules import rules_fingerprint, schema_version

    parts = [doc_sha, __version__, schema_version(), rules_fingerprint(), options.key(),
             json.dumps(source_info, sort_keys=True, ensure_ascii=False, default=str)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class Cache:
    """Per-document results stored inside the output folder, one gzipped JSON file each."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json.gz"

    def get(self, key: str) -> dict[str, Any] | None:
        """Return the cached record, or None when absent or unreadable."""
        path = self._path(key)
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, EOFError, json.JSONDecodeError):
            return None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Store a record atomically (temp file, then rename)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as fh:
            json.dump(record, fh, ensure_ascii=False)
        os.replace(tmp, path)


def _work(item: InputItem, options: Options) -> dict[str, Any]:
    """The unit of work every engine runs: one path in, one record dict out."""
    return process_file(item.path, options, item.source_info).to_dict()


def run(
    inputs: Iterable[str | Path],
    out: str | Path,
    *,
    options: Options | None = None,
    workers: int | None = None,
    engine: str = "pool",
    scheduler: str | None = None,
    force: bool = False,
    arguments: dict[str, Any] | None = None,
    progress: bool | None = None,
) -> RunSummary:
    """Process every input into the tables of `out`; one failing document never stops the batch."""
    started = time.perf_counter()
    options = options or Options()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    items = expand_inputs(inputs, exclude=out)
    cache = Cache(out / ".cache")

    # 1. Work out which documents need processing: the rest come from the cache.
    keys: list[str | None] = []
    todo: list[tuple[int, InputItem]] = []
    for i, item in enumerate(items):
        try:
            key = cache_key(sha256_file(item.path), options, item.source_info)
        except OSError:
            key = None
        keys.append(key)
        if key is None or force or cache.get(key) is None:
            todo.append((i, item))

    # 2. Process what is missing; each finished record goes straight to the cache.
    fresh: dict[int, dict[str, Any]] = {}
    bar = _progress(len(todo), progress)
    for i, record in _engine(engine, workers, scheduler)(todo, options):
        key = keys[i]
        if key is not None:
            cache.put(key, record)
        else:
            fresh[i] = record  # unreadable input: nothing to key it on, keep it for this run only
        bar(record)

    # 3. Assemble the tables in input order, streaming one record at a time.
    from extractor import tables

    writer = RunWriter(out)
    statuses: Counter[str] = Counter()
    try:
        for i, item in enumerate(items):
            record = fresh.get(i) if keys[i] is None else cache.get(keys[i])
            if record is None:  # cache vanished under us: redo this one in-process
                record = _work(item, options)
            record["source"] = str(item.path)
            doc = Document.from_dict(record)
            doc.timings = {}
            statuses[doc.status] += 1
            writer.add_record(_public(doc))
            for table, row in tables.rows(doc):
                writer.add_row(table, row)
        summary = RunSummary(
            out=out,
            statuses=dict(sorted(statuses.items())),
            tables=dict(writer.counts),
            processed=len(todo),
            cached=len(items) - len(todo),
            seconds=round(time.perf_counter() - started, 3),
        )
        writer.close({"run.json": json.dumps(_run_info(summary, options, arguments), ensure_ascii=False, indent=2)})
    except BaseException:
        writer.abort()
        raise
    return summary


def _public(doc: Document) -> dict[str, Any]:
    """The record as published: contact details (personal data) are left out."""
    record = doc.to_dict()
    record.pop("contact", None)
    record.pop("timings", None)
    return record


def _run_info(summary: RunSummary, options: Options, arguments: dict[str, Any] | None) -> dict[str, Any]:
    from extractor.rules import rules_fingerprint, schema_version

    return {
        "package_version": __version__,
        "schema_version": schema_version(),
        "rules_fingerprint": rules_fingerprint(),
        "arguments": arguments or {},
        "limits": vars(options.limits),
        "documents": sum(summary.statuses.values()),
        "statuses": summary.statuses,
        "tables": summary.tables,
        "processed": summary.processed,
        "cached": summary.cached,
        "seconds": summary.seconds,
    }


Engine = Callable[[list[tuple[int, InputItem]], Options], Iterator[tuple[int, dict[str, Any]]]]


def _engine(name: str, workers: int | None, scheduler: str | None) -> Engine:
    if name == "dask":
        from extractor.engines import dask_engine

        return dask_engine(workers, scheduler)
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n <= 1:
        return _serial
    from extractor.engines import pool_engine

    return pool_engine(n)


def _serial(todo: list[tuple[int, InputItem]], options: Options) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, item in todo:
        yield i, _work(item, options)


def _progress(total: int, enabled: bool | None) -> Callable[[dict[str, Any]], None]:
    """A progress bar on a terminal, plain log lines otherwise."""
    if total == 0:
        return lambda record: None
    if enabled is None:
        enabled = sys.stderr.isatty()
    if enabled:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="doc", file=sys.stderr)

        def tick(record: dict[str, Any]) -> None:
            bar.update(1)
            if bar.n >= total:
                bar.close()

        return tick
    done = [0]

    def line(record: dict[str, Any]) -> None:
        done[0] += 1
        log.info("[%d/%d] %s %s", done[0], total, record.get("status"), record.get("source"))

    return line
