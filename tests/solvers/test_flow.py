"""Strategy `flow`: every answer passes the audit, never beats the exact optimum, proves only
what is true, and its bound is never below the optimum (weak duality)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from matcher.allocation import decode
from matcher.compile import compile_season
from matcher.season import load_season
from solvers.flow import solve_flow
from solvers.network import build_network
from solvers.problem import Level, Problem, SparseRows
from solvers.registry import get_strategy
from tests.matcher.test_properties import _write, seasons

SAMPLE = Path(__file__).resolve().parents[2] / "instances" / "sample"


def _check_against_exact(problem: Problem, flow_sol, exact_sol) -> None:
    assert not problem.violations(flow_sol.edges)
    assert flow_sol.objective <= exact_sol.objective  # lexicographic: never better than optimal
    k = flow_sol.proven
    assert flow_sol.objective[:k] == exact_sol.objective[:k]  # what it proves is true
    if k < len(problem.levels):
        assert exact_sol.objective[k] <= flow_sol.bound + 1e-6  # the bound is a bound
        assert 0.0 <= flow_sol.gap <= 1.0
    else:
        assert flow_sol.status == "optimal"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seasons())
def test_flow_is_feasible_and_its_bound_holds(spec: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        compiled = compile_season(load_season(_write(spec, Path(tmp))))
    p = compiled.problem
    exact = get_strategy("cpsat")(p, time_limit=20, seed=0)
    assert exact.status == "optimal"
    sol = solve_flow(p, time_limit=10, iterations=30)
    _check_against_exact(p, sol, exact)
    alloc = decode(compiled, sol)
    assert alloc.audit.ok, alloc.audit.violations
    again = solve_flow(p, time_limit=10, iterations=30)
    assert np.array_equal(again.edges, sol.edges)  # no randomness, no time cut: same answer


def test_flow_on_the_sample_is_close_to_the_optimum() -> None:
    compiled = compile_season(load_season(SAMPLE))
    p = compiled.problem
    sol = solve_flow(p, time_limit=20)
    alloc = decode(compiled, sol)
    assert alloc.audit.ok, alloc.audit.violations
    lp = get_strategy("mip")(p, time_limit=60)
    _check_against_exact(p, sol, lp)
    assert sol.objective[0] >= 0.98 * lp.objective[0]
    assert sol.gap <= 0.01


def _two_period_problem() -> Problem:
    """One slot of capacity 1 over two periods: options 3m@1 (0), 3m@2 (1), 6m@1 (2); agents
    0 and 1 each have all three; a budget of 1 unit pays only the 6-month option."""
    edge_agent = [0, 0, 0, 1, 1, 1]
    edge_option = [0, 1, 2, 0, 1, 2]
    rows = SparseRows.from_lists([[0, 2, 3, 5], [1, 2, 4, 5], [2, 5]],
                                 [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1]])
    return Problem(n_agents=2, n_options=3, edge_agent=edge_agent, edge_option=edge_option,
                   levels=(Level("placed", np.ones(6, dtype=np.int64)),
                           Level("months", np.array([3, 3, 6, 3, 3, 6]))),
                   rows=rows, rhs=np.array([1, 1, 1]))


def test_network_keeps_what_nests_and_relaxes_the_rest() -> None:
    p = _two_period_problem()
    net = build_network(p)
    # period 1 nests wholly; period 2 shares the 6-month edges with period 1: relaxed;
    # the budget row (6-month edges only) sits inside period 1's node
    assert list(net.relaxed) == [1]
    assert net.leaf[0] >= 0 and net.leaf[1] >= 0 and net.leaf[1] != net.leaf[0]
    assert net.matrix.shape == (1, 6)


def test_flow_by_hand_two_periods() -> None:
    # best: both placed for 3 months each (2 placed, 6 months) — worked out by hand
    sol = solve_flow(_two_period_problem(), time_limit=5)
    assert sol.objective == (2, 6)
    assert sol.status == "optimal" and sol.proven == 2


def test_flow_bound_leaves_out_edges_no_allocation_can_choose() -> None:
    """Agent 0's only edge alone passes the budget (5 > 3): no allocation takes it, so the
    first round's bound is already 1, the optimum, worked out by hand. With that edge in the
    flow, the first round at zero prices would take both agents and bound 2."""
    rows = SparseRows.from_lists([[0, 1]], [[5, 2]])
    p = Problem(n_agents=2, n_options=2, edge_agent=[0, 1], edge_option=[0, 1],
                levels=(Level("placed", np.ones(2, dtype=np.int64)),), rows=rows,
                rhs=np.array([3]))
    sol = solve_flow(p, time_limit=5, iterations=1, columns=False)
    assert sol.objective == (1,) and sol.status == "optimal" and sol.proven == 1


def _unpriced_budget_problem() -> Problem:
    """Slots A and B, one seat each; a budget of 2 pays 2 for each subsidised edge: agent 0
    (A, subsidised), agent 1 (B, unsubsidised), agent 2 (A or B, subsidised, the one the
    preference level likes best). Worked out by hand: 2 placed at most (the two seats), with
    agents 0 and 1, or 2 on A and 1 on B; both spend 2, so the budget's multiplier is 0."""
    rows = SparseRows.from_lists([[0, 2], [1, 3], [0, 2, 3]], [[1, 1], [1, 1], [2, 2, 2]])
    return Problem(n_agents=3, n_options=2, edge_agent=[0, 1, 2, 2], edge_option=[0, 1, 0, 1],
                   levels=(Level("placed", np.ones(4, dtype=np.int64)),
                           Level("preference", np.array([1, 1, 2, 3]))),
                   rows=rows, rhs=np.array([1, 1, 2]))


