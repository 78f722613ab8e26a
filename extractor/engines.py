"""Execution engines: a local process pool, and Dask for clusters. All run the per-document function.

An engine takes the documents still to do, as (input index, InputItem) pairs, and yields
(input index, record) pairs as documents finish, in any order; the runner caches each record and
writes the tables in input order. Every document yields exactly one record, whatever happens to the
process that ran it:

* a worker that dies (native crash, out-of-memory kill) takes down every document in flight with it,
  so each of those is retried alone; the one that kills its worker again gets status `error` [E012];
* the per-document time limit is enforced twice. Inside the pipeline, SIGALRM aborts a document
  that runs in the main thread of its process (the serial and pool engines). Around it, `guarded`
  runs a watchdog: in a thread that is not the main one (Dask runs tasks in worker threads) it
  raises an exception in the document's thread at the limit, which Python delivers at the next
  bytecode; and if the document is still running `limit + grace` seconds in (stuck in native
  code, where neither an alarm nor an asynchronous exception is ever delivered), it kills its own
  process, which the recovery above turns into [E012]. The serial engine runs in the caller's
  process, so it has only the alarm: a document stuck in native code blocks a `--workers 1` run.

Pool and Dask workers also prepare each record for the table writer (`runner.prepare`), so that
the driver, which all documents pass through, does as little as possible per document.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from extractor.errors import DocumentError

if TYPE_CHECKING:
    from extractor.pipeline import Options
    from extractor.runner import InputItem, Prepared

Todo = list[tuple[int, "InputItem"]]
# A record as a dict, or prepared for the table writer (as the pool and Dask workers send it).
Results = Iterator[tuple[int, "dict[str, Any] | Prepared"]]
Work = Callable[["InputItem", "Options"], dict[str, Any]]
Engine = Callable[[Todo, "Options"], Results]

# Documents in flight per worker: enough to keep every worker busy while the driver writes
# results, few enough that a dying worker takes only a handful of documents down with it.
IN_FLIGHT_PER_WORKER = 2
# Modules the pool's fork server imports once, so each worker starts with them loaded and warm:
# loading the lexicons and the segmenter takes seconds, paid once per run instead of per worker.
PRELOAD = ["extractor.runner", "extractor.warmup"]


def hard_deadline(limit: float) -> float:
    """Seconds after which a document's process is killed: the limit plus a grace of a quarter (2 s or more)."""
    return limit + max(2.0, limit / 4)


class _Deadline(BaseException):
    """Raised asynchronously in a worker thread that ran past the time limit (a BaseException so stages cannot swallow it)."""


