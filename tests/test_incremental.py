"""Incremental runs: a rerun redoes only what changed, and everything when the version or schema changes."""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from pathlib import Path

import pytest

import extractor.pipeline as pipeline
import extractor.rules as rules
from extractor import runner
from extractor.runner import run


def _tiny_report(i: int) -> str:
    # Constructed text in the style of a real report; a few lines keep 1,000 documents cheap.
    return (
        f"某街道办事处关于{2018 + i % 6}年度法治政府建设情况的报告（第{i}号样本）\n"
        "一、主要举措和成效\n"
        f"（一）学法用法。全年开展专题学习{i % 17 + 1}次，调处矛盾纠纷{i * 3 % 400}件。\n"
    )


def _write_corpus(root: Path, start: int, n: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        (root / f"doc{i:05d}.txt").write_text(_tiny_report(i), encoding="utf-8")


@pytest.fixture
def counters(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count, in this process (runs use workers=1), how often documents are analysed and files hashed."""
    calls: Counter[str] = Counter()
    analyse, sha256_file = pipeline.analyse, runner.sha256_file

    def counted_analyse(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["analyse"] += 1
        return analyse(*args, **kwargs)

    def counted_hash(path: Path) -> str:
        calls["hash"] += 1
        return sha256_file(path)

    monkeypatch.setattr(pipeline, "analyse", counted_analyse)
    monkeypatch.setattr(runner, "sha256_file", counted_hash)
    return calls


def _rows(out: Path, table: str = "documents") -> list[str]:
    return (out / f"{table}.csv").read_text(encoding="utf-8").splitlines()


def test_adding_ten_documents_to_a_thousand_costs_ten(tmp_path: Path, counters: Counter[str]) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    _write_corpus(corpus, 0, 1000)
    first = run([corpus], out, workers=1, progress=False)
    assert (first.processed, counters["analyse"], counters["hash"]) == (1000, 1000, 1000)

    counters.clear()
    _write_corpus(corpus, 1000, 10)
    second = run([corpus], out, workers=1, progress=False)
    assert (second.processed, second.cached) == (10, 1000)
    assert counters["analyse"] == 10
    assert counters["hash"] == 10  # unchanged files are known by their stat signature, not re-read
    rows = _rows(out)
    assert len(rows) == 1 + 1010
    assert [r.split(",")[1] for r in rows[1:]] == sorted(str(p) for p in corpus.iterdir())

    counters.clear()
    third = run([corpus], out, workers=1, progress=False)
    assert (third.processed, counters["analyse"], counters["hash"]) == (0, 0, 0)
    assert _rows(out) == rows


def test_incremental_tables_equal_a_fresh_run(tmp_path: Path) -> None:
    corpus, out, fresh = tmp_path / "corpus", tmp_path / "out", tmp_path / "fresh"
    _write_corpus(corpus, 0, 30)
    run([corpus], out, workers=1, progress=False)
    _write_corpus(corpus, 30, 5)
    (corpus / "doc00003.txt").write_text(_tiny_report(3) + "二、存在的不足\n人员不足。\n", encoding="utf-8")
    (corpus / "doc00004.txt").unlink()
    summary = run([corpus], out, workers=2, progress=False)
    assert summary.processed == 6  # five new files and one changed; the deleted one simply drops out
    run([corpus], fresh, workers=1, progress=False)
    for name in ("documents.csv", "documents.jsonl", "headings.csv", "mentions.csv", "indicators.csv"):
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name


def test_touched_file_is_rehashed_but_not_reprocessed(tmp_path: Path, counters: Counter[str]) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    _write_corpus(corpus, 0, 5)
    run([corpus], out, workers=1, progress=False)
    counters.clear()
    st = (corpus / "doc00002.txt").stat()
    os.utime(corpus / "doc00002.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    summary = run([corpus], out, workers=1, progress=False)
    assert (summary.processed, counters["hash"], counters["analyse"]) == (0, 1, 0)


@pytest.mark.parametrize("change", ["version", "schema", "rules", "options", "force"])
def test_version_schema_rules_options_or_force_redo_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counters: Counter[str], change: str
) -> None:
    from extractor.load import Limits
    from extractor.pipeline import Options

    corpus, out = tmp_path / "corpus", tmp_path / "out"
    _write_corpus(corpus, 0, 8)
    run([corpus], out, workers=1, progress=False)
    counters.clear()
    options = Options()
    if change == "version":
        monkeypatch.setattr(runner, "__version__", "999.0")
    elif change == "schema":
        monkeypatch.setattr(rules, "schema_version", lambda: "999")
    elif change == "rules":
        monkeypatch.setattr(rules, "rules_fingerprint", lambda: "0" * 16)
    elif change == "options":
        options = Options(limits=Limits(max_pages=7))
    summary = run([corpus], out, workers=1, progress=False, options=options, force=change == "force")
    assert (summary.processed, counters["analyse"]) == (8, 8)
    again = run([corpus], out, workers=1, progress=False, options=options)
    assert again.processed == 0  # the new results were cached in turn


def test_damaged_cache_entry_is_redone(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    _write_corpus(corpus, 0, 4)
    run([corpus], out, workers=1, progress=False)
    before = _rows(out)
    entries = sorted((out / ".cache").glob("*/*.json.gz"))
    assert len(entries) == 4
    entries[0].write_bytes(gzip.compress(b'{"truncated'))
    entries[1].write_bytes(b"")
    summary = run([corpus], out, workers=1, progress=False)
    assert summary.statuses == {"ok": 4}
    assert _rows(out) == before


def test_second_run_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with (out / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(runner.RunLockedError):
            run([tmp_path / "nothing.txt"], out, workers=1, progress=False)


def test_pool_workers_store_the_cache_entries(tmp_path: Path, counters: Counter[str]) -> None:
    corpus, pooled, serial = tmp_path / "corpus", tmp_path / "pooled", tmp_path / "serial"
    _write_corpus(corpus, 0, 12)
    run([corpus], pooled, workers=2, progress=False)  # workers write the entries, not this process
    run([corpus], serial, workers=1, progress=False)
    entries = sorted((pooled / ".cache").glob("*/*.json.gz"))
    assert len(entries) == 12 and not list((pooled / ".cache").glob("*/*.tmp"))

    def record(path: Path) -> dict[str, object]:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        data.pop("timings")  # the one part that differs from run to run
        return data

    # The same records the driver stores itself in a serial run, entry by entry.
    assert [record(p) for p in entries] == [record(serial / ".cache" / p.parent.name / p.name) for p in entries]
    counters.clear()
    again = run([corpus], pooled, workers=1, progress=False)
    assert (again.processed, again.cached, counters["analyse"]) == (0, 12, 0)
