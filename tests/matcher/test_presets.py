"""Each preset's subsidy amounts against POLICY.md §3, on one season that triggers every rule.

Seven students, each listing exactly one slot, so the allocation is forced and the ledger is the
policy's arithmetic alone (periods = 2: a whole-season placement lasts 6 months).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.api import solve
from matcher.policy import load_policy, preset_names
from tests.builders import write_season

FUNDS = ["city_county", "employment", "city_employment", "hr_finance", "finance", "skills",
         "district"]

# (student, slot) pairs: who takes what
PLACEMENTS = {
    "ORD": "O1",  # order class at a large local in-park enterprise
    "SHA": "T1",  # shadow internship, 3 months
    "PST": "T2",  # post internship, 6 months
    "GRD": "J1",  # graduate of a city-area school employed in a local park
    "APP": "A1",  # apprenticeship at a small local enterprise
    "HIR": "J2",  # graduate hired by a small local enterprise
    "FAR": "T3",  # shadow internship at a non-local enterprise
}

# POLICY.md §3, line by line: student -> [(rule id, payee, fund, yuan, clause)]
EXPECTED = {
    "chenzhou-2018": {
        "ORD": [("order-class", "enterprise", "city_county", 500, "§21")],  # 1000/yr × 6/12
        "SHA": [("shadow-internship", "student", "city_county", 200, "§22")],
        "PST": [("post-internship", "student", "employment", 600, "§22")],  # 100 × 6 months
        "GRD": [("graduate-school", "school", "city_employment", 500, "§23"),
                ("graduate-student-year1", "student", "city_employment", 1200, "§23")],
        "HIR": [("graduate-school", "school", "city_employment", 500, "§23"),
                ("graduate-student-year1", "student", "city_employment", 1200, "§23")],
    },
    "linfen-2018": {
        "APP": [("small-micro-hire", "enterprise", "hr_finance", 300, "(九)")],
        "HIR": [("small-micro-hire", "enterprise", "hr_finance", 300, "(九)")],
    },
    "sanmenxia-2020": {
        "SHA": [("internship-cost", "enterprise", "finance", 600, "三(三)")],  # 200 × 3 months
        "PST": [("internship-cost", "enterprise", "finance", 1200, "三(三)")],  # 200 × 6
        "APP": [("apprenticeship", "enterprise", "skills", 2500, "三(二)")],  # 5000/yr × 6/12
    },
    "wuhua-2020": {},  # (七): amount not stated, left at 0: no ledger line
    "hunan-2018": {},
    "none": {},
}


def _season(folder: Path, policy: str) -> Path:
    return write_season(
        folder,
        parks=[{"park_id": "P1"}, {"park_id": "P9", "local": "false", "name": "长沙经开区"}],
        enterprises=[{"enterprise_id": "E1", "park_id": "P1", "size_class": "large"},
                     {"enterprise_id": "E2", "park_id": "P1", "size_class": "small"},
                     {"enterprise_id": "E3", "park_id": "P9", "local": "false"}],
        students=[{"student_id": s, "graduating": "true" if s in ("GRD", "HIR") else "false"}
                  for s in PLACEMENTS],
        slots=[{"slot_id": "O1", "kind": "order", "capacity": 1},
               {"slot_id": "T1", "kind": "shadow", "durations": "3"},
               {"slot_id": "T2", "kind": "post", "durations": "6"},
               {"slot_id": "J1", "kind": "employment"},
               {"slot_id": "A1", "kind": "apprentice", "enterprise_id": "E2"},
               {"slot_id": "J2", "kind": "employment", "enterprise_id": "E2"},
               {"slot_id": "T3", "kind": "shadow", "enterprise_id": "E3", "durations": "3"}],
        preferences=[{"student_id": s, "slot_id": t, "rank": 1} for s, t in PLACEMENTS.items()],
        funds=[{"fund_id": f, "budget": 1_000_000} for f in FUNDS],
        policy=policy,
    )


def test_every_preset_is_listed() -> None:
    assert set(preset_names()) == set(EXPECTED)


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_preset_loads_and_cites_clauses(preset: str) -> None:
    pol, issues = load_policy(preset)
    assert pol is not None, issues
    assert pol.name == preset
    assert all(r.clause for r in pol.subsidies)
    if preset != "none":
        assert pol.source


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_preset_subsidy_amounts(tmp_path: Path, preset: str) -> None:
    alloc = solve(_season(tmp_path, preset), time_limit=20)
    assert alloc.audit.ok, alloc.audit.violations
    assert alloc.metrics["placed"] == len(PLACEMENTS)
    got: dict[str, list[tuple]] = {}
    for r in alloc.ledger.itertuples():
        got.setdefault(r.student_id, []).append((r.rule_id, r.payee, r.fund_id, r.amount,
                                                 r.clause))
    want = {s: sorted(lines) for s, lines in EXPECTED[preset].items()}
    assert {s: sorted(v) for s, v in got.items()} == want
    per_student = dict(zip(alloc.assignments["student_id"], alloc.assignments["subsidy"],
                           strict=True))
    for s in PLACEMENTS:
        assert per_student[s] == sum(x[3] for x in EXPECTED[preset].get(s, []))
    assert alloc.metrics["spend"] == sum(x[3] for v in EXPECTED[preset].values() for x in v)


def test_blocking_pairs_objective_is_a_clear_policy_error() -> None:
    """DESIGN §4 names the term; no strategy optimises it, so a policy asking for it is refused
    with a message pointing at the stability constraint, never a traceback at compile time."""
    from matcher.policy import parse_policy

    doc = {"name": "x", "objective": {"order": ["placed", "-blocking_pairs"]}}
    policy, issues = parse_policy(doc, file="x.toml")
    assert policy is None
    assert any("student-stable" in i.message and i.file == "x.toml" for i in issues)
