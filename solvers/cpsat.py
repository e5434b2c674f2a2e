"""Strategy `cpsat`: the full model in OR-Tools CP-SAT, solved level by level.

One Boolean per eligible edge (nothing for ineligible pairs), one at-most-one per agent, the
packing rows as linear constraints, and the side structures (groups, covers, priorities) as
small reified pieces. Each level's optimum is fixed before the next level is optimised, and the
previous level's solution is the hint of the next.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from ortools.sat.python import cp_model

from solvers.colgen import ColumnLP
from solvers.flow import lexicographic_priority, solve_flow
from solvers.highs import LevelResult, MipModel, first_level, rens_pays
from solvers.level_block import LevelBlock, counting, level_block
from solvers.lp import round_down
from solvers.problem import Level, Problem
from solvers.registry import register
from solvers.repair import EdgeRows, fill
from solvers.solution import Solution, Status, relative_gap
from solvers.stability import agent_slot_pairs

__all__ = ["build_model", "solve_cpsat"]

DEFAULT_WORKERS = 1  # CP-SAT's share of a 2-core machine: HiGHS races it on the other core
FLOW_HINT_EDGES = 100_000  # from this size on, the flow strategy's allocation is the first hint.
# Below, the LP stage's allocations do better: from 10,000 edges on, 2,000 students were proven
# in 9.2 s, and in 5.0 s without the flow (five of six city seasons of 1,000-3,000 faster)
FLOW_SHARE = 0.5  # of the time limit, for that hint: at that size CP-SAT rarely closes a level
BUILD_SECONDS_PER_EDGE = 1.2e-5  # building the CP-SAT model, measured at 500k edges on 2 cores
LOAD_SECONDS_PER_EDGE = 4e-6  # CP-SAT's loading and presolve before it checks its time limit
FLOW_HINT_ROUNDS = 10  # the hint's subgradient rounds per level in deterministic mode
LP_ITERATIONS = 2_000_000  # simplex iterations of the LP bound in deterministic mode
DETERMINISTIC_WALL = 3.0  # deterministic mode: the wall clock stops a solve at 3x the limit
LP_TAIL_SHARE = 0.03  # of the time limit, kept from a level's search for the LP bound of the
# level where the time runs out (0.01-0.06 s at 2,000 students): without it that level's
# bound is the levels' ceiling (a 51 % gap on `local` at 2,000 students, 0.3 % with it)


class _Model:
    """The CP-SAT model of a Problem, with handles on the variables and level expressions."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.edge_rows: EdgeRows | None = None  # built on first use, for topping up
        m = cp_model.CpModel()
        self.model = m
        n = problem.n_edges
        self.x = [m.new_bool_var(f"x{e}") for e in range(n)]
        x = self.x
        ptr = problem.agent_ptr
        for a in range(problem.n_agents):
            lo, hi = int(ptr[a]), int(ptr[a + 1])
            if hi - lo > 1:
                m.add_at_most_one(x[lo:hi])
        self._add_rows()
        self._add_groups()
        self.cover_vars = self._add_covers()
        self._add_priorities(ptr)
        if problem.stable:
            self._add_stability()

    def _add_rows(self) -> None:
        p, m, x = self.problem, self.model, self.x
        for i in range(len(p.rows)):
            idx, coef = p.rows.row(i)
            if int(coef[coef > 0].sum()) <= p.rhs[i]:
                continue  # can never bind
            m.add(cp_model.LinearExpr.weighted_sum([x[e] for e in idx], coef.tolist()) <= int(
                p.rhs[i]
            ))

    def _add_groups(self) -> None:
        p, m, x = self.problem, self.model, self.x
        for g in range(len(p.groups)):
            idx, _ = p.groups.row(g)
            need = int(p.group_min[g])
            if need <= 1 or len(idx) == 0:
                continue
            if len(idx) < need:
                for e in idx:
                    m.add(x[e] == 0)
                continue
            open_ = m.new_bool_var(f"open{g}")
            m.add(sum(x[e] for e in idx) >= need * open_)
            for e in idx:
                m.add_implication(x[e], open_)

    def _add_covers(self) -> list[cp_model.IntVar]:
        p, m, x = self.problem, self.model, self.x
        out = []
        for c in range(len(p.covers)):
            idx, _ = p.covers.row(c)
            if len(idx) == 0:
                continue
            cv = m.new_bool_var(f"cover{c}")
            m.add_bool_or([x[e] for e in idx]).only_enforce_if(cv)
            out.append(cv)
        return out

    def _add_priorities(self, agent_ptr: np.ndarray) -> None:
        p, m, x = self.problem, self.model, self.x
        for k in range(len(p.priority_triggers)):
            trig, _ = p.priority_triggers.row(k)
            agents, _ = p.priority_agents.row(k)
            if len(trig) == 0 or len(agents) == 0:
                continue
            z = m.new_bool_var(f"prio{k}")
            for e in trig:
                m.add_implication(x[e], z)
            for a in agents:
                lo, hi = int(agent_ptr[a]), int(agent_ptr[a + 1])
                if hi == lo:
                    m.add(z == 0)
                    break
                m.add_bool_or(x[lo:hi]).only_enforce_if(z)

    def _add_stability(self) -> None:
        """No blocking pair: every (agent, slot) pair has the agent placed at a slot it ranks at
        least as high, or the slot full in every option and holding nobody it ranks lower."""
        p, m, x = self.problem, self.model, self.x
        r = p.ranking
        members: dict[tuple[int, int], list[int]] = {}
        for e, o in enumerate(p.edge_option):
            t, s0, d = int(r.option_slot[o]), int(r.option_start[o]), int(r.option_span[o])
            for q in range(s0, s0 + d):
                members.setdefault((t, q), []).append(e)
        full: dict[tuple[int, int], cp_model.IntVar] = {}

        def is_full(t: int, q: int) -> cp_model.IntVar:
            if (t, q) not in full:
                f = full[(t, q)] = m.new_bool_var(f"full{t}_{q}")
                idx = members.get((t, q), [])
                m.add(sum(x[e] for e in idx) >= int(r.slot_capacity[t])).only_enforce_if(f)
            return full[(t, q)]

        options_of: dict[int, list[int]] = {}
        for o, t in enumerate(r.option_slot):
            options_of.setdefault(int(t), []).append(o)
        no_room: dict[int, cp_model.IntVar] = {}

        def slot_full(t: int) -> cp_model.IntVar:
            if t not in no_room:
                nr = no_room[t] = m.new_bool_var(f"noroom{t}")
                for o in options_of.get(t, []):
                    s0, d = int(r.option_start[o]), int(r.option_span[o])
                    m.add_bool_or([is_full(t, q) for q in range(s0, s0 + d)]).only_enforce_if(nr)
            return no_room[t]

        for a, t, better, worse in agent_slot_pairs(p):
            z = m.new_bool_var(f"held{a}_{t}")
            m.add_bool_or([*(x[e] for e in better), z])
            if len(worse):
                m.add(sum(x[e] for e in worse) == 0).only_enforce_if(z)
            m.add_implication(z, slot_full(t))

    def expr(self, level: Level) -> cp_model.LinearExpr:
        nz = np.flatnonzero(level.weights)
        terms = cp_model.LinearExpr.weighted_sum(
            [self.x[e] for e in nz], level.weights[nz].tolist()
        )
        if level.cover_weight and self.cover_vars:
            terms = terms + level.cover_weight * sum(self.cover_vars)
        return terms

    def set_objective(self, level: Level) -> None:
        """Maximise the level, written straight into the model's proto (variable e is edge e):
        the expression route walks every term in Python."""
        m = self.model
        m.clear_objective()
        nz = np.flatnonzero(level.weights)
        obj = m.proto.objective
        obj.vars.extend(nz.tolist())
        obj.coeffs.extend((-level.weights[nz]).tolist())
        if level.cover_weight and self.cover_vars:
            obj.vars.extend([v.index for v in self.cover_vars])
            obj.coeffs.extend([-int(level.cover_weight)] * len(self.cover_vars))
        obj.scaling_factor = -1.0  # CP-SAT minimises: a maximisation is stored negated



