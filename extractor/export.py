"""Exports of a run's tables: CSV, Parquet, Excel, Stata and DuckDB, each stamped with its versions.

Every format holds the same tables with the same values (the tests read each one back):
documents, headings, mentions, indicators, panel, panel_values, plus the codebook. What each
format adds:

- csv: one file per table (`--bom` for Excel), and `export.json` beside them with the versions;
- parquet: one file per table, the versions in the file metadata under the key `extractor`;
- xlsx: one sheet per table (continued on `name (2)`… past 1,048,575 rows), cells over 32,767
  characters cut with a marker, a `codebook` and an `indicator_catalog` sheet, and an `about`
  sheet with the versions and every cut;
- dta: one Stata 118 file per table, variable labels from the codebook, the versions as data label,
  names of at most 32 characters (mapping in `stata_names.csv` and in the codebook);
- duckdb: one database with every table, the codebook, a `meta` table and the
  `indicator_values` view.

Contact details (personal data) are left out unless asked for with `with_contact`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from extractor import __version__

FORMATS = ("csv", "parquet", "xlsx", "dta", "duckdb")
DATA_TABLES = ("documents", "headings", "mentions", "indicators", "panel", "panel_values")

# Excel's hard limits: rows per sheet (the header takes one) and characters per cell.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CHARS = 32_767
TRUNCATION_MARK = "…[truncated]"

# Stata: names of at most 32 characters, labels of at most 80, and words it reserves.
STATA_NAME_MAX = 32
STATA_LABEL_MAX = 80
STATA_STR_MAX = 2045  # bytes; longer strings go to strL
STATA_RESERVED = frozenset(
    (  # noqa: SIM905
        "NULL _N _all _b _coef _cons _n _pi _pred _rc _se _skip aggregate array boolean break byte case "
        "catch class colvector complex const continue default delegate delete do double else eltypedef end "
        "enum explicit export external float for friend function global goto if in inline int local long "
        "pragma protected quad rowvector short strL typedef typename using virtual with"
    ).split()
)


# --- reading a run -------------------------------------------------------------------------------


def conform(frame: Any, columns: list[tuple[str, str]]) -> Any:
    """Give a frame's known columns their fixed dtypes: object strings (None when empty), Int64, float64, boolean."""
    import pandas as pd

    frame = frame.copy()
    for col, kind in columns:
        if col not in frame.columns:
            frame[col] = None
        if kind == "string":
            values = frame[col].astype("object")
            frame[col] = values.where(values.notna(), None)
        elif kind == "int64":
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
        elif kind == "float64":
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        elif kind == "bool":
            frame[col] = frame[col].astype("boolean")
    known = [c for c, _ in columns]
    return frame[known + [c for c in frame.columns if c not in known]]


def run_tables(out: Path, with_contact: bool = False) -> Iterator[tuple[str, Any]]:
    """Yield (table name, DataFrame) for every exported table of a run folder, one at a time."""
    import pandas as pd

    from extractor.codebook import EXPORT_TABLES, all_tables, codebook_rows, indicator_rows
    from extractor.panel import build_panel_from_run

    specs = all_tables(with_contact=True)
    built: tuple[Any, Any] | None = None
    for table in DATA_TABLES:
        path = out / f"{table}.parquet"
        if path.is_file():
            frame = pd.read_parquet(path)
        elif table in ("panel", "panel_values") and (out / "documents.jsonl").is_file():
            # A run older than the panel: build it in memory, leaving the run folder as it was.
            built = built or build_panel_from_run(out)
            frame = built[0] if table == "panel" else built[1]
        else:
            raise FileNotFoundError(f"{path} is missing: is {out} the output folder of `extractor run`?")
        # The panel keeps the indicator columns it was built with (the catalog may have changed since).
        spec = panel_spec(list(frame.columns)) if table == "panel" else specs[table]
        yield table, conform(frame, spec)
    if with_contact:
        yield "contact", conform(pd.DataFrame(contact_rows(out)), EXPORT_TABLES["contact"])
    yield "codebook", conform(pd.DataFrame(codebook_rows(with_contact)), EXPORT_TABLES["codebook"])
    yield "indicator_catalog", conform(pd.DataFrame(indicator_rows()), EXPORT_TABLES["indicator_catalog"])


