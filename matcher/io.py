"""Reading a season's tables from any of its formats into text cells with their row numbers.

Every format (UTF-8 or GBK/GB18030 CSV, one .xlsx workbook, Parquet files, one JSON document)
becomes the same thing: per table, a DataFrame of stripped text cells and the row number a person
would look for in that file. Typing and validation happen afterwards, once, for every format.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.errors import Issue

__all__ = ["TABLE_NAMES", "RawTable", "detect_format", "read_tables"]

TABLE_NAMES = (
    "schools",
    "parks",
    "enterprises",
    "students",
    "slots",
    "funds",
    "preferences",
    "rankings",
)


@dataclass(frozen=True)
class RawTable:
    """One table as read: text cells, the file it came from and each row's number in it."""

    name: str
    file: str
    frame: pd.DataFrame
    rows: np.ndarray  # row number of each data row, as a person sees it in `file`


def detect_format(folder: Path) -> str:
    """Which of the season formats a folder holds: csv, xlsx, parquet or json."""
    if (folder / "season.xlsx").exists():
        return "xlsx"
    if (folder / "season.json").exists():
        return "json"
    if any((folder / f"{t}.parquet").exists() for t in TABLE_NAMES):
        return "parquet"
    return "csv"


def read_tables(folder: Path) -> tuple[dict[str, RawTable], list[Issue]]:
    """Read every table present in the season folder; missing tables are simply absent."""
    fmt = detect_format(folder)
    reader = {"csv": _read_csv_folder, "xlsx": _read_xlsx, "json": _read_json,
              "parquet": _read_parquet}[fmt]
    return reader(folder)


def cell_text(value: object) -> str:
    """Canonical text of a typed cell (xlsx, Parquet, JSON), so all formats validate alike."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, (list, tuple)):
        return ";".join(cell_text(v) for v in value)
    return str(value).strip()


def _frame(header: list[str], body: list[list[str]]) -> pd.DataFrame:
    cols = [h.strip().lstrip("\ufeff") for h in header]
    data = {c: [r[i] if i < len(r) else "" for r in body] for i, c in enumerate(cols) if c}
    return pd.DataFrame(data, dtype=object, index=pd.RangeIndex(len(body)))


def decode_bytes(raw: bytes) -> str:
    """UTF-8 (with or without BOM) first, then GB18030, the superset of GBK that Excel writes."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _read_csv_file(path: Path, name: str) -> tuple[RawTable | None, list[Issue]]:
    issues: list[Issue] = []
    try:
        text = decode_bytes(path.read_bytes())
    except UnicodeDecodeError as exc:
        return None, [Issue(path.name, None, None,
                            f"cannot be decoded as UTF-8 or GBK/GB18030 ({exc.reason})")]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return None, [Issue(path.name, None, None, "is empty: it needs at least a header row")]
    except csv.Error as exc:
        return None, [Issue(path.name, 1, None, f"is not valid CSV: {exc}")]
    body: list[list[str]] = []
    rows: list[int] = []
    width = len(header)
    try:
        for rec in reader:
            if not rec or all(not c.strip() for c in rec):
                continue
            line = reader.line_num
            if len(rec) > width and any(c.strip() for c in rec[width:]):
                issues.append(Issue(path.name, line, None,
                                    f"has {len(rec)} cells but the header has {width}"))
                continue
            body.append([c.strip() for c in rec])
            rows.append(line)
    except csv.Error as exc:
        issues.append(Issue(path.name, reader.line_num, None, f"is not valid CSV: {exc}"))
    frame = _frame(header, body)
    return RawTable(name, path.name, frame, np.asarray(rows, dtype=np.int64)), issues


def _read_csv_folder(folder: Path) -> tuple[dict[str, RawTable], list[Issue]]:
    tables: dict[str, RawTable] = {}
    issues: list[Issue] = []
    for name in TABLE_NAMES:
        path = folder / f"{name}.csv"
        if not path.exists():
            continue
        table, found = _read_csv_file(path, name)
        issues += found
        if table is not None:
            tables[name] = table
    return tables, issues


def _typed_table(name: str, file: str, records: list[list[object]], header: list[object],
                 rows: list[int]) -> RawTable:
    head = [cell_text(h) for h in header]
    body = [[cell_text(v) for v in rec] for rec in records]
    return RawTable(name, file, _frame(head, body), np.asarray(rows, dtype=np.int64))


def _read_xlsx(folder: Path) -> tuple[dict[str, RawTable], list[Issue]]:
    from openpyxl import load_workbook

    path = folder / "season.xlsx"
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        return {}, [Issue(path.name, None, None, f"cannot be opened as an Excel workbook: {exc}")]
    tables: dict[str, RawTable] = {}
    try:
        for name in TABLE_NAMES:
            if name not in wb.sheetnames:
                continue
            it = wb[name].iter_rows(values_only=True)
            header = next(it, None)
            if header is None:
                continue
            records, rows = [], []
            for i, rec in enumerate(it, start=2):
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in rec):
                    continue
                records.append(list(rec))
                rows.append(i)
            tables[name] = _typed_table(name, f"{path.name}[{name}]", records, list(header), rows)
    finally:
        wb.close()
    return tables, []


def _read_json(folder: Path) -> tuple[dict[str, RawTable], list[Issue]]:
    path = folder / "season.json"
    try:
        doc = json.loads(decode_bytes(path.read_bytes()))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return {}, [Issue(path.name, None, None, f"is not valid JSON: {exc}")]
    if not isinstance(doc, dict):
        return {}, [Issue(path.name, None, None, "must be an object mapping table names to rows")]
    tables: dict[str, RawTable] = {}
    issues: list[Issue] = []
    for name in TABLE_NAMES:
        if name not in doc:
            continue
        rows_in = doc[name]
        file = f"{path.name}[{name}]"
        if not isinstance(rows_in, list):
            issues.append(Issue(file, None, None, "must be a list of row objects"))
            continue
        header: list[str] = []
        for rec in rows_in:
            if isinstance(rec, dict):
                header += [k for k in rec if k not in header]
        records, rows = [], []
        for i, rec in enumerate(rows_in, start=1):
            if not isinstance(rec, dict):
                issues.append(Issue(file, i, None, "is not an object of column: value"))
                continue
            records.append([rec.get(h) for h in header])
            rows.append(i)
        tables[name] = _typed_table(name, file, records, list(header), rows)
    return tables, issues


def _read_parquet(folder: Path) -> tuple[dict[str, RawTable], list[Issue]]:
    tables: dict[str, RawTable] = {}
    issues: list[Issue] = []
    for name in TABLE_NAMES:
        path = folder / f"{name}.parquet"
        if not path.exists():
            continue
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several kinds for a damaged file
            issues.append(Issue(path.name, None, None, f"cannot be read as Parquet: {exc}"))
            continue
        text = pd.DataFrame(
            {str(c): [cell_text(v) for v in df[c].tolist()] for c in df.columns}, dtype=object
        )
        tables[name] = RawTable(name, path.name, text, np.arange(1, len(df) + 1, dtype=np.int64))
    return tables, issues
