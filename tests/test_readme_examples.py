"""The Python examples of README.md run as written (in a scratch folder that sees the bundled corpus)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def python_blocks(markdown: str) -> list[str]:
    """The ```python code blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    (tmp_path / "corpora").symlink_to(REPO / "corpora", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for i, block in enumerate(blocks):
            exec(compile(block, f"README.md block {i + 1}", "exec"), namespace)
    # The examples did what they say: a run folder with a panel, a record, and Stata files.
    assert (tmp_path / "out" / "demo" / "panel.parquet").is_file()
    assert "township" in printed.getvalue() and "'ok'" in printed.getvalue()
    assert list((tmp_path / "out" / "demo" / "stata").glob("*.dta"))
