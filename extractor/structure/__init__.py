"""Structure stage: heading tree, canonical sections and report metadata."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from extractor.model import Loaded


@dataclass
class Structure:
    """What the structure stage returns for one cleaned text."""

    # Each heading: {level, marker, marker_type, text, start, end, parent, path, section, part,
    # section_reason, shape}, in reading order (sorted by start, which `locate` relies on).
    headings: list[dict[str, Any]] = field(default_factory=list)
    # Flat values: title, issuers, doc_number, reference_doc_number, addressee, report_year,
    # signed_date, published_date, region{province, city, county, township, admin_code},
    # region_path, level, problems_section_heading, plan_section_heading.
    metadata: dict[str, Any] = field(default_factory=dict)
    # For each metadata field: {start, end, source}; source: header | title | body | signature |
    # page (the HTML disclosure table or crawl manifest; no span) | inferred.
    provenance: dict[str, Any] = field(default_factory=dict)
    # Personal data, kept apart: {person, phone, spans}.
    contact: dict[str, Any] = field(default_factory=dict)


def analyse(text: str, loaded: Loaded) -> Structure:
    """Find headings, classify sections and read metadata from a cleaned text."""
    from extractor.structure.fold import fold
    from extractor.structure.headings import find_headings, match_marker
    from extractor.structure.lines import split_lines
    from extractor.structure.metadata import read_metadata, read_zones
    from extractor.structure.sections import classify

    # 0. Rules and the region table are simplified Chinese: match on a folded copy (same offsets).
    work = fold(text)
    page_meta = {k: fold(v) for k, v in loaded.page_meta.items() if isinstance(v, str)}
    # 1. Lines, and the zones at both ends: header (issuers, title, 文号, 主送) and signature.
    lines = split_lines(work)
    first_marker = next((i for i, line in enumerate(lines) if match_marker(line.text)), len(lines))
    zones = read_zones(lines, first_marker)
    lo, hi = zones.body_start, zones.signature_start
    # 2. Headings of the body only (a date or an organ in the signature is never a heading).
    headings = find_headings(lines, lo, hi, [fold(lead) for lead in loaded.bold_leads])
    # 3. Sections and parts; a heading's body ends at the signature.
    body_end = lines[hi - 1].end if lo < hi else len(work)
    classify(headings, work, body_end)
    # 4. Metadata, from the zones, the body and the page's own metadata table.
    metadata, provenance, contact = read_metadata(work, lines, zones, page_meta, headings)
    found = Structure(headings=headings, metadata=metadata, provenance=provenance, contact=contact)
    if work != text:
        _as_written(found, text, work, loaded.page_meta, page_meta)
    return found


def _as_written(
    found: Structure, text: str, work: str, page: dict[str, str], page_work: dict[str, str]
) -> None:
    """Put back the traditional chars of a folded text into every value copied from it."""

    def back(value: str, start: int | None, end: int | None) -> str:
        # Fold maps one char to one char: the same slice of the original holds the value as written.
        if start is not None and end is not None:
            seg, seg_work = text[start:end].replace("\n", ""), work[start:end].replace("\n", "")
            i = seg_work.find(value)
            if i >= 0:
                return seg[i : i + len(value)]
        for key, folded in page_work.items():
            i = folded.find(value)
            if i >= 0:
                return page[key][i : i + len(value)]
        return value

    for h in found.headings:
        h["text"] = back(h["text"], h["start"], h["end"])
    meta, prov = found.metadata, found.provenance
    for name in (
        "title",
        "doc_number",
        "reference_doc_number",
        "addressee",
        "problems_section_heading",
        "plan_section_heading",
    ):
        if name in meta:
            meta[name] = back(meta[name], prov[name]["start"], prov[name]["end"])
    if "issuers" in meta:
        spans = prov["issuers"]["spans"]
        meta["issuers"] = [back(v, s, e) for v, (s, e) in zip(meta["issuers"], spans, strict=True)]
    if "person" in found.contact:
        s, e = found.contact["spans"]["person"]
        found.contact["person"] = text[s:e]


def locate(headings: list[dict[str, Any]], pos: int) -> dict[str, Any]:
    """Return the section path, section and part of the text at offset `pos`.

    The innermost heading that starts at or before `pos` owns it; text before the first heading
    belongs to the preamble zone. A report without any heading is one undivided account of its
    measures, not a preamble.
    """
    if not headings:
        return {"section_path": "", "section": "measures_general", "part": "measures"}
    starts = [h["start"] for h in headings]
    i = bisect.bisect_right(starts, pos) - 1
    if i < 0:
        return {"section_path": "", "section": "preamble", "part": "other"}
    h = headings[i]
    return {"section_path": h.get("path", ""), "section": h.get("section"), "part": h.get("part")}
