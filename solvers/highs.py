"""The full Problem as a mixed-integer programme in HiGHS, one level at a time.

Used on its own as strategy `mip`, and by `cpsat` as a second prover: on a level CP-SAT has not
closed, HiGHS starts from CP-SAT's best allocation and its cuts and presolve often prove (or
improve) it quickly. Every constraint of the Problem is modelled, so HiGHS' solutions are
feasible allocations and its dual bound is a valid bound.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import highspy
import numpy as np
from numpy.typing import ArrayLike

from solvers.level_block import LevelBlock, counting, level_block
from solvers.lp import LPBound, round_down, settle_groups_and_priorities
from solvers.problem import Problem, lexicographic_priority
from solvers.registry import register
from solvers.repair import EdgeRows, fill
from solvers.solution import Solution, Status, relative_gap
from solvers.stability import StabilityRows, stability_rows

if TYPE_CHECKING:  # colgen builds on this module's HiGHS helpers
    from solvers.colgen import ColumnLP

__all__ = ["LevelResult", "MipModel", "first_level", "rens_pays", "set_time_limit",
           "solve_mip"]

INF = highspy.kHighsInf
FLOW_START_EDGES = 100_000  # from this size on, without a hint, the flow's allocation is the
# MIP start: at 20,000 students (280,000 edges) HiGHS finds nothing of its own in 10 s
FLOW_START_SHARE = 0.6  # of the time limit, for that flow
MIP_TIME_SHARE = 0.8  # of the time a MIP run is given, for HiGHS: at 3,000 students a 42.5 s
# limit ran 49.1 s (its root cut rounds check the clock only between rounds of up to 20 s)
PRESOLVE_SECONDS_PER_EDGE = 2e-5  # HiGHS' MIP presolve, which no time limit interrupts: 0.4-0.6 s
# at 28,000 edges on 2 cores. With less time left than this, a MIP run is not started
_BANNER = threading.Lock()
_banner_shown = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance. HiGHS prints a banner on standard output when the first
    instance of a process is made, which would corrupt `matcher solve --json`: that first
    construction runs with file descriptor 1 pointed at /dev/null."""
    global _banner_shown
    with _BANNER:
        if _banner_shown:
            h = highspy.Highs()
        else:
            sys.stdout.flush()
            saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, 1)
                h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(null)
            _banner_shown = True
    h.setOptionValue("output_flag", False)
    return h


def set_time_limit(h: highspy.Highs, seconds: float, *, lp: bool) -> None:
    """Let the next run of `h` take `seconds` (0.05 at least). HiGHS measures an LP's limit on
    the instance's run time so far (`getRunTime`, which adds up over runs: a limit below it
    stops the next run at once), but a MIP's from the start of its run: a 6 s limit set on the
    run time so far, after a 33 s MIP run, let the next MIP run 44.7 s."""
    h.setOptionValue("time_limit", (h.getRunTime() if lp else 0.0) + max(0.05, float(seconds)))


@dataclass(frozen=True)
class LevelResult:
    """HiGHS' answer on one level (or block of levels, `LevelBlock`, whose value and bound it
    then gives): best edges, their value, the dual bound, proven or not, and whether HiGHS
    found the model infeasible (only a stable problem can be)."""

    edges: np.ndarray
    value: int | None
    bound: float
    optimal: bool
    infeasible: bool = False


def _add_rows(h: highspy.Highs, rows: Sequence[tuple[ArrayLike, ArrayLike, float, float]]
              ) -> None:
    """Add rows (columns, coefficients, lower, upper; infinite sides free) to `h` at once."""
    if not rows:
        return
    lengths = np.array([len(r[0]) for r in rows])
    starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int32)
    index = np.concatenate([np.asarray(r[0]) for r in rows]).astype(np.int32)
    value = np.concatenate([np.asarray(r[1], dtype=float) for r in rows])
    lower = np.array([r[2] for r in rows], dtype=float)
    upper = np.array([r[3] for r in rows], dtype=float)
    h.addRows(len(rows), np.where(np.isinf(lower), -INF, lower),
              np.where(np.isinf(upper), INF, upper), len(index), starts, index, value)


