"""A self-contained static HTML page for reviewing a run: documents, highlighted text, outline, coverage.

The page opens from disk with no server and loads nothing: CSS and JS are inline, and a
Content-Security-Policy forbids every other source. Reports are untrusted input, so every piece
of text goes through `html.escape`, and the policy only lets the page's own script run (by hash).
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from extractor import __version__

_STATUS_CLASS = {"ok": "ok"}

CSS = """
:root { --fg:#1d2327; --muted:#5f6b73; --line:#d9dee2; --bg:#fbfbfa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.6 "Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif;
       color:var(--fg); background:var(--bg); }
header.top { padding:14px 24px; border-bottom:1px solid var(--line); background:#fff; position:sticky; top:0; z-index:2; }
header.top h1 { font-size:18px; margin:0 0 4px; }
header.top nav a { margin-right:14px; }
main { padding:0 24px 48px; }
a { color:#1a5fb4; text-decoration:none; } a:hover { text-decoration:underline; }
.muted { color:var(--muted); }
table { border-collapse:collapse; margin:8px 0 16px; background:#fff; }
th, td { border:1px solid var(--line); padding:3px 8px; vertical-align:top; text-align:left; }
th { background:#f1f3f4; font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.status { font-weight:600; } .status.ok { color:#26734d; } .status.bad { color:#b3261e; }
.coverage td.cell { text-align:right; min-width:4.5em; font-variant-numeric:tabular-nums; }
.coverage td.cell.found { background:var(--c); }
.coverage td.cell.none { color:#c0c6ca; text-align:center; }
.coverage th.doc { writing-mode:vertical-rl; max-height:14em; white-space:nowrap; font-weight:500; }
.chip { display:inline-block; padding:0 6px; margin:2px; border-radius:3px; background:var(--c);
        border-bottom:2px solid var(--b); font-size:12px; }
section.doc { margin-top:28px; padding-top:8px; border-top:3px solid var(--line); scroll-margin-top:90px; }
section.doc h2 { font-size:17px; margin:8px 0; }
dl.meta { display:grid; grid-template-columns:max-content 1fr; gap:0 12px; margin:0 0 8px; }
dl.meta dt { color:var(--muted); } dl.meta dd { margin:0; }
.body { display:grid; grid-template-columns:minmax(12em, 22em) 1fr; gap:20px; align-items:start; }
nav.toc { position:sticky; top:80px; max-height:80vh; overflow:auto; font-size:13px; background:#fff;
          border:1px solid var(--line); padding:8px 10px; }
nav.toc ol { list-style:none; margin:0; padding:0; }
nav.toc li { margin:2px 0; }
nav.toc .sec { color:var(--muted); font-size:11px; margin-left:4px; }
.text { white-space:pre-wrap; background:#fff; border:1px solid var(--line); padding:12px 16px;
        font-size:15px; line-height:1.9; overflow-wrap:anywhere; }
.text a.anchor { scroll-margin-top:90px; }
mark { background:none; color:inherit; padding:0 1px; border-radius:2px; cursor:help; }
mark.num { background:#eceff1; border-bottom:2px dotted #90a4ae; }
mark.ind { background:var(--c); border-bottom:2px solid var(--b); }
mark.ind.target { border-bottom-style:dashed; }
#tip { position:fixed; z-index:10; max-width:34em; padding:6px 9px; background:#263238; color:#fff;
       font-size:12px; line-height:1.5; border-radius:4px; white-space:pre-line; pointer-events:none; display:none; }
"""

# Shows a mark's title in a styled box; the title is parked in data-tip meanwhile, so the
# browser's own tooltip does not show twice. Without JS the plain title tooltip still works.
JS = """
(function () {
  var tip = document.createElement("div");
  tip.id = "tip";
  document.body.appendChild(tip);
  function show(ev) {
    var el = ev.target.closest("[title],[data-tip]");
    if (!el || !el.closest(".text, .coverage")) { return; }
    if (el.hasAttribute("title")) { el.setAttribute("data-tip", el.getAttribute("title")); el.removeAttribute("title"); }
    tip.textContent = el.getAttribute("data-tip");
    tip.style.display = "block";
    var r = el.getBoundingClientRect();
    tip.style.left = Math.max(4, Math.min(r.left, window.innerWidth - tip.offsetWidth - 8)) + "px";
    tip.style.top = (r.bottom + 6 + tip.offsetHeight > window.innerHeight ? r.top - tip.offsetHeight - 6 : r.bottom + 6) + "px";
  }
  function hide(ev) {
    var el = ev.target.closest("[data-tip]");
    if (el) { el.setAttribute("title", el.getAttribute("data-tip")); el.removeAttribute("data-tip"); }
    tip.style.display = "none";
  }
  document.addEventListener("mouseover", show);
  document.addEventListener("mouseout", hide);
})();
"""


def _e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def colour(indicator: str) -> tuple[str, str]:
    """A stable (background, border) colour pair for an indicator id."""
    hue = int(hashlib.sha1(indicator.encode()).hexdigest()[:4], 16) % 360
    return f"hsl({hue} 75% 85%)", f"hsl({hue} 60% 38%)"


def _style(indicator: str) -> str:
    bg, border = colour(indicator)
    return f"--c:{bg};--b:{border}"


def _num(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    return f"{v:g}" if abs(v) < 1e15 else str(v)


def _span(item: dict[str, Any], length: int) -> tuple[int, int] | None:
    try:
        start, end = int(item["start"]), int(item["end"])
    except (KeyError, TypeError, ValueError):
        return None
    return (start, end) if 0 <= start < end <= length else None


def indicator_tip(ind: dict[str, Any], names: dict[str, str]) -> str:
    """Tooltip text of an indicator value: name, value, unit, qualifier, target, rule."""
    ind_id = str(ind.get("indicator") or "")
    parts = [
        f"{ind.get('name') or names.get(ind_id, '')} [{ind_id}]",
        f"value: {_num(ind.get('value'))} {ind.get('unit') or ''}".rstrip(),
    ]
    if ind.get("approx"):
        parts.append(f"qualifier: {ind['approx']}")
    if ind.get("is_target"):
        parts.append("target (not an actual)")
    parts.append(f"rule: {ind.get('rule') or '-'}")
    if ind.get("section"):
        parts.append(f"section: {ind['section']}")
    return "\n".join(parts)


def mention_tip(m: dict[str, Any]) -> str:
    """Tooltip text of a numeric mention: value, unit, qualifier, rule."""
    parts = [f"number: {_num(m.get('value'))} {m.get('unit_norm') or m.get('unit') or ''}".rstrip()]
    if m.get("approx"):
        parts.append(f"qualifier: {m['approx']}")
    if m.get("delta_value") not in (None, ""):
        parts.append(f"change: {_num(m.get('delta_value'))} ({m.get('delta_type') or ''})")
    if m.get("is_target"):
        parts.append("target (not an actual)")
    parts.append(f"rule: {m.get('rule') or '-'}")
    return "\n".join(parts)


def highlight(
    text: str,
    mentions: list[dict[str, Any]],
    indicators: list[dict[str, Any]],
    headings: list[dict[str, Any]],
    anchor: str,
    names: dict[str, str],
) -> str:
    """The cleaned text as escaped HTML, with marks over every mention and indicator span and an
    anchor at every heading start. Overlapping spans are cut at every boundary; a piece covered by
    an indicator takes its colour, and its tooltip lists everything that covers it."""
    n = len(text)
    spans: list[tuple[int, int, str, dict[str, Any]]] = []
    for ind in indicators:
        s = _span(ind, n)
        if s:
            spans.append((*s, "ind", ind))
    for m in mentions:
        s = _span(m, n)
        if s:
            spans.append((*s, "num", m))
    anchors: dict[int, list[int]] = {}
    for i, h in enumerate(headings):
        try:
            start = int(h.get("start"))
        except (TypeError, ValueError):
            continue
        if 0 <= start <= n:
            anchors.setdefault(start, []).append(i)
    cuts = sorted({0, n, *anchors, *(s for s, _, _, _ in spans), *(e for _, e, _, _ in spans)})
    out: list[str] = []
    for a, b in zip(cuts, [*cuts[1:], None], strict=True):
        for i in anchors.get(a, []):
            out.append(f'<a class="anchor" id="{anchor}-h{i}"></a>')
        if b is None:
            break
        piece = _e(text[a:b])
        covering = [sp for sp in spans if sp[0] <= a and sp[1] >= b]
        if not covering:
            out.append(piece)
            continue
        inds = [sp[3] for sp in covering if sp[2] == "ind"]
        tips = [indicator_tip(sp[3], names) if sp[2] == "ind" else mention_tip(sp[3]) for sp in covering]
        title = _e("\n\n".join(dict.fromkeys(tips)))
        if inds:
            ind_id = str(inds[0].get("indicator") or "")
            target = " target" if inds[0].get("is_target") else ""
            out.append(
                f'<mark class="ind{target}" data-ind="{_e(ind_id)}" style="{_style(ind_id)}" '
                f'title="{title}">{piece}</mark>'
            )
        else:
            out.append(f'<mark class="num" title="{title}">{piece}</mark>')
    return "".join(out)


def outline(headings: list[dict[str, Any]], anchor: str) -> str:
    """The heading tree as a table of contents, indented by level, linking to the heading anchors."""
    if not headings:
        return '<p class="muted">No headings found.</p>'
    items = []
    for i, h in enumerate(headings):
        try:
            level = max(1, min(int(h.get("level") or 1), 6))
        except (TypeError, ValueError):
            level = 1
        sec = f'<span class="sec">{_e(h["section"])}</span>' if h.get("section") else ""
        label = f"{h.get('marker') or ''}{h.get('text') or ''}"
        items.append(
            f'<li style="padding-left:{(level - 1) * 1.1:.1f}em"><a href="#{anchor}-h{i}">{_e(label)}</a>'
            f"{sec}</li>"
        )
    return "<ol>" + "".join(items) + "</ol>"


def _region(meta: dict[str, Any]) -> str:
    region = meta.get("region") or {}
    return " ".join(str(region[k]) for k in ("province", "city", "county", "township") if region.get(k))


def _label(rec: dict[str, Any]) -> str:
    meta = rec.get("metadata") or {}
    region = meta.get("region") or {}
    place = (
        region.get("township")
        or region.get("county")
        or region.get("city")
        or Path(str(rec.get("source"))).stem
    )
    year = meta.get("report_year")
    return f"{place} {year}" if year else str(place)


def render(
    records: Iterable[dict[str, Any]],
    run_info: dict[str, Any] | None = None,
    catalog: Iterable[dict[str, Any]] = (),
    title: str = "extractor review",
) -> str:
    """The review page of a run's records (documents.jsonl lines) as one HTML string."""
    records = list(records)
    entries = list(catalog)
    names = {e["id"]: e["name"] for e in entries}
    docs = [(i, r) for i, r in enumerate(records) if r.get("status") == "ok"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{_script_hash()}'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        _header(records, run_info or {}, title),
        "<main>",
        _document_list(records),
        _coverage(docs, entries, names),
    ]
    for i, rec in docs:
        parts.append(_document(i, rec, names))
    parts.append(f"</main><script>{JS}</script></body></html>")
    return "\n".join(parts)


def _script_hash() -> str:
    import base64

    return base64.b64encode(hashlib.sha256(JS.encode()).digest()).decode()


def _header(records: list[dict[str, Any]], run_info: dict[str, Any], title: str) -> str:
    counts: dict[str, int] = {}
    for r in records:
        counts[str(r.get("status"))] = counts.get(str(r.get("status")), 0) + 1
    status = ", ".join(f"{_e(k)} {v}" for k, v in sorted(counts.items()))
    versions = (
        f"package {_e(run_info.get('package_version', __version__))}, "
        f"schema {_e(run_info.get('schema_version', ''))}"
    )
    return (
        f'<header class="top"><h1>{_e(title)}</h1><div class="muted">{len(records)} document(s): {status} · '
        f'{versions}</div><nav><a href="#documents">Documents</a><a href="#coverage">Coverage</a></nav></header>'
    )


def _document_list(records: list[dict[str, Any]]) -> str:
    rows = []
    for i, r in enumerate(records):
        meta = r.get("metadata") or {}
        ok = r.get("status") == "ok"
        name = f'<a href="#doc-{i}">{_e(r.get("source"))}</a>' if ok else _e(r.get("source"))
        rows.append(
            f'<tr><td class="num">{i + 1}</td><td>{name}</td>'
            f'<td class="status {"ok" if ok else "bad"}">{_e(r.get("status"))}</td><td>{_e(r.get("message"))}</td>'
            f"<td>{_e(meta.get('title'))}</td><td>{_e(_region(meta))}</td><td>{_e(meta.get('report_year'))}</td>"
            f'<td class="num">{len(r.get("headings") or [])}</td><td class="num">{len(r.get("mentions") or [])}</td>'
            f'<td class="num">{len(r.get("indicators") or [])}</td></tr>'
        )
    return (
        '<h2 id="documents">Documents</h2><table class="documents"><thead><tr><th>#</th><th>source</th>'
        "<th>status</th><th>message</th><th>title</th><th>region</th><th>year</th><th>headings</th>"
        "<th>mentions</th><th>indicators</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _coverage(
    docs: list[tuple[int, dict[str, Any]]], entries: list[dict[str, Any]], names: dict[str, str]
) -> str:
    found: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for i, rec in docs:
        for ind in rec.get("indicators") or []:
            found.setdefault(str(ind.get("indicator")), {}).setdefault(i, []).append(ind)
    order = [e["id"] for e in entries if e["id"] in found] + sorted(set(found) - set(names))
    head = "".join(
        f'<th class="doc" title="{_e(rec.get("source"))}"><a href="#doc-{i}">{_e(_label(rec))}</a></th>'
        for i, rec in docs
    )
    rows = []
    for ind_id in order:
        cells = []
        for i, _rec in docs:
            values = found[ind_id].get(i)
            if not values:
                cells.append('<td class="cell none">·</td>')
                continue
            actual = [v for v in values if not v.get("is_target")] or values
            shown = _num(actual[0].get("value")) + ("*" if len(values) > 1 else "")
            tip = "\n\n".join(indicator_tip(v, names) for v in values)
            cells.append(
                f'<td class="cell found" style="{_style(ind_id)}" title="{_e(tip)}">{_e(shown)}</td>'
            )
        label = names.get(ind_id, "")
        rows.append(
            f'<tr data-ind="{_e(ind_id)}"><th><span class="chip" style="{_style(ind_id)}">{_e(ind_id)}</span> '
            f"{_e(label)}</th>{''.join(cells)}</tr>"
        )
    missing = [e for e in entries if e["id"] not in found]
    missing_html = ""
    if missing:
        ids = ", ".join(_e(e["id"]) for e in missing)
        missing_html = (
            f"<details><summary>{len(missing)} of {len(entries)} catalog indicators found in no "
            f'document</summary><p class="muted">{ids}</p></details>'
        )
    if not rows:
        return f'<h2 id="coverage">Coverage</h2><p class="muted">No indicator found in any document.</p>{missing_html}'
    return (
        f'<h2 id="coverage">Coverage</h2><p class="muted">Value found per indicator (rows) and document '
        f"(columns); * = several values, hover for each. {len(order)} indicator(s) found.</p>"
        f'<table class="coverage"><thead><tr><th>indicator</th>{head}</tr></thead><tbody>{"".join(rows)}'
        f"</tbody></table>{missing_html}"
    )


def _document(i: int, rec: dict[str, Any], names: dict[str, str]) -> str:
    meta = rec.get("metadata") or {}
    anchor = f"doc-{i}"
    fields = [
        ("source", rec.get("source")),
        ("source URL", rec.get("source_url")),
        ("region", _region(meta)),
        ("level", meta.get("level")),
        ("report year", meta.get("report_year")),
        (
            "issuers",
            "；".join(meta.get("issuers") or [])
            if isinstance(meta.get("issuers"), list)
            else meta.get("issuers"),
        ),
        ("doc number", meta.get("doc_number")),
        ("signed", meta.get("signed_date")),
        ("format", rec.get("format")),
        ("warnings", "；".join(rec.get("warnings") or [])),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in fields if v not in (None, ""))
    indicators = rec.get("indicators") or []
    chips = "".join(
        f'<span class="chip" style="{_style(ind_id)}" title="{_e(names.get(ind_id, ""))}">{_e(ind_id)}</span>'
        for ind_id in dict.fromkeys(str(x.get("indicator")) for x in indicators)
    )
    text = rec.get("text") or ""
    body = (
        highlight(text, rec.get("mentions") or [], indicators, rec.get("headings") or [], anchor, names)
        if text
        else '<span class="muted">The cleaned text was not kept for this run.</span>'
    )
    return (
        f'<section class="doc" id="{anchor}"><h2>{_e(meta.get("title") or rec.get("source"))}</h2>'
        f'<dl class="meta">{dl}</dl><div class="legend">{chips}</div>'
        f'<div class="body"><nav class="toc" aria-label="outline">{outline(rec.get("headings") or [], anchor)}</nav>'
        f'<div class="text">{body}</div></div></section>'
    )


def mask_contact(text: str, contact: dict[str, Any]) -> str:
    """The text with the contact person and phone blanked out, char for char (so every span still fits)."""
    spans = contact.get("spans") or {}
    chars = list(text)
    for span in spans.values():
        try:
            start, end = int(span[0]), int(span[1])
        except (TypeError, ValueError, IndexError):
            continue
        for k in range(max(start, 0), min(end, len(chars))):
            chars[k] = "＊"
    return "".join(chars)


def write_review(out: str | Path, dest: str | Path | None = None) -> Path:
    """Write the review page of a run folder (default OUT/review.html) and return its path."""
    from extractor.outputs import atomic_write_text
    from extractor.panel import catalog, iter_records

    out = Path(out)
    jsonl = out / "documents.jsonl"
    if not jsonl.is_file():
        raise FileNotFoundError(f"{out} is not the output folder of `extractor run` (no documents.jsonl)")
    try:
        run_info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        run_info = {}
    path = Path(dest) if dest else out / "review.html"
    from extractor.export import contacts

    hidden = contacts(out)

    def records() -> Iterable[dict[str, Any]]:
        for record in iter_records(jsonl):
            record["text"] = mask_contact(record.get("text") or "", hidden.get(record.get("doc_id"), {}))
            yield record

    page = render(records(), run_info, catalog(), title=f"extractor review: {out.name}")
    atomic_write_text(path, page)
    return path


def cli_review(args: argparse.Namespace) -> int:
    """`extractor review OUT [--dest FILE]`."""
    path = write_review(args.out, args.dest)
    print(f"wrote {path}")
    return 0
