"""Pin tests/golden/floors.yaml at the scores the pipeline reaches now; floors never go down.

    .venv/bin/python tests/golden/pin_floors.py           # print the new floors
    .venv/bin/python tests/golden/pin_floors.py --write   # and write them to floors.yaml

Each floor becomes the current score rounded down to three decimals, or the floor already in the
file when that is higher (a score below its floor is a regression to fix, not a floor to lower).
Run it on a clean checkout of main, so that work in progress does not leak into the floors.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from extractor.evaluate import Report

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FLOORS = HERE / "floors.yaml"
GOLD = [REPO.parent / "shared" / "gold", HERE]
# Metrics pinned for the whole set and for each document.
OVERALL = ("headings_f1", "headings_marker_f1", "numbers_f1", "numbers_q_f1", "metadata_acc")
PER_DOCUMENT = ("headings_f1", "numbers_f1", "numbers_q_f1", "metadata_acc")

HEADER = """\
# Quality floors for `extractor eval` (Makefile target `eval`, and tests/test_eval.py).
#
# RULE: floors only go up. A floor is the score the pipeline reached when it was pinned, rounded
# down to three decimals. When a change lowers a score below its floor, fix the change (or, when
# the gold itself is wrong, fix the gold file and say so in the commit); never lower the floor.
# When a stage improves, raise the floors by re-measuring on a clean checkout of main:
#
#   .venv/bin/extractor eval ../shared/gold tests/golden --floors tests/golden/floors.yaml
#   .venv/bin/python tests/golden/pin_floors.py --write     # keeps every floor at least where it was
#
# Layout: `overall` holds micro-averaged floors over every gold document evaluated; `documents`
# holds floors per gold file, keyed by its name without `.gold.json`. Metrics (each in [0, 1]):
# headings_{p,r,f1} (level + text), headings_marker_{p,r,f1} (level + marker), numbers_{p,r,f1}
# (value + unit), numbers_q_{p,r,f1} (value + unit + qualifier), metadata_acc (share of gold
# metadata fields right). Targets the stages work toward: seed headings_f1 = 1.0, seed
# metadata_acc = 1.0, seed numbers_f1 >= 0.97 and numbers_q_f1 >= 0.95, fixtures headings_f1 >= 0.95.
"""


def _down(x: float | None) -> float:
    return 0.0 if x is None else math.floor(x * 1000 + 1e-9) / 1000


def pinned(report: Report, old: dict[str, Any]) -> dict[str, Any]:
    """New floors from a report's scores, keeping every old floor that is higher."""
    old_overall = old.get("overall") or {}
    old_docs = old.get("documents") or {}
    overall = report.overall()
    out: dict[str, Any] = {"overall": {m: max(_down(overall[m]), old_overall.get(m, 0.0)) for m in OVERALL}}
    documents: dict[str, Any] = {}
    for d in report.documents:
        metrics = d.metrics()
        previous = old_docs.get(d.name) or {}
        documents[d.name] = {m: max(_down(metrics[m]), previous.get(m, 0.0)) for m in PER_DOCUMENT}
    # Floors of documents not evaluated now stay as they were.
    for name, floors in old_docs.items():
        documents.setdefault(name, floors)
    out["documents"] = documents
    return out


def main(argv: list[str] | None = None) -> int:
    """Print (and with --write, save) floors pinned at the current scores."""
    import yaml

    from extractor.evaluate import evaluate, load_floors

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {FLOORS.name} instead of only printing")
    args = parser.parse_args(argv)
    old = load_floors(FLOORS) if FLOORS.is_file() else {}
    floors = pinned(evaluate(GOLD), old)
    text = HEADER + yaml.safe_dump(floors, sort_keys=False, allow_unicode=True)
    print(text, end="")
    if args.write:
        FLOORS.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
