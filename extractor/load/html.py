"""HTML pages: find the article body among the site chrome, read the disclosure metadata table.

The cascade, in order:
1. decode (HTTP charset, then <meta charset>, then detection; valid UTF-8 wins a stale declaration);
2. parse with lxml (no network, no entity expansion, libxml2's depth limit kept);
3. read page metadata (the 索引号/发文字号/... table, CMS <meta> tags, else the <title>);
4. drop scripts, styles and other never-text elements, and the metadata table;
5. pick the article body: the portal-CMS selectors of rules/html_chrome.yaml (unless one caught a
   side box), else the block holding the most paragraph text;
6. drop chrome inside the body, render one paragraph per line, collect paragraph-leading bold runs.

lxml is used directly rather than through BeautifulSoup: the parser is the same libxml2 one, and
lxml's iterative walkers keep hostile, deeply nested pages away from Python's recursion limit
(a page past libxml2's depth limit is read as flat text instead).
"""

from __future__ import annotations

import functools
import html as html_lib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from extractor.errors import DocumentError
from extractor.load.text import decode
from extractor.model import Loaded
from extractor.rules import load_rules

if TYPE_CHECKING:
    from lxml.etree import _Element as HtmlElement

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]{2,40})""", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
# A DOCTYPE with an internal subset (entity declarations) is never part of a real page.
_DOCTYPE_SUBSET = re.compile(r"^\s*<!DOCTYPE[^\[>]{0,300}\[[^\]]{0,200000}\]\s*>", re.I)
# C0 control characters (but tab and line ends) as cleaning treats them: lxml parses them into
# text nodes but refuses them when a tail is moved (drop_tree), so they go before parsing.
_CONTROLS = {c: None for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)} | {0x0B: " ", 0x0C: "\n"}
_CJK = "\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
# A line break in the HTML source between two CJK characters is not a space in the rendered page.
_CJK_NEWLINE = re.compile(f"(?<=[{_CJK}])[ \\t\\r\\f]*\\n\\s*(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
_BOLD_STYLE = re.compile(r"font-weight\s*:\s*(bold|bolder|[6-9]00)", re.I)
_SELECTOR = re.compile(r"^(?P<tag>[a-zA-Z][a-zA-Z0-9]*)?(?P<rest>(?:[.#][A-Za-z_][A-Za-z0-9_-]*)*)$")
_SELECTOR_PART = re.compile(r"([.#])([A-Za-z_][A-Za-z0-9_-]*)")
_TOKEN_SPLIT = re.compile(r"[\s_-]+")
_BOLD_TAGS = frozenset({"b", "strong", "h1", "h2", "h3", "h4", "h5", "h6"})
# Inline wrappers a bold run may sit inside at the start of a paragraph (<p><span><b>…).
_INLINE_WRAPPERS = frozenset({"span", "font", "a", "em", "i", "u", "ins", "small", "big", "label", "sup", "sub"})
_PARAGRAPH_TAGS = frozenset({"p", "div", "li", "td", "th", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "section"})
# Ancestors that hold a disclosure table; dropped from the body when they carry a label.
_META_CONTAINERS = frozenset({"table", "ul", "dl", "ol"})
_META_CONTAINER_MAX_CHARS = 1200
# The line holding one label, dropped when its table is too long to be a metadata table.
_META_ROWS = frozenset({"tr", "li", "p", "dd", "dt", "div"})
_META_LABEL_MAX_CHARS = 300
_META_VALUE_MAX_CHARS = 200
# Elements whose text is code, read before the drop step removes them.
_NOT_TEXT = frozenset({"script", "style", "noscript", "template", "textarea"})
_ATTACHMENT = re.compile(r"\.(pdf|docx?|wps|ofd|xlsx?|zip|rar)(\?|#|$)", re.I)


@dataclass(frozen=True)
class _Selector:
    tag: str | None
    id: str | None
    classes: frozenset[str]

    def matches(self, el: HtmlElement) -> bool:
        if self.tag and el.tag != self.tag:
            return False
        if self.id and el.get("id") != self.id:
            return False
        return not self.classes or self.classes <= set((el.get("class") or "").split())


@dataclass(frozen=True)
class _Rules:
    body_selectors: tuple[_Selector, ...]
    min_body_chars: int
    drop_tags: frozenset[str]
    chrome_tokens: frozenset[str]
    block_tags: frozenset[str]
    label_pattern: re.Pattern[str]
    label_keys: dict[str, str]
    meta_tags: dict[str, str]
    title_separators: re.Pattern[str]
    bold_lead_max: int


def parse_selector(selector: str) -> _Selector:
    """Parse one selector of the CSS subset (`tag`, `.class`, `#id`, `tag.class#id`)."""
    m = _SELECTOR.match(selector)
    if not m or not selector:
        raise ValueError(f"unsupported selector {selector!r}")
    parts = _SELECTOR_PART.findall(m.group("rest"))
    ids = [name for kind, name in parts if kind == "#"]
    return _Selector(
        tag=(m.group("tag") or "").lower() or None,
        id=ids[0] if ids else None,
        classes=frozenset(name for kind, name in parts if kind == "."),
    )


@functools.cache
def _rules() -> _Rules:
    data = load_rules("html_chrome")
    labels: dict[str, str] = data["meta_labels"]
    # Labels are often spread with spaces for alignment ("索  引  号："); longest first so that
    # 发文字号 wins over 文号.
    alts = sorted(labels, key=len, reverse=True)
    pattern = "|".join(r"\s*".join(re.escape(ch) for ch in label) for label in alts)
    return _Rules(
        body_selectors=tuple(parse_selector(s) for s in data["body_selectors"]),
        min_body_chars=int(data["min_body_chars"]),
        drop_tags=frozenset(data["drop_tags"]),
        chrome_tokens=frozenset(t.lower() for t in data["chrome_tokens"]),
        block_tags=frozenset(data["block_tags"]),
        label_pattern=re.compile(f"(?:^|(?<=\\s))(?P<label>{pattern})\\s*[:：]"),
        label_keys={re.sub(r"\s", "", k): v for k, v in labels.items()},
        meta_tags={k.lower(): v for k, v in data["meta_tags"].items()},
        title_separators=re.compile(data["title_separators"]),
        bold_lead_max=int(data["bold_lead_max"]),
    )


def declared_charset(data: bytes) -> str | None:
    """Return the charset a page declares in a <meta> tag near its start, if any."""
    m = _META_CHARSET.search(data[:4096])
    return m.group(1).decode("ascii") if m else None


def load_html(data: bytes, charset: str | None = None) -> Loaded:
    """Load an HTML page; `charset` is the one the HTTP response declared, if known."""
    declared = charset or declared_charset(data)
    text, encoding, warnings = decode(data, declared)
    return html_to_loaded(text, encoding, warnings)


def html_to_loaded(text: str, encoding: str | None = None, warnings: list[str] | None = None) -> Loaded:
    """Turn decoded HTML into a Loaded record (the pure part of the HTML loader)."""
    import lxml.etree

    warnings = list(warnings or [])
    rules = _rules()
    text = _DOCTYPE_SUBSET.sub("", _XML_DECL.sub("", text, count=1), count=1).translate(_CONTROLS)
    # 2. Parse. no_network: never fetch a DTD or an entity; huge_tree off keeps libxml2's
    # depth and size limits, past which the page is read as flat text below.
    # Plain lxml.etree elements: lxml.html's per-element class lookup triples the walk time.
    parser = lxml.etree.HTMLParser(no_network=True, huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        root = lxml.etree.fromstring(text, parser=parser) if text.strip() else None
    except (ValueError, lxml.etree.LxmlError) as exc:
        raise DocumentError("E005", fmt="html", detail=str(exc)[:200]) from None
    if root is None:
        return Loaded(format="html", text="", encoding=encoding, text_source="html", warnings=warnings)
    if any("depth" in e.message.lower() for e in parser.error_log if e.level_name == "FATAL"):
        warnings.append("HTML nested too deeply for a tree; read as flat text without chrome removal")
        return Loaded(
            format="html", text=flat_text(text), encoding=encoding, text_source="html", warnings=warnings
        )
    # 3. Page metadata, before anything is removed.
    page_meta, label_elements = _read_meta_table(root, rules)
    for key, value in _read_meta_tags(root, rules).items():
        page_meta.setdefault(key, value)
    if "title" not in page_meta:
        title = _page_title(root, rules)
        if title:
            page_meta["title"] = title
    # 4. Elements that never hold reading text; the metadata table is in page_meta now (and its
    # dense cells must not win the densest-block vote).
    for el in list(root.iter(*rules.drop_tags)):
        if el.getparent() is not None:
            drop_tree(el)
    _drop_meta_containers(root, label_elements)
    # 5. The article body.
    body = _select_body(root, rules)
    if body is not None and _misfired(body, root, rules):
        body = None
    if body is None:
        _drop_chrome(root, rules, keep=None)
        body = _densest_block(root, rules)
    else:
        _drop_chrome(body, rules, keep=body)
    loaded_text = render_text(body, rules.block_tags)
    if not loaded_text:
        links = [a.get("href", "") for a in body.iter("a") if _ATTACHMENT.search(a.get("href", ""))]
        if links:
            warnings.append("page body has no text but links to attachment(s): " + ", ".join(links[:5]))
        elif any(True for _ in body.iter("img")):
            warnings.append("page body has no text, only images")
    return Loaded(
        format="html",
        text=loaded_text,
        encoding=encoding,
        text_source="html",
        page_meta=page_meta,
        bold_leads=_bold_leads(body, rules),
        warnings=warnings,
    )


def _tag(el: HtmlElement) -> str:
    # libxml2's HTML parser lower-cases tag names; comments and PIs have a function as tag.
    return el.tag if isinstance(el.tag, str) else ""


def text_content(el: HtmlElement) -> str:
    """All text inside an element (not its tail)."""
    return "".join(el.itertext())


def drop_tree(el: HtmlElement) -> None:
    """Remove an element and everything inside it, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _collapse(s: str) -> str:
    """Whitespace as a browser shows it: runs become one space, CJK line breaks vanish."""
    return _SPACES.sub(" ", _CJK_NEWLINE.sub("", s))


