"""Reading crawled pages: list items, pagination, article metadata and attachments (pure functions)."""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning

from extractor.collect.urls import absolute

# ---------------------------------------------------------------------------------------------
# Decoding

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.I)
# Pages that declare GB2312 or GBK routinely use characters only GB18030 (its superset) has.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
}


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = _SUPERSETS.get(name.lower(), name.lower())
    try:
        "".encode(name)
    except LookupError:
        return None
    return name


def decode_html(data: bytes, content_type: str | None = None) -> str:
    """Decode a page: HTTP charset, then <meta charset> or the XML declaration, then UTF-8, then GB18030 (the usual suspects)."""
    header = _HEADER_CHARSET.search(content_type or "")
    meta = _META_CHARSET.search(data[:4096]) or _XML_ENCODING.search(data[:200])
    for name in (header and header.group(1), meta and meta.group(1).decode("ascii", "replace")):
        codec = _codec(name)
        if codec:
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def soup_of(text: str) -> BeautifulSoup:
    """Parse HTML with lxml (fast, tolerant of the broken markup portals serve)."""
    with warnings.catch_warnings():
        # Data-proxy answers are XML; only their CDATA records matter, read separately.
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return BeautifulSoup(text, "lxml")


# ---------------------------------------------------------------------------------------------
# Titles and dates

_SPACE = re.compile(r"\s+")
_TITLE_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_TRUNCATED = ("...", "…", "..", "．．．", "⋯")


def squash(text: str | None) -> str:
    """Collapse runs of whitespace (including full-width spaces) into one space."""
    return _SPACE.sub(" ", (text or "").replace("\u3000", " ")).strip()


@dataclass(frozen=True)
class TitleFilter:
    """Which titles are reports: every all_of group matches, no none_of word does, the year fits."""

    all_of: tuple[tuple[str, ...], ...]
    none_of: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    @classmethod
    def from_profile(cls, spec: dict[str, Any]) -> TitleFilter:
        """Build the filter from a profile's `filter` mapping."""
        years = spec.get("years") or {}
        return cls(
            all_of=tuple(tuple(group) for group in spec["all_of"]),
            none_of=tuple(spec.get("none_of") or ()),
            year_from=years.get("from"),
            year_to=years.get("to"),
        )

    def verdict(self, title: str | None) -> str:
        """'yes' for a report title, 'maybe' for a cut-off title on the topic, 'no' otherwise."""
        text = squash(title).replace(" ", "")
        if not text or any(word in text for word in self.none_of):
            return "no"
        years = [int(y) for y in _TITLE_YEAR.findall(text)]
        if years and not any(self._year_ok(y) for y in years):
            return "no"
        matched = [any(word in text for word in group) for group in self.all_of]
        if all(matched):
            return "yes"
        # Lists cut long titles ("…关于2021年法治政府建设情况的…"): the topic (first group) is
        # enough to open the article and read its full title there.
        if matched and matched[0] and text.endswith(_TRUNCATED):
            return "maybe"
        return "no"

    def _year_ok(self, year: int) -> bool:
        return (self.year_from is None or year >= self.year_from) and (
            self.year_to is None or year <= self.year_to
        )


_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")


def parse_date(text: str | None) -> str | None:
    """The first calendar date in `text` as YYYY-MM-DD (2022-01-14, 2022/1/14, 2022年1月14日 …)."""
    for match in _DATE.finditer(text or ""):
        year, month, day = (int(g) for g in match.groups())
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f"{year:04d}-{month:02d}-{day:02d}"
    return None


# ---------------------------------------------------------------------------------------------
# List pages


@dataclass(frozen=True)
class Link:
    """A link found on a page, with the title and date shown next to it."""

    url: str
    title: str = ""
    date: str | None = None
    is_file: bool = False


_SCRIPT_EXTENSIONS = ("html", "htm", "shtml", "jsp", "php", "asp", "aspx", "do", "action", "cgi")


