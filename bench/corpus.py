"""Synthetic corpus for benchmarks: N constructed reports in TXT, HTML and PDF, each with its gold file.

The reports are assembled, with a seeded RNG, from the project's own data: the invented example
phrases of the indicator catalog (schemas/indicators.yaml, numbers redrawn), the section names of
the taxonomy (schemas/sections.yaml), the heading skeleton and formulas of the domain note, and
sentence shapes like the seed's. Every number the generator plants is written down in the gold
file (the project's gold format, schemas/gold.schema.json) together with every heading and the
metadata, so a benchmark can check fidelity as well as speed. Places are real provinces, cities
and counties with invented sub-district and township names; all facts are invented.

    python bench/corpus.py OUT_DIR N [--seed 0] [--pdf-share 0.02] [--html-share 0.3]
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# Real provinces, cities and counties; the townships below them are invented.
_PLACES = (
    ("四川省", "成都市", "武侯区"),
    ("浙江省", "杭州市", "西湖区"),
    ("江苏省", "南京市", "江宁区"),
    ("广东省", "广州市", "天河区"),
    ("湖南省", "长沙市", "岳麓区"),
    ("湖北省", "宜昌市", "夷陵区"),
    ("河南省", "洛阳市", "嵩县"),
    ("山东省", "临沂市", "沂南县"),
    ("安徽省", "安庆市", "怀宁县"),
    ("江西省", "赣州市", "信丰县"),
    ("重庆市", "", "荣昌区"),
    ("重庆市", "", "綦江区"),
)
_TOWN_STEMS = (
    "青石",
    "柳岸",
    "白沙坪",
    "云台",
    "清溪口",
    "桃花坞",
    "石门坎",
    "金竹",
    "望江",
    "双河口",
    "松林",
    "龙泉湾",
)
_DEPARTMENTS = ("司法局", "市场监督管理局", "生态环境局", "交通运输局", "应急管理局")

_TITLES = (
    "{organ}关于{year}年度法治政府建设情况的报告",
    "{organ}关于{year}年法治政府建设工作情况的报告",
    "{organ}{year}年法治政府建设年度报告",
)
_PREAMBLE = (
    "{year}年，{we}坚持以习近平新时代中国特色社会主义思想为指导，深入学习贯彻习近平法治思想，"
    "认真落实法治政府建设实施纲要，扎实推进依法行政。现将有关情况报告如下："
)
# Sentences without numbers, in the shape of the seed's.
_FILLER = (
    "严格落实重大行政决策程序，坚持集体讨论决定。",
    "持续深化“放管服”改革，优化法治化营商环境。",
    "坚持和发展新时代“枫桥经验”，推动矛盾纠纷就地化解。",
    "全面推行行政执法公示、执法全过程记录、重大执法决定法制审核制度。",
    "加强法治宣传教育，落实“谁执法谁普法”普法责任制。",
    "自觉接受人大监督、民主监督和社会监督，认真办理建议提案。",
    "建立健全学法用法制度，领导干部带头尊法学法守法用法。",
    "推进政务公开标准化规范化建设，及时回应群众关切。",
)
_PROBLEMS = (
    "一是基层法治力量仍然薄弱，专业人才不足。",
    "二是执法规范化水平有待提高，个别案卷不够规范。",
    "三是法治宣传的针对性和实效性还需增强。",
)
_PLAN = (
    "深入学习贯彻习近平法治思想，压实法治建设第一责任人职责。",
    "持续规范行政执法行为，提升执法质量。",
    "加强法治宣传教育，营造良好法治氛围。",
)
_SUBHEADS = ("健全工作机制", "强化制度保障", "规范工作流程", "加强队伍建设", "推进数字赋能")
_CHROME_TOP = (
    "首页 | 政务公开 | 政务服务 | 互动交流",
    "当前位置：首页 > 政务公开 > 法治政府建设年度报告",
    "字体：【大 中 小】 打印本页 关闭窗口",
)
_CHROME_BOTTOM = (
    "上一篇：无",
    "下一篇：无",
    "主办单位：{gov}办公室 网站标识码：0000000000",
    "ICP备00000000号",
)

# A planted quantity: optional prefix qualifier, Arabic number, optional scale, optional suffix
# qualifier, measure word. Catalog examples whose digits this does not cover are not used.
_QUANTITY = re.compile(
    r"(?P<pre>近|约|超过|超)?(?P<num>\d+(?:\.\d+)?)(?P<scale>万|亿)?(?P<post>余|多)?"
    r"(?P<unit>个百分点|人次|万元|件次|户次|场次|个|件|次|人|名|场|份|项|条|卷|期|户|本|部|家|%)"
)
# A change (同比上升35%, 下降2.1个百分点) is planted in the text but is no level: never gold.
_CHANGE_BEFORE = re.compile(r"(?:同比|较上年|比上年)?(?:增长|上升|下降|提高|增加|减少|降低)了?$")
_CJK_COUNT = re.compile(r"[一二两三四五六七八九十百千]+[余多]?(?:件|次|场|名|个|项|份|条|人)")


@dataclass
class Report:
    """One constructed report: its lines and the gold that goes with them."""

    name: str
    lines: list[str] = field(default_factory=list)
    headings: list[dict[str, Any]] = field(default_factory=list)
    numbers: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    body_start: int = 0
    body_end: int = 0


def _load_yaml(name: str) -> Any:
    import yaml

    path = REPO / "schemas" / f"{name}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None


def _phrases() -> dict[str, list[str]]:
    """Catalog example phrases by section, keeping those whose every number the generator can plant."""
    catalog = _load_yaml("indicators") or {"indicators": []}
    found: dict[str, list[str]] = {}
    for ind in catalog["indicators"]:
        example = str(ind.get("example") or "")
        rest = _QUANTITY.sub("", example)
        if not _QUANTITY.search(example) or re.search(r"\d", rest) or _CJK_COUNT.search(example):
            continue
        found.setdefault(ind.get("section", "other"), []).append(example)
    return found


def _section_names() -> dict[str, str]:
    sections = _load_yaml("sections") or {"sections": []}
    # Headings read "依法行政制度体系", not the taxonomy's glossed "依法行政制度体系（规范性文件、立法）".
    return {
        s["id"]: re.sub(r"（[^）]*）", "", s["name"])
        for s in sections["sections"]
        if s.get("kind") == "content"
    }


def _redraw(rng: random.Random, match: re.Match[str]) -> tuple[str, float]:
    """A new number of the same shape as the matched one; return its surface and its plain value."""
    num = match.group("num")
    if match.group("unit") == "%":
        decimals = len(num.split(".")[1]) if "." in num else 0
        value = round(rng.uniform(60, 100), decimals) if rng.random() < 0.7 else 100
        surface = f"{value:.{decimals}f}" if decimals else str(int(value))
        return surface, float(surface)
    if "." in num:
        decimals = len(num.split(".")[1])
        value = round(rng.uniform(1, 3 * float(num) + 1), decimals)
        surface = f"{value:.{decimals}f}"
        return surface, float(surface)
    surface = str(rng.randint(1, 3 * int(num) + 9))
    return surface, float(surface)


def _plant(rng: random.Random, phrase: str, report: Report, what: str) -> str:
    """Redraw the numbers of a phrase and record each one as a gold number."""
    out: list[str] = []
    pos = 0
    for m in _QUANTITY.finditer(phrase):
        surface, value = _redraw(rng, m)
        scale = {"万": 1e4, "亿": 1e8}.get(m.group("scale") or "", 1)
        written = (
            f"{m.group('pre') or ''}{surface}{m.group('scale') or ''}{m.group('post') or ''}{m.group('unit')}"
        )
        lead = phrase[max(pos, m.start() - 4) : m.start()]
        out.append(phrase[pos : m.start()] + written)
        if m.group("unit") == "个百分点" or _CHANGE_BEFORE.search(phrase[max(0, m.start() - 8) : m.start()]):
            pos = m.end()
            continue
        report.numbers.append(
            {
                "quote": lead + written,
                "value": value * scale,
                "unit": m.group("unit"),
                "approx": m.group("pre") or m.group("post") or None,
                "what": what,
            }
        )
        pos = m.end()
    out.append(phrase[pos:])
    return "".join(out)


_CN = "一二三四五六七八九十"


def make_report(rng: random.Random, i: int, phrases: dict[str, list[str]], names: dict[str, str]) -> Report:
    """Assemble one report with its gold."""
    province, city, county = rng.choice(_PLACES)
    year = rng.randint(2018, 2024)
    kind = rng.choices(("county", "township", "department"), weights=(4, 4, 2))[0]
    gov = f"{city}{county}" if city else f"{province}{county}"
    if kind == "county":
        organ, we = f"{gov}人民政府", "我" + county[-1]
        level = "district" if county.endswith("区") else "county"
        path = [province, city, county]
        addressee = f"{county[-1]}委、{county[-1]}人大常委会"
    elif kind == "township":
        stem = rng.choice(_TOWN_STEMS)
        town = stem + rng.choice(("街道", "镇"))
        organ = f"{gov}{town}办事处" if town.endswith("街道") else f"{gov}{town}人民政府"
        we, level = (
            "我" + town[-2:] if town.endswith("街道") else "我镇",
            "subdistrict" if town.endswith("街道") else "township",
        )
        path = [province, city, county, town]
        addressee = f"{county[-1]}委、{county[-1]}政府"
    else:
        dept = rng.choice(_DEPARTMENTS)
        organ, we, level = f"{gov}{dept}", "我局", "department"
        path = [province, city, county]
        addressee = f"{county[-1]}委、{county[-1]}政府"
    path = [p for p in path if p]
    report = Report(name=f"report-{i:05d}")
    title = rng.choice(_TITLES).format(organ=organ, year=year)
    month, day = rng.randint(1, 3), rng.randint(1, 28)
    report.metadata = {
        "title": title,
        "issuers": [organ],
        "doc_number": None,
        "reference_doc_number": None,
        "addressee": addressee,
        "report_year": year,
        "signed_date": f"{year + 1}-{month:02d}-{day:02d}",
        "region_path": path,
        "level": level,
    }
    lines = [title, f"{addressee}：", _PREAMBLE.format(year=year, we=we)]

    def heading(level_: int, marker: str, text: str, run_in: str = "") -> None:
        report.headings.append({"level": level_, "marker": marker, "text": text})
        lines.append(f"{marker}{text}{'。' + run_in if run_in else ''}")

    heading(1, "一、", f"{year}年推进法治政府建设的主要举措和成效")
    sections = [s for s in names if s in phrases]
    for k, sid in enumerate(rng.sample(sections, k=min(len(sections), rng.randint(4, 7)))):
        heading(2, f"（{_CN[k]}）", names[sid])
        pool = phrases[sid]
        subs = rng.randint(0, 3)
        for j in range(max(subs, 1)):
            sentences = []
            for _ in range(rng.randint(2, 5)):
                if rng.random() < 0.55:
                    sentences.append(_plant(rng, rng.choice(pool), report, sid) + "。")
                else:
                    sentences.append(rng.choice(_FILLER))
            para = "".join(sentences)
            if subs:
                heading(3, f"{j + 1}.", rng.choice(_SUBHEADS), run_in=para)
            else:
                lines.append(para)
    heading(1, "二、", "存在的不足和原因")
    lines.append("".join(rng.sample(_PROBLEMS, k=2)))
    heading(1, "三、", f"{year + 1}年工作安排")
    lines.append("".join(rng.sample(_PLAN, k=2)))
    target = _plant(rng, "力争法律顾问覆盖率达到100%", report, "target") + "。"
    lines.append(target)
    lines.append("特此报告。")
    report.body_end = len(lines)
    lines += [organ, f"{year + 1}年{month}月{day}日"]
    report.lines = lines
    return report


def write_txt(report: Report, path: Path) -> None:
    """Plain text, one paragraph a line."""
    path.write_text("\n".join(report.lines) + "\n", encoding="utf-8")


def write_html(report: Report, path: Path, gov: str) -> None:
    """A portal page: navigation and footer chrome around the report's paragraphs."""
    top = "".join(f"<div class='nav'>{html.escape(t)}</div>" for t in _CHROME_TOP)
    meta = (
        f"<div class='info'>来源：{html.escape(gov)}  发布时间：{report.metadata['signed_date']} 09:00</div>"
    )
    body = "".join(f"<p>{html.escape(line)}</p>" for line in report.lines[1:])
    bottom = "".join(f"<div class='foot'>{html.escape(t.format(gov=gov))}</div>" for t in _CHROME_BOTTOM)
    page = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(report.lines[0])}</title></head>'
        f"<body>{top}<div class='article'><h1>{html.escape(report.lines[0])}</h1>{meta}"
        f"<div class='content'>{body}</div></div>{bottom}</body></html>"
    )
    path.write_text(page, encoding="utf-8")


