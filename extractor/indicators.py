"""Indicators stage: bind numeric mentions to the canonical indicator schema."""

from __future__ import annotations

from typing import Any


def map_indicators(text: str, mentions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return indicator rows (long form) for the mentions of one document."""
    return []