def _extension(name: str) -> str:
    name = name.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return ext if re.fullmatch(r"[a-z0-9]{1,5}", ext) else ""


def file_extension(url: str) -> str:
    """The extension of the file a URL names, in its path or in a query value (downfile.jsp?filename=a.pdf)."""
    parts = urlsplit(url)
    path_ext = _extension(parts.path)
    if path_ext and path_ext not in _SCRIPT_EXTENSIONS:
        return path_ext
    for _, value in parse_qsl(parts.query):
        ext = _extension(value)
        if ext and ext not in _SCRIPT_EXTENSIONS:
            return ext
    return path_ext


def _link_title(anchor: Tag, title_attribute: str | None) -> str:
    text = squash(anchor.get_text(" "))
    attr = squash(str(anchor.get(title_attribute) or "")) if title_attribute else ""
    # The title attribute usually holds the full title when the visible text is cut.
    return attr if len(attr) > len(text) else text


def _first_selector(root: Tag, selectors: list[str]) -> list[Tag]:
    for selector in selectors:
        try:
            found = root.select(selector)
        except ValueError:  # a selector soupsieve cannot parse: the profile schema cannot catch that
            continue
        if found:
            return found
    return []


def list_links(root: Tag, base: str, lists: dict[str, Any], extensions: list[str]) -> list[Link]:
    """The items of a list page (or of a data-proxy record): link, title, date shown on the list."""
    items = _first_selector(root, lists["items"]) or root.find_all("a")
    link_selector = lists.get("link") or "a"
    date_selector = lists.get("date")
    seen: set[str] = set()
    out: list[Link] = []
    for item in items:
        anchor = item if item.name == "a" else item.select_one(f"{link_selector}[href]")
        if anchor is None:
            continue
        url = absolute(base, str(anchor.get("href") or ""))
        if url is None or url in seen:
            continue
        seen.add(url)
        date = None
        if date_selector and item.name != "a":
            date_tag = item.select_one(date_selector)
            date = parse_date(date_tag.get_text(" ")) if date_tag else None
        if date is None:
            scope = item if item.name != "a" else item.parent
            text = scope.get_text(" ") if scope is not None else ""
            date = parse_date(text) if len(text) < 300 else None
        out.append(
            Link(
                url,
                _link_title(anchor, lists.get("title_attribute")),
                date,
                file_extension(url) in extensions,
            )
        )
    return out


_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)


def record_links(raw: str, base: str, lists: dict[str, Any], extensions: list[str]) -> list[Link]:
    """Items held in Hanweb <record><![CDATA[<li>…</li>]]></record> elements (page or data proxy)."""
    out: list[Link] = []
    for fragment in _RECORD.findall(raw):
        out.extend(list_links(soup_of(fragment), base, lists, extensions))
    return out


# ---------------------------------------------------------------------------------------------
# Pagination


@dataclass(frozen=True)
class PageLink:
    """A further page of the same list, with its page number (0 = first page)."""

    url: str
    page_no: int


def next_links(soup: BeautifulSoup, base: str, pagination: dict[str, Any], page_no: int) -> list[PageLink]:
    """The 下一页 link (by text or by the profile's selector)."""
    anchors: list[Tag] = []
    selector = pagination.get("next_selector")
    if selector:
        anchors = [a for a in soup.select(selector) if a.name == "a"]
    words = pagination.get("next_text") or []
    anchors += [
        a
        for a in soup.find_all("a")
        if squash(a.get_text()) in words or squash(str(a.get("title") or "")) in words
    ]
    out = []
    for anchor in anchors:
        url = absolute(base, str(anchor.get("href") or ""))
        if url and url != base:
            out.append(PageLink(url, page_no + 1))
    return out[:1]


_PAGE_SUFFIX = re.compile(r"_(\d+)\.[a-z]+$", re.I)