def _text_len(el: HtmlElement) -> int:
    return len(_SPACES.sub("", text_content(el)))


def _is_inside(el: HtmlElement, container: HtmlElement) -> bool:
    node: HtmlElement | None = el
    while node is not None:
        if node is container:
            return True
        node = node.getparent()
    return False


def _read_meta_table(root: HtmlElement, rules: _Rules) -> tuple[dict[str, str], list[HtmlElement]]:
    """Read 索引号/发文字号/发布机构/... label-value pairs wherever they sit on the page."""
    meta: dict[str, str] = {}
    found: list[HtmlElement] = []
    for el in root.iter():
        own = el.text if isinstance(el.tag, str) and el.tag not in _NOT_TEXT else None
        if not own:
            continue
        # A table header cell holding only the label: <th>索引号</th><td>…</td>.
        bare = rules.label_keys.get(_SPACES.sub("", own))
        if bare and len(el) == 0:
            value = _value_after(el, rules)
            if value:
                found.append(el)
                meta.setdefault(bare, value[:_META_VALUE_MAX_CHARS])
            continue
        # Every other label is followed by a colon; most elements have none.
        if ("：" not in own and ":" not in own) or not rules.label_pattern.search(own):
            continue
        full = text_content(el)
        if len(full) > _META_LABEL_MAX_CHARS:
            continue
        matches = list(rules.label_pattern.finditer(full))
        if not matches:
            continue
        found.append(el)
        for i, m in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(full)
            value = _collapse(full[m.end() : end]).strip()
            if not value and i + 1 == len(matches):
                value = _value_after(el, rules)
            key = rules.label_keys[re.sub(r"\s", "", m.group("label"))]
            if value and key not in meta:
                meta[key] = value[:_META_VALUE_MAX_CHARS]
    return meta, found


