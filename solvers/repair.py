"""From a near-feasible point to a feasible allocation: drop what breaks a row, then fill.

A Lagrangian flow solution keeps the network rows but may overrun a relaxed one (a budget, a
second period's seats). `repair` removes, row by row, the chosen edges worth least per unit of
the row until it holds; closes order classes below their minimum and drops triggers of unmet
priorities; then `fill` adds the best edges of unplaced agents while every row has room.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from solvers.lp import settle_groups_and_priorities
from solvers.problem import Problem

__all__ = ["EdgeRows", "economise", "fill", "repair"]

_MAX_PASSES = 60
_ECONOMY_PASSES = 5  # passes of `economise`


class EdgeRows:
    """The rows of a Problem transposed: the rows (and coefficients) each edge sits in."""

    def __init__(self, problem: Problem) -> None:
        rows = problem.rows
        owner = rows.owner()
        order = np.argsort(rows.index, kind="stable")
        self.row = owner[order]
        self.coef = rows.coef[order]
        self.ptr = np.searchsorted(rows.index[order], np.arange(problem.n_edges + 1))
        self.edge = rows.index[order]  # the edge of each entry, beside `row` and `coef`
        self.owner = owner
        self.problem = problem

    def entries(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The row entries of `edges`, edge by edge: (position in `edges`, entry index into
        `row`, `coef`)."""
        lens = self.ptr[edges + 1] - self.ptr[edges]
        pos = np.repeat(np.arange(len(edges)), lens)
        mem = np.repeat(self.ptr[edges], lens) + (np.arange(int(lens.sum()))
                                                   - np.repeat(np.cumsum(lens) - lens, lens))
        return pos, mem

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
    taken before its agents are placed. In place; `x` must be feasible on entry.

    Vectorised in passes: each unplaced agent proposes its best edge that still fits; in every
    row the proposals are taken in priority order while the row has room, and an edge is added
    when all its rows took it. The best proposal of a pass always fits, so each pass adds one
    at least; `_MAX_PASSES` passes, then the rest one edge at a time."""
    p = problem
    slack = p.rhs - er.loads(x)
    placed = np.zeros(p.n_agents, dtype=bool)
    placed[p.edge_agent[x]] = True
    bonus = np.zeros(p.n_edges)
    if first is not None and len(first):
        bonus[first] = 1.0
    useful = (weight > 0) | (bonus > 0)
    useful &= ~_closed_group_edges(p, x)  # an edge cannot open an order class on its own
    prio = _Priorities(p, placed)
    for _ in range(_MAX_PASSES):
        cand = useful & ~placed[p.edge_agent] & ~prio.waiting()
        tight = er.coef > slack[er.row]
        if tight.any():
            cand[er.edge[tight]] = False
        idx = np.flatnonzero(cand)
        if not len(idx):
            return x
        order = idx[np.lexsort((idx, -weight[idx], -bonus[idx]))]
        _, first_pos = np.unique(p.edge_agent[order], return_index=True)
        chosen = order[np.sort(first_pos)]  # one proposal per agent, in priority order
        pos, mem = er.entries(chosen)
        rows, coefs = er.row[mem], er.coef[mem]
        ok = np.ones(len(chosen), dtype=bool)
        np.logical_and.at(ok, pos, _first_come(pos, rows, coefs, slack))
        if not ok.any():
            break
        take = chosen[ok]
        x[take] = True
        placed[p.edge_agent[take]] = True
        np.subtract.at(slack, rows[ok[pos]], coefs[ok[pos]])
        prio.placed(p.edge_agent[take])
    return _fill_one_by_one(p, x, weight, bonus, useful, er, slack, placed, prio)


def economise(problem: Problem, x: np.ndarray, er: EdgeRows, keep: int,
              passes: int = _ECONOMY_PASSES) -> int:
    """Move placed agents to a cheaper edge of their own, in place: one that takes no more
    from any budget (row with a coefficient other than 1) and less from one, lowers none of
    levels 0..`keep`, and fits in the room its rows have (with what the old edge frees). An
    order class keeps its minimum and only open ones are joined; a cover is never left and
    a priority trigger never joined. A fill afterwards can spend what was freed on
    agents left out: after one flow round at 500,000 students the budgets are spent, and
    6,800 placed students have a cheaper edge that still fits. Returns the moves made."""
    p = problem
    rows = p.rows
    if not len(rows) or not x.any():
        return 0
    budget = p.knapsack_rows
    if not budget.any():
        return 0
    b_index = np.cumsum(budget) - 1  # budget row -> its column in `spend`
    entry_budget = budget[er.row]
    spend_total = np.bincount(er.edge[entry_budget], weights=er.coef[entry_budget].astype(float),
                              minlength=p.n_edges)
    # an edge may leave an order class while the class keeps its minimum, and join one that
    # is open; covers are never left (a level may count them), priority triggers never joined
    memberships = np.bincount(p.groups.index, minlength=p.n_edges)
    group_of = np.full(p.n_edges, -1, dtype=np.int64)
    group_of[p.groups.index] = p.groups.owner()
    in_group = group_of >= 0
    no_leave = memberships > 1
    no_leave[p.covers.index] = True
    no_join = memberships > 1
    no_join[p.priority_triggers.index] = True
    spend = sp.csr_matrix((er.coef[entry_budget].astype(float),
                           (er.edge[entry_budget], b_index[er.row[entry_budget]])),
                          shape=(p.n_edges, int(budget.sum())))
    moves = 0
    for _ in range(passes):
        current = np.full(p.n_agents, -1, dtype=np.int64)
        chosen = np.flatnonzero(x)
        current[p.edge_agent[chosen]] = chosen
        movable = np.zeros(p.n_agents, dtype=bool)
        movable[p.edge_agent[chosen]] = (spend_total[chosen] > 0) & ~no_leave[chosen]
        members = np.bincount(group_of[chosen][group_of[chosen] >= 0],
                              minlength=len(p.groups))
        quota = np.where(members >= p.group_min, members - p.group_min, 0)
        closed = (members == 0) & (p.group_min > 1)
        shut = no_join.copy()
        shut[in_group] |= closed[group_of[in_group]]
        new = np.flatnonzero(movable[p.edge_agent] & ~shut & ~x)
        old = current[p.edge_agent[new]]
        ok = spend_total[new] < spend_total[old]
        for k in range(keep + 1):
            w = p.levels[k].weights
            ok &= w[new] >= w[old]
        new, old = new[ok], old[ok]
        if not len(new):
            break
        worse = (spend[new] - spend[old]).max(axis=1).toarray().ravel() > 0
        new, old = new[~worse], old[~worse]
        # room: every row of the new edge, net of what the old edge frees in the same row
        slack = p.rhs - er.loads(x)
        pair, mem = er.entries(new)
        r = er.row[mem]
        need = er.coef[mem] - _freed(er, old, pair, r)
        fits = np.ones(len(new), dtype=bool)
        np.logical_and.at(fits, pair, need <= slack[r])
        # one move per agent, the largest saving first; rows take moves while they have room
        saving = spend_total[old] - spend_total[new]
        cand = np.flatnonzero(fits)
        if not len(cand):
            break
        cand = cand[np.lexsort((new[cand], -saving[cand], p.edge_agent[new[cand]]))]
        cand = cand[np.r_[True, p.edge_agent[new[cand[1:]]] != p.edge_agent[new[cand[:-1]]]]]
        cand = cand[np.lexsort((new[cand], -saving[cand]))]
        rank = np.full(len(new), -1, dtype=np.int64)
        rank[cand] = np.arange(len(cand))
        sel = rank[pair] >= 0
        take = np.ones(len(cand), dtype=bool)
        np.logical_and.at(take, rank[pair[sel]],
                          _first_come(rank[pair[sel]], r[sel], np.maximum(need[sel], 0), slack))
        # an order class loses no more members than it has above its minimum
        leaving = take & (group_of[old[cand]] >= 0) & (group_of[new[cand]] != group_of[old[cand]])
        if leaving.any():
            pos = np.flatnonzero(leaving)
            g = group_of[old[cand[pos]]]
            by_group = np.lexsort((pos, g))
            g_sorted = g[by_group]
            nth = np.arange(len(pos)) - np.searchsorted(g_sorted, g_sorted)
            take[pos[by_group[nth >= quota[g_sorted]]]] = False
        if not take.any():
            break
        moved = cand[take]
        x[old[moved]] = False
        x[new[moved]] = True
        moves += len(moved)
    return moves


def _first_come(pos: np.ndarray, rows: np.ndarray, amounts: np.ndarray, slack: np.ndarray
                ) -> np.ndarray:
    """Per entry (proposal `pos`, row, amount): whether its row still has room for it when
    every row serves its entries in the order of `pos`, counting all those before it."""
    fits = np.ones(len(pos), dtype=bool)
    if not len(pos):
        return fits
    by_row = np.lexsort((pos, rows))
    r_sorted, a_sorted = rows[by_row], amounts[by_row]
    csum = np.cumsum(a_sorted)
    start = np.r_[0, np.flatnonzero(r_sorted[1:] != r_sorted[:-1]) + 1]
    base = np.repeat(csum[start] - a_sorted[start], np.diff(np.r_[start, len(csum)]))
    fits[by_row] = (csum - base) <= slack[r_sorted]
    return fits


def _freed(er: EdgeRows, old: np.ndarray, pair: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """What `old[pair]` takes from each row of `rows` (0 where it is not in it): the room a
    move frees in the rows its new edge shares with its old one."""
    o_pos, o_mem = er.entries(old)
    n_rows = len(er.problem.rows)
    o_key = o_pos * n_rows + er.row[o_mem]
    order = np.argsort(o_key)
    o_key, o_coef = o_key[order], er.coef[o_mem][order]
    if not len(o_key):
        return np.zeros(len(rows), dtype=np.int64)
    key = pair * n_rows + rows
    at = np.minimum(np.searchsorted(o_key, key), len(o_key) - 1)
    return np.where(o_key[at] == key, o_coef[at], 0)


def _fill_one_by_one(p: Problem, x: np.ndarray, weight: np.ndarray, bonus: np.ndarray,
                     useful: np.ndarray, er: EdgeRows, slack: np.ndarray, placed: np.ndarray,
                     prio: _Priorities) -> np.ndarray:
    """The sequential greedy for what the passes left: exact, and slow only when long."""
    idx = np.flatnonzero(useful & ~placed[p.edge_agent])
    order = idx[np.lexsort((idx, -weight[idx], -bonus[idx]))]
    rptr, rrow, rcoef, agent = er.ptr, er.row, er.coef, p.edge_agent
    for e in order.tolist():
        a = agent[e]
        if placed[a]:
            continue
        rs = rrow[rptr[e]:rptr[e + 1]]
        cs = rcoef[rptr[e]:rptr[e + 1]]
        if (cs > slack[rs]).any() or not prio.allowed(np.array([e]))[0]:
            continue
        slack[rs] -= cs
        x[e] = True
        placed[a] = True
        prio.placed(np.array([a]))
    return x


class _Priorities:
    """Priority pairs during a fill: how many required agents each pair still waits for."""

    def __init__(self, p: Problem, placed: np.ndarray) -> None:
        self.p = p
        n = len(p.priority_triggers)
        self.trig_owner = np.repeat(np.arange(n), np.diff(p.priority_triggers.ptr))
        self.agent_owner = np.repeat(np.arange(n), np.diff(p.priority_agents.ptr))
        need = ~placed[p.priority_agents.index] if n else np.zeros(0, dtype=bool)
        self.unmet = np.bincount(self.agent_owner[need], minlength=n)
        self.is_required = np.zeros(p.n_agents, dtype=bool)
        if n:
            self.is_required[p.priority_agents.index] = True

    def waiting(self) -> np.ndarray:
        """Edges that trigger a pair still waiting for one of its agents."""
        out = np.zeros(self.p.n_edges, dtype=bool)
        if len(self.unmet):
            out[self.p.priority_triggers.index[self.unmet[self.trig_owner] > 0]] = True
        return out

    def allowed(self, edges: np.ndarray) -> np.ndarray:
        if not len(self.unmet):
            return np.ones(len(edges), dtype=bool)
        return ~self.waiting()[edges]

    def placed(self, agents: np.ndarray) -> None:
        if not len(self.unmet) or not self.is_required[agents].any():
            return
        hit = np.isin(self.p.priority_agents.index, agents)
        np.subtract.at(self.unmet, self.agent_owner[hit], 1)


def _closed_group_edges(p: Problem, x: np.ndarray) -> np.ndarray:
    out = np.zeros(p.n_edges, dtype=bool)
    for g in range(len(p.groups)):
        idx, _ = p.groups.row(g)
        if p.group_min[g] > 1 and not x[idx].any():
            out[idx] = True
    return out
