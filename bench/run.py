"""Benchmarks (`make bench`): every figure is printed as a ratio against a baseline measured in the same run.

Figures, on a synthetic corpus written by bench/corpus.py:
  extraction  documents/s and characters/s per core, cleaned text → finished record
              (extractor.pipeline.analyse on pre-loaded texts); baseline: jieba.lcut plus a
              digit regex over the same texts
  pdf         pages/s of the project's PDF loader; baseline: pdfplumber extract_text on the same
              files; fidelity of both as the share of planted lines found in the text
  end-to-end  documents/s of `extractor run` with 1 and with 2 workers (parallel efficiency)
  memory      peak RSS (and PSS) of the run's process tree at SMALL and at LARGE documents
  start-up    `extractor --help` against `python -c pass`

Results go to bench/results/<date>.json and .md (the table for the README).

    python bench/run.py [--small 1000] [--large 10000] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus as synthetic  # noqa: E402  (bench/ is not a package)

# Targets from the project's scale requirements.
TARGETS = {
    "chars_per_s_per_core": 0.5e6,
    "pdf_speedup": 10.0,
    "parallel_efficiency": 0.8,
    "help_seconds": 0.3,
    "memory_ratio": 1.2,
}
EXTRACT_DOCS = 300  # TXT reports for the extraction figure
ROUNDS = 3  # extraction and PDF figures are the best of this many rounds
E2E_ROUNDS = 2  # end-to-end runs on the small corpus, each worker count
PDF_DOCS = 40  # PDFs for the loader figure


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


_LOAD: list[float] = []


def _log(msg: str) -> None:
    # The 1-minute load average at each step: figures taken on a busy machine say so.
    _LOAD.append(os.getloadavg()[0])
    print(f"[bench {time.strftime('%H:%M:%S')} load {_LOAD[-1]:.1f}] {msg}", file=sys.stderr, flush=True)


# -- extraction throughput -------------------------------------------------------------------------


def _clear_text_caches() -> None:
    """Empty the stages' bounded memo caches (keyed by text), keeping loaded rules and lexicons.

    Repeating the same texts would otherwise measure cache hits, not extraction.
    """
    for name, module in list(sys.modules.items()):
        if not name.startswith("extractor") or module is None:
            continue
        for obj in vars(module).values():
            info = getattr(obj, "cache_info", None)
            if callable(info) and info().maxsize is not None:
                obj.cache_clear()


def bench_extraction(docs: list[Path]) -> dict[str, Any]:
    """analyse() on pre-loaded texts, one core, against jieba.lcut plus a digit regex."""
    import jieba

    import extractor.warmup  # noqa: F401  (lexicons loaded before the clock starts)
    from extractor.load import load_bytes
    from extractor.model import Document
    from extractor.pipeline import analyse

    loaded = [load_bytes(p.read_bytes(), p.name) for p in docs]
    jieba.initialize()
    digits = re.compile(r"\d+(?:\.\d+)?")
    ours = naive = float("inf")
    for _ in range(ROUNDS):  # best of ROUNDS, alternating, so that a busy moment hits both alike
        _clear_text_caches()
        started = time.perf_counter()
        chars = 0
        texts = []
        for p, item in zip(docs, loaded, strict=True):
            doc = analyse(item, Document(doc_id="", source=p.name))
            chars += doc.chars
            texts.append(doc.text)
        ours = min(ours, time.perf_counter() - started)

        started = time.perf_counter()
        for text in texts:
            jieba.lcut(text)
            digits.findall(text)
        naive = min(naive, time.perf_counter() - started)
    # The real seed report, several times longer than a synthetic one.
    seed = HERE.parent / "corpora" / "seed" / "chongqing-rongchang-changyuan-2021.txt"
    seed_loaded = load_bytes(seed.read_bytes(), seed.name)
    seed_time = float("inf")
    for _ in range(10):  # one report: cheap, so more rounds against noise
        _clear_text_caches()
        started = time.perf_counter()
        seed_doc = analyse(seed_loaded, Document(doc_id="", source=seed.name))
        seed_time = min(seed_time, time.perf_counter() - started)
    n = len(docs)
    return {
        "seed_docs_per_s": 1 / seed_time,
        "seed_chars_per_s": seed_doc.chars / seed_time,
        "seed_chars": seed_doc.chars,
        "documents": n,
        "chars": chars,
        "docs_per_s": n / ours,
        "chars_per_s": chars / ours,
        "baseline_docs_per_s": n / naive,
        "baseline_chars_per_s": chars / naive,
        "ratio": naive / ours,
    }


# -- PDF loading ---------------------------------------------------------------------------------


def _squash(text: str) -> str:
    from extractor.clean import normalise_width

    return re.sub(r"\s+", "", normalise_width(text))


def _fidelity(text: str, planted: list[str]) -> float:
    body = _squash(text)
    return sum(1 for line in planted if _squash(line) in body) / max(1, len(planted))


def bench_pdf(pdfs: list[Path], gold_dir: Path) -> dict[str, Any]:
    """The project's PDF loader against pdfplumber extract_text, pages/s and planted-line recall."""
    import pdfplumber

    from extractor.load import load_bytes

    planted = {p: (gold_dir / f"{p.stem}.planted.txt").read_text(encoding="utf-8").splitlines() for p in pdfs}
    data = {p: p.read_bytes() for p in pdfs}
    load_bytes(data[pdfs[0]], pdfs[0].name)  # imports outside the clock

    ours = base = float("inf")
    for _ in range(ROUNDS):
        pages, texts = 0, {}
        started = time.perf_counter()
        for p in pdfs:
            loaded = load_bytes(data[p], p.name)
            pages += loaded.pages or 0
            texts[p] = loaded.text
        ours = min(ours, time.perf_counter() - started)
        ours_fid = [_fidelity(texts[p], planted[p]) for p in pdfs]

        base_pages, texts = 0, {}
        started = time.perf_counter()
        for p in pdfs:
            with pdfplumber.open(p) as pdf:
                texts[p] = "\n".join(page.extract_text() or "" for page in pdf.pages)
                base_pages += len(pdf.pages)
        base = min(base, time.perf_counter() - started)
        base_fid = [_fidelity(texts[p], planted[p]) for p in pdfs]
    return {
        "files": len(pdfs),
        "pages": pages,
        "pages_per_s": pages / ours,
        "baseline_pages_per_s": base_pages / base,
        "ratio": (pages / ours) / (base_pages / base),
        "fidelity": statistics.mean(ours_fid),
        "baseline_fidelity": statistics.mean(base_fid),
    }


