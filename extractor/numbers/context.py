"""Sentence context of a quantity: clause and sentence bounds, change (delta), subject, scope, target."""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from typing import Any

from extractor.numbers.grammar import Candidate, Grammar, _alt, grammar
from extractor.numbers.segment import pos_cut

_SENTENCE_END = re.compile(r"[。！？!?\n]")
# One percentage after a list of rates: 办结率、满意率均为100%.
_SHARED_TAIL = re.compile(r"(?:均|都|全部|皆)(?:为|达到?|保持在?|实现|是|在)?了?$")
_LIST_SPLIT = re.compile(r"、|以及|和")
_LIST_JOINS = frozenset({"、", "和", "及", "与", ",、"})
_RATE_END = ("率", "度")
# How far before a number change words and target cues are looked for, and how much of a very long
# sentence is kept as evidence: real clauses are short, and bounded windows keep a text without
# punctuation (a table dumped as one line) linear.
_CHANGE_WINDOW = 40
_CUE_WINDOW = 60
_SENTENCE_MAX = 400
_SENTENCE_SIDE = 150
TARGET_PARTS = frozenset({"problems", "next_year_plan", "plan"})

# Part-of-speech flags (jieba) that end a subject phrase going leftwards (prepositions,
# conjunctions, time and number words, punctuation), and those skipped when they stand right
# before the number (adverbs and particles: 共, 了).
_HARD_STOP = frozenset({"p", "c", "t", "m", "x", "eng", "f", "q", "mq", "y", "e", "o", "w"})
_SOFT_STOP = frozenset({"d", "u", "uj", "ul", "uz", "ug", "uv", "ud"})
# Going rightwards, a phrase is built of nouns (noun-verbs, idioms, abbreviations included);
# modifiers may stand inside it but never end it.
_CORE_NOUN = ("n", "vn", "j", "l", "nz", "s", "an", "i", "r", "g", "k", "h", "zg")
_MODIFIER = frozenset({"b", "a", "v", "f", "ad", "d"})
_SUBJECT_MAX = 16


@dataclass(frozen=True)
class ContextRules:
    """The compiled context rules (target cues, scope, clauses, subject)."""

    rx_clause_break: re.Pattern[str]
    rx_enumerator: re.Pattern[str]
    rx_target: re.Pattern[str]
    target_not: tuple[str, ...]
    future_verbs: tuple[str, ...]
    rx_scope: re.Pattern[str]
    window: int
    follow_window: int
    stop_words: frozenset[str]
    predicates: frozenset[str]


@functools.cache
def context_rules() -> ContextRules:
    """Compile the context part of the number grammar (once per process)."""
    raw = grammar().raw
    breaks = raw["clauses"]["breaks"].replace(",", "")
    # A comma between two digits is a thousands separator, not a clause break.
    rx_break = re.compile(rf"[{re.escape(breaks)}]|(?<!\d),|,(?!\d)")
    return ContextRules(
        rx_clause_break=rx_break,
        rx_enumerator=re.compile(raw["clauses"]["enumerators"]),
        rx_target=re.compile(_alt(raw["target"]["words"])),
        target_not=tuple(raw["target"]["not"]),
        future_verbs=tuple(raw["target"]["future_verbs"]),
        rx_scope=re.compile("|".join(f"(?:{p})" for p in raw["scope"])),
        window=int(raw["subject"]["window"]),
        follow_window=int(raw["subject"]["follow_window"]),
        stop_words=frozenset(raw["subject"]["stop_words"]),
        predicates=frozenset(raw["subject"]["predicates"]),
    )


@functools.lru_cache(maxsize=4)
def text_context(text: str) -> TextContext:
    """The context of a text, shared by the numbers and indicators stages of one document."""
    return TextContext(grammar(), text)