class MipModel:
    """The Problem in HiGHS. Columns: edges, then one per cover and priority pair, then those
    of stability (`solvers.stability`, on a stable problem), then one per order class added so
    far.

    `relax` keeps every column continuous; without `side_rows` the order-class minimums, the
    priority pairs and stability are left out. Either way the optimum can only rise: still a
    valid bound.

    With `lazy_groups` (the default) an order class enters the model only once an answer breaks
    it (some members chosen, fewer than its minimum): `run` then adds it and solves again. An
    optimum of the model without some classes that breaks none of them is an optimum of the
    whole. At 2,000 students HiGHS proves all five levels in 9 s this way, against 15 s for the
    first level alone with all 17 classes modelled (three of them were ever needed).
    """

    def __init__(self, problem: Problem, relax: bool = False, side_rows: bool = True,
                 lazy_groups: bool = True) -> None:
        self.p = p = problem
        n = p.n_edges
        self.relax = relax
        self.n_cover = len(p.covers)
        self.n_prio = len(p.priority_triggers) if side_rows else 0
        self.c0 = n
        self.z0 = n + self.n_cover
        self.ncol = self.z0 + self.n_prio
        self.group_col: dict[int, int] = {}  # order class -> its column (1: the class opens)
        self.lazy = side_rows and lazy_groups and len(p.groups) > 0
        self.group_owner = p.groups.owner()
        self.held: list[tuple[int, int]] = []  # (level, value) held by fix_level
        h = self.h = new_highs()
        h.setOptionValue("mip_detect_symmetry", False)  # costly here, and rarely pays off
        h.addVars(self.ncol, np.zeros(self.ncol), np.ones(self.ncol))
        if not relax:
            h.changeColsIntegrality(self.ncol, np.arange(self.ncol, dtype=np.int32),
                                    np.full(self.ncol, highspy.HighsVarType.kInteger))
        ptr = p.agent_ptr
        h.addRows(p.n_agents, np.full(p.n_agents, -INF), np.ones(p.n_agents), n,
                  ptr[:-1].astype(np.int32), np.arange(n, dtype=np.int32), np.ones(n))
        if len(p.rows):
            h.addRows(len(p.rows), np.full(len(p.rows), -INF), p.tight_rhs.astype(float),
                      len(p.rows.index), p.rows.ptr[:-1].astype(np.int32),
                      p.rows.index.astype(np.int32), p.rows.coef.astype(float))
        rows: list[tuple[list[int], list[float], float, float]] = []
        for c in range(self.n_cover):  # covered <= sum of its edges
            idx, _ = p.covers.row(c)
            rows.append(([self.c0 + c, *idx.tolist()], [1.0] + [-1.0] * len(idx), -INF, 0.0))
        for k in range(self.n_prio):  # trigger => z, z => every required agent placed
            trig, _ = p.priority_triggers.row(k)
            agents, _ = p.priority_agents.row(k)
            z = self.z0 + k
            for e in trig:
                rows.append(([int(e), z], [1.0, -1.0], -INF, 0.0))
            for a in agents:
                lo, hi = int(ptr[a]), int(ptr[a + 1])
                rows.append(([z, *range(lo, hi)], [1.0] + [-1.0] * (hi - lo), -INF, 0.0))
        _add_rows(h, rows)
        self.stability: StabilityRows | None = None
        if side_rows and p.stable:  # no blocking pair: its own binaries and rows
            self.stability = stab = stability_rows(p, self.ncol)
            self.s0 = self.ncol
            h.addVars(stab.n_cols, np.zeros(stab.n_cols), np.ones(stab.n_cols))
            if not relax:
                h.changeColsIntegrality(stab.n_cols, self.s0 + np.arange(stab.n_cols,
                                                                          dtype=np.int32),
                                        np.full(stab.n_cols, highspy.HighsVarType.kInteger))
            self.ncol += stab.n_cols
            _add_rows(h, stab.rows)
        if side_rows and not self.lazy:
            for g in range(len(p.groups)):
                self.add_group(g)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)

    def add_group(self, g: int) -> None:
        """Model order class g: its column y, `sum of its edges >= min * y` and `x_e <= y`."""
        if g in self.group_col:
            return
        idx, _ = self.p.groups.row(g)
        h = self.h
        h.addVar(0.0, 1.0)
        y = self.ncol
        self.ncol += 1
        self.group_col[g] = y
        if not self.relax:
            h.changeColIntegrality(y, highspy.HighsVarType.kInteger)
        h.addRow(0.0, INF, len(idx) + 1, np.r_[idx, y].astype(np.int32),
                 np.r_[np.ones(len(idx)), -float(self.p.group_min[g])])
        m = len(idx)
        starts = np.arange(0, 2 * m, 2, dtype=np.int32)
        cols = np.column_stack([idx, np.full(m, y)]).ravel().astype(np.int32)
        h.addRows(m, np.full(m, -INF), np.zeros(m), 2 * m, starts, cols,
                  np.tile([1.0, -1.0], m))

    def broken_groups(self, edges: np.ndarray) -> np.ndarray:
        """The order classes not yet modelled that `edges` break (members, below minimum)."""
        p = self.p
        if not self.lazy:
            return np.zeros(0, dtype=np.int64)
        count = np.bincount(self.group_owner, weights=p.indicator(edges)[p.groups.index],
                            minlength=len(p.groups))
        broken = np.flatnonzero((count > 0) & (count < p.group_min))
        return np.asarray([g for g in broken.tolist() if g not in self.group_col],
                          dtype=np.int64)

    def level_row(self, k: int, block: LevelBlock | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Level k's objective (or `block`'s) as (columns, coefficients)."""
        lv = self.p.levels[k]
        weights, cover = (lv.weights, lv.cover_weight) if block is None else (
            block.weights, block.cover_weight)
        nz = np.flatnonzero(weights)
        idx, val = nz, weights[nz].astype(float)
        if cover and self.n_cover:
            idx = np.r_[idx, self.c0 + np.arange(self.n_cover)]
            val = np.r_[val, np.full(self.n_cover, float(cover))]
        return idx.astype(np.int32), val

    def set_objective(self, k: int, block: LevelBlock | None = None) -> None:
        cost = np.zeros(self.ncol)
        idx, val = self.level_row(k, block)
        cost[idx] = val
        self.h.changeColsCost(self.ncol, np.arange(self.ncol, dtype=np.int32), cost)

    def fix_level(self, k: int, value: int) -> None:
        idx, val = self.level_row(k)
        self.h.addRow(float(value) - 0.5, INF, len(idx), idx, val)
        self.held.append((k, value))

    @cached_property
    def edge_rows(self) -> EdgeRows:
        """The rows each edge sits in, for greedy fills: built once, when first needed."""
        return EdgeRows(self.p)

    def settled(self, edges: np.ndarray, k: int, block: LevelBlock | None = None
                ) -> tuple[np.ndarray, int] | None:
        """`edges` with the order classes they break closed, then filled greedily: an
        allocation and its value on level k (or `block`), or None when it lowers a held
        level."""
        p = self.p
        x = np.zeros(p.n_edges, dtype=bool)
        x[edges] = True
        settle_groups_and_priorities(p, x)
        fill(p, x, lexicographic_priority(p, k), self.edge_rows)
        out = np.flatnonzero(x)
        values = p.level_values(out)
        if p.violations(out) or any(values[j] < v for j, v in self.held):
            return None
        return out, _value(values, k, block)

    def start_from(self, edges: np.ndarray) -> None:
        """Hand HiGHS a feasible allocation as its incumbent (MIP start)."""
        p = self.p
        x = np.zeros(self.ncol)
        x[edges] = 1.0
        for c in range(self.n_cover):
            idx, _ = p.covers.row(c)
            x[self.c0 + c] = float(x[idx].any())
        for g, y in self.group_col.items():
            idx, _ = p.groups.row(g)
            x[y] = float(x[idx].any())
        for k in range(self.n_prio):
            trig, _ = p.priority_triggers.row(k)
            x[self.z0 + k] = float(x[trig].any())
        if self.stability is not None:
            x[self.s0:self.s0 + self.stability.n_cols] = self.stability.values(x[:p.n_edges])
        sol = highspy.HighsSolution()
        sol.col_value = x.tolist()
        sol.value_valid = True
        self.h.setSolution(sol)

    def run_within(self, k: int, support: np.ndarray, time_limit: float, seed: int,
                   start: np.ndarray | None) -> tuple[np.ndarray, int] | None:
        """Level k with every edge outside `support` (a mask) held at 0, as in RENS: a small
        MIP whose best allocation (edges, value) is often the level's optimum when `support`
        is an LP point's. Its bound says nothing of the whole model. None without an answer."""
        h = self.h
        out = np.flatnonzero(~support).astype(np.int32)
        h.changeColsBounds(len(out), out, np.zeros(len(out)), np.zeros(len(out)))
        try:
            if start is not None and len(start) and not support[start].all():
                start = None  # not an allocation of the restricted model
            res = self.run(k, time_limit, seed, start)
        finally:
            h.changeColsBounds(len(out), out, np.zeros(len(out)), np.ones(len(out)))
        if res.value is None:
            return None
        return res.edges, res.value

    def has_time(self, deadline: float) -> bool:
        """Whether a MIP run fits before `deadline` (see `PRESOLVE_SECONDS_PER_EDGE`)."""
        left = deadline - time.perf_counter()
        return left > max(0.05, PRESOLVE_SECONDS_PER_EDGE * self.p.n_edges)

    def lp_stage(self, lp: ColumnLP, k: int, best: np.ndarray, deadline: float, seed: int,
                 rens: bool = True) -> tuple[np.ndarray, float, LPBound | None, str]:
        """Level k's LP relaxation by columns (`lp`, holding the same levels as this model)
        from the allocation `best`, before any MIP: (the best allocation found, the LP bound
        rounded to the level's step, the LP's answer, a log line). The level is proven when the
        allocation meets that bound. Its point rounded down and settled is a first candidate;
        when that falls short, a RENS sub-MIP over the point's support and `best` (`run_within`, a
        quarter of the time left) a second: at 2,000 students it finds the optimum of the
        levels after the first, whose rounded points break the levels held before them.
        Without `rens` the sub-MIP is left out (see `rens_pays`)."""
        p = self.p
        relax = lp.solve(k, start=best, incumbent=p.level_values(best)[k],
                         time_limit=(deadline - time.perf_counter()) / 3)
        if relax is None:
            return best, float("inf"), None, "no LP in time"
        cap = p.bound_cap(k, relax.value)
        line = f"LP bound {relax.value:.6g}"
        rounded = self.settled(round_down(p, relax.x), k)
        if rounded is not None and p.level_values(rounded[0]) > p.level_values(best):
            best = rounded[0]
        line += f", rounded {rounded[1] if rounded else None}"
        if rens and p.level_values(best)[k] < cap and self.has_time(deadline):
            near = relax.x > 1e-6
            near[best] = True  # the incumbent keeps the small model feasible
            sub = self.run_within(k, near, (deadline - time.perf_counter()) / 4, seed, best)
            if sub is not None and p.level_values(sub[0]) > p.level_values(best):
                best = sub[0]
            line += f", RENS {sub[1] if sub else None}"
        return best, cap, relax, f"{line}, best {p.level_values(best)[k]}"

    def _read(self, k: int, block: LevelBlock | None) -> tuple[np.ndarray, int | None]:
        """The edges of HiGHS' incumbent and their value on level k or `block` (None without
        one)."""
        if self.h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
            return np.zeros(0, dtype=np.int64), None
        xs = np.asarray(self.h.getSolution().col_value[: self.p.n_edges])
        edges = np.flatnonzero(xs > 0.5)
        return edges, _value(self.p.level_values(edges), k, block)

    def _disagrees(self, value: int | None) -> bool:
        """Whether HiGHS' objective differs from the value of the columns it handed back."""
        return value is not None and abs(self.h.getInfo().objective_function_value - value) > 0.5

    def run(self, k: int, time_limit: float, seed: int, start: np.ndarray | None,
            block: LevelBlock | None = None) -> LevelResult:
        """Level k (or the levels of `block`, from k, as one objective) within `time_limit` s
        (HiGHS gets `MIP_TIME_SHARE` of it) from the feasible allocation `start`: HiGHS' best
        allocation, its value, the dual bound and whether it is proven. An answer that breaks
        an order class not yet modelled brings the class in, and the level is solved again in
        the time left; out of time, the answer is that one with the classes it breaks closed
        and refilled (none when that lowers a held level), and the bound still holds."""
        h = self.h
        if self.ncol == 0:  # nothing to choose: the empty allocation is optimal
            return LevelResult(np.zeros(0, dtype=np.int64), 0, 0.0, True)
        # a MIP's root cut rounds can overrun its limit by seconds: it gets a share of the time
        share = 1.0 if self.relax else MIP_TIME_SHARE
        deadline = time.perf_counter() + share * float(time_limit)
        h.setOptionValue("random_seed", int(seed))
        h.setOptionValue("mip_rel_gap", 0.0)
        # every value of the level is a multiple of its step: a gap below one step is closed
        h.setOptionValue("mip_abs_gap", 0.99 * self.p.level_steps[k] if block is None else
                         0.5)  # (a block's values are integers; `LevelBlock.cap` adds < 0.5)

        def cap(bound: float) -> float:
            return self.p.bound_cap(k, bound) if block is None else block.cap(bound)

        while True:
            edges, value = self._solve(k, deadline, start, block)
            status = h.getModelStatus()  # read before the model changes: a change clears them
            bound = float(h.getInfo().mip_dual_bound)
            broken = self.broken_groups(edges) if value is not None else ()
            if not len(broken):
                break
            # the answer, its broken classes closed and refilled, is an allocation: optimal
            # when it meets the bound (which holds without those classes); else the next start
            settled = self.settled(edges, k, block)
            if settled is not None and np.isfinite(bound) and cap(bound) <= settled[1]:
                edges, value = settled
                break
            if settled is not None and (start is None or not len(start) or settled[1] >
                                        _value(self.p.level_values(start), k, block)):
                start = settled[0]
            for g in broken:
                self.add_group(int(g))
            if deadline - time.perf_counter() <= 0.05:  # no time to solve again: the
                edges, value = settled if settled is not None else (  # settled answer stands
                    np.zeros(0, dtype=np.int64), None)
                break
        done = status in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit,
                          highspy.HighsModelStatus.kInterrupt)
        optimal = (done and value is not None and np.isfinite(bound)
                   and cap(bound) <= value)  # values move in steps
        infeasible = status == highspy.HighsModelStatus.kInfeasible and value is None
        return LevelResult(edges, value, bound, optimal, infeasible)

    def _solve(self, k: int, deadline: float, start: np.ndarray | None,
               block: LevelBlock | None) -> tuple[np.ndarray, int | None]:
        """One HiGHS run of level k (or `block`) on the model as it stands, until `deadline`."""
        h = self.h
        self.set_objective(k, block)
        set_time_limit(h, deadline - time.perf_counter(), lp=self.relax)
        if start is not None and len(start):
            self.start_from(start)
        h.run()
        edges, value = self._read(k, block)
        if (self._disagrees(value) and h.getModelStatus() == highspy.HighsModelStatus.kOptimal
                and deadline - time.perf_counter() > 0.05):
            # HiGHS 1.16 can report the optimum yet hand back the MIP start when presolve
            # solves the model: solve again without the start, in the time left
            h.clearSolver()
            set_time_limit(h, deadline - time.perf_counter(), lp=self.relax)
            h.run()
            edges, value = self._read(k, block)
        if self._disagrees(value) and self.p.violations(edges):
            value, edges = None, np.zeros(0, dtype=np.int64)
        # (columns that disagree with HiGHS' objective but form an allocation still count: at
        # a time limit HiGHS may report the presolved model's objective beside the MIP start)
        return edges, value


