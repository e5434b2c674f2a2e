"""LP relaxation of a Problem level in HiGHS: a valid upper bound, the fractional point and the
reduced costs, for bounding, reduced-cost fixing and rounding a first feasible allocation.

The relaxation is the model of `solvers.highs` without integrality, order-class minimums and
priority pairs, with the earlier levels held at their optimum: dropping constraints of a
maximisation only raises its optimum, so the value is an upper bound on the level's.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from solvers.problem import Problem

__all__ = ["LPBound", "lp_bound", "round_down", "settle_groups_and_priorities"]


@dataclass(frozen=True)
class LPBound:
    """The LP optimum of one level (an upper bound), the edge values and their reduced costs."""

    value: float
    x: np.ndarray
    reduced_cost: np.ndarray


def lp_bound(problem: Problem, level: int, fixed: list[int], time_limit: float = 30.0,
             iteration_limit: int | None = None) -> LPBound | None:
    """Solve the LP relaxation of `problem.levels[level]`, with the earlier levels held at least
    at `fixed` (their proven optima). None when HiGHS does not reach an optimal LP (within
    `time_limit` seconds, or `iteration_limit` simplex iterations, which is reproducible)."""
    from solvers.highs import MipModel

    n = problem.n_edges
    if n + len(problem.covers) == 0:
        return LPBound(0.0, np.zeros(0), np.zeros(0))
    m = MipModel(problem, relax=True, side_rows=False)  # the side rows rarely tighten it
    for k, value in enumerate(fixed):
        m.fix_level(k, value)
    m.set_objective(level)
    h = m.h
    h.setOptionValue("time_limit", max(0.1, float(time_limit)))
    if iteration_limit is not None:
        h.setOptionValue("simplex_iteration_limit", int(iteration_limit))
    h.setOptionValue("simplex_strategy", 4)  # primal: x = 0 is feasible; 5x faster here than dual
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    x = np.asarray(sol.col_value[:n])
    rc = np.asarray(sol.col_dual[:n])
    return LPBound(float(h.getInfo().objective_function_value), x, rc)


def round_down(problem: Problem, x: np.ndarray) -> np.ndarray:
    """A feasible allocation from a fractional point: the edges at 1 (every packing row has
    non-negative coefficients, so any subset of a feasible point stays within its rows), minus
    what an order-class minimum or a priority pair then forbids."""
    keep = x > 1 - 1e-6
    settle_groups_and_priorities(problem, keep)
    return np.flatnonzero(keep)


def settle_groups_and_priorities(problem: Problem, keep: np.ndarray) -> None:
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
