"""One small season per rule, with the optimal allocation and ledger worked out by hand.

Every solve goes through the independent audit (`solve_checked`), and the level values the
solver reports must equal the ones the audit recomputes from the assignment alone.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from matcher.api import solve
from tests.builders import write_season

POST_RULE = """
name = "hand"
[objective]
order = {order}
[constraints]
{constraints}
[[subsidy]]
id = "post"
clause = "§22"
kind = ["post"]
amount = 100
per = "month"
payee = "student"
fund = "F"
when = {{ min_months = {min_months} }}
"""


def solve_checked(folder: Path, **kw):
    alloc = solve(folder, time_limit=20, **kw)
    assert alloc.audit.ok, alloc.audit.violations
    assert alloc.metrics["status"] == "optimal"
    assert alloc.metrics["objective"] == alloc.audit.levels
    return alloc


def placed(alloc) -> dict[str, tuple[str, int, int]]:
    a = alloc.assignments
    return {s: (t, int(p), int(d)) for s, t, p, d in zip(
        a["student_id"], a["slot_id"], a["start_period"], a["duration_months"], strict=True)}


def test_six_month_option_spans_two_periods(tmp_path: Path) -> None:
    # One post slot, capacity 1 per period, durations 3 or 6, over 2 periods, paying 100/month.
    # Alone, S1 takes the 6-month option (spend maximised: 600 > 300), using periods 1 and 2.
    pol = POST_RULE.format(order='["placed", "spend"]', constraints="", min_months=3)
    one = write_season(tmp_path / "one", students=[{"student_id": "S1"}],
                       slots=[{"slot_id": "T1", "kind": "post", "durations": "3;6"}],
                       policy_text=pol)
    alloc = solve_checked(one)
    assert placed(alloc) == {"S1": ("T1", 1, 6)}
    assert alloc.ledger["amount"].tolist() == [600]
    assert alloc.metrics["objective"] == {"placed": 1, "spend": 600}
    # With a second student the 6-month option would block period 2: placing both (first level)
    # needs two 3-month options, one per period, 300 each.
    two = write_season(tmp_path / "two", students=[{"student_id": "S1"}, {"student_id": "S2"}],
                       slots=[{"slot_id": "T1", "kind": "post", "durations": "3;6"}],
                       policy_text=pol)
    alloc = solve_checked(two)
    got = placed(alloc)
    assert sorted((p, d) for _, p, d in got.values()) == [(1, 3), (2, 3)]
    assert alloc.metrics["objective"] == {"placed": 2, "spend": 600}


def test_enterprise_cap_uses_exact_decimal(tmp_path: Path) -> None:
    # Cap 0.29 × 100 staff = 29 exactly (as a float 0.29 * 100 = 28.999999999999996).
    folder = write_season(
        tmp_path, students=[{"student_id": f"S{i:02d}"} for i in range(31)],
        slots=[{"slot_id": "T1", "capacity": 40}],
        enterprises=[{"enterprise_id": "E1", "staff": 100}], periods=1,
        constraints={"enterprise_cap": 0.29})
    alloc = solve_checked(folder)
    assert alloc.metrics["placed"] == 29
    assert set(alloc.unplaced["reason"].str.split(":").str[0]) == {"enterprise_cap"}


def test_enterprise_cap_counts_six_month_interns_in_both_periods(tmp_path: Path) -> None:
    # staff 20 × 0.10 = 2 interns per period. Two slots of the same enterprise.
    # Objective placed then spend: 6-month posts pay 600, 3-month 300. 4 students.
    # Best: 4 placed (2 per period, all 3-month) beats 2 placed for 6 months.
    pol = POST_RULE.format(order='["placed", "spend"]', constraints="enterprise_cap = 0.10",
                           min_months=3)
    folder = write_season(
        tmp_path, students=[{"student_id": f"S{i}"} for i in range(4)],
        slots=[{"slot_id": "T1", "kind": "post", "capacity": 5, "durations": "3;6"},
               {"slot_id": "T2", "kind": "post", "capacity": 5, "durations": "3;6"}],
        enterprises=[{"enterprise_id": "E1", "staff": 20}], policy_text=pol)
    alloc = solve_checked(folder)
    assert alloc.metrics["objective"] == {"placed": 4, "spend": 1200}
    assert all(d == 3 for _, _, d in placed(alloc).values())


def test_same_post_cap_takes_smallest_post_staff(tmp_path: Path) -> None:
    # Two slots share post "焊工" with post_staff 10 and 15: cap floor(0.2 × 10) = 2 per period.
    folder = write_season(
        tmp_path, students=[{"student_id": f"S{i}"} for i in range(5)],
        slots=[{"slot_id": "T1", "capacity": 5, "post": "焊工", "post_staff": 10},
               {"slot_id": "T2", "capacity": 5, "post": "焊工", "post_staff": 15}],
        periods=1, constraints={"same_post_cap": 0.2})
    alloc = solve_checked(folder)
    assert alloc.metrics["placed"] == 2
    assert set(alloc.unplaced["reason"].str.split(":").str[0]) == {"same_post_cap"}


def test_budget_binds_and_says_so(tmp_path: Path) -> None:
    # Shadow internships at a local enterprise pay 200 from fund F (budget 500); a non-local
    # enterprise pays nothing. 4 students, local slot capacity 4, non-local capacity 1.
    # Budget allows 2 paid placements: placed 3 (2 local + 1 non-local), local 2, spend 400.
    pol = """