def numbered_links(soup: BeautifulSoup, base: str, pattern: str) -> list[PageLink]:
    """Links to numbered pages of the same list: index.html, index_1.html, index_2.html …"""
    regex = _regex(pattern)
    folder = base.rsplit("/", 1)[0] + "/"
    out: dict[str, PageLink] = {}
    for anchor in soup.find_all("a", href=True):
        url = absolute(base, str(anchor["href"]))
        if not url or url == base or not url.startswith(folder) or "/" in url[len(folder) :]:
            continue
        name = urlsplit(url).path.rsplit("/", 1)[-1]
        if regex.search(name):
            suffix = _PAGE_SUFFIX.search(name)
            out.setdefault(url, PageLink(url, int(suffix.group(1)) if suffix else 0))
    return list(out.values())


@functools.cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_TRS_CALL = re.compile(r"createPageHTML\s*\(([^)]*)\)")
_JS_VAR = r"(?:var|let|const)?\s*{name}\s*=\s*['\"]?(\d+)"


def trs_pages(raw: str, base: str) -> list[PageLink]:
    """Pages written by TRS's `createPageHTML(count, current, "index", "html")` script call.

    Also reads the variant with a container id first, `createPageHTML('page_div', 3, 0, 'index', 'html', 45)`,
    and count/current given as variables (`var countPage = 3`).
    """
    call = None
    for candidate in _TRS_CALL.finditer(raw):
        # Skip the function definition itself (`function createPageHTML(_nPageCount, …)`).
        if not re.search(r"function\s*$", raw[max(0, candidate.start() - 12) : candidate.start()]):
            call = candidate
            break
    if call is None:
        return []
    args = [a.strip().strip("'\"") for a in call.group(1).split(",")]
    if len(args) >= 5 and not _number(args[0], raw):
        args = args[1:]  # container id first
    if len(args) < 4:
        return []
    count = _number(args[0], raw)
    prefix, ext = args[2], args[3]
    if not count or not re.fullmatch(r"[\w\-]+", prefix) or not re.fullmatch(r"\w{1,6}", ext):
        return []
    folder = base.rsplit("/", 1)[0] + "/"
    pages = []
    for n in range(count):
        name = f"{prefix}.{ext}" if n == 0 else f"{prefix}_{n}.{ext}"
        pages.append(PageLink(urljoin(folder, name), n))
    return pages


def _number(arg: str, raw: str) -> int | None:
    if arg.isdigit():
        return int(arg)
    if re.fullmatch(r"[A-Za-z_$][\w$]*", arg):
        match = re.search(_JS_VAR.format(name=re.escape(arg)), raw)
        if match:
            return int(match.group(1))
    return None


# Hanweb jpage: the parameters the data proxy wants, in the order the widget sends them.
_PROXY_PARAMS = (
    "col",
    "appid",
    "webid",
    "path",
    "columnid",
    "sourceContentType",
    "unitid",
    "webname",
    "permissiontype",
)
_PROXY_QUERY = re.compile(r"dataproxy\.jsp\?([^\"'<>\]\s]+)", re.I)
_TOTAL = re.compile(r"(?:totalRecord\s*[:=]\s*['\"]?|<totalrecord>\s*)(\d+)", re.I)
_PER_PAGE = re.compile(r"\bperPage\s*[:=]\s*['\"]?(\d+)", re.I)
_PROXY_URL = re.compile(r"proxyUrl\s*[:=]\s*['\"]([^'\"]+)['\"]", re.I)


