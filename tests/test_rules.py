"""Loading rule files: validation against their JSON schemas, remembered per exact content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractor import rules
from extractor.errors import RulesError

SCHEMA = {"type": "object", "required": ["words"], "properties": {"words": {"type": "array", "items": {"type": "string"}}}}


@pytest.fixture()
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("EXTRACTOR_CACHE_DIR", str(tmp_path / "cache"))
    data, schema = tmp_path / "words.yaml", tmp_path / "words.schema.json"
    data.write_text("words: [法治, 执法]\n", encoding="utf-8")
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    return data, schema


def test_a_valid_file_is_stamped_and_not_validated_again(files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    data, schema = files
    assert rules._load_validated(data, schema) == {"words": ["法治", "执法"]}
    assert len(list((rules.cache_dir() / "validated").iterdir())) == 1

    def refuse(*args: object) -> None:
        raise AssertionError("validated twice")

    monkeypatch.setattr(rules, "_validate", refuse)
    assert rules._load_validated(data, schema) == {"words": ["法治", "执法"]}


def test_an_edited_file_is_validated_again_and_rejected(files: tuple[Path, Path]) -> None:
    data, schema = files
    rules._load_validated(data, schema)
    data.write_text("words: 法治\n", encoding="utf-8")  # a string where the schema wants a list
    with pytest.raises(RulesError, match=r"words\.yaml: words: '法治' is not of type 'array'"):
        rules._load_validated(data, schema)
    assert len(list((rules.cache_dir() / "validated").iterdir())) == 1  # no stamp for a failure


def test_an_edited_schema_is_validated_again(files: tuple[Path, Path]) -> None:
    data, schema = files
    rules._load_validated(data, schema)
    schema.write_text(json.dumps({**SCHEMA, "required": ["words", "gap"]}), encoding="utf-8")
    with pytest.raises(RulesError, match="'gap' is a required property"):
        rules._load_validated(data, schema)


def test_unwritable_cache_still_validates(files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    data, schema = files
    blocker = data.parent / "blocker"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("EXTRACTOR_CACHE_DIR", str(blocker / "cache"))
    assert rules._load_validated(data, schema) == {"words": ["法治", "执法"]}
    data.write_text("words: 3\n", encoding="utf-8")
    with pytest.raises(RulesError):
        rules._load_validated(data, schema)


def test_the_bundled_rules_load() -> None:
    for name in ("numbers", "headings", "metadata", "boilerplate", "html_chrome", "pdf_layout"):
        assert rules.load_rules(name)
    assert rules.load_schema_yaml("indicators")["indicators"]