def _value_after(el: HtmlElement, rules: _Rules) -> str:
    """The value of a label cell: its tail text, else the next sibling's text."""
    tail = _collapse(el.tail or "").strip()
    if tail:
        return tail
    sib = el.getnext()
    while sib is not None and not isinstance(sib.tag, str):
        sib = sib.getnext()
    if sib is None:
        return ""
    value = _collapse(text_content(sib)).strip()
    if rules.label_pattern.match(value) or len(value) > _META_VALUE_MAX_CHARS:
        return ""
    return value


def _read_meta_tags(root: HtmlElement, rules: _Rules) -> dict[str, str]:
    meta: dict[str, str] = {}
    for el in root.iter("meta"):
        key = rules.meta_tags.get((el.get("name") or "").strip().lower())
        value = _collapse(el.get("content") or "").strip()
        if key and value and key not in meta:
            meta[key] = value[:_META_VALUE_MAX_CHARS]
    return meta


# A page title shorter than this is a site or column name, not a document title.
_MIN_TITLE_CHARS = 6


def _page_title(root: HtmlElement, rules: _Rules) -> str | None:
    """The document title from <title>: the part an <h1> repeats, else the longest part."""
    title_el = root.find(".//title")
    if title_el is None:
        return None
    parts = [p for p in rules.title_separators.split(_collapse(text_content(title_el)).strip()) if p]
    if not parts:
        return None
    headings = {_collapse(text_content(h)).strip() for h in root.iter("h1", "h2")}
    for part in parts:
        if part in headings and len(part) >= _MIN_TITLE_CHARS:
            return part[:_META_VALUE_MAX_CHARS]
    best = max(parts, key=len)
    return best[:_META_VALUE_MAX_CHARS] if len(best) >= _MIN_TITLE_CHARS else None


