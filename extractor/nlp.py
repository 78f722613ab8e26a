"""spaCy view of the indicator catalog: trigger words as Matcher patterns in a blank Chinese pipeline.

The default trigger finder (`extractor.indicators.find_triggers`) is a dictionary scan; this module
runs the same catalog as spaCy `Matcher` patterns, for cross-checks and for reuse in other spaCy
pipelines (`patterns()`, or `python -m extractor.nlp --patterns` for JSONL). Importing it imports
spaCy, so nothing reachable from the default path imports it at module level.

1. `make_nlp()` builds `spacy.blank("zh")` with the jieba segmenter (no model download) whose jieba
   knows every trigger word, so a trigger segments as one token;
2. the "indicator_triggers" component turns each trigger into a token pattern: a literal trigger
   is the tokens of the trigger; a gapped trigger "A…B" is A's tokens, up to `gap` tokens that are
   no punctuation, space or number, then B's tokens;
3. at each token the highest-priority trigger wins (longest literal text first, as the scan), with
   its shortest gap, and only when every gap spans at most `gap` chars (the catalog's bound is in
   chars, a pattern can only bound tokens); the hits go to `doc.spans["indicator_triggers"]`,
   labelled with the trigger.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

if TYPE_CHECKING:
    from extractor.indicators import Catalog

SPANS_KEY = "indicator_triggers"
COMPONENT = "indicator_triggers"
# What a gap token may not be: punctuation (，、。“” …), whitespace (line breaks) or a number
# (any digit in it, or a whole numeral token like 三 or 一百 that spaCy's Chinese lexical attributes
# know). A numeral that jieba glues to its measure word (三份) is not seen; the scan, which stops
# at digits only, crosses it too.
_GAP_TOKEN: dict[str, Any] = {"IS_PUNCT": False, "IS_SPACE": False, "LIKE_NUM": False,
                              "TEXT": {"REGEX": r"^\D+$"}}


def _catalog_gap() -> int:
    """How many chars a "…" of the catalog may span."""
    from extractor.rules import load_schema_yaml

    return int(load_schema_yaml("indicators")["gap"])


def _priority(trigger: str) -> tuple[int, bool, str]:
    """Order of triggers at one position, as the scan: longest literal text first, then gapped before literal."""
    return (-len(trigger.replace("…", "")), "…" not in trigger, trigger)


def build_patterns(nlp: Language, gap: int) -> list[dict[str, Any]]:
    """One pattern per catalog trigger, in priority order: {"label": trigger, "id": indicator ids, "pattern": [...]}."""
    from extractor.indicators import catalog

    cat = catalog()
    out: list[dict[str, Any]] = []
    for trigger in sorted(cat.by_trigger, key=_priority):
        pattern: list[dict[str, Any]] = []
        for k, part in enumerate(trigger.split("…")):
            if k:
                pattern.append({**_GAP_TOKEN, "OP": f"{{0,{gap}}}"})
            # A part is matched as the tokens the pipeline's own tokenizer makes of it: one token for
            # a registered word, several for a trigger holding punctuation (调解、和解).
            pattern += [{"ORTH": t.text} for t in nlp.make_doc(part)]
        ids = ",".join(i.id for i in cat.by_trigger[trigger])
        out.append({"label": trigger, "id": ids, "pattern": pattern})
    return out


class IndicatorTriggers:
    """Pipeline component: catalog triggers found by a `Matcher`, one hit per token, as spans."""

    def __init__(self, nlp: Language, name: str, gap: int) -> None:
        self.name = name
        self.gap = gap
        self.patterns = build_patterns(nlp, gap)
        self.matcher = Matcher(nlp.vocab, validate=True)
        self.parts: dict[str, list[list[str]]] = {}
        self.rank: dict[int, int] = {}
        for rank, p in enumerate(self.patterns):
            trigger = p["label"]
            self.matcher.add(trigger, [p["pattern"]])
            self.rank[nlp.vocab.strings[trigger]] = rank
            self.parts[trigger] = _parts_of(p["pattern"])

    def __call__(self, doc: Doc) -> Doc:
        """Set doc.spans["indicator_triggers"]: the best trigger starting at each token."""
        best: dict[int, tuple[int, int, int]] = {}  # start token → (rank, end token, match id)
        for match_id, s, e in self.matcher(doc):
            rank = self.rank[match_id]
            current = best.get(s)
            if current is not None and (current[0], current[1]) <= (rank, e):
                continue
            label = doc.vocab.strings[match_id]
            if "…" in label and not self._gaps_fit(doc[s:e], self.parts[label]):
                continue
            best[s] = (rank, e, match_id)
        doc.spans[SPANS_KEY] = [Span(doc, s, e, label=mid) for s, (_, e, mid) in sorted(best.items())]
        return doc

    def _gaps_fit(self, span: Span, parts: list[list[str]]) -> bool:
        """Tell whether the span splits into the trigger's parts with at most `gap` chars in each gap."""
        words = [t.text for t in span]
        # Char offset where each token starts, and where the span ends: gaps are measured in chars
        # of the text, spaces included, as the scan measures them.
        starts = [t.idx for t in span] + [span.end_char]

        def fits(i: int, k: int) -> bool:
            """Tell whether parts[k:] fit from token i on."""
            j = i + len(parts[k])
            if words[i:j] != parts[k]:
                return False
            if k == len(parts) - 1:
                return j == len(words)
            part_end = span[j - 1].idx + len(words[j - 1])
            for nxt in range(j, len(words)):
                if starts[nxt] - part_end > self.gap:
                    return False
                if fits(nxt, k + 1):
                    return True
            return False

        return fits(0, 0)


