"""Plain records passed between pipeline stages; every stage reads and returns these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Document statuses, in the order a researcher reads them in documents.csv.
STATUSES = ("ok", "empty", "scanned", "unsupported_format", "corrupt", "too_large", "error")


@dataclass
class Loaded:
    """What a loader returns: the reading text of one document plus layout hints."""

    format: str
    text: str
    pages: int | None = None
    encoding: str | None = None
    # text_layer | pdfium | pdfplumber | ocr | html | docx | txt
    text_source: str = "text_layer"
    # Fields read from the page itself (HTML disclosure table, crawl manifest): title,
    # doc_number, index_no, publisher, written_date, published_date, source_url.
    page_meta: dict[str, str] = field(default_factory=dict)
    # Paragraph-leading bold runs (HTML <strong>/<b>) that may be unnumbered headings.
    bold_leads: list[str] = field(default_factory=list)
    ocr_confidence: float | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Cleaned:
    """Cleaned text with an offset map back to the loaded text."""

    text: str
    # offsets[i] is the index in the loaded text of cleaned char i; offsets[len(text)] closes the map.
    offsets: list[int]

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the cleaned text back to a span of the loaded text."""
        if not self.offsets:
            return (start, end)
        last = len(self.offsets) - 1
        s = self.offsets[min(max(start, 0), last)]
        e = self.offsets[min(max(end, 0), last)] if end > start else s
        # The last char of the span maps to its own source char; close the span after it.
        if end > start:
            e = max(e, self.offsets[min(end - 1, last)] + 1)
        return (s, e)


@dataclass
class Document:
    """The full record of one input document; serialised as one line of documents.jsonl."""

    doc_id: str
    source: str
    format: str = "unknown"
    status: str = "ok"
    message: str = ""
    pages: int | None = None
    chars: int = 0
    bytes: int = 0
    encoding: str | None = None
    text_source: str | None = None
    ocr_confidence: float | None = None
    source_url: str | None = None
    # Flat metadata values (title, issuers, region, report_year, ...).
    metadata: dict[str, Any] = field(default_factory=dict)
    # Where each metadata value came from: {field: {start, end, source}}.
    provenance: dict[str, Any] = field(default_factory=dict)
    # Personal data (contact person, phone); excluded from exports by default.
    contact: dict[str, Any] = field(default_factory=dict)
    headings: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    indicators: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    text: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON-serialisable data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        """Rebuild a record from `to_dict` output, ignoring unknown keys."""
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in names})
