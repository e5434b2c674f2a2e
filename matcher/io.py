"""Reading a season's tables from any of its formats into text cells with their row numbers.

Every format (UTF-8 or GBK/GB18030 CSV, one .xlsx workbook, Parquet files, one JSON document)
becomes the same thing: per table, a DataFrame of stripped text cells and the row number a person
would look for in that file. Typing and validation happen afterwards, once, for every format.

Row numbers are the rows a spreadsheet shows: the header is row 1 of a CSV file or a sheet, a
blank line still counts as a row, and a quoted CSV cell holding a line break keeps its record on
one row (so the same table saved as CSV and as .xlsx reports the same rows). In JSON and Parquet
the first record is row 1.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.aliases import map_headers, table_file
from matcher.errors import Issue

__all__ = ["TABLE_NAMES", "RawTable", "Reading", "detect_format", "read_json_document",
           "read_tables", "table_label"]

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
    header_row: int | None = 1  # the row holding the column names; None in JSON and Parquet
    complete: bool = True  # False when reading stopped at a broken row: later rows are lost
    columns_known: bool = True  # False for an empty JSON list: no row names the columns


@dataclass(frozen=True)
class Reading:
    """Everything read from a season folder: its tables, the problems met reading them, and the
    tables that are present but could not be read (an issue already says why)."""

    format: str
    tables: dict[str, RawTable]
    issues: list[Issue]
    unreadable: frozenset[str] = frozenset()

    def label(self, name: str) -> str:
        """How an Issue names table `name`'s file in this format."""
        return table_label(self.format, name)


def table_label(fmt: str, name: str) -> str:
    """The file (or sheet, or JSON member) holding table `name` in format `fmt`."""
    return {"xlsx": f"season.xlsx[{name}]", "json": f"season.json[{name}]",
            "parquet": f"{name}.parquet"}.get(fmt, f"{name}.csv")


def detect_format(folder: Path) -> str:
    """Which of the season formats a folder holds: csv, xlsx, parquet or json."""
    if (folder / "season.xlsx").exists():
        return "xlsx"
    if (folder / "season.json").exists():
        return "json"
    if any((folder / f"{t}.parquet").exists() for t in TABLE_NAMES):
        return "parquet"
    return "csv"


def read_tables(folder: Path) -> Reading:
    """Read every table present in the season folder; missing tables are simply absent."""
    fmt = detect_format(folder)
    reader = {"csv": _read_csv_folder, "xlsx": _read_xlsx, "json": _read_json,
              "parquet": _read_parquet}[fmt]
    tables, issues, unreadable = reader(folder)
    tables, renamed = map_headers(tables)  # export headers (学号, 专业, ...) as contract columns
    return Reading(fmt, tables, issues + renamed, frozenset(unreadable))


def cell_text(value: object) -> str:
    """Canonical text of a typed cell (xlsx, Parquet, JSON), so all formats validate alike."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, (list, tuple, np.ndarray)):
        return ";".join(cell_text(v) for v in value)
    if pd.isna(value) is True:  # pd.NA, pd.NaT, numpy NaT: an empty cell
        return ""
    return str(value).strip()


def _frame(file: str, header: list[str], columns: list, n_rows: int,
           header_row: int | None) -> tuple[pd.DataFrame, list[Issue]]:
    """A frame of the named columns; a column named twice is an issue (the first is read)."""
    names = [h.strip().lstrip("\ufeff").strip() for h in header]
    data: dict[str, object] = {}
    twice: list[str] = []
    for name, col in zip(names, columns, strict=True):
        if not name:
            continue
        if name in data:
            if name not in twice:
                twice.append(name)
            continue
        data[name] = col
    issues = [Issue(file, header_row, name,
                    f"column {name!r} appears twice in the header: only the first is read")
              for name in twice]
    return pd.DataFrame(data, index=pd.RangeIndex(n_rows)), issues


def decode_bytes(raw: bytes) -> str:
    """UTF-8 (with or without BOM) first, then GB18030, the superset of GBK that Excel writes."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------

BLANK_HEADER = "is blank: the first row must hold the column names (the header)"


