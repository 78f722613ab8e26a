"""Report metadata: header (issuers, title, 文号, 主送机关), signature (落款, date), year, region, level.

Every value keeps the span it was read from (provenance). Lexicons live in
extractor/rules/metadata.yaml; region names are resolved against the bundled division table
(structure/regions.py).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from extractor.rules import load_rules
from extractor.structure import regions
from extractor.structure.lines import DATE, Line, iso_date, parse_date

_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
# A year that opens the report's account of itself: "2021年，我区…", "2021年以来", "2021年度".
_YEAR_LEAD = re.compile(r"((?:19|20)\d{2})\s*年(?:度)?(?:以来|[,，]|我|全|本|是|在|中)")
# Years ranges (2021—2025年, 2021-2025) name a plan period, not the reported year.
_YEAR_RANGE = re.compile(r"(?:19|20)\d{2}\s*[—–\-~至到]+\s*(?:19|20)\d{2}")


@dataclass(frozen=True)
class _Rules:
    head_lines: int
    organ_suffix: re.Pattern[str]
    organ_max: int
    title: re.Pattern[str]
    title_cue: re.Pattern[str]
    title_end: re.Pattern[str]
    title_max: int
    organ_split: re.Pattern[str]
    doc_number: re.Pattern[str]
    lead_in: re.Pattern[str]
    own_line: re.Pattern[str]
    addressee: re.Pattern[str]
    addressee_not: tuple[str, ...]
    closing: re.Pattern[str]
    note: re.Pattern[str]
    levels: tuple[tuple[str, re.Pattern[str]], ...]
    unit_levels: dict[str, str]
    person: re.Pattern[str]
    phone: re.Pattern[str]


@functools.cache
def rules() -> _Rules:
    """Compile extractor/rules/metadata.yaml once."""
    d = load_rules("metadata")
    lead = "|".join(sorted((re.escape(w) for w in d["doc_number"]["lead_in"]), key=len, reverse=True))
    return _Rules(
        head_lines=int(d["head_lines"]),
        organ_suffix=re.compile(d["organ"]["suffix"]),
        organ_max=int(d["organ"]["max_chars"]),
        title=re.compile(d["title"]["pattern"]),
        title_cue=re.compile(d["title"]["cue"]),
        title_end=re.compile(d["title"]["end"]),
        title_max=int(d["title"]["max_chars"]),
        organ_split=re.compile(d["title"]["organ_split"]),
        doc_number=re.compile(d["doc_number"]["pattern"]),
        lead_in=re.compile(f"^(?:{lead})+"),
        own_line=re.compile(d["doc_number"]["own_line"]),
        addressee=re.compile(d["addressee"]["pattern"]),
        addressee_not=tuple(d["addressee"]["not"]),
        closing=re.compile(d["closing"]),
        note=re.compile(d["note"]),
        levels=tuple((r["level"], re.compile(r["pattern"])) for r in d["levels"]),
        unit_levels=dict(d["unit_levels"]),
        person=re.compile(d["contact"]["person"]),
        phone=re.compile(d["contact"]["phone"]),
    )


@dataclass
class Spanned:
    """A value read from the text, with its span."""

    value: Any
    start: int | None
    end: int | None
    source: str


@dataclass
class Zones:
    """Where the header ends and the signature starts (line indices), with what they hold."""

    body_start: int = 0
    signature_start: int = 0
    title: Spanned | None = None
    issuers: list[Spanned] = field(default_factory=list)
    doc_number: Spanned | None = None
    addressee: Spanned | None = None
    signers: list[Spanned] = field(default_factory=list)
    signed_date: Spanned | None = None


# 1. Small predicates ---------------------------------------------------------------------------


def is_organ(text: str) -> bool:
    """Tell whether a text is the name of an organ (中共某区委, 某区人民政府, 某街道办事处, 某局)."""
    r = rules()
    return (
        2 <= len(text) <= r.organ_max
        and bool(r.organ_suffix.search(text))
        and not any(map(str.isdigit, text))
        and not any(map(text.__contains__, "。,，:：;；关于"))
    )


def organs_of(line: Line) -> list[Spanned] | None:
    """The organs named on a line (joint issuers may share one line), or None when it is no organ line."""
    parts: list[Spanned] = []
    pos = 0
    for chunk in line.text.split(" "):
        if chunk:
            if not is_organ(chunk):
                return None
            s = line.start + line.text.index(chunk, pos)
            parts.append(Spanned(chunk, s, s + len(chunk), ""))
            pos = s - line.start + len(chunk)
    return parts or None


def is_title(text: str) -> bool:
    """Tell whether a line reads as the report's title."""
    r = rules()
    return (
        len(text) <= r.title_max
        and "。" not in text
        and bool(r.title.search(text))
        and bool(r.title_cue.search(text))
    )


