"""Re-solve after a change (issue 6): an old result and a changed season in, a new result that
keeps what it can, and the difference, out.

The reading implemented here: the policy's levels stay lexicographic in their order, so a
placement moves only when that buys a better level; the number of changed students is one more
level, `kept`, right after the policy's levels (the first tie-break), or with `changes_first`
right after feasibility, before every policy level (park coverage, a rule of `[constraints]`,
stays before it as part of feasibility). A *change* is a student placed in the old result whose
placement (slot, start period, duration) differs now: moved or dropped. A student newly placed
is reported (`placed`) but not counted, or `changes_first` would leave every freed seat empty.

The `kept` level weighs +1 on every edge equal to a student's old placement and 0 on every other
edge, so its value is the number kept, and `changes = old placed still in the season - kept`:
maximising it is minimising the changes. (−1 on a placed student's other edges would make the
level `kept - moved`, which prefers dropping a displaced student to moving them.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.allocation import Allocation, decode
from matcher.compile import Compiled, compile_season
from matcher.report_data import ResultError
from matcher.report_data import read_result as read_tables
from matcher.results import write_result
from matcher.season import Season
from solvers.lp import settle_groups_and_priorities
from solvers.problem import Level, Problem
from solvers.registry import get_strategy
from solvers.repair import EdgeRows
from solvers.solution import Solution

__all__ = ["CHANGE_COLUMNS", "CHANGE_KINDS", "LEVEL_STRATEGIES", "Resolved", "ResultError",
           "ResultFolder", "changes_level", "feasible_subset", "placement_edges", "read_result",
           "resolve", "write_resolved"]

CHANGE_KINDS = ("kept", "moved", "dropped", "placed", "withdrawn")
CHANGE_COLUMNS = ["student_id", "before_slot_id", "before_start_period", "before_duration_months",
                  "after_slot_id", "after_start_period", "after_duration_months", "change"]
# Strategies that optimise the objective levels; the mechanisms ignore them (and the kept level).
LEVEL_STRATEGIES = ("cpsat", "mip", "flow", "greedy")
KEPT = "kept"


@dataclass(frozen=True)
class ResultFolder:
    """The files of a result folder (DESIGN §6), typed as `decode` makes them, and metrics."""

    path: Path
    assignments: pd.DataFrame
    ledger: pd.DataFrame
    unplaced: pd.DataFrame
    metrics: dict

    def season_path(self) -> Path | None:
        """The season the result says it was solved on (`metrics.json` `season`), if any."""
        where = self.metrics.get("season")
        if not where:
            return None
        path = Path(where)
        return path if path.is_absolute() else self.path / path


def read_result(path: str | Path) -> ResultFolder:
    """Read a result folder (through `matcher.report_data`, typed as `decode` writes it); every
    problem is a `ResultError` naming the file, row and column."""
    assignments, ledger, unplaced, metrics = read_tables(path)
    dup = assignments["student_id"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise ResultError(f"{Path(path) / 'assignments.csv'}, row {row + 2}, column "
                          f"'student_id': {assignments['student_id'].iat[row]} is placed twice")
    return ResultFolder(Path(path), assignments, ledger, unplaced, metrics)


def placement_edges(c: Compiled, assignments: pd.DataFrame) -> np.ndarray:
    """The edge of `c` for every assignment row (student, slot, start, duration); -1 where the
    season has no such eligible option (a withdrawn student, a removed slot, a changed list)."""
    if not len(assignments):
        return np.zeros(0, dtype=np.int64)
    season = c.season
    s_idx = pd.Series(np.arange(len(season.students)), index=season.students["student_id"])
    t_idx = pd.Series(np.arange(len(season.slots)), index=season.slots["slot_id"])
    want = pd.DataFrame({
        "agent": s_idx.reindex(assignments["student_id"].astype(str)).fillna(-1).to_numpy(),
        "slot": t_idx.reindex(assignments["slot_id"].astype(str)).fillna(-1).to_numpy(),
        "start": assignments["start_period"].to_numpy(dtype=np.int64),
        "months": assignments["duration_months"].to_numpy(dtype=np.int64),
    }).astype(np.int64)
    have = c.edges[["agent", "slot", "start", "months"]].astype(np.int64)
    have = have.reset_index(names="edge")
    got = want.merge(have, on=["agent", "slot", "start", "months"], how="left")
    return got["edge"].fillna(-1).to_numpy(dtype=np.int64)


def changes_level(problem: Problem, old_edges: np.ndarray) -> Level:
    """+1 on every edge that is a student's old placement, 0 elsewhere: its value is the number
    of old placements kept, so maximising it minimises moved + dropped (see the module doc)."""
    w = np.zeros(problem.n_edges, dtype=np.int64)
    w[np.asarray(old_edges, dtype=np.int64)] = 1
    return Level(KEPT, w)


def _with_level(problem: Problem, level: Level, first: bool) -> tuple[Problem, int]:
    """The problem with `level` after the policy's levels, or first (after park coverage)."""
    levels = list(problem.levels)
    if not first:
        at = len(levels)
    else:
        at = 1 if levels and levels[0].cover_weight and not levels[0].weights.any() else 0
    return replace(problem, levels=(*levels[:at], level, *levels[at:])), at