def _read_csv_file(path: Path, name: str) -> tuple[RawTable | None, list[Issue]]:
    file = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Issue(file, None, None, f"cannot be read: {exc.strerror or exc}")]
    try:
        text = decode_bytes(raw)
    except UnicodeDecodeError as exc:
        return None, [Issue(file, None, None,
                            f"cannot be decoded as UTF-8 or GBK/GB18030 ({exc.reason})")]
    if not text.strip():
        return None, [Issue(file, None, None, "is empty: it needs at least a header row")]
    fast = _read_csv_fast(text, name, file)
    if fast is not None:
        return fast
    return _read_csv_slow(text, name, file)


_QUOTED_FIELD = re.compile(r'"[^"]*(?:""[^"]*)*("?)')


def _quotes_are_strict(text: str) -> bool:
    """Whether every quoted cell closes and is followed by a comma or a line break, as the
    strict csv reader wants (pandas would quietly read '"a"b' as 'ab', or run an unclosed quote
    on into the next rows until some later quote closes it)."""
    pos = text.find('"')
    while pos >= 0:
        if pos == 0 or text[pos - 1] in ",\r\n":  # a quote opening a cell
            m = _QUOTED_FIELD.match(text, pos)
            end = m.end()
            if not m.group(1) or (end < len(text) and text[end] not in ",\r\n"):
                return False
            pos = text.find('"', end)
        else:  # a quote inside an unquoted cell is just a character
            pos = text.find('"', pos + 1)
    return True


def _read_csv_fast(text: str, name: str, file: str
                   ) -> tuple[RawTable | None, list[Issue]] | None:
    """pandas' C parser for a well-formed file; None sends anything unusual (a row wider than
    the header, a quote the strict reader would refuse, a blank header) to the exact reader."""
    if not _quotes_are_strict(text):
        return None
    try:
        df = pd.read_csv(io.StringIO(text), header=None, dtype=str, na_filter=False,
                         skip_blank_lines=False, engine="c")
    except (ValueError, pd.errors.EmptyDataError, csv.Error):  # ParserError is a ValueError
        return None
    if df.empty:
        return None
    cols = [df.iloc[:, j].astype(str).str.strip() for j in range(df.shape[1])]
    header = [c.iat[0] for c in cols]
    if not any(header):
        return None
    body = [c.iloc[1:].reset_index(drop=True) for c in cols]
    blank = np.ones(len(df) - 1, dtype=bool)
    for c in body:
        blank &= (c == "").to_numpy()
    keep = np.flatnonzero(~blank)
    rows = (keep + 2).astype(np.int64)
    if blank.any():
        body = [c.iloc[keep].reset_index(drop=True) for c in body]
    frame, issues = _frame(file, header, body, len(keep), 1)
    return RawTable(name, file, frame, rows), issues


def _csv_error(exc: csv.Error) -> str:
    if "unexpected end of data" in str(exc):
        return ("opens a quote (\") that is never closed: the rest of the file would be read as "
                "one cell")
    return f"is not valid CSV: {exc} (check the quotes (\") on this row: one may be unclosed)"


def _read_csv_slow(text: str, name: str, file: str) -> tuple[RawTable | None, list[Issue]]:
    """Record by record with the csv module, strict about quotes, reporting each bad row."""
    issues: list[Issue] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    body: list[list[str]] = []
    rows: list[int] = []
    width = 0
    complete = True
    row = 0
    while True:
        row += 1  # each record is one row, whatever line breaks its quoted cells hold
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            issues.append(Issue(file, row, None, _csv_error(exc)))
            complete = False
            break
        if header is None:
            if not any(c.strip() for c in rec):
                return None, [Issue(file, 1, None, BLANK_HEADER)]
            header, width = rec, len(rec)
            continue
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) > width and any(c.strip() for c in rec[width:]):
            issues.append(Issue(file, row, None,
                                f"has {len(rec)} cells but the header has {width}"))
            continue
        body.append([c.strip() for c in rec])
        rows.append(row)
    if header is None:  # the header itself is broken
        return None, issues
    columns = [[r[i] if i < len(r) else "" for r in body] for i in range(width)]
    frame, found = _frame(file, header, columns, len(body), 1)
    table = RawTable(name, file, frame, np.asarray(rows, dtype=np.int64), complete=complete)
    return table, issues + found