def doc_numbers(text: str) -> list[tuple[int, int, str]]:
    """Document numbers (发文字号) in a text as (start, end, number), lead-in words trimmed."""
    r = rules()
    out = []
    for m in r.doc_number.finditer(text):
        s = m.start()
        lead = r.lead_in.match(m.group())
        if lead:
            s += lead.end()
        number = text[s : m.end()]
        # The organ code needs at least one char left of the bracket.
        if re.match(r"^[\u4e00-\u9fa5]", number):
            out.append((s, m.end(), number))
    return out


def date_line(text: str) -> re.Match[str] | None:
    """The date of a line that is a date only (maybe in brackets, maybe after the organ names)."""
    core = text.strip(" ()（）")
    m = DATE.search(core)
    if not m or core[m.end() :].strip():
        return None
    before = core[: m.start()].strip()
    if before and not all(is_organ(p) for p in before.split(" ") if p):
        return None
    offset = text.index(core)
    return DATE.search(text, offset + m.start())


# 2. Header and signature ---------------------------------------------------------------------


def read_zones(lines: Sequence[Line], first_heading: int) -> Zones:
    """Read the header (top) and the signature block (bottom) of a report."""
    z = Zones(signature_start=len(lines))
    _read_signature(lines, z)
    _read_header(lines, min(first_heading, rules().head_lines, z.signature_start), z)
    return z


def _read_header(lines: Sequence[Line], limit: int, z: Zones) -> None:
    r = rules()
    title_at: tuple[int, int] | None = None
    for i in range(limit):
        t = lines[i].text
        if is_title(t):
            title_at = (i, i)
            # "…法治政府建设情况" + "的报告": the end of a wrapped title on a short next line.
            if i + 1 < limit and not r.title_end.search(t):
                nxt = lines[i + 1].text
                if len(nxt) <= 12 and r.title_end.search(nxt) and is_title(t + nxt):
                    title_at = (i, i + 1)
            break
        # A title wrapped over two lines: neither half is a title, the two together are.
        if i + 1 < limit and not organs_of(lines[i]) and "。" not in t:
            nxt = lines[i + 1].text
            if not is_title(nxt) and is_title(t + nxt) and len(nxt) <= 30:
                title_at = (i, i + 1)
                break
    if title_at is None:
        # A report title without the subject words (…年度工作报告): only at the very top, under
        # nothing but organ or number lines.
        for i in range(min(limit, 4)):
            t = lines[i].text
            if r.title_end.search(t) and "。" not in t and len(t) <= r.title_max and not organs_of(lines[i]):
                title_at = (i, i)
                break
            if not (organs_of(lines[i]) or r.own_line.fullmatch(t)):
                break
    consumed = -1
    if title_at:
        a, b = title_at
        text = "".join(lines[k].text for k in range(a, b + 1))
        z.title = Spanned(text, lines[a].start, lines[b].end, "title")
        consumed = b
        for k in range(a):
            organs = organs_of(lines[k])
            if organs:
                z.issuers.extend(Spanned(o.value, o.start, o.end, "header") for o in organs)
                consumed = max(consumed, k)
        if not z.issuers:
            z.issuers = _title_issuers(z.title)
    # The report's own number: a number alone on a line near the title.
    stop = min(limit, (title_at[1] + 3) if title_at else limit)
    for k in range(stop):
        m = r.own_line.fullmatch(lines[k].text)
        found = doc_numbers(m.group("number")) if m else []
        if m and found and found[0][2] == m.group("number").strip():
            s = lines[k].start + m.start("number")
            z.doc_number = Spanned(found[0][2], s, s + len(found[0][2]), "header")
            consumed = max(consumed, k)
            break
    # Under the title: a byline (organ, date, number), then the addressee, a short colon line.
    if title_at:
        byline: list[Spanned] = []
        for k in range(title_at[1] + 1, min(title_at[1] + 5, len(lines), z.signature_start)):
            t = lines[k].text
            z.addressee = addressee_of(lines[k])
            if z.addressee:
                consumed = max(consumed, k)
                break
            organs = organs_of(lines[k])
            if organs:
                byline.extend(Spanned(o.value, o.start, o.end, "header") for o in organs)
            elif not (date_line(t) or r.own_line.fullmatch(t)):
                break
            consumed = max(consumed, k)
        if not z.issuers and byline:
            z.issuers = byline
    if consumed < 0:
        # No title (an HTML page keeps it in <h1>): organ lines at the very top are still header,
        # and so is an addressee line right under them.
        for k in range(limit):
            organs = organs_of(lines[k])
            if not organs:
                z.addressee = addressee_of(lines[k])
                consumed = k if z.addressee else consumed
                break
            z.issuers.extend(Spanned(o.value, o.start, o.end, "header") for o in organs)
            consumed = k
    z.body_start = consumed + 1


