"""The audit rejects deliberately broken allocations, each with a message that says why."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from matcher.api import solve
from matcher.audit import audit
from matcher.season import load_season
from tests.builders import write_season

POLICY = """
[objective]
order = ["placed", "local"]
[constraints]
enterprise_cap = 0.10
same_post_cap = 0.20
poor_first = ["order"]
[[subsidy]]
id = "shadow"
clause = "§22"
kind = ["shadow"]
amount = 200
per = "once"
payee = "student"
fund = "F"
"""


@pytest.fixture
def season(tmp_path: Path):
    folder = write_season(
        tmp_path,
        enterprises=[{"enterprise_id": "E1", "staff": 20}, {"enterprise_id": "E2", "staff": 100}],
        students=[{"student_id": "S1"}, {"student_id": "S2"}, {"student_id": "S3"},
                  {"student_id": "P1", "poor": "true"}, {"student_id": "N1", "major": "护理"}],
        slots=[{"slot_id": "T1", "capacity": 1, "durations": "3;6"},
               {"slot_id": "T2", "enterprise_id": "E2", "capacity": 1, "post": "焊工",
                "post_staff": 5},
               {"slot_id": "O1", "kind": "order", "enterprise_id": "E2", "capacity": 3,
                "min_size": 2}],
        funds=[{"fund_id": "F", "budget": 400}],
        policy_text=POLICY,
    )
    return load_season(folder)


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["student_id", "slot_id", "start_period",
                                       "duration_months"])


def test_solver_result_passes(season) -> None:
    alloc = solve(season, time_limit=10)
    assert alloc.audit.ok, alloc.audit.violations
    assert audit(season, alloc.assignments, alloc.ledger).ok


@pytest.mark.parametrize(("rows", "message"), [
    ([("S1", "T1", 1, 6), ("S2", "T1", 2, 3)], "slot T1 holds 2 students in period 2, over its "
                                               "capacity 1"),
    ([("S1", "T1", 1, 3), ("S2", "T1", 2, 3), ("S3", "T1", 1, 3)], "over its capacity 1"),
    ([("N1", "T1", 1, 3)], "N1 is not eligible for slot T1"),
    ([("S1", "T1", 2, 6)], "slot T1 has no option starting in period 2 for 6 months"),
    ([("S1", "T1", 1, 3), ("S1", "T1", 2, 3)], "S1 is placed more than once"),
    ([("S1", "O1", 1, 6)], "order class O1 holds 1 students, below its min_size 2"),
    ([("S1", "O1", 1, 6), ("S2", "O1", 1, 6)], "poor first: S1 (not poor) holds O1 while "
                                               "eligible poor student(s) P1 are unplaced"),
    ([("S9", "T1", 1, 3)], "unknown student 'S9'"),
    ([("S1", "X1", 1, 3)], "unknown slot 'X1'"),
])
def test_broken_allocations_are_rejected(season, rows, message) -> None:
    report = audit(season, frame(rows))
    assert not report.ok
    assert any(message in v for v in report.violations), report.violations


def test_enterprise_cap_breach(season) -> None:
    # E1 has 20 staff: 0.10 × 20 = 2 interns per period; T1 capacity raised to let 3 in.
    slots = season.slots.copy()
    slots.loc[slots["slot_id"] == "T1", "capacity"] = 5
    from dataclasses import replace

    wide = replace(season, slots=slots)
    report = audit(wide, frame([("S1", "T1", 1, 3), ("S2", "T1", 1, 3), ("S3", "T1", 1, 3)]))
    assert any("enterprise E1 has 3 interns in period 1, over its cap 2" in v
               for v in report.violations), report.violations


def test_same_post_cap_breach(season) -> None:
    # post 焊工 at E2 has post_staff 5: 0.20 × 5 = 1 per period.
    slots = season.slots.copy()
    slots.loc[slots["slot_id"] == "T2", "capacity"] = 3
    from dataclasses import replace

    wide = replace(season, slots=slots)
    report = audit(wide, frame([("S1", "T2", 1, 3), ("S2", "T2", 1, 3)]))
    assert any("post E2/焊工 has 2 interns in period 1, over its cap 1" in v
               for v in report.violations), report.violations


def test_over_budget(season) -> None:
    # Fund F (400 yuan) pays 200 per shadow internship: three of them cost 600.
    rows = [("S1", "T1", 1, 3), ("S2", "T1", 2, 3), ("S3", "T2", 1, 3)]
    report = audit(season, frame(rows))
    assert any("budget of fund F exceeded: 600 > 400 yuan" in v for v in report.violations)


def test_wrong_subsidy_and_wrong_ledger(season) -> None:
    good = frame([("S1", "T1", 1, 3)])
    assert audit(season, good.assign(subsidy=[200])).ok
    report = audit(season, good.assign(subsidy=[150]))
    assert any("wrong subsidy for S1: 150 given, 200 due" in v for v in report.violations)
    ledger = pd.DataFrame([{"student_id": "S1", "slot_id": "T1", "rule_id": "shadow",
                            "clause": "§22", "payee": "student", "fund_id": "F",
                            "amount": 250}])
    report = audit(season, good, ledger)
    assert any("ledger line not due: S1 T1 rule shadow amount 250" in v
               for v in report.violations)
    assert any("ledger line missing: S1 T1 rule shadow amount 200" in v
               for v in report.violations)


def test_metrics_recomputed_from_assignment(season) -> None:
    report = audit(season, frame([("S1", "T1", 1, 3), ("P1", "O1", 1, 6), ("S2", "O1", 1, 6)]))
    assert report.ok, report.violations
    m = report.metrics
    assert (m["placed"], m["local"], m["in_park"], m["poor_placed"]) == (3, 3, 3, 1)
    assert m["spend_by_fund"] == {"F": 200}
    assert report.levels == {"placed": 3, "local": 3}
    assert report.ledger["amount"].tolist() == [200]
    reasons = report.unplaced.set_index("student_id")["reason"]
    assert reasons["N1"].startswith("no_eligible_slot")
    assert set(reasons.index) == {"S3", "N1"}
