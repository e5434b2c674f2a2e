"""pytest-benchmark suites for the hot paths at sample size (instances/sample, 300 students).

    python -m pytest benchmarks                      # time them (pytest-benchmark's table)
    python -m pytest benchmarks --benchmark-disable  # run each once, as plain tests

Every benchmark also checks its result, so the suite is a test too; none asserts a timing.
"""

from __future__ import annotations

from matcher.audit import audit
from matcher.compile import compile_season
from matcher.season import load_season, validate_season
from solvers.registry import solve
from solvers.solution import Status

SAMPLE_STUDENTS = 300
# Generous: the sample proves every level in seconds; the limit only guards a stuck machine.
SOLVE_TIME_LIMIT = 60.0


def test_load_season(benchmark, sample_path):
    """Read the CSV tables and season.toml, type and validate every cell, resolve the policy."""
    season = benchmark(load_season, sample_path)
    assert len(season.students) == SAMPLE_STUDENTS
    assert season.policy.name == "chenzhou-2018"


def test_validate_season(benchmark, sample_path):
    """What `matcher validate` does: every issue of the folder, errors and warnings."""
    issues = benchmark(validate_season, sample_path)
    assert not [i for i in issues if i.is_error]


def test_compile_season(benchmark, sample_season):
    """Season -> solvers.Problem: eligible edges, packing rows, levels, subsidy lines."""
    compiled = benchmark(compile_season, sample_season)
    problem = compiled.problem
    assert problem.n_agents == SAMPLE_STUDENTS
    assert problem.n_edges > 0
    assert [lv.name for lv in problem.levels][:2] == ["placed", "local"]
    assert len(compiled.pay_edge) == len(compiled.pay_rule) == len(compiled.pay_fen)


def test_audit(benchmark, sample_season, sample_allocation):
    """The independent audit of a solved allocation: constraints, ledger, metrics, unplaced."""
    report = benchmark(audit, sample_season, sample_allocation.assignments,
                       sample_allocation.ledger)
    assert report.ok, report.violations[:5]
    assert report.metrics["placed"] == sample_allocation.metrics["placed"]
    placed = len(sample_allocation.assignments)
    assert len(report.unplaced) == SAMPLE_STUDENTS - placed


def test_solve_cpsat(benchmark, sample_compiled):
    """A full lexicographic cpsat solve of the sample's Problem, every level proven."""
    problem = sample_compiled.problem
    solution = benchmark.pedantic(
        solve, args=(problem, "cpsat"), kwargs={"time_limit": SOLVE_TIME_LIMIT, "seed": 0},
        rounds=3, iterations=1, warmup_rounds=0)
    assert solution.status == Status.OPTIMAL
    assert solution.proven == len(problem.levels)
    assert solution.gap == 0.0
    assert not problem.violations(solution.edges)
    benchmark.extra_info["objective"] = list(solution.objective)
    benchmark.extra_info["levels_proven"] = solution.proven


def test_build_network(benchmark, sample_compiled):
    """Split the packing rows into the nested network the flow holds and the relaxed rest."""
    from solvers.network import build_network

    problem = sample_compiled.problem
    net = benchmark(build_network, problem)
    assert net.n_nodes > 0
    assert len(net.relaxed) < len(problem.rows)


def test_flow_round(benchmark, sample_compiled):
    """One min-cost flow over every arc at the first level's weights: the `flow` hot path."""
    import numpy as np

    from solvers.flow import _Flow, lexicographic_priority
    from solvers.network import build_network

    problem = sample_compiled.problem
    net = build_network(problem)
    flow = _Flow(problem, net)
    weight = lexicographic_priority(problem)
    mask, slack = benchmark(flow.solve, weight)
    assert mask.any() and slack >= 0
    assert np.bincount(problem.edge_agent[mask]).max() == 1  # one edge per agent at most
    loads = np.bincount(net.leaf[mask][net.leaf[mask] >= 0], minlength=net.n_nodes)
    assert np.all(loads <= net.capacity)  # the first node of every arc within its capacity


def test_fill(benchmark, sample_compiled):
    """The greedy fill from the empty allocation, vectorised in passes (repair's hot path)."""
    import numpy as np

    from solvers.flow import lexicographic_priority
    from solvers.repair import EdgeRows, fill

    problem = sample_compiled.problem
    rows = EdgeRows(problem)
    weight = lexicographic_priority(problem)
    x = benchmark(lambda: fill(problem, np.zeros(problem.n_edges, dtype=bool), weight, rows))
    assert x.any()
    assert not problem.violations(np.flatnonzero(x))


def test_lp_by_columns(benchmark, sample_compiled):
    """The first level's LP by column generation, from scratch: the bound `flow` and `cpsat`
    end and start with. Its floor is checked against the plain LP on every column."""
    import numpy as np

    from solvers.colgen import ColumnLP
    from solvers.lp import lp_bound

    problem = sample_compiled.problem
    relax = benchmark(lambda: ColumnLP(problem, side_rows=False).solve(0))
    plain = lp_bound(problem, 0, [])
    assert relax is not None and plain is not None
    assert np.floor(relax.value + 1e-6) <= np.floor(plain.value + 1e-6)
    benchmark.extra_info["bound"] = relax.value


def test_solve_flow(benchmark, sample_compiled):
    """The whole `flow` strategy on the sample: feasible, with a bound within 1 % of its value."""
    problem = sample_compiled.problem
    solution = benchmark.pedantic(
        solve, args=(problem, "flow"), kwargs={"time_limit": 10.0, "seed": 0},
        rounds=3, iterations=1, warmup_rounds=0)
    assert not problem.violations(solution.edges)
    assert solution.gap <= 0.01
    benchmark.extra_info["objective"] = list(solution.objective)
    benchmark.extra_info["gap"] = solution.gap
