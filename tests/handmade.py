"""Hand-made document records and run folders for the table, export and review tests.

The reports are constructed (invented sub-districts of a real district, invented facts); they
exercise the table code without depending on extraction quality.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from extractor import tables
from extractor.model import Document
from extractor.outputs import RunWriter

# A four-indicator catalog in the shape of schemas/indicators.yaml.
CATALOG: list[dict[str, Any]] = [
    {
        "id": "admin_penalty_cases",
        "name": "行政处罚案件数",
        "unit": "件",
        "kind": "count",
        "section": "law_enforcement",
        "triggers": ["行政处罚案件", "立案查处"],
        "definition": "行政处罚案件数",
    },
    {
        "id": "fines_confiscations_amount",
        "name": "罚没金额",
        "unit": "万元",
        "kind": "money",
        "section": "law_enforcement",
        "triggers": ["罚没款"],
        "definition": "罚没金额",
    },
    {
        "id": "law_exam_pass_rate",
        "name": "学法考试合格率",
        "unit": "%",
        "kind": "rate",
        "section": "leadership_mechanism",
        "triggers": ["合格率"],
        "definition": "学法考试合格率",
    },
    {
        "id": "legal_aid_cases",
        "name": "法律援助案件数",
        "unit": "件",
        "kind": "count",
        "section": "dispute_resolution",
        "triggers": ["法律援助"],
        "definition": "法律援助案件数",
    },
    # 32 characters: the longest id Stata takes as it is; its flag column must be renamed.
    {
        "id": "normative_docs_legality_reviewed",
        "name": "规范性文件合法性审核件数",
        "unit": "件",
        "kind": "count",
        "section": "institutional_system",
        "triggers": ["合法性审核"],
        "definition": "规范性文件合法性审核件数",
    },
]
_BY_ID = {e["id"]: e for e in CATALOG}

TEMPLATE = """重庆市荣昌区{town}街道办事处关于{year}年法治政府建设情况的报告
区政府：
　　{year}年，{town}街道在区委、区政府的领导下，扎实推进法治政府建设。现将有关情况报告如下：
一、主要举措和成效
（一）严格规范公正文明执法。全年办理行政处罚案件{cases}件，罚没款合计{fines}万元。
（二）加强学法培训。组织机关干部参加年度学法考试，考试合格率达{rate}%。
二、存在的不足和原因
部分干部运用法治思维解决问题的能力有待提高。
三、{next}年工作安排
力争学法考试合格率达到100%。
{town}街道办事处
{next}年1月20日
"""


def report(town: str, year: int, cases: str = "120", fines: str = "36.5", rate: str = "98.5") -> str:
    """A short constructed report of an invented sub-district."""
    return TEMPLATE.format(town=town, year=year, next=year + 1, cases=cases, fines=fines, rate=rate)


def _headings(text: str) -> list[dict[str, Any]]:
    out = []
    for m in re.finditer(r"^(一、|二、|三、|（一）|（二）)([^。\n]+)", text, re.M):
        level = 1 if m.group(1).endswith("、") else 2
        section = (
            {"一": "measures", "二": "problems", "三": "next_year_plan"}[m.group(1)[0]]
            if level == 1
            else ("law_enforcement" if "执法" in m.group(2) else "leadership_mechanism")
        )
        out.append(
            {
                "level": level,
                "marker": m.group(1),
                "text": m.group(2),
                "path": m.group(2),
                "section": section,
                "start": m.start(),
                "end": m.end(),
            }
        )
    return out


def fact(
    indicator: str,
    surface: str,
    value: float,
    section: str,
    *,
    is_target: bool = False,
    approx: str = "",
    after: str = "",
) -> dict[str, Any]:
    """One indicator fact to place in a text: `surface` is searched after the text `after`."""
    return {
        "indicator": indicator,
        "surface": surface,
        "value": value,
        "section": section,
        "is_target": is_target,
        "approx": approx,
        "after": after,
    }


def make_doc(
    text: str,
    facts: list[dict[str, Any]],
    *,
    town: str | None,
    year: int | None,
    level: str = "subdistrict",
    source: str = "",
    status: str = "ok",
) -> Document:
    """A processed Document record with spans located in `text`."""
    doc_id = hashlib.sha256(text.encode()).hexdigest()
    region = {
        "province": "重庆市",
        "city": "重庆市",
        "county": "荣昌区",
        "township": f"{town}街道" if town else None,
        "admin_code": None,
    }
    meta: dict[str, Any] = {
        "title": text.splitlines()[0],
        "issuers": [f"{town}街道办事处"] if town else [],
        "report_year": year,
        "level": level,
        "region": region if town else {},
    }
    doc = Document(
        doc_id=doc_id,
        source=source or f"corpora/{town}-{year}.txt",
        format="txt",
        status=status,
        chars=len(text),
        bytes=len(text.encode()),
        metadata=meta,
        text=text,
        headings=_headings(text),
    )
    occurrences: dict[str, int] = {}
    for f in facts:
        start = text.index(f["surface"], text.index(f["after"]) if f["after"] else 0)
        end = start + len(f["surface"])
        entry = _BY_ID[f["indicator"]]
        sentence = text[text.rfind("\n", 0, start) + 1 : text.find("\n", end)]
        mention = {
            "value": f["value"],
            "unit": entry["unit"],
            "unit_norm": entry["unit"],
            "multiplier": 1.0,
            "approx": f["approx"],
            "kind": entry["kind"],
            "surface": f["surface"],
            "start": start,
            "end": end,
            "sentence": sentence,
            "section_path": f["section"],
            "section": f["section"],
            "is_target": f["is_target"],
            "rule": "test.number",
        }
        doc.mentions.append(mention)
        occurrences[f["indicator"]] = occurrences.get(f["indicator"], 0) + 1
        doc.indicators.append(
            {
                "indicator": f["indicator"],
                "name": entry["name"],
                "kind": entry["kind"],
                "occurrence": occurrences[f["indicator"]],
                "value": f["value"],
                "unit": entry["unit"],
                "approx": f["approx"],
                "is_target": f["is_target"],
                "mention_idx": len(doc.mentions) - 1,
                "surface": f["surface"],
                "sentence": sentence,
                "start": start,
                "end": end,
                "section_path": f["section"],
                "section": f["section"],
                "part": "body",
                "trigger": entry["triggers"][0],
                "rule": f"test.{f['indicator']}",
                "confidence": 0.9,
            }
        )
    doc.contact = {"name": "王某", "phone": "023-00000000"}
    return doc


def standard_doc(
    town: str, year: int, cases: int = 120, fines: float = 36.5, rate: float = 98.5, source: str = ""
) -> Document:
    """A report with three actual facts and one target (next year's pass rate)."""
    text = report(town, year, str(cases), f"{fines:g}", f"{rate:g}")
    facts = [
        fact("admin_penalty_cases", f"{cases}件", cases, "law_enforcement"),
        fact("fines_confiscations_amount", f"{fines:g}万元", fines, "law_enforcement"),
        fact("law_exam_pass_rate", f"{rate:g}%", rate, "leadership_mechanism"),
        fact("law_exam_pass_rate", "100%", 100.0, "next_year_plan", is_target=True, after="力争"),
    ]
    return make_doc(text, facts, town=town, year=year, source=source)


def write_run(out: Path, docs: list[Document]) -> Path:
    """Write a run folder from records with the real table writers (no pipeline involved)."""
    writer = RunWriter(out)
    for doc in docs:
        record = doc.to_dict()
        record.pop("contact")
        record.pop("timings")
        writer.add_record(record)
        for table, row in tables.rows(doc):
            writer.add_row(table, row)
    info = {"package_version": "test", "schema_version": "test", "statuses": {}}
    writer.close({"run.json": json.dumps(info)})
    return out