def _read_csv_folder(folder: Path) -> tuple[dict[str, RawTable], list[Issue], set[str]]:
    tables: dict[str, RawTable] = {}
    issues: list[Issue] = []
    unreadable: set[str] = set()
    present = [p.name for p in folder.glob("*.csv")]
    for name in TABLE_NAMES:
        found_name = table_file(present, name, ".csv")  # students.csv, else e.g. 学生.csv
        if found_name is None:
            continue
        path = folder / found_name
        table, found = _read_csv_file(path, name)
        issues += found
        if table is not None:
            tables[name] = table
        else:
            unreadable.add(name)
    return tables, issues, unreadable


# ---------------------------------------------------------------------------------------------
# Typed formats: xlsx, JSON, Parquet
# ---------------------------------------------------------------------------------------------


def _typed_table(name: str, file: str, records: list[list[object]], header: list[object],
                 rows: list[int], header_row: int | None) -> tuple[RawTable, list[Issue]]:
    head = [cell_text(h) for h in header]
    columns = [[cell_text(rec[i]) if i < len(rec) else "" for rec in records]
               for i in range(len(head))]
    frame, issues = _frame(file, head, columns, len(records), header_row)
    return RawTable(name, file, frame, np.asarray(rows, dtype=np.int64), header_row), issues


def _read_xlsx(folder: Path) -> tuple[dict[str, RawTable], list[Issue], set[str]]:
    from openpyxl import load_workbook

    path = folder / "season.xlsx"
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        return {}, [Issue(path.name, None, None,
                          f"cannot be opened as an Excel workbook: {exc}")], set(TABLE_NAMES)
    tables: dict[str, RawTable] = {}
    issues: list[Issue] = []
    unreadable: set[str] = set()
    try:
        for name in TABLE_NAMES:
            sheet = table_file(wb.sheetnames, name)  # the sheet 'students', else e.g. '学生'
            if sheet is None:
                continue
            file = f"{path.name}[{sheet}]"
            try:
                table, found = _read_sheet(wb[sheet], name, file)
            except Exception as exc:  # a chart sheet, a damaged sheet
                table, found = None, [Issue(file, None, None, f"cannot be read: {exc}")]
            issues += found
            if table is None:
                unreadable.add(name)
            else:
                tables[name] = table
    finally:
        wb.close()
    return tables, issues, unreadable


def _read_sheet(ws, name: str, file: str) -> tuple[RawTable | None, list[Issue]]:
    it = ws.iter_rows(values_only=True)
    header = next(it, None)
    if header is None:
        return None, [Issue(file, None, None, "is empty: it needs at least a header row")]
    if all(not cell_text(h) for h in header):
        return None, [Issue(file, 1, None, BLANK_HEADER)]
    records, rows = [], []
    for i, rec in enumerate(it, start=2):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in rec):
            continue
        records.append(list(rec))
        rows.append(i)
    return _typed_table(name, file, records, list(header), rows, 1)


def _read_json(folder: Path) -> tuple[dict[str, RawTable], list[Issue], set[str]]:
    path = folder / "season.json"
    everything = set(TABLE_NAMES)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return {}, [Issue(path.name, None, None,
                          f"cannot be read: {exc.strerror or exc}")], everything
    try:
        doc = json.loads(decode_bytes(raw))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, ...
        return {}, [Issue(path.name, None, None, f"is not valid JSON: {exc}")], everything
    return _json_tables(doc, path.name)


def read_json_document(doc: object) -> Reading:
    """The tables of an already-parsed season.json document (the portal's payload): the same
    checks as a season.json file, and nothing read from disk."""
    tables, issues, unreadable = _json_tables(doc, "season.json")
    tables, renamed = map_headers(tables)
    return Reading("json", tables, issues + renamed, frozenset(unreadable))


