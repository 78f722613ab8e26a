"""Collect stage: crawl government sites for the reports, politely and resumably, into a raw corpus.

    >>> from extractor.collect import crawl, load_profile                        # doctest: +SKIP
    >>> crawl(load_profile("trs", {"start_urls": ["https://www.example.gov.cn/fzzfjs/"]}), "corpora/raw")

The result is `<out>/<host>/<sha256>.<ext>` files and `<out>/manifest.sqlite` (+ manifest.csv);
`extractor run <out>` reads the manifest so that each document keeps its URL, title and date.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from extractor.collect.crawler import CrawlSummary


def load_profile(ref: str | Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load a site profile by name (trs, hanweb, generic) or path; see extractor.collect.profile."""
    from extractor.collect.profile import load_profile as _load

    return _load(ref, overrides)


def crawl(profile: dict[str, Any], out: str | Path) -> CrawlSummary:
    """Crawl a loaded profile into `out`, resuming an unfinished crawl there; see extractor.collect.crawler."""
    from extractor.collect.crawler import crawl as _crawl

    return _crawl(profile, out)


def _years(text: str) -> dict[str, int | None]:
    match = re.fullmatch(r"\s*(\d{4})?\s*(-|:|–)?\s*(\d{4})?\s*", text)
    if not match or not (match.group(1) or match.group(3)):
        raise ValueError(f"--years wants YEAR, FROM-TO, FROM- or -TO, not {text!r}")
    start, dash, end = match.groups()
    if not dash:
        end = start
    return {"from": int(start) if start else None, "to": int(end) if end else None}


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Profile settings given on the command line."""
    overrides: dict[str, Any] = {}
    if args.start_url:
        overrides["start_urls"] = list(args.start_url)
    politeness = {k: v for k, v in (("delay", args.delay), ("contact", args.contact)) if v is not None}
    if politeness:
        overrides["politeness"] = politeness
    if args.max_pages is not None:
        overrides["limits"] = {"max_pages": args.max_pages}
    if getattr(args, "years", None):
        overrides["filter"] = {"years": _years(args.years)}
    return overrides


def cli_crawl(args: argparse.Namespace) -> int:
    """`extractor crawl --profile P --out DIR`: crawl, then print what was collected."""
    import logging

    from extractor.errors import RulesError

    # One line per fetch comes from the crawler itself; the HTTP client's own lines would repeat it.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        profile = load_profile(args.profile, overrides_from_args(args))
    except (RulesError, ValueError) as exc:
        print(f"extractor crawl: {exc}", file=sys.stderr)
        return 2
    profile["domains"] = list(profile["domains"]) + list(getattr(args, "domain", None) or [])
    if not profile["start_urls"]:
        print(
            f"extractor crawl: profile {profile['name']!r} has no start URLs; give --start-url",
            file=sys.stderr,
        )
        return 2
    try:
        summary = crawl(profile, args.out)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    state = "finished" if summary.finished else "not finished (run the same command again to resume)"
    print(f"crawl {state} in {summary.seconds:.1f}s{' (resumed)' if summary.resumed else ''}")
    print(
        f"  requests:  {summary.requests} ({summary.stored} new files, {summary.unchanged} unchanged, "
        f"{summary.failed} failed)"
    )
    print(f"  documents: {summary.reports} report page(s), {summary.attachments} attachment(s)")
    if summary.skipped:
        print("  skipped:   " + ", ".join(f"{k}={v}" for k, v in sorted(summary.skipped.items())))
    print(f"  manifest:  {Path(args.out) / 'manifest.sqlite'} (and manifest.csv)")
    return 0


__all__ = ["cli_crawl", "crawl", "load_profile"]
