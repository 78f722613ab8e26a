"""Canonical sections: classify each heading into the taxonomy of schemas/sections.yaml.

Order of evidence: the part first (the innermost short heading that names 举措和成效 / 存在问题 /
下一步 / 其他情况, else measures); under problems or plan every heading takes that section. Measures
headings are classified by their own words, then their ancestors' words (innermost first), then a
keyword vote over their own body text, else the catch-all `measures_general`; the evidence used is
kept in `section_reason`.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from extractor.errors import RulesError
from extractor.rules import load_schema_yaml

# Only short headings decide a part: a long run-in sentence that mentions 问题 or 下一步 in passing
# must not turn its whole subtree into problems. 40 chars covers every part heading of the seed
# and of the domain note's examples ("三、2023年推进法治政府建设存在的不足和原因" is 24).
PART_HEADING_MAX = 40
# The body vote needs at least this many keyword hits, and a strict winner.
BODY_MIN_HITS = 2
_PART_SECTION = {"problems": "problems", "plan": "next_year_plan", "other": "other_matters"}


@dataclass(frozen=True)
class Section:
    """One entry of the taxonomy."""

    id: str
    name: str
    kind: str
    part: str
    decides_part: bool
    anchor: str
    keywords: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    negative: tuple[str, ...]


@functools.cache
def taxonomy() -> dict[str, Section]:
    """Load schemas/sections.yaml once (validated against its JSON schema), keyed by id."""
    return build_taxonomy(load_schema_yaml("sections"))


def build_taxonomy(data: dict[str, Any]) -> dict[str, Section]:
    """Turn the validated taxonomy data into sections; duplicate ids or no catch-all are errors."""
    out: dict[str, Section] = {}
    for entry in data["sections"]:
        if entry["id"] in out:
            raise RulesError(f"schemas/sections.yaml: duplicate section id '{entry['id']}'")
        out[entry["id"]] = Section(
            id=entry["id"],
            name=entry["name"],
            kind=entry["kind"],
            part=entry["part"],
            decides_part=bool(entry.get("decides_part", False)),
            anchor=entry["anchor"],
            keywords=tuple(entry["keywords"]),
            patterns=tuple(re.compile(p) for p in entry.get("patterns", ())),
            negative=tuple(entry.get("negative", ())),
        )
    if sum(1 for s in out.values() if s.kind == "general") != 1:
        raise RulesError("schemas/sections.yaml: there must be exactly one section of kind 'general'")
    return out


def general_section() -> Section:
    """The catch-all section for measures that name no topic."""
    return next(s for s in taxonomy().values() if s.kind == "general")


@functools.cache
def _keyword_index() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Keywords by their first char (longest first), and keyword → the sections it signals."""
    owners: dict[str, list[str]] = {}
    for sec in taxonomy().values():
        for kw in sec.keywords:
            owners.setdefault(kw, []).append(sec.id)
    first: dict[str, list[str]] = {}
    for kw in sorted(owners, key=len, reverse=True):
        first.setdefault(kw[0], []).append(kw)
    return {k: tuple(v) for k, v in first.items()}, {k: tuple(v) for k, v in owners.items()}


@functools.cache
def _word_tables() -> tuple[
    dict[str, tuple[int, ...]],
    dict[str, tuple[str, ...]],
    dict[str, tuple[tuple[str, tuple[str, ...]], ...]],
    tuple[tuple[str, re.Pattern[str]], ...],
    tuple[tuple[str, tuple[str, ...]], ...],
]:
    """Keyword lengths by first two chars, keyword sections, one-char keywords, patterns, negatives."""
    first, owners = _keyword_index()
    tax = taxonomy()
    lengths: dict[str, set[int]] = {}
    singles: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for kws in first.values():
        for kw in kws:
            if len(kw) > 1:
                lengths.setdefault(kw[:2], set()).add(len(kw))
            else:
                singles.setdefault(kw, []).append((kw, owners[kw]))
    return (
        {k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()},
        owners,
        {k: tuple(v) for k, v in singles.items()},
        tuple((sec.id, pat) for sec in tax.values() for pat in sec.patterns),
        tuple((sec.id, sec.negative) for sec in tax.values() if sec.negative),
    )


