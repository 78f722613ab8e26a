"""Batch runs: expand inputs, process each document in isolation, cache results, write tables.

A run is incremental and crash-safe. Every finished record goes at once, atomically, into a cache
inside the output folder, keyed by the document's content hash, the package version, the schema
version, the rules fingerprint and the options; a rerun processes only what the cache lacks. The
tables are written row by row into a staging folder while documents finish, always in input order,
and moved into place at the end; a run killed at any point loses only the documents in flight, and
the next run finishes the job.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
import logging
import os
import shutil
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor import __version__
from extractor.model import Document
from extractor.outputs import Chunk, RunWriter, encode_rows
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
    # Where the worker that finishes this document stores its cache entry itself: set by the run
    # for pool workers, which share this machine's disk, so that the driver does not do the file
    # work for every document. Left empty for remote (Dask) workers: the driver stores theirs.
    cache_to: str | None = field(default=None, hash=False, compare=False)


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
    """Walk files and folders into a sorted, de-duplicated list of input items.

    A crawl folder (holding manifest.sqlite) or a manifest named directly expands through the
    manifest: each stored report once, with the URL, title and date the site showed for it.
    """
    from extractor.collect.manifest import find_manifests, read_manifest

    items: dict[Path, InputItem] = {}
    excluded = exclude.resolve() if exclude else None
    for raw in inputs:
        path = Path(raw)
        manifests = find_manifests(path)
        for manifest in manifests:
            for document, info in read_manifest(manifest):
                items.setdefault(document, InputItem(document, info))
        crawled = [manifest.parent for manifest in manifests]
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if not child.is_file() or _skipped(child, path, excluded):
                    continue
                if any(folder in child.parents for folder in crawled):
                    continue  # list pages and the like: the manifest says what is a document
                items.setdefault(child, InputItem(child))
        elif not manifests:
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


def run_fingerprint(options: Options) -> str:
    """What every cache key of a run shares: package version, schema version, rules and options."""
    from extractor.rules import rules_fingerprint, schema_version

    return "\x1f".join([__version__, schema_version(), rules_fingerprint(), options.key()])


def cache_key(
    doc_sha: str, options: Options, source_info: dict[str, Any], fingerprint: str | None = None
) -> str:
    """Key of a cached record: content, package version, schema/rules version, options and manifest data."""
    parts = [
        doc_sha,
        fingerprint or run_fingerprint(options),
        json.dumps(source_info, sort_keys=True, ensure_ascii=False, default=str),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def pack(record: dict[str, Any] | str) -> bytes:
    """A record as the cache stores it: its JSON text, gzipped (fast level; no timestamp, so repeatable)."""
    text = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)
    return gzip.compress(text.encode("utf-8"), compresslevel=1, mtime=0)


def store(path: Path, blob: bytes) -> None:
    """Write a packed cache entry atomically (temp file, then rename), from the driver or a worker."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, path)


