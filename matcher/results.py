"""The result folder of DESIGN §6, written atomically: a temporary folder renamed into place."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from matcher.allocation import Allocation

__all__ = ["write_result"]


def write_result(allocation: Allocation, out: str | Path, overwrite: bool = True,
                 extra: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write assignments.csv, ledger.csv, unplaced.csv and metrics.json into `out`, and each
    table of `extra` as `<name>.csv` (an extension: `changes.csv` of `matcher resolve`).

    Everything goes to a sibling temporary folder first; only a complete result replaces `out`.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        allocation.assignments.to_csv(tmp / "assignments.csv", index=False)
        allocation.ledger.to_csv(tmp / "ledger.csv", index=False)
        allocation.unplaced.to_csv(tmp / "unplaced.csv", index=False)
        for name, table in (extra or {}).items():
            table.to_csv(tmp / f"{name}.csv", index=False)
        with open(tmp / "metrics.json", "w", encoding="utf-8") as fh:
            json.dump(allocation.metrics, fh, ensure_ascii=False, indent=2, default=_plain)
            fh.write("\n")
        if allocation.solution.log:
            (tmp / "solver.log").write_text(allocation.solution.log, encoding="utf-8")
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _plain(obj: object) -> object:
    """numpy scalars and the like, as plain JSON values."""
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")
