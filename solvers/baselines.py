"""The mechanisms coordinators use, as strategies over a Problem: deferred acceptance (either
side proposing), Boston, serial dictatorship, and a greedy pass over the objective.

How a slot with several periods and durations is offered to a mechanism (DESIGN §4a.14 leaves
this to the strategy): the season is tiled from period 1 with consecutive windows, each the
longest duration the slot offers from that start (3;6 months over 3 periods: 6 months from
period 1, then 3 months from period 3); its seats are capacity × windows. A matched student gets
the window given by their place in the slot's own order (the first `capacity` students the first
window, and so on). Every period the slot can use lies in exactly one window, so a seat is free
exactly when some option of the slot has room: the audit's blocking pairs and the mechanism's
agree. On a one-period season of 3-month slots this is exactly hospitals/residents.

Budgets, caps, order-class minimums and poor-first are not part of the mechanisms: they are
applied afterwards in the mechanism's own order (first choices first, then the slot's order),
and whatever they cut is counted in `Solution.info["cut"]`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from solvers.lp import settle_groups_and_priorities
from solvers.mechanisms import (
    Market,
    boston,
    break_ties,
    da_enterprise,
    da_student,
    serial_dictatorship,
)
from solvers.problem import Problem
from solvers.registry import register
from solvers.solution import Solution, Status

__all__ = ["MarketView", "apply_rows"]


class MarketView:
    """A Problem seen as a two-sided market of (agent, slot) pairs with seats per slot."""

    def __init__(self, problem: Problem, seed: int = 0) -> None:
        r = problem.ranking
        if r is None:
            raise ValueError("this strategy needs Problem.ranking (both sides' ranks)")
        self.problem = problem
        n_slots = r.n_slots
        edge_slot = r.option_slot[problem.edge_option]
        key = problem.edge_agent * n_slots + edge_slot
        _, first = np.unique(key, return_index=True)
        self.pair_edge = first  # one representative edge per (agent, slot) pair
        self.windows = _windows(r.option_slot, r.option_start, r.option_span, n_slots)
        seats = r.slot_capacity * np.array([len(w) for w in self.windows], dtype=np.int64)
        market = Market(
            n_students=problem.n_agents, n_slots=n_slots, capacity=seats,
            pair_student=problem.edge_agent[first], pair_slot=edge_slot[first],
            student_rank=r.edge_student_rank[first], slot_rank=r.edge_slot_rank[first])
        self.market = break_ties(market, seed)

    def edges_of(self, match: np.ndarray) -> np.ndarray:
        """Edges for a matching (slot per agent, -1 unmatched), each in its window, ordered
        first choices first, then by the slot's own order."""
        p, m = self.problem, self.market
        pair_of = {(int(s), int(t)): i for i, (s, t) in enumerate(zip(m.pair_student,
                                                                       m.pair_slot,
                                                                       strict=True))}
        agents = np.flatnonzero(match >= 0)
        pairs = np.array([pair_of[(int(a), int(match[a]))] for a in agents], dtype=np.int64)
        if not len(pairs):
            return np.zeros(0, dtype=np.int64)
        slots = m.pair_slot[pairs]
        # place within the slot by the slot's (tie-broken) order
        order = np.lexsort((m.slot_rank[pairs], slots))
        pos = np.empty(len(pairs), dtype=np.int64)
        starts = np.searchsorted(slots[order], slots[order], side="left")
        pos[order] = np.arange(len(pairs)) - starts
        cap = p.ranking.slot_capacity[slots]
        window = pos // np.maximum(cap, 1)
        ptr = p.agent_ptr
        out = np.empty(len(pairs), dtype=np.int64)
        for i, (a, t, w) in enumerate(zip(agents, slots, window, strict=True)):
            option = self.windows[t][w]
            lo, hi = ptr[a], ptr[a + 1]
            out[i] = lo + int(np.flatnonzero(p.edge_option[lo:hi] == option)[0])
        confirm = np.lexsort((m.slot_rank[pairs], m.student_rank[pairs]))
        return out[confirm]


def _windows(option_slot: np.ndarray, option_start: np.ndarray, option_span: np.ndarray,
             n_slots: int) -> list[list[int]]:
    """Per slot, options that tile the season from period 1: at each start the longest span
    the slot offers there (so every period the slot can use is in exactly one window)."""
    out: list[list[int]] = [[] for _ in range(n_slots)]
    by_slot: dict[int, dict[tuple[int, int], int]] = {}
    for o, (t, s, d) in enumerate(zip(option_slot, option_start, option_span, strict=True)):
        by_slot.setdefault(int(t), {})[(int(s), int(d))] = o
    for t, opts in by_slot.items():
        spans = sorted({d for _, d in opts}, reverse=True)
        start = 1
        while (span := next((d for d in spans if (start, d) in opts), None)) is not None:
            out[t].append(opts[(start, span)])
            start += span
    return out