class Cache:
    """Per-document results stored inside the output folder, one gzipped JSON file each."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json.gz"

    def has(self, key: str) -> bool:
        """Tell whether a record is stored under `key` (without reading it)."""
        return self._path(key).is_file()

    def get(self, key: str) -> dict[str, Any] | None:
        """Return the cached record, or None when absent or unreadable."""
        try:
            with gzip.open(self._path(key), "rt", encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, EOFError, ValueError, zlib.error):
            return None

    def put(self, key: str, record: dict[str, Any] | str | bytes) -> None:
        """Store a record (its JSON text, or that text already packed) atomically: readers see the old file or the new one."""
        store(self._path(key), record if isinstance(record, bytes) else pack(record))

    def path(self, key: str) -> str:
        """The file of the entry under `key`, for a worker to `store` into."""
        return str(self._path(key))

    def tidy(self) -> None:
        """Remove temp files left by a run that was killed while writing."""
        for tmp in self.root.glob("*/*.tmp"):
            tmp.unlink(missing_ok=True)


class HashIndex:
    """Remembers (path, size, mtime, ctime) → sha256, so a rerun does not read unchanged files again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, list[Any]] = {}
        self.dirty = False
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                self.entries = json.load(fh)
        except (OSError, EOFError, ValueError, zlib.error):
            self.entries = {}

    def sha256(self, path: Path) -> str:
        """The content hash of `path`, read from the index when the file looks unchanged."""
        st = path.stat()
        name = os.path.abspath(path)
        # ctime too: tools that restore mtimes (rsync -t, unzip) cannot set it.
        signature = [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        known = self.entries.get(name)
        if known is not None and known[:3] == signature:
            return str(known[3])
        digest = sha256_file(path)
        self.entries[name] = [*signature, digest]
        self.dirty = True
        return digest

    def save(self) -> None:
        """Write the index atomically, if anything changed."""
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as fh:
            json.dump(self.entries, fh, ensure_ascii=False)
        os.replace(tmp, self.path)
        self.dirty = False


def _work(item: InputItem, options: Options) -> dict[str, Any]:
    """The unit of work every engine runs: one path in, one record dict out."""
    doc = process_file(item.path, options, item.source_info)
    # A shallow dict, not Document.to_dict(): dataclasses.asdict deep-copies every heading and
    # mention, which took longer than analysing the document.
    return {name: getattr(doc, name) for name in _FIELDS}


def _jsonable(value: Any) -> Any:
    """JSON form of what a stage may leave inside a record besides plain data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass
class Prepared:
    """One finished record as the run needs it: the packed cache entry, the JSONL line, the table rows."""

    blob: bytes
    line: str
    chunks: dict[str, Chunk]
    status: str
    source: str


def prepare(item: InputItem, record: dict[str, Any] | str) -> Prepared:
    """Turn a record into what the writer appends; pool and Dask workers call it, sparing the driver.

    Everything is derived from the record's JSON form, whichever way it arrived, so a record
    fresh from any engine and the same record read back from the cache give the same bytes.
    """
    text = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False, default=_jsonable)
    return _prepared(item, json.loads(text), text)


def _prepared(item: InputItem, data: dict[str, Any], text: str) -> Prepared:
    """`prepare` for a record already decoded from JSON (as read from the cache)."""
    from extractor import tables

    data["source"] = str(item.path)
    data["timings"] = {}
    doc = Document.from_dict(data)
    line = json.dumps(_public(data), ensure_ascii=False, sort_keys=True)
    by_table: dict[str, list[dict[str, Any]]] = {t: [] for t in tables.TABLES}
    for table, row in tables.rows(doc):
        by_table[table].append(row)
    chunks = {t: encode_rows(t, rows) for t, rows in by_table.items()}
    # Packed here, in the worker: compressing is the costliest part of caching a record; a worker
    # told where the entry goes stores it too, and hands the driver no bytes to write.
    blob = pack(text) if text else b""
    if blob and item.cache_to:
        store(Path(item.cache_to), blob)
        blob = b""
    return Prepared(blob=blob, line=line, chunks=chunks, status=doc.status, source=str(item.path))


class RunLockedError(RuntimeError):
    """Another run is writing into the same output folder."""


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder for the whole run (no-op where flock is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one run per folder is then up to the user
        yield
        return
    with (out / ".lock").open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(
                f"another extractor run is writing into {out}; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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
    with _locked(out):
        # What a killed run left behind: a staging folder and cache temp files. The lock says no
        # other run owns them.
        for stale in out.glob(".staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        cache = Cache(out / ".cache")
        cache.tidy()
        items = expand_inputs(inputs, exclude=out)

        # 1. Work out which documents need processing: the rest come from the cache.
        keys = _cache_keys(items, options, out / ".cache")
        todo = [
            (i, item) for i, item in enumerate(items) if force or keys[i] is None or not cache.has(keys[i])
        ]
        if engine == "pool":  # local workers store their records in the cache themselves
            todo = [
                (i, item if keys[i] is None else dataclasses.replace(item, cache_to=cache.path(keys[i])))
                for i, item in todo
            ]

        # 2. Process what is missing while writing the tables: each finished record goes to the
        # cache at once, and the tables advance in input order as far as finished records allow.
        writer = RunWriter(out)
        try:
            assembler = _Assembler(items, keys, cache, writer, options, {i for i, _ in todo})
            bar = _progress(len(todo), progress)
            assembler.advance()
            for i, record in _engine(engine, workers, scheduler, len(todo))(todo, options):
                ready = record if isinstance(record, Prepared) else prepare(items[i], record)
                if keys[i] is not None and ready.blob:
                    cache.put(keys[i], ready.blob)
                bar(ready.status, ready.source)
                assembler.finished(i, ready)
            assembler.advance(final=True)
            summary = RunSummary(
                out=out,
                statuses=dict(sorted(assembler.statuses.items())),
                tables=dict(writer.counts),
                processed=len(todo),
                cached=len(items) - len(todo),
                seconds=round(time.perf_counter() - started, 3),
            )
            info = _run_info(summary, options, arguments, engine, workers)
            writer.close({"run.json": json.dumps(info, ensure_ascii=False, indent=2)})
        except BaseException:
            writer.abort()
            raise
        # The comparable tables (panel.*) are built from the documents.jsonl just published.
        from extractor.panel import write_panel

        summary.tables.update(write_panel(out))
    return summary


def _cache_keys(items: list[InputItem], options: Options, root: Path) -> list[str | None]:
    """The cache key of every item (None when the file cannot be read), hashing only changed files."""
    index = HashIndex(root / "hashes.json.gz")
    fingerprint = run_fingerprint(options)
    keys: list[str | None] = []
    for item in items:
        try:
            keys.append(cache_key(index.sha256(item.path), options, item.source_info, fingerprint))
        except OSError:
            keys.append(None)
    index.save()
    return keys


# Finished records held in memory while waiting for an earlier document; past this many, they are
# read back from the cache when their turn comes, so memory stays bounded whatever the corpus size.
_HELD = 64


class _Assembler:
    """Writes records to the tables strictly in input order, as soon as each one's turn comes."""

    def __init__(
        self,
        items: list[InputItem],
        keys: list[str | None],
        cache: Cache,
        writer: RunWriter,
        options: Options,
        todo: set[int],
    ) -> None:
        self.items, self.keys, self.cache, self.writer, self.options = items, keys, cache, writer, options
        self.todo = todo
        self.held: dict[int, Prepared] = {}
        self.next = 0
        self.statuses: Counter[str] = Counter()

    def finished(self, i: int, ready: Prepared) -> None:
        """Note a finished document, then write every record whose turn has come."""
        self.todo.discard(i)
        if i == self.next or len(self.held) < _HELD or self.keys[i] is None:
            self.held[i] = ready
        self.advance()

    def advance(self, final: bool = False) -> None:
        """Write records in input order up to the first one still being processed (all when `final`)."""
        while self.next < len(self.items) and (final or self.next not in self.todo):
            i = self.next
            item = self.items[i]
            ready = self.held.pop(i, None)
            if ready is None and self.keys[i] is not None:
                record = self.cache.get(self.keys[i])
                if record is not None:
                    ready = _prepared(item, record, "")
            if ready is None:  # the cache file vanished or was damaged under us: redo it here
                ready = prepare(item, _work(item, self.options))
            self.statuses[ready.status] += 1
            self.writer.add_jsonl(ready.line)
            for table, chunk in ready.chunks.items():
                self.writer.add_chunk(table, chunk)
            self.next += 1


_FIELDS = tuple(Document.__dataclass_fields__)


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """The record as published: contact details (personal data) and timings are left out."""
    return {k: record.get(k) for k in _FIELDS if k not in ("contact", "timings")}


def _run_info(
    summary: RunSummary, options: Options, arguments: dict[str, Any] | None, engine: str, workers: int | None
) -> dict[str, Any]:
    from extractor.rules import rules_fingerprint, schema_version

    return {
        "package_version": __version__,
        "schema_version": schema_version(),
        "rules_fingerprint": rules_fingerprint(),
        "arguments": arguments or {},
        "limits": vars(options.limits),
        "engine": engine,
        "workers": workers,
        "documents": sum(summary.statuses.values()),
        "statuses": summary.statuses,
        "tables": summary.tables,
        "processed": summary.processed,
        "cached": summary.cached,
        "seconds": summary.seconds,
    }


Engine = Callable[[list[tuple[int, InputItem]], Options], Iterator[tuple[int, dict[str, Any] | Prepared]]]


def _engine(name: str, workers: int | None, scheduler: str | None, jobs: int) -> Engine:
    """The engine for a run: Dask, a process pool (the default, one process per core), or serial."""
    if name == "dask":
        from extractor.engines import dask_engine

        return dask_engine(workers, scheduler)
    if name != "pool":
        raise ValueError(f"unknown engine {name!r} (pool or dask)")
    n = workers or os.cpu_count() or 1
    if n <= 1 or jobs == 0:
        return _serial
    from extractor.engines import pool_engine

    # Even one document gets a worker process of its own: a native crash then costs only its row.
    return pool_engine(min(n, jobs))


def _serial(todo: list[tuple[int, InputItem]], options: Options) -> Iterator[tuple[int, dict[str, Any]]]:
    """Run in this process, one document after the other (`--workers 1`)."""
    for i, item in todo:
        yield i, _work(item, options)


def _progress(total: int, enabled: bool | None) -> Callable[[str, str], None]:
    """A progress bar on a terminal, plain log lines otherwise."""
    if total == 0:
        return lambda status, source: None
    if enabled is None:
        enabled = sys.stderr.isatty()
    if enabled:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="doc", file=sys.stderr)

        def tick(status: str, source: str) -> None:
            bar.update(1)
            if bar.n >= total:
                bar.close()

        return tick
    done = [0]

    def line(status: str, source: str) -> None:
        done[0] += 1
        log.info("[%d/%d] %s %s", done[0], total, status, source)

    return line
