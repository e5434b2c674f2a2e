"""LP relaxation of a Problem level in HiGHS: a valid upper bound, the fractional point and the
reduced costs, for bounding, reduced-cost fixing and rounding a first feasible allocation.

The relaxation keeps the agent rows, the packing rows, the covers and the earlier levels fixed at
their optimum; it drops the order-class minimums and the priority pairs. Dropping constraints of
a maximisation only raises its optimum, so the value stays a valid bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from solvers.problem import Level, Problem

__all__ = ["LPBound", "lp_bound", "round_down"]


@dataclass(frozen=True)
class LPBound:
    """The LP optimum of one level (an upper bound), the edge values and their reduced costs."""

    value: float
    x: np.ndarray
    reduced_cost: np.ndarray
    optimal: bool


def _level_row(problem: Problem, level: Level, n_cover: int) -> tuple[np.ndarray, np.ndarray]:
    nz = np.flatnonzero(level.weights)
    idx = nz
    val = level.weights[nz].astype(float)
    if level.cover_weight and n_cover:
        idx = np.r_[idx, problem.n_edges + np.arange(n_cover)]
        val = np.r_[val, np.full(n_cover, float(level.cover_weight))]
    return idx.astype(np.int32), val


def lp_bound(problem: Problem, level: int, fixed: list[int], time_limit: float = 30.0
             ) -> LPBound | None:
    """Solve the LP relaxation of `problem.levels[level]`, with the earlier levels held at least
    at `fixed` (their proven optima). None when HiGHS does not reach an optimal LP."""
    n = problem.n_edges
    covers = problem.covers
    n_cover = len(covers)
    if n + n_cover == 0:
        return LPBound(0.0, np.zeros(0), np.zeros(0), True)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(0.1, float(time_limit)))
    h.setOptionValue("simplex_strategy", 4)  # primal: x = 0 is feasible; 5x faster here than dual
    inf = highspy.kHighsInf
    lv = problem.levels[level]
    cost = np.zeros(n + n_cover)
    cost[:n] = lv.weights
    cost[n:] = lv.cover_weight
    h.addVars(n + n_cover, np.zeros(n + n_cover), np.ones(n + n_cover))
    h.changeColsCost(n + n_cover, np.arange(n + n_cover, dtype=np.int32), cost)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    ptr = problem.agent_ptr
    h.addRows(problem.n_agents, np.full(problem.n_agents, -inf), np.ones(problem.n_agents), n,
              ptr[:-1].astype(np.int32), np.arange(n, dtype=np.int32), np.ones(n))
    rows = problem.rows
    if len(rows):
        h.addRows(len(rows), np.full(len(rows), -inf), problem.rhs.astype(float),
                  len(rows.index), rows.ptr[:-1].astype(np.int32), rows.index.astype(np.int32),
                  rows.coef.astype(float))
    if n_cover:  # cover_c - sum(x in cover) <= 0
        lens = np.diff(covers.ptr)
        starts = (covers.ptr[:-1] + np.arange(n_cover)).astype(np.int32)
        idx = np.empty(len(covers.index) + n_cover, dtype=np.int32)
        val = np.empty(len(idx))
        for c in range(n_cover):
            s = starts[c]
            idx[s] = n + c
            val[s] = 1.0
            idx[s + 1:s + 1 + lens[c]] = covers.index[covers.ptr[c]:covers.ptr[c + 1]]
            val[s + 1:s + 1 + lens[c]] = -1.0
        h.addRows(n_cover, np.full(n_cover, -inf), np.zeros(n_cover), len(idx), starts, idx, val)
    for k, value in enumerate(fixed):
        idx, val = _level_row(problem, problem.levels[k], n_cover)
        h.addRow(float(value) - 1e-6, inf, len(idx), idx, val)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    x = np.asarray(sol.col_value[:n])
    rc = np.asarray(sol.col_dual[:n])
    return LPBound(float(h.getInfo().objective_function_value), x, rc, True)


def round_down(problem: Problem, x: np.ndarray) -> np.ndarray:
    """A feasible allocation from a fractional point: the edges at 1 (every packing row has
    non-negative coefficients, so any subset of a feasible point stays within its rows), minus
    what an order-class minimum or a priority pair then forbids."""
    keep = x > 1 - 1e-6
    _settle_groups_and_priorities(problem, keep)
    return np.flatnonzero(keep)


def _settle_groups_and_priorities(problem: Problem, keep: np.ndarray) -> None:
    """Close groups below their minimum and drop triggers of unmet priorities (both only
    remove edges, which keeps every packing row satisfied); repeat until stable."""
    changed = True
    while changed:
        changed = False
        for g in range(len(problem.groups)):
            idx, _ = problem.groups.row(g)
            k = int(keep[idx].sum())
            if 0 < k < problem.group_min[g]:
                keep[idx] = False
                changed = True
        placed = np.zeros(problem.n_agents, dtype=bool)
        placed[problem.edge_agent[keep]] = True
        for p in range(len(problem.priority_triggers)):
            trig, _ = problem.priority_triggers.row(p)
            if keep[trig].any():
                agents, _ = problem.priority_agents.row(p)
                if not placed[agents].all():
                    keep[trig] = False
                    changed = True
