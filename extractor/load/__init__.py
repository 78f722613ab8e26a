"""Load stage: bytes in, reading text out, the loader chosen by sniffing the content."""

from __future__ import annotations

from dataclasses import dataclass

from extractor.errors import DocumentError
from extractor.load.sniff import sniff
from extractor.model import Loaded

SUPPORTED = ("txt", "html", "mht", "pdf", "docx")


@dataclass(frozen=True)
class Limits:
    """Per-document limits; past one the document gets a clear status and the batch goes on."""

    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 500
    time_limit: float = 120.0
    # Decompressed size allowed for a DOCX/zip member, against zip bombs.
    max_unzipped: int = 200 * 1024 * 1024
    ocr_pages: int = 50


def load_bytes(data: bytes, name: str = "", limits: Limits | None = None, charset: str | None = None) -> Loaded:
    """Detect the format of `data` and run the matching loader; raise DocumentError on failure.

    `charset` is the one an HTTP response declared for an HTML page (from the crawl manifest).
    """
    limits = limits or Limits()
    if not data:
        raise DocumentError("E002")
    if len(data) > limits.max_bytes:
        raise DocumentError("E001", size=len(data), limit=limits.max_bytes)
    fmt = sniff(data, name)
    if fmt == "txt":
        from extractor.load.text import load_txt

        return load_txt(data)
    if fmt == "html":
        from extractor.load.html import load_html

        return load_html(data, charset)
    if fmt == "mht":
        from extractor.load.html import load_mht

        return load_mht(data)
    if fmt == "pdf":
        from extractor.load.pdf import load_pdf

        return load_pdf(data, limits)
    if fmt == "docx":
        from extractor.load.docx import load_docx

        return load_docx(data, limits)
    if fmt == "binary":
        raise DocumentError("E010", fmt="binary")
    raise DocumentError("E004", fmt=fmt)


__all__ = ["SUPPORTED", "Limits", "Loaded", "load_bytes", "sniff"]