def _select_body(root: HtmlElement, rules: _Rules) -> HtmlElement | None:
    """The first CMS selector whose largest match holds enough text (one pass over the tree)."""
    by_id: dict[str, list[int]] = {}
    by_class: dict[str, list[int]] = {}
    by_tag: dict[str, list[int]] = {}
    for i, sel in enumerate(rules.body_selectors):
        if sel.id:
            by_id.setdefault(sel.id, []).append(i)
        elif sel.classes:
            by_class.setdefault(min(sel.classes), []).append(i)
        elif sel.tag:
            by_tag.setdefault(sel.tag, []).append(i)
    found: dict[int, list[HtmlElement]] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        candidates = list(by_tag.get(el.tag, ()))
        ident, cls = el.get("id"), el.get("class")
        if ident:
            candidates += by_id.get(ident, ())
        if cls:
            for token in cls.split():
                candidates += by_class.get(token, ())
        for i in candidates:
            if rules.body_selectors[i].matches(el):
                found.setdefault(i, []).append(el)
    for i in sorted(found):
        best = max(found[i], key=_text_len)
        if _text_len(best) >= rules.min_body_chars:
            return best
    return None


# A selector match is trusted unless a block elsewhere on the page holds this many times its text.
_MISFIRE_RATIO = 3


def _misfired(body: HtmlElement, root: HtmlElement, rules: _Rules) -> bool:
    """Tell whether a CMS selector caught a side box while the article sits elsewhere."""
    dense = _densest_block(root, rules)
    if _is_inside(dense, body) or _is_inside(body, dense):
        return False
    node: HtmlElement | None = dense
    while node is not None:
        if _is_chrome(node, rules.chrome_tokens):
            return False  # a long footer or link box is not an article
        node = node.getparent()
    return _text_len(dense) > _MISFIRE_RATIO * _text_len(body)


def _is_chrome(el: HtmlElement, tokens: frozenset[str]) -> bool:
    attrs = f"{el.get('id') or ''} {el.get('class') or ''}".strip()
    if not attrs:
        return False
    return any(tok.lower() in tokens for tok in _TOKEN_SPLIT.split(attrs) if tok)


def _drop_chrome(scope: HtmlElement, rules: _Rules, keep: HtmlElement | None) -> None:
    """Remove navigation, breadcrumbs, share bars and footers found by their id/class words."""
    protected: set[HtmlElement] = set()
    node = keep
    while node is not None:
        protected.add(node)
        node = node.getparent()
    doomed = [
        el
        for el in scope.iter()
        if isinstance(el.tag, str) and el not in protected and _is_chrome(el, rules.chrome_tokens)
    ]
    for el in doomed:
        # An ancestor may already have taken it away.
        if el.getparent() is not None and _is_inside(el, scope):
            drop_tree(el)