def test_flow_spends_an_unpriced_budget_only_where_the_level_gains(monkeypatch) -> None:
    """At zero prices the preference alone would pick agent 0 on A and agent 2 on B (4 spent
    of 2): the repair then drops agent 0 and nobody else fits A (1 placed). A budget at its
    least price makes the flow spend it only where the count gains: 2 placed, proven in the
    first round."""
    import solvers.flow as flow_module

    p = _unpriced_budget_problem()
    sol = solve_flow(p, time_limit=5, iterations=1, columns=False)
    assert not p.violations(sol.edges)
    assert sol.objective[0] == 2 and sol.proven >= 1
    monkeypatch.setattr(flow_module, "_budget_floor",
                        lambda p, net, tie: np.zeros(len(net.relaxed)))
    worse = solve_flow(p, time_limit=5, iterations=1, columns=False)
    assert worse.objective[0] == 1 and worse.proven == 0  # the case the floor is for


@pytest.mark.parametrize("bad", [0.0, 1e-9])
def test_flow_with_no_time_returns_a_feasible_answer(bad: float) -> None:
    p = _two_period_problem()
    sol = solve_flow(p, time_limit=bad)
    assert not p.violations(sol.edges)
    assert sol.status == "feasible" and 0 <= sol.gap <= 1


def test_flow_started_from_sample_prices_keeps_a_valid_bound(monkeypatch) -> None:
    """Multipliers from a sample's LP only start the rounds: the bound is still the flow's own,
    never below the optimum, and the answer still passes the audit."""
    import solvers.flow as flow_module
    from solvers.network import build_network
    from solvers.sample import sample_prices

    compiled = compile_season(load_season(SAMPLE))
    p = compiled.problem
    prices = sample_prices(p, build_network(p), 0, [], seed=3, agents=120)
    assert prices.shape == (len(build_network(p).relaxed),) and (prices >= 0).all()
    assert prices.any()  # the sample's budgets bind: it prices something
    seats = ~p.knapsack_rows[build_network(p).relaxed]
    assert seats.any() and not prices[seats].any()  # seat rows keep no sample price
    monkeypatch.setattr(flow_module, "_SAMPLE_FROM", 0)
    sol = solve_flow(p, time_limit=10, seed=3)
    exact = get_strategy("mip")(p, time_limit=60)
    _check_against_exact(p, sol, exact)
    assert decode(compiled, sol).audit.ok


def test_sample_prices_in_two_stages_price_like_the_whole_season(monkeypatch) -> None:
    """A large sample starts from the columns a smaller sample's prices favour: the prices
    still come back, one per row and non-negative, and they price the rows the whole
    season's LP prices (its budgets bind)."""
    import solvers.sample as sample_module
    from solvers.colgen import ColumnLP

    p = compile_season(load_season(SAMPLE)).problem
    monkeypatch.setattr(sample_module, "SAMPLE_MIN", 40)  # 160+ agents: two stages
    prices = sample_module.sample_row_prices(p, 0, seed=5, agents=200)
    assert prices.shape == (len(p.rows),) and (prices >= 0).all()
    whole = ColumnLP(p, side_rows=False)
    assert whole.solve(0, integral=False) is not None
    priced = whole.row_prices() > 1e-9
    assert priced.any() and (prices[priced] > 0).any()
