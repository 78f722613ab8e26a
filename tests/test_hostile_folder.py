"""Acceptance: one folder mixing real, constructed and hostile inputs goes through `extractor run`.

Every input ends as exactly one row with the right status and message code; the run exits 0 in
bounded time and memory (a subprocess under an address-space limit, its peak memory measured).
The hostile files are made here: zip bomb, entity expansion, deep nesting, oversized and sparse
files, page bombs, damaged and mixed encodings, formats behind the wrong extension, truncation,
encryption, random bytes, legacy Office formats and a scanned PDF.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from scanned import image_only_pdf, require_cjk_font, typeset_pdf

REPO = Path(__file__).resolve().parents[1]
# The run's whole process tree lives under this address-space limit (virtual memory, so well above
# what it really uses: onnxruntime and the worker processes reserve more than they touch).
ADDRESS_SPACE = 6 << 30
# Peak resident memory of the largest process of the run.
PEAK_RSS = 1536 << 20
RUN_TIMEOUT = 300

# Constructed text (invented sub-district, invented facts) for the damaged-text inputs.
REPORT = """重庆市荣昌区青松街道办事处关于2022年度法治政府建设情况的报告
区政府：
　　2022年，青松街道坚持以习近平法治思想为指导，扎实推进法治政府建设。现将有关情况报告如下：
一、主要举措和成效
（一）严格规范公正文明执法。全年办理行政处罚案件36件，罚没款合计12.5万元。
（二）化解矛盾纠纷。调处矛盾纠纷128件，调解成功率达97.5%。
二、存在的不足
部分执法人员业务能力有待提高。
三、2023年工作安排
力争行政执法案卷评查合格率达到100%。
青松街道办事处
2023年1月18日
"""


@dataclass(frozen=True)
class Expect:
    """What the row of one input must say."""

    status: str
    code: str = ""  # message code, e.g. "E011"; empty for ok
    fmt: str | None = None
    text_source: str | None = None


def _docx(paragraphs: list[str]) -> bytes:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _replace_member(data: bytes, name: str, payload: bytes | None = None, zeros: int = 0) -> bytes:
    """Copy a zip with one member replaced by `payload`, or by `zeros` bytes of zeros written in chunks."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info.filename))
        if payload is not None:
            dst.writestr(name, payload)
        else:
            with dst.open(name, "w", force_zip64=True) as fh:
                chunk = bytes(1 << 20)
                for _ in range(zeros >> 20):
                    fh.write(chunk)
    return out.getvalue()


def _billion_laughs(docx_bytes: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    head, rest = xml[: xml.index("?>") + 2], xml[xml.index("<w:document") :]
    evil = head + f'<!DOCTYPE w:document [<!ENTITY l0 "lol">{lol}]>' + rest.replace("主要举措", "&l9;", 1)
    return _replace_member(docx_bytes, "word/document.xml", evil.encode("utf-8"))


def _blank_pdf(pages: int) -> bytes:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(595, 842)
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def _encrypted_pdf() -> bytes:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=StandardEncryption("user", ownerPassword="owner"))
    c.setFont("STSong-Light", 12)
    c.drawString(72, 700, "全年办理行政处罚案件36件。")
    c.showPage()
    c.save()
    return buf.getvalue()


def _damage(data: bytes, every: int, junk: bytes) -> bytes:
    """Overwrite a few bytes at regular places (a bad copy, a cut-off download)."""
    out = bytearray(data)
    for pos in range(every, len(out) - len(junk), every):
        out[pos : pos + len(junk)] = junk
    return bytes(out)


