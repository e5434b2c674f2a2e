"""Strategy `flow`: Lagrangian relaxation around OR-Tools min-cost flow, level by level.

The agents, their edges and the nested capacity rows (`solvers.network`) form a flow network;
budgets, the rows that do not nest (a 6-month option's second period, caps across periods) and
the earlier levels held at their optimum are priced into the edge costs with multipliers. Each
round solves one min-cost flow: its value plus the priced right-hand sides is an upper bound on
the level (weak duality, whatever the multipliers), and its flow, repaired to full feasibility
and filled greedily (`solvers.repair`), is an allocation. Subgradient steps (Polyak, with the
best allocation as target) move the multipliers. A budget never costs less than a little more
than the tie-breaking terms (`_budget_floor`), so that a budget priced at 0 is still spent only
where the level gains; edges no allocation can choose get no arc. Order-class minimums,
priority pairs and covers are left out of the bound, which only loosens it, and enforced by
the repair.

A level is proven when the best allocation reaches the bound's floor; the next level is then
solved with this one held at its value. A level not proven stops the descent, and its gap is
the reported one, as for every other strategy. Later levels still steer the flow as small
tie-breaking weights (the lexicographic objective as scaled weights), with their largest
possible effect taken off the bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from ortools.graph.python import min_cost_flow

from solvers.colgen import ColumnLP
from solvers.lp import round_down
from solvers.network import Network, build_network
from solvers.problem import Problem, lexicographic_priority
from solvers.registry import register
from solvers.repair import EdgeRows, economise, fill, repair
from solvers.sample import sample_prices
from solvers.solution import Solution, Status, relative_gap

__all__ = ["DETERMINISTIC_ROUNDS", "lexicographic_priority", "lp_seconds", "solve_flow"]

DETERMINISTIC_ROUNDS = 40  # subgradient rounds per level in deterministic mode

_MAX_COST = float(2**26)  # |arc cost| cap: OR-Tools scales costs by the node count inside
_TIE_SHARE = 0.25  # total weight of the tie-breaking terms over all agents, in level units
_TOP = 3  # arcs per agent in a quick round: the best few under the current prices
_EXACT_ROUNDS = 40  # when this many whole rounds fit in a level's time, every round is whole;
# otherwise the first and the last round are whole (they give the bound) and the rest quick
_PRIMAL_EVERY = 3  # quick rounds between two repairs into an allocation
_PATIENCE = 4  # rounds without a lower estimate before the step halves
_PROBE = 0.03  # quick rounds' extra price on the relaxed rows
_THETA_WARM = 0.25  # first step factor when the multipliers start from good prices
_SAMPLE_FROM = 5_000  # from this many agents the first multipliers come from a sample's LP
_SAMPLE_SHARE = 0.3  # of the time limit, at most, for that LP (69 s of `matcher solve`'s 300 s
# at 500,000 students, where its 30,000-agent sample converges in about 35 s; cut short, a
# sample prices the budgets worse: 0.648 % instead of 0.042 % there)
_ARC_SECONDS = 8e-6  # a round's time per edge, measured on a 2-core machine (100 s at 12.9M
# edges, 16 s at 2.5M, 1.7 s at 0.5M): the first guess
_FILL_SECONDS_PER_EDGE = 1.5e-6  # a repair or a greedy fill (3.3 s at 2.5M edges)
_FIRST_FILL_UNTIL = 5_000_000  # edges: below, a greedy allocation comes before any round
_ROUNDS_SHARE = 0.3  # of a level's time, for the subgradient rounds when the LP follows them
LP_ITERATIONS = 2_000_000  # simplex iterations of the LP by columns in deterministic mode
_LP_SECONDS_PER_MILLION = 4.8  # see lp_seconds
_FINISH_SECONDS_PER_EDGE = 1e-6  # rounding and filling the LP's point: 1.3 s at 2.5M edges
_ECONOMY_SECONDS_PER_EDGE = 1.5e-6  # `economise` and a fill: 15.5 s at 12.9M edges, 1.3 s at
# 2.5M


class _Flow:
    """The static part of the flow network; `solve` adds one arc per useful edge and runs it."""

    def __init__(self, problem: Problem, net: Network) -> None:
        self.p = problem
        self.net = net
        n_ag = problem.n_agents
        self.base = 2 + n_ag  # node 0 source, 1 sink, agents, then the network's nodes
        leaf = net.leaf
        self.head = np.where(leaf >= 0, self.base + leaf, 1)
        self.key = problem.edge_agent * (net.n_nodes + 1) + (leaf + 1)
        par = net.parent
        # edges no feasible allocation can choose (one alone passes a row) never get an arc:
        # priced or not, they only loosen the bound (at 100,000 students, 1,176 such edges
        # held it at 67,131 where the LP's is 67,042)
        self.open = ~problem.closed_edges()
        self.node_tail = self.base + np.arange(net.n_nodes)
        self.node_head = np.where(par >= 0, self.base + par, 1)

    def solve(self, weight: np.ndarray, top: int | None = None, keep: np.ndarray | None = None
              ) -> tuple[np.ndarray, float] | None:
        """The best edge set under `weight` (per edge, real): (bool mask, rounding slack), or
        None when the flow solver fails. Edges of one agent into the same first node compete
        for the same capacities, so only the best of them gets an arc. With `top`, each agent
        keeps only its `top` best arcs (and the edges in `keep`): much faster, but then the
        answer is a heuristic point and its value no bound."""
        p = self.p
        pos = np.flatnonzero((weight > 0) & self.open)
        mask = np.zeros(p.n_edges, dtype=bool)
        if not len(pos):
            return mask, 0.0
        order = np.lexsort((pos, -weight[pos], self.key[pos]))
        keys = self.key[pos][order]
        firsts = np.r_[True, keys[1:] != keys[:-1]]
        sel = pos[order[firsts]]
        if top is not None:
            ag = p.edge_agent[sel]
            by_agent = np.lexsort((sel, -weight[sel], ag))
            ag_sorted = ag[by_agent]
            rank = np.arange(len(sel)) - np.searchsorted(ag_sorted, ag_sorted)
            short = np.zeros(p.n_edges, dtype=bool)
            short[sel[by_agent[rank < top]]] = True
            if keep is not None and len(keep):
                short[keep[weight[keep] > 0]] = True
            sel = np.flatnonzero(short)
        agents = np.unique(p.edge_agent[sel])
        scale = _MAX_COST / float(weight[sel].max())
        while True:
            cost = -np.rint(weight[sel] * scale).astype(np.int64)
            smcf = min_cost_flow.SimpleMinCostFlow()
            m = len(agents)
            smcf.add_arcs_with_capacity_and_unit_cost(
                np.zeros(m, dtype=np.int64), 2 + agents, np.ones(m, dtype=np.int64),
                np.zeros(m, dtype=np.int64))
            first_edge_arc = smcf.num_arcs()
            smcf.add_arcs_with_capacity_and_unit_cost(
                2 + p.edge_agent[sel], self.head[sel], np.ones(len(sel), dtype=np.int64), cost)
            smcf.add_arcs_with_capacity_and_unit_cost(
                self.node_tail, self.node_head, self.net.capacity,
                np.zeros(self.net.n_nodes, dtype=np.int64))
            smcf.add_arc_with_capacity_and_unit_cost(0, 1, m, 0)
            smcf.set_node_supply(0, m)
            smcf.set_node_supply(1, -m)
            status = smcf.solve()
            if status == smcf.OPTIMAL:
                break
            if status != smcf.BAD_COST_RANGE or scale < 1.0:
                return None
            scale /= 1024.0
        arcs = first_edge_arc + np.arange(len(sel))
        mask[sel[smcf.flows(arcs) > 0]] = True
        return mask, float(m) / scale  # |rounding| < 0.5/scale per arc, on both sides


@register("flow")
def solve_flow(
    problem: Problem,
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    hint: np.ndarray | None = None,
    log: bool | Callable[[str], None] | None = None,
    iterations: int | None = None,
    deterministic: bool = False,
    columns: bool = True,
) -> Solution:
    """Solve `problem` by Lagrangian relaxation around min-cost flow, within `time_limit` s.

    `iterations` caps the subgradient rounds per level: the answer is then reproducible as long
    as the time limit does not cut the rounds short. `deterministic` sets that cap
    (`DETERMINISTIC_ROUNDS`) and lets the wall clock run to three times the limit; every round
    then runs on every arc. `seed` draws the sample whose LP gives the first prices (not used in
    deterministic mode); nothing else is random.

    With `columns` (the default) the subgradient rounds get a share of each level's time and
    the LP relaxation by column generation (`solvers.colgen`), started from their best
    allocation, the rest: its bound is the LP's, tighter than the rounds reach, and its point,
    rounded down and filled, is often the best allocation found.
    """
    start = time.perf_counter()
    if deterministic:
        iterations = iterations or DETERMINISTIC_ROUNDS
        time_limit *= 3.0
    deadline = start + time_limit
    lines: list[str] = []

    def say(line: str) -> None:
        if not line.startswith("round"):  # the rest say how far into the solve they are
            line = f"[{time.perf_counter() - start:.1f} s] {line}"
        lines.append(line)
        if callable(log):
            log(line)

    p = problem
    net = build_network(p)
    flow = _Flow(p, net)
    er = EdgeRows(p)
    prio = lexicographic_priority(p)
    say(f"flow: {p.n_edges} edges, {net.n_nodes} network nodes, {len(net.relaxed)} rows relaxed")
    cover_first = _cover_edges(p)
    x = np.zeros(p.n_edges, dtype=bool)
    hinted = hint is not None and len(hint) and not p.violations(np.asarray(hint))
    if hinted:
        x[np.asarray(hint, dtype=np.int64)] = True
    if hinted or p.n_edges < _FIRST_FILL_UNTIL or iterations is not None:
        fill(p, x, prio, er, cover_first)  # a first allocation, should no round finish
    # (a large season's first whole round, which always has room, repairs and fills its own:
    # 18 s at 500,000 students that the sample's LP uses better)
    best = np.flatnonzero(x)
    best_vals = p.level_values(best)
    fixed: list[int] = []
    # the LP by columns where it can be expected to converge in the time (decided from the
    # size and the limit alone, so that a deterministic solve decides the same way)
    lp = ColumnLP(p, side_rows=False) if (
        columns and p.n_edges
        and lp_seconds(p.n_edges) <= (1.0 - _ROUNDS_SHARE) * time_limit) else None
    y = np.zeros(len(net.relaxed))
    bound = float("inf")
    rounds = 0
    stopped = False
    n_levels = len(p.levels)
    for k, level in enumerate(p.levels):
        if k == len(fixed) and not y.any() and level.weights.any() and \
                p.n_agents >= _SAMPLE_FROM and not deterministic:
            t0 = time.perf_counter()
            left = deadline - t0  # the first whole round and its repair must fit after it
            after = (_ARC_SECONDS + 2 * _FILL_SECONDS_PER_EDGE) * p.n_edges
            y = sample_prices(p, net, k, fixed, seed,
                              time_limit=min(_SAMPLE_SHARE * left, max(0.1 * left, left - after)))
            say(f"level {level.name}: first prices from a sample's LP in "
                f"{time.perf_counter() - t0:.2f} s")
        remaining = deadline - time.perf_counter()
        if remaining <= 0.01:
            stopped = True
            bound = float(p.level_ceiling(k))
            break
        # a level not proven stops the descent: it may use all the time. The subgradient
        # rounds take a share; the LP by columns, from their best allocation, the rest.
        lp_on = lp is not None and p.levels[k].weights.any()
        level_deadline = deadline
        if lp_on and not deterministic:  # deterministic rounds are capped by count instead
            reserve = max((1.0 - _ROUNDS_SHARE) * remaining, 1.3 * lp_seconds(p.n_edges))
            level_deadline = min(deadline, max(deadline - reserve,  # room for one round
                                               time.perf_counter() + _ARC_SECONDS * p.n_edges))
        result = _level(p, k, net, flow, er, prio, cover_first, fixed, y, best, best_vals,
                        level_deadline, iterations, say)
        best, best_vals, y, bound, n = result
        rounds += n
        if lp_on and best_vals[k] < p.bound_cap(k, bound):
            best, best_vals, bound = _by_columns(p, k, lp, best, best_vals, bound, prio, er,
                                                 cover_first, deadline, deterministic, say)
        if best_vals[k] < p.bound_cap(k, bound) and (
                deterministic or
                deadline - time.perf_counter() > _ECONOMY_SECONDS_PER_EDGE * p.n_edges):
            best, best_vals = _economised(p, k, best, best_vals, prio, er, cover_first, say)
        cap = p.bound_cap(k, bound)
        if best_vals[k] >= cap:
            fixed.append(best_vals[k])
            if lp is not None:
                lp.fix_level(k, best_vals[k])
            bound = float(best_vals[k])
            say(f"level {level.name}: {best_vals[k]} proven after {n} rounds")
            continue
        say(f"level {level.name}: {best_vals[k]}, bound {bound:.6g} after {n} rounds")
        bound = float(cap) if np.isfinite(cap) else float(p.level_ceiling(k))  # no whole round
        stopped = True
        break
    proven = len(fixed)
    gap = 0.0
    if proven < n_levels:
        gap = relative_gap(best_vals[proven], bound)
    status = Status.FEASIBLE if stopped and n_levels else Status.OPTIMAL
    if p.stable and p.blocking_pairs(best):
        status = Status.UNKNOWN  # the flow knows nothing of stability
    return Solution("flow", best, status, best_vals, proven, bound, gap,
                    time.perf_counter() - start, seed, "\n".join(lines),
                    {"rounds": rounds, "relaxed_rows": len(net.relaxed),
                     "network_nodes": net.n_nodes})


def _level(p: Problem, k: int, net: Network, flow: _Flow, er: EdgeRows, prio: np.ndarray,
           cover_first: np.ndarray, fixed: list[int], lam0: np.ndarray, best: np.ndarray,
           best_vals: tuple[int, ...], deadline: float, iterations: int | None,
           say: Callable[[str], None]
           ) -> tuple[np.ndarray, tuple[int, ...], np.ndarray, float, int]:
    """Subgradient rounds on level k: (best edges, their values, multipliers, bound, rounds).

    A round on every arc gives a bound. When such rounds are too slow for the level's time
    (`_EXACT_ROUNDS`), only the first and the last run on every arc; the rounds between keep
    each agent's few best arcs (a heuristic point and an estimate, no bound)."""
    level = p.levels[k]
    w_k = level.weights.astype(float)
    ties = lexicographic_priority(p, k + 1)
    eps = _TIE_SHARE / max(1, p.n_agents)
    tie_slack = eps * _negative_share(p, ties)
    floor = _budget_floor(p, net, eps * max(1.0, float(np.ptp(ties)) if len(ties) else 1.0))
    cover_bound = level.cover_weight * p.coverable
    held = [j for j in range(k) if p.levels[j].cover_weight == 0]  # covers stay out
    w_held = [p.levels[j].weights.astype(float) for j in held]
    mu = np.zeros(len(held))
    top = float(np.abs(w_k).max()) if len(w_k) else 0.0
    for i in range(len(held) - 1, -1, -1):  # each held level worth more than all after it
        mu[i] = 2.0 * (top + 1.0)
        top += mu[i] * float(np.abs(w_held[i]).max()) if len(w_held[i]) else 0.0
    lam = lam0 * (mu[-1] if len(mu) else 1.0)
    base = w_k + eps * ties
    held_rhs = np.asarray([fixed[j] for j in held], dtype=float)
    warm = bool(lam.any())  # multipliers from a sample's LP or the level before: small steps
    theta = _THETA_WARM if warm else 2.0
    best_bound, best_est, stale, n = float("inf"), float("inf"), 0, 0
    budget = deadline - time.perf_counter()
    whole_time = _ARC_SECONDS * p.n_edges  # guesses until the first rounds are timed
    quick_time = whole_time / 3
    quick_since_primal = 0
    while time.perf_counter() < deadline and (iterations is None or n < iterations):
        left = deadline - time.perf_counter()
        every_round_whole = iterations is not None or whole_time * _EXACT_ROUNDS < budget
        last = not every_round_whole and n > 0 and left < 1.5 * whole_time + quick_time
        if iterations is None and n > 0 and left < (whole_time if last else quick_time):
            break  # another round would overrun the time limit
        n += 1
        exact = every_round_whole or last or n == 1
        round_start = time.perf_counter()
        # quick rounds price the relaxed rows a little higher: their flow then overruns less,
        # and the repair has less to cut (the bound, from whole rounds, uses the plain prices)
        priced = np.maximum(lam, floor)  # any prices give a bound: these break ties
        weight = base - net.matrix.T @ (priced if exact else priced * (1.0 + _PROBE))
        for m_j, w_j in zip(mu, w_held, strict=True):
            weight += m_j * w_j
        solved = flow.solve(weight, None if exact else _TOP, best)
        if solved is None:
            say(f"level {level.name}: the flow solver failed; stopping")
            break
        xhat, slack = solved
        lagr = float(weight[xhat].sum()) + float(priced @ net.rhs) - float(mu @ held_rhs)
        estimate = lagr + slack + tie_slack + cover_bound  # a bound when the flow was exact
        if exact:
            best_bound = min(best_bound, estimate)
        if estimate < best_est - 1e-9:
            best_est, stale = estimate, 0
        else:
            stale += 1
            if stale >= _PATIENCE:
                theta, stale = theta / 2, 0
        quick_since_primal += 0 if exact else 1
        if exact or quick_since_primal >= _PRIMAL_EVERY:
            quick_since_primal = 0
            cand = repair(p, xhat.copy(), prio, er)
            fill(p, cand, prio, er, cover_first)
            vals = p.level_values(np.flatnonzero(cand))
            if vals > best_vals:  # lexicographic: earlier levels are held at their optimum
                best, best_vals = np.flatnonzero(cand), vals
        if exact:
            whole_time = time.perf_counter() - round_start
        else:
            quick_time = time.perf_counter() - round_start
        if best_vals[k] >= p.bound_cap(k, best_bound) or last:
            break
        g_lam = net.matrix @ xhat.astype(float) - net.rhs
        g_mu = held_rhs - np.asarray([float(w @ xhat) for w in w_held])
        g_lam = np.where((lam <= 0) & (g_lam < 0), 0.0, g_lam)
        g_mu = np.where((mu <= 0) & (g_mu < 0), 0.0, g_mu)
        norm = float(g_lam @ g_lam + g_mu @ g_mu)
        if (norm == 0 or theta < 1e-4) and exact:
            break  # nothing left to move: the flow point is feasible for every priced row
        if norm == 0:
            continue
        ref = estimate if exact else min(best_bound, max(estimate, best_vals[k]))
        step = theta * max(ref - best_vals[k], 1e-6 * max(1.0, abs(ref))) / norm
        lam = np.maximum(0.0, lam + step * g_lam)
        mu = np.maximum(0.0, mu + step * g_mu)
    return best, best_vals, lam, best_bound, n


