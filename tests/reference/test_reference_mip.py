"""Tiny hand-made seasons whose optimal levels are worked out by hand in the comments.

They test the independent HiGHS reference (tests/reference/mip.py), so that it can be trusted
when the main engine is checked against it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .mip import SeasonError, reference_levels, reference_solution

HEADERS = {
    "schools": "school_id,name,county,city_area",
    "parks": "park_id,name,county,local",
    "enterprises": "enterprise_id,name,park_id,local,staff,size_class",
    "students": "student_id,name,school_id,major,poor,graduating,score",
    "slots": (
        "slot_id,enterprise_id,kind,majors,capacity,durations,school_id,min_size,post,post_staff"
    ),
    "funds": "fund_id,name,budget",
    "preferences": "student_id,slot_id,rank",
}


def make_season(
    folder: Path,
    *,
    periods: int,
    policy: str,
    season_extra: str = "",
    schools=("S1,一中,北湖,true", "S2,二中,苏仙,false"),
    parks=("P1,高新区,北湖,true",),
    enterprises=(),
    students=(),
    slots=(),
    funds=(),
    preferences=(),
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "policy.toml").write_text(policy, encoding="utf-8")
    (folder / "season.toml").write_text(
        f'name = "test"\nperiods = {periods}\npolicy = "policy.toml"\n{season_extra}',
        encoding="utf-8",
    )
    tables = {
        "schools": schools,
        "parks": parks,
        "enterprises": enterprises,
        "students": students,
        "slots": slots,
        "funds": funds,
        "preferences": preferences,
    }
    for name, rows in tables.items():
        text = "\n".join([HEADERS[name], *rows]) + "\n"
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def students(ids, school="S1", major="M", poor="false", graduating="false"):
    return [f"{s},{s},{school},{major},{poor},{graduating},60" for s in ids]


# --------------------------------------------------------------------------- 1. six months

POST_SUBSIDY = """
name = "t1"
[objective]
order = {order}
[[subsidy]]
id = "post-6"
clause = "§22"
kind = ["post"]
amount = 100
per = "month"
payee = "student"
fund = "employment"
when = {{ min_months = 6 }}
"""


@pytest.mark.parametrize(
    ("periods", "order", "expected"),
    [
        # Slot A (post, capacity 1 per period, durations 3;6) and three students.
        # Options with 2 periods: A(1,3) uses p1, A(2,3) uses p2, A(1,6) uses p1 AND p2.
        # placed first: two 3-month options fill both periods -> placed = 2; a 6-month option
        # would block both periods. Then spend: both placements are 3 months, the rule needs
        # min_months 6 -> spend 0.
        (2, ["placed", "spend"], [("placed", 2), ("spend", 0)]),
        # spend first: the only paying option is A(1,6): 100 x 6 = 600 yuan, and it takes the
        # capacity of both periods, so placed = 1. ("employment" has no funds.csv row: no
        # budget, but its spend counts.)
        (2, ["spend", "placed"], [("spend", 600), ("placed", 1)]),
        # One period: a 6-month option cannot start anywhere (1 + 2 - 1 > 1), so no spend,
        # and one 3-month placement.
        (1, ["spend", "placed"], [("spend", 0), ("placed", 1)]),
    ],
)
def test_six_month_option_spans_two_periods(tmp_path, periods, order, expected):
    order_toml = "[" + ", ".join(f'"{t}"' for t in order) + "]"
    make_season(
        tmp_path,
        periods=periods,
        policy=POST_SUBSIDY.format(order=order_toml),
        enterprises=["E1,甲,P1,true,100,large"],
        students=students(["a", "b", "c"]),
        slots=["A,E1,post,M,1,3;6,,,,"],
    )
    result = reference_solution(tmp_path)
    assert result.levels == expected
    if order[0] == "spend" and periods == 2:
        assert len(result.placements) == 1
        assert result.placements[0][1:] == ("A", 1, 6)
        assert result.spend_by_fund == {"employment": 600}


# --------------------------------------------------------------------------- 2. budgets

BUDGET_POLICY = """
name = "t2"
[objective]
{objective}
[[subsidy]]
id = "order-class"
clause = "§21"
kind = ["order"]
amount = 1000
per = "year"
payee = "enterprise"
fund = "F"
when = {{ local = true }}
[[subsidy]]
id = "shadow"
clause = "x"
kind = "shadow"
amount = 10.01
per = "year"
payee = "student"
fund = "G"
"""


@pytest.mark.parametrize(
    ("objective", "budget_g", "expected"),
    [
        # One period, 5 students of major M. O: order class at local E1, 5 seats, pays
        # 1000 x 3/12 = 250 yuan per student from F (budget 600 -> at most 2 students).
        # X: shadow at non-local E2, 5 per period, pays 10.01 x 3/12 = 2.5025 yuan from G.
        # G = 5.005 pays exactly 2 (2 x 2.5025 = 5.005), a third would be 7.5075.
        # Q: order class at non-local E2, 1 seat: the order rule wants local = true, so Q pays
        # nothing and is limited by its seat only.
        # placed = 2 (O) + 2 (X) + 1 (Q) = 5; local = 2 (both O students);
        # -spend = -(500 + 5.005). (If when.local were ignored, O + Q <= 2: placed 4.)
        (
            'order = ["placed", "local", "-spend"]',
            "5.005",
            [("placed", 5), ("local", 2), ("-spend", -505.005)],
        ),
        # G = 5.0049 pays only 1 shadow placement: placed = 4, spend = 500 + 2.5025.
        (
            'order = ["placed", "local", "-spend"]',
            "5.0049",
            [("placed", 4), ("local", 2), ("-spend", -502.5025)],
        ),
        # Weighted: 1000 x placed - spend. Placing 5 is worth 5000 and costs 505.005 at
        # best; dropping a placement saves at most 250: weighted = 4494.995.
        (
            'weights = { placed = 1000, "-spend" = 1 }',
            "5.005",
            [("weighted", 4494.995)],
        ),
    ],
)
def test_binding_budget(tmp_path, objective, budget_g, expected):
    make_season(
        tmp_path,
        periods=1,
        policy=BUDGET_POLICY.format(objective=objective),
        parks=["P1,园区,北湖,true", "P2,外地园区,外县,false"],
        enterprises=["E1,甲,P1,true,100,large", "E2,乙,,false,100,small"],
        students=students(["a", "b", "c", "d", "e"]),
        slots=["O,E1,order,M,5,,,,,", "X,E2,shadow,M,5,3,,,,", "Q,E2,order,M,1,,,,,"],
        funds=["F,市县财政,600", f"G,就业资金,{budget_g}"],
    )
    levels = reference_levels(tmp_path)
    assert [n for n, _ in levels] == [n for n, _ in expected]
    for (_, got), (_, want) in zip(levels, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-9)
    result = reference_solution(tmp_path)
    assert sum(result.spend_by_fund.values()) <= 600 + float(budget_g) + 1e-9
    assert result.spend_by_fund["F"] == 500


# --------------------------------------------------------------------------- 3. min_size

PLAIN_POLICY = """
name = "plain"
[objective]
order = {order}
[constraints]
{constraints}
"""


def test_min_size_school_and_employment(tmp_path):
    # One period. Local E1 offers
    #   O1: order class held at school S1, 5 seats, min_size 3;
    #   O2: order class, 2 seats, min_size 2;
    #   W:  employment, 5 seats (graduating students only);
    # and non-local E2 offers X: shadow, 10 per period. All of major M.
    # Students: a (S1, graduating empty = false), b (S1, 否), d (S1, lists only X),
    # c (S2, 是), e (S2, 1), f (S2, graduating empty).
    # O1: eligible a, b only (c, e, f other school; d listed only X): 2 < 3, stays closed.
    # W: eligible c, e (graduating). O2: a, b, c, e, f; 2 seats.
    # local = 2 (W: c, e) + 2 (O2: two of a, b, f) = 4 (5 if min_size or graduating ignored).
    # placed: everyone has somewhere to go (X has room) -> 6.
    make_season(
        tmp_path,
        periods=1,
        policy=PLAIN_POLICY.format(order='["local", "placed"]', constraints=""),
        parks=["P1,园区,北湖,true"],
        enterprises=["E1,甲,P1,true,100,large", "E2,乙,,false,100,small"],
        students=[
            "a,a,S1,M,false,,70",
            "b,b,S1,M,false,否,70",
            "d,d,S1,M,false,否,70",
            "c,c,S2,M,false,是,70",
            "e,e,S2,M,false,1,70",
            "f,f,S2,M,,,70",
        ],
        slots=[
            "O1,E1,order,M,5,,S1,3,,",
            "O2,E1,order,M,2,,,2,,",
            "W,E1,employment,M,5,,,,,",
            "X,E2,shadow,M,10,3,,,,",
        ],
        preferences=["d,X,1"],
    )
    result = reference_solution(tmp_path)
    assert result.levels == [("local", 4), ("placed", 6)]
    by_student = {s: slot for s, slot, _, _ in result.placements}
    assert "O1" not in by_student.values()
    assert {s for s, slot in by_student.items() if slot == "W"} == {"c", "e"}
    assert by_student["d"] == "X"


# --------------------------------------------------------------------------- 4. poor_first


@pytest.mark.parametrize(
    ("poor_first", "expected"),
    [
        # One period. O: order class at E1, 1 seat. Z: shadow slot for major N only.
        # X: shadow at E2, 1 per period, major M.
        # p (poor, M) lists Z rank 1 and O rank 2: Z is another major, so p is eligible for O
        # only; p's list has 2 rows, so K = 2 and p at O is worth K + 1 - 2 = 1.
        # r (not poor, M) lists only O (rank 1, worth 2). t (not poor, M) has no list.
        # placed: O holds one of p, r and t goes to X -> 2.
        # With poor_first = ["order"], r may hold O only if p is placed, but p can only go to
        # O: so O goes to p, preference = 1 (+0 for t, who has no list).
        ('["order"]', [("placed", 2), ("preference", 1)]),
        # Without it, r takes O: preference = 2.
        ("[]", [("placed", 2), ("preference", 2)]),
    ],
)
def test_poor_first(tmp_path, poor_first, expected):
    make_season(
        tmp_path,
        periods=1,
        policy=PLAIN_POLICY.format(
            order='["placed", "preference"]', constraints=f"poor_first = {poor_first}"
        ),
        enterprises=["E1,甲,P1,true,100,large", "E2,乙,,false,100,small"],
        students=[
            "p,p,S1,M,是,false,50",
            "r,r,S1,M,否,false,90",
            "t,t,S1,M,0,false,80",
        ],
        slots=["O,E1,order,M,1,,,,,", "Z,E1,shadow,N,5,3,,,,", "X,E2,shadow,M,1,3,,,,"],
        preferences=["p,Z,1", "p,O,2", "r,O,1"],
    )
    result = reference_solution(tmp_path)
    assert result.levels == expected
    holder_of_o = [s for s, slot, _, _ in result.placements if slot == "O"]
    assert holder_of_o == (["p"] if poor_first != "[]" else ["r"])


# --------------------------------------------------------------------------- 5. park coverage


@pytest.mark.parametrize(
    ("season_extra", "expected"),
    [
        # One period. Parks: P1, P2, P4 local; P3 not local. P4 has no slot (not coverable).
        #   A at E1 (P1, local): shadow, 2, major M.
        #   B at E2 (P2, local): shadow, 1, major N.
        #   C at E3 (P3, not local): shadow, 5, major M.
        #   D at E4 (no park, local): shadow, 5, majors M;N.
        # m1, m2 (major M) have no list; n1 (major N) lists D rank 1, B rank 2 (K = 2).
        # park_coverage first: P1 (m at A) and P2 (n1 at B) -> 2; P3 does not count.
        # preference: n1 at B is worth K + 1 - 2 = 1.
        # local: m1, m2 at A (not C) and n1 at B -> 3. (Counting P3 would give 3, 1, 2.)
        ("", [("park_coverage", 2), ("preference", 1), ("local", 3)]),
        # season.toml [constraints] merged key by key: park_coverage off, n1 goes to D.
        (
            "[constraints]\npark_coverage = false\n",
            [("preference", 2), ("local", 3)],
        ),
    ],
)
def test_park_coverage(tmp_path, season_extra, expected):
    make_season(
        tmp_path,
        periods=1,
        policy=PLAIN_POLICY.format(
            order='["preference", "local"]',
            constraints='park_coverage = true\npoor_first = ["order"]',
        ),
        season_extra=season_extra,
        parks=["P1,一园,北湖,true", "P2,二园,苏仙,true", "P3,外园,外县,false", "P4,空园,北湖,是"],
        enterprises=[
            "E1,甲,P1,true,100,large",
            "E2,乙,P2,true,100,medium",
            "E3,丙,P3,false,100,small",
            "E4,丁,,true,100,micro",
        ],
        students=[*students(["m1", "m2"]), *students(["n1"], major="N")],
        slots=[
            "A,E1,shadow,M,2,3,,,,",
            "B,E2,shadow,N,1,3,,,,",
            "C,E3,shadow,M,5,3,,,,",
            "D,E4,shadow,M;N,5,3,,,,",
        ],
        preferences=["n1,D,1", "n1,B,2"],
    )
    assert reference_levels(tmp_path) == expected


# --------------------------------------------------------------------------- 6. caps

CAP_POLICY = """
name = "caps"
[objective]
order = {order}
[constraints]
{constraints}
[[subsidy]]
id = "post-6"
clause = "§22"
kind = ["post"]
amount = 100
per = "month"
payee = "student"
fund = "employment"
when = {{ min_months = 6 }}
"""


@pytest.mark.parametrize(
    ("constraints", "order", "expected"),
    [
        # Two periods, enterprise E1 with 100 staff, 80 students of major M:
        #   A: post, 20 per period, 6 months only, post "welder", post_staff 30;
        #   B: shadow, 20 per period, 3 months, post "welder", post_staff 40;
        #   D: shadow, 10 per period, 3 months, no post, post_staff 10 (a group of its own);
        #   C: order class, 5 seats (never counts against the intern caps).
        # Let a = A students (both periods), s_p = 3-month interns (B + D) in period p.
        # enterprise_cap 0.29: floor(0.29 x 100) = 29 exactly (float gives 28.999... -> 28).
        # a + s_p <= 29, s_p <= 30: placed = a + s_1 + s_2 + 5 = a + 2(29 - a) + 5, best at
        # a = 0: 63 (61 with a float floor of 28).
        ("enterprise_cap = 0.29", ["placed"], [("placed", 63)]),
        # spend first: every A student pays 600; a = 20 -> 12000. Then s_p <= 9 in each
        # period (a 6-month intern counts in both): placed = 20 + 9 + 9 + 5 = 43.
        ("enterprise_cap = 0.29", ["spend", "placed"], [("spend", 12000), ("placed", 43)]),
        # same_post_cap 0.5: group welder (A, B) <= floor(0.5 x min(30, 40)) = 15 per period,
        # D <= floor(0.5 x 10) = 5 per period. a + b_p <= 15: best a = 0, b = 15 + 15;
        # D 5 + 5; C 5: placed = 45.
        ("same_post_cap = 0.5", ["placed"], [("placed", 45)]),
        # both, enterprise_cap 0.1: floor(0.1 x 100) = 10 per period over A + B + D:
        # a + s_p <= 10 -> best a = 0, 10 + 10; C 5: placed = 25.
        ("enterprise_cap = 0.1\nsame_post_cap = 0.5", ["placed"], [("placed", 25)]),
    ],
)
def test_enterprise_and_post_caps(tmp_path, constraints, order, expected):
    order_toml = "[" + ", ".join(f'"{t}"' for t in order) + "]"
    make_season(
        tmp_path,
        periods=2,
        policy=CAP_POLICY.format(order=order_toml, constraints=constraints),
        enterprises=["E1,甲,P1,true,100,large"],
        students=students([f"s{i:02d}" for i in range(80)]),
        slots=[
            "A,E1,post,M,20,6,,,welder,30",
            "B,E1,shadow,M,20,3,,,welder,40",
            "D,E1,shadow,M,10,3,,,,10",
            "C,E1,order,M,5,,,,,",
        ],
    )
    assert reference_levels(tmp_path) == expected


# --------------------------------------------------------------------------- errors


def test_unknown_keys_are_errors(tmp_path):
    make_season(
        tmp_path,
        periods=1,
        policy=PLAIN_POLICY.format(order='["placed"]', constraints="enterprise_capp = 0.1"),
        enterprises=["E1,甲,P1,true,100,large"],
        students=students(["a"]),
        slots=["A,E1,shadow,M,1,3,,,,"],
    )
    with pytest.raises(SeasonError, match="enterprise_capp"):
        reference_levels(tmp_path)