def _raise_in_thread(thread_id: int, exc: type[BaseException] | None) -> None:
    """Schedule `exc` in another thread (None clears a scheduled one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None
    )


def guarded(work: Work, item: InputItem, options: Options) -> Prepared:
    """Run `work(item, options)` in a worker process under the watchdog; return the prepared record.

    The worker also encodes the record and computes its table rows (`runner.prepare`): the
    driver's share of the work per document is what limits how far a run scales.
    """
    from extractor.runner import prepare

    return prepare(item, _watched(work, item, options))


def _watched(work: Work, item: InputItem, options: Options) -> dict[str, Any]:
    """Run `work(item, options)` under the watchdog described in the module docstring."""
    import extractor.warmup  # noqa: F401  (a worker's first document: load lexicons outside the time limit)

    limit = options.limits.time_limit
    if limit <= 0:
        return work(item, options)
    thread_id = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def soft() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                _raise_in_thread(thread_id, _Deadline)

    def hard() -> None:
        with lock:
            if not state["done"]:
                os.kill(os.getpid(), signal.SIGKILL)

    timers = [threading.Timer(hard_deadline(limit), hard)]
    if threading.current_thread() is not threading.main_thread():
        timers.append(threading.Timer(limit, soft))
    for timer in timers:
        timer.daemon = True
        timer.start()
    try:
        try:
            return work(item, options)
        finally:
            with lock:
                state["done"] = True
                if state["fired"]:  # fired but perhaps not yet delivered: never let it escape
                    _raise_in_thread(thread_id, None)
    except _Deadline:
        return failed_record(item, DocumentError("E008", limit=limit))
    finally:
        for timer in timers:
            timer.cancel()


def failed_record(item: InputItem, exc: DocumentError) -> dict[str, Any]:
    """The record of a document that failed outside the pipeline (its worker died or hung)."""
    from extractor.model import Document
    from extractor.pipeline import sha256_file

    path = item.path
    try:
        doc_id, size = sha256_file(path), path.stat().st_size
    except OSError:
        import hashlib

        doc_id, size = hashlib.sha256(str(path).encode()).hexdigest(), 0
    doc = Document(doc_id=doc_id, source=str(path), bytes=size, status=exc.status, message=exc.message)
    doc.source_url = item.source_info.get("source_url") or None
    return doc.to_dict()


def _died(item: InputItem, options: Options, seconds: float) -> dict[str, Any]:
    """The record of a document whose worker process died while working on it, even when run alone."""
    limit = options.limits.time_limit
    if limit > 0 and seconds >= hard_deadline(limit):
        detail = f"killed after running past the time limit of {limit:g}s inside native code"
    else:
        detail = "the process was killed while processing this document (native crash or out of memory)"
    return failed_record(item, DocumentError("E012", detail=detail))


def _crashed(item: InputItem, exc: BaseException) -> dict[str, Any]:
    """The record of a document whose task failed in the engine rather than in the pipeline."""
    return failed_record(item, DocumentError("E009", stage="engine", detail=f"{type(exc).__name__}: {exc}"))


def _default_work() -> Work:
    # Looked up at run time, so that the per-document function can be swapped as a whole.
    from extractor import runner

    return runner._work


# -- local process pool ------------------------------------------------------------------------


def _worker_init(driver: int) -> None:
    """Make a pool worker exit when the run that started it is gone, so a killed run leaves no orphans."""
    threading.Thread(target=_watch_driver, args=(driver,), name="extractor-driver-watch", daemon=True).start()


def _watch_driver(driver: int) -> None:
    # A worker's parent is the fork server, which outlives a killed driver for as long as its
    # workers live, and the workers wait on a queue that never closes: so watch the driver itself.
    while _process_alive(driver):
        time.sleep(0.5)
    os._exit(70)


def _process_alive(pid: int) -> bool:
    """Tell whether a process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _mp_context(preload: tuple[str, ...] = ()) -> Any:
    """The fork-server context on Linux (warm workers at once), the platform default elsewhere."""
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context()
    # Not plain fork: the driver may hold threads (progress bar, Dask client), and forking a
    # threaded process can deadlock the child. The preload list counts only when the server starts.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([*preload, *PRELOAD])
    return ctx


def _executor(workers: int) -> ProcessPoolExecutor:
    """A process pool; on Linux its workers fork from a clean server that has the package loaded."""
    ctx = _mp_context()
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
    )


def pool_engine(workers: int) -> Engine:
    """A local process pool with a bounded number of documents in flight."""

    def run(todo: Todo, options: Options) -> Results:
        work = _default_work()
        queue = deque(todo)
        suspects: list[tuple[int, InputItem]] = []
        while queue:
            with _executor(workers) as pool:
                inflight: dict[Future[Prepared], tuple[int, InputItem]] = {}
                broken = False
                while (queue or inflight) and not broken:
                    while queue and len(inflight) < IN_FLIGHT_PER_WORKER * workers:
                        i, item = queue.popleft()
                        inflight[pool.submit(guarded, work, item, options)] = (i, item)
                    done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i, item = inflight.pop(fut)
                        try:
                            record = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            suspects.append((i, item))
                            continue
                        except Exception as exc:
                            record = _crashed(item, exc)
                        yield i, record
                # A dead worker breaks the whole pool: everything in flight is a suspect, and a
                # fresh pool takes the rest of the queue.
                suspects.extend(inflight.values())
        yield from _isolated(sorted(suspects), options, work)

    return run


