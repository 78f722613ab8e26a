"""Engines: serial, process pool and Dask write byte-identical tables, in input order."""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from extractor import runner
from extractor.load import Limits
from extractor.pipeline import Options
from extractor.runner import expand_inputs, run

TABLES = ("documents", "headings", "mentions", "indicators")

# Constructed report fragments in the style of real reports (invented places and facts).
_TOWNS = ("青石镇", "柳岸街道", "白沙乡", "云台街道", "石门镇")
_BODY = (
    "一、{year}年推进法治政府建设的主要举措和成效\n"
    "（一）深入学习贯彻习近平法治思想。全年开展专题学习{a}次，举办法治讲座{b}场。\n"
    "（二）化解矛盾纠纷。调处矛盾纠纷{c}件，调解成功率98.{d}%。\n"
    "二、存在的不足和原因\n"
    "基层法治力量仍然薄弱。\n"
    "三、{next}年工作安排\n"
    "力争法律顾问覆盖率达到100%。\n"
)


def _report(i: int) -> str:
    town = _TOWNS[i % len(_TOWNS)]
    year = 2019 + i % 5
    body = _BODY.format(year=year, next=year + 1, a=4 + i, b=2 + i % 7, c=30 + 11 * i, d=i % 10)
    return f"{town}关于{year}年度法治政府建设情况的报告\n区委、区政府：\n现将有关情况报告如下：\n{body}特此报告。\n{town}\n{year + 1}年2月{1 + i % 27}日\n"


def mixed_corpus(root: Path, seed: Path) -> Path:
    """The seed, generated TXT and HTML reports, and a few bad inputs."""
    root.mkdir(parents=True, exist_ok=True)
    (root / seed.name).write_bytes(seed.read_bytes())
    for i in range(6):
        (root / f"report-{i}.txt").write_text(_report(i), encoding="utf-8")
    for i in range(6, 9):
        paras = "".join(f"<p>{line}</p>" for line in _report(i).splitlines())
        html = f'<html><head><meta charset="utf-8"><title>报告{i}</title></head><body>{paras}</body></html>'
        (root / f"page-{i}.html").write_text(html, encoding="utf-8")
    (root / "report-gbk.txt").write_bytes(_report(9).encode("gb18030"))
    (root / "empty.txt").write_bytes(b"")
    (root / "noise.pdf").write_bytes(bytes(range(256)) * 8)
    (root / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    return root


def table_contents(out: Path) -> dict[str, object]:
    """Everything a run wrote that must not depend on the engine (run.json holds timings, so it is left out)."""
    found: dict[str, object] = {"documents.jsonl": (out / "documents.jsonl").read_bytes()}
    for table in TABLES:
        found[f"{table}.csv"] = (out / f"{table}.csv").read_bytes()
        found[f"{table}.parquet"] = pq.read_table(out / f"{table}.parquet").to_pylist()
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, seed_path: Path) -> Path:
    return mixed_corpus(tmp_path_factory.mktemp("mixed"), seed_path)


@pytest.fixture(scope="module")
def serial_out(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Path:
    out = tmp_path_factory.mktemp("serial")
    run([corpus], out, workers=1, progress=False)
    return out


def test_serial_run_keeps_input_order_and_every_document(serial_out: Path, corpus: Path) -> None:
    with (serial_out / "documents.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    expected = [str(item.path) for item in expand_inputs([corpus])]
    assert [r["source"] for r in rows] == expected
    statuses = {Path(r["source"]).name: r["status"] for r in rows}
    assert statuses["empty.txt"] == "empty"
    assert statuses["noise.pdf"] != "ok" and statuses["old.doc"] == "unsupported_format"
    assert statuses["report-0.txt"] == "ok" and statuses[corpus.glob("chongqing*").__next__().name] == "ok"


@pytest.mark.parametrize("workers", [2, 3])
def test_pool_matches_serial(tmp_path: Path, corpus: Path, serial_out: Path, workers: int) -> None:
    out = tmp_path / "pool"
    summary = run([corpus], out, workers=workers, progress=False)
    assert summary.processed == len(expand_inputs([corpus]))
    assert table_contents(out) == table_contents(serial_out)
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert (info["engine"], info["workers"]) == ("pool", workers)


def test_dask_local_cluster_matches_serial(tmp_path: Path, corpus: Path, serial_out: Path) -> None:
    out = tmp_path / "dask"
    summary = run([corpus], out, engine="dask", workers=2, progress=False)
    assert summary.processed == len(expand_inputs([corpus]))
    assert table_contents(out) == table_contents(serial_out)


def test_dask_existing_scheduler(tmp_path: Path, corpus: Path, serial_out: Path) -> None:
    import dask
    from distributed import LocalCluster

    # Workers forked from the warm fork server the pool tests started: seconds saved, same code.
    with (
        dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}),
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
    ):
        out = tmp_path / "dask-tcp"
        run([corpus], out, engine="dask", scheduler=cluster.scheduler_address, progress=False)
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    assert table_contents(out) == table_contents(serial_out)


def test_cached_rerun_with_another_engine_is_identical(
    tmp_path: Path, corpus: Path, serial_out: Path
) -> None:
    out = tmp_path / "mixed-engines"
    run([corpus], out, workers=2, progress=False)
    again = run([corpus], out, engine="dask", workers=1, progress=False)
    assert again.processed == 0
    assert table_contents(out) == table_contents(serial_out)


# -- the time limit in Dask worker threads, where SIGALRM cannot reach ---------------------------

_ORIGINAL_WORK = runner._work


def spinning_work(item: runner.InputItem, options: Options) -> dict:
    """The per-document function, except that documents named *spin* loop in Python forever."""
    if "spin" in item.path.name:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            pass
    return _ORIGINAL_WORK(item, options)


def test_dask_time_limit_stops_a_runaway_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudpickle

    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "a-spin.txt").write_text(_report(1), encoding="utf-8")
    (corpus / "b.txt").write_text(_report(2), encoding="utf-8")
    monkeypatch.setattr(runner, "_work", spinning_work)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        started = time.monotonic()
        summary = run(
            [corpus],
            tmp_path / "out",
            engine="dask",
            workers=1,
            progress=False,
            options=Options(limits=Limits(time_limit=1.0)),
        )
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert time.monotonic() - started < 60
    assert summary.statuses == {"error": 1, "ok": 1}
    with (tmp_path / "out" / "documents.csv").open(encoding="utf-8") as fh:
        rows = {Path(r["source"]).name: r for r in csv.DictReader(fh)}
    assert "[E008]" in rows["a-spin.txt"]["message"] and rows["a-spin.txt"]["doc_id"]
    assert rows["b.txt"]["status"] == "ok"
