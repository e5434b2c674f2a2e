"""Analysis helpers the research notebooks share: Pareto frontiers of spend against placements,
the marginal yuan per extra placement, the price of stability, policy rules side by side, and
benchmark tables read back, plus where notebooks save their figures and tables.

Everything here works on sweep tables (`matcher.sweep`) and plain DataFrames; plotting stays in
the notebooks, where a reader sees how each chart is made.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.policy import load_policy

__all__ = ["BENCHMARK_COLUMNS", "NotebookSettings", "find_benchmark_results", "level_proven",
           "load_benchmarks", "marginal_cost", "notebook_settings", "pareto_frontier",
           "policy_rules", "price_of_stability", "rules_that_differ", "save"]

BENCHMARK_COLUMNS = ["source", "date", "machine", "students", "edges", "strategy", "seed",
                     "time_limit", "wall_s", "runtime_s", "status", "levels_proven", "gap",
                     "placed", "peak_rss_mb", "audit_ok"]


# ---------------------------------------------------------------------------------------------
# Frontiers and prices


def pareto_frontier(table: pd.DataFrame, cost: str, gain: str) -> pd.DataFrame:
    """Rows no other row beats: none spends at most as much `cost` for at least as much `gain`
    with one of the two strictly better. Sorted by cost; one row per (cost, gain) point."""
    pts = table.dropna(subset=[cost, gain]).sort_values([cost, gain], ascending=[True, False])
    pts = pts.drop_duplicates(subset=[cost, gain])
    keep, best = [], -np.inf
    for idx, g in zip(pts.index, pts[gain].to_numpy(dtype=float), strict=True):
        if g > best:  # cheaper rows come first: a row is kept only if it gains more than all
            keep.append(idx)
            best = g
    return pts.loc[keep].reset_index(drop=True)


def marginal_cost(frontier: pd.DataFrame, cost: str, gain: str) -> pd.DataFrame:
    """Step by step along a frontier (sorted by cost): extra cost, extra gain and the cost of
    one more unit of gain (e.g. yuan per extra local placement) between neighbouring points."""
    f = frontier.sort_values(cost).reset_index(drop=True)
    out = pd.DataFrame({
        f"{cost}_from": f[cost].shift(1), f"{cost}_to": f[cost],
        f"{gain}_from": f[gain].shift(1), f"{gain}_to": f[gain],
    }).iloc[1:].reset_index(drop=True)
    d_cost = out[f"{cost}_to"] - out[f"{cost}_from"]
    d_gain = out[f"{gain}_to"] - out[f"{gain}_from"]
    out[f"extra_{cost}"] = d_cost
    out[f"extra_{gain}"] = d_gain
    out[f"{cost}_per_{gain}"] = (d_cost / d_gain.where(d_gain > 0)).astype(float)
    return out


def price_of_stability(table: pd.DataFrame, free: str, stable: str,
                       keys: tuple[str, ...] = ("season", "budget", "seed"),
                       measures: tuple[str, ...] = ("placed", "local")) -> pd.DataFrame:
    """What stability costs: sweep rows of policy `free` against rows of policy `stable` (labels
    in the `policy` column) with equal `keys`, one line per pair.

    `<m>_lost` is the free value minus the stable one; it is empty when the stable side found
    no allocation (`infeasible`: none exists within the budgets and caps; `unknown`: none found
    in time). `<m>_proven` says both sides proved the level of `m` (the sweep's `objective`
    lists levels in order, `levels_proven` counts them): then the loss is exact; with only the
    free side proven it is an upper bound."""
    cols = list(keys) + list(measures) + ["status", "gap", "blocking_pairs", "objective",
                                          "levels_proven"]
    a = table[table["policy"] == free][cols]
    b = table[table["policy"] == stable][cols]
    pairs = a.merge(b, on=list(keys), suffixes=("_free", "_stable"))
    found = pairs["status_stable"].isin(["optimal", "feasible"])
    for m in measures:
        lost = (pairs[f"{m}_free"] - pairs[f"{m}_stable"]).astype("Float64")
        pairs[f"{m}_lost"] = lost.where(found)
        pairs[f"{m}_lost_share"] = (lost / pairs[f"{m}_free"].replace(0, pd.NA)).where(found)
        pairs[f"{m}_proven"] = [
            level_proven(of, pf, m) and level_proven(os_, ps, m)
            for of, pf, os_, ps in zip(pairs["objective_free"], pairs["levels_proven_free"],
                                       pairs["objective_stable"], pairs["levels_proven_stable"],
                                       strict=True)]
    return pairs.drop(columns=["objective_free", "objective_stable"])


def level_proven(objective: object, levels_proven: object, term: str) -> bool:
    """Whether the level of `term` is among the first `levels_proven` levels of a sweep row
    (`objective` is the row's JSON text, levels in order)."""
    if not isinstance(objective, str) or pd.isna(levels_proven):
        return False
    order = list(json.loads(objective))
    return term in order and order.index(term) < int(levels_proven)


# ---------------------------------------------------------------------------------------------
# Policies side by side


def policy_rules(names: list[str]) -> pd.DataFrame:
    """The rules of each policy (preset name or file), one column per policy: objective levels,
    caps, priorities, coverage, stability and every subsidy rule (amount, period, fund, clause)."""
    cols = {}
    for name in names:
        pol, issues = load_policy(name)
        if pol is None:
            raise ValueError("; ".join(str(i) for i in issues))
        rules = {
            "objective": " > ".join(pol.levels),
            "enterprise_cap": _ratio(pol.enterprise_cap),
            "same_post_cap": _ratio(pol.same_post_cap),
            "poor_first": ", ".join(pol.poor_first) or "-",
            "park_coverage": "yes" if pol.park_coverage else "-",
            "stability": pol.stability,
        }
        for r in pol.subsidies:
            per = {"once": "once", "month": "/month", "year": "/year"}[r.per]
            when = ", ".join(f"{k}={v}" for k, v in sorted(r.when.items()))
            rules[f"subsidy {r.id}"] = (f"{float(r.amount):g} yuan {per} to {r.payee}, "
                                        f"fund {r.fund} ({r.clause})" + (f" if {when}"
                                                                         if when else ""))
        cols[pol.name] = rules
    return pd.DataFrame(cols).fillna("-")


def _ratio(value: object) -> str:
    return "-" if value is None else f"{float(value):.0%}"


def rules_that_differ(rules: pd.DataFrame) -> pd.DataFrame:
    """The rows of `policy_rules` on which the policies do not all agree."""
    return rules[rules.nunique(axis=1) > 1]


# ---------------------------------------------------------------------------------------------
# Benchmarks read back


def find_benchmark_results(start: str | Path | None = None) -> Path | None:
    """`benchmarks/results` in `start` (default: the working folder) or a folder above it."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        cand = folder / "benchmarks" / "results"
        if cand.is_dir():
            return cand
    return None


def load_benchmarks(folder: str | Path, kinds: tuple[str, ...] = ("scaling", "foundation")
                    ) -> tuple[pd.DataFrame, str]:
    """Benchmark CSVs of the first kind that has rows (`<kind>-*.csv`), in one table with
    BENCHMARK_COLUMNS (a column a file lacks is empty; `wall_s` is the median wall time where a
    file gives min/median/max), and the kind read."""
    folder = Path(folder)
    for kind in kinds:
        frames = []
        for path in sorted(folder.glob(f"{kind}-*.csv")):
            try:
                df = pd.read_csv(path)
            except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
                continue
            if df.empty or not {"students", "strategy"} <= set(df.columns):
                continue
            if "wall_s" not in df and "wall_median" in df:
                df = df.rename(columns={"wall_median": "wall_s"})
            df["source"] = path.name
            frames.append(df.reindex(columns=BENCHMARK_COLUMNS))
        if frames:
            table = pd.concat(frames, ignore_index=True)
            for col in ("students", "edges", "time_limit", "wall_s", "runtime_s",
                        "levels_proven", "gap", "placed", "peak_rss_mb"):
                table[col] = pd.to_numeric(table[col], errors="coerce")
            return table.dropna(subset=["students", "strategy"]), kind
    return pd.DataFrame(columns=BENCHMARK_COLUMNS), ""


# ---------------------------------------------------------------------------------------------
# Notebook settings and output


@dataclass
class NotebookSettings:
    """What a notebook reads from the environment: `scale` multiplies season sizes
    (MATCHER_NOTEBOOK_SCALE, default 1: small enough for the test suite), `time_limit` is
    seconds per exact solve (MATCHER_NOTEBOOK_TIME_LIMIT), `workers` local processes
    (MATCHER_NOTEBOOK_WORKERS) and `out` where figures and tables go (MATCHER_NOTEBOOK_OUT;
    unset: a temporary folder removed with the kernel, so the test suite writes nothing into
    the repository)."""

    scale: float
    time_limit: float
    workers: int
    out: Path
    persistent: bool
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def students(self, base: int) -> int:
        """`base` students scaled, at least 50."""
        return max(50, round(base * self.scale))


def notebook_settings(default_time_limit: float = 4.0) -> NotebookSettings:
    """Settings from the MATCHER_NOTEBOOK_* environment variables (see NotebookSettings)."""
    from matcher.sweep import default_workers

    def number(var: str, default: float) -> float:
        raw = os.environ.get(var, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{var}={raw!r} is not a number") from None
        if not value > 0:
            raise ValueError(f"{var}={raw!r} must be positive")
        return value

    out_env = os.environ.get("MATCHER_NOTEBOOK_OUT", "").strip()
    tmp = None
    if out_env:
        out = Path(out_env)
        out.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="matcher-notebook-")
        out = Path(tmp.name)
    return NotebookSettings(
        scale=number("MATCHER_NOTEBOOK_SCALE", 1.0),
        time_limit=number("MATCHER_NOTEBOOK_TIME_LIMIT", default_time_limit),
        workers=int(number("MATCHER_NOTEBOOK_WORKERS", float(default_workers()))),
        out=out, persistent=bool(out_env), _tmp=tmp)


def save(name: str, out: str | Path, figure: object | None = None,
         table: pd.DataFrame | None = None) -> list[Path]:
    """Save a figure as `<name>.png` and its table as `<name>.csv` side by side in `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if figure is not None:
        path = out / f"{name}.png"
        figure.savefig(path, dpi=150, bbox_inches="tight")  # type: ignore[attr-defined]
        written.append(path)
    if table is not None:
        path = out / f"{name}.csv"
        table.to_csv(path, index=table.index.name is not None)
        written.append(path)
    return written
