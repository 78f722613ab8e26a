"""The notebook: committed without outputs, holds no logic, and runs headless on the bundled corpus."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from extractor.notebooks import execute_notebook, images, main

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "compare_subdistricts.ipynb"


def test_committed_notebook_has_no_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_notebook_holds_no_logic() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "import extractor" in source and "extractor.load_panel(" in source
    for forbidden in ("def ", "class ", "lambda", "import re", "from extractor."):
        assert forbidden not in source


def test_notebook_runs_on_the_bundled_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXTRACTOR_NOTEBOOK_OUT", str(tmp_path / "out"))
    nb = execute_notebook(NOTEBOOK)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert (tmp_path / "out" / "panel.parquet").is_file()
    text = "".join(
        str(o.get("data", {}).get("text/plain", "")) for c in nb.cells for o in c.get("outputs", [])
    )
    assert "report_year" in text and "街道" in text
    pngs = images(nb)
    assert pngs and all(p.startswith(b"\x89PNG") for p in pngs)


def test_runner_reports_a_failing_notebook(tmp_path: Path) -> None:
    bad = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("raise RuntimeError('broken on purpose')")]
    )
    nbformat.write(bad, tmp_path / "bad.ipynb")
    assert main([str(tmp_path)]) == 1
