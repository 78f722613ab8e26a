"""Execution engines: a local process pool, and Dask for clusters. All run `runner._work`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from extractor.errors import DocumentError

if TYPE_CHECKING:
    from extractor.pipeline import Options
    from extractor.runner import InputItem

Todo = list[tuple[int, "InputItem"]]
Results = Iterator[tuple[int, dict[str, Any]]]


def _died(item: InputItem, detail: str) -> dict[str, Any]:
    """The record of a document whose worker process died while working on it."""
    from extractor.model import Document

    exc = DocumentError("E012", detail=detail)
    return Document(doc_id="", source=str(item.path), status=exc.status, message=exc.message).to_dict()


def pool_engine(workers: int) -> Callable[[Todo, Options], Results]:
    """A local process pool with a bounded number of documents in flight."""

    def run(todo: Todo, options: Options) -> Results:
        from extractor.runner import _work

        pending = list(reversed(todo))
        suspects: list[tuple[int, InputItem]] = []
        while pending:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                inflight: dict[Future[dict[str, Any]], tuple[int, InputItem]] = {}
                broken = False
                while (pending or inflight) and not broken:
                    while pending and len(inflight) < 4 * workers:
                        i, item = pending.pop()
                        inflight[pool.submit(_work, item, options)] = (i, item)
                    done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i, item = inflight.pop(fut)
                        try:
                            yield i, fut.result()
                        except BrokenProcessPool:
                            broken = True
                            suspects.append((i, item))
                if broken:
                    # Every document still in flight is a suspect; retry each alone below.
                    suspects.extend(inflight.values())
                    break
        for i, item in sorted(suspects):
            yield i, _isolated(item, options)

    return run


def _isolated(item: InputItem, options: Options) -> dict[str, Any]:
    """Run one document in a pool of its own; if that worker dies too, the document is to blame."""
    from extractor.runner import _work

    with ProcessPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(_work, item, options).result()
        except BrokenProcessPool as exc:
            return _died(item, f"{exc.__class__.__name__}: the process was killed (native crash or out of memory)")


def dask_engine(workers: int | None, scheduler: str | None) -> Callable[[Todo, Options], Results]:
    """Run on a dask.distributed cluster: an existing one at `scheduler`, else a LocalCluster."""
    raise NotImplementedError("the Dask engine is not available yet")
