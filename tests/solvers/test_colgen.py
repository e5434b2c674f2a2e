"""The LP by column generation (`solvers.colgen`): its bound is an upper bound on every level
(held at the exact optimum of the ones before), never looser than the plain LP's floor, valid
when the rounds are cut short, and the edges it leaves out are the ones no allocation can
choose."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.compile import compile_season
from matcher.season import load_season
from solvers.colgen import ColumnLP
from solvers.lp import lp_bound, round_down
from solvers.problem import Level, Problem, SparseRows
from solvers.registry import get_strategy
from tests.matcher.test_properties import _write, seasons
from tests.solvers.test_strategies import random_problem

SAMPLE = Path(__file__).resolve().parents[2] / "instances" / "sample"
TOL = 1e-6


def _floor(value: float) -> int:
    return int(np.floor(value + TOL * max(1.0, abs(value))))


def test_closed_edges_worked_by_hand() -> None:
    # edge 0 alone costs 30 of a budget of 20; edges 1-3 form an order class of two distinct
    # agents (agent 1 holds two of them) that needs 3 to open; edges 4-5 a class that can open
    ea, eo = [0, 1, 1, 2, 3, 4], [0, 1, 2, 1, 3, 3]
    p = Problem(5, 4, ea, eo, levels=[Level("placed", np.ones(6))],
                rows=SparseRows.from_lists([[0, 4]], [[30, 5]]), rhs=[20],
                groups=SparseRows.from_lists([[1, 2, 3], [4, 5]]), group_min=[3, 2])
    assert p.closed_edges().tolist() == [True, True, True, True, False, False]
    lp = ColumnLP(p).solve(0)
    assert lp is not None and _floor(lp.value) == 2  # only the class of agents 3 and 4
    plain = lp_bound(p, 0, [])
    assert plain is not None and plain.value > lp.value  # the plain LP counts what cannot be


def _levels_held(p: Problem, optimum: tuple[int, ...]) -> None:
    """Every level's bound by columns, the earlier levels held at the optimum, covers the
    optimum and is no looser (in floor) than the plain LP on every column."""
    lp = ColumnLP(p, side_rows=False)
    for k in range(len(p.levels)):
        relax = lp.solve(k)
        plain = lp_bound(p, k, list(optimum[:k]))
        assert relax is not None and plain is not None
        assert _floor(relax.value) >= optimum[k], (k, relax.value, optimum)
        assert _floor(relax.value) <= _floor(plain.value), (k, relax.value, plain.value)
        assert not p.violations(round_down(p, relax.x))
        lp.fix_level(k, optimum[k])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_bounds_every_level_of_random_problems(data: st.DataObject) -> None:
    p = data.draw(st.composite(random_problem)())
    exact = get_strategy("cpsat")(p, time_limit=10, seed=0)
    assert exact.status == "optimal"
    _levels_held(p, exact.objective)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seasons())
def test_bounds_every_level_of_generated_seasons(spec: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = compile_season(load_season(_write(spec, Path(tmp)))).problem
    exact = get_strategy("cpsat")(p, time_limit=20, seed=0)
    assert exact.status == "optimal"
    _levels_held(p, exact.objective)


def test_sample_bound_with_and_without_order_class_rows_and_when_cut_short() -> None:
    p = compile_season(load_season(SAMPLE)).problem
    exact = get_strategy("cpsat")(p, time_limit=60, seed=0)
    assert exact.status == "optimal"
    plain = lp_bound(p, 0, [])
    assert plain is not None
    for side_rows in (False, True):
        relax = ColumnLP(p, side_rows=side_rows).solve(0)
        assert relax is not None
        assert exact.objective[0] <= _floor(relax.value) <= _floor(plain.value)
    # one simplex iteration in all: either no answer or a bound that still holds
    short = ColumnLP(p).solve(0, iteration_limit=1)
    assert short is None or _floor(short.value) >= exact.objective[0]
    # from an allocation, stopping at its value: the level is then proven by the bound
    started = ColumnLP(p).solve(0, start=exact.edges, incumbent=exact.objective[0])
    assert started is not None and _floor(started.value) >= exact.objective[0]
