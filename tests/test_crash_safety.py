"""Crash safety: a run killed with SIGKILL, then rerun, equals an uninterrupted run; dying workers cost one row each.

Worker processes cannot see a monkeypatch made in the test process, so the tests swap the
per-document function `runner._work` for a function of this module: the pool pickles it by
reference (its workers import this module), Dask by value (cloudpickle). Production code has no
test hook.
"""

from __future__ import annotations

import csv
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from extractor import runner
from extractor.load import Limits
from extractor.pipeline import Options
from extractor.runner import run

TABLES = ("documents", "headings", "mentions", "indicators")
_ORIGINAL_WORK = runner._work


def crashing_work(item: runner.InputItem, options: Options) -> dict:
    """The per-document function, except for documents whose name asks for a crash."""
    name = item.path.name
    if "segfault" in name:
        ctypes.string_at(0)  # a read of address 0: what a crash in a native library looks like
    if "oomkill" in name:
        os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's OOM killer does
    if "hang" in name:
        time.sleep(3600)  # a native call that never returns: no alarm or exception gets through
    return _ORIGINAL_WORK(item, options)


def slow_work(item: runner.InputItem, options: Options) -> dict:
    """The per-document function, slowed down so that a run can be killed half-way."""
    time.sleep(0.04)
    return _ORIGINAL_WORK(item, options)


def _report(i: int) -> str:
    # Constructed text in the style of a real report (invented facts).
    return (
        f"某镇人民政府关于{2019 + i % 5}年度法治政府建设情况的报告\n"
        "一、主要举措和成效\n"
        f"（一）严格规范公正文明执法。办理行政处罚案件{20 + i}件，案卷评查合格率9{i % 10}%。\n"
        f"（二）化解矛盾纠纷。调处矛盾纠纷{100 + 7 * i}件，法律咨询{300 + i}余人次。\n"
        "二、下一步工作安排\n"
        "力争行政复议纠错率保持稳定。\n"
    )


def _corpus(root: Path, n: int, extra: tuple[str, ...] = ()) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"doc{i:03d}.txt").write_text(_report(i), encoding="utf-8")
    for j, name in enumerate(extra):
        (root / name).write_text(_report(1000 + j), encoding="utf-8")
    return root


def _tables(out: Path) -> dict[str, object]:
    found: dict[str, object] = {"documents.jsonl": (out / "documents.jsonl").read_bytes()}
    for table in TABLES:
        found[f"{table}.csv"] = (out / f"{table}.csv").read_bytes()
        found[f"{table}.parquet"] = pq.read_table(out / f"{table}.parquet").to_pylist()
    return found


def _documents(out: Path) -> dict[str, dict[str, str]]:
    with (out / "documents.csv").open(encoding="utf-8") as fh:
        return {Path(r["source"]).name: r for r in csv.DictReader(fh)}


_DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import test_crash_safety
from extractor import cli, runner
runner._work = test_crash_safety.slow_work
raise SystemExit(cli.main(sys.argv[1:]))
"""


def _alive(pgid: int) -> list[int]:
    """The live processes of a process group (zombies left to an init that does not reap them do not count)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


def _gone(pgid: int, timeout: float) -> bool:
    """Wait until no live process of the group is left."""
    deadline = time.monotonic() + timeout
    while _alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_sigkill_mid_run_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus", 80)
    out, reference = tmp_path / "out", tmp_path / "reference"
    driver = _DRIVER.format(tests=str(Path(__file__).parent))
    cmd = [
        sys.executable,
        "-c",
        driver,
        "run",
        str(corpus),
        "--out",
        str(out),
        "--workers",
        "2",
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(list((out / ".cache").glob("*/*.json.gz"))) < 10:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)  # the driver only, as `kill -9 PID` does
        assert proc.wait(timeout=30) == -signal.SIGKILL
        # Its workers die with it rather than working on as orphans.
        assert _gone(proc.pid, timeout=15)
    finally:
        for pid in _alive(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "documents.csv").exists()  # killed before publishing anything
    cached = len(list((out / ".cache").glob("*/*.json.gz")))
    assert 10 <= cached < 80

    summary = run([corpus], out, workers=2, progress=False)
    assert (summary.processed, summary.cached) == (80 - cached, cached)
    assert not list(out.glob(".staging-*")) and not list((out / ".cache").glob("*/*.tmp"))
    run([corpus], reference, workers=1, progress=False)
    assert _tables(out) == _tables(reference)
    assert len(_documents(out)) == 80


def test_pool_worker_deaths_cost_one_row_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path / "corpus", 10, extra=("d-segfault.txt", "g-oomkill.txt"))
    monkeypatch.setattr(runner, "_work", crashing_work)
    summary = run([corpus], tmp_path / "out", workers=2, progress=False)
    assert summary.statuses == {"error": 2, "ok": 10}
    docs = _documents(tmp_path / "out")
    assert len(docs) == 12
    for name in ("d-segfault.txt", "g-oomkill.txt"):
        assert docs[name]["message"].startswith("[E012] worker process died"), docs[name]
        assert "native crash or out of memory" in docs[name]["message"]
        assert len(docs[name]["doc_id"]) == 64
    # The crash did not disturb the rows of the other documents.
    monkeypatch.setattr(runner, "_work", _ORIGINAL_WORK)
    clean = run([_corpus(tmp_path / "clean", 10)], tmp_path / "clean-out", workers=1, progress=False)
    assert clean.statuses == {"ok": 10}
    ours = [r for r in csv.reader((tmp_path / "out" / "mentions.csv").open(encoding="utf-8"))]
    theirs = [r for r in csv.reader((tmp_path / "clean-out" / "mentions.csv").open(encoding="utf-8"))]
    assert ours == theirs


def test_pool_kills_a_document_stuck_in_native_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path / "corpus", 3, extra=("b-hang.txt",))
    monkeypatch.setattr(runner, "_work", crashing_work)
    started = time.monotonic()
    summary = run(
        [corpus], tmp_path / "out", workers=2, progress=False, options=Options(limits=Limits(time_limit=1.0))
    )
    assert time.monotonic() - started < 30
    assert summary.statuses == {"error": 1, "ok": 3}
    message = _documents(tmp_path / "out")["b-hang.txt"]["message"]
    assert message.startswith("[E012]") and "time limit of 1s" in message


def test_dask_worker_deaths_cost_one_row_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudpickle

    corpus = _corpus(tmp_path / "corpus", 6, extra=("b-segfault.txt", "e-oomkill.txt"))
    monkeypatch.setattr(runner, "_work", crashing_work)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        summary = run([corpus], tmp_path / "out", engine="dask", workers=2, progress=False)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert summary.statuses == {"error": 2, "ok": 6}
    docs = _documents(tmp_path / "out")
    assert docs["b-segfault.txt"]["message"].startswith("[E012]")
    assert docs["e-oomkill.txt"]["message"].startswith("[E012]")