def build_folder(root: Path, seed: Path) -> dict[str, Expect]:
    """Write every input under `root`; return the expected row of each, by path relative to root."""
    expect: dict[str, Expect] = {}

    def put(rel: str, data: bytes, exp: Expect) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        expect[rel] = exp

    # Reports: the seed, the constructed demo corpus, the golden fixtures (documents only).
    put("reports/seed/" + seed.name, seed.read_bytes(), Expect("ok", fmt="txt"))
    for path in sorted((REPO / "corpora" / "constructed").iterdir()):
        put(f"reports/constructed/{path.name}", path.read_bytes(), Expect("ok"))
    for path in sorted((REPO / "tests" / "golden").iterdir()):
        if path.suffix != ".json" and path.with_name(f"{path.stem}.gold.json").is_file():
            put(f"reports/golden/{path.name}", path.read_bytes(), Expect("ok"))

    report_docx = _docx(REPORT.splitlines())
    text_pdf = typeset_pdf(
        ["重庆市荣昌区青松街道办事处", "关于2022年度法治政府建设情况的报告"], REPORT.splitlines()[3:7]
    )
    rng = random.Random(20240601)

    # Archives and XML.
    put(
        "hostile/zip-bomb.docx",
        _replace_member(report_docx, "word/media/image1.png", zeros=300 << 20),
        Expect("too_large", "E011"),
    )
    put("hostile/billion-laughs.docx", _billion_laughs(report_docx), Expect("corrupt", "E005"))
    put(
        "hostile/no-document-part.docx",
        _replace_member(b"PK\x05\x06" + bytes(18), "media/a.bin", b"x"),
        Expect("unsupported_format", "E004"),
    )
    # Sizes and depths.
    put(
        "hostile/nested-100000.html",
        ("<html><body>" + "<div>" * 100_000 + REPORT.replace("\n", "<br>") + "</div>" * 100_000).encode(),
        Expect("ok", fmt="html"),
    )
    big = root / "hostile/huge-200mb.txt"
    big.parent.mkdir(parents=True, exist_ok=True)
    with big.open("wb") as fh:
        fh.write(REPORT.encode())
        fh.truncate(200 << 20)  # sparse: costs no disk and no time
    expect["hostile/huge-200mb.txt"] = Expect("too_large", "E001")
    put("hostile/10000-empty-pages.pdf", _blank_pdf(10_000), Expect("too_large", "E007"))
    # Encodings.
    put(
        "hostile/malformed-utf8.txt",
        _damage(REPORT.encode("utf-8"), 97, b"\xe6\x9c"),
        Expect("ok", fmt="txt"),
    )
    put("hostile/malformed-gbk.txt", _damage(REPORT.encode("gbk"), 89, b"\xff"), Expect("ok", fmt="txt"))
    put("hostile/nul-bytes.txt", _damage(REPORT.encode("utf-8"), 150, b"\x00"), Expect("ok", fmt="txt"))
    lines = REPORT.splitlines(keepends=True)
    mixed = b"".join(ln.encode("gbk" if i % 2 else "utf-8") for i, ln in enumerate(lines))
    put("hostile/mixed-utf8-gbk.txt", mixed, Expect("ok", fmt="txt"))
    put("hostile/whitespace-only.txt", "  \n\u3000\u3000\r\n\t\n".encode(), Expect("empty", "E003"))
    # A report pasted as one line with its punctuation lost: the text stages must stay linear.
    run_on = "".join(ch for ch in REPORT if ch not in "\n　，。：；、（）") * 120
    put("hostile/one-line-no-punctuation.txt", run_on.encode(), Expect("ok", fmt="txt"))
    # Formats behind the wrong name, damaged files, unsupported formats.
    put("hostile/really-a-docx.pdf", report_docx, Expect("ok", fmt="docx"))
    put(
        "hostile/really-html.docx",
        ("<html><body><p>" + REPORT.replace("\n", "</p><p>") + "</p></body></html>").encode(),
        Expect("ok", fmt="html"),
    )
    put("hostile/truncated.pdf", text_pdf[: len(text_pdf) // 2], Expect("corrupt", "E005"))
    put("hostile/encrypted.pdf", _encrypted_pdf(), Expect("corrupt", "E005"))
    put("hostile/empty.pdf", b"", Expect("empty", "E002"))
    put("hostile/random-bytes.bin", rng.randbytes(64 << 10), Expect("corrupt", "E010"))
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + rng.randbytes(4096)
    put("hostile/legacy.doc", ole, Expect("unsupported_format", "E004", fmt="doc"))
    put("hostile/legacy.wps", ole, Expect("unsupported_format", "E004", fmt="wps"))
    put(
        "hostile/picture.pdf", b"\x89PNG\r\n\x1a\n" + rng.randbytes(256), Expect("unsupported_format", "E004")
    )
    # A scan: no text layer, OCRed inside the worker.
    put("hostile/scanned.pdf", image_only_pdf(text_pdf), Expect("ok", fmt="pdf", text_source="ocr"))
    return expect


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _tree_peak_rss(root: int) -> int:
    """Largest peak resident size (VmHWM, bytes) among `root` and its live descendants.

    Pool workers are children of the fork server, which outlives the command: their usage never
    reaches RUSAGE_CHILDREN, so it is read from /proc while they run.
    """
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grew = {root}, True
    while grew:
        kids = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        tree |= kids
        grew = bool(kids)
    peak = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) << 10)
    return peak