def _densest_block(root: HtmlElement, rules: _Rules) -> HtmlElement:
    """The element whose paragraphs hold the most non-link text (a readability-style score)."""
    import lxml.etree

    own: dict[HtmlElement, int] = {}
    blocks: list[HtmlElement] = []
    link_depth = 0
    for event, el in lxml.etree.iterwalk(root, events=("start", "end")):
        if not isinstance(el.tag, str):
            continue
        tag = el.tag
        if event == "start":
            if tag == "a":
                link_depth += 1
            if tag in rules.block_tags:
                blocks.append(el)
            if el.text and not link_depth and blocks:
                own[blocks[-1]] = own.get(blocks[-1], 0) + len(_SPACES.sub("", el.text))
        else:
            if tag == "a":
                link_depth -= 1
            if blocks and blocks[-1] is el:
                blocks.pop()
            if el.tail and not link_depth and blocks and el is not root:
                own[blocks[-1]] = own.get(blocks[-1], 0) + len(_SPACES.sub("", el.tail))
    score: dict[HtmlElement, float] = {}
    for el, n in own.items():
        score[el] = score.get(el, 0.0) + n
        parent = _block_parent(el, rules.block_tags)
        if parent is not None:
            score[parent] = score.get(parent, 0.0) + n
            grand = _block_parent(parent, rules.block_tags)
            if grand is not None:
                score[grand] = score.get(grand, 0.0) + n / 2
    body_el = root.find("body")
    fallback = body_el if body_el is not None else root
    if not score:
        return fallback
    best = max(score, key=lambda e: score[e])
    return best if score[best] > 0 else fallback


def _block_parent(el: HtmlElement, block_tags: frozenset[str]) -> HtmlElement | None:
    node = el.getparent()
    while node is not None and _tag(node) not in block_tags:
        node = node.getparent()
    return node


def _drop_meta_containers(root: HtmlElement, labels: list[HtmlElement]) -> None:
    """Remove the table or list holding the disclosure labels; else just the label's row or line."""
    for el in labels:
        if not _is_inside(el, root):
            continue  # went with an earlier label's table
        table = row = None
        node = el
        while node is not None and node is not root:
            tag = _tag(node)
            if row is None and tag in _META_ROWS:
                row = node
            if tag in _META_CONTAINERS:
                table = node
                break
            node = node.getparent()
        for target in (table, row):
            # A layout table wrapping the whole page is far longer than a metadata table.
            if target is not None and len(text_content(target)) <= _META_CONTAINER_MAX_CHARS:
                drop_tree(target)
                break


# Markers for the line breaks and cell breaks of the rendered text; whitespace collapsing runs once
# over the joined string and leaves them alone (\s does not match them). Real NULs and SOHs are
# dropped first: they are never text.
_LINE, _CELL = "\x00", "\x01"
_MARKERS = str.maketrans("", "", _LINE + _CELL)


def render_text(body: HtmlElement, block_tags: frozenset[str]) -> str:
    """Render the reading text of `body`: one block per line, <br> a line break, cells tab-separated."""
    import lxml.etree

    parts: list[str] = []
    pre = 0
    for event, el in lxml.etree.iterwalk(body, events=("start", "end")):
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if event == "start":
            if tag in block_tags or tag == "br":
                parts.append(_LINE)
            elif tag == "td" or tag == "th":
                parts.append(_CELL)
            if tag == "pre":
                pre += 1
            if el.text:
                parts.append(_pre(el.text) if pre else el.text.translate(_MARKERS))
        else:
            if tag == "pre":
                pre -= 1
            if tag in block_tags:
                parts.append(_LINE)
            if el.tail and el is not body:
                parts.append(_pre(el.tail) if pre else el.tail.translate(_MARKERS))
    joined = _collapse("".join(parts)).replace(_CELL, "\t")
    lines = (line.strip() for line in joined.split(_LINE))
    return "\n".join(line for line in lines if line)