def rens_pays(problem: Problem, k: int, block: LevelBlock | None) -> bool:
    """Whether the LP stage of level k should try its RENS sub-MIP: always, except on a level
    that weighs its edges (not a 0/1 count) when a block MIP from it (`block`) follows anyway.
    On the six generated city seasons of 1,000 to 3,000 students, RENS proved four of the five
    counting levels whose rounded LP point fell short, and none of the six weighted ones
    (0.2-0.5 s each); skipping it there takes 2,000 students from 2.0 s to 1.7 s (median of
    7 runs)."""
    return counting(problem, k) or block is None


def first_level(problem: Problem, k: int, block: LevelBlock, res: LevelResult,
                edges: np.ndarray | None) -> LevelResult:
    """A block's answer `res` read as an answer on its first level k: `edges` (an allocation,
    or None for none), their value on level k, the bound the block's bound puts on level k
    (`LevelBlock.first_cap`), and proven when the value meets it."""
    bound = block.first_cap(res.bound)
    if edges is None:
        return LevelResult(np.zeros(0, dtype=np.int64), None, bound, False)
    value = problem.level_values(edges)[k]
    return LevelResult(edges, value, bound, value >= bound)


def _value(values: Sequence[int], k: int, block: LevelBlock | None) -> int:
    """Level k's value among `values`, or `block`'s."""
    return values[k] if block is None else block.value(values)