def panel_spec(columns: list[str]) -> list[tuple[str, str]]:
    """(column, type) pairs of a panel file: the fixed columns, then values (float) and flags (text)."""
    from extractor.panel import FLAG_SUFFIX, PANEL_COLUMNS

    fixed = dict(PANEL_COLUMNS)
    return [(c, fixed.get(c) or ("string" if c.endswith(FLAG_SUFFIX) else "float64")) for c in columns]


def contacts(out: Path) -> dict[str, dict[str, Any]]:
    """Contact details of the run's documents by doc_id, read from the run's cache (the tables never hold them)."""
    from extractor.panel import iter_records

    wanted = {r.get("doc_id") for r in iter_records(out / "documents.jsonl")}
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((out / ".cache").glob("*/*.json.gz")):
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                record = json.load(fh)
        except (OSError, EOFError, ValueError):
            continue
        doc_id = record.get("doc_id")
        if doc_id in wanted and record.get("contact") and doc_id not in found:
            found[doc_id] = record["contact"]
    return found


def contact_rows(out: Path) -> list[dict[str, Any]]:
    """Rows of the `contact` table (exported only with --with-contact)."""
    from extractor.panel import iter_records

    sources: dict[str, str] = {}
    for r in iter_records(out / "documents.jsonl"):
        sources.setdefault(r.get("doc_id"), r.get("source"))
    found = contacts(out)
    return [
        {
            "doc_id": d,
            "source": sources[d],
            "contact": json.dumps(found[d], ensure_ascii=False, sort_keys=True),
        }
        for d in sorted(found)
    ]


def versions(out: Path, with_contact: bool) -> dict[str, str]:
    """What every export records about itself: package, schema and catalog versions, time, source run."""
    from extractor.codebook import columns_doc
    from extractor.rules import rules_fingerprint, schema_version

    info = {
        "package_version": __version__,
        "schema_version": schema_version(),
        "columns_version": str(columns_doc()["version"]),
        "catalog_version": _catalog_version(),
        "rules_fingerprint": rules_fingerprint(),
        "exported_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "run_folder": str(out),
        "with_contact": str(with_contact).lower(),
    }
    try:
        run = json.loads((out / "run.json").read_text(encoding="utf-8"))
        info["run_package_version"] = str(run.get("package_version", ""))
        info["run_schema_version"] = str(run.get("schema_version", ""))
    except (OSError, ValueError):
        pass
    return info


def _catalog_version() -> str:
    from extractor.rules import load_schema_yaml, schemas_dir

    if not (schemas_dir() / "indicators.yaml").is_file():
        return ""
    data = load_schema_yaml("indicators")
    return str(data.get("version", "")) if isinstance(data, dict) else ""


# --- Stata names ---------------------------------------------------------------------------------


def stata_name(name: str) -> str:
    """A valid Stata variable name for a column, deterministically (same column, same name)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "_"
    if base[0].isdigit():
        base = "_" + base
    if base in STATA_RESERVED or re.fullmatch(r"str\d+", base):
        base += "_"
    if len(base) > STATA_NAME_MAX and base.endswith("__flag"):
        # A panel flag column: `<indicator>_f` still reads as the indicator's flag.
        base = base[: -len("__flag")] + "_f"
    if len(base) > STATA_NAME_MAX:
        # Keep the readable head and make it unique with a short hash of the full name.
        base = base[: STATA_NAME_MAX - 6] + "_" + hashlib.sha1(name.encode()).hexdigest()[:5]
    return base


def stata_names(columns: Sequence[str]) -> dict[str, str]:
    """Stata names for the columns of one table, unique within it."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = stata_name(col)
        n = 0
        while name.lower() in used:  # Stata names are case-sensitive, but keep them distinct for users
            n += 1
            name = name[: STATA_NAME_MAX - len(str(n)) - 1] + "_" + str(n)
        used.add(name.lower())
        names[col] = name
    return names


# --- writers --------------------------------------------------------------------------------------


def _spec(table: str, frame: Any) -> list[tuple[str, str]] | None:
    """The fixed (column, type) pairs of a table when the frame has exactly those columns."""
    from extractor.codebook import all_tables

    cols = list(frame.columns)
    spec = panel_spec(cols) if table == "panel" else all_tables(with_contact=True).get(table)
    return spec if spec and [c for c, _ in spec] == cols else None