def dataproxy_pages(raw: str, base: str, spec: dict[str, Any], max_pages: int) -> list[PageLink]:
    """Data-proxy requests that fetch a Hanweb column's records, `group` pages at a time.

    Reads the parameters from the column page (the widget's nextgroup link and its settings) or,
    on a data-proxy answer, from the answer's own URL; the total record count from `totalRecord`
    (page) or `<totalrecord>` (answer). With no total known, only the first group is asked for:
    its answer carries the total.
    """
    own = urlsplit(base)
    on_proxy = own.path.endswith("dataproxy.jsp")
    if not on_proxy and "jpage" not in raw and "dataproxy" not in raw:
        return []
    params: dict[str, str] = {}
    if on_proxy:
        params.update(parse_qsl(own.query))
    for query in _PROXY_QUERY.findall(raw.replace("&amp;", "&")):
        for key, value in parse_qsl(query):
            params.setdefault(key, value)
    for key in _PROXY_PARAMS:
        if key not in params:
            match = re.search(rf"\b{key}\s*[:=]\s*['\"]?([^'\",}}\s&]+)", raw)
            if match:
                params[key] = match.group(1)
    if "columnid" not in params:
        return []
    params.setdefault("col", "1")
    per_page = _int(params.get("perpage")) or _int(_first(_PER_PAGE, raw)) or int(spec.get("per_page") or 15)
    group = int(spec.get("group") or 3)
    total = _int(_first(_TOTAL, raw))
    proxy = _first(_PROXY_URL, raw) or spec.get("proxy_url") or "/module/web/jpage/dataproxy.jsp"
    proxy_url = base if on_proxy else urljoin(base, proxy)
    proxy_url = proxy_url.split("?", 1)[0]
    rest = [(k, params[k]) for k in _PROXY_PARAMS if k in params]
    step = per_page * group
    last = total if total is not None else step
    pages = []
    for n, start in enumerate(range(1, max(last, 1) + 1, step)):
        if n > max_pages:
            break
        end = min(start + step - 1, last) if total is not None else start + step - 1
        query = urlencode(
            [("startrecord", start), ("endrecord", end), ("perpage", per_page), *rest], safe="/"
        )
        pages.append(PageLink(f"{proxy_url}?{query}", n))
    return pages


_PROXY_PAGING = ("startrecord", "endrecord", "perpage")


