"""Plain-text loading and the byte-to-str decoding shared by the text and HTML loaders."""

from __future__ import annotations

import codecs

from extractor.model import Loaded

# Tried in this order when the bytes are not valid UTF-8. GB18030 is a superset of GBK and GB2312.
CJK_ENCODINGS = ("gb18030", "big5")


def decode(data: bytes, declared: str | None = None) -> tuple[str, str, list[str]]:
    """Decode bytes to text; return (text, encoding, warnings). Never raises on bad bytes."""
    warnings: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        return _decode_lenient(data[3:], "utf-8", warnings), "utf-8-sig", warnings
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_lenient(data, "utf-16", warnings), "utf-16", warnings
    candidates: list[str] = []
    if declared:
        norm = _normalise_encoding(declared)
        if norm:
            candidates.append(norm)
    candidates += ["utf-8", *CJK_ENCODINGS]
    strict_ok: list[str] = []
    for enc in dict.fromkeys(candidates):
        try:
            data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        strict_ok.append(enc)
    if strict_ok:
        enc = strict_ok[0]
        if declared is None and enc != "utf-8" and len(strict_ok) > 1:
            enc = _best_cjk(data, strict_ok)
        return data.decode(enc), enc, warnings
    # Nothing decodes the whole file: the file is damaged or mixes encodings. Decode line by line,
    # so that a GBK paragraph pasted into a UTF-8 file still reads.
    return _decode_mixed(data, warnings), "mixed", warnings


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


def _decode_mixed(data: bytes, warnings: list[str]) -> str:
    lines = data.split(b"\n")
    out: list[str] = []
    bad = 0
    for line in lines:
        for enc in ("utf-8", *CJK_ENCODINGS):
            try:
                out.append(line.decode(enc))
                break
            except UnicodeDecodeError:
                continue
        else:
            bad += 1
            out.append(line.decode("utf-8", errors="replace"))
    warnings.append(f"mixed or malformed encoding: decoded line by line, {bad} line(s) had bytes replaced")
    return "\n".join(out)


def load_txt(data: bytes) -> Loaded:
    """Load a plain-text report."""
    text, encoding, warnings = decode(data)
    return Loaded(format="txt", text=text, encoding=encoding, text_source="txt", warnings=warnings)