def write_csv(dest: Path, table: str, frame: Any, bom: bool) -> Path:
    """One table as CSV (UTF-8, with a BOM when asked)."""
    path = dest / f"{table}.csv"
    frame.to_csv(path, index=False, encoding="utf-8-sig" if bom else "utf-8")
    return path


def write_parquet(dest: Path, table: str, frame: Any, meta: dict[str, str]) -> Path:
    """One table as Parquet, the versions in the file metadata under the key `extractor`."""
    from extractor.panel import frame_to_parquet

    path = dest / f"{table}.parquet"
    frame_to_parquet(frame, path, _spec(table, frame), {"extractor": json.dumps(meta, ensure_ascii=False)})
    return path


def write_dta(dest: Path, table: str, frame: Any, meta: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """One table as a Stata 118 file with variable labels; returns the path and the name mapping."""
    from extractor.codebook import describe

    names = stata_names(list(frame.columns))
    data = frame.rename(columns=names)
    for col in data.columns:
        if str(data[col].dtype) == "boolean":
            # Stata has no boolean: 1/0, missing stays missing.
            data[col] = data[col].astype("Float64").astype("float64")
        elif data[col].dtype == object:
            # Stata's missing string is the empty string (and an all-missing column must still be text).
            data[col] = data[col].where(data[col].notna(), "").astype(str)
    labels = {}
    for col, name in names.items():
        desc = describe(table, col)
        label = desc if name == col else f"{col}: {desc}"
        labels[name] = _cut(label, STATA_LABEL_MAX)
    strl = [
        name
        for name in data.columns
        if data[name].dtype == object
        and data[name].map(lambda v: len(str(v).encode()) if v else 0).max() > STATA_STR_MAX
    ]
    label = _cut(
        f"extractor {meta['package_version']} schema {meta['schema_version']}: {table}", STATA_LABEL_MAX
    )
    path = dest / f"{table}.dta"
    data.to_stata(
        path, write_index=False, version=118, variable_labels=labels, data_label=label, convert_strl=strl
    )
    return path, names


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ExcelWriter:
    """Streams tables into one workbook, minding Excel's row and cell limits."""

    def __init__(self, path: Path) -> None:
        from openpyxl import Workbook

        self.path = path
        self.book = Workbook(write_only=True)
        self.notes: list[tuple[str, str]] = []

    def _cell(self, sheet: Any, value: Any, where: dict[str, int]) -> Any:
        from openpyxl.cell import WriteOnlyCell

        if value is None or value is _NA or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, str):
            text = _ILLEGAL_XML.sub("\ufffd", value)  # control characters are not allowed in XML
            if len(text) > EXCEL_MAX_CHARS:
                text = text[: EXCEL_MAX_CHARS - len(TRUNCATION_MARK)] + TRUNCATION_MARK
                where["cut"] += 1
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"  # text, never a formula, whatever it starts with
            return cell
        if hasattr(value, "item"):  # numpy scalars
            value = value.item()
        return value

    def add(self, table: str, frame: Any) -> None:
        """Add one table as one sheet, continued on further sheets past the row limit."""
        from openpyxl.styles import Font

        per_sheet = EXCEL_MAX_ROWS - 1
        chunks = max(1, -(-len(frame) // per_sheet))
        cut = {"cut": 0}
        for k in range(chunks):
            name = table[:31] if k == 0 else f"{table[:26]} ({k + 1})"
            sheet = self.book.create_sheet(name)
            sheet.freeze_panes = "A2"
            header = []
            for col in frame.columns:
                from openpyxl.cell import WriteOnlyCell

                cell = WriteOnlyCell(sheet, value=str(col))
                cell.font = Font(bold=True)
                header.append(cell)
            sheet.append(header)
            part = frame.iloc[k * per_sheet : (k + 1) * per_sheet]
            for row in part.itertuples(index=False, name=None):
                sheet.append([self._cell(sheet, v, cut) for v in row])
        if chunks > 1:
            self.notes.append(
                (f"split:{table}", f"{len(frame)} rows over {chunks} sheets of at most {per_sheet} rows")
            )
        if cut["cut"]:
            self.notes.append(
                (
                    f"truncated:{table}",
                    f"{cut['cut']} cell(s) longer than {EXCEL_MAX_CHARS} characters cut, "
                    f"ending with {TRUNCATION_MARK}; the CSV and Parquet exports hold the full text",
                )
            )

    def close(self, meta: dict[str, str]) -> Path:
        """Write the `about` sheet and save the workbook."""
        sheet = self.book.create_sheet("about")
        sheet.append(["key", "value"])
        for key, value in [*meta.items(), *self.notes]:
            sheet.append([key, value])
        self.book.save(self.path)
        return self.path


try:  # pandas' missing-value marker, compared by identity in the Excel writer
    from pandas import NA as _NA
except ImportError:  # pragma: no cover - pandas is a dependency
    _NA = object()


def write_duckdb(path: Path, tables: dict[str, Any], meta: dict[str, str]) -> Path:
    """Every table into one DuckDB file, plus `meta` and the views."""
    import duckdb
    import pyarrow as pa

    from extractor.panel import arrow_schema, create_views

    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        for table, frame in tables.items():
            spec = _spec(table, frame)
            schema = arrow_schema(spec) if spec else None
            arrow = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
            con.register("_incoming", arrow)
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM _incoming')
            con.unregister("_incoming")
        con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
        con.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        create_views(con)
    finally:
        con.close()
    return path


# --- the command ----------------------------------------------------------------------------------


def export(
    out: str | Path,
    formats: Sequence[str],
    dest: str | Path | None = None,
    bom: bool = False,
    with_contact: bool = False,
) -> dict[str, list[Path]]:
    """Export a run folder's tables in the given formats into `dest` (default OUT/export)."""
    out = Path(out)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown export format(s): {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    if not (out / "documents.jsonl").is_file():
        raise FileNotFoundError(f"{out} is not the output folder of `extractor run` (no documents.jsonl)")
    dest = Path(dest) if dest else out / "export"
    dest.mkdir(parents=True, exist_ok=True)
    meta = versions(out, with_contact)
    written: dict[str, list[Path]] = {f: [] for f in dict.fromkeys(formats)}
    excel = ExcelWriter(dest / "extractor.xlsx") if "xlsx" in written else None
    kept: dict[str, Any] = {}
    counts: dict[str, int] = {}
    names_rows: list[dict[str, str]] = []
    for table, frame in run_tables(out, with_contact):
        counts[table] = len(frame)
        if "csv" in written:
            written["csv"].append(write_csv(dest, table, frame, bom))
        if "parquet" in written:
            written["parquet"].append(write_parquet(dest, table, frame, meta))
        if "dta" in written and table not in ("codebook", "indicator_catalog"):
            path, names = write_dta(dest, table, frame, meta)
            written["dta"].append(path)
            names_rows += [{"table": table, "column": c, "stata_name": n} for c, n in names.items()]
        if excel is not None:
            excel.add(table, frame)
        if "duckdb" in written:
            kept[table] = frame
    meta_rows = {**meta, "tables": json.dumps(counts)}
    if excel is not None:
        written["xlsx"].append(excel.close(meta_rows))
    if "dta" in written:
        import pandas as pd

        path = dest / "stata_names.csv"
        pd.DataFrame(names_rows, columns=["table", "column", "stata_name"]).to_csv(path, index=False)
        written["dta"].append(path)
    if "duckdb" in written:
        written["duckdb"].append(write_duckdb(dest / "extractor.duckdb", kept, meta_rows))
    if "csv" in written:
        sidecar = dest / "export.json"
        sidecar.write_text(
            json.dumps(
                {**meta, "tables": counts, "encoding": "utf-8-sig" if bom else "utf-8"},
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        written["csv"].append(sidecar)
    return written


def cli_export(args: argparse.Namespace) -> int:
    """`extractor export OUT --format ... [--dest] [--bom] [--with-contact]`."""
    written = export(args.out, args.format, args.dest, bom=args.bom, with_contact=args.with_contact)
    for fmt, paths in written.items():
        print(f"{fmt}: {len(paths)} file(s) in {paths[0].parent if paths else '-'}")
    return 0
