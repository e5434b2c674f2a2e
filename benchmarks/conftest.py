"""Fixtures shared by the benchmark suites: the bundled sample season, loaded, compiled, solved.

Session-scoped so that each benchmark times only its own step; the solved allocation feeds the
audit benchmark. Nothing here asserts a timing: the machines these run on are shared and noisy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.compile import Compiled, compile_season
from matcher.season import Season, load_season

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "instances" / "sample"

SOLVE_TIME_LIMIT = 60.0  # the sample proves every level in seconds; this guards a stuck machine


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def sample_season() -> Season:
    return load_season(SAMPLE)


@pytest.fixture(scope="session")
def sample_compiled(sample_season: Season) -> Compiled:
    return compile_season(sample_season)


@pytest.fixture(scope="session")
def sample_allocation(sample_season: Season):
    """The sample solved once by cpsat through the library API (audited on the way)."""
    from matcher.api import solve

    return solve(sample_season, strategy="cpsat", time_limit=SOLVE_TIME_LIMIT, seed=0)
