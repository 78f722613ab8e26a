"""spaCy trigger backend: the catalog as Matcher patterns, its agreement with the scan, and lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from extractor import cli
from extractor import nlp as nlp_mod
from extractor.indicators import _known_sections, catalog, compile_catalog, map_indicators
from extractor.model import Document
from extractor.numbers import find_mentions
from extractor.pipeline import Options, process_file
from extractor.rules import load_schema_yaml

REPO = Path(__file__).resolve().parents[1]

# Seed values every backend must find (the seed's required indicators).
SEED_EXPECTED = [
    ("xi_thought_study_sessions", 12, None),
    ("info_disclosed_proactively", 157, None),
    ("enforcement_personnel", 59, None),
    ("publicity_events", 160, None),
    ("publicity_materials", 150000, "近"),
    ("disputes_mediated", 300, "余"),
]


def spans(text: str) -> list[tuple[str, str]]:
    doc = nlp_mod.make_nlp()(text)
    return [(sp.text, sp.label_) for sp in doc.spans[nlp_mod.SPANS_KEY]]


def agreement(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> tuple[int, int, list[tuple[Any, ...]]]:
    """Rows agreeing on (mention, indicator, value), of the larger row count, and the differing rows."""
    ca = Counter((r["mention_idx"], r["indicator"], r["value"]) for r in a)
    cb = Counter((r["mention_idx"], r["indicator"], r["value"]) for r in b)
    diff = [(*k, "scan only") for k in ca - cb] + [(*k, "spacy only") for k in cb - ca]
    return sum((ca & cb).values()), max(sum(ca.values()), sum(cb.values())), sorted(diff, key=str)


# --- the component --------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    # literal triggers, one token each
    ("全区共有持证行政执法人员1120名", [("持证行政执法人员", "持证行政执法人员")]),
    ("区政府常务会议会前学法12次", [("常务会议会前学法", "常务会议会前学法")]),
    # a literal trigger holding punctuation is several tokens
    ("以调解、和解方式结案5件", [("调解、和解", "调解、和解"), ("和解方式结案", "和解…结案"), ("结案", "结案")]),
    # a trigger of digits
    ("拨打12345热线", [("12345", "12345"), ("热线", "热线")]),
    # gapped triggers: the longer trigger wins at a token, the last part is a hit of its own too
    ("成功调解婚姻家庭纠纷300余件", [("调解婚姻家庭纠纷", "调解…纠纷"), ("纠纷", "纠纷")]),
    ("镇司法所审核镇政府合同12件", [("审核镇政府合同", "审核…合同"), ("合同", "合同")]),
    ("听取一次法治工作的汇报", [("听取一次法治工作的汇报", "听取…法治…汇报")]),
    # a gap of exactly `gap` (8) chars
    ("调解邻里之间长期积压纠纷", [("调解邻里之间长期积压纠纷", "调解…纠纷"), ("纠纷", "纠纷")]),
])
def test_component_finds_triggers_as_spans(text: str, expected: list[tuple[str, str]]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(("text", "why"), [
    ("调解婚姻、家庭纠纷", "punctuation"),
    ("审核“三重一大”合同", "quotes"),
    ("审核2份合同", "a number in digits"),
    ("审核一百份合同", "a numeral"),
    ("审核\n合同", "a line break"),
    ("调解邻里之间长期积压的纠纷", "nine chars, over the catalog's gap"),
])
def test_gaps_never_cross_punctuation_numbers_or_the_gap_bound(text: str, why: str) -> None:
    found = spans(text)
    assert found, text  # the literal parts are still seen where they are triggers themselves
    assert not [label for _, label in found if "…" in label], why


def test_find_triggers_spacy_gives_offsets_in_the_whole_text() -> None:
    text = "一、工作成效。全年成功调解婚姻家庭纠纷300余件，审核镇政府合同12件。"
    start = text.index("全年")
    end = text.index("。", start)
    hits = nlp_mod.find_triggers_spacy(catalog(), text, start, end)
    assert [h[2] for h in hits] == ["调解…纠纷", "纠纷", "审核…合同", "合同"]
    assert [s for s, _, _ in hits] == sorted(s for s, _, _ in hits)
    for s, e, trig in hits:
        assert start <= s < e <= end
        parts = trig.split("…")
        assert text[s:e].startswith(parts[0]) and text[s:e].endswith(parts[-1])
    assert nlp_mod.find_triggers_spacy(catalog(), text, 0, start) == []


def test_find_triggers_spacy_refuses_another_catalog() -> None:
    other = compile_catalog(load_schema_yaml("indicators"), _known_sections())
    with pytest.raises(ValueError, match="loaded catalog"):
        nlp_mod.find_triggers_spacy(other, "调解纠纷", 0, 4)


def test_every_trigger_is_one_token_or_its_own_tokens() -> None:
    nlp = nlp_mod.make_nlp()
    split = [t for t in catalog().by_trigger for part in t.split("…") if len(nlp.make_doc(part)) > 1]
    # only triggers holding punctuation are several tokens; every other trigger word is registered
    assert split == [t for t in catalog().by_trigger if "、" in t], split


# --- agreement with the scan ----------------------------------------------------------------------
def test_catalog_examples_bind_the_same_with_both_matchers() -> None:
    agree, own, disagreements = 0, 0, []
    examples = catalog().indicators
    for ind in examples:
        mentions = find_mentions(ind.example, [])
        scan = map_indicators(ind.example, mentions)
        spacy_rows = map_indicators(ind.example, mentions, matcher="spacy")
        own += ind.id in [r["indicator"] for r in spacy_rows]
        if agreement(scan, spacy_rows)[2]:
            disagreements.append((ind.id, ind.example, agreement(scan, spacy_rows)[2]))
        else:
            agree += 1
    assert agree / len(examples) >= 0.95, disagreements
    assert own / len(examples) >= 0.95, disagreements


@pytest.fixture(scope="module")
def seed_docs(seed_path: Path) -> dict[str, Document]:
    return {m: process_file(seed_path, Options(matcher=m)) for m in ("scan", "spacy")}


@pytest.mark.parametrize("matcher", ["scan", "spacy"])
@pytest.mark.parametrize(("indicator", "value", "approx"), SEED_EXPECTED)
def test_seed_indicators_with_both_matchers(seed_docs: dict[str, Document], matcher: str, indicator: str,
                                            value: float, approx: str | None) -> None:
    rows = [r for r in seed_docs[matcher].indicators if r["indicator"] == indicator]
    assert rows, indicator
    assert (rows[0]["value"], rows[0]["approx"], rows[0]["occurrence"]) == (value, approx, 1)


def test_seed_rows_agree_between_matchers(seed_docs: dict[str, Document]) -> None:
    scan, spacy_rows = seed_docs["scan"].indicators, seed_docs["spacy"].indicators
    a = Counter((r["indicator"], r["value"]) for r in scan)
    b = Counter((r["indicator"], r["value"]) for r in spacy_rows)
    total = max(sum(a.values()), sum(b.values()))
    assert total >= len(SEED_EXPECTED)
    assert sum((a & b).values()) / total >= 0.90, (a - b, b - a)
    assert seed_docs["spacy"].status == "ok"


def test_fixture_reports_agree_between_matchers() -> None:
    files = sorted([*(REPO / "tests" / "golden").glob("*.txt"), *(REPO / "corpora" / "constructed").glob("*.txt")])
    assert len(files) >= 5
    agree, total, diffs = 0, 0, []
    for path in files:
        doc = process_file(path, Options(keep_text=False))
        spacy_doc = process_file(path, Options(keep_text=False, matcher="spacy"))
        assert doc.status == spacy_doc.status == "ok", path
        k, n, d = agreement(doc.indicators, spacy_doc.indicators)
        agree, total = agree + k, total + n
        diffs += [(path.name, *x, doc.mentions[x[0]]["sentence"][:60]) for x in d]
    assert total > 100
    assert agree / total >= 0.95, diffs


# --- the exported patterns ------------------------------------------------------------------------
def test_patterns_validate_and_round_trip_through_jsonl(capsys: pytest.CaptureFixture[str]) -> None:
    import spacy
    from spacy.matcher import Matcher
    from spacy.schemas import validate_token_pattern

    assert nlp_mod.main(["--patterns"]) == 0
    lines = capsys.readouterr().out.splitlines()
    exported = [json.loads(line) for line in lines]
    assert exported == nlp_mod.patterns()
    assert [p["label"] for p in exported] and {p["label"] for p in exported} == set(catalog().by_trigger)
    assert len(exported) == len(catalog().by_trigger)
    matcher = Matcher(spacy.blank("zh").vocab, validate=True)
    for p in exported:
        assert validate_token_pattern(p["pattern"]) == [], p
        matcher.add(p["label"], [p["pattern"]])
        assert set(p["id"].split(",")) == {i.id for i in catalog().by_trigger[p["label"]]}
    assert len(matcher) == len(exported)


def test_exported_patterns_drive_a_span_ruler() -> None:
    import spacy

    from extractor.numbers.segment import tokenizer

    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.tokenizer.jieba_seg = tokenizer()  # the trigger words must be in the segmenter's dictionary
    ruler = nlp.add_pipe("span_ruler", config={"spans_key": "triggers", "validate": True})
    ruler.add_patterns(nlp_mod.patterns())
    doc = nlp("全区共有持证行政执法人员1120名")
    assert [(s.text, s.label_, s.id_) for s in doc.spans["triggers"]] == [
        ("持证行政执法人员", "持证行政执法人员", "enforcement_personnel")]


def test_patterns_command_without_flag_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert nlp_mod.main([]) == 2
    assert "--patterns" in capsys.readouterr().out


# --- selection and lazy imports ---------------------------------------------------------------------
def test_cli_matcher_option(seed_path: Path, seed_docs: dict[str, Document],
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["extract", str(seed_path), "--matcher", "spacy", "--no-text"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["indicators"] == json.loads(json.dumps(seed_docs["spacy"].indicators, ensure_ascii=False))
    args = cli.build_parser().parse_args(["run", "in", "--out", "out", "--matcher", "spacy"])
    assert cli._options(args).matcher == "spacy"  # type: ignore[attr-defined]
    args = cli.build_parser().parse_args(["run", "in", "--out", "out"])
    assert cli._options(args).matcher == "scan"  # type: ignore[attr-defined]
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["extract", "x", "--matcher", "regex"])


def test_unknown_matcher_is_an_error_and_the_matcher_is_in_the_cache_key() -> None:
    with pytest.raises(ValueError, match="unknown matcher"):
        Options(matcher="regex")
    with pytest.raises(ValueError, match="unknown matcher"):
        map_indicators("调解纠纷5件", [], matcher="regex")
    assert Options(matcher="spacy").key() != Options().key()


_IMPORTS = """
import sys
import extractor.cli as c
for argv in (["--help"], ["run", "--help"], ["extract", "--help"]):
    try:
        c.main(argv)
    except SystemExit:
        pass
print("after help:", "spacy" in sys.modules)
from extractor.pipeline import Options, process_file
doc = process_file(sys.argv[1])
print("after default run:", doc.status, "spacy" in sys.modules)
doc = process_file(sys.argv[1], Options(matcher="spacy"))
print("after spacy run:", doc.status, "spacy" in sys.modules)
"""


def test_help_and_default_runs_never_import_spacy(seed_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _IMPORTS, str(seed_path)], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout
    lines = [line for line in out.splitlines() if line.startswith("after")]
    assert lines == ["after help: False", "after default run: ok False", "after spacy run: ok True"], out