def feasible_subset(problem: Problem, edges: np.ndarray) -> np.ndarray:
    """A feasible subset of `edges` for a hint: each taken while every packing row allows it;
    then open groups below their minimum and triggered priorities are dropped until none is
    left; empty when the rest still breaks a rule (stability)."""
    edges = np.unique(np.asarray(edges, dtype=np.int64))
    if not len(edges):
        return edges
    er = EdgeRows(problem)
    load = np.zeros(len(problem.rows), dtype=np.int64)
    keep = np.zeros(problem.n_edges, dtype=bool)
    taken = np.zeros(problem.n_agents, dtype=bool)
    for e in edges:
        rows, coef = er.row[er.ptr[e]:er.ptr[e + 1]], er.coef[er.ptr[e]:er.ptr[e + 1]]
        a = problem.edge_agent[e]
        if not taken[a] and np.all(load[rows] + coef <= problem.rhs[rows]):
            load[rows] += coef
            keep[e] = taken[a] = True
    settle_groups_and_priorities(problem, keep)
    out = np.flatnonzero(keep)
    return out if not problem.violations(out) else np.zeros(0, dtype=np.int64)


def _strip_level(solution: Solution, at: int, n_levels: int) -> Solution:
    """The solution as if solved over the policy's levels alone, for `decode`: the kept level's
    value leaves `objective`, `proven` counts policy levels, and a bound that belonged to the
    kept level (it was the first not proven) becomes unknown."""
    objective = tuple(v for i, v in enumerate(solution.objective) if i != at)
    proven = solution.proven - (1 if solution.proven > at else 0)
    bound, gap = solution.bound, solution.gap
    if solution.proven == at < n_levels:
        bound, gap = float("nan"), float("nan")  # no bound for the next policy level
    elif solution.proven >= at == n_levels and objective:
        bound, gap = float(objective[-1]), 0.0  # every policy level proven: the last one's
    info = {**solution.info, "kept_level": at}
    return replace(solution, objective=objective, proven=proven, bound=bound, gap=gap, info=info)


@dataclass(frozen=True)
class Resolved:
    """The new allocation, the change of every student, and the summary printed and saved."""

    allocation: Allocation
    changes: pd.DataFrame
    summary: dict


def resolve(
    old: ResultFolder,
    season: Season,
    *,
    strategy: str = "cpsat",
    time_limit: float = 60.0,
    seed: int = 0,
    changes_first: bool = False,
    log: bool | Callable[[str], None] | None = None,
) -> Resolved:
    """Solve `season` keeping as much of the `old` result as the reading of the module allows."""
    if strategy not in LEVEL_STRATEGIES:
        raise ValueError(f"resolve needs a strategy that optimises the objective levels "
                         f"({', '.join(LEVEL_STRATEGIES)}); {strategy!r} does not")
    c = compile_season(season)
    edge = placement_edges(c, old.assignments)
    old_edges = edge[edge >= 0]
    problem, at = _with_level(c.problem, changes_level(c.problem, old_edges), changes_first)
    hint = feasible_subset(problem, old_edges)
    solution = get_strategy(strategy)(problem, time_limit=time_limit, seed=seed, hint=hint,
                                      log=log)
    n_levels = len(c.problem.levels)
    alloc = decode(c, _strip_level(solution, at, n_levels))
    changes = diff(old, alloc, season)
    counts = changes["change"].value_counts()
    present = old.assignments["student_id"].astype(str).isin(season.students["student_id"])
    kept_value = int(solution.objective[at]) if len(solution.objective) > at else None
    summary = {
        "from": str(old.path),
        "mode": "changes-first" if changes_first else "policy-first",
        "counts": {k: int(counts.get(k, 0)) for k in CHANGE_KINDS},
        "changes": int(counts.get("moved", 0) + counts.get("dropped", 0)),
        "old_placed_present": int(present.sum()),
        "old_placements_still_eligible": len(old_edges),
        "kept_level": {"position": at + 1, "value": kept_value,
                       "proven": solution.proven > at},
        "objective_before": old.metrics.get("objective", {}),
        "objective_after": alloc.metrics["objective"],
    }
    metrics = {**alloc.metrics, "resolve": summary}
    if season.folder is not None:
        metrics["season"] = str(Path(season.folder).resolve())
    return Resolved(replace(alloc, metrics=metrics), changes, summary)


def diff(old: ResultFolder, alloc: Allocation, season: Season) -> pd.DataFrame:
    """One row per student placed before or now, or withdrawn: before, after, and the kind."""
    def where(a: pd.DataFrame) -> dict[str, tuple[str, int, int]]:
        return {str(s): (str(t), int(p), int(d)) for s, t, p, d in zip(
            a["student_id"], a["slot_id"], a["start_period"], a["duration_months"], strict=True)}

    before, after = where(old.assignments), where(alloc.assignments)
    now = set(season.students["student_id"].astype(str))
    known = set(before) | set(old.unplaced["student_id"].astype(str))
    rows = []
    for sid in sorted(set(before) | set(after) | (known - now)):
        b, a = before.get(sid), after.get(sid)
        if sid not in now:
            kind = "withdrawn"
        elif b is None:
            kind = "placed"
        elif a is None:
            kind = "dropped"
        else:
            kind = "kept" if a == b else "moved"
        rows.append([sid, *(b or (None, None, None)), *(a or (None, None, None)), kind])
    out = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    for col in CHANGE_COLUMNS:
        if col.endswith(("start_period", "duration_months")):
            out[col] = out[col].astype("Int64")
    return out


def write_resolved(resolved: Resolved, out: str | Path) -> Path:
    """The result folder of DESIGN §6 plus `changes.csv`, written whole or not at all."""
    return write_result(resolved.allocation, out, extra={"changes": resolved.changes})