def _pre(text: str) -> str:
    """Preformatted text keeps its line breaks."""
    return text.translate(_MARKERS).replace("\r\n", "\n").replace("\n", _LINE)


def _is_bold(el: HtmlElement) -> bool:
    return _tag(el) in _BOLD_TAGS or bool(_BOLD_STYLE.search(el.get("style") or ""))


def _elements(el: HtmlElement) -> Iterator[HtmlElement]:
    return (c for c in el if isinstance(c.tag, str))


def _bold_leads(body: HtmlElement, rules: _Rules) -> list[str]:
    """Texts of bold runs that open a paragraph (<p><strong>…</strong>…, <p style=bold>, <h3>)."""
    leads: list[str] = []
    containers = _block_containers(body, rules.block_tags)
    for el in body.iter(*_PARAGRAPH_TAGS):
        if el in containers:
            continue
        lead = _bold_lead(el)
        if lead and len(lead) <= rules.bold_lead_max and any(ch.isalnum() for ch in lead):
            leads.append(lead)
    return leads


def _block_containers(body: HtmlElement, block_tags: frozenset[str]) -> set[HtmlElement]:
    """Elements that hold a block element somewhere inside (so are not a single paragraph)."""
    marked: set[HtmlElement] = set()
    for el in body.iter(*block_tags):
        node = el.getparent()
        # Stop at the first marked ancestor: everything above it is marked already.
        while node is not None and node not in marked:
            marked.add(node)
            if node is body:
                break
            node = node.getparent()
    return marked


def _bold_lead(par: HtmlElement) -> str | None:
    if _is_bold(par):
        return _collapse(text_content(par)).strip() or None
    node = par
    while True:
        if (node.text or "").strip():
            return None
        first = next(_elements(node), None)
        if first is None:
            return None
        if _is_bold(first):
            run = [text_content(first)]
            # Word exports split one bold run into several <b>/<span style=bold> siblings.
            cur = first
            while not (cur.tail or "").strip():
                nxt = cur.getnext()
                if nxt is None or not isinstance(nxt.tag, str) or not _is_bold(nxt):
                    break
                run.append(text_content(nxt))
                cur = nxt
            return _collapse("".join(run)).strip() or None
        if _tag(first) not in _INLINE_WRAPPERS:
            return None
        node = first


# Bounded attribute run: an unclosed "<div" must not make every later "<" rescan the file.
_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]{0,4000}>")


def _strip_comments(markup: str) -> str:
    out: list[str] = []
    pos = 0
    while True:
        start = markup.find("<!--", pos)
        if start < 0:
            out.append(markup[pos:])
            break
        out.append(markup[pos:start])
        end = markup.find("-->", start + 4)
        if end < 0:
            break
        pos = end + 3
    return "".join(out)


def flat_text(markup: str) -> str:
    """Strip tags in one linear pass (for pages too deep for a tree); block tags become line breaks."""
    rules = _rules()
    markup = _strip_comments(markup)
    out: list[str] = []
    skip: str | None = None
    pos = 0
    for m in _TOKEN.finditer(markup):
        if skip is None:
            out.append(markup[pos : m.start()])
        pos = m.end()
        closing, tag = m.group(1), (m.group(2) or "").lower()
        if skip is not None:
            if closing and tag == skip:
                skip = None
            continue
        if not closing and tag in ("script", "style", "head", "noscript", "template"):
            skip = tag
        elif tag in rules.block_tags or tag == "br":
            out.append("\n")
        elif tag in ("td", "th"):
            out.append("\t")
    if skip is None:
        out.append(markup[pos:])
    text = html_lib.unescape("".join(out))
    lines = (_collapse(line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def load_mht(data: bytes) -> Loaded:
    """Load a "single file web page" (MHTML): the first text/html part, as an HTML page."""
    import email
    import email.policy

    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception as exc:  # the email parser is lenient; anything it raises means garbage
        raise DocumentError("E005", fmt="mht", detail=str(exc)[:200]) from None
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            loaded = load_html(payload, part.get_content_charset())
            loaded.format = "mht"
            return loaded
    raise DocumentError("E005", fmt="mht", detail="no text/html part")
