"""Command line: parses arguments and calls library functions. Imports stay lazy for a fast --help."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from extractor import __version__


def _add_limits(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("limits")
    g.add_argument("--max-bytes", type=int, default=50 * 1024 * 1024, help="largest input file (default 50 MB)")
    g.add_argument("--max-pages", type=int, default=500, help="largest PDF page count (default 500)")
    g.add_argument("--time-limit", type=float, default=120.0, help="seconds per document (default 120)")
    g.add_argument("--ocr-pages", type=int, default=50, help="pages OCRed in a scanned PDF (default 50)")


def _add_matcher(p: argparse.ArgumentParser) -> None:
    p.add_argument("--matcher", choices=("scan", "spacy"), default="scan",
                   help="indicator trigger finder: dictionary scan (default, fast) or the same catalog as "
                        "spaCy Matcher patterns (slower, for cross-checks)")


def _options(args: argparse.Namespace) -> object:
    from extractor.load import Limits
    from extractor.pipeline import Options

    return Options(limits=Limits(max_bytes=args.max_bytes, max_pages=args.max_pages, time_limit=args.time_limit,
                                 ocr_pages=args.ocr_pages), matcher=getattr(args, "matcher", "scan"))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `extractor` command."""
    parser = argparse.ArgumentParser(
        prog="extractor",
        description="Turn annual rule-of-law government reports (法治政府建设年度报告) into research data.",
    )
    parser.add_argument("--version", action="version", version=f"extractor {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="process files/folders (or a crawl manifest) into tables")
    p.add_argument("inputs", nargs="+", help="files, folders, or a crawl folder/manifest")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores; 1 = serial)")
    p.add_argument("--engine", choices=("pool", "dask"), default="pool", help="execution engine")
    p.add_argument("--scheduler", default=None, help="dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--force", action="store_true", help="ignore the cache and redo every document")
    p.add_argument("--no-progress", action="store_true", help="plain log lines instead of a progress bar")
    _add_matcher(p)
    _add_limits(p)

    p = sub.add_parser("extract", help="print one document's JSON record")
    p.add_argument("file")
    p.add_argument("--no-text", action="store_true", help="leave the cleaned text out of the record")
    _add_matcher(p)
    _add_limits(p)

    p = sub.add_parser("eval", help="score the pipeline against gold annotation files")
    p.add_argument("gold", nargs="+", help="gold JSON files or folders holding *.gold.json")
    p.add_argument("--floors", default=None, help="YAML file of minimum scores; exit 1 when one is missed")
    p.add_argument("--root", default=None, help="folder that gold 'file' paths are relative to")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    # SUPPRESS keeps the top-level -v working: a subparser default would overwrite it.
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="list unmatched headings, numbers and metadata")

    p = sub.add_parser("crawl", help="collect reports from a government site, politely and resumably")
    p.add_argument("--profile", required=True, help="site profile name or YAML path")
    p.add_argument("--out", required=True, help="raw corpus folder, e.g. corpora/raw")
    p.add_argument("--start-url", action="append", default=None, help="override the profile's start URLs")
    p.add_argument("--max-pages", type=int, default=None, help="stop after this many requests")
    p.add_argument("--delay", type=float, default=None, help="seconds between requests to one host")
    p.add_argument("--contact", default=None, help="contact shown in the User-Agent")
    p.add_argument("--years", default=None, help="report years to keep, e.g. 2021 or 2019-2023 (from the titles)")
    p.add_argument("--domain", action="append", default=None, help="also allow this host (repeatable)")

    p = sub.add_parser("export", help="write a run's tables as csv, parquet, xlsx, dta or duckdb")
    p.add_argument("out", help="a run's output folder")
    p.add_argument("--format", action="append", required=True,
                   choices=("csv", "parquet", "xlsx", "dta", "duckdb"), help="repeatable")
    p.add_argument("--dest", default=None, help="where to write (default OUT/export)")
    p.add_argument("--bom", action="store_true", help="CSV with a UTF-8 BOM, for Excel")
    p.add_argument("--with-contact", action="store_true", help="include contact details (personal data)")

    p = sub.add_parser("codebook", help="write the codebook (Markdown and CSV) from schemas/")
    p.add_argument("--out", default="codebook", help="output folder (default ./codebook)")

    p = sub.add_parser("review", help="write a self-contained HTML review page for a run")
    p.add_argument("out", help="a run's output folder")
    p.add_argument("--dest", default=None, help="HTML file (default OUT/review.html)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `extractor` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(message)s",
        stream=sys.stderr,
    )
    return int(_COMMANDS[args.command](args) or 0)


def _cmd_run(args: argparse.Namespace) -> int:
    from extractor.runner import run

    summary = run(
        args.inputs,
        args.out,
        options=_options(args),
        workers=args.workers,
        engine=args.engine,
        scheduler=args.scheduler,
        force=args.force,
        arguments={k: v for k, v in vars(args).items() if k != "command"},
        progress=False if args.no_progress else None,
    )
    docs = sum(summary.statuses.values())
    print(f"{docs} document(s) in {summary.seconds:.1f}s ({summary.processed} processed, {summary.cached} from cache)")
    print("  by status: " + ", ".join(f"{k}={v}" for k, v in summary.statuses.items()))
    print("  rows:      " + ", ".join(f"{k}={v}" for k, v in summary.tables.items()))
    print(f"  written to {summary.out}")
    return 0


def _cmd_extract(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from extractor.pipeline import process_file

    options = replace(_options(args), keep_text=not args.no_text)
    doc = process_file(args.file, options)
    json.dump(doc.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from extractor.evaluate import cli_eval

    return cli_eval(args)


def _cmd_crawl(args: argparse.Namespace) -> int:
    from extractor.collect import cli_crawl

    return cli_crawl(args)


def _cmd_export(args: argparse.Namespace) -> int:
    from extractor.export import cli_export

    return cli_export(args)


def _cmd_codebook(args: argparse.Namespace) -> int:
    from extractor.codebook import cli_codebook

    return cli_codebook(args)


def _cmd_review(args: argparse.Namespace) -> int:
    from extractor.review import cli_review

    return cli_review(args)


_COMMANDS = {
    "run": _cmd_run,
    "extract": _cmd_extract,
    "eval": _cmd_eval,
    "crawl": _cmd_crawl,
    "export": _cmd_export,
    "codebook": _cmd_codebook,
    "review": _cmd_review,
}

if __name__ == "__main__":
    raise SystemExit(main())