def lp_seconds(n_edges: int) -> float:
    """The LP by columns' time on a generated season of `n_edges` edges, measured on 2 cores
    from the first round's allocation under a sample's prices: 1.6 s at 513,000 edges, 22 s
    at 2.5 million (it grows as the size to the power 1.63); a guide to whether it fits,
    never a limit."""
    return _LP_SECONDS_PER_MILLION * (n_edges / 1e6) ** 1.63


def _by_columns(p: Problem, k: int, lp: ColumnLP, best: np.ndarray,
                best_vals: tuple[int, ...], bound: float, prio: np.ndarray, er: EdgeRows,
                cover_first: np.ndarray, deadline: float, deterministic: bool,
                say: Callable[[str], None]) -> tuple[np.ndarray, tuple[int, ...], float]:
    """Level k's LP by columns from `best`: the lower of its bound and `bound`, and its point
    rounded down and filled when that beats `best`."""
    t0 = time.perf_counter()
    finish = _FINISH_SECONDS_PER_EDGE * p.n_edges  # rounding and filling after the LP
    relax = lp.solve(k, start=best, time_limit=max(0.05, deadline - finish - t0),
                     iteration_limit=LP_ITERATIONS if deterministic else None,
                     incumbent=best_vals[k])
    if relax is None:
        say(f"level {p.levels[k].name}: no LP by columns in time")
        return best, best_vals, bound
    cand = np.zeros(p.n_edges, dtype=bool)
    cand[round_down(p, lp.point)] = True  # the last restricted LP: its value is the highest
    fill(p, cand, prio, er, cover_first)
    vals = p.level_values(np.flatnonzero(cand))
    if vals > best_vals:
        best, best_vals = np.flatnonzero(cand), vals
    say(f"level {p.levels[k].name}: LP by columns {relax.value:.6g} with {len(lp.cols)} "
        f"columns in {time.perf_counter() - t0:.2f} s; rounded {vals[k]}")
    return best, best_vals, min(bound, relax.value)


