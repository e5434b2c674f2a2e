"""Stability (no blocking pair) as linear rows over the edge columns, for a MIP.

The same rule as CP-SAT's model (`solvers.cpsat`) and `Problem.blocking_pairs`: for every
agent and every slot it has an edge to, either the agent holds a slot it ranks at least as high,
or the slot has no room in any of its options and holds nobody it ranks below the agent. Three
kinds of binary columns carry it, numbered from `base`: `full` per (slot, period), the slot's
seats that period all taken; `no_room` per slot, every option of the slot has a full period;
`held` per (agent, slot), the agent is kept out of the slot (it needs `no_room` and no holder
ranked lower).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from solvers.problem import Problem

__all__ = ["StabilityRows", "agent_slot_pairs", "stability_rows"]

Row = tuple[np.ndarray, np.ndarray, float, float]  # columns, coefficients, lower, upper


@dataclass(frozen=True)
class StabilityRows:
    """The columns and rows of stability; `values` gives the new columns for an allocation."""

    n_cols: int
    rows: list[Row]
    full_members: list[np.ndarray]  # per `full` column: the edges using that slot and period
    full_cap: np.ndarray
    option_fulls: list[tuple[int, np.ndarray]]  # (no_room column offset, `full` offsets)
    held_better: list[np.ndarray]  # per `held` column: the agent's edges ranked as high
    n_full: int
    n_slot: int

    def values(self, x: np.ndarray) -> np.ndarray:
        """The new columns' values (in order) for the 0/1 edge vector `x`: consistent with the
        rows whenever `x` has no blocking pair."""
        out = np.zeros(self.n_cols)
        for i, (members, cap) in enumerate(zip(self.full_members, self.full_cap, strict=True)):
            out[i] = float(x[members].sum() >= cap)
        no_room = np.ones(self.n_slot, dtype=bool)
        for slot, fulls in self.option_fulls:
            no_room[slot] &= bool(out[fulls].any())
        out[self.n_full:self.n_full + self.n_slot] = no_room
        base = self.n_full + self.n_slot
        for j, better in enumerate(self.held_better):
            out[base + j] = float(not x[better].any())
        return out


def agent_slot_pairs(problem: Problem) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Every (agent, slot) pair the agent has an edge to, with the agent's edges it ranks at
    least as high as that slot and the slot's edges to agents the slot ranks below it: the
    pair blocks unless one of the first is chosen, or the slot is full and none of the second
    is."""
    p = problem
    r = p.ranking
    if r is None:
        raise ValueError("stability needs both sides' ranks (ranking)")
    edge_slot = r.option_slot[p.edge_option]
    holders = {int(t): np.flatnonzero(edge_slot == t) for t in np.unique(edge_slot)}
    ptr = p.agent_ptr
    for a in range(p.n_agents):
        lo, hi = int(ptr[a]), int(ptr[a + 1])
        own = np.arange(lo, hi)
        for t in np.unique(edge_slot[lo:hi]):
            e0 = lo + int(np.flatnonzero(edge_slot[lo:hi] == t)[0])
            better = own[r.edge_student_rank[own] <= r.edge_student_rank[e0]]
            held = holders[int(t)]
            yield a, int(t), better, held[r.edge_slot_rank[held] > r.edge_slot_rank[e0]]


def stability_rows(problem: Problem, base: int) -> StabilityRows:
    """Stability of `problem` (which has a `ranking`) as rows over its edges (columns
    0..n_edges-1) and `n_cols` new binary columns numbered from `base`."""
    p = problem
    r = p.ranking
    if r is None:
        raise ValueError("stability needs both sides' ranks (ranking)")
    edge_slot = r.option_slot[p.edge_option]
    by_option = np.argsort(p.edge_option, kind="stable")
    opt_ptr = np.searchsorted(p.edge_option[by_option], np.arange(p.n_options + 1))
    slots = np.unique(edge_slot)
    slot_col = {int(t): i for i, t in enumerate(slots)}
    full_col: dict[tuple[int, int], int] = {}
    full_members: list[list[int]] = []
    full_cap: list[int] = []
    option_fulls: list[tuple[int, list[int]]] = []
    for o in range(p.n_options):
        t = int(r.option_slot[o])
        if t not in slot_col:
            continue  # nobody has an edge to this slot: it can block nobody
        s0, d = int(r.option_start[o]), int(r.option_span[o])
        fulls = []
        for q in range(s0, s0 + d):
            if (t, q) not in full_col:
                full_col[(t, q)] = len(full_members)
                full_members.append([])
                full_cap.append(int(r.slot_capacity[t]))
            full_members[full_col[(t, q)]].extend(by_option[opt_ptr[o]:opt_ptr[o + 1]].tolist())
            fulls.append(full_col[(t, q)])
        option_fulls.append((slot_col[t], fulls))
    n_full, n_slot = len(full_members), len(slots)
    full0, slot0, held0 = base, base + n_full, base + n_full + n_slot
    rows: list[Row] = []
    for i, (members, cap) in enumerate(zip(full_members, full_cap, strict=True)):
        # full => the period's seats are all taken: sum(members) - cap * full >= 0
        rows.append((np.r_[members, full0 + i].astype(np.int64),
                     np.r_[np.ones(len(members)), -float(cap)], 0.0, np.inf))
    for slot, fulls in option_fulls:
        # no room => this option has a full period: sum(full) - no_room >= 0
        rows.append((np.r_[full0 + np.asarray(fulls), slot0 + slot].astype(np.int64),
                     np.r_[np.ones(len(fulls)), -1.0], 0.0, np.inf))
    held_better: list[np.ndarray] = []
    for _, t, better, worse in agent_slot_pairs(p):
        z = held0 + len(held_better)
        held_better.append(better)
        # placed as high, or held out: sum(better) + held >= 1
        rows.append((np.r_[better, z].astype(np.int64), np.ones(len(better) + 1), 1.0, np.inf))
        if len(worse):  # held out => nobody ranked lower holds it
            rows.append((np.r_[worse, z].astype(np.int64),
                         np.r_[np.ones(len(worse)), float(len(worse))],
                         -np.inf, float(len(worse))))
        # held out => the slot has no room
        rows.append((np.array([z, slot0 + slot_col[t]], dtype=np.int64),
                     np.array([1.0, -1.0]), -np.inf, 0.0))
    return StabilityRows(n_full + n_slot + len(held_better), rows,
                         [np.asarray(m, dtype=np.int64) for m in full_members],
                         np.asarray(full_cap, dtype=np.int64),
                         [(s, np.asarray(f, dtype=np.int64)) for s, f in option_fulls],
                         held_better, n_full, n_slot)
