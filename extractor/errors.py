"""Coded, human-readable errors; every per-document failure is one of these."""

from __future__ import annotations

# code -> (status, message template). Codes are stable: tests and users grep for them.
MESSAGES: dict[str, tuple[str, str]] = {
    "E001": ("too_large", "file is {size} bytes, over the {limit}-byte limit (--max-bytes)"),
    "E002": ("empty", "file is empty"),
    "E003": ("empty", "no text after cleaning"),
    "E004": ("unsupported_format", "detected format '{fmt}' is not supported (convert it to DOCX or PDF)"),
    "E005": ("corrupt", "{fmt} file could not be parsed: {detail}"),
    "E006": ("scanned", "PDF has no text layer on {pages} page(s); install the 'ocr' extra (pip install 'extractor[ocr]') to OCR it"),
    "E007": ("too_large", "PDF has {pages} pages, over the {limit}-page limit (--max-pages)"),
    "E008": ("error", "time limit of {limit}s exceeded"),
    "E009": ("error", "internal error in stage '{stage}': {detail}"),
    "E010": ("corrupt", "binary data, not text (detected as {fmt})"),
    "E011": ("too_large", "{what} expands to more than {limit} bytes (possible zip bomb)"),
    "E012": ("error", "worker process died: {detail}"),
    "E013": ("error", "cannot read file: {detail}"),
    "E014": ("scanned", "OCR failed: {detail}"),
    "E015": ("scanned", "PDF text layer is unreadable on {pages} page(s) (fonts without a Unicode map); install the 'ocr' extra (pip install 'extractor[ocr]') to OCR it"),
}


class DocumentError(Exception):
    """A per-document failure that maps to a status and a coded message."""

    def __init__(self, code: str, **params: object) -> None:
        status, template = MESSAGES[code]
        self.code = code
        self.status = status
        self.params = params
        super().__init__(f"[{code}] {template.format(**params)}")

    @property
    def message(self) -> str:
        """The message as shown in documents.csv."""
        return str(self)


class RulesError(ValueError):
    """A rules or schema data file failed validation at load time."""