class _Loads:
    """Running left-hand sides of the packing rows, to take edges one by one while they fit."""

    def __init__(self, problem: Problem) -> None:
        rows = problem.rows
        n = problem.n_edges
        self.rhs = problem.rhs
        self.load = np.zeros(len(rows), dtype=np.int64)
        self.cols = sp.csr_matrix((rows.coef, rows.index, rows.ptr),
                                  shape=(len(rows), n)).tocsc()

    def take(self, e: int) -> bool:
        lo, hi = self.cols.indptr[e], self.cols.indptr[e + 1]
        r, c = self.cols.indices[lo:hi], self.cols.data[lo:hi]
        if np.any(self.load[r] + c > self.rhs[r]):
            return False
        self.load[r] += c
        return True


def apply_rows(problem: Problem, edges: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Keep the placements in order while every packing row (caps, budgets) allows them, then
    close order classes below their minimum and drop what poor-first forbids."""
    loads = _Loads(problem)
    kept = np.asarray([e for e in edges if loads.take(int(e))], dtype=np.int64)
    keep = np.zeros(problem.n_edges, dtype=bool)
    keep[kept] = True
    settle_groups_and_priorities(problem, keep)
    out = np.flatnonzero(keep)
    return out, {"rows": len(edges) - len(kept), "min_size_or_poor_first": len(kept) - len(out)}


def _finish(name: str, problem: Problem, edges: np.ndarray, cut: dict, start: float,
            seed: int, extra: dict | None = None) -> Solution:
    values = problem.level_values(edges)
    info = {"cut": cut, **(extra or {})}
    return Solution(name, edges, Status.FEASIBLE, values, 0, float("nan"), float("nan"),
                    time.perf_counter() - start, seed, "", info)


def _mechanism(name: str, run: Callable[[MarketView], np.ndarray]):
    def strategy(problem: Problem, *, time_limit: float = 60.0, seed: int = 0,
                 hint: np.ndarray | None = None,
                 log: bool | Callable[[str], None] | None = None) -> Solution:
        start = time.perf_counter()
        view = MarketView(problem, seed)
        match = run(view)
        matched = int(np.count_nonzero(match >= 0))
        edges, cut = apply_rows(problem, view.edges_of(match))
        if callable(log):
            log(f"{name}: {matched} matched, cut {cut}")
        return _finish(name, problem, edges, cut, start, seed, {"matched": matched})

    strategy.__name__ = f"solve_{name.replace('-', '_')}"
    strategy.__doc__ = f"Strategy {name!r}: the mechanism, then budgets and caps in its order."
    return register(name)(strategy)


solve_da_student = _mechanism("da-student", lambda v: da_student(v.market))
solve_da_enterprise = _mechanism("da-enterprise", lambda v: da_enterprise(v.market))
solve_boston = _mechanism("boston", lambda v: boston(v.market))
solve_serial_dictatorship = _mechanism(
    "serial-dictatorship",
    lambda v: serial_dictatorship(v.market, np.argsort(v.problem.ranking.agent_priority,
                                                       kind="stable")))


@register("greedy")
def solve_greedy(problem: Problem, *, time_limit: float = 60.0, seed: int = 0,
                 hint: np.ndarray | None = None,
                 log: bool | Callable[[str], None] | None = None) -> Solution:
    """Edges in order of the objective levels (best first, ties by agent priority); each is
    taken when its agent is still free and every packing row allows it."""
    start = time.perf_counter()
    keys = [problem.ranking.agent_priority[problem.edge_agent]] if problem.ranking else []
    keys += [-lv.weights for lv in reversed(problem.levels)]
    order = np.lexsort(keys) if keys else np.arange(problem.n_edges)
    loads = _Loads(problem)
    taken = np.zeros(problem.n_agents, dtype=bool)
    chosen = []
    for e in order:
        a = problem.edge_agent[e]
        if not taken[a] and loads.take(int(e)):
            taken[a] = True
            chosen.append(int(e))
    keep = np.zeros(problem.n_edges, dtype=bool)
    keep[chosen] = True
    settle_groups_and_priorities(problem, keep)
    edges = np.flatnonzero(keep)
    return _finish("greedy", problem, edges, {"min_size_or_poor_first": len(chosen) - len(edges)},
                   start, seed)