[objective]
order = ["placed", "local"]
[[subsidy]]
id = "shadow"
clause = "§22"
kind = ["shadow"]
amount = 200
per = "once"
payee = "student"
fund = "F"
when = { local = true }
"""
    folder = write_season(
        tmp_path, students=[{"student_id": f"S{i}"} for i in range(4)],
        slots=[{"slot_id": "T1", "enterprise_id": "E1", "capacity": 4},
               {"slot_id": "T2", "enterprise_id": "E2", "capacity": 1}],
        enterprises=[{"enterprise_id": "E1"},
                     {"enterprise_id": "E2", "local": "false", "park_id": ""}],
        funds=[{"fund_id": "F", "budget": 500}], periods=1, policy_text=pol)
    alloc = solve_checked(folder)
    m = alloc.metrics
    assert (m["placed"], m["local"], m["spend"]) == (3, 2, 400)
    assert m["spend_by_fund"] == {"F": 400}
    assert alloc.ledger["amount"].tolist() == [200, 200]
    reason = alloc.unplaced["reason"].iat[0]
    assert "budget: fund F cannot pay 200 more" in reason and "capacity: T2" in reason


def test_order_class_too_small_to_open(tmp_path: Path) -> None:
    # Order class needs 3 students; only 2 are eligible (major 机电). It stays closed; one of
    # them takes the only shadow slot, the other is unplaced for min_size / capacity.
    folder = write_season(
        tmp_path, students=[{"student_id": "S1"}, {"student_id": "S2"},
                            {"student_id": "S3", "major": "会计"}],
        slots=[{"slot_id": "O1", "kind": "order", "majors": "机电;会计", "capacity": 5,
                "min_size": 3, "school_id": "SC1"},
               {"slot_id": "T1", "capacity": 1}])
    alloc = solve_checked(folder)
    # with S3 (会计) the order class could reach 3: it opens with all three
    assert alloc.metrics["placed"] == 3
    assert set(alloc.assignments["slot_id"]) == {"O1"}
    small = write_season(
        tmp_path / "small", students=[{"student_id": "S1"}, {"student_id": "S2"}],
        slots=[{"slot_id": "O1", "kind": "order", "capacity": 5, "min_size": 3},
               {"slot_id": "T1", "capacity": 1}], periods=1)
    alloc = solve_checked(small)
    assert alloc.metrics["placed"] == 1
    assert alloc.assignments["slot_id"].tolist() == ["T1"]
    reason = alloc.unplaced["reason"].iat[0]
    assert "min_size: order class O1 did not open (needs 3)" in reason
    assert "capacity: T1 period 1 full" in reason


def test_poor_first_overrides_the_objective(tmp_path: Path) -> None:
    # One order seat; A (not poor, score 90) and B (poor, score 50). The objective even prefers
    # fewer poor placed, yet poor_first gives the seat to B.
    students = [{"student_id": "A", "score": 90}, {"student_id": "B", "poor": "true",
                                                    "score": 50}]
    slots = [{"slot_id": "O1", "kind": "order", "capacity": 1}]
    free = write_season(tmp_path / "free", students=students, slots=slots,
                        objective=["placed", "-poor_placed"])
    assert placed(solve_checked(free)) == {"A": ("O1", 1, 6)}
    ruled = write_season(tmp_path / "ruled", students=students, slots=slots,
                         objective=["placed", "-poor_placed"],
                         constraints={"poor_first": ["order"]})
    alloc = solve_checked(ruled)
    assert placed(alloc) == {"B": ("O1", 1, 6)}
    assert alloc.unplaced.set_index("student_id")["reason"]["A"].startswith("capacity: O1 full")


def test_poor_first_is_met_by_placing_the_poor_student_elsewhere(tmp_path: Path) -> None:
    # A non-poor student may hold the order seat once every eligible poor student is placed
    # anywhere (DESIGN §4a.8): B goes to the shadow slot, A to the order class.
    students = [{"student_id": "A"}, {"student_id": "B", "poor": "true"}]
    folder = write_season(
        tmp_path, students=students,
        slots=[{"slot_id": "O1", "kind": "order", "capacity": 1},
               {"slot_id": "T1", "capacity": 1, "durations": "6"}],
        preferences=[{"student_id": "A", "slot_id": "O1", "rank": 1},
                     {"student_id": "B", "slot_id": "T1", "rank": 1},
                     {"student_id": "B", "slot_id": "O1", "rank": 2}],
        objective=["placed", "preference"], constraints={"poor_first": ["order"]})
    alloc = solve_checked(folder)
    assert placed(alloc) == {"A": ("O1", 1, 6), "B": ("T1", 1, 6)}


def test_park_coverage_comes_before_every_level(tmp_path: Path) -> None:
    # Both students prefer the non-local park's slot (capacity 2). Coverage of the two local
    # parks is maximised first: one student in each local park.
    parks = [{"park_id": "P1"}, {"park_id": "P2"}, {"park_id": "P3", "local": "false"}]
    ents = [{"enterprise_id": "E1", "park_id": "P1"}, {"enterprise_id": "E2", "park_id": "P2"},
            {"enterprise_id": "E3", "park_id": "P3", "local": "false"}]
    slots = [{"slot_id": "T1", "enterprise_id": "E1"}, {"slot_id": "T2", "enterprise_id": "E2"},
             {"slot_id": "T3", "enterprise_id": "E3", "capacity": 2}]
    prefs = [{"student_id": s, "slot_id": t, "rank": r} for s in ("S1", "S2")
             for t, r in (("T3", 1), ("T1", 2), ("T2", 3))]
    students = [{"student_id": "S1"}, {"student_id": "S2"}]
    off = write_season(tmp_path / "off", students=students, slots=slots, enterprises=ents,
                       parks=parks, preferences=prefs, periods=1,
                       objective=["placed", "preference"])
    assert set(solve_checked(off).assignments["slot_id"]) == {"T3"}
    on = write_season(tmp_path / "on", students=students, slots=slots, enterprises=ents,
                      parks=parks, preferences=prefs, periods=1,
                      objective=["placed", "preference"], constraints={"park_coverage": True})
    alloc = solve_checked(on)
    assert sorted(alloc.assignments["slot_id"]) == ["T1", "T2"]
    assert alloc.metrics["objective"] == {"park_coverage": 2, "placed": 2, "preference": 3}


def test_preference_level_counts_k_plus_one_minus_rank(tmp_path: Path) -> None:
    # K = 3 (longest list). S1 gets rank 1 → 3; S2 (list of 1) gets rank 1 → 3; S3 no list → 0.
    folder = write_season(
        tmp_path, students=[{"student_id": "S1"}, {"student_id": "S2"}, {"student_id": "S3"}],
        slots=[{"slot_id": f"T{i}"} for i in range(1, 5)],
        preferences=[{"student_id": "S1", "slot_id": "T1", "rank": 1},
                     {"student_id": "S1", "slot_id": "T2", "rank": 2},
                     {"student_id": "S1", "slot_id": "T3", "rank": 3},
                     {"student_id": "S2", "slot_id": "T2", "rank": 1}],
        periods=1, objective=["placed", "preference"])
    alloc = solve_checked(folder)
    assert alloc.metrics["objective"] == {"placed": 3, "preference": 6}
    assert alloc.metrics["preference_rank_histogram"] == {"1": 2, "unlisted": 1}


def test_unplaced_reasons_name_what_held_them(tmp_path: Path) -> None:
    folder = write_season(
        tmp_path, students=[{"student_id": "S1"}, {"student_id": "S2"},
                            {"student_id": "S3", "major": "护理"}],
        slots=[{"slot_id": "T1", "capacity": 1}], periods=1)
    alloc = solve_checked(folder)
    reasons = alloc.unplaced.set_index("student_id")["reason"]
    assert reasons["S3"].startswith("no_eligible_slot")
    assert "护理" in reasons["S3"]
    assert reasons.drop("S3").str.startswith("capacity: T1").all()


def test_employment_needs_graduating_and_school_restricts(tmp_path: Path) -> None:
    folder = write_season(
        tmp_path, schools=[{"school_id": "SC1"}, {"school_id": "SC2"}],
        students=[{"student_id": "G", "graduating": "true"}, {"student_id": "N"},
                  {"student_id": "X", "school_id": "SC2", "graduating": "true"}],
        slots=[{"slot_id": "J1", "kind": "employment", "capacity": 3, "school_id": "SC1"}])
    alloc = solve_checked(folder)
    assert placed(alloc) == {"G": ("J1", 1, 6)}
    assert isinstance(alloc.unplaced, pd.DataFrame) and len(alloc.unplaced) == 2
