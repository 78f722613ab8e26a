"""Tell a file's real format from its bytes; the extension is only a tie-breaker."""

from __future__ import annotations

import io
import re
import zipfile

_HTML_HINT = re.compile(rb"<(!doctype\s+html|html|head|body|meta|div|p|table|title|span|br)[\s>/]", re.I)
_MHT_HINT = re.compile(rb"\s*(?:[\w-]+:[^\n]*\r?\n)*?MIME-Version:", re.I)
_WORDML_HINT = re.compile(rb"<w:wordDocument\b|<pkg:package\b|progid=\"Word\.Document\"")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
    b"II*\x00": "tiff",
    b"MM\x00*": "tiff",
}


def sniff(data: bytes, name: str = "") -> str:
    """Return the detected format: txt, html, pdf, docx, doc, wps, ofd, xlsx, zip, rtf, mht, image kinds or binary."""
    head = data[:2048]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if head.lstrip()[:5] == b"%PDF-" or b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _sniff_zip(data)
    if head.startswith(_OLE_MAGIC):
        # WPS and Word 97 share the OLE container; only the extension tells them apart cheaply.
        if ext in ("wps", "et", "dps"):
            return ext
        if ext in ("xls", "ppt"):
            return ext
        return "doc"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if _MHT_HINT.match(head) and b"multipart/related" in head.lower():
        # "Single file web page" (.mht); sites often serve these under a .doc name.
        return "mht"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml") and _WORDML_HINT.search(data[:8192]):
        return "wordml"
    for magic, kind in _IMAGE_MAGIC.items():
        if head.startswith(magic):
            return kind
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "html" if _HTML_HINT.search(_utf16_ascii(head)) else "txt"
    if _HTML_HINT.search(head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1024]) and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return "html"
    if ext in ("html", "htm", "shtml", "xhtml") and _HTML_HINT.search(head):
        return "html"
    if _looks_binary(head):
        return "binary"
    return "txt"


def _sniff_zip(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    # NotImplementedError: a header asking for a zip version newer than zipfile reads.
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        # A damaged or truncated package: the local file headers still name its parts.
        head = data[: 1 << 20]
        if b"word/" in head:
            return "docx"
        if b"xl/" in head:
            return "xlsx"
        return "zip"
    if "word/document.xml" in names:
        return "docx"
    if "OFD.xml" in names or any(n.endswith("/Document.xml") and n.startswith("Doc_") for n in names):
        return "ofd"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    if any(n.startswith("ppt/") for n in names):
        return "pptx"
    return "zip"


def _utf16_ascii(head: bytes) -> bytes:
    return head.replace(b"\x00", b"")


# Text in any CJK encoding holds no C0 controls but tab, line ends, vertical tab (Word line
# breaks), form feed, escape and the odd stray NUL;
# random or compressed bytes hold about 10%.
_BINARY_CONTROL_RATIO = 0.03
_TEXT_CONTROLS = frozenset(b"\t\n\r\x0b\x0c\x1b")


def _looks_binary(head: bytes) -> bool:
    """Heuristic: more than a few NULs or C0 control bytes means binary, not text."""
    if not head:
        return False
    controls = sum(1 for b in head if b < 0x20 and b not in _TEXT_CONTROLS)
    return controls / len(head) > _BINARY_CONTROL_RATIO
