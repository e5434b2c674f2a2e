"""From a near-feasible point to a feasible allocation: drop what breaks a row, then fill.

A Lagrangian flow solution keeps the network rows but may overrun a relaxed one (a budget, a
second period's seats). `repair` removes, row by row, the chosen edges worth least per unit of
the row until it holds; closes order classes below their minimum and drops triggers of unmet
priorities; then `fill` adds the best edges of unplaced agents while every row has room.
"""

from __future__ import annotations

import numpy as np

from solvers.lp import settle_groups_and_priorities
from solvers.problem import Problem

__all__ = ["EdgeRows", "fill", "repair"]


class EdgeRows:
    """The rows of a Problem transposed: the rows (and coefficients) each edge sits in."""

    def __init__(self, problem: Problem) -> None:
        rows = problem.rows
        owner = np.repeat(np.arange(len(rows)), np.diff(rows.ptr))
        order = np.argsort(rows.index, kind="stable")
        self.row = owner[order]
        self.coef = rows.coef[order]
        self.ptr = np.searchsorted(rows.index[order], np.arange(problem.n_edges + 1))
        self.owner = owner
        self.problem = problem

    def loads(self, x: np.ndarray) -> np.ndarray:
        """Left-hand side of every row at the 0/1 point `x` (a bool mask over edges)."""
        rows = self.problem.rows
        return np.bincount(self.owner, weights=rows.coef * x[rows.index],
                           minlength=len(rows)).astype(np.int64)


def repair(problem: Problem, x: np.ndarray, weight: np.ndarray, er: EdgeRows) -> np.ndarray:
    """Make the bool mask `x` (at most one edge per agent) satisfy every row, group and
    priority by removing edges, least `weight` per unit of the broken row first. In place."""
    rows, rhs = problem.rows, problem.rhs
    lhs = er.loads(x)
    for r in np.flatnonzero(lhs > rhs):
        idx, coef = rows.row(int(r))
        on = x[idx]
        idx, coef = idx[on], coef[on]
        over = int(coef.sum()) - int(rhs[r])
        if over <= 0:
            continue  # an earlier removal already made room
        order = np.lexsort((-idx, weight[idx] / np.maximum(coef, 1)))
        cut = int(np.searchsorted(np.cumsum(coef[order]), over)) + 1
        x[idx[order[:cut]]] = False
    settle_groups_and_priorities(problem, x)
    return x


def fill(problem: Problem, x: np.ndarray, weight: np.ndarray, er: EdgeRows,
         first: np.ndarray | None = None) -> np.ndarray:
    """Add edges of unplaced agents, best `weight` first (edges in `first` before all), while
    every row keeps room, no order class below its minimum opens, and no priority trigger is
    taken before its agents are placed. In place; `x` must be feasible on entry."""
    p = problem
    slack = p.rhs - er.loads(x)
    placed = np.zeros(p.n_agents, dtype=bool)
    placed[p.edge_agent[x]] = True
    cand = (~placed[p.edge_agent]) & (weight > 0)
    if first is not None:
        cand |= np.isin(np.arange(p.n_edges), first) & ~placed[p.edge_agent]
    # an edge in a closed order class with a minimum above one cannot open it on its own
    in_closed = _closed_group_edges(p, x)
    cand &= ~in_closed
    # rows already too full for the edge, checked at once before the loop
    tight = er.coef > slack[er.row]
    blocked = np.zeros(p.n_edges, dtype=bool)
    if tight.any():
        blocked[np.repeat(np.arange(p.n_edges), np.diff(er.ptr))[tight]] = True
    cand &= ~blocked
    idx = np.flatnonzero(cand)
    if not len(idx):
        return x
    bonus = np.zeros(p.n_edges)
    if first is not None and len(first):
        bonus[first] = 1.0
    order = idx[np.lexsort((idx, -weight[idx], -bonus[idx]))]
    unmet, trig_of, agent_prios = _priority_state(p, placed)
    rptr, rrow, rcoef = er.ptr, er.row, er.coef
    agent = p.edge_agent
    for e in order.tolist():
        a = agent[e]
        if placed[a]:
            continue
        lo, hi = rptr[e], rptr[e + 1]
        rs = rrow[lo:hi]
        cs = rcoef[lo:hi]
        if (cs > slack[rs]).any():
            continue
        if trig_of is not None and any(unmet[k] for k in trig_of.get(e, ())):
            continue
        slack[rs] -= cs
        x[e] = True
        placed[a] = True
        if agent_prios is not None:
            for k in agent_prios.get(a, ()):
                unmet[k] -= 1
    return x


def _closed_group_edges(p: Problem, x: np.ndarray) -> np.ndarray:
    out = np.zeros(p.n_edges, dtype=bool)
    for g in range(len(p.groups)):
        idx, _ = p.groups.row(g)
        if p.group_min[g] > 1 and not x[idx].any():
            out[idx] = True
    return out


def _priority_state(p: Problem, placed: np.ndarray
                    ) -> tuple[np.ndarray, dict | None, dict | None]:
    """Unplaced required agents per priority pair, and the maps edge -> pairs it triggers and
    agent -> pairs that need it."""
    if not len(p.priority_triggers):
        return np.zeros(0, dtype=np.int64), None, None
    unmet = np.zeros(len(p.priority_triggers), dtype=np.int64)
    trig_of: dict[int, list[int]] = {}
    agent_prios: dict[int, list[int]] = {}
    for k in range(len(p.priority_triggers)):
        trig, _ = p.priority_triggers.row(k)
        agents, _ = p.priority_agents.row(k)
        unmet[k] = int((~placed[agents]).sum())
        for e in trig.tolist():
            trig_of.setdefault(e, []).append(k)
        for a in agents.tolist():
            agent_prios.setdefault(a, []).append(k)
    return unmet, trig_of, agent_prios