def _json_tables(doc: object, label: str) -> tuple[dict[str, RawTable], list[Issue], set[str]]:
    everything = set(TABLE_NAMES)
    if not isinstance(doc, dict):
        return {}, [Issue(label, None, None,
                          "must be an object mapping table names to rows")], everything
    tables: dict[str, RawTable] = {}
    issues: list[Issue] = []
    unreadable: set[str] = set()
    for name in TABLE_NAMES:
        if name not in doc:
            continue
        rows_in = doc[name]
        file = f"{label}[{name}]"
        if not isinstance(rows_in, list):
            issues.append(Issue(file, None, None, "must be a list of row objects"))
            unreadable.add(name)
            continue
        if not rows_in:  # the JSON way of a file with only its header
            tables[name] = RawTable(name, file, pd.DataFrame(index=pd.RangeIndex(0)),
                                    np.zeros(0, dtype=np.int64), None, columns_known=False)
            continue
        header: dict[str, None] = {}
        for rec in rows_in:
            if isinstance(rec, dict):
                header.update(dict.fromkeys(rec))
        records, rows = [], []
        for i, rec in enumerate(rows_in, start=1):
            if not isinstance(rec, dict):
                issues.append(Issue(file, i, None, "is not an object of column: value"))
                continue
            records.append([rec.get(h) for h in header])
            rows.append(i)
        table, found = _typed_table(name, file, records, list(header), rows, None)
        tables[name] = table
        issues += found
    return tables, issues, unreadable


def _column_text(s: pd.Series) -> pd.Series:
    """Canonical text (as `cell_text` gives) of one typed Parquet column, vectorised for the
    usual types; empty cells (null, NaN, pd.NA) become ''."""
    dtype = s.dtype
    na = s.isna().to_numpy()
    fast = _plain_text(s, na)
    if fast is not None:
        return fast
    if pd.api.types.is_bool_dtype(dtype):
        vals = s.to_numpy(dtype=bool, na_value=False)
        text = np.where(vals, "true", "false").astype(object)
    elif pd.api.types.is_integer_dtype(dtype):
        numpy_dtype = getattr(dtype, "numpy_dtype", dtype)  # Int64 -> int64
        text = s.to_numpy(dtype=numpy_dtype, na_value=0).astype(str).astype(object)
    elif pd.api.types.is_float_dtype(dtype):
        vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(vals)
        with np.errstate(invalid="ignore"):
            integral = finite & (vals == np.floor(vals))
            small = integral & (np.abs(vals) < 2.0**63)
        text = np.full(len(vals), "", dtype=object)
        text[small] = vals[small].astype(np.int64).astype(str)
        text[integral & ~small] = [cell_text(v) for v in vals[integral & ~small]]
        text[finite & ~integral] = vals[finite & ~integral].astype(str)  # numpy's text is repr's
        inf = np.isinf(vals)
        text[inf] = np.where(vals[inf] > 0, "inf", "-inf")
    elif pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        text = s.astype(object).where(~na, "").astype(str).str.strip().to_numpy(dtype=object)
    else:
        text = np.array([cell_text(v) for v in s.tolist()], dtype=object)
    if na.any():
        text = np.where(na, "", text).astype(object)
    return pd.Series(text, dtype=object, index=pd.RangeIndex(len(s)))


def _plain_text(s: pd.Series, na: np.ndarray) -> pd.Series | None:
    """The same text as `_column_text` for a column of whole numbers or of text with no empty
    cell, made by Arrow (the large columns of a province season); None for anything else."""
    dtype = s.dtype
    if na.any() or pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_integer_dtype(dtype):
        import pyarrow as pa

        numpy_dtype = getattr(dtype, "numpy_dtype", dtype)
        text = pa.array(s.to_numpy(dtype=numpy_dtype)).cast(pa.string())
    elif pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return s.astype(str).str.strip().reset_index(drop=True)
    else:
        return None
    return pd.Series(text, dtype=pd.StringDtype("pyarrow", na_value=np.nan),
                     index=pd.RangeIndex(len(s)))


def _read_parquet(folder: Path) -> tuple[dict[str, RawTable], list[Issue], set[str]]:
    tables: dict[str, RawTable] = {}
    issues: list[Issue] = []
    unreadable: set[str] = set()
    for name in TABLE_NAMES:
        path = folder / f"{name}.parquet"
        if not path.exists():
            continue
        try:
            df = pd.read_parquet(path)
            columns = [_column_text(df.iloc[:, j]) for j in range(df.shape[1])]
        except Exception as exc:  # pyarrow raises several kinds for a damaged file
            issues.append(Issue(path.name, None, None, f"cannot be read as Parquet: {exc}"))
            unreadable.add(name)
            continue
        frame, found = _frame(path.name, [str(c) for c in df.columns], columns, len(df), None)
        issues += found
        tables[name] = RawTable(name, path.name, frame,
                                np.arange(1, len(df) + 1, dtype=np.int64), None)
    return tables, issues, unreadable
