"""One private jieba lexicon per process, shared by the numbers and indicators stages.

The lexicon knows every indicator trigger word, so a trigger segments as one token. Its
dictionary is fixed when it is built (catalog triggers are read at that moment), so segmentation
never depends on which stage happened to call it first.

Building it the documented way costs about three seconds per process: jieba unmarshals its prefix
dictionary, `jieba.posseg` parses dict.txt a second time for the part-of-speech tags, and each
trigger word is added. The finished lexicon (frequencies, total and tags) is therefore kept in a
plain binary file in the user's cache folder, keyed by everything it was built from, and read
back in a fraction of that time. Windows are cut along jieba's best dictionary route without HMM,
computed here exactly as `jieba.Tokenizer` (DAG, route) and `jieba.posseg` (tags, runs of Latin
letters and digits) compute it, so a warm process never imports jieba; `tokenizer()` still gives
a real `jieba.Tokenizer` over the same dictionary, for spaCy.
"""

from __future__ import annotations

import array
import functools
import hashlib
import importlib.util
import logging
import math
import os
import re
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractor.rules import cache_dir, load_schema_yaml

log = logging.getLogger(__name__)

# Bump when the file layout or the way the lexicon is built changes.
_FORMAT = b"extractor-lexicon-3\n"
_HEADER = struct.Struct("<qQQQQ")  # total, then the byte lengths of the four sections
# The tag of a word the tagger does not know (jieba.posseg's default).
UNTAGGED = "x"
# A single ASCII letter or digit: runs of them are joined into one token, as jieba does.
_ENG1 = re.compile("^[a-zA-Z0-9]$")


def _catalog_words() -> list[str]:
    """Trigger words of the indicator catalog (gap triggers contribute their literal parts)."""
    try:
        data = load_schema_yaml("indicators")
    except Exception:  # the catalog is optional for segmentation; its own loader reports errors
        return []
    words: set[str] = set()
    for ind in data.get("indicators", []) if isinstance(data, dict) else []:
        for trig in ind.get("triggers", []):
            for part in str(trig).split("…"):
                if len(part) >= 2:
                    words.add(part)
    return sorted(words)


def _jieba_dir() -> Path:
    """jieba's package folder, found without importing it (importing jieba loads pkg_resources)."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.origin:
        raise ImportError("jieba is not installed")
    return Path(spec.origin).resolve().parent


def _lexicon_path(words: list[str]) -> Path:
    """The cache file of the lexicon built from this jieba (code and dictionary) and these trigger words."""
    h = hashlib.sha256(_FORMAT)
    for name in ("dict.txt", "__init__.py"):
        src = _jieba_dir() / name
        st = src.stat()
        h.update(f"{src}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    for word in words:
        h.update(word.encode("utf-8") + b"\0")
    return cache_dir() / f"lexicon-{h.hexdigest()[:20]}.bin"


def _encode(freq: dict[str, int], total: int, tags: dict[str, str]) -> bytes:
    # Tags are stored aligned with the frequency table's words, so that reading them back reuses
    # the word strings (and their hashes) instead of making 350,000 new ones. A word without a
    # tag gets the tagger's own default, "x": every lookup then answers as before.
    extra = [f"{w}\t{t}" for w, t in tags.items() if w not in freq]
    sections = [
        "\n".join(freq).encode("utf-8"),
        array.array("q", freq.values()).tobytes(),
        "\n".join(tags.get(w, UNTAGGED) for w in freq).encode("utf-8"),
        "\n".join(extra).encode("utf-8"),
    ]
    return b"".join([_FORMAT, _HEADER.pack(total, *map(len, sections)), *sections])


def _decode(data: bytes) -> tuple[dict[str, int], int, dict[str, str]]:
    """The lexicon of a cache file; ValueError when the file is not a complete one."""
    if not data.startswith(_FORMAT):
        raise ValueError("not a lexicon file of this version")
    pos = len(_FORMAT) + _HEADER.size
    total, *sizes = _HEADER.unpack_from(data, len(_FORMAT))
    if pos + sum(sizes) != len(data):
        raise ValueError("truncated lexicon file")
    parts = []
    for size in sizes:
        parts.append(data[pos:pos + size].decode("utf-8") if len(parts) != 1 else data[pos:pos + size])
        pos += size
    words, flags = parts[0].split("\n"), parts[2].split("\n")
    counts = array.array("q")
    counts.frombytes(parts[1])
    if not len(words) == len(counts) == len(flags):
        raise ValueError("inconsistent lexicon file")
    freq = dict(zip(words, counts.tolist(), strict=True))
    tags = dict(zip(words, flags, strict=True))
    for line in parts[3].split("\n") if parts[3] else ():
        word, _, tag = line.partition("\t")
        tags[word] = tag
    return freq, total, tags


def _build(words: list[str]) -> tuple[Any, dict[str, str]]:
    """A tokenizer built the documented way, with its tag table (seconds: the slow path)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    tk.initialize()
    for word in words:
        # The smallest frequency that keeps the word whole, so other words segment as before; a
        # word new to the dictionary is tagged as a noun phrase (most triggers name things counted).
        known = tk.FREQ.get(word)
        tk.add_word(word, freq=tk.suggest_freq(word), tag=None if known else "n")
    # The tag table as jieba.posseg reads it from the same dict.txt, then the added words' tags.
    tags: dict[str, str] = {}
    with (_jieba_dir() / "dict.txt").open("rb") as fh:
        for raw in fh:
            line = raw.strip().decode("utf-8")
            if line:
                word, _, tag = line.split(" ")
                tags[word] = tag
    tags.update(tk.user_word_tag_tab)
    tk.user_word_tag_tab = {}
    return tk, tags


