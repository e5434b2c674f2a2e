"""Levels merged into one exact objective (`solvers.level_block`), and `mip` solving blocks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvers import Level, Problem, SparseRows
from solvers.highs import rens_pays, solve_mip
from solvers.level_block import LevelBlock, counting, level_block
from solvers.solution import Status

from .problems import knapsack_problem


def _three_levels() -> Problem:
    # Two agents with two edges each. `placed` spans 0..2; `pref` 0..6 (agent 0 at most 4,
    # agent 1 at most 2) in steps of 2, so 0..3 steps; `-spend` -50,000..0 fen in steps of
    # 10,000 (-5..0 steps).
    return Problem(2, 3, [0, 0, 1, 1], [0, 1, 1, 2],
                   levels=[Level("placed", [1, 1, 1, 1]), Level("pref", [4, 2, 2, 0]),
                           Level("-spend", [-30_000, 0, -20_000, -10_000], scale=100)],
                   rows=SparseRows.from_lists([[1, 2]]), rhs=[1])


def test_level_floor_and_spans() -> None:
    p = _three_levels()
    assert [p.level_floor(k) for k in range(3)] == [0, 0, -50_000]
    assert [p.level_ceiling(k) for k in range(3)] == [2, 6, 0]


def test_block_weights_by_hand() -> None:
    p = _three_levels()
    block = level_block(p, 0)
    assert block is not None and (block.first, block.last) == (0, 2)
    # spans 3, 4 and 6 values: `placed` counts 4 * 6 = 24 a unit, `pref` 6 a step, `-spend` 1
    assert block.place == (24, 6, 1) and block.low == (0, 0, -5)
    assert block.steps == (1, 2, 10_000)
    assert block.weights.tolist() == [24 + 12 - 3, 24 + 6, 24 + 6 - 2, 24 - 1]
    assert block.value((2, 4, -30_000)) == 48 + 12 - 3
    # the first level's cap: the later ones add at least 0 * 6 and -5 * 1
    assert block.first_cap(57.0) == 2  # (57 + 5) // 24
    assert block.first_cap(42.9) == 1
    assert block.cap(104.9999999) == 105 and block.cap(104.6) == 104


def test_a_block_stops_at_the_span() -> None:
    p = _three_levels()
    assert level_block(p, 0, span=71).last == 1  # 3 * 4 fits, 3 * 4 * 6 does not
    assert level_block(p, 0, span=11) is None
    assert level_block(p, 2) is None  # the last level has nothing to merge with


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_block_order_is_the_lexicographic_order(seed: int) -> None:
    """Over every allocation of a small problem, the block's value orders them exactly as the
    tuple of its levels' values does."""
    rng = np.random.default_rng(seed)
    n_agents, per = 3, 2
    m = n_agents * per
    levels = [Level("a", rng.integers(0, 3, m)), Level("b", rng.integers(-4, 5, m) * 3),
              Level("c", rng.integers(-2, 3, m) * 100)]
    p = Problem(n_agents, m, np.repeat(np.arange(n_agents), per), np.arange(m), levels=levels)
    block = level_block(p, 0)
    assert isinstance(block, LevelBlock) and block.last == 2
    choices = [[None, *range(a * per, (a + 1) * per)] for a in range(n_agents)]
    seen = []
    for pick in itertools.product(*choices):
        edges = np.array([e for e in pick if e is not None], dtype=np.int64)
        values = p.level_values(edges)
        value = block.value(values)
        assert value == int(block.weights @ p.indicator(edges))
        seen.append((values, value))
    for (v1, b1), (v2, b2) in itertools.combinations(seen, 2):
        assert (v1 < v2) == (b1 < b2) and (v1 == v2) == (b1 == b2)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(5, 40))
def test_mip_with_blocks_finds_what_it_finds_level_by_level(seed: int, budget: int) -> None:
    p = knapsack_problem(seed, 8, 4, 2, 2, budget, True)
    merged = solve_mip(p, time_limit=10, lp_first=False)
    alone = solve_mip(p, time_limit=10, lp_first=False, blocks=False)
    assert merged.status == Status.OPTIMAL and alone.status == Status.OPTIMAL
    assert merged.objective == alone.objective and merged.proven == 2
    assert "as one MIP" in merged.log and "as one MIP" not in alone.log
    assert not p.violations(merged.edges)


def test_a_block_out_of_time_still_bounds_its_first_level(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """A block not proven gives its first level the bound the block implies, never more than
    the level's own optimum allows."""
    import solvers.highs as highs_module

    p = knapsack_problem(7, 40, 6, 3, 4, 200, True)
    reference = solve_mip(p, time_limit=20, blocks=False)
    assert reference.status == Status.OPTIMAL
    original = highs_module.MipModel.run

    def unproven(self: highs_module.MipModel, k: int, time_limit: float, seed: int,
                 start: np.ndarray | None, block: LevelBlock | None = None
                 ) -> highs_module.LevelResult:
        res = original(self, k, time_limit, seed, start, block)
        if block is None:
            return res
        # as if the run had stopped with its bound one unit of the first level too high
        return highs_module.LevelResult(start, None, res.bound + block.place[0], False)

    monkeypatch.setattr(highs_module.MipModel, "run", unproven)
    sol = solve_mip(p, time_limit=20, lp_first=False)
    assert sol.status == Status.FEASIBLE and sol.proven == 0
    assert sol.bound >= reference.objective[0]
    assert not p.violations(sol.edges)


def test_cpsat_takes_a_block_highs_proves_in_its_race(monkeypatch: pytest.MonkeyPatch) -> None:
    """With CP-SAT finding nothing, HiGHS' block in the race proves both levels at once (a
    weighted first level: on a count HiGHS races on the level alone)."""
    from ortools.sat.python import cp_model

    import solvers.cpsat as cpsat_module

    base = knapsack_problem(11, 12, 4, 2, 3, 60, True)
    weights = np.random.default_rng(11).integers(2, 6, base.n_edges)
    p = Problem(base.n_agents, base.n_options, base.edge_agent, base.edge_option,
                levels=[Level("preference", weights), base.levels[1]], rows=base.rows,
                rhs=base.rhs)
    reference = solve_mip(p, time_limit=10, blocks=False)
    monkeypatch.setattr(cpsat_module, "_run",
                        lambda *args, **kwargs: (cp_model.UNKNOWN, None, float("inf")))
    sol = cpsat_module.solve_cpsat(p, time_limit=10, lp=False)
    assert sol.status == Status.OPTIMAL and sol.proven == 2
    assert sol.objective == reference.objective
    assert "as one MIP" in sol.log and not p.violations(sol.edges)


def test_rens_is_left_out_only_on_a_weighted_level_a_block_follows() -> None:
    p = _three_levels()  # `placed` counts, `pref` and `-spend` weigh
    assert rens_pays(p, 0, level_block(p, 0))  # a count: RENS often proves it
    assert not rens_pays(p, 1, level_block(p, 1))  # weighted, the block `pref` + `-spend` follows
    assert rens_pays(p, 1, None)  # no blocks: RENS gives the level's MIP its start
    assert rens_pays(p, 2, level_block(p, 2))  # the last level has no block after it


def test_counting_levels() -> None:
    p = _three_levels()
    assert [counting(p, k) for k in range(3)] == [True, False, False]