def _scan(text: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """(position, keyword, its sections) of every keyword in a text, nested ones included."""
    # At each position the keywords come longest first, as in `_keyword_index`: a keyword found
    # there opens with the two chars there, so only the lengths of such keywords are read (longest
    # first; two keywords found at one position differ in length), and a one-char keyword is
    # shorter than all of them. A slice and a dict lookup per length replace a prefix test of
    # every keyword sharing the first char.
    heads, owners, singles, _, _ = _word_tables()
    get = heads.get
    n = len(text)
    out: list[tuple[int, str, tuple[str, ...]]] = []
    for i in range(n):
        lengths = get(text[i:i + 2])
        if lengths is not None:
            for length in lengths:
                if i + length <= n:
                    kw = text[i:i + length]
                    sec_ids = owners.get(kw)
                    if sec_ids is not None:
                        out.append((i, kw, sec_ids))
        if singles and text[i] in singles:
            out.extend((i, kw, sec_ids) for kw, sec_ids in singles[text[i]])
    return out


def keywords_in(text: str) -> Iterator[tuple[int, str]]:
    """Every (position, keyword) of the taxonomy in a text, nested ones included."""
    for i, kw, _ in _scan(text):
        yield i, kw


def match_words(text: str) -> dict[str, tuple[int, int, list[str]]]:
    """Sections whose keywords occur in a heading text: {id: (score, first position, words)}."""
    _, _, _, patterns, negatives = _word_tables()
    hits: dict[str, tuple[int, int, list[str]]] = {}

    def add(sec_id: str, word: str, pos: int) -> None:
        hit = hits.get(sec_id)
        if hit is None:
            hits[sec_id] = (len(word), pos, [word])
        elif word not in hit[2]:
            hits[sec_id] = (hit[0] + len(word), min(hit[1], pos), [*hit[2], word])

    for i, kw, sec_ids in _scan(text):
        for sec_id in sec_ids:
            add(sec_id, kw, i)
    for sec_id, pat in patterns:
        found_at = pat.search(text)
        if found_at:
            add(sec_id, found_at.group(), found_at.start())
    for sec_id, words in negatives:
        if sec_id in hits and any(neg in text for neg in words):
            del hits[sec_id]
    return hits


@functools.cache
def _deciders() -> dict[str, str]:
    """Sections that decide a part, with that part."""
    return {sec.id: sec.part for sec in taxonomy().values() if sec.decides_part}


def _topic(hits: dict[str, tuple[int, int, list[str]]], prefer: str | None = None) -> str | None:
    """The best topical section among keyword hits.

    Sections that decide a part (problems, plan, other matters, the catch-all) are no topics: they
    come only from the part decision, so a heading's section always agrees with its part.
    """
    deciders = _deciders()
    topical = {k: v for k, v in hits.items() if k not in deciders}
    if len(topical) <= 1:
        return next(iter(topical), None)
    # Highest score; ties go to the section the ancestors already have, then to the first named.
    return max(topical, key=lambda k: (topical[k][0], k == prefer, -topical[k][1]))


def _part_of(hits: dict[str, tuple[int, int, list[str]]], text: str) -> str | None:
    """The part a heading decides, or None (no part words, too long, or measures mixed with another)."""
    if not hits or len(text) > PART_HEADING_MAX:
        return None
    deciders = _deciders()
    named = sorted((v[1], deciders[k]) for k, v in hits.items() if k in deciders)
    parts = {p for _, p in named}
    if not parts:
        return None
    if len(parts) > 1 and "measures" in parts:
        return None
    return named[0][1]


def classify(headings: Sequence[dict[str, Any]], text: str, body_end: int) -> None:
    """Set `section`, `part` and `section_reason` on every heading (in place)."""
    tax = taxonomy()
    own = [match_words(h["text"]) for h in headings]
    decided = [_part_of(own[i], h["text"]) for i, h in enumerate(headings)]
    # Each heading's own topic (no preference), read once: every descendant asks for it.
    topics: dict[int, str | None] = {}

    def topic_of(j: int) -> str | None:
        if j not in topics:
            topics[j] = _topic(own[j])
        return topics[j]

    for i, h in enumerate(headings):
        chain = _ancestors(headings, i)
        # 1. The part: the innermost heading of the chain that decides one.
        part, decider = "measures", None
        for j in chain:
            if decided[j]:
                part, decider = decided[j], j
                break
        h["part"] = part
        if decider is not None and part in _PART_SECTION:
            h["section"] = _PART_SECTION[part]
            words = [w for k, v in own[decider].items() if tax[k].part == part for w in v[2]]
            where = "heading" if decider == i else f"under {headings[decider]['path']}"
            h["section_reason"] = f"part {part}, {where}: " + "、".join(words)
            continue
        # 2. Own words.
        parent_topic = None
        for j in chain[1:]:
            parent_topic = topic_of(j)
            if parent_topic:
                break
        topic = _topic(own[i], prefer=parent_topic)
        if topic:
            h["section"], h["section_reason"] = topic, "heading: " + "、".join(own[i][topic][2])
            continue
        # 3. Ancestors' words, innermost first.
        for j in chain[1:]:
            topic = topic_of(j)
            if topic:
                h["section"] = topic
                h["section_reason"] = f"ancestor {headings[j]['path']}: " + "、".join(own[j][topic][2])
                break
        if topic:
            continue
        # 4. A vote over the heading's own body (up to the next heading of any level).
        stop = headings[i + 1]["start"] if i + 1 < len(headings) else body_end
        vote = body_vote(text[h["end"] : stop])
        if vote:
            h["section"], h["section_reason"] = vote
            continue
        general = general_section()
        h["section"] = general.id
        if general.id in own[i]:
            h["section_reason"] = "heading: " + "、".join(own[i][general.id][2]) + " (no topic named)"
        elif not text[h["end"] : stop].strip(" \n。,，:："):
            h["section_reason"] = "no topic in heading or ancestors; its sub-headings carry the topics"
        else:
            h["section_reason"] = "no keyword in heading, ancestors or body"


def body_vote(body: str) -> tuple[str, str] | None:
    """The topical section whose keywords dominate a body text, with the reason; None when unclear."""
    tax = taxonomy()
    _, owners = _keyword_index()
    counts = Counter(kw for _, kw in keywords_in(body))
    scores: dict[str, tuple[int, int, list[str]]] = {}
    for kw, n in counts.items():
        for sec_id in owners[kw]:
            sec = tax[sec_id]
            if sec.kind != "content" or sec.decides_part:
                continue
            score, hits, words = scores.get(sec_id, (0, 0, []))
            scores[sec_id] = (score + n * len(kw), hits + n, [*words, f"{kw}×{n}"])
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda kv: kv[1][0], reverse=True)
    best_id, (best, hits, words) = ranked[0]
    if hits < BODY_MIN_HITS or (len(ranked) > 1 and ranked[1][1][0] == best):
        return None
    return best_id, "body vote: " + "、".join(words)


def _ancestors(headings: Sequence[dict[str, Any]], i: int) -> list[int]:
    """Index i and its ancestors' indices, innermost first."""
    chain = [i]
    while headings[chain[-1]]["parent"] is not None:
        chain.append(headings[chain[-1]]["parent"])
    return chain