def _tighten(built: _Model, expr: cp_model.LinearExpr, problem: Problem, k: int, relax,
             incumbent: int | None) -> int:
    """Cap the level at its LP bound and fix to 0 the edges that cannot reach the incumbent.

    An edge at 0 in the LP with reduced cost r can only be in allocations worth at most
    bound - |r| (rounded down to the level's step); when that is below the incumbent's value,
    every such allocation is strictly worse than the level's optimum, so the edge can be
    dropped for this and every later level.
    """
    built.model.add(expr <= int(problem.bound_cap(k, relax.value)))
    if incumbent is None:
        return 0
    worst = problem.bound_caps(k, relax.value - np.abs(relax.reduced_cost))
    drop = np.flatnonzero((relax.x < 1e-6) & (worst < incumbent))
    for e in drop:
        built.model.add(built.x[e] == 0)
    return len(drop)


def _run(built: _Model, level: Level, hint: np.ndarray, time_limit: float,
         seed: int, workers: int, params: dict | None,
         log: Callable[[str], None] | None, handle: dict | None = None
         ) -> tuple[int, np.ndarray | None, float]:
    """One CP-SAT solve of a level from a hint: (status, chosen edges or None, bound).

    The solver is put in `handle["solver"]` before the search starts, so that another thread
    can stop it."""
    p = built.problem
    built.set_objective(level)
    built.model.clear_hints()
    if len(hint):  # straight into the proto: add_hint one by one costs seconds at 500k edges
        h = built.model.proto.solution_hint
        h.vars.extend(range(p.n_edges))
        h.values.extend(p.indicator(hint).tolist())
    solver = cp_model.CpSolver()
    prm = solver.parameters
    # CP-SAT loads and presolves the model before it looks at the clock: leave it room
    prm.max_time_in_seconds = max(0.01, time_limit - LOAD_SECONDS_PER_EDGE * p.n_edges)
    prm.random_seed = seed
    prm.num_workers = workers
    for key, val in (params or {}).items():
        setattr(prm, key, val)
    if log is not None:
        prm.log_search_progress = True
        prm.log_to_stdout = False
        solver.log_callback = log
    if handle is not None:
        handle["solver"] = solver
    status = solver.solve(built.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, None, float("inf")
    xs = np.asarray(list(solver.response_proto.solution))[:p.n_edges]  # x[e] is variable e
    return status, np.flatnonzero(xs), float(solver.best_objective_bound)


def _topped_up(problem: Problem, edges: np.ndarray, fixed: int, built: _Model) -> np.ndarray:
    """`edges` plus, greedily, edges of unplaced agents that help a level after the first
    `fixed` ones and lower none of those: a level's answer can be sparse (covering the parks
    takes a handful of students) and is the next level's hint. Not for stable problems, where
    an added student can make a new blocking pair."""
    if problem.stable or not problem.levels or fixed >= len(problem.levels):
        return edges
    weight = lexicographic_priority(problem, fixed)
    for j in range(fixed):
        weight[problem.levels[j].weights < 0] = 0.0
    if built.edge_rows is None:
        built.edge_rows = EdgeRows(problem)
    x = np.zeros(problem.n_edges, dtype=bool)
    x[edges] = True
    fill(problem, x, weight, built.edge_rows)
    return np.flatnonzero(x)


def _race(built: _Model, expr: cp_model.LinearExpr, problem: Problem, k: int, hint: np.ndarray,
          fixed: list[int], time_limit: float, seed: int, workers: int, params: dict | None,
          log: Callable[[str], None] | None, groups: set[int], block: LevelBlock | None = None
          ) -> tuple[int, np.ndarray | None, float, LevelResult | None]:
    """CP-SAT and HiGHS on the same level at once, from the same hint; the first to prove the
    level optimal stops the other. Both C++ solvers release the GIL, so they share the cores.
    HiGHS gets no more than a second past the time limit to come back. `groups`, the order
    classes HiGHS needed on earlier levels, are modelled from the start and updated. With
    `block`, HiGHS solves the levels of the block as one (`MipModel.run`): its answer is the
    block's, and proving it proves them all."""
    deadline = time.perf_counter() + time_limit + 1.0
    mip = MipModel(problem)
    for g in sorted(groups):
        mip.add_group(g)
    for j, v in enumerate(fixed):
        mip.fix_level(j, v)
    mip.h.HandleUserInterrupt = True
    handle: dict = {}
    out: dict = {}
    cp_done = threading.Event()

    def highs() -> None:
        try:
            out["res"] = mip.run(k, time_limit, seed, hint, block)
        except Exception as exc:  # a HiGHS failure must not lose CP-SAT's answer
            out["error"] = exc
            return
        if out["res"].optimal:
            while not cp_done.is_set():
                solver = handle.get("solver")
                if solver is not None:
                    solver.stop_search()
                cp_done.wait(0.05)

    thread = threading.Thread(target=highs, name="highs-level", daemon=True)
    thread.start()
    try:
        status, found, bound = _run(built, problem.levels[k], hint, time_limit, seed, workers,
                                    params, log, handle)
    finally:
        cp_done.set()
    if status == cp_model.OPTIMAL:
        mip.h.cancelSolve()
    thread.join(timeout=max(0.0, deadline - time.perf_counter()))
    late = thread.is_alive()
    if late:  # HiGHS cannot be stopped inside presolve: ask again, then wait (a thread left
        mip.h.cancelSolve()  # running would abort the process at exit); its answer is dropped
        thread.join()
    groups.update(mip.group_col)
    return status, found, bound, None if late else out.get("res")


def build_model(problem: Problem) -> cp_model.CpModel:
    """The CP-SAT model of `problem` without an objective (for inspection and export)."""
    return _Model(problem).model


@register("cpsat")
def solve_cpsat(
    problem: Problem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    hint: np.ndarray | None = None,
    log: bool | Callable[[str], None] | None = None,
    workers: int = DEFAULT_WORKERS,
    lp: bool = True,
    prove_with_mip: bool = True,
    params: dict | None = None,
    deterministic: bool = False,
    flow_hint: bool = True,
) -> Solution:
    """Solve `problem` lexicographically with CP-SAT within `time_limit` seconds in all.

    With `lp` (the default) a level first gets its LP relaxation from HiGHS, by column
    generation (`solvers.colgen`) from the best allocation so far: the LP value caps
    the level's objective (CP-SAT then proves optimality as soon as it meets it), the rounded
    LP point is the first hint, and edges whose reduced cost shows they cannot reach the hint's
    value are fixed to 0 (reduced-cost fixing). When HiGHS races CP-SAT, only the first level
    gets it: HiGHS' own root bounds the later ones, and a separate LP per level cost more
    (seconds at 2,000 students) than it gave. With `prove_with_mip` HiGHS' branch and
    cut races CP-SAT on every level from the same hint, and the first to prove the level stops
    the other: CP-SAT is strong on the combinatorial side rows, HiGHS' cuts close the knapsack
    gaps that budgets leave.

    Without a hint, a problem of `FLOW_HINT_EDGES` edges or more first gets the `flow`
    strategy's allocation as its hint (with `flow_hint`, for a `FLOW_SHARE` of the time).

    `deterministic` makes the answer a function of the input and the seed alone: no race (one
    CP-SAT worker), the time limit read as CP-SAT's deterministic time, the LP and the flow
    hint bounded by iteration counts rather than seconds. The wall clock then only stops a solve
    that runs past `DETERMINISTIC_WALL` times the limit.
    """
    start = time.perf_counter()
    wall = time_limit * DETERMINISTIC_WALL if deterministic else time_limit
    deadline = start + wall
    prove_with_mip = prove_with_mip and not problem.stable and not deterministic
    if deterministic:
        workers = 1
        params = {**(params or {}), "max_deterministic_time": float(time_limit)}
    lines: list[str] = []

    def on_log(line: str) -> None:
        lines.append(line)
        if callable(log):
            log(line)

    best = np.asarray(hint if hint is not None else [], dtype=np.int64)
    if len(best) and problem.violations(best):
        best = np.zeros(0, dtype=np.int64)  # an infeasible hint is neither used nor returned
    first: Solution | None = None
    if (not len(best) and flow_hint and problem.n_edges >= FLOW_HINT_EDGES and problem.levels
            and not problem.stable):
        share = FLOW_SHARE * time_limit
        if not deterministic and wall - share < 2 * BUILD_SECONDS_PER_EDGE * problem.n_edges:
            share = wall  # no time to build the CP-SAT model after it: the flow gets it all
        first = solve_flow(problem, time_limit=share, seed=seed,
                           iterations=FLOW_HINT_ROUNDS if deterministic else None,
                           deterministic=deterministic)
        best = first.edges
        on_log(f"flow hint: {first.objective} in {first.runtime_s:.2f} s ({first.status}, "
               f"gap {first.gap:.2e})")
    if (not deterministic and len(best)
            and deadline - time.perf_counter() < 2 * BUILD_SECONDS_PER_EDGE * problem.n_edges):
        # no time to build the model and search it: the flow's answer is the answer
        on_log("cpsat: too little time left to build the CP-SAT model; returning the flow hint")
        if first is not None:  # the flow's own answer: what it proved, its bound and gap
            return replace(first, strategy="cpsat", runtime_s=time.perf_counter() - start,
                           log="\n".join([*lines, first.log]),
                           info={**first.info, "fell_back_to": "flow"})
        values = problem.level_values(best)
        bound = float(problem.level_ceiling(0))
        return Solution("cpsat", best, Status.FEASIBLE, values, 0, bound,
                        relative_gap(values[0], bound), time.perf_counter() - start, seed,
                        "\n".join(lines), {"workers": workers, "fell_back_to": "hint"})
    built = _Model(problem)
    lp_model: ColumnLP | None = None  # the LP by columns, kept across levels
    stage: MipModel | None = None  # the MIP of the LP stage (RENS), kept across levels
    proven = 0
    bound = 0.0
    stopped_status = Status.OPTIMAL
    fixed_values: list[int] = []
    n_fixed = 0
    det_used = 0.0
    tail = LP_TAIL_SHARE * time_limit if lp else 0.0
    mip_groups: set[int] = set()  # order classes HiGHS needed so far (see MipModel)

    def stop_bound(k: int, why: str) -> float:
        """Level k's bound when the time ran out before (or during) its search: its LP by
        columns in what is left (the tail kept for it), else the levels' ceiling."""
        relax = None
        if lp_model is not None and deadline - time.perf_counter() > 0.001:
            relax = lp_model.solve(k, start=best, incumbent=problem.level_values(best)[k]
                                   if len(best) else None,
                                   time_limit=deadline - time.perf_counter(),
                                   iteration_limit=LP_ITERATIONS if deterministic else None)
        if relax is None:
            return float(problem.level_ceiling(k))
        on_log(f"level {problem.levels[k].name}: LP bound {relax.value:.6g} ({why})")
        return problem.bound_cap(k, relax.value)

    k = 0
    while k < len(problem.levels):
        level = problem.levels[k]
        expr = built.expr(level)
        remaining = deadline - time.perf_counter()
        if remaining <= 0.01 or (k > 0 and lp_model is not None and remaining <= tail):
            stopped_status = Status.FEASIBLE
            bound = stop_bound(k, "no time to search")
            break
        relax = None
        lp_cap = float("inf")
        # HiGHS races on a block only from a weighted level: a count is closed quickly on its
        # own (the sample: 0.6 s against 1.3 s with `placed` in a block)
        race_block = None
        if prove_with_mip and not counting(problem, k):
            race_block = level_block(problem, k)
        if lp and prove_with_mip:  # racing: the LP, its point rounded and a RENS sub-MIP first
            if lp_model is None:
                lp_model = ColumnLP(problem, side_rows=False)
            if stage is None:
                stage = MipModel(problem)
                for j, v in enumerate(fixed_values):
                    stage.fix_level(j, v)
            best, lp_cap, relax, line = stage.lp_stage(lp_model, k, best, deadline - tail, seed,
                                                       rens_pays(problem, k, race_block))
            on_log(f"level {level.name}: {line}")
        elif lp:
            if lp_model is None:
                lp_model = ColumnLP(problem, side_rows=False)
            relax = lp_model.solve(k, start=best, incumbent=problem.level_values(best)[k]
                                   if len(best) else None,
                                   time_limit=remaining if deterministic else remaining / 3,
                                   iteration_limit=LP_ITERATIONS if deterministic else None)
        if relax is not None:
            if k == 0 and not prove_with_mip:
                rounded = round_down(problem, relax.x)
                if problem.stable and problem.blocking_pairs(rounded):
                    rounded = np.zeros(0, dtype=np.int64)  # not an incumbent when stable
                rounded = _topped_up(problem, rounded, 0, built)
                if not len(best) or problem.level_values(rounded) > problem.level_values(best):
                    best = rounded
            n_fixed += _tighten(built, expr, problem, k, relax, problem.level_values(best)[k]
                                if len(best) else None)
            on_log(f"level {level.name}: LP bound {relax.value:.6g}, {n_fixed} edges fixed to 0")
        remaining = deadline - time.perf_counter()
        if remaining <= 0.01:  # the LP took what was left: the level stays unproven
            stopped_status = Status.FEASIBLE
            if relax is not None:
                bound = problem.bound_cap(k, relax.value)
            else:
                bound = float(problem.level_ceiling(k))
            break
        # the search keeps the tail for an LP bound, on this level should it stay unproven
        # (when it had none) or on the next should the time run out
        search_time = max(0.01, remaining - tail) if lp_model is not None else remaining
        block = None
        if problem.level_values(best)[k] >= lp_cap:  # the LP stage proved it: no search
            status, found, bound, res = cp_model.OPTIMAL, best, lp_cap, None
        elif prove_with_mip:
            block = race_block
            status, found, bound, res = _race(built, expr, problem, k, best, fixed_values,
                                              search_time, seed, workers, params,
                                              on_log if log else None, mip_groups, block)
        else:
            if deterministic:  # what is left of the deterministic time, over all levels
                left = time_limit - det_used
                if left <= 0.01:
                    stopped_status = Status.FEASIBLE
                    bound = float(problem.level_ceiling(k))
                    break
                params = {**(params or {}), "max_deterministic_time": left}
            handle: dict = {}
            status, found, bound = _run(built, level, best, search_time, seed, workers,
                                        params, on_log if log else None, handle)
            det_used += handle["solver"].deterministic_time
            res = None
        if found is not None:
            best = found
        else:  # no CP-SAT solution in time: the earlier level's answer still holds
            bound = float(problem.level_ceiling(k))
        value = problem.level_values(best)[k]
        if status == cp_model.INFEASIBLE and problem.stable:
            on_log("no stable allocation meets every other rule of the season")
            return Solution.infeasible("cpsat", problem, time.perf_counter() - start, seed,
                                           "\n".join(lines))
        if status == cp_model.INFEASIBLE or status == cp_model.MODEL_INVALID:
            raise RuntimeError(f"CP-SAT answers status {status} (infeasible or invalid): "
                               "the empty allocation is always feasible, so the model is broken")
        if block is not None and res is not None and res.optimal:  # HiGHS proved the block
            values = problem.level_values(res.edges)
            on_log(f"levels {level.name} to {problem.levels[block.last].name}: HiGHS proved "
                   f"them as one MIP, values {values[k:block.last + 1]}")
            best = res.edges
            for j in range(k, block.last + 1):
                built.model.add(built.expr(problem.levels[j]) >= values[j])
                fixed_values.append(values[j])
                if lp_model is not None:
                    lp_model.fix_level(j, values[j])
                if stage is not None:
                    stage.fix_level(j, values[j])
            proven += block.last + 1 - k
            bound = float(values[block.last])
            best = _topped_up(problem, best, proven, built)
            k = block.last + 1
            continue
        if block is not None and res is not None:  # the block's bound bounds level k
            res = first_level(problem, k, block, res,
                              res.edges if res.value is not None else None)
        if res is not None:
            on_log(f"level {level.name}: HiGHS value {res.value}, bound {res.bound:.6g}, "
                   f"proven {res.optimal}")
            if res.value is not None and res.value > value:
                best, value = res.edges, res.value
            bound = min(bound, res.bound)
            if res.optimal and res.value is not None and res.value >= value:
                status = cp_model.OPTIMAL
        if relax is not None:
            bound = min(bound, problem.bound_cap(k, relax.value))
        if problem.bound_cap(k, bound) <= value:
            status = cp_model.OPTIMAL  # a bound met the incumbent as time ran out: proven
        if status == cp_model.OPTIMAL:
            built.model.add(expr >= value)
            fixed_values.append(value)
            if lp_model is not None:
                lp_model.fix_level(k, value)
            if stage is not None:
                stage.fix_level(k, value)
            proven += 1
            bound = float(value)
            best = _topped_up(problem, best, proven, built)
            k += 1
            continue
        best = _topped_up(problem, best, proven, built)
        if relax is None:
            bound = min(bound, stop_bound(k, "search stopped unproven"))
        stopped_status = Status.FEASIBLE
        break
    best_values = problem.level_values(best)
    gap = 0.0
    if proven == 0 and first is not None and first.proven == 0:
        bound = min(bound, first.bound)  # the flow's bound on the first level (already floored)
    if proven < len(problem.levels):
        value_here = best_values[proven] if problem.levels else 0
        gap = relative_gap(value_here, bound)
    if problem.stable and problem.blocking_pairs(best):  # no stable allocation found in time
        stopped_status = Status.UNKNOWN
    return Solution(
        strategy="cpsat",
        edges=best,
        status=stopped_status if problem.levels else Status.OPTIMAL,
        objective=best_values,
        proven=proven,
        bound=bound,
        gap=gap,
        runtime_s=time.perf_counter() - start,
        seed=seed,
        log="\n".join(lines),
        info={"workers": workers, "lp_fixed_edges": n_fixed, "deterministic": deterministic},
    )