def _parts_of(pattern: list[dict[str, Any]]) -> list[list[str]]:
    """The literal token runs of a pattern, split at its gaps."""
    parts: list[list[str]] = [[]]
    for d in pattern:
        if "ORTH" in d:
            parts[-1].append(d["ORTH"])
        else:
            parts.append([])
    return parts


@Language.factory(COMPONENT, default_config={"gap": None})
def make_indicator_triggers(nlp: Language, name: str, gap: int | None) -> IndicatorTriggers:
    """The "indicator_triggers" component; `gap` defaults to the catalog's own."""
    return IndicatorTriggers(nlp, name, _catalog_gap() if gap is None else gap)


@functools.cache
def make_nlp() -> Language:
    """A blank Chinese pipeline (jieba segmenter, every trigger one token) with the trigger component."""
    import jieba
    import spacy

    from extractor.numbers.segment import tokenizer

    jieba.setLogLevel(logging.WARNING)  # spaCy warms up the global dictionary; its notice is noise
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    # spaCy's jieba segmenter calls the global `jieba` module. Its `jieba_seg` attribute is given
    # the project's private jieba.Tokenizer instead: that one already holds every trigger word
    # (extractor.numbers.segment), it is the segmentation the scan uses for word boundaries, and
    # the global dictionary stays untouched for anyone else using jieba in the same process.
    # A spaCy without that attribute falls back to adding the words to the global dictionary.
    if hasattr(nlp.tokenizer, "jieba_seg"):
        nlp.tokenizer.jieba_seg = tokenizer()
    else:
        from extractor.numbers.segment import _catalog_words

        for word in _catalog_words():
            jieba.add_word(word, freq=jieba.suggest_freq(word))
    nlp.add_pipe(COMPONENT)
    return nlp


def patterns() -> list[dict[str, Any]]:
    """The catalog as spaCy Matcher/SpanRuler patterns (copies), in priority order."""
    return json.loads(json.dumps(make_nlp().get_pipe(COMPONENT).patterns, ensure_ascii=False))


def find_triggers_spacy(cat: Catalog, text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """(start, end, trigger) of the best trigger at each token of text[start:end], by the spaCy component."""
    from extractor.indicators import catalog

    if cat is not catalog():
        raise ValueError("the spaCy trigger component is built from the loaded catalog only")
    doc = make_nlp()(text[start:end])
    return [(start + sp.start_char, start + sp.end_char, sp.label_) for sp in doc.spans[SPANS_KEY]]


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m extractor.nlp --patterns`: print the catalog's spaCy patterns as JSONL."""
    parser = argparse.ArgumentParser(prog="python -m extractor.nlp", description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", action="store_true", help="print the trigger patterns as JSONL")
    args = parser.parse_args(argv)
    if not args.patterns:
        parser.print_help()
        return 2
    for p in patterns():
        sys.stdout.write(json.dumps(p, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
