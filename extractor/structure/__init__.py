"""Structure stage: heading tree, canonical sections and report metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from extractor.model import Loaded


@dataclass
class Structure:
    """What the structure stage returns for one cleaned text."""

    headings: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, Any] = field(default_factory=dict)


def analyse(text: str, loaded: Loaded) -> Structure:
    """Find headings, classify sections and read metadata from a cleaned text."""
    return Structure()
