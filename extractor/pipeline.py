"""The per-document function: one input in, one Document record out, never an exception.

Stages run as a cascade; each is a pure function of the previous stage's output:
load → clean → structure → numbers → indicators.
"""

from __future__ import annotations

import contextlib
import hashlib
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.errors import DocumentError
from extractor.load import Limits
from extractor.model import Document, Loaded


@dataclass(frozen=True)
class Options:
    """Settings that change what a document's record holds (part of the cache key)."""

    limits: Limits = field(default_factory=Limits)
    # Keep the cleaned text in the record (the review page and eval need it).
    keep_text: bool = True
    # Trigger finder of the indicators stage: "scan" (dictionary scan, fast) or "spacy" (the same
    # catalog as spaCy Matcher patterns, for cross-checks).
    matcher: str = "scan"

    def __post_init__(self) -> None:
        if self.matcher not in ("scan", "spacy"):
            raise ValueError(f"unknown matcher {self.matcher!r} (scan or spacy)")

    def key(self) -> str:
        """A short stable digest of the options, for the cache key."""
        return hashlib.sha256(repr(self).encode()).hexdigest()[:12]


def sha256_file(path: Path) -> str:
    """Hash a file in chunks, so that a huge file is never read whole into memory."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def process_file(path: str | Path, options: Options | None = None, source_info: dict[str, Any] | None = None) -> Document:
    """Process one file on disk into a Document; failures become a status, never an exception."""
    options = options or Options()
    path = Path(path)
    doc = Document(doc_id="", source=str(path))
    try:
        size = path.stat().st_size
        doc.bytes = size
        doc.doc_id = sha256_file(path)
        if size > options.limits.max_bytes:
            raise DocumentError("E001", size=size, limit=options.limits.max_bytes)
        data = path.read_bytes()
    except DocumentError as exc:
        return _fail(doc, exc)
    except OSError as exc:
        doc.doc_id = doc.doc_id or hashlib.sha256(str(path).encode()).hexdigest()
        return _fail(doc, DocumentError("E013", detail=exc.strerror or str(exc)))
    return process_bytes(data, path.name, options, source_info, doc=doc)


def process_bytes(
    data: bytes,
    name: str = "",
    options: Options | None = None,
    source_info: dict[str, Any] | None = None,
    doc: Document | None = None,
) -> Document:
    """Process one document given as bytes; `name` is only a hint for the format."""
    options = options or Options()
    if doc is None:
        doc = Document(doc_id=hashlib.sha256(data).hexdigest(), source=name, bytes=len(data))
    info = dict(source_info or {})
    doc.source_url = info.get("source_url") or None
    stage = "load"
    try:
        with _time_limit(options.limits.time_limit):
            t0 = time.perf_counter()
            from extractor.load import load_bytes, sniff

            doc.format = sniff(data, name)
            # The crawl manifest may carry the charset of the HTTP response (HTML pages).
            loaded = load_bytes(data, name, options.limits, charset=info.get("charset") or None)
            # Page metadata from the crawl manifest fills what the file itself does not say.
            for key in ("title", "published_date", "source_url", "publisher", "doc_number", "index_no"):
                if info.get(key) and not loaded.page_meta.get(key):
                    loaded.page_meta[key] = str(info[key])
            doc.timings["load"] = time.perf_counter() - t0
            stage = "analyse"
            analyse(loaded, doc, options)
    except DocumentError as exc:
        return _fail(doc, exc)
    except MemoryError:
        return _fail(doc, DocumentError("E009", stage=stage, detail="out of memory"))
    except RecursionError:
        return _fail(doc, DocumentError("E005", fmt=doc.format, detail="structure nested too deeply"))
    except Exception as exc:  # one document's bug must never stop the batch
        detail = f"{type(exc).__name__}: {exc}"
        tb = traceback.extract_tb(exc.__traceback__)
        if tb:
            detail += f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})"
        return _fail(doc, DocumentError("E009", stage=stage, detail=detail))
    return doc


def analyse(loaded: Loaded, doc: Document, options: Options | None = None) -> Document:
    """Run the text stages (clean → structure → numbers → indicators) on a loaded document."""
    from extractor import indicators, numbers, structure
    from extractor.clean import clean

    options = options or Options()
    doc.format = loaded.format
    doc.pages = loaded.pages
    doc.encoding = loaded.encoding
    doc.text_source = loaded.text_source
    doc.ocr_confidence = loaded.ocr_confidence
    doc.warnings = list(loaded.warnings)
    doc.source_url = doc.source_url or loaded.page_meta.get("source_url") or None

    t0 = time.perf_counter()
    cleaned = clean(loaded.text)
    doc.timings["clean"] = time.perf_counter() - t0
    doc.chars = len(cleaned.text)
    if not cleaned.text.strip():
        raise DocumentError("E003")

    t0 = time.perf_counter()
    found = structure.analyse(cleaned.text, loaded)
    doc.headings, doc.metadata, doc.provenance, doc.contact = (
        found.headings,
        found.metadata,
        found.provenance,
        found.contact,
    )
    doc.timings["structure"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    doc.mentions = numbers.find_mentions(cleaned.text, doc.headings)
    doc.timings["numbers"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    doc.indicators = indicators.map_indicators(cleaned.text, doc.mentions, options.matcher)
    doc.timings["indicators"] = time.perf_counter() - t0

    doc.status, doc.message = "ok", ""
    if options.keep_text:
        doc.text = cleaned.text
    return doc


def _fail(doc: Document, exc: DocumentError) -> Document:
    doc.status = exc.status
    doc.message = exc.message
    doc.headings, doc.mentions, doc.indicators = [], [], []
    return doc


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that stage code cannot swallow it."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Abort the block after `seconds` (main thread only; worker threads rely on the engine)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def _on_alarm(signum: int, frame: object) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, _on_alarm)
    # An outer alarm (a test runner's timeout, an embedding application) is paused and re-armed
    # afterwards with what is left of it, so that nesting never cancels it.
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer_delay) if outer_delay else seconds)
    try:
        yield
    except _Timeout:
        raise DocumentError("E008", limit=seconds) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            left = max(outer_delay - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, outer_interval)
