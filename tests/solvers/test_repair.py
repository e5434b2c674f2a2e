"""Moving placed agents to cheaper edges (`solvers.repair.economise`), by hand and at random."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers import Level, Problem, SparseRows
from solvers.problem import lexicographic_priority
from solvers.repair import EdgeRows, economise, fill

from .problems import knapsack_problem


def _swap_case(alt_cost: tuple[int, int], alt_local: int = 1, slot1_seats: int = 1,
               groups: SparseRows | None = None, group_min: list[int] | None = None
               ) -> Problem:
    # Agent 0 holds edge 0 (slot 0, costing 100 from budget A); its edge 1 (slot 1) costs
    # `alt_cost` from budgets A and B. Agent 1's only edge, 2 (slot 2), costs 60 from A, whose
    # 100 are spent: it fits only once agent 0 moves.
    return Problem(2, 3, [0, 0, 1], [0, 1, 2],
                   levels=[Level("placed", [1, 1, 1]), Level("local", [1, alt_local, 1])],
                   rows=SparseRows.from_lists([[0], [1], [2], [0, 1, 2], [1]],
                                              [[1], [1], [1], [100, alt_cost[0], 60],
                                               [alt_cost[1]]]),
                   rhs=[1, slot1_seats, 1, 100, 50],
                   groups=groups or SparseRows.empty(),
                   group_min=group_min or [])


def _run(p: Problem, keep: int, start: list[int]) -> tuple[int, list[int]]:
    x = np.zeros(p.n_edges, dtype=bool)
    x[start] = True
    er = EdgeRows(p)
    moves = economise(p, x, er, keep)
    fill(p, x, lexicographic_priority(p), er)
    assert not p.violations(np.flatnonzero(x))
    return moves, np.flatnonzero(x).tolist()


def test_a_cheaper_edge_frees_budget_for_an_agent_left_out() -> None:
    assert _run(_swap_case((40, 0)), 0, [0]) == (1, [1, 2])


def test_no_move_that_takes_more_from_another_budget() -> None:
    # cheaper in all (40 + 10 < 100) but 10 more from budget B: not a saving on every budget
    assert _run(_swap_case((40, 10)), 0, [0]) == (0, [0])


def test_no_move_that_lowers_a_kept_level() -> None:
    p = _swap_case((40, 0), alt_local=0)
    assert _run(p, 1, [0]) == (0, [0])  # `local` is kept: edge 1 is not local
    assert _run(p, 0, [0]) == (1, [1, 2])  # only `placed` is kept


def test_no_move_into_a_full_row() -> None:
    assert _run(_swap_case((40, 0), slot1_seats=0), 0, [0]) == (0, [0])


def test_an_order_class_keeps_its_minimum() -> None:
    # Edges 0 (agent 0) and 2 (agent 1) form an order class of minimum `least`; the budget of
    # 160 pays both. Agent 0's edge 1 costs 40 instead of 100: moving frees 60 for agent 2.
    def case(least: int) -> Problem:
        return Problem(3, 4, [0, 0, 1, 2], [0, 1, 2, 3],
                       levels=[Level("placed", [1, 1, 1, 1])],
                       rows=SparseRows.from_lists([[0, 1, 2, 3]], [[100, 40, 60, 60]]),
                       rhs=[160], groups=SparseRows.from_lists([[0, 2]]), group_min=[least])

    assert _run(case(1), 0, [0, 2]) == (1, [1, 2, 3])  # one member to spare
    assert _run(case(2), 0, [0, 2]) == (0, [0, 2])  # at its minimum: agent 0 stays


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(20, 200), st.integers(0, 1))
def test_economise_keeps_every_rule_and_spends_no_more(seed: int, budget: int, keep: int
                                                        ) -> None:
    p = knapsack_problem(seed, 12, 5, 3, 2, budget, True)
    p = Problem(p.n_agents, p.n_options, p.edge_agent, p.edge_option,
                levels=[p.levels[0], Level("local", (p.edge_option % 2 == 0).astype(int)),
                        p.levels[1]], rows=p.rows, rhs=p.rhs)
    er = EdgeRows(p)
    x = np.zeros(p.n_edges, dtype=bool)
    order = np.random.default_rng(seed).permutation(p.n_edges).astype(float)
    fill(p, x, order + 1.0, er)  # a feasible allocation, in a random order
    before = p.level_values(np.flatnonzero(x))
    placed = np.unique(p.edge_agent[x])
    loads = er.loads(x)
    economise(p, x, er, keep)
    chosen = np.flatnonzero(x)
    assert not p.violations(chosen)
    assert np.array_equal(np.unique(p.edge_agent[x]), placed)  # the same agents, placed
    after = p.level_values(chosen)
    assert all(after[j] >= before[j] for j in range(keep + 1))
    assert er.loads(x)[-1] <= loads[-1]  # the budget row