def write_pdf(report: Report, path: Path) -> None:
    """An A4 PDF set in STSong-Light, paragraphs wrapped at the text width."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle(
        "body", fontName="STSong-Light", fontSize=12, leading=20, firstLineIndent=24, wordWrap="CJK"
    )
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=26, alignment=1, firstLineIndent=0)
    flow = [Paragraph(html.escape(report.lines[0]), title)]
    flow += [Paragraph(html.escape(line), body) for line in report.lines[1:]]
    SimpleDocTemplate(str(path), pagesize=A4, title="", author="").build(flow)


def gold(report: Report, file: str) -> dict[str, Any]:
    """The gold annotation of one report, in the project's gold format."""
    return {
        "file": file,
        "synthetic": True,
        "metadata": report.metadata,
        "heading_policy": "Every numbered heading the generator wrote; run-in headings end at the first 。.",
        "headings": report.headings,
        "number_policy": "Every number the generator planted; dates and years are not numbers.",
        "numbers": report.numbers,
    }


def build(
    out: Path,
    n: int,
    seed: int = 0,
    pdf_share: float = 0.02,
    html_share: float = 0.3,
    pdf_cap: int | None = None,
) -> dict[str, int]:
    """Write N reports into OUT/docs/ and their gold files into OUT/gold/; return the count per format.

    Gold `file` paths are relative to OUT (`extractor eval OUT/gold --root OUT`).
    """
    rng = random.Random(seed)
    phrases, names = _phrases(), _section_names()
    if not phrases or not names:
        raise SystemExit("schemas/indicators.yaml and schemas/sections.yaml are needed to build the corpus")
    docs, golds = out / "docs", out / "gold"
    golds.mkdir(parents=True, exist_ok=True)
    counts = {"txt": 0, "html": 0, "pdf": 0}
    for i in range(n):
        report = make_report(rng, i, phrases, names)
        roll = rng.random()
        fmt = (
            "pdf"
            if roll < pdf_share and (pdf_cap is None or counts["pdf"] < pdf_cap)
            else ("html" if roll < pdf_share + html_share else "txt")
        )
        sub = docs / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"{report.name}.{fmt}"
        if fmt == "pdf":
            write_pdf(report, path)
        elif fmt == "html":
            write_html(report, path, report.metadata["issuers"][0])
        else:
            write_txt(report, path)
        counts[fmt] += 1
        rel = path.relative_to(out).as_posix()
        (golds / f"{report.name}.gold.json").write_text(
            json.dumps(gold(report, rel), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        # The planted text, line by line, to measure how faithfully a loader gets it back.
        (golds / f"{report.name}.planted.txt").write_text("\n".join(report.lines), encoding="utf-8")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pdf-share", type=float, default=0.02)
    parser.add_argument("--html-share", type=float, default=0.3)
    args = parser.parse_args(argv)
    counts = build(args.out, args.n, args.seed, args.pdf_share, args.html_share)
    print(json.dumps(counts), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