def addressee_of(line: Line) -> Spanned | None:
    """The addressee (主送机关) of a short colon line, or None for an opening formula or a body line."""
    r = rules()
    m = r.addressee.fullmatch(line.text)
    if not m or any(w in line.text for w in r.addressee_not):
        return None
    value = m.group(1).strip()
    s = line.start + m.start(1) + (len(m.group(1)) - len(m.group(1).lstrip()))
    return Spanned(value, s, s + len(value), "header")


def _title_issuers(title: Spanned) -> list[Spanned]:
    """Issuers named at the start of the title line ("某区人民政府关于…", "中共某区委 某区人民政府关于…")."""
    m = rules().organ_split.match(title.value)
    if not m:
        return []
    out = []
    pos = 0
    prefix = m.group(1)
    for chunk in prefix.split(" "):
        if not chunk:
            continue
        if not is_organ(chunk):
            return []
        s = title.start + prefix.index(chunk, pos)  # type: ignore[operator]
        out.append(Spanned(chunk, s, s + len(chunk), "title"))
        pos = prefix.index(chunk, pos) + len(chunk)
    return out


def _read_signature(lines: Sequence[Line], z: Zones) -> None:
    r = rules()
    j = len(lines) - 1
    while j >= 0 and r.note.match(lines[j].text) and len(lines) - j <= 4:
        j -= 1
    found = False
    if j >= 0:
        m = date_line(lines[j].text)
        iso = parse_date(m) if m else None
        if m and iso:
            s = lines[j].start + m.start()
            z.signed_date = Spanned(iso, s, lines[j].start + m.end(), "signature")
            # "某区人民政府 2024年2月26日" on one line: the organs before the date sign too.
            head = Line(lines[j].text[: m.start()].rstrip(" (（"), lines[j].start, s)
            if head.text:
                z.signers = [Spanned(o.value, o.start, o.end, "signature") for o in organs_of(head) or []]
            j -= 1
            found = True
    signers: list[Spanned] = []
    for _ in range(4):
        if j < 0:
            break
        organs = organs_of(lines[j])
        if not organs:
            break
        signers = [Spanned(o.value, o.start, o.end, "signature") for o in organs] + signers
        j -= 1
        found = True
    z.signers = signers + z.signers
    if j >= 0 and r.closing.fullmatch(lines[j].text):
        j -= 1
        found = True
    if found:
        z.signature_start = j + 1


# 3. The metadata record ------------------------------------------------------------------------


