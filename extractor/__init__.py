"""extractor: annual rule-of-law government reports (法治政府建设年度报告) into comparable research data.

The public API is imported lazily so that `extractor --help` stays instant:

    >>> import extractor
    >>> doc = extractor.extract("corpora/seed/chongqing-rongchang-changyuan-2021.txt")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pathlib import Path

    from extractor.model import Document
    from extractor.runner import RunSummary


def extract(path: str | Path) -> Document:
    """Process one file and return its Document record (status, metadata, headings, mentions, indicators)."""
    from extractor.pipeline import process_file

    return process_file(path)


def run(paths: Any, out: str | Path, **kwargs: Any) -> RunSummary:
    """Process files and folders into the tables of the folder `out`; see `extractor.runner.run`."""
    from extractor.runner import run as _run

    if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__"):
        paths = [paths]
    return _run(paths, out, **kwargs)


def load_panel(out: str | Path) -> Any:
    """Return the panel of a run folder as a pandas DataFrame: one row per region × report year.

    Columns: region (province, city, county, township, admin_code, level), report_year, the merged
    sources, then for every catalog indicator its value (money in 万元, rates in %) and a
    `<indicator>__flag` column (ok, approx, conflict, target or missing).
    """
    from extractor.panel import load_panel as _load_panel

    return _load_panel(out)


__all__ = ["__version__", "extract", "load_panel", "run"]
