"""Numbers stage: every numeric fact in the text, with provenance."""

from __future__ import annotations

from typing import Any


def find_mentions(text: str, headings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return every numeric mention of a cleaned text, in reading order."""
    return []
