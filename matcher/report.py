"""The Excel workbook of a result: assignments, subsidy ledger, unplaced students and metrics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from matcher.allocation import Allocation

__all__ = ["write_workbook"]


def write_workbook(allocation: Allocation, path: str | Path) -> Path:
    """Write the result as one workbook, a sheet per table, with a frozen header row."""
    path = Path(path)
    m = allocation.metrics
    funds = pd.DataFrame({
        "fund_id": list(m["spend_by_fund"]),
        "spend": list(m["spend_by_fund"].values()),
        "budget": [m["budget_by_fund"].get(f) for f in m["spend_by_fund"]],
    })
    summary = pd.DataFrame({
        "metric": ["status", "strategy", "placed", "local", "in_park", "poor_placed", "spend",
                   "gap", "blocking_pairs"],
        "value": [str(m[k]) for k in ("status", "strategy", "placed", "local", "in_park",
                                      "poor_placed", "spend", "gap", "blocking_pairs")],
    })
    sheets = {"summary": summary, "assignments": allocation.assignments,
              "ledger": allocation.ledger, "unplaced": allocation.unplaced, "funds": funds}
    tmp = path.with_name(f".{path.name}.tmp")
    with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        for name, df in sheets.items():
            df.to_excel(xl, sheet_name=name, index=False)
            ws = xl.sheets[name]
            ws.freeze_panes = "A2"
            for col in ws.columns:
                width = max(len(str(c.value or "")) for c in col)
                ws.column_dimensions[col[0].column_letter].width = min(60, max(10, width + 2))
    tmp.replace(path)
    return path
