"""Shared fixtures: paths to the bundled corpus and the shared gold folder."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "corpora" / "seed" / "chongqing-rongchang-changyuan-2021.txt"
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def seed_path() -> Path:
    """The real seed report bundled in corpora/."""
    return SEED


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The seed report as text."""
    return SEED.read_text(encoding="utf-8")
