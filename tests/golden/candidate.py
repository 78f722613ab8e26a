"""Print the pipeline's current output for a document as a candidate gold file, for review.

    .venv/bin/python tests/golden/candidate.py tests/golden/report.txt > tests/golden/report.gold.json

The candidate is what the pipeline sees today, not the truth: check every heading, number and
metadata value against the text and the policies of schemas/gold.schema.json, add what is missing
(`what` of each number is left empty on purpose), and only then commit it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from extractor.evaluate import candidate_gold
from extractor.pipeline import process_file


def main(argv: list[str] | None = None) -> int:
    """Print one candidate gold record as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", help="the report file (TXT, HTML, PDF, DOCX)")
    parser.add_argument("--file", default=None, help="value of the gold 'file' field (default: the file name)")
    args = parser.parse_args(argv)
    path = Path(args.document)
    doc = process_file(path)
    if doc.status != "ok":
        print(f"warning: {path}: {doc.status}: {doc.message}", file=sys.stderr)
    gold = candidate_gold(doc, args.file or path.name)
    json.dump(gold, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
