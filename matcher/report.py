"""The coordinator's Excel workbook (issue 6), and writing every report format atomically.

Sheets, in Chinese by default (`lang="en"` for English): 概览 summary, 安置名单 assignments
with names joined in, 补贴台账 ledger (clause and fund on every line), 未安置 unplaced with
reasons, 园区×专业 / 学校×专业 / 县区 counts as Chenzhou §3 and §26 ask, 资金使用 per fund.
Each sheet: a title and a note citing its clause, a bold frozen header row with an autofilter,
money as `#,##0.00`, shares as percentages, and widths from the content (CJK counts double).
A report file appears complete or not at all: it is written beside its place and renamed.
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from matcher import labels
from matcher.report_data import COUNT_COLUMNS, ReportData, localised

__all__ = ["FORMATS", "HEADER_ROW", "SHEET_ORDER", "display_width", "summary_rows",
           "write_reports", "write_workbook"]

FORMATS = ("xlsx", "html", "all")
SHEET_ORDER = ("summary", "assignments", "ledger", "unplaced", "park_major", "school_major",
               "county", "funds")
HEADER_ROW = 3  # row 1: title, row 2: the note citing the clause, row 3: column headers
MONEY = "#,##0.00"
PERCENT = "0.0%"
WHOLE = "#,##0"
_FORMATS = {**{c: MONEY for c in ("subsidy", "amount", "budget", "spend", "remaining")},
            **{c: PERCENT for c in ("use", "local_share")},
            **{c: WHOLE for c in (*COUNT_COLUMNS, "students", "graduating", "hosted")}}
_TOTALLED = ("park_major", "school_major", "county", "funds")
_WIDTH_ROWS = 20_000  # widths are measured on the first rows of a very long sheet
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_NOTE = Font(italic=True, color="555555")
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")


def write_reports(data: ReportData, folder: str | Path, fmt: str = "xlsx",
                  lang: str = "zh") -> list[Path]:
    """Write `report.xlsx` (xlsx), the summary page (html: summary.html, summary.md and chart
    PNGs) or both (all) into the result folder; returns the files written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; known: {', '.join(FORMATS)}")
    if lang not in labels.LANGS:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(labels.LANGS)}")
    folder = Path(folder)
    written: list[Path] = []
    if fmt in ("xlsx", "all"):
        written.append(write_workbook(data, folder / "report.xlsx", lang))
    if fmt in ("html", "all"):
        from matcher.summary import write_summary

        written += write_summary(data, folder, lang)
    return written


def write_workbook(data: ReportData, path: str | Path, lang: str = "zh") -> Path:
    """Write the workbook to `path` atomically (a temporary file renamed into place)."""
    path = Path(path)
    wb = Workbook(write_only=True)
    for key in SHEET_ORDER:
        formats = None
        if key == "summary":
            rows = summary_rows(data, lang)
            table = pd.DataFrame([r[:2] for r in rows], columns=["metric", "value"])
            formats = [[None, r[2]] for r in rows]
        else:
            table = getattr(data, key)
        total = data.total(key) if key in _TOTALLED else None
        _write_sheet(wb, key, table, data.season, lang, total, formats)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")  # same folder: rename
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        for ws in wb.worksheets:  # finish the sheets' streams, or they complain when collected
            with contextlib.suppress(Exception):
                ws.close()
        raise
    return path


