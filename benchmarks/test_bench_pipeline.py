"""pytest-benchmark suites for the pipeline around the solver at city scale (20 000 students):
load (CSV and Parquet), compile, decode with the audit, and writing the result folder.

    python -m pytest benchmarks/test_bench_pipeline.py                      # timings
    python -m pytest benchmarks/test_bench_pipeline.py --benchmark-disable  # once each, as tests

The season is generated once per session (`generate("city", 1)`) into a temporary folder, in
both formats; the allocation decoded is deferred acceptance's (da-student: fast, and it leaves
thousands of students unplaced, so the audit's reasons and blocking pairs get real work). Every
benchmark checks its result; none asserts a timing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.allocation import decode
from matcher.compile import Compiled, compile_season
from matcher.generate import generate, write_season
from matcher.results import write_result
from matcher.season import Season, load_season
from solvers.registry import solve

CITY = 20_000
ROUNDS = 3  # each step takes about a second at this size: a few rounds are enough


@pytest.fixture(scope="session")
def city_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    gen = generate("city", 1)
    root = tmp_path_factory.mktemp("city")
    return {fmt: write_season(gen, root / fmt, format=fmt) for fmt in ("csv", "parquet")}


@pytest.fixture(scope="session")
def city_season(city_folders: dict[str, Path]) -> Season:
    return load_season(city_folders["parquet"])


@pytest.fixture(scope="session")
def city_compiled(city_season: Season) -> Compiled:
    return compile_season(city_season)


@pytest.fixture(scope="session")
def city_solution(city_compiled: Compiled):
    return solve(city_compiled.problem, "da-student", time_limit=60, seed=0)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_load_city(benchmark, city_folders: dict[str, Path], fmt: str) -> None:
    """Read, type and validate every table of a 20 000-student season."""
    season = benchmark.pedantic(load_season, args=(city_folders[fmt],), rounds=ROUNDS,
                                iterations=1)
    assert len(season.students) == CITY
    assert not [w for w in season.warnings if w.is_error]


def test_compile_city(benchmark, city_season: Season) -> None:
    """Season -> Problem: eligible edges, packing rows, levels, ranks, subsidy lines."""
    compiled = benchmark.pedantic(compile_season, args=(city_season,), rounds=ROUNDS,
                                  iterations=1)
    problem = compiled.problem
    assert problem.n_agents == CITY
    assert 0 < problem.n_edges <= 30 * CITY
    assert len(problem.rows) == len(problem.rhs) > 0


def test_decode_and_audit_city(benchmark, city_compiled: Compiled, city_solution) -> None:
    """Solution -> audited Allocation: assignments, ledger, metrics, unplaced reasons."""
    alloc = benchmark.pedantic(decode, args=(city_compiled, city_solution), rounds=ROUNDS,
                               iterations=1)
    assert alloc.audit.ok, alloc.audit.violations[:5]
    assert alloc.metrics["placed"] == len(city_solution.edges)
    assert len(alloc.assignments) + len(alloc.unplaced) == CITY
    assert alloc.unplaced["reason"].str.len().gt(0).all()


def test_write_result_city(benchmark, tmp_path: Path, city_compiled: Compiled,
                           city_solution) -> None:
    """The result folder, written atomically."""
    alloc = decode(city_compiled, city_solution)
    out = benchmark.pedantic(write_result, args=(alloc, tmp_path / "result"), rounds=ROUNDS,
                             iterations=1)
    assert (out / "metrics.json").exists() and (out / "unplaced.csv").exists()