@register("mip")
def solve_mip(
    problem: Problem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    hint: np.ndarray | None = None,
    log: bool | Callable[[str], None] | None = None,
    lp_first: bool = True,
    blocks: bool = True,
) -> Solution:
    """Solve `problem` lexicographically with HiGHS, each level fixed before the next.

    Without a (feasible) `hint`, the MIP start is the `flow` strategy's allocation (in
    `FLOW_START_SHARE` of the time) from `FLOW_START_EDGES` edges on, and a greedy allocation
    in the levels' order below: at city scale HiGHS may find no incumbent of its own in the
    time, and the answer is then that start with its gap, never an empty one. A level whose
    search gave no dual bound is bounded by `Problem.level_ceiling` (or the flow's bound).

    With `lp_first` each level starts with `MipModel.lp_stage`: the LP relaxation by columns
    (`solvers.colgen`, on the rows tightened by `Problem.tight_rhs`), its point rounded, and a
    RENS sub-MIP. When one of them meets the LP bound, the level is proven without branch and
    bound. At 2,000 students that proves `placed`, `local` and `in_park` in 0.1-0.2 s each,
    where HiGHS' MIP took 1.0-1.7 s each (presolve and heuristics before its root LP closed
    the level).

    With `blocks`, a level that needs a MIP is solved together with the levels after it, as
    far as `level_block` merges them exactly into one objective: proven, the block proves all
    of them; otherwise its bound still bounds its first level, which is proven when the answer
    meets it, and the levels after it go on one by one. At 2,000 students `preference` and
    `-spend` together take 1.1-1.3 s against 2.6 s in turn; at 3,000 students (city-3000-seed1)
    the whole solve takes 12 s against 25 s, and on city-3000-seed2 four levels are proven in
    60 s instead of three."""
    from solvers.colgen import ColumnLP

    start = time.perf_counter()
    deadline = start + time_limit
    lines: list[str] = []
    best = np.asarray(hint if hint is not None else [], dtype=np.int64)
    if len(best) and problem.violations(best):
        best = np.zeros(0, dtype=np.int64)
    first = None
    if not len(best) and problem.n_edges >= FLOW_START_EDGES and not problem.stable:
        from solvers.flow import solve_flow  # the flow builds on the LP by columns

        first = solve_flow(problem, time_limit=FLOW_START_SHARE * time_limit, seed=seed)
        best = first.edges
        lines.append(f"flow start: {first.objective} ({first.status}, gap {first.gap:.2e})")
    m = MipModel(problem)  # after the flow, so that both never hold their memory at once
    if not len(best) and problem.n_edges:
        x = np.zeros(problem.n_edges, dtype=bool)
        fill(problem, x, lexicographic_priority(problem), m.edge_rows)
        best = np.flatnonzero(x)
    if problem.stable and problem.blocking_pairs(best):
        best = np.zeros(0, dtype=np.int64)  # not an allocation of a stable problem
    lp = ColumnLP(problem, side_rows=False) if lp_first and problem.n_edges else None
    proven, bound, status = 0, 0.0, Status.OPTIMAL

    def say(line: str) -> None:
        line = f"[{time.perf_counter() - start:.1f} s] {line}"
        lines.append(line)
        if callable(log):
            log(line)

    k = 0
    while k < len(problem.levels):
        level = problem.levels[k]
        candidate = level_block(problem, k) if blocks else None  # the block a MIP would solve
        lp_cap = float("inf")
        if lp is not None and deadline - time.perf_counter() > 0.05:
            best, lp_cap, _, line = m.lp_stage(lp, k, best, deadline, seed,
                                               rens_pays(problem, k, candidate))
            say(f"level {level.name}: {line}")
        value = problem.level_values(best)[k]
        block = None
        if value >= lp_cap and not (problem.stable and problem.blocking_pairs(best)):
            res = LevelResult(best, value, lp_cap, True)  # the LP proves it: no MIP
        else:
            block = candidate
            remaining = deadline - time.perf_counter()
            res = m.run(k, remaining, seed, best, block) if m.has_time(deadline) else None
        if res is not None and res.infeasible and problem.stable:
            say("no stable allocation meets every other rule of the season")
            return Solution.infeasible("mip", problem, time.perf_counter() - start, seed,
                                       "\n".join(lines))
        if res is not None and res.value is not None:
            best = res.edges
        values = problem.level_values(best)
        if block is not None and res is not None and res.optimal:
            say(f"levels {level.name} to {problem.levels[block.last].name} as one MIP: "
                f"values {values[k:block.last + 1]}, proven")
            for j in range(k, block.last + 1):
                m.fix_level(j, values[j])
                if lp is not None:
                    lp.fix_level(j, values[j])
            proven += block.last + 1 - k
            bound = float(values[block.last])
            k = block.last + 1
            continue
        if block is not None and res is not None:  # the block's bound bounds its first level
            res = first_level(problem, k, block, res, best)
        bound = min(res.bound if res is not None else float("inf"), lp_cap)
        if not np.isfinite(bound):
            bound = float(problem.level_ceiling(k))
        say(f"level {level.name}: value {res.value if res else None}, bound {bound:.6g}")
        if res is None or not res.optimal:
            status = Status.FEASIBLE
            break
        m.fix_level(k, int(res.value))
        if lp is not None:
            lp.fix_level(k, int(res.value))
        proven += 1
        bound = float(res.value)
        k += 1
    if first is not None and first.proven == proven < len(problem.levels):
        bound = min(bound, first.bound)  # the flow's bound on the same level
    values = problem.level_values(best)
    gap = 0.0
    if proven < len(problem.levels):
        gap = relative_gap(values[proven], bound)
    if problem.stable and problem.blocking_pairs(best):
        status = Status.UNKNOWN  # no stable allocation in time (the empty one blocks)
        say("mip: no stable allocation found in time; the answer has blocking pairs")
    return Solution("mip", best, status, values, proven, bound, gap,
                    time.perf_counter() - start, seed, "\n".join(lines))