def read_metadata(
    text: str,
    lines: Sequence[Line],
    zones: Zones,
    page_meta: dict[str, str],
    headings: Sequence[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Assemble metadata, its provenance and the contact note from the zones, body and page metadata."""
    meta: dict[str, Any] = {}
    prov: dict[str, Any] = {}

    def put(name: str, item: Spanned | None) -> None:
        if item is not None and item.value not in (None, "", []):
            meta[name] = item.value
            prov[name] = {"start": item.start, "end": item.end, "source": item.source}

    first_heading = headings[0]["start"] if headings else None
    body_from = lines[zones.body_start].start if zones.body_start < len(lines) else len(text)
    pre_end = first_heading if first_heading is not None else min(len(text), body_from + 600)
    preamble = (text[body_from:pre_end], body_from)

    # 1. Title, issuers, numbers, addressee.
    page_title = (page_meta.get("title") or "").strip()
    put("title", zones.title or (Spanned(page_title, None, None, "page") if page_title else None))
    issuers = zones.issuers or [Spanned(s.value, s.start, s.end, "signature") for s in zones.signers]
    if not issuers and is_organ((page_meta.get("publisher") or "").strip()):
        issuers = [Spanned(page_meta["publisher"].strip(), None, None, "page")]
    if issuers:
        meta["issuers"] = [i.value for i in issuers]
        prov["issuers"] = {
            "start": issuers[0].start,
            "end": issuers[-1].end,
            "source": issuers[0].source,
            "spans": [[i.start, i.end] for i in issuers],
        }
    own = zones.doc_number
    if own is None and page_meta.get("doc_number"):
        found = doc_numbers(page_meta["doc_number"])
        if found:
            own = Spanned(found[0][2], None, None, "page")
    put("doc_number", own)
    cited = [n for n in doc_numbers(preamble[0]) if own is None or n[2] != own.value]
    if cited:
        s, e, number = cited[0]
        put("reference_doc_number", Spanned(number, preamble[1] + s, preamble[1] + e, "body"))
    put("addressee", zones.addressee)

    # 2. Dates and the reported year.
    signed = zones.signed_date
    if signed is None and iso_date(page_meta.get("written_date", "")):
        signed = Spanned(iso_date(page_meta["written_date"]), None, None, "page")
    put("signed_date", signed)
    published = iso_date(page_meta.get("published_date", ""))
    put("published_date", Spanned(published, None, None, "page") if published else None)
    body_to = lines[zones.signature_start].start if zones.signature_start < len(lines) else len(text)
    put(
        "report_year",
        _report_year(zones.title, preamble, text[body_from:body_to], body_from, page_title, signed),
    )

    # 3. Region and level.
    region, region_prov = _region(issuers, zones, preamble, page_meta)
    if region.get("region_path"):
        meta["region"] = {k: region.get(k) for k in ("province", "city", "county", "township", "admin_code")}
        meta["region_path"] = region["region_path"]
        prov["region"] = region_prov
    put("level", _level(issuers, region))

    # 4. The headings that open the problems and plan parts (the outermost of each).
    for part, name in (("problems", "problems_section_heading"), ("plan", "plan_section_heading")):
        for h in headings:
            if h["part"] == part:
                put(name, Spanned(h["marker"] + h["text"], h["start"], h["end"], "body"))
                break
    return meta, prov, read_contact(text, lines, zones)


def _report_year(
    title: Spanned | None,
    preamble: tuple[str, int],
    body: str,
    body_from: int,
    page_title: str,
    signed: Spanned | None,
) -> Spanned | None:
    """The year reported on: from the title, else the preamble/body, else the page title, else inferred."""
    if title is not None:
        found = _first_year(title.value)
        if found:
            y, s, e = found
            if title.start is not None:
                return Spanned(y, title.start + s, title.start + e, "title")
            return Spanned(y, None, None, title.source)
    signed_year = int(signed.value[:4]) if signed else None
    lead = _YEAR_LEAD.search(_YEAR_RANGE.sub(lambda m: " " * len(m.group()), preamble[0]))
    if lead and (signed_year is None or int(lead.group(1)) <= signed_year):
        return Spanned(int(lead.group(1)), preamble[1] + lead.start(1), preamble[1] + lead.end(1), "body")
    # The year the opening of the body speaks of most often (ranges like 2021—2025 excluded).
    window = body[:1200]
    masked = _YEAR_RANGE.sub(lambda m: " " * len(m.group()), window)
    years = [
        (int(m.group(1)), m.start(1))
        for m in _YEAR.finditer(masked)
        if signed_year is None or int(m.group(1)) <= signed_year
    ]
    if years:
        counts = Counter(y for y, _ in years)
        best = max(counts, key=lambda y: (counts[y], -next(p for yy, p in years if yy == y)))
        pos = next(p for y, p in years if y == best)
        return Spanned(best, body_from + pos, body_from + pos + 4, "body")
    found = _first_year(page_title)
    if found:
        return Spanned(found[0], None, None, "page")
    # Reports are signed in the first months of the year after the one they report on.
    if signed is not None and int(signed.value[5:7]) <= 6:
        return Spanned(int(signed.value[:4]) - 1, signed.start, signed.end, "inferred")
    return None


def _first_year(text: str) -> tuple[int, int, int] | None:
    """The first year of a title that is not part of a range, as (year, start, end)."""
    masked = _YEAR_RANGE.sub(lambda m: " " * len(m.group()), text)
    m = _YEAR.search(masked)
    return (int(m.group(1)), m.start(1), m.end(1)) if m else None


def _region(
    issuers: Sequence[Spanned], zones: Zones, preamble: tuple[str, int], page_meta: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Resolve the region from issuers, title, signature, page publisher and preamble, in that trust order."""
    groups: list[tuple[str, list[tuple[str, int | None]]]] = [
        (issuers[0].source if issuers else "header", [(i.value, i.start) for i in issuers]),
        ("title", [(zones.title.value, zones.title.start)] if zones.title else []),
        ("signature", [(s.value, s.start) for s in zones.signers]),
        ("page", [(page_meta.get("publisher") or "", None), (page_meta.get("title") or "", None)]),
        ("body", [(preamble[0][:600], preamble[1])]),
    ]
    evidence = [
        (snippet, offset, trust)
        for trust, (_, items) in enumerate(groups)
        for snippet, offset in items
        if snippet
    ]
    township: tuple[str, int | None, int | None, str] | None = None
    for group, items in groups[:3]:
        for snippet, offset in items:
            hit = regions.find_township(snippet)
            if hit:
                at = (None, None) if offset is None else (offset + hit[0], offset + hit[1])
                township = (hit[2], at[0], at[1], group)
                break
        if township:
            break
    region = regions.resolve(evidence, township[0] if township else None)
    span = region.get("span")
    source = groups[region["trust"]][0] if region.get("trust") is not None else None
    if source is None and township:
        source = township[3]
    prov: dict[str, Any] = {
        "start": span[0] if span else (township[1] if township else None),
        "end": span[1] if span else (township[2] if township else None),
        "source": source,
        "filled_from_table": region.get("filled", []),
    }
    if township:
        prov["township"] = {"start": township[1], "end": township[2]}
    if region.get("ambiguous"):
        prov["ambiguous"] = region["ambiguous"]
    return region, prov


def level_of(organ: str, region: dict[str, Any] | None = None) -> str | None:
    """The administrative level of an issuing organ, read from its name."""
    r = rules()
    for level, pattern in r.levels:
        m = pattern.search(organ)
        if not m:
            continue
        if level != "government":
            return level
        return _unit_level(m.group("unit"), region)
    return None


def _unit_level(unit: str, region: dict[str, Any] | None) -> str:
    """province | city | district | county of the innermost unit named in `unit`."""
    names = regions.find_names(unit)
    if names:
        name = names[-1][2]
        units = regions.units_named(name)
        if region and region.get("admin_code"):
            units = [u for u in units if u.code == region["admin_code"]] or units
        kinds = {(u.rank, u.kind == "市辖区") for u in units}
        if len(kinds) == 1:
            rank, is_district = kinds.pop()
            if rank == 1:
                return "province"
            if rank == 2:
                return "city"
            return "district" if is_district else "county"
    r = rules()
    for suffix in sorted(r.unit_levels, key=len, reverse=True):
        if unit.endswith(suffix):
            return r.unit_levels[suffix]
    return "county"


def _level(issuers: Sequence[Spanned], region: dict[str, Any]) -> Spanned | None:
    """The level of the report's issuer: a township-level organ wins, then a government, then a department."""
    found = [(level_of(i.value, region), i) for i in issuers]
    for wanted in (("subdistrict", "township"), ("province", "city", "district", "county"), ("department",)):
        for level, organ in found:
            if level in wanted:
                return Spanned(level, organ.start, organ.end, organ.source)
    # No organ says it: fall back on the region (a township-level name, else the deepest unit).
    if region.get("township"):
        level = "subdistrict" if region["township"].endswith("街道") else "township"
        return Spanned(level, None, None, "inferred")
    if region.get("admin_code"):
        unit = regions.table().by_code[region["admin_code"]]
        level = {1: "province", 2: "city"}.get(unit.rank, "district" if unit.kind == "市辖区" else "county")
        return Spanned(level, None, None, "inferred")
    return None


def read_contact(text: str, lines: Sequence[Line], zones: Zones) -> dict[str, Any]:
    """The contact note (联系人, 联系电话) near the end, kept apart because it is personal data."""
    r = rules()
    start_line = max(0, min(zones.signature_start, len(lines)) - 2)
    tail_from = lines[start_line].start if lines else 0
    out: dict[str, Any] = {}
    for key, pattern in (("person", r.person), ("phone", r.phone)):
        m = pattern.search(text, tail_from) or pattern.search(text)
        if m:
            out[key] = m.group(1).strip()
            out.setdefault("spans", {})[key] = [m.start(1), m.end(1)]
    return out
