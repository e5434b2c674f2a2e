"""The summary page of a result: HTML (charts embedded) with the same page in Markdown beside it.

Four charts, drawn with matplotlib's Agg canvas (no display, no global pyplot state):
placements by park, budget use per fund, the preference-rank histogram and the local share by
school. `summary.html` embeds them as base64 PNGs so it can be mailed as one file;
`summary.md` links the same PNGs, written beside it. Chinese chart text needs a CJK font: when
none is installed the charts fall back to English words and ids (the tables keep the names).
"""

from __future__ import annotations

import base64
import html
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from matcher import labels
from matcher.report import MONEY, PERCENT, WHOLE, summary_rows
from matcher.report_data import ReportData, localised

__all__ = ["CHARTS", "cjk_font", "write_summary"]

CHARTS = ("parks", "funds", "ranks", "schools")  # summary-<name>.png
MAX_BARS = 30  # a province has hundreds of parks: the charts show the largest
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
              "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei",
              "PingFang SC", "Heiti SC", "Droid Sans Fallback", "AR PL UMing CN",
              "Noto Serif CJK SC")
_LOCAL, _OTHER, _NONE = "#2e7d32", "#90a4ae", "#eceff1"


@dataclass(frozen=True)
class _Chart:
    name: str
    title: str
    png: bytes

    @property
    def file(self) -> str:
        return f"summary-{self.name}.png"


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font that draws Chinese, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in _CJK_FONTS if f in installed), None)


