"""The vectorised audit says exactly what the plain per-placement audit says: the same
violations in the same order, metrics, levels, ledger and unplaced reasons, on tiny seasons with
arbitrary (often broken) allocations and on generated seasons with solved and damaged ones."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matcher.audit_reasons
from matcher.api import solve
from matcher.audit import audit
from matcher.generate import generate, write_season
from matcher.policy import load_policy
from matcher.season import load_season
from tests.matcher.test_properties import _write, seasons
from tests.reference import plain_audit

COLUMNS = ["student_id", "slot_id", "start_period", "duration_months"]


def assert_same(season, assignments: pd.DataFrame, ledger: pd.DataFrame | None = None) -> None:
    want = plain_audit.audit(season, assignments, ledger)
    got = audit(season, assignments, ledger)
    assert got.violations == want.violations
    assert got.metrics == want.metrics
    assert got.levels == want.levels
    pd.testing.assert_frame_equal(got.ledger, want.ledger)
    pd.testing.assert_frame_equal(got.unplaced, want.unplaced)


@st.composite
def allocations(draw: st.DrawFn, spec: dict) -> pd.DataFrame:
    """Rows naming any student (or none known), any slot, any start and duration."""
    students = [s["student_id"] for s in spec["students"]] + ["S9"]
    slots = [t["slot_id"] for t in spec["slots"]] + ["X1"]
    rows = draw(st.lists(st.tuples(st.sampled_from(students), st.sampled_from(slots),
                                   st.integers(0, 3), st.sampled_from([0, 3, 6, 9])),
                         max_size=5))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if draw(st.booleans()):
        frame["subsidy"] = draw(st.lists(st.sampled_from([0, 200, 250.5, 1000]),
                                         min_size=len(frame), max_size=len(frame)))
    return frame


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_same_report_on_tiny_seasons(data: st.DataObject) -> None:
    spec = data.draw(seasons())
    assignments = data.draw(allocations(spec))
    with tempfile.TemporaryDirectory() as tmp:
        season = load_season(_write(spec, Path(tmp)))
        assert_same(season, assignments)
        own = audit(season, assignments).ledger
        assert_same(season, assignments, own)
        if len(own):
            assert_same(season, assignments, own.iloc[1:])


def _damaged(season, alloc, rng: np.random.Generator):
    """The allocation as solved, and damaged in the ways a buggy strategy would damage it."""
    a = alloc.assignments
    plain = a[COLUMNS]
    yield a, alloc.ledger
    yield plain, None
    slots = season.slots["slot_id"].to_numpy()
    moved = plain.copy()
    for k in rng.choice(len(moved), size=min(15, len(moved)), replace=False):
        moved.iloc[k, 1] = slots[rng.integers(len(slots))]
        moved.iloc[k, 2] = int(rng.integers(0, 3))
        moved.iloc[k, 3] = int(rng.choice([3, 6]))
    unplaced = alloc.unplaced["student_id"].to_numpy()
    n = min(25, len(unplaced))
    added = pd.DataFrame({"student_id": rng.choice(unplaced, size=n, replace=False),
                          "slot_id": slots[rng.integers(len(slots), size=n)],
                          "start_period": 1, "duration_months": 3})
    yield pd.concat([moved, added, plain.iloc[:3]], ignore_index=True), None
    wrong = a.copy()
    wrong.loc[wrong.index[:2], "subsidy"] = 12345
    yield wrong, alloc.ledger.iloc[1:]


@pytest.mark.parametrize(("policy", "strategy", "rankings"), [
    ("chenzhou-2018", "greedy", False),
    ("linfen-2018", "da-student", True),   # poor first, explicit rankings
    ("sanmenxia-2020", "boston", True),    # park coverage, several funds
])
def test_same_report_on_generated_seasons(tmp_path: Path, monkeypatch, policy: str,
                                          strategy: str, rankings: bool) -> None:
    monkeypatch.setattr(matcher.audit_reasons, "CHUNK_PAIRS", 200)  # many chunks of students
    folder = write_season(generate("sample", 4, students=400, rankings=rankings), tmp_path / "s")
    pol, _ = load_policy(policy, Path("."))
    season = load_season(folder).with_policy(pol)
    alloc = solve(season, strategy=strategy, time_limit=10)
    assert alloc.audit.ok, alloc.audit.violations
    rng = np.random.default_rng(7)
    for assignments, ledger in _damaged(season, alloc, rng):
        assert_same(season, assignments, ledger)
