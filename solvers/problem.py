"""The numeric problem every strategy solves: agents, options, eligible edges and side rows.

Everything is a numpy array, validated once on construction and never changed afterwards, so a
researcher can build a `Problem` by hand and hand it to any strategy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["Level", "Problem", "Ranking", "SparseRows", "lexicographic_priority"]


def _as_array(values: object, dtype: type) -> np.ndarray:
    arr = np.ascontiguousarray(values, dtype=dtype)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class SparseRows:
    """Rows in compressed form: row i holds `index[ptr[i]:ptr[i+1]]` with coefficients `coef`."""

    ptr: np.ndarray
    index: np.ndarray
    coef: np.ndarray

    @classmethod
    def from_lists(
        cls, rows: list[list[int]] | list[np.ndarray], coefs: list[list[int]] | None = None
    ) -> SparseRows:
        lengths = [len(r) for r in rows]
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(lengths)
        index = np.concatenate([np.asarray(r, dtype=np.int64) for r in rows]) if rows else []
        if coefs is None:
            coef = np.ones(int(ptr[-1]), dtype=np.int64)
        else:
            coef = np.concatenate([np.asarray(c, dtype=np.int64) for c in coefs]) if rows else []
        return cls(ptr, index, coef)

    @classmethod
    def empty(cls) -> SparseRows:
        return cls(np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))

    def __post_init__(self) -> None:
        object.__setattr__(self, "ptr", _as_array(self.ptr, np.int64))
        object.__setattr__(self, "index", _as_array(self.index, np.int64))
        object.__setattr__(self, "coef", _as_array(self.coef, np.int64))
        if self.ptr.ndim != 1 or len(self.ptr) < 1 or self.ptr[0] != 0:
            raise ValueError("ptr must be a 1-d array starting at 0")
        if np.any(np.diff(self.ptr) < 0) or self.ptr[-1] != len(self.index):
            raise ValueError("ptr must be non-decreasing and end at len(index)")
        if len(self.coef) != len(self.index):
            raise ValueError("coef and index must have the same length")

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.ptr[i], self.ptr[i + 1]
        return self.index[lo:hi], self.coef[lo:hi]

    def owner(self) -> np.ndarray:
        """The row of every entry, beside `index` and `coef`."""
        return np.repeat(np.arange(len(self)), np.diff(self.ptr))


@dataclass(frozen=True)
class Level:
    """One lexicographic objective level: maximise `weights @ x + cover_weight * covered`.

    `scale` turns the internal integer value into the reported one (spend is kept in fen, reported
    in yuan: scale 100).
    """

    name: str
    weights: np.ndarray
    cover_weight: int = 0
    scale: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", _as_array(self.weights, np.int64))


@dataclass(frozen=True)
class Ranking:
    """Both sides' ranks, for mechanisms and stability: options grouped into slots.

    `edge_student_rank` is the agent's rank of the edge's slot (1 = first; equal ranks are ties;
    an agent without a list ranks every slot 1). `edge_slot_rank` is the slot's rank of the
    agent (1 = best; ties allowed). `slot_capacity` is the slot's capacity per period (or its
    seats for the season); `option_slot` maps every option to its slot, `option_start`
    (1-based) and `option_span` give the periods it uses. `agent_priority` orders the agents
    for serial mechanisms (1 = first).
    """

    option_slot: np.ndarray
    option_start: np.ndarray
    option_span: np.ndarray
    slot_capacity: np.ndarray
    edge_student_rank: np.ndarray
    edge_slot_rank: np.ndarray
    agent_priority: np.ndarray

    def __post_init__(self) -> None:
        for name in ("option_slot", "option_start", "option_span", "slot_capacity",
                     "edge_student_rank", "edge_slot_rank", "agent_priority"):
            object.__setattr__(self, name, _as_array(getattr(self, name), np.int64))
        if len(self.edge_student_rank) != len(self.edge_slot_rank):
            raise ValueError("edge_student_rank and edge_slot_rank need one entry per edge")
        if len(self.edge_student_rank) and (self.edge_student_rank.min() < 1
                                            or self.edge_slot_rank.min() < 1):
            raise ValueError("ranks start at 1")
        if len(self.option_slot) and (self.option_slot.min() < 0
                                      or self.option_slot.max() >= len(self.slot_capacity)):
            raise ValueError("option_slot out of range")
        if np.any(self.slot_capacity < 0):
            raise ValueError("slot_capacity must be non-negative")

    @property
    def n_slots(self) -> int:
        return len(self.slot_capacity)


@dataclass(frozen=True)
class Problem:
    """A constrained assignment problem over eligible (agent, option) edges.

    - edges are sorted by agent; each agent takes at most one edge;
    - `rows`: packing rows `sum(coef * x[edge]) <= rhs`, labelled in `row_labels`;
    - `groups`: edge sets that hold 0 or at least `group_min` chosen edges (order classes);
    - `covers`: edge sets; a cover is "covered" when one of its edges is chosen (park coverage);
    - `priorities`: pairs (trigger edges, required agents): a trigger edge may be chosen only if
      every required agent is placed (poor students first);
    - `levels`: the lexicographic objective, first matters most;
    - `stable`: no blocking pair — an agent who strictly prefers a slot (by `ranking`) to its
      placement while the slot has room in one of its options or holds an agent it ranks
      strictly lower (weak stability: ties never block).
    """

    n_agents: int
    n_options: int
    edge_agent: np.ndarray
    edge_option: np.ndarray
    levels: tuple[Level, ...]
    rows: SparseRows = field(default_factory=SparseRows.empty)
    rhs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    row_labels: tuple[str, ...] = ()
    groups: SparseRows = field(default_factory=SparseRows.empty)
    group_min: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    covers: SparseRows = field(default_factory=SparseRows.empty)
    priority_triggers: SparseRows = field(default_factory=SparseRows.empty)
    priority_agents: SparseRows = field(default_factory=SparseRows.empty)
    ranking: Ranking | None = None
    stable: bool = False  # no blocking pair (student, slot) allowed; needs `ranking`

    def __post_init__(self) -> None:
        object.__setattr__(self, "edge_agent", _as_array(self.edge_agent, np.int64))
        object.__setattr__(self, "edge_option", _as_array(self.edge_option, np.int64))
        object.__setattr__(self, "rhs", _as_array(self.rhs, np.int64))
        object.__setattr__(self, "group_min", _as_array(self.group_min, np.int64))
        object.__setattr__(self, "levels", tuple(self.levels))
        object.__setattr__(self, "row_labels", tuple(self.row_labels))
        self._validate()

    def _validate(self) -> None:
        m = len(self.edge_agent)
        if len(self.edge_option) != m:
            raise ValueError("edge_agent and edge_option must have the same length")
        if m and (self.edge_agent.min() < 0 or self.edge_agent.max() >= self.n_agents):
            raise ValueError("edge_agent out of range")
        if m and (self.edge_option.min() < 0 or self.edge_option.max() >= self.n_options):
            raise ValueError("edge_option out of range")
        if m and np.any(np.diff(self.edge_agent) < 0):
            raise ValueError("edges must be sorted by agent")
        for name, rows in (
            ("rows", self.rows),
            ("groups", self.groups),
            ("covers", self.covers),
            ("priority_triggers", self.priority_triggers),
        ):
            if len(rows.index) and (rows.index.min() < 0 or rows.index.max() >= m):
                raise ValueError(f"{name} refer to an edge out of range")
        if len(self.priority_agents.index) and (
            self.priority_agents.index.min() < 0
            or self.priority_agents.index.max() >= self.n_agents
        ):
            raise ValueError("priority_agents refer to an agent out of range")
        if len(self.rhs) != len(self.rows):
            raise ValueError("rhs must have one entry per row")
        if self.row_labels and len(self.row_labels) != len(self.rows):
            raise ValueError("row_labels must have one entry per row")
        if np.any(self.rhs < 0):
            raise ValueError("rhs must be non-negative (the empty allocation is always feasible)")
        if len(self.group_min) != len(self.groups):
            raise ValueError("group_min must have one entry per group")
        if len(self.priority_triggers) != len(self.priority_agents):
            raise ValueError("priority_triggers and priority_agents must pair up")
        if self.stable and self.ranking is None:
            raise ValueError("a stable problem needs both sides' ranks (ranking)")
        if self.ranking is not None:
            if len(self.ranking.agent_priority) != self.n_agents:
                raise ValueError("ranking.agent_priority needs one entry per agent")
            if len(self.ranking.edge_student_rank) != m:
                raise ValueError("ranking needs one student rank and one slot rank per edge")
            if len(self.ranking.option_slot) != self.n_options:
                raise ValueError("ranking.option_slot needs one slot per option")
        for level in self.levels:
            if len(level.weights) != m:
                raise ValueError(f"level {level.name!r} needs one weight per edge")
            if level.scale <= 0:
                raise ValueError(f"level {level.name!r} needs a positive scale")

    @property
    def n_edges(self) -> int:
        return len(self.edge_agent)

    @cached_property
    def knapsack_rows(self) -> np.ndarray:
        """Mask of the packing rows with a coefficient other than 1: budgets, not seats."""
        mask = np.zeros(len(self.rows), dtype=bool)
        mask[self.rows.owner()[self.rows.coef != 1]] = True
        mask.setflags(write=False)
        return mask

    @cached_property
    def tight_rhs(self) -> np.ndarray:
        """Every row's right-hand side rounded down to a multiple of the gcd of its coefficients.

        An allocation's left-hand side is such a multiple, so the same allocations fit; a
        relaxation's fractional point fits less (a budget of 6,880,000 fen paying 60,000 a head
        holds 114 heads, not 114.67). At 2,000 students this alone closes the LP bound of the
        first three levels to below the next integer (`placed`: 1437.5 to 1436.8)."""
        rows = self.rows
        out = self.rhs.copy()
        full = np.flatnonzero(np.diff(rows.ptr) > 0)
        if len(full):
            g = np.gcd.reduceat(np.abs(rows.coef), rows.ptr[full])
            g = np.maximum(g, 1)
            out[full] = (out[full] // g) * g
        out.setflags(write=False)
        return out

    @cached_property
    def level_steps(self) -> tuple[int, ...]:
        """Per level, the gcd of its weights (and cover weight): every allocation's value on
        the level is a multiple of it (spend moves in steps of 100 yuan in the Chenzhou
        preset), so a bound may be rounded down to one."""
        out = []
        for level in self.levels:
            w = np.abs(level.weights[level.weights != 0])
            g = int(np.gcd.reduce(w)) if len(w) else 0
            if level.cover_weight and self.coverable:
                g = math.gcd(g, abs(level.cover_weight))
            out.append(max(g, 1))
        return tuple(out)

    def bound_cap(self, k: int, bound: float) -> float:
        """The best value on level k an allocation can have when `bound` bounds it: `bound`
        rounded down to a multiple of `level_steps[k]`, with a relative tolerance of 1e-6 for
        floating point. A level is proven when an allocation reaches it."""
        return float(self.bound_caps(k, np.array([bound], dtype=float))[0])

    def bound_caps(self, k: int, bounds: np.ndarray) -> np.ndarray:
        """`bound_cap` of every entry of `bounds` (infinite ones stay as they are)."""
        step = self.level_steps[k]
        units = np.asarray(bounds, dtype=float) / step
        finite = np.isfinite(units)
        out = units.copy()
        out[finite] = np.floor(units[finite] + 1e-6 * np.maximum(1.0, np.abs(units[finite])))
        return out * step

    @property
    def agent_ptr(self) -> np.ndarray:
        """CSR pointer: the edges of agent a are `agent_ptr[a]:agent_ptr[a+1]`."""
        return np.searchsorted(self.edge_agent, np.arange(self.n_agents + 1), side="left")

    def level_values(self, chosen: np.ndarray) -> tuple[int, ...]:
        """Internal integer value of every level for a list of chosen edge indices."""
        x = self.indicator(chosen)
        covered = self.covered(chosen)
        return tuple(int(lv.weights @ x) + lv.cover_weight * covered for lv in self.levels)

    def per_agent(self, reduce: np.ufunc, values: np.ndarray) -> np.ndarray:
        """`values` (one per edge) reduced over each agent's edges with `reduce`
        (`np.maximum`, `np.minimum`), for the agents that have edges."""
        ptr = self.agent_ptr
        has = np.flatnonzero(np.diff(ptr) > 0)
        return reduce.reduceat(values, ptr[has]) if len(has) else np.zeros(0, values.dtype)

    def level_ceiling(self, k: int) -> int:
        """A bound on level k no allocation can pass: each agent's best positive weight, and
        every cover that has an edge covered. For a level whose search never started."""
        level = self.levels[k]
        best = self.per_agent(np.maximum, level.weights)
        return int(np.maximum(best, 0).sum()) + max(level.cover_weight, 0) * self.coverable

    def level_floor(self, k: int) -> int:
        """A value on level k no allocation can fall below: each agent's worst negative weight
        (an agent takes one edge or none), and every cover counted when its weight is negative."""
        level = self.levels[k]
        worst = self.per_agent(np.minimum, level.weights)
        return int(np.minimum(worst, 0).sum()) + min(level.cover_weight, 0) * self.coverable

    def closed_edges(self, rhs: np.ndarray | None = None) -> np.ndarray:
        """Mask of the edges no feasible allocation can choose: one that alone passes a row's
        right-hand side (`rhs` in place of the problem's, when given), or a member of an order
        class with fewer distinct agents than its minimum (the class can never open). Leaving
        them out of a relaxation only tightens it."""
        closed = np.zeros(self.n_edges, dtype=bool)
        rhs = self.rhs if rhs is None else np.asarray(rhs)
        if len(self.rows.index):
            over = self.rows.coef > rhs[self.rows.owner()]
            closed[self.rows.index[over]] = True
        for g in range(len(self.groups)):
            idx, _ = self.groups.row(g)
            if len(np.unique(self.edge_agent[idx])) < self.group_min[g]:
                closed[idx] = True
        return closed

    @property
    def coverable(self) -> int:
        """Covers that hold an edge: the most that any allocation can cover."""
        return int(np.count_nonzero(np.diff(self.covers.ptr) > 0))

    def covered(self, chosen: np.ndarray) -> int:
        x = self.indicator(chosen)
        if not len(self.covers):
            return 0
        hits = np.bincount(self.covers.owner(), weights=x[self.covers.index],
                           minlength=len(self.covers))
        return int(np.count_nonzero(hits > 0))

    def violations(self, chosen: np.ndarray) -> list[str]:
        """Every constraint of the problem the chosen edge indices break (empty when feasible)."""
        x = self.indicator(chosen)
        out: list[str] = []
        per_agent = np.bincount(self.edge_agent, weights=x, minlength=self.n_agents)
        for a in np.flatnonzero(per_agent > 1):
            out.append(f"agent {a} holds {int(per_agent[a])} edges")
        for i in range(len(self.rows)):
            idx, coef = self.rows.row(i)
            lhs = int(coef @ x[idx])
            if lhs > self.rhs[i]:
                label = self.row_labels[i] if self.row_labels else f"row {i}"
                out.append(f"{label}: {lhs} > {int(self.rhs[i])}")
        for g in range(len(self.groups)):
            idx, _ = self.groups.row(g)
            n = int(x[idx].sum())
            if 0 < n < self.group_min[g]:
                out.append(f"group {g}: {n} chosen, below its minimum {int(self.group_min[g])}")
        for p in range(len(self.priority_triggers)):
            trig, _ = self.priority_triggers.row(p)
            if x[trig].any():
                agents, _ = self.priority_agents.row(p)
                missing = [int(a) for a in agents if per_agent[a] == 0]
                if missing:
                    out.append(f"priority {p}: triggered while agents {missing} are unplaced")
        if self.stable:
            pairs = self.blocking_pairs(chosen)
            if pairs:
                out.append(f"{len(pairs)} blocking pair(s), e.g. agent {pairs[0][0]} and slot "
                           f"{pairs[0][1]}")
        return out

    def slot_loads(self, chosen: np.ndarray) -> np.ndarray:
        """Chosen agents per (slot, period) under `ranking`, shape (n_slots, periods + 1)."""
        r = self.ranking
        x = self.indicator(chosen).astype(bool)
        opt = self.edge_option[x]
        periods = int((r.option_start + r.option_span - 1).max()) if len(r.option_start) else 0
        loads = np.zeros((r.n_slots, periods + 1), dtype=np.int64)
        for o in opt:
            t, s0, d = r.option_slot[o], r.option_start[o], r.option_span[o]
            loads[t, s0:s0 + d] += 1
        return loads

    def blocking_pairs(self, chosen: np.ndarray) -> list[tuple[int, int]]:
        """(agent, slot) pairs that block the chosen edges (see `stable`)."""
        r = self.ranking
        if r is None:
            return []
        x = self.indicator(chosen).astype(bool)
        loads = self.slot_loads(chosen)
        room = np.zeros(r.n_slots, dtype=bool)
        for o in range(self.n_options):
            t, s0, d = r.option_slot[o], r.option_start[o], r.option_span[o]
            if np.all(loads[t, s0:s0 + d] < r.slot_capacity[t]):
                room[t] = True
        edge_slot = r.option_slot[self.edge_option]
        worst = np.zeros(r.n_slots, dtype=np.int64)
        np.maximum.at(worst, edge_slot[x], r.edge_slot_rank[x])
        current = np.full(self.n_agents, np.iinfo(np.int64).max)
        current[self.edge_agent[x]] = r.edge_student_rank[x]
        blocks = (r.edge_student_rank < current[self.edge_agent]) & (
            room[edge_slot] | (r.edge_slot_rank < worst[edge_slot]))
        return sorted({(int(a), int(t)) for a, t in zip(self.edge_agent[blocks],
                                                        edge_slot[blocks], strict=True)})

    def indicator(self, edges: np.ndarray) -> np.ndarray:
        """0/1 vector over all edges from a list of chosen edge indices."""
        x = np.zeros(self.n_edges, dtype=np.int64)
        x[np.asarray(edges, dtype=np.int64)] = 1
        return x


def lexicographic_priority(problem: Problem, first: int = 0) -> np.ndarray:
    """One weight per edge ordering levels `first`, `first+1`, ... lexicographically as far as
    floating point allows: each level normalised to [-1, 1] and 1000 times the next."""
    out = np.zeros(problem.n_edges)
    factor = 1.0
    for level in problem.levels[first:]:
        w = level.weights.astype(float)
        top = float(np.abs(w).max()) if len(w) else 0.0
        if top > 0:
            out += factor * w / top
        factor *= 1e-3
    return out