# -- end-to-end runs and memory ------------------------------------------------------------------


class TreeMemory:
    """Samples the summed RSS and PSS of a process and all its descendants, keeping the peaks.

    `tables_rss` is the peak until `marker` exists: the run writes run.json when the documents
    are processed and the tables published, before the panel step that follows.
    """

    def __init__(self, pid: int, marker: Path, every: float = 0.2) -> None:
        self.pid, self.marker, self.every = pid, marker, every
        self.peak_rss = self.peak_pss = self.tables_rss = 0
        self.started = time.perf_counter()
        self.tables_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            rss = pss = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for proc in procs:
                try:
                    info = proc.memory_full_info()
                except psutil.Error:
                    continue
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            if not self.marker.exists():
                self.tables_rss = max(self.tables_rss, rss)
                self.tables_seconds = time.perf_counter() - self.started
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_extractor(docs: Path, out: Path, workers: int) -> dict[str, Any]:
    """One `extractor run --force` as a subprocess: wall time, documents and peak memory of its process tree."""
    cmd = [
        _bin("extractor"),
        "run",
        str(docs),
        "--out",
        str(out),
        "--workers",
        str(workers),
        "--force",
        "--no-progress",
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    memory = TreeMemory(proc.pid, out / "run.json")
    stdout, _ = proc.communicate()
    seconds = time.perf_counter() - started
    memory.stop()
    if proc.returncode:
        raise SystemExit(f"extractor run failed ({proc.returncode}): {' '.join(cmd)}")
    n = int(stdout.split()[0])
    return {
        "workers": workers,
        "documents": n,
        "seconds": seconds,
        "docs_per_s": n / seconds,
        "peak_rss_mb": memory.peak_rss / 2**20,
        "peak_pss_mb": memory.peak_pss / 2**20,
        "tables_peak_rss_mb": memory.tables_rss / 2**20,
        "tables_seconds": memory.tables_seconds,
    }


def bench_startup(repeat: int = 10) -> dict[str, Any]:
    """Median wall time of `extractor --help` and of `python -c pass`."""

    def median(cmd: list[str]) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    ours, base = median([_bin("extractor"), "--help"]), median([sys.executable, "-c", "pass"])
    # What every run pays once before its first document: loading lexicons, rules and segmenter.
    code = "import time; t = time.perf_counter(); import extractor.warmup; print(time.perf_counter() - t)"
    warm = float(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )
    return {"help_seconds": ours, "python_seconds": base, "ratio": ours / base, "warm_up_seconds": warm}


# -- report --------------------------------------------------------------------------------------


def table(r: dict[str, Any]) -> str:
    """The results as a Markdown table: figure, value, baseline, ratio, target."""
    e, p, s = r["extraction"], r["pdf"], r["startup"]
    one, two = r["end_to_end"]["workers_1"], r["end_to_end"]["workers_2"]
    small, large = r["memory"]["small"], r["memory"]["large"]
    rows = [
        (
            "extraction, documents/s per core",
            f"{e['docs_per_s']:.1f}",
            f"{e['baseline_docs_per_s']:.1f} (jieba.lcut + regex)",
            f"{e['ratio']:.2f}×",
            "≈100",
        ),
        (
            "extraction, characters/s per core",
            f"{e['chars_per_s'] / 1e6:.3f} M",
            f"{e['baseline_chars_per_s'] / 1e6:.3f} M",
            f"{e['ratio']:.2f}×",
            "≥ 0.5 M",
        ),
        (
            f"extraction on the seed report ({e['seed_chars']:,} chars), documents/s per core",
            f"{e['seed_docs_per_s']:.1f}",
            "",
            "",
            "≈100",
        ),
        (
            "extraction on the seed report, characters/s per core",
            f"{e['seed_chars_per_s'] / 1e6:.3f} M",
            "",
            "",
            "≥ 0.5 M",
        ),
        (
            "PDF text, pages/s",
            f"{p['pages_per_s']:.1f}",
            f"{p['baseline_pages_per_s']:.1f} (pdfplumber)",
            f"{p['ratio']:.1f}×",
            "≥ 10×",
        ),
        (
            "PDF fidelity (planted lines found)",
            f"{p['fidelity']:.3f}",
            f"{p['baseline_fidelity']:.3f}",
            f"{p['fidelity'] - p['baseline_fidelity']:+.3f}",
            "unchanged",
        ),
        ("end-to-end, documents/s, 1 worker", f"{one['docs_per_s']:.1f}", "", "", ""),
        (
            "end-to-end, documents/s, 2 workers",
            f"{two['docs_per_s']:.1f}",
            f"{one['docs_per_s']:.1f} (1 worker)",
            f"{two['docs_per_s'] / one['docs_per_s']:.2f}×",
            "",
        ),
        (
            "parallel efficiency at 2 workers",
            f"{r['end_to_end']['efficiency']:.2f}",
            "1.00 (linear)",
            f"{r['end_to_end']['efficiency']:.2f}",
            "≥ 0.8",
        ),
        (
            "parallel efficiency, until the tables are written (no panel step)",
            f"{r['end_to_end']['efficiency_tables']:.2f}",
            "1.00 (linear)",
            f"{r['end_to_end']['efficiency_tables']:.2f}",
            "≥ 0.8",
        ),
        (
            f"peak RSS until the tables are written, {large['documents']:,} docs",
            f"{large['tables_peak_rss_mb']:.0f} MB",
            f"{small['tables_peak_rss_mb']:.0f} MB ({small['documents']:,} docs)",
            f"{r['memory']['tables_ratio']:.2f}×",
            "≤ 1.2×",
        ),
        (
            f"peak RSS of the whole run (with the panel step), {large['documents']:,} docs",
            f"{large['peak_rss_mb']:.0f} MB",
            f"{small['peak_rss_mb']:.0f} MB ({small['documents']:,} docs)",
            f"{r['memory']['ratio']:.2f}×",
            "≤ 1.2×",
        ),
        (
            "`extractor --help`",
            f"{s['help_seconds']:.3f} s",
            f"{s['python_seconds']:.3f} s (python -c pass)",
            f"{s['ratio']:.1f}×",
            "< 0.3 s",
        ),
        ("warm-up paid once per run (lexicons, segmenter)", f"{s['warm_up_seconds']:.1f} s", "", "", ""),
    ]
    lines = ["| figure | measured | baseline | ratio | target |", "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def verdicts(r: dict[str, Any]) -> dict[str, bool]:
    """Which targets the run met."""
    return {
        "chars_per_s_per_core": r["extraction"]["chars_per_s"] >= TARGETS["chars_per_s_per_core"],
        "pdf_speedup": r["pdf"]["ratio"] >= TARGETS["pdf_speedup"]
        and r["pdf"]["fidelity"] >= r["pdf"]["baseline_fidelity"] - 0.01,
        "parallel_efficiency": r["end_to_end"]["efficiency"] >= TARGETS["parallel_efficiency"],
        "help_seconds": r["startup"]["help_seconds"] < TARGETS["help_seconds"],
        "memory_ratio_tables": r["memory"]["tables_ratio"] <= TARGETS["memory_ratio"],
        "memory_ratio_whole_run": r["memory"]["ratio"] <= TARGETS["memory_ratio"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--small", type=int, default=1000, help="documents in the small corpus (default 1000)"
    )
    parser.add_argument(
        "--large", type=int, default=10000, help="documents in the large corpus (default 10000)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where corpora and outputs go (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="extractor-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    try:
        _log(f"writing corpora into {work}")
        small, large = work / "small", work / "large"
        # 2% PDFs: rendering and reading PDFs dominates otherwise; the PDF figure has its own set.
        small_counts = synthetic.build(small, args.small, seed=1, pdf_share=0.02)
        large_counts = synthetic.build(large, args.large, seed=2, pdf_share=0.02)
        pdf_set = work / "pdf"
        synthetic.build(pdf_set, PDF_DOCS, seed=3, pdf_share=1.0, html_share=0.0)
        results: dict[str, Any] = {
            "date": dt.date.today().isoformat(),
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "corpora": {"small": small_counts, "large": large_counts, "pdf": PDF_DOCS},
        }

        _log("extraction throughput")
        txts = sorted((small / "docs").rglob("*.txt"))[:EXTRACT_DOCS]
        results["extraction"] = bench_extraction(txts)

        _log("PDF loading")
        results["pdf"] = bench_pdf(sorted((pdf_set / "docs").rglob("*.pdf")), pdf_set / "gold")

        _log(f"end to end, {args.small} documents, 1 and 2 workers")
        # Best of E2E_ROUNDS, alternating: one run each is at the mercy of whatever else the machine does.
        ones, twos = [], []
        for k in range(E2E_ROUNDS):
            ones.append(run_extractor(small / "docs", work / f"out-small-1-{k}", 1))
            twos.append(run_extractor(small / "docs", work / f"out-small-2-{k}", 2))
        one, two = min(ones, key=lambda x: x["seconds"]), min(twos, key=lambda x: x["seconds"])
        results["end_to_end"] = {
            "workers_1": one,
            "workers_2": two,
            "efficiency": (one["seconds"] / two["seconds"]) / 2,
            "efficiency_tables": (one["tables_seconds"] / two["tables_seconds"]) / 2,
        }

        _log(f"end to end, {args.large} documents, 2 workers")
        big = run_extractor(large / "docs", work / "out-large-2", 2)
        results["memory"] = {
            "small": two,
            "large": big,
            "ratio": big["peak_rss_mb"] / two["peak_rss_mb"],
            "tables_ratio": big["tables_peak_rss_mb"] / two["tables_peak_rss_mb"],
            "pss_ratio": big["peak_pss_mb"] / two["peak_pss_mb"],
        }

        _log("start-up")
        results["startup"] = bench_startup()
        results["verdicts"] = verdicts(results)
        results["machine"]["load_average_during_run"] = {"max": max(_LOAD), "mean": statistics.mean(_LOAD)}
        results["bench_seconds"] = time.perf_counter() - began
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    args.results.mkdir(parents=True, exist_ok=True)
    stem = args.results / results["date"]
    stem.with_suffix(".json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    md = table(results)
    stem.with_suffix(".md").write_text(md + "\n", encoding="utf-8")
    print(md)
    print()
    for name, ok in results["verdicts"].items():
        print(f"  target {name}: {'met' if ok else 'MISSED'}")
    load = results["machine"]["load_average_during_run"]
    print(
        f"  ({results['bench_seconds']:.0f} s on {os.cpu_count()} cores, load average up to {load['max']:.1f}; "
        f"results in {stem.with_suffix('.json')})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