def _run_measured(cmd: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run `cmd` under the address-space limit; return the result and the peak RSS of its process tree."""
    peak = 0
    with subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_limit_memory
    ) as proc:
        deadline = time.monotonic() + RUN_TIMEOUT
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"extractor run did not finish in {RUN_TIMEOUT}s")
            peak = max(peak, _tree_peak_rss(proc.pid))
            time.sleep(0.2)
        out, err = proc.communicate()
    peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss << 10)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), peak


@pytest.mark.timeout(RUN_TIMEOUT + 120)
def test_mixed_hostile_folder_gives_one_right_row_per_input(tmp_path: Path, seed_path: Path) -> None:
    require_cjk_font()
    folder, out = tmp_path / "inbox", tmp_path / "out"
    expect = build_folder(folder, seed_path)
    assert len(expect) >= 40

    proc, peak = _run_measured(
        [
            sys.executable,
            "-m",
            "extractor",
            "run",
            str(folder),
            "--out",
            str(out),
            "--workers",
            "2",
            "--no-progress",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    with (out / "documents.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    got = {str(Path(r["source"]).relative_to(folder)): r for r in rows}
    assert len(rows) == len(got) == len(expect)
    assert sorted(got) == sorted(expect)
    wrong = {}
    for rel, exp in expect.items():
        row = got[rel]
        seen = (row["status"], row["message"][1:5] if row["message"] else "")
        if seen != (exp.status, exp.code):
            wrong[rel] = (seen, row["message"])
        if exp.fmt is not None and row["format"] != exp.fmt:
            wrong[rel] = ("format", row["format"], exp.fmt)
        if exp.text_source is not None and row["text_source"] != exp.text_source:
            wrong[rel] = ("text_source", row["text_source"], row["message"])
    assert not wrong, json.dumps(wrong, ensure_ascii=False, indent=1)

    # Every ok document has text; the damaged texts still give their numbers.
    records = {
        str(Path(r["source"]).relative_to(folder)): r
        for r in map(json.loads, (out / "documents.jsonl").read_text(encoding="utf-8").splitlines())
    }
    for rel, exp in expect.items():
        if exp.status == "ok":
            assert records[rel]["chars"] > 0, rel
    for rel in (
        "hostile/malformed-utf8.txt",
        "hostile/malformed-gbk.txt",
        "hostile/nul-bytes.txt",
        "hostile/mixed-utf8-gbk.txt",
        "hostile/nested-100000.html",
        "hostile/really-a-docx.pdf",
    ):
        values = {(m["value"], m["unit"]) for m in records[rel]["mentions"]}
        assert {(36, "件"), (128, "件")} <= values, (rel, values)
    assert records["hostile/malformed-utf8.txt"]["warnings"], "damaged bytes must be reported"
    assert records["hostile/nested-100000.html"]["warnings"]
    scan = records["hostile/scanned.pdf"]
    assert 0.8 <= scan["ocr_confidence"] <= 1.0
    assert {(36, "件"), (12.5, "万元")} <= {(m["value"], m["unit"]) for m in scan["mentions"]}

    # run.json agrees with the rows; memory stayed bounded.
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["statuses"] == dict(Counter(e.status for e in expect.values()))
    # Several processes worth of memory were seen (the driver and OCR-loaded workers), none too much.
    assert 200 << 20 < peak < PEAK_RSS, f"peak RSS {peak >> 20} MiB"
    shutil.rmtree(folder)  # 200 MB sparse file and a 300 MB-unzipped bomb: free the space at once


def _defines(source: str, name: str) -> bool:
    """Tell whether `source` defines the test `name` (a trailing * stands for any suffix)."""
    pattern = re.escape(name.rstrip("*")) + ("" if name.endswith("*") else r"\b")
    return re.search(rf"def {pattern}", source) is not None


def test_readme_reliability_table_names_existing_tests() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Reliability") :]
    section = section[: section.index("\n## ", 1)]
    sources = {
        p.relative_to(REPO / "tests").as_posix(): p.read_text(encoding="utf-8")
        for p in (REPO / "tests").rglob("test_*.py")
    }
    refs = re.findall(r"`(?:tests/)?([\w/]+\.py)(?:::(\w+\*?))?`", section)
    assert len(refs) >= 30
    missing = [
        f"{file}::{name}"
        for file, name in refs
        if file not in sources or (name and not _defines(sources[file], name))
    ]
    # A `::name` after a comma refers to a test of the file named just before it.
    missing += [
        name
        for name in re.findall(r", `::(\w+)`", section)
        if not any(_defines(t, name) for t in sources.values())
    ]
    assert not missing, missing
