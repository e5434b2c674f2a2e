"""One table of metrics across strategies on the same season: what each mechanism or optimiser
buys, and what stability or a simple rule costs against the optimum."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from matcher.api import solve
from matcher.season import Season

__all__ = ["compare", "preference_ranks"]


def preference_ranks(season: Season, assignments: pd.DataFrame) -> np.ndarray:
    """The rank each placed student gave their slot (students without a list left out)."""
    prefs = season.preferences[["student_id", "slot_id", "rank"]]
    got = assignments[["student_id", "slot_id"]].merge(prefs, on=["student_id", "slot_id"])
    return got["rank"].to_numpy(dtype=float)


def compare(season: Season, strategies: list[str], time_limit: float = 60.0, seed: int = 0,
            progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Solve `season` with every strategy and return one row of metrics per strategy."""
    rows = []
    funds = list(season.funds["fund_id"])
    for name in strategies:
        if progress is not None:
            progress(name)
        alloc = solve(season, strategy=name, time_limit=time_limit, seed=seed)
        m = alloc.metrics
        ranks = preference_ranks(season, alloc.assignments)
        row = {
            "strategy": name, "status": m["status"], "placed": m["placed"], "local": m["local"],
            "in_park": m["in_park"], "poor_placed": m["poor_placed"], "spend": m["spend"],
            **{f"spend_{f}": m["spend_by_fund"].get(f, 0) for f in funds},
            "blocking_pairs": m["blocking_pairs"],
            "mean_rank": round(float(ranks.mean()), 3) if len(ranks) else None,
            "median_rank": float(np.median(ranks)) if len(ranks) else None,
            "runtime_s": m["runtime_s"], "gap": m["gap"], "audit_ok": m["audit_ok"],
        }
        rows.append(row)
    return pd.DataFrame(rows)