def write_summary(data: ReportData, folder: str | Path, lang: str = "zh") -> list[Path]:
    """Write summary.html, summary.md and the chart PNGs into `folder`; each file appears
    complete or not at all (everything is written to a temporary folder first)."""
    folder = Path(folder)
    charts = _charts(data, lang)
    tmp = Path(tempfile.mkdtemp(prefix=".summary.", dir=folder))
    try:
        files = {c.file: c.png for c in charts}
        files["summary.md"] = _markdown(data, charts, lang).encode("utf-8")
        files["summary.html"] = _html(data, charts, lang).encode("utf-8")
        for name, content in files.items():
            (tmp / name).write_bytes(content)
        written = []
        for name in files:
            os.replace(tmp / name, folder / name)
            written.append(folder / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return written


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def _drawable(text: str) -> bool:
    return text.isascii() or cjk_font() is not None


def _charts(data: ReportData, lang: str) -> list[_Chart]:
    from matplotlib import rcParams

    chart_lang = lang if _drawable(labels.text("chart_parks", lang)) else "en"
    font = cjk_font()
    saved = rcParams["font.sans-serif"]
    if font is not None:
        rcParams["font.sans-serif"] = [font, *saved]
    try:
        return [
            _Chart("parks", labels.text("chart_parks", lang), _parks(data, chart_lang)),
            _Chart("funds", labels.text("chart_funds", lang), _funds(data, chart_lang)),
            _Chart("ranks", labels.text("chart_ranks", lang), _ranks(data, chart_lang)),
            _Chart("schools", labels.text("chart_schools", lang), _schools(data, chart_lang)),
        ]
    finally:
        rcParams["font.sans-serif"] = saved


def _figure(n_bars: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, max(2.8, 0.32 * n_bars + 1.4)), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _legend(ax) -> None:
    """The legend under the plot, where it hides no bar."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False,
              fontsize="small")


def _name(name: object, ident: object, lang: str) -> str:
    """A bar's label: the name when the chart can draw it, else the id."""
    text = str(name) if isinstance(name, str) and name else str(ident)
    return text if _drawable(text) else str(ident)


def _parks(data: ReportData, lang: str) -> bytes:
    df = data.by_park.nlargest(MAX_BARS, "placed", keep="first").iloc[::-1]
    names = [labels.text("outside_parks", lang) if not pid else _name(n, pid, lang)
             for pid, n in zip(df["park_id"], df["park"], strict=True)]
    fig, ax = _figure(len(df))
    y = np.arange(len(df))
    ax.barh(y, df["local_placed"], color=_LOCAL, label=labels.text("local_placed", lang))
    ax.barh(y, df["placed"] - df["local_placed"], left=df["local_placed"], color=_OTHER,
            label=labels.text("elsewhere", lang))
    ax.set_yticks(y, names)
    ax.set_xlabel(labels.text("students_axis", lang))
    ax.set_title(labels.text("chart_parks", lang))
    _legend(ax)
    return _png(fig)


def _funds(data: ReportData, lang: str) -> bytes:
    df = data.funds.head(MAX_BARS).iloc[::-1]
    fig, ax = _figure(2 * len(df))
    y = np.arange(len(df))
    ax.barh(y + 0.2, df["budget"].fillna(0), height=0.4, color=_OTHER,
            label=labels.text("budget_legend", lang))
    ax.barh(y - 0.2, df["spend"], height=0.4, color=_LOCAL,
            label=labels.text("spend_legend", lang))
    for yi, (spend, use) in enumerate(zip(df["spend"], df["use"], strict=True)):
        note = "–" if pd.isna(use) else f"{100 * use:.1f}%"
        ax.annotate(note, (spend, yi - 0.2), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize="small")
    ax.set_yticks(y, [_name(n, f, lang) for f, n in zip(df["fund_id"], df["fund"],
                                                         strict=True)])
    ax.set_xlim(0, 1.15 * max(1.0, float(df["budget"].fillna(0).max()),
                              float(df["spend"].max())))  # room for the use labels
    ax.set_xlabel(labels.text("yuan_axis", lang))
    ax.set_title(labels.text("chart_funds", lang))
    _legend(ax)
    return _png(fig)


def _ranks(data: ReportData, lang: str) -> bytes:
    hist = data.metrics.get("preference_rank_histogram", {})
    keys = list(hist)
    fig, ax = _figure(6)
    ax.bar(range(len(keys)), [hist[k] for k in keys], color=_LOCAL)
    ax.set_xticks(range(len(keys)), [labels.text("unlisted", lang) if k == "unlisted" else k
                                     for k in keys])
    ax.set_xlabel(labels.text("rank_axis", lang))
    ax.set_ylabel(labels.text("students_axis", lang))
    ax.set_title(labels.text("chart_ranks", lang))
    return _png(fig)


def _schools(data: ReportData, lang: str) -> bytes:
    df = data.by_school.nlargest(MAX_BARS, "students", keep="first").iloc[::-1]
    n = df["students"].clip(lower=1)
    local = df["local_placed"] / n
    other = (df["placed"] - df["local_placed"]) / n
    fig, ax = _figure(len(df))
    y = np.arange(len(df))
    ax.barh(y, local, color=_LOCAL, label=labels.text("local_placed", lang))
    ax.barh(y, other, left=local, color=_OTHER, label=labels.text("elsewhere", lang))
    ax.barh(y, 1 - local - other, left=local + other, color=_NONE,
            label=labels.text("not_placed", lang))
    for yi, share in enumerate(local):
        ax.annotate(f"{100 * share:.0f}%", (0, yi), xytext=(3, 0), textcoords="offset points",
                    va="center", color="white", fontsize="small")
    ax.set_yticks(y, [_name(s, i, lang) for i, s in zip(df["school_id"], df["school"],
                                                        strict=True)])
    ax.set_xlim(0, 1)
    ax.set_xlabel(labels.text("share_of_students", lang))
    ax.set_title(labels.text("chart_schools", lang))
    _legend(ax)
    return _png(fig)


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------

_COLUMN_FORMATS = {"budget": MONEY, "spend": MONEY, "remaining": MONEY, "use": PERCENT,
                   "local_share": PERCENT}


def _fmt(v: object, fmt: str | None) -> str:
    """A cell as the page shows it: money with separators and two decimals, shares in %."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        if fmt == MONEY:
            return f"{v:,.2f}"
        if fmt == PERCENT:
            return f"{100 * v:.1f}%"
        if fmt == "0.000%":
            return f"{100 * v:.3f}%"
        if fmt == "0.00":
            return f"{v:.2f}"
        if fmt == WHOLE or float(v).is_integer():
            return f"{int(v):,}"
    return str(v)


def _sections(data: ReportData, lang: str) -> list[tuple[str, str | None, list[list[str]]]]:
    """(heading, chart name, table rows with the header first) for each part of the page."""
    head = [[labels.column("metric", lang), labels.column("value", lang)]]
    headline = head + [[k, _fmt(v, f)] for k, v, f in summary_rows(data, lang)]
    parks = data.by_park[["park_id", "park", "county", "placed", "local_placed", "interns",
                          "order"]]
    schools = data.by_school[["school_id", "school", "county", "students", "placed",
                              "local_placed", "local_share"]]
    primary = data.unplaced["reason_code"].str.split(";").str[0]
    reasons = primary.value_counts().rename_axis("reason_code").reset_index(name="count")
    return [
        (labels.text("headline", lang), None, headline),
        (labels.text("chart_parks", lang), "parks", _table(parks, lang)),
        (labels.text("chart_funds", lang), "funds", _table(data.funds, lang)),
        (labels.text("chart_ranks", lang), "ranks", []),
        (labels.text("chart_schools", lang), "schools", _table(schools, lang)),
        (labels.text("unplaced_reasons", lang), None, _table(reasons, lang)),
    ]


def _table(df: pd.DataFrame, lang: str) -> list[list[str]]:
    codes = list(df.columns)
    shown = localised(df, lang)
    rows = [list(shown.columns)]
    for rec in shown.itertuples(index=False):
        rows.append([_fmt(v, _COLUMN_FORMATS.get(c)) for v, c in zip(rec, codes, strict=True)])
    return rows


def _title(data: ReportData, lang: str) -> str:
    return f"{labels.text('report_title', lang)} · {data.season}"


def _html(data: ReportData, charts: list[_Chart], lang: str) -> str:
    by_name = {c.name: c for c in charts}
    e = html.escape
    parts = [
        "<!doctype html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{e(_title(data, lang))}</title>",
        "<style>body{font-family:system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;"
        "max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
        "th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}"
        "th{background:#ddebf7}td.n{text-align:right}img{max-width:100%}"
        ".meta{color:#555}</style></head><body>",
        f"<h1>{e(_title(data, lang))}</h1>",
        f'<p class="meta">{e(data.policy)} · {e(str(data.metrics.get("strategy", "")))}</p>',
    ]
    for heading, chart, rows in _sections(data, lang):
        parts.append(f"<h2>{e(heading)}</h2>")
        if chart is not None:
            b64 = base64.b64encode(by_name[chart].png).decode("ascii")
            parts.append(f'<img alt="{e(heading)}" src="data:image/png;base64,{b64}">')
        if rows:
            parts.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in rows[0])
                         + "</tr></thead><tbody>")
            for row in rows[1:]:
                parts.append("<tr>" + "".join(
                    f'<td class="n">{e(v)}</td>' if _numeric(v) else f"<td>{e(v)}</td>"
                    for v in row) + "</tr>")
            parts.append("</tbody></table>")
    parts.append(f'<p class="meta">{e(labels.text("generated_by", lang))}</p></body></html>')
    return "\n".join(parts) + "\n"


def _numeric(v: str) -> bool:
    return bool(v) and v.replace(",", "").replace(".", "").replace("%", "").lstrip(
        "-").isdigit()


def _markdown(data: ReportData, charts: list[_Chart], lang: str) -> str:
    by_name = {c.name: c for c in charts}
    out = [f"# {_title(data, lang)}", "",
           f"{data.policy} · {data.metrics.get('strategy', '')}", ""]
    for heading, chart, rows in _sections(data, lang):
        out += [f"## {heading}", ""]
        if chart is not None:
            out += [f"![{heading}]({by_name[chart].file})", ""]
        if rows:
            cell = [[str(v).replace("|", "\\|") for v in row] for row in rows]
            out.append("| " + " | ".join(cell[0]) + " |")
            out.append("|" + "|".join("---:" if _numeric(v) else "---"
                                      for v in (cell[1] if len(cell) > 1 else cell[0])) + "|")
            out += ["| " + " | ".join(row) + " |" for row in cell[1:]]
            out.append("")
    out.append(labels.text("generated_by", lang))
    return "\n".join(out) + "\n"