class TextContext:
    """Sentence and clause bounds of one text, computed once."""

    def __init__(self, g: Grammar, text: str) -> None:
        self.g = g
        self.rules = context_rules()
        self.text = text
        self.sent_ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        starts = {0}
        starts.update(m.end() for m in self.rules.rx_clause_break.finditer(text))
        # 一是/二是 enumerations open a clause too, without a punctuation mark before them.
        starts.update(m.start() for m in self.rules.rx_enumerator.finditer(text))
        self.clause_starts = sorted(starts)
        self._scopes: list[tuple[int, int, str]] | None = None
        self._scope_ends: list[int] = []

    def sentence(self, pos: int) -> tuple[int, int]:
        """[start, end) of the sentence holding `pos` (terminator included, newlines excluded)."""
        i = bisect.bisect_right(self.sent_ends, pos)
        start = self.sent_ends[i - 1] if i > 0 else 0
        end = self.sent_ends[i] if i < len(self.sent_ends) else len(self.text)
        if end > start and self.text[end - 1] == "\n":
            end -= 1
        return start, end

    def sentence_evidence(self, pos: int, end: int) -> tuple[int, int, int]:
        """The sentence start of `pos` and the evidence span of [pos, end), with one lookup."""
        start, stop = self.sentence(pos)
        if stop - start > _SENTENCE_MAX:
            return start, max(start, pos - _SENTENCE_SIDE), min(stop, end + _SENTENCE_SIDE)
        return start, start, stop

    def evidence(self, pos: int, end: int) -> tuple[int, int]:
        """The sentence around [pos, end), cut to a window when the sentence is very long."""
        start, stop = self.sentence(pos)
        if stop - start > _SENTENCE_MAX:
            start, stop = max(start, pos - _SENTENCE_SIDE), min(stop, end + _SENTENCE_SIDE)
        return start, stop

    def clause(self, pos: int) -> tuple[int, int]:
        """[start, end) of the clause holding `pos` (split at ，；。： and 一是/二是 enumerators)."""
        i = bisect.bisect_right(self.clause_starts, pos) - 1
        start = self.clause_starts[i]
        end = self.clause_starts[i + 1] if i + 1 < len(self.clause_starts) else len(self.text)
        return start, end

    # -- change (delta) --------------------------------------------------------------------------

    def delta(self, cand: Candidate, clause_start: int) -> tuple[str, int | float] | None:
        """(delta_type, signed change) when the quantity is a change rather than a level."""
        g, text = self.g, self.text
        if cand.value is None:
            return None
        # Change words sit right before the number; a comparison (同比, 较上年) a little further.
        prefix = text[max(clause_start, cand.start - _CHANGE_WINDOW):cand.start]
        m = g.rx_delta_verb.search(prefix)
        sign = 1
        if m is not None and m.group("verb") in g.delta_down:
            sign = -1
        if cand.unit in g.pp_units:
            return "pp", sign * cand.value
        if m is None:
            rate_word = g.rx_delta_rate_word.search(prefix) if cand.kind == "rate" else None
            if rate_word is None:
                return None
            down = rate_word.group().startswith(("降", "下"))
            return "pct", -cand.value if down else cand.value
        if m.group("lvl"):
            return None  # 提高至8%: the new level
        compared = g.rx_comparison.search(prefix) is not None
        if m.group("verb") in g.delta_weak and not compared:
            return None
        if cand.kind == "rate":
            return "pct", sign * cand.value
        if compared:
            return "abs", sign * cand.value
        return None

    def listed_change(self, cand: Candidate, prev: dict[str, Any]) -> tuple[str, int | float] | None:
        """A change when the number follows a change with only 、 or 和 between (增长12%、15%)."""
        if cand.value is None or self.text[prev["end"]:cand.start] not in _LIST_JOINS:
            return None
        same_family = (cand.kind == "rate") == (prev["delta_type"] in ("pct", "pp"))
        if not same_family or (prev["delta_type"] == "pp") != (cand.unit in self.g.pp_units):
            return None
        sign = -1 if prev["delta_value"] < 0 else 1
        return prev["delta_type"], sign * cand.value

    # -- one value for several rates ----------------------------------------------------------

    def shared_rates(self, cand: Candidate, left_start: int) -> list[str]:
        """Rate names that share this percentage (办结率、满意率均为100% → [办结率, 满意率])."""
        prefix = self.text[left_start:cand.start]
        m = _SHARED_TAIL.search(prefix)
        if m is None:
            return []
        names = [p.strip() for p in _LIST_SPLIT.split(prefix[:m.start()])]
        if len(names) < 2 or not all(n.endswith(_RATE_END) and len(n) >= 2 for n in names):
            return []
        return names

    # -- target, scope ---------------------------------------------------------------------------

    def is_target_cue(self, clause_start: int, pos: int, sentence_start: int | None = None) -> bool:
        """Tell whether a plan/target word (力争, 确保, 拟, 将 + verb…) precedes `pos` in its clause.

        A cue that opens the sentence (力争…，确保…，全年…) governs all of it.
        """
        r, text = self.rules, self.text
        clause_start = max(clause_start, pos - _CUE_WINDOW)
        if sentence_start is not None and sentence_start < clause_start and pos - sentence_start <= _SENTENCE_MAX:
            lead = sentence_start
            while lead < clause_start and text[lead].isspace():
                lead += 1
            head = r.rx_target.match(text, lead)
            if head is not None and self._is_cue(head):
                return True
        return any(self._is_cue(m) for m in r.rx_target.finditer(text, clause_start, pos))

    def _is_cue(self, m: re.Match[str]) -> bool:
        r, text = self.rules, self.text
        s, e = m.span()
        if any(_covers(text, s, e, phrase) for phrase in r.target_not if m.group() in phrase):
            return False
        return m.group() != "将" or text.startswith(r.future_verbs, e)

    def scope(self, sent_start: int, pos: int) -> str | None:
        """The nearest scope phrase (全区, 区政府本级, 以区政府为被申请人…) before `pos` in the sentence."""
        if self._scopes is None:  # one pass over the text, on first use
            found = [(m.end(), m.start(), m.group()) for m in self.rules.rx_scope.finditer(self.text)]
            self._scopes = found
            self._scope_ends = [f[0] for f in found]
        i = bisect.bisect_right(self._scope_ends, pos) - 1
        if i >= 0 and self._scopes[i][1] >= sent_start:
            return self._scopes[i][2]
        return None

    # -- subject ---------------------------------------------------------------------------------

    def subject(self, cand: Candidate, left_start: int, clause_end: int) -> str | None:
        """The phrase the number counts: the noun phrase right after it, else the words before it.

        "2名专职调解员", "10个村社区": the counted noun follows the measure word; "调解各类纠纷300余件",
        "执法人员59人": it comes before. Only a short window of the clause is segmented.
        """
        right = self._right_phrase(cand.end, clause_end)
        return right or self._left_phrase(cand.start, left_start) or None

    def _left_phrase(self, pos: int, left_start: int) -> str:
        """Words before `pos`, back to a preposition, conjunction, time word or stop word."""
        r, text = self.rules, self.text
        a = max(left_start, pos - r.window)
        if a >= pos:
            return ""
        pairs = pos_cut(text[a:pos])
        if a > left_start and len(pairs) > 1:
            pairs = pairs[1:]  # the window may have cut its first word in two
        left: list[str] = []
        for word, flag in reversed(pairs):
            if flag == "x" and _is_han(word):
                flag = "n"  # a word unknown to the tagger: a name, most likely
            if flag in _HARD_STOP or not word.strip():
                break
            if word in r.stop_words or flag in _SOFT_STOP:
                if left:
                    break
                continue
            left.append(word)
        return "".join(reversed(left))[-_SUBJECT_MAX:]

    def _right_phrase(self, end: int, clause_end: int) -> str:
        """The noun phrase right after a number (12人专职巡防队伍 → 专职巡防队伍)."""
        r, text = self.rules, self.text
        b = min(clause_end, end + r.follow_window)
        if b <= end or not "\u4e00" <= text[end] <= "\u9fff":
            return ""
        pairs = pos_cut(text[end:b])
        out: list[tuple[str, bool]] = []
        for i, (word, raw_flag) in enumerate(pairs):
            if word in r.stop_words:
                break
            flag = "n" if raw_flag == "x" and _is_han(word) else raw_flag
            if flag.startswith(_CORE_NOUN):
                out.append((word, True))
                continue
            nxt = pairs[i + 1][1] if i + 1 < len(pairs) else ""
            # A verb stands inside a noun phrase only before a plain noun and when it is not one of
            # the common predicates (专职巡防队伍, but 村社区推进试点, 重点人员进行管控).
            if flag == "v" and (not nxt.startswith("n") or word in r.predicates):
                break
            if (flag in _MODIFIER and flag != "d") or (out and flag == "d"):
                out.append((word, False))
            else:
                break
        # Trim trailing modifiers: 主动考取 → "", 专职巡防队伍 stays whole.
        while out and not out[-1][1]:
            out.pop()
        phrase = "".join(w for w, _ in out)
        return phrase[:_SUBJECT_MAX] if len(phrase) >= 2 else ""


def _is_han(word: str) -> bool:
    """Tell whether a word is made of Chinese characters."""
    return all("\u4e00" <= ch <= "\u9fff" for ch in word)


def _covers(text: str, s: int, e: int, phrase: str) -> bool:
    """Tell whether an occurrence of `phrase` in `text` covers the span [s, e)."""
    lo = max(0, e - len(phrase))
    i = text.find(phrase, lo, s + len(phrase))
    while i != -1 and i <= s:
        if i + len(phrase) >= e:
            return True
        i = text.find(phrase, i + 1, s + len(phrase))
    return False