def display_width(text: str) -> int:
    """Columns a text takes on screen: wide (CJK) and full-width characters count double."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _write_sheet(wb: Workbook, key: str, table: pd.DataFrame, season: str, lang: str,
                 total: dict | None, formats: list[str | None] | None) -> None:
    """One sheet: title, note, header, rows (and a totals row), widths, freeze, filter."""
    ws = wb.create_sheet(labels.sheet(key, lang))
    codes = list(table.columns)
    shown = localised(table, lang)
    headers = list(shown.columns)
    widths = _widths(shown, codes)
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    last = get_column_letter(max(1, len(headers)))
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + max(1, len(shown))}"
    title = WriteOnlyCell(ws, f"{labels.sheet(key, lang)} · {season}")
    title.font = _TITLE
    ws.append([title])
    note = WriteOnlyCell(ws, labels.note(key, lang))
    note.font = _NOTE
    ws.append([note])
    head = []
    for h in headers:
        c = WriteOnlyCell(ws, h)
        c.font, c.fill = _BOLD, _HEAD_FILL
        c.alignment = Alignment(vertical="center", wrap_text=False)
        head.append(c)
    ws.append(head)
    col_formats = [_FORMATS.get(c) for c in codes]
    for r, row in enumerate(_rows(shown)):
        fmts = formats[r] if formats is not None else col_formats
        ws.append([_cell(ws, v, fmts[j]) for j, v in enumerate(row)] if any(fmts) else row)
    if total is not None:
        cells = []
        for j, code in enumerate(codes):
            c = WriteOnlyCell(ws, labels.text("total", lang) if j == 0 else total.get(code))
            c.font = _BOLD
            if col_formats[j] and j:
                c.number_format = col_formats[j]
            cells.append(c)
        ws.append(cells)


def _rows(df: pd.DataFrame) -> Iterator[list]:
    """Rows as plain Python values (numpy scalars unboxed); NaN/NA as empty cells."""
    cols = []
    for c in df.columns:
        s = df[c]
        values = s.tolist()  # Python ints, floats, bools and str
        if s.hasnans:
            values = [None if pd.isna(v) else v for v in values]
        cols.append(values)
    yield from (list(row) for row in zip(*cols, strict=True))


def _cell(ws, v: object, fmt: str | None) -> WriteOnlyCell | object:
    """A number as a cell with its number format; anything else as the plain value."""
    if v is None or fmt is None or isinstance(v, (str, bool)):
        return v
    c = WriteOnlyCell(ws, v)
    c.number_format = fmt
    return c


def _widths(shown: pd.DataFrame, codes: list[str]) -> list[float]:
    """Column widths from the header and the cells as shown (numbers as formatted)."""
    out = []
    head = shown.head(_WIDTH_ROWS)
    for header, code in zip(shown.columns, codes, strict=True):
        s = head[header]
        fmt = _FORMATS.get(code)
        s = pd.Series(s.dropna().unique())
        if fmt == MONEY:
            texts = s.map(lambda v: f"{v:,.2f}")
        elif fmt == PERCENT:
            texts = s.map(lambda v: f"{100 * v:.1f}%")
        else:
            texts = s.astype(str)
        longest = max([display_width(str(header)), *texts.map(display_width).tolist()])
        out.append(float(min(60, max(8, longest + 2))))
    return out


def summary_rows(data: ReportData, lang: str) -> list[tuple[str, object, str | None]]:
    """The summary as (label, value, number format) rows: the run, the headline counts, each
    objective level and the preference-rank histogram. The workbook and the page show these."""
    m = data.metrics
    n = m.get("students", len(data.assignments) + len(data.unplaced))
    placed = m.get("placed", len(data.assignments))
    local = m.get("local", int(data.assignments["local"].sum()))
    gap = m.get("gap")
    ok = m.get("audit_ok", True)
    rows: list[tuple[str, object, str | None]] = [
        ("season", data.season, None),
        ("policy", data.policy, None),
        ("strategy", m.get("strategy", ""), None),
        ("status", labels.value("status", m.get("status", "unknown"), lang), None),
        ("levels_proven", f"{m.get('levels_proven', 0)} / {len(m.get('objective', {}))}", None),
        ("gap", labels.text("no_bound", lang) if gap is None else gap,
         None if gap is None else "0.000%"),
        ("runtime_s", m.get("runtime_s"), "0.00"),
        ("audit_ok", labels.text("passed" if ok else "failed", lang), None),
        ("students", n, WHOLE),
        ("placed", placed, WHOLE),
        ("placed_share", placed / n if n else 0.0, PERCENT),
        ("local", local, WHOLE),
        ("local_share", local / n if n else 0.0, PERCENT),
        ("in_park", m.get("in_park"), WHOLE),
        ("poor_placed", m.get("poor_placed"), WHOLE),
        ("unplaced", len(data.unplaced), WHOLE),
        ("spend", m.get("spend"), MONEY),
        ("blocking_pairs", m.get("blocking_pairs"), WHOLE),
    ]
    out = [(labels.metric(k, lang), v, f) for k, v, f in rows]
    sep = "：" if lang == "zh" else ": "
    for term, v in m.get("objective", {}).items():
        out.append((labels.metric("objective", lang) + sep
                    + labels.value("objective", term, lang), v, None))
    for r, count in m.get("preference_rank_histogram", {}).items():
        name = labels.text("unlisted", lang) if r == "unlisted" else (
            f"第{r}志愿" if lang == "zh" else f"choice {r}")
        out.append((labels.column("rank", lang) + sep + name, count, WHOLE))
    return out
