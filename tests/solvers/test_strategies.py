"""The numeric core on Problems built by hand: validation, answers worked out by hand, time
limits, hints, and the exact strategies agreeing with each other on random Problems."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvers import Level, Problem, SparseRows, Status, solve, strategies
from solvers.lp import lp_bound, round_down
from tests.solvers.problems import draw_edges, knapsack_problem

EXACT = ["cpsat", "mip"]


def small() -> Problem:
    """3 agents, 2 options of capacity 1; agent 1 can take either; option 1 is 'local'."""
    ea, eo = [0, 1, 1, 2], [0, 0, 1, 1]
    return Problem(3, 2, ea, eo, levels=[Level("placed", np.ones(4)), Level("local", [0, 0, 1,
                                                                                      1])],
                   rows=SparseRows.from_lists([[0, 1], [2, 3]]), rhs=[1, 1],
                   row_labels=["cap 0", "cap 1"])


def test_registry_lists_strategies() -> None:
    assert {"cpsat", "mip"} <= set(strategies())
    with pytest.raises(KeyError, match="unknown strategy 'nope'"):
        solve(small(), "nope")


@pytest.mark.parametrize("bad", [
    dict(edge_agent=[1, 0, 1, 2]),  # not sorted by agent
    dict(edge_option=[0, 0, 1, 5]),  # option out of range
    dict(rhs=[1, -1]),  # negative right-hand side
    dict(rhs=[1]),  # one rhs per row
])
def test_problem_rejects_inconsistent_arrays(bad: dict) -> None:
    base = dict(n_agents=3, n_options=2, edge_agent=[0, 1, 1, 2], edge_option=[0, 0, 1, 1],
                levels=[Level("placed", np.ones(4))],
                rows=SparseRows.from_lists([[0, 1], [2, 3]]), rhs=[1, 1])
    with pytest.raises(ValueError):
        Problem(**{**base, **bad})


def test_problem_is_immutable() -> None:
    p = small()
    with pytest.raises(ValueError):
        p.edge_agent[0] = 2


@pytest.mark.parametrize("strategy", EXACT)
def test_hand_worked_answer(strategy: str) -> None:
    # placed 2 is the best possible (2 options of capacity 1); among those, local 1 at most
    # (option 1 holds one agent).
    sol = solve(small(), strategy, time_limit=10)
    assert sol.status == Status.OPTIMAL
    assert sol.objective == (2, 1)
    assert sol.proven == 2 and sol.gap == 0
    assert not small().violations(sol.edges)


@pytest.mark.parametrize("strategy", EXACT)
def test_groups_covers_and_priorities(strategy: str) -> None:
    # Agents 0..2 can join option 0 (a group of min size 3) or option 1 (capacity 1).
    # Agent 2 is "poor": agents 0 and 1 may take option 1 only once agent 2 is placed.
    ea = [0, 0, 1, 1, 2, 2]
    eo = [0, 1, 0, 1, 0, 1]
    p = Problem(3, 2, ea, eo, levels=[Level("placed", np.ones(6))],
                rows=SparseRows.from_lists([[1, 3, 5]]), rhs=[1],
                groups=SparseRows.from_lists([[0, 2, 4]]), group_min=[3],
                priority_triggers=SparseRows.from_lists([[1, 3]]),
                priority_agents=SparseRows.from_lists([[2]]))
    sol = solve(p, strategy, time_limit=10)
    assert sol.objective == (3,)  # everyone in the group of 3
    assert not p.violations(sol.edges)
    assert p.violations(np.array([0, 2]))  # a group of 2 breaks the minimum
    assert p.violations(np.array([1]))  # agent 0 on option 1 while agent 2 is unplaced
    covered = Problem(3, 2, ea, eo, levels=[Level("cover", np.zeros(6), cover_weight=1),
                                            Level("placed", np.ones(6))],
                      rows=SparseRows.from_lists([[1, 3, 5]]), rhs=[1],
                      covers=SparseRows.from_lists([[1, 3, 5], [0, 2, 4]]))
    sol = solve(covered, strategy, time_limit=10)
    assert sol.objective == (2, 3)


@pytest.mark.parametrize("strategy", EXACT)
def test_infeasible_hint_is_never_returned(strategy: str) -> None:
    p = small()
    sol = solve(p, strategy, time_limit=10, hint=np.array([0, 1]))  # both on option 0
    assert not p.violations(sol.edges)
    assert sol.objective == (2, 1)


def random_problem(draw: st.DrawFn) -> Problem:
    n_agents, n_opt, ea, eo = draw_edges(draw, 8, 5)
    m = len(ea)
    cost = [draw(st.sampled_from([0, 0, 100, 250])) for _ in range(m)]
    rows = [[e for e in range(m) if eo[e] == o] for o in range(n_opt)]
    rhs = [draw(st.integers(0, 3)) for _ in range(n_opt)]
    rows.append(list(range(m)))
    rhs.append(draw(st.integers(0, 600)))
    coefs = [[1] * len(r) for r in rows[:-1]] + [cost]
    levels = [Level("placed", np.ones(m)), Level("local", [draw(st.integers(0, 1))
                                                            for _ in range(m)]),
              Level("-spend", -np.asarray(cost, dtype=np.int64), scale=100)]
    return Problem(n_agents, n_opt, ea, eo, levels=levels,
                   rows=SparseRows.from_lists(rows, coefs), rhs=rhs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_exact_strategies_agree_and_lp_bounds(data: st.DataObject) -> None:
    p = data.draw(st.composite(random_problem)())
    answers = {s: solve(p, s, time_limit=10) for s in EXACT}
    for s, sol in answers.items():
        assert sol.status == Status.OPTIMAL, s
        assert not p.violations(sol.edges), s
    assert answers["cpsat"].objective == answers["mip"].objective
    relax = lp_bound(p, 0, [])
    assert relax is not None and relax.value >= answers["cpsat"].objective[0] - 1e-6
    first = round_down(p, relax.x)
    assert not p.violations(first)


def test_time_limit_returns_best_found_with_gap() -> None:
    # Many agents and a knapsack: a tiny limit may stop early; whatever comes back is
    # feasible, says its status, and reports a gap in [0, 1].
    p = knapsack_problem(0, 400, 40, 5, capacity=8, budget=2000, spend_level=True)
    sol = solve(p, "cpsat", time_limit=0.5)
    assert sol.status in (Status.OPTIMAL, Status.FEASIBLE)
    assert not p.violations(sol.edges)
    assert 0 <= sol.gap <= 1
    assert (sol.status == Status.OPTIMAL) == (sol.proven == len(p.levels))
    # how close to the limit it stops is measured in benchmarks/, never asserted here


def test_mip_out_of_time_returns_its_start_with_a_valid_bound() -> None:
    # With no time to search, `mip` still answers: its greedy MIP start, feasible, with a
    # finite bound on the level it stopped at (the levels' ceiling when HiGHS gave none).
    from solvers.problem import lexicographic_priority
    from solvers.repair import EdgeRows, fill

    p = knapsack_problem(1, 300, 30, 4, capacity=6, budget=1500, spend_level=False)
    start = np.zeros(p.n_edges, dtype=bool)
    fill(p, start, lexicographic_priority(p), EdgeRows(p))
    greedy = p.level_values(np.flatnonzero(start))[0]
    assert greedy > 0
    sol = solve(p, "mip", time_limit=1e-9)
    assert not p.violations(sol.edges)
    assert sol.objective[0] >= greedy
    assert np.isfinite(sol.bound) and sol.bound >= sol.objective[0]
    assert 0 <= sol.gap <= 1
    full = solve(p, "mip", time_limit=30)
    assert full.status == Status.OPTIMAL and full.objective[0] <= sol.bound


def test_cpsat_bounds_the_level_it_had_no_time_for_by_its_lp(monkeypatch) -> None:
    # The first level's search is made to use up all but the kept tail: the second level
    # then gets no search, and its bound is its LP's (valid, and below the levels' ceiling).
    import time as clock

    import solvers.cpsat as cpsat_module

    rng = np.random.default_rng(2)
    n, k = 200, 20
    ea = np.repeat(np.arange(n), 3)
    eo = np.concatenate([np.sort(rng.choice(k, 3, replace=False)) for _ in range(n)])
    local = (eo % 3 == 0).astype(np.int64)
    p = Problem(n, k, ea, eo, levels=[Level("placed", np.ones(len(ea))), Level("local", local)],
                rows=SparseRows.from_lists([np.flatnonzero(eo == o) for o in range(k)]),
                rhs=[5] * k)
    limit = 3.0
    race = cpsat_module._race

    def slow_race(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = race(*args, **kwargs)
        clock.sleep(args[6])  # the level's search time, used to its end
        return out

    monkeypatch.setattr(cpsat_module, "_race", slow_race)
    # and the LP stage proves nothing, so that the first level goes to the race, alone (a
    # block would prove the second level with it)
    monkeypatch.setattr(cpsat_module, "level_block", lambda problem, k: None)
    monkeypatch.setattr(cpsat_module.MipModel, "lp_stage",
                        lambda self, lp, k, best, deadline, seed, rens=True: (
                            best, float("inf"), None, "stage skipped"))
    sol = solve(p, "cpsat", time_limit=limit)
    assert sol.proven == 1 and "local: LP bound" in sol.log and "no time to search" in sol.log
    assert not p.violations(sol.edges)
    monkeypatch.undo()
    full = solve(p, "cpsat", time_limit=30)
    assert full.status == Status.OPTIMAL and full.objective[0] == sol.objective[0]
    assert full.objective[1] <= sol.bound < p.level_ceiling(1)


def test_relative_gap_is_a_fraction() -> None:
    from solvers.solution import relative_gap

    assert relative_gap(218, 218) == 0
    assert relative_gap(200, 220) == 20 / 220
    assert relative_gap(-1999, 0) == 1.0  # -spend against a trivial bound of 0
    assert relative_gap(-2000, -1000) == 0.5
    assert relative_gap(-5, 10) == 1.0


def test_cpsat_starts_from_the_flow_at_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    import solvers.cpsat as cpsat_module

    p = knapsack_problem(5, 60, 6, 3, 4, 300, True)
    monkeypatch.setattr(cpsat_module, "FLOW_HINT_EDGES", 10)
    sol = solve(p, "cpsat", time_limit=20)
    assert "flow hint" in sol.log and not p.violations(sol.edges)
    monkeypatch.undo()
    plain = solve(p, "cpsat", time_limit=20)
    assert "flow hint" not in plain.log
    assert sol.status == plain.status == Status.OPTIMAL and sol.objective == plain.objective