def _economised(p: Problem, k: int, best: np.ndarray, best_vals: tuple[int, ...],
                prio: np.ndarray, er: EdgeRows, cover_first: np.ndarray,
                say: Callable[[str], None]) -> tuple[np.ndarray, tuple[int, ...]]:
    """`best` with placed agents moved to cheaper edges (`economise`) and the budget freed
    filled again, when that is better: at 500,000 students, after one flow round, 1,900
    moves let the fill place 1,400 more students (326,226 to 327,624)."""
    x = np.zeros(p.n_edges, dtype=bool)
    x[best] = True
    moves = economise(p, x, er, k)
    if not moves:
        return best, best_vals
    fill(p, x, prio, er, cover_first)
    vals = p.level_values(np.flatnonzero(x))
    say(f"level {p.levels[k].name}: {moves} agents moved to cheaper edges, then filled: "
        f"{vals[k]} (before {best_vals[k]})")
    if vals > best_vals:
        return np.flatnonzero(x), vals
    return best, best_vals


def _budget_floor(p: Problem, net: Network, tie: float) -> np.ndarray:
    """The least price of each relaxed row: on a budget, one at which every edge it pays for
    weighs a little more than the tie-breaking terms (`tie`, their largest difference), so
    that of two allocations equal on the level the flow takes the one that spends less; 0 on
    the other rows. A budget whose multiplier is 0 still binds the allocation: at 500,000
    students the flow took 16,757 city-employment subsidies for a budget of 8,283, and the
    8,474 cut by the repair were lost (322,483 left of a bound of 331,732); at this floor it
    took 6,806, and the repair left 330,996."""
    floor = np.zeros(len(net.relaxed))
    budget = p.knapsack_rows[net.relaxed]
    if budget.any():
        m = net.matrix[np.flatnonzero(budget)]
        least = np.ones(m.shape[0])
        full = np.flatnonzero(np.diff(m.indptr) > 0)
        if len(full):
            paid = np.where(m.data > 0, m.data, np.inf)
            least[full] = np.minimum.reduceat(paid, m.indptr[full])
        floor[budget] = 2.0 * tie / np.where(np.isfinite(least), least, 1.0)
    return floor


def _negative_share(p: Problem, ties: np.ndarray) -> float:
    """How far below zero the tie-breaking terms can pull a whole allocation."""
    return float(-np.minimum(p.per_agent(np.minimum, ties), 0.0).sum())


def _cover_edges(p: Problem) -> np.ndarray:
    return np.unique(p.covers.index) if len(p.covers) else np.zeros(0, dtype=np.int64)
