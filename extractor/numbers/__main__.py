"""Print the numbers stage's output for a text, as a candidate for review.

    python -m extractor.numbers "全年调解各类纠纷300余件"             # full mention records
    python -m extractor.numbers --fixture "发放资料近15万份"          # {"req": ..., "res": [...]}
    python -m extractor.numbers --indicators --file report.txt       # indicator rows

A fixture candidate is only a starting point: check every value, unit and qualifier by hand before
adding it to tests/fixtures/numbers/.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

# Fields written into a fixture candidate; empty ones are left out so fixtures stay readable.
FIXTURE_FIELDS = ("surface", "value", "value_high", "unit", "unit_norm", "approx", "kind", "delta_value",
                  "delta_type", "is_target", "scope", "rule")


def fixture_item(mention: dict[str, Any]) -> dict[str, Any]:
    """The reviewed part of a mention, as stored in tests/fixtures/numbers/*.json."""
    return {k: mention[k] for k in FIXTURE_FIELDS if mention.get(k) not in (None, False, "")}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m extractor.numbers", description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="*", help="text to read (joined by newlines)")
    parser.add_argument("--file", help="run the whole pipeline on a file (TXT, HTML, PDF, DOCX), headings included")
    parser.add_argument("--fixture", action="store_true", help="print {'req', 'res'} fixture candidates")
    parser.add_argument("--indicators", action="store_true", help="print indicator rows instead of mentions")
    args = parser.parse_args(argv)

    from extractor.clean import clean
    from extractor.indicators import map_indicators
    from extractor.numbers import find_mentions

    out: list[Any] = []
    if args.file:
        from extractor.pipeline import process_file

        doc = process_file(args.file)
        if doc.status != "ok":
            sys.stderr.write(f"{args.file}: {doc.status}: {doc.message}\n")
            return 1
        if args.fixture:
            out.append({"req": doc.text, "res": [fixture_item(m) for m in doc.mentions]})
        else:
            out.extend(doc.indicators if args.indicators else doc.mentions)
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    texts = [clean(t).text for t in args.text] if args.fixture else [clean("\n".join(args.text)).text]
    for text in texts:
        mentions = find_mentions(text, [])
        if args.indicators:
            out.extend(map_indicators(text, mentions))
        elif args.fixture:
            out.append({"req": text, "res": [fixture_item(m) for m in mentions]})
        else:
            out.extend(mentions)
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
