"""The MIP model in HiGHS: order classes brought in only when an answer breaks them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvers import Level, Problem, SparseRows, Status, solve
from solvers.highs import MipModel, solve_mip
from solvers.problem import Ranking
from tests.solvers.problems import draw_edges, knapsack_problem


def _one_class_too_small() -> Problem:
    # Option 0 is an order class of minimum 2 but holds only 1 seat, so it can never open.
    # Agent 0 can only join it; agents 1 and 2 share option 1 (1 seat). Without the class
    # rows the optimum places 2 (agent 0 in the class alone), with them only 1.
    return Problem(3, 2, [0, 1, 2], [0, 1, 1], levels=[Level("placed", np.ones(3))],
                   rows=SparseRows.from_lists([[0], [1, 2]]), rhs=[1, 1],
                   groups=SparseRows.from_lists([[0]]), group_min=[2])


def test_a_broken_class_is_added_and_the_level_solved_again() -> None:
    p = _one_class_too_small()
    m = MipModel(p)
    assert m.group_col == {}  # nothing modelled before an answer needs it
    res = m.run(0, 10.0, 0, None)
    assert res.optimal and res.value == 1 and res.bound < 2
    assert list(m.group_col) == [0]
    assert not p.violations(res.edges)
    eager = MipModel(p, lazy_groups=False)
    assert list(eager.group_col) == [0]
    assert eager.run(0, 10.0, 0, None).value == 1


def test_out_of_time_with_a_broken_class_gives_it_closed_and_refilled() -> None:
    p = _one_class_too_small()
    m = MipModel(p)
    res = m.run(0, 0.0, 0, None)  # the first answer breaks the class; no time to go again
    assert not res.optimal and res.bound >= 1  # the bound without the class still holds
    # the answer stands with the class closed and the seats refilled: agent 1 or 2 placed
    assert res.value == 1 and not p.violations(res.edges)


def test_settling_a_broken_answer_closes_the_class_and_refills() -> None:
    # Agent 0 alone in order class 0 (min 2) breaks it; closed, agent 0 moves to option 2.
    p = Problem(2, 3, [0, 0, 1], [0, 2, 1], levels=[Level("placed", np.ones(3))],
                rows=SparseRows.from_lists([[0], [2], [1]]), rhs=[3, 1, 1],
                groups=SparseRows.from_lists([[0]]), group_min=[2])
    m = MipModel(p)
    settled = m.settled(np.array([0, 2]), 0)
    assert settled is not None
    edges, value = settled
    assert sorted(edges.tolist()) == [1, 2] and value == 2 and not p.violations(edges)
    # held at 2, an answer whose settling places fewer is refused
    lonely = Problem(2, 2, [0, 1], [0, 1], levels=[Level("placed", np.ones(2))],
                     rows=SparseRows.from_lists([[0], [1]]), rhs=[3, 1],
                     groups=SparseRows.from_lists([[0]]), group_min=[2])
    held = MipModel(lonely)
    held.fix_level(0, 2)
    assert held.settled(np.array([0, 1]), 0) is None


@st.composite
def grouped_problem(draw: st.DrawFn) -> Problem:
    """Agents, options of small capacity, and some options that are order classes."""
    n_agents, n_opt, ea, eo = draw_edges(draw, 9, 4)
    m = len(ea)
    rows = [[e for e in range(m) if eo[e] == o] for o in range(n_opt)]
    rhs = [draw(st.integers(0, 4)) for _ in range(n_opt)]
    classes = [o for o in range(n_opt) if draw(st.booleans())]
    groups = [rows[o] for o in classes]
    mins = [draw(st.integers(2, 4)) for _ in classes]
    local = [draw(st.integers(0, 1)) for _ in range(m)]
    return Problem(n_agents, n_opt, ea, eo,
                   levels=[Level("placed", np.ones(m)), Level("local", local)],
                   rows=SparseRows.from_lists(rows), rhs=rhs,
                   groups=SparseRows.from_lists(groups), group_min=mins)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grouped_problem())
def test_lazy_classes_find_the_same_optimum_as_cpsat(p: Problem) -> None:
    mip = solve(p, "mip", time_limit=10)
    reference = solve(p, "cpsat", time_limit=10)
    assert mip.status == Status.OPTIMAL and reference.status == Status.OPTIMAL
    assert not p.violations(mip.edges)
    assert mip.objective == reference.objective
    eager = MipModel(p, lazy_groups=False).run(0, 10.0, 0, None)
    assert eager.value == mip.objective[0]


def test_a_level_the_lp_proves_needs_no_mip(monkeypatch: pytest.MonkeyPatch) -> None:
    # Three agents, one edge each costing 2 from a budget of 5: on the tightened budget (4) the
    # LP's bound is 2, its point rounds to 2 placed, and the level is proven without a MIP.
    p = Problem(3, 3, [0, 1, 2], [0, 1, 2], levels=[Level("placed", np.ones(3))],
                rows=SparseRows.from_lists([[0, 1, 2]], [[2, 2, 2]]), rhs=[5])

    def no_mip(*args: object, **kwargs: object) -> None:
        raise AssertionError("the MIP ran on a level its LP proves")

    monkeypatch.setattr(MipModel, "run", no_mip)
    sol = solve_mip(p, time_limit=10)
    assert sol.status == Status.OPTIMAL and sol.objective == (2,) and sol.proven == 1
    assert not p.violations(sol.edges)


def test_run_within_holds_the_rest_at_zero_and_then_frees_it() -> None:
    # Agent 0 may take option 0 or 1, agent 1 only option 0 (1 seat each): the optimum (2)
    # needs agent 0 on option 1. Within {edge 0, edge 2} only one agent fits; afterwards the
    # whole model finds 2 again.
    p = Problem(2, 2, [0, 0, 1], [0, 1, 0], levels=[Level("placed", np.ones(3))],
                rows=SparseRows.from_lists([[0, 2], [1]]), rhs=[1, 1])
    m = MipModel(p)
    within = m.run_within(0, np.array([True, False, True]), 10.0, 0, None)
    assert within is not None and within[1] == 1 and 1 not in within[0].tolist()
    res = m.run(0, 10.0, 0, None)
    assert res.optimal and res.value == 2


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(5, 40), st.booleans())
def test_lp_first_finds_what_the_mip_alone_finds(seed: int, budget: int, spend: bool) -> None:
    p = knapsack_problem(seed, 8, 4, 2, 2, budget, spend)
    first = solve_mip(p, time_limit=10)
    alone = solve_mip(p, time_limit=10, lp_first=False, blocks=False)
    assert first.status == Status.OPTIMAL and alone.status == Status.OPTIMAL
    assert first.objective == alone.objective
    assert not p.violations(first.edges)


def test_mip_holds_stability() -> None:
    # One seat; the slot ranks agent 0 first, but the `local` level prefers agent 1. Agent 1
    # there would leave the blocking pair (agent 0, slot 0): the stable optimum is agent 0,
    # though the LP (which knows nothing of stability) and a greedy start both take agent 1.
    ranking = Ranking(option_slot=[0], option_start=[1], option_span=[1], slot_capacity=[1],
                      edge_student_rank=[1, 1], edge_slot_rank=[1, 2], agent_priority=[1, 2])
    p = Problem(2, 1, [0, 1], [0, 0], levels=[Level("placed", [1, 1]), Level("local", [0, 1])],
                rows=SparseRows.from_lists([[0, 1]]), rhs=[1], ranking=ranking, stable=True)
    sol = solve(p, "mip", time_limit=10)
    assert sol.status == Status.OPTIMAL and sol.edges.tolist() == [0]
    assert sol.objective == (1, 0) and not p.violations(sol.edges)


def test_mip_reports_a_stable_problem_without_a_stable_allocation_infeasible() -> None:
    # Agent 0 ranks slot 0 first; slot 0 (one seat) is an order class of minimum 2 that only
    # agent 0 can join, so it never opens: agent 0, unplaced or at slot 1, always blocks with
    # slot 0 (room in it). No stable allocation exists.
    ranking = Ranking(option_slot=[0, 1], option_start=[1, 1], option_span=[1, 1],
                      slot_capacity=[1, 1], edge_student_rank=[1, 2], edge_slot_rank=[1, 1],
                      agent_priority=[1])
    p = Problem(1, 2, [0, 0], [0, 1], levels=[Level("placed", [1, 1])],
                rows=SparseRows.from_lists([[0], [1]]), rhs=[1, 1],
                groups=SparseRows.from_lists([[0]]), group_min=[2], ranking=ranking,
                stable=True)
    assert solve(p, "cpsat", time_limit=10).status == Status.INFEASIBLE
    sol = solve(p, "mip", time_limit=10)
    assert sol.status == Status.INFEASIBLE and len(sol.edges) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mip_and_cpsat_agree_on_stable_problems(data: st.DataObject) -> None:
    n_agents, n_opt, ea, eo = draw_edges(data.draw, 6, 3)
    m = len(ea)
    ranking = Ranking(option_slot=list(range(n_opt)), option_start=[1] * n_opt,
                      option_span=[1] * n_opt,
                      slot_capacity=[data.draw(st.integers(0, 2)) for _ in range(n_opt)],
                      edge_student_rank=[data.draw(st.integers(1, 3)) for _ in range(m)],
                      edge_slot_rank=[data.draw(st.integers(1, 3)) for _ in range(m)],
                      agent_priority=list(range(1, n_agents + 1)))
    p = Problem(n_agents, n_opt, ea, eo,
                levels=[Level("placed", np.ones(m)),
                        Level("local", [data.draw(st.integers(0, 1)) for _ in range(m)])],
                rows=SparseRows.from_lists([[e for e in range(m) if eo[e] == o]
                                            for o in range(n_opt)]),
                rhs=ranking.slot_capacity, ranking=ranking, stable=True)
    mip = solve(p, "mip", time_limit=10)
    reference = solve(p, "cpsat", time_limit=10)
    assert mip.status == reference.status
    if reference.status == Status.OPTIMAL:
        assert mip.objective == reference.objective and not p.violations(mip.edges)


def test_mip_starts_from_the_flow_at_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    import solvers.highs as highs_module

    p = knapsack_problem(3, 60, 6, 3, 4, 300, True)
    monkeypatch.setattr(highs_module, "FLOW_START_EDGES", 10)
    sol = solve_mip(p, time_limit=20)
    assert "flow start" in sol.log and not p.violations(sol.edges)
    reference = solve_mip(p, time_limit=20, lp_first=False, blocks=False)
    assert reference.status == Status.OPTIMAL
    assert sol.objective[:sol.proven] == reference.objective[:sol.proven]
    if sol.proven < len(p.levels):
        assert sol.bound >= reference.objective[sol.proven]


def test_no_mip_run_starts_without_time_for_its_presolve(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    import solvers.highs as highs_module

    p = knapsack_problem(4, 30, 5, 2, 3, 200, False)

    def no_mip(*args: object, **kwargs: object) -> None:
        raise AssertionError("a MIP ran without time for its presolve")

    monkeypatch.setattr(highs_module, "PRESOLVE_SECONDS_PER_EDGE", 1e6)
    monkeypatch.setattr(MipModel, "run", no_mip)
    sol = solve_mip(p, time_limit=5)
    assert not p.violations(sol.edges)
    exact = solve(p, "cpsat", time_limit=10)
    assert exact.status == Status.OPTIMAL
    assert sol.objective[0] <= exact.objective[0] <= sol.bound
