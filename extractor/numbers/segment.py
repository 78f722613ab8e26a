"""One private jieba tokenizer per process, shared by the numbers and indicators stages.

The tokenizer knows every indicator trigger word, so a trigger segments as one token. Its
dictionary is fixed when it is built (catalog triggers are read at that moment), so segmentation
never depends on which stage happened to call it first.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from extractor.rules import load_schema_yaml


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


@functools.cache
def tokenizer() -> Any:
    """The shared private `jieba.Tokenizer`, initialised with the trigger words."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    tk.initialize()
    for word in _catalog_words():
        # The smallest frequency that keeps the word whole, so other words segment as before; a
        # word new to the dictionary is tagged as a noun phrase (most triggers name things counted).
        known = tk.FREQ.get(word)
        tk.add_word(word, freq=tk.suggest_freq(word), tag=None if known else "n")
    return tk


@functools.cache
def pos_tokenizer() -> Any:
    """A part-of-speech tokenizer over the shared tokenizer."""
    import jieba.posseg

    # Importing jieba.posseg already loads the tag table once (for its module-level tagger);
    # building a second tagger the documented way would read the dictionary file again (about a
    # second per process), so a copy of that table is reused when this jieba exposes it.
    shared = getattr(getattr(jieba.posseg, "dt", None), "word_tag_tab", None)
    if isinstance(shared, dict) and shared:
        pt = jieba.posseg.POSTokenizer.__new__(jieba.posseg.POSTokenizer)
        pt.tokenizer = tokenizer()
        pt.word_tag_tab = dict(shared)
    else:
        pt = jieba.posseg.POSTokenizer(tokenizer())
    pt.makesure_userdict_loaded()  # copies the tags of added words into the tagger's table
    return pt


@functools.cache
def _pos_route() -> Any:
    """The tagger's dictionary route (no HMM) when this jieba has it, else its public `cut`."""
    pt = pos_tokenizer()
    # The public `cut` splits blocks with regexes before routing; on the short windows used here
    # that fixed cost dominates, so the route is called directly when available.
    route = getattr(pt, "_POSTokenizer__cut_DAG_NO_HMM", None)
    return route if route is not None else (lambda s: pt.cut(s, HMM=False))


@functools.lru_cache(maxsize=8192)
def pos_cut(s: str) -> tuple[tuple[str, str], ...]:
    """Segment a short window into (word, flag) pairs, by dictionary only (no HMM)."""
    return tuple((p.word, p.flag) for p in _pos_route()(s))


@functools.cache
def _route() -> Any:
    """The tokenizer's dictionary route (no HMM) when this jieba has it, else its public `cut`."""
    tk = tokenizer()
    route = getattr(tk, "_Tokenizer__cut_DAG_NO_HMM", None)
    return route if route is not None else (lambda s: tk.cut(s, HMM=False))


@functools.lru_cache(maxsize=8192)
def cut(s: str) -> tuple[str, ...]:
    """Segment a short window into words with the shared tokenizer (no HMM)."""
    return tuple(_route()(s))
