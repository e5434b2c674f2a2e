"""What a Problem knows of its own rows and levels: tightened right-hand sides and value steps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers import Level, Problem, SparseRows
from solvers.lp import lp_bound


def _budgets() -> Problem:
    # Four agents, one edge each. Row 0 pays 60,000 fen a head from 188,000 (3.13 heads);
    # row 1 pays 20,000 or 50,000 from 120,000 (gcd 10,000: already a multiple); row 2 is a
    # capacity of 2; row 3 is empty.
    return Problem(4, 4, [0, 1, 2, 3], [0, 1, 2, 3],
                   levels=[Level("placed", np.ones(4)),
                           Level("-spend", [-60_000, -60_000, -20_000, -50_000], scale=100)],
                   rows=SparseRows.from_lists([[0, 1, 2], [2, 3], [0, 3], []],
                                              [[60_000] * 3, [20_000, 50_000], [1, 1], []]),
                   rhs=[188_000, 120_000, 2, 7])


def test_tight_rhs_rounds_each_row_down_to_a_multiple_of_its_gcd() -> None:
    p = _budgets()
    assert p.tight_rhs.tolist() == [180_000, 120_000, 2, 7]
    assert p.rhs.tolist() == [188_000, 120_000, 2, 7]  # the problem itself is unchanged
    with pytest.raises(ValueError):
        p.tight_rhs[0] = 0  # read-only, like every array of a Problem


def test_knapsack_rows_are_the_rows_with_a_coefficient_other_than_1() -> None:
    p = _budgets()
    assert p.knapsack_rows.tolist() == [True, True, False, False]  # budgets, seats, empty
    with pytest.raises(ValueError):
        p.knapsack_rows[2] = True


def test_level_steps_and_bound_cap() -> None:
    p = _budgets()
    assert p.level_steps == (1, 10_000)
    assert p.bound_cap(0, 1436.8) == 1436
    assert p.bound_cap(0, 1436.9999999999) == 1437  # floating point noise is not a fraction
    assert p.bound_cap(1, -20_757_500) == -20_760_000
    assert p.bound_cap(1, -20_760_000) == -20_760_000
    assert p.bound_cap(0, float("inf")) == float("inf")


def test_tightening_closes_a_budget_lp_gap() -> None:
    # Three agents, one edge each costing 2 from a budget of 5: the LP places 2.5 on the raw
    # row, but the tightened row (4) allows only what an allocation can, 2.
    p = Problem(3, 3, [0, 1, 2], [0, 1, 2], levels=[Level("placed", np.ones(3))],
                rows=SparseRows.from_lists([[0, 1, 2]], [[2, 2, 2]]), rhs=[5])
    assert p.tight_rhs.tolist() == [4]
    bound = lp_bound(p, 0, [])
    assert bound is not None and bound.value == pytest.approx(2.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(1, 6), min_size=0, max_size=5), min_size=1, max_size=4),
       st.integers(1, 3), st.data())
def test_tight_rhs_keeps_exactly_the_same_allocations(rows: list[list[int]], unit: int,
                                                       data: st.DataObject) -> None:
    """Every 0/1 point fits a row's tightened right-hand side exactly when it fits the row's."""
    n = max((len(r) for r in rows), default=0) or 1
    coefs = [[c * unit * 5 for c in r] for r in rows]
    rhs = [data.draw(st.integers(0, 200)) for _ in rows]
    p = Problem(n, n, np.arange(n), np.arange(n), levels=[Level("placed", np.ones(n))],
                rows=SparseRows.from_lists([list(range(len(r))) for r in rows], coefs), rhs=rhs)
    for mask in range(2 ** n):
        x = np.array([(mask >> i) & 1 for i in range(n)])
        for i in range(len(rows)):
            idx, coef = p.rows.row(i)
            lhs = int(coef @ x[idx])
            assert (lhs <= p.rhs[i]) == (lhs <= p.tight_rhs[i])