def _save(path: Path, data: bytes) -> None:
    """Write the cache file atomically; a read-only home only costs the next process the slow path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".lexicon-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        for old in path.parent.glob("lexicon-*.bin"):  # lexicons of other versions or catalogs
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("lexicon cache not written to %s: %s", path, exc)


@dataclass(frozen=True)
class Lexicon:
    """Word frequencies (with jieba's zero-frequency prefixes), their total, and the POS tags (UNTAGGED for none)."""

    freq: dict[str, int]
    total: int
    tags: dict[str, str]


@functools.cache
def _lexicon() -> Lexicon:
    """The shared lexicon, from the cache file when it is there and sound, else built and saved."""
    words = _catalog_words()
    path = _lexicon_path(words)
    try:
        freq, total, tags = _decode(path.read_bytes())
    except (OSError, ValueError, UnicodeDecodeError, struct.error) as exc:
        if not isinstance(exc, FileNotFoundError):
            log.debug("lexicon cache %s unusable (%s): rebuilding", path, exc)
        tk, tags = _build(words)
        _save(path, _encode(tk.FREQ, tk.total, tags))
        freq, total = tk.FREQ, tk.total
    return Lexicon(freq, total, tags)


@functools.cache
def tokenizer() -> Any:
    """A private `jieba.Tokenizer` over the shared lexicon (for spaCy's jieba segmenter)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    lex = _lexicon()
    tk = jieba.Tokenizer()
    tk.FREQ, tk.total, tk.initialized = lex.freq, lex.total, True
    return tk


def _best_route(s: str, freq: dict[str, int], logtotal: float) -> list[int]:
    """End index (exclusive) of the word starting at each position, on jieba's best route.

    The same DAG and the same maximum as `jieba.Tokenizer.get_DAG` and `calc`, in the same
    floating-point order, so ties and rounding break the same way.
    """
    n = len(s)
    log = math.log
    score = [0.0] * (n + 1)
    nxt = [0] * (n + 1)
    for k in range(n - 1, -1, -1):
        ends: list[int] = []
        i, frag = k, s[k]
        while i < n and frag in freq:
            if freq[frag]:
                ends.append(i)
            i += 1
            frag = s[k:i + 1]
        if not ends:
            ends.append(k)
        best = max((log(freq.get(s[k:x + 1]) or 1) - logtotal + score[x + 1], x) for x in ends)
        score[k], nxt[k] = best[0], best[1] + 1
    return nxt


def _pos_route(s: str) -> list[tuple[str, str]]:
    """(word, flag) pairs of `s` along jieba's best dictionary route, as `jieba.posseg` gives them without HMM."""
    lex = _lexicon()
    tags = lex.tags
    nxt = _best_route(s, lex.freq, _logtotal())
    out: list[tuple[str, str]] = []
    x, n, buf = 0, len(s), ""
    while x < n:
        y = nxt[x]
        word = s[x:y]
        if _ENG1.match(word):
            buf += word
        else:
            if buf:
                out.append((buf, "eng"))
                buf = ""
            out.append((word, tags.get(word, UNTAGGED)))
        x = y
    if buf:
        out.append((buf, "eng"))
    return out


@functools.cache
def _logtotal() -> float:
    return math.log(_lexicon().total)


@functools.lru_cache(maxsize=8192)
def pos_cut(s: str) -> tuple[tuple[str, str], ...]:
    """Segment a short window into (word, flag) pairs, by dictionary only (no HMM)."""
    return tuple(_pos_route(s))


@functools.lru_cache(maxsize=8192)
def cut(s: str) -> tuple[str, ...]:
    """Segment a short window into words with the shared tokenizer (no HMM)."""
    # From the route, not from pos_cut: the windows cut here would crowd that cache's own.
    return tuple(word for word, _ in _pos_route(s))
