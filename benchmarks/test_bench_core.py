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