def dataproxy_post(url: str) -> tuple[str, dict[str, str]]:
    """Split a data-proxy URL for proxies that answer only POST: paging stays in the query, the rest is the form."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    paging = [(k, v) for k, v in query if k in _PROXY_PAGING]
    form = {k: v for k, v in query if k not in _PROXY_PAGING}
    return parts._replace(query=urlencode(paging)).geturl(), form


def _first(regex: re.Pattern[str], text: str) -> str | None:
    match = regex.search(text)
    return match.group(1) if match else None


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


# ---------------------------------------------------------------------------------------------
# Following links on unknown sites


def follow_links(soup: BeautifulSoup, base: str, follow: dict[str, Any]) -> list[Link]:
    """Links whose text or href says they lead towards the reports (信息公开, 法治政府建设 …)."""
    texts = [_regex(p) for p in follow.get("text") or []]
    hrefs = [_regex(p) for p in follow.get("href") or []]
    if not texts and not hrefs:
        return []
    out: dict[str, Link] = {}
    for anchor in soup.find_all("a", href=True):
        url = absolute(base, str(anchor["href"]))
        if not url or url == base:
            continue
        text = squash(anchor.get_text(" ")) or squash(str(anchor.get("title") or ""))
        path = urlsplit(url).path
        if any(r.search(text) for r in texts) or any(r.search(path) for r in hrefs):
            out.setdefault(url, Link(url, text))
    return list(out.values())


# ---------------------------------------------------------------------------------------------
# Article pages

_LABELS = {
    "index_no": ("索引号",),
    "doc_number": ("发文字号", "文号"),
    "publisher": ("发布机构", "发文机关", "发文单位", "发布单位"),
    "written_date": ("成文日期",),
    "published_date": ("发布日期", "发布时间", "公开日期"),
}
_ALL_LABELS = "|".join(label for labels in _LABELS.values() for label in labels)
_INLINE = re.compile(rf"({_ALL_LABELS})\s*[:：]\s*(.*?)(?=\s*(?:{_ALL_LABELS})\s*[:：]|$)")
_TITLE_SEPARATORS = re.compile(r"\s+[-|—]\s+|_|\|")


@dataclass
class Article:
    """What an article page says about itself, and the attachments it links."""

    title: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    attachments: list[Link] = field(default_factory=list)


def read_article(
    soup: BeautifulSoup, base: str, articles: dict[str, Any], attachments: dict[str, Any]
) -> Article:
    """Title, disclosure metadata (索引号, 文号, 发布机构, dates) and attachment links of an article."""
    return Article(
        title=article_title(soup, articles.get("title") or []),
        meta=disclosure_meta(soup),
        attachments=attachment_links(soup, base, articles.get("body") or [], attachments),
    )


def article_title(soup: BeautifulSoup, selectors: list[str]) -> str:
    """The first non-empty title among the selectors; <meta> gives its content, <title> its longest part."""
    for tag in _all_selected(soup, selectors):
        if tag.name == "meta":
            text = squash(str(tag.get("content") or ""))
        elif tag.name == "title":
            parts = [squash(p) for p in _TITLE_SEPARATORS.split(tag.get_text())]
            text = max(parts, key=len) if parts else ""
        else:
            text = squash(tag.get_text(" "))
        if text:
            return text
    return ""


def _all_selected(soup: BeautifulSoup, selectors: list[str]) -> list[Tag]:
    out: list[Tag] = []
    for selector in selectors:
        try:
            out.extend(soup.select(selector))
        except ValueError:
            continue
    return out


def disclosure_meta(soup: BeautifulSoup) -> dict[str, str]:
    """Label/value pairs of a disclosure page's metadata table (索引号：…, 发文字号：…)."""
    found: dict[str, str] = {}
    for tag in soup.find_all(["td", "th", "span", "li", "p", "div", "dt", "dd", "label", "b", "strong"]):
        own = squash(tag.get_text(" "))
        if not own or len(own) > 200:
            continue
        label_only = re.fullmatch(rf"({_ALL_LABELS})\s*[:：]?", own)
        if label_only:
            sibling = tag.find_next_sibling()
            value = squash(sibling.get_text(" ")) if sibling is not None else ""
            _note(found, label_only.group(1), value)
            continue
        for label, value in _INLINE.findall(own):
            _note(found, label, value)
    for key in ("written_date", "published_date"):
        if key in found:
            date = parse_date(found[key])
            if date:
                found[key] = date
            else:
                del found[key]
    meta_date = soup.find("meta", attrs={"name": re.compile("^(PubDate|firstpublishedtime)$", re.I)})
    if "published_date" not in found and meta_date is not None:
        date = parse_date(str(meta_date.get("content") or ""))
        if date:
            found["published_date"] = date
    return found


def _note(found: dict[str, str], label: str, value: str) -> None:
    value = squash(value)
    if not value or len(value) > 100:
        return
    for key, labels in _LABELS.items():
        if label in labels:
            found.setdefault(key, value)


def attachment_links(soup: BeautifulSoup, base: str, body: list[str], spec: dict[str, Any]) -> list[Link]:
    """Links to files on an article: by extension (in the path or a query value) or by 附件 in the text.

    Looks in the body and the few elements after it (where portals put the 附件 list) when the
    profile's body selectors match, otherwise in the whole page.
    """
    extensions = spec.get("extensions") or []
    words = spec.get("text") or []
    scopes: list[Tag] = []
    for tag in _all_selected(soup, body)[:1]:
        scopes.append(tag)
        scopes.extend(tag.find_next_siblings(limit=3))
    if not scopes:
        scopes = [soup]
    out: dict[str, Link] = {}
    for scope in scopes:
        for anchor in scope.find_all("a", href=True):
            url = absolute(base, str(anchor["href"]))
            if not url or url == base:
                continue
            text = squash(anchor.get_text(" ")) or squash(str(anchor.get("title") or ""))
            if file_extension(url) in extensions or any(word in text for word in words):
                out.setdefault(url, Link(url, text, None, True))
    return list(out.values())
