"""The engine against an exact solver written independently (tests/reference/mip.py, HiGHS,
sharing no code with matcher or solvers): no feasible allocation is better on any level."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from matcher.api import solve
from matcher.generate import generate, write_season
from tests.matcher.test_properties import _write, seasons
from tests.reference.mip import reference_levels

ROOT = Path(__file__).resolve().parents[2]


def assert_same_levels(folder: Path, strategy: str = "cpsat", time_limit: float = 60) -> None:
    alloc = solve(folder, strategy=strategy, time_limit=time_limit)
    assert alloc.audit.ok, alloc.audit.violations
    assert alloc.metrics["status"] == "optimal"
    ref = reference_levels(folder, time_limit=120)
    ours = alloc.metrics["objective"]
    assert list(ours) == [name for name, _ in ref]
    for name, value in ref:
        assert ours[name] == pytest.approx(value, abs=1e-6), name


@pytest.mark.parametrize("strategy", ["cpsat", "mip"])
def test_sample_matches_reference(strategy: str) -> None:
    assert_same_levels(ROOT / "instances" / "sample", strategy)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seasons())
def test_random_seasons_match_reference(spec: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        assert_same_levels(_write(spec, Path(tmp)))


@pytest.mark.slow
@pytest.mark.parametrize(("policy", "seed"), [("chenzhou-2018", 3), ("linfen-2018", 4),
                                              ("sanmenxia-2020", 5)])
def test_generated_seasons_match_reference(tmp_path: Path, policy: str, seed: int) -> None:
    folder = write_season(generate("sample", seed, students=500, policy=policy),
                          tmp_path / "season")
    assert_same_levels(folder)
