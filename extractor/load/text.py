"""Plain-text loading and the byte-to-str decoding shared by the text and HTML loaders."""

from __future__ import annotations

import codecs

from extractor.errors import DocumentError
from extractor.model import Loaded

# Tried in this order when the bytes are not valid UTF-8. GB18030 is a superset of GBK and GB2312.
CJK_ENCODINGS = ("gb18030", "big5")


def decode(data: bytes, declared: str | None = None) -> tuple[str, str, list[str]]:
    """Decode bytes to text; return (text, encoding, warnings). Never raises on bad bytes.

    Order: a byte-order mark; valid UTF-8 (which legacy CJK text practically never is, so it
    beats a declared gb2312 that a migrated CMS left behind); the declared charset; GB18030 or
    Big5 by coherence; finally line by line for damaged or mixed files.
    """
    warnings: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        return _decode_lenient(data[3:], "utf-8", warnings), "utf-8-sig", warnings
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_lenient(data, "utf-16", warnings), "utf-16", warnings
    norm = _normalise_encoding(declared) if declared else None
    if data.isascii():
        return data.decode("ascii"), norm or "utf-8", warnings
    if _strict_ok(data, "utf-8"):
        if norm and norm != "utf-8":
            warnings.append(f"declared charset {declared} ignored: the bytes are valid UTF-8")
        return data.decode("utf-8"), "utf-8", warnings
    if norm and norm not in ("utf-8", "ascii") and _strict_ok(data, norm):
        return data.decode(norm), norm, warnings
    # UTF-8 with a few damaged bytes (a cut-off download, a bad copy) stays UTF-8.
    if _mostly_utf8(data):
        warnings.append("invalid utf-8 bytes replaced with U+FFFD")
        return data.decode("utf-8", errors="replace"), "utf-8", warnings
    strict_ok = [enc for enc in CJK_ENCODINGS if _strict_ok(data, enc)]
    if strict_ok:
        enc = strict_ok[0] if len(strict_ok) == 1 else _best_cjk(data, strict_ok)
        return data.decode(enc), enc, warnings
    # Nothing decodes the whole file: the file is damaged or mixes encodings. Decode line by line,
    # so that a GBK paragraph pasted into a UTF-8 file still reads.
    return _decode_mixed(data, norm, warnings), "mixed", warnings


def _strict_ok(data: bytes, enc: str) -> bool:
    try:
        data.decode(enc)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


# At most this share of the non-ASCII characters may be U+FFFD for bytes to count as damaged
# UTF-8; GBK or Big5 read as UTF-8 gives well over half.
_UTF8_DAMAGE_RATIO = 0.05


def _mostly_utf8(data: bytes) -> bool:
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    wide = len(text) - len(text.encode("ascii", errors="ignore"))
    return wide > 0 and bad <= _UTF8_DAMAGE_RATIO * wide


def _normalise_encoding(name: str) -> str | None:
    try:
        norm = codecs.lookup(name.strip().strip("'\"")).name
    except LookupError:
        return None
    # Pages that declare gb2312 or gbk routinely use GB18030-only characters.
    return "gb18030" if norm in ("gb2312", "gbk", "gb18030") else norm


def _best_cjk(data: bytes, encodings: list[str]) -> str:
    """Choose between encodings that all decode strictly, using charset-normalizer's coherence."""
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=encodings).best()
    if best is None:
        return encodings[0]
    return _normalise_encoding(best.encoding) or encodings[0]


def _decode_lenient(data: bytes, enc: str, warnings: list[str]) -> str:
    try:
        return data.decode(enc)
    except UnicodeDecodeError:
        warnings.append(f"invalid {enc} bytes replaced with U+FFFD")
        return data.decode(enc, errors="replace")


def _decode_mixed(data: bytes, declared: str | None, warnings: list[str]) -> str:
    """Decode each line on its own: UTF-8 lines as UTF-8, the rest in the file's legacy encoding."""
    lines = data.split(b"\n")
    legacy_lines = [ln for ln in lines if not ln.isascii() and not _strict_ok(ln, "utf-8") and not _mostly_utf8(ln)]
    legacy_ok = [enc for enc in (declared, *CJK_ENCODINGS) if enc and enc != "utf-8"]
    sample = b"\n".join(legacy_lines)
    candidates = [enc for enc in dict.fromkeys(legacy_ok) if _strict_ok(sample, enc)]
    legacy = _best_cjk(sample, candidates) if len(candidates) > 1 else (candidates or ["gb18030"])[0]
    out: list[str] = []
    bad = 0
    for line in lines:
        if line.isascii() or _strict_ok(line, "utf-8"):
            out.append(line.decode("utf-8"))
        elif _mostly_utf8(line):
            bad += 1
            out.append(line.decode("utf-8", errors="replace"))
        elif _strict_ok(line, legacy):
            out.append(line.decode(legacy))
        else:
            bad += 1
            out.append(line.decode(legacy, errors="replace"))
    warnings.append(
        f"mixed or malformed encoding: decoded line by line (utf-8 and {legacy}), "
        f"{bad} line(s) had bytes replaced"
    )
    return "\n".join(out)


# A "text" file whose decoded characters are more than this share U+FFFD is binary data.
_GARBAGE_RATIO = 0.2


def load_txt(data: bytes) -> Loaded:
    """Load a plain-text report; bytes that decode to mostly U+FFFD are reported as binary."""
    text, encoding, warnings = decode(data)
    if text and text.count("\ufffd") > _GARBAGE_RATIO * len(text):
        raise DocumentError("E010", fmt="txt")
    return Loaded(format="txt", text=text, encoding=encoding, text_source="txt", warnings=warnings)
