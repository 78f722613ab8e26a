"""The shared segmenter: its cached lexicon, and cuts identical to jieba's own no-HMM routes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from extractor.numbers import segment
from extractor.rules import RULES_DIR, schemas_dir

REPO = Path(__file__).resolve().parents[1]

WINDOWS = [
    "全年办理行政处罚案件120件",
    "罚没款35.6万元，案卷评查合格率98%",
    "持证行政执法人员1120名、协管人员36人",
    "2021年度GDP增长5%，PM2.5浓度下降",
    "abc123中文ABC",
    "a",
    "Ｗ",
    "e-mail:abc@x.cn，联系电话023-12345678",
    "行政复议决定书3份",
]


def test_pos_cut_matches_jieba_posseg_route() -> None:
    import jieba.posseg

    # The documented tagger over the same tokenizer, with the same tags, walking the same route.
    tagger = jieba.posseg.POSTokenizer.__new__(jieba.posseg.POSTokenizer)
    tagger.tokenizer = segment.tokenizer()
    tagger.word_tag_tab = segment._lexicon().tags
    route = tagger._POSTokenizer__cut_DAG_NO_HMM
    for s in WINDOWS:
        assert segment.pos_cut(s) == tuple((p.word, p.flag) for p in route(s)), s
        assert segment.cut(s) == tuple(segment.tokenizer()._Tokenizer__cut_DAG_NO_HMM(s)), s


def test_trigger_words_are_single_tokens_and_new_ones_are_nouns() -> None:
    lex = segment._lexicon()
    tags = lex.tags
    words = segment._catalog_words()
    assert words and all(w in lex.freq and lex.freq[w] > 0 for w in words)
    assert "持证行政执法人员" in segment.cut("全区共有持证行政执法人员1120名")
    new = [w for w in words if tags.get(w) == "n"]
    assert new  # some triggers are not in jieba's dictionary; they are tagged as nouns


def test_lexicon_file_round_trips() -> None:
    lex = segment._lexicon()
    tags = {w: t for w, t in lex.tags.items() if t != segment.UNTAGGED}
    freq, total, back = segment._decode(segment._encode(lex.freq, lex.total, {**tags, "无频词": "nz"}))
    assert freq == lex.freq and total == lex.total
    # Every word of the table reads back with its tag, or the tagger's default when it has none.
    assert {w: t for w, t in back.items() if t != segment.UNTAGGED} == {**tags, "无频词": "nz"}
    assert set(back) == set(lex.freq) | {"无频词"}


@pytest.mark.parametrize("damage", ["empty", "truncated", "foreign", "inconsistent"])
def test_damaged_lexicon_file_is_rejected(damage: str) -> None:
    good = segment._encode({"法治": 5, "法": 3}, 8, {"法治": "n"})
    bad = {
        "empty": b"",
        "truncated": good[:-3],
        "foreign": b"PK\x03\x04" + good,
        # Two words, one count: the header's sizes are right, the contents are not.
        "inconsistent": segment._encode({"法治": 5, "法": 3}, 8, {})[: len(segment._FORMAT)]
        + segment._HEADER.pack(8, 7, 8, 1, 0)
        + "法治\n法".encode()
        + (5).to_bytes(8, "little")
        + b"\n",
    }[damage]
    with pytest.raises(ValueError):
        segment._decode(bad)


def test_cache_key_follows_the_trigger_words() -> None:
    words = segment._catalog_words()
    assert segment._lexicon_path(words) == segment._lexicon_path(list(words))
    assert segment._lexicon_path(words) != segment._lexicon_path([*words, "新增触发词"])


def _cut_in_fresh_process(cache: Path, warm: bool = False) -> list[list[str]]:
    code = (
        "import json, sys; from extractor.numbers.segment import pos_cut; "
        "cut = pos_cut('全年办理行政处罚案件120件'); "
        "assert 'jieba' not in sys.modules or not sys.argv[1:], 'a warm process imported jieba'; "
        "print(json.dumps(cut))"
    )
    env = {**os.environ, "EXTRACTOR_CACHE_DIR": str(cache)}
    args = [sys.executable, "-c", code, *(["warm"] if warm else [])]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_a_process_builds_writes_and_reuses_the_lexicon_file(tmp_path: Path) -> None:
    expected = [list(p) for p in segment.pos_cut("全年办理行政处罚案件120件")]
    (tmp_path / "lexicon-stale.bin").write_bytes(b"left by an older version")
    assert _cut_in_fresh_process(tmp_path) == expected  # built, then saved
    files = list(tmp_path.glob("lexicon-*.bin"))
    assert [f.name for f in files] == [segment._lexicon_path(segment._catalog_words()).name]
    assert segment._decode(files[0].read_bytes())[1] == segment.tokenizer().total
    assert _cut_in_fresh_process(tmp_path, warm=True) == expected  # read back, jieba never imported
    files[0].write_bytes(files[0].read_bytes()[:1000])  # a file cut short: rebuilt, not trusted
    assert _cut_in_fresh_process(tmp_path) == expected
    assert segment._decode(files[0].read_bytes())[0] == segment.tokenizer().FREQ


def test_unwritable_cache_folder_still_segments(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    expected = [list(p) for p in segment.pos_cut("全年办理行政处罚案件120件")]
    assert _cut_in_fresh_process(blocker / "extractor") == expected


@pytest.mark.parametrize(
    "path", sorted([*RULES_DIR.glob("*.schema.json"), *schemas_dir().glob("*.schema.json")]), ids=lambda p: p.name
)
def test_every_json_schema_is_itself_valid(path: Path) -> None:
    # Loading rules validates data against these without re-checking the schemas each time.
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema).check_schema(schema)