def _isolated(suspects: Todo, options: Options, work: Work) -> Results:
    """Run each suspect alone in a one-worker pool; if that worker dies too, the document is to blame."""
    pool: ProcessPoolExecutor | None = None
    try:
        for i, item in suspects:
            pool = pool or _executor(1)
            started = time.monotonic()
            try:
                record = pool.submit(guarded, work, item, options).result()
            except BrokenProcessPool:
                pool.shutdown(wait=True)
                pool = None
                record = _died(item, options, time.monotonic() - started)
            except Exception as exc:
                record = _crashed(item, exc)
            yield i, record
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


# -- Dask --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _dask_client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A client of the cluster at `scheduler`, or of a LocalCluster on 127.0.0.1 started for this run."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    import logging

    # The engine reports a dying worker as the document's status; the scheduler's own log lines
    # about it would only alarm. Each suspect is retried alone below, so the scheduler need not.
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    # Workers fork from the warm fork server too, so one that is restarted after a crash is
    # ready at once; the setting is read whenever the nanny starts a worker, so it stays on.
    method = "forkserver" if _mp_context(("distributed",)).get_start_method() == "forkserver" else "spawn"
    try:
        with dask.config.set(
            {"distributed.scheduler.allowed-failures": 0, "distributed.worker.multiprocessing-method": method}
        ):
            with contextlib.suppress(ImportError):  # older distributed: no preload list of its own
                from distributed.utils import get_mp_context

                get_mp_context()  # distributed sets its preload list on first use: ours must come after
            _mp_context(("distributed",))
            with (
                LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL,
                ) as cluster,
                Client(cluster) as client,
            ):
                yield client
    finally:
        quiet.setLevel(level)


def dask_engine(workers: int | None, scheduler: str | None) -> Engine:
    """Run on a dask.distributed cluster: an existing one at `scheduler`, else a LocalCluster.

    Workers need the package installed; they send each record back to the driver, which writes
    the cache and the tables, so workers need no access to the output folder.
    """

    def run(todo: Todo, options: Options) -> Results:
        if not todo:
            return
        from distributed.scheduler import KilledWorker

        work = _default_work()
        token = uuid.uuid4().hex[:8]
        with _dask_client(workers, scheduler) as client:
            window = IN_FLIGHT_PER_WORKER * max(1, sum(client.nthreads().values()))
            queue = deque(todo)
            inflight: dict[Any, tuple[int, InputItem]] = {}
            suspects: list[tuple[int, InputItem]] = []

            def submit(i: int, item: InputItem) -> Any:
                fut = client.submit(guarded, work, item, options, key=f"extractor-{token}-{i}", pure=False)
                inflight[fut] = (i, item)
                return fut

            while queue or inflight:
                while queue and len(inflight) < window:
                    submit(*queue.popleft())
                for fut in _first_done(client, list(inflight)):
                    i, item = inflight.pop(fut)
                    try:
                        record = fut.result()
                    except KilledWorker:
                        suspects.append((i, item))
                        continue
                    except Exception as exc:
                        record = _crashed(item, exc)
                    finally:
                        fut.release()  # the record is on the driver now; free the worker's copy
                    yield i, record
            for i, item in sorted(suspects):
                started = time.monotonic()
                fut = submit(i, item)
                _first_done(client, [fut])
                inflight.pop(fut)
                try:
                    record = fut.result()
                except KilledWorker:
                    record = _died(item, options, time.monotonic() - started)
                except Exception as exc:
                    record = _crashed(item, exc)
                finally:
                    fut.release()
                yield i, record

    return run


# How long a run waits on a cluster without a single worker before giving up.
NO_WORKER_PATIENCE = 120.0


def _first_done(client: Any, futures: list[Any]) -> set[Any]:
    """Wait until one of `futures` is done; fail, rather than hang, when the cluster loses every worker."""
    from distributed import wait as dask_wait

    alone_since: float | None = None
    while True:
        try:
            done, _ = dask_wait(futures, timeout=5, return_when="FIRST_COMPLETED")
            return set(done)
        except TimeoutError:
            if client.nthreads():
                alone_since = None
            elif alone_since is None:
                alone_since = time.monotonic()
            elif time.monotonic() - alone_since > NO_WORKER_PATIENCE:
                raise RuntimeError(
                    f"the Dask cluster has had no worker for {NO_WORKER_PATIENCE:.0f}s; "
                    "finished documents are cached, rerun to continue"
                ) from None
