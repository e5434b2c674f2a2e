"""`matcher.explain` on hand-made seasons whose explanations are worked out by hand.

Every result explained passes the audit, and every verifying re-solve is audited too.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from matcher.api import solve
from matcher.explain import ExplainError, apply_changes, explain, render
from matcher.resolve import ResultError, read_result
from matcher.results import write_result
from matcher.season import load_season
from tests.builders import write_season
from tests.matcher.test_resolve import result_of

RULE = """
[objective]
order = {order}
[constraints]
{constraints}
[[subsidy]]
id = "pay"
clause = "§22"
kind = ["{kind}"]
amount = {amount}
per = "once"
payee = "student"
fund = "F"
{when}
"""


def policy(order: str = '["placed"]', constraints: str = "", kind: str = "shadow",
           amount: int = 300, when: str = "") -> str:
    return RULE.format(order=order, constraints=constraints, kind=kind, amount=amount, when=when)


def solved(folder: Path, out: Path) -> Path:
    alloc = solve(folder, time_limit=20)
    assert alloc.audit.ok, alloc.audit.violations
    write_result(alloc, out)
    return out


def why(folder: Path, result: Path, sid: str, **kw) -> dict:
    expl = explain(read_result(result), load_season(folder), sid, **kw)
    for cand in expl["candidates"]:
        assert cand["verified"] is None or cand["verified"]["audit_ok"]
    return expl


def blockers(option: dict) -> dict[str, dict]:
    return {b["kind"]: b for b in option["blockers"]}


def text(expl: dict, lang: str) -> str:
    buf = io.StringIO()
    render(expl, Console(file=buf, width=200, color_system=None), lang)
    return buf.getvalue()


def test_full_slot_names_its_holder_and_one_more_seat_places_them(tmp_path: Path) -> None:
    # T has one seat; S1 (score 90) holds it, S2 (score 50) waits. The slot ranks S1 first.
    folder = write_season(tmp_path / "s", students=[{"student_id": "S1", "score": 90},
                                                    {"student_id": "S2", "score": 50}],
                          slots=[{"slot_id": "T"}], periods=1, objective=["placed"])
    result = result_of(folder, {"S1": ("T", 1, 3)}, tmp_path / "r")
    expl = why(folder, result, "S2")
    assert not expl["placed"] and expl["reason"].startswith("capacity: T period 1 full")
    (opt,) = expl["options"]
    cap = blockers(opt)["capacity"]
    assert (opt["slot_id"], opt["slot_rank"], cap["period"], cap["limit"]) == ("T", 2, 1, 1)
    assert cap["holders"] == [{"student_id": "S1", "slot_rank": 1, "start_period": 1,
                               "duration_months": 3}]
    best = expl["candidates"][0]
    assert best["changes"] == [{"kind": "capacity", "slot_id": "T", "from": 1, "to": 2}]
    assert best["verified"]["placed"] and best["verified"]["placement"]["slot_id"] == "T"
    zh, en = text(expl, "zh"), text(expl, "en")
    assert "T 第 1 期 已满（容量 1），占用者：S1（第 1 位）" in zh and "已验证" in zh
    assert "T period 1 full (capacity 1), held by S1 (no. 1)" in en
    assert "slot T capacity 1 → 2" in en and "verified: re-solved with cpsat" in en


def test_budget_short_by_what_the_option_costs(tmp_path: Path) -> None:
    # Each shadow placement pays 300 from F (budget 500): S1 is paid, S2 would need 100 more.
    folder = write_season(tmp_path / "s", students=[{"student_id": "S1"},
                                                    {"student_id": "S2"}],
                          slots=[{"slot_id": "T", "capacity": 2}], periods=1,
                          funds=[{"fund_id": "F", "budget": 500}], policy_text=policy())
    result = result_of(folder, {"S1": ("T", 1, 3)}, tmp_path / "r")
    expl = why(folder, result, "S2")
    b = blockers(expl["options"][0])
    assert set(b) == {"budget"}
    assert {k: b["budget"][k] for k in ("fund_id", "budget", "spend", "amount", "need")} == {
        "fund_id": "F", "budget": 500, "spend": 300, "amount": 300, "need": 100}
    assert b["budget"]["rules"] == [{"rule_id": "pay", "clause": "§22", "amount": 300}]
    assert "cannot pay 300 more (pay §22; short by 100)" in text(expl, "en")
    best = expl["candidates"][0]
    assert best["changes"] == [{"kind": "budget", "fund_id": "F", "from": 500, "to": 600}]
    assert best["verified"]["placed"]
    # and the placed student's subsidy, with its clause
    placed = why(folder, result, "S1", verify=0)
    assert placed["placement"]["subsidy"] == 300
    assert placed["ledger"] == [{"rule_id": "pay", "clause": "§22", "payee": "student",
                                 "fund_id": "F", "amount": 300}]
    assert placed["options"] == []  # no list: no better-ranked choice
    assert "补贴 300 元：pay §22 F 300" in text(placed, "zh")


def test_enterprise_cap_raised_through_staff(tmp_path: Path) -> None:
    # 10 staff × 0.10 = 1 intern per period; a second needs a cap of 2, i.e. 20 staff.
    folder = write_season(tmp_path / "s", students=[{"student_id": "S1"},
                                                    {"student_id": "S2"}],
                          slots=[{"slot_id": "T", "capacity": 5}], periods=1,
                          enterprises=[{"enterprise_id": "E1", "staff": 10}],
                          objective=["placed"], constraints={"enterprise_cap": 0.1})
    result = result_of(folder, {"S1": ("T", 1, 3)}, tmp_path / "r")
    expl = why(folder, result, "S2")
    assert set(blockers(expl["options"][0])) == {"enterprise_cap"}
    best = expl["candidates"][0]
    assert best["changes"] == [{"kind": "staff", "enterprise_id": "E1", "from": 10, "to": 20,
                                "cap_from": 1, "cap_to": 2}]
    assert best["verified"]["placed"]
    assert "enterprise E1 at its intern cap 1 in period 1" in text(expl, "en")
    assert "企业 E1 职工数 10 → 20（实习上限 1 → 2）" in text(expl, "zh")
    changed = apply_changes(load_season(folder), best["changes"])
    assert changed.enterprises["staff"].tolist() == [20]


def test_closed_order_class_and_its_smallest_change(tmp_path: Path) -> None:
    # Order class O needs 3; only S1, S2 fit it. S1 holds the only shadow seat T; S2 waits.
    # Opening O for S2 alone: min_size 3 → 1 (relative change 2/3) beats T capacity 1 → 2 (1).
    folder = write_season(tmp_path / "s", students=[{"student_id": "S1"},
                                                    {"student_id": "S2"}],
                          slots=[{"slot_id": "O", "kind": "order", "capacity": 5,
                                  "min_size": 3},
                                 {"slot_id": "T"}], periods=1, objective=["placed"])
    result = solved(folder, tmp_path / "r")
    holder = read_result(result).assignments["student_id"].iat[0]
    waiting = "S2" if holder == "S1" else "S1"
    expl = why(folder, result, waiting)
    by_slot = {o["slot_id"]: blockers(o) for o in expl["options"]}
    assert by_slot["O"] == {"min_size": {"kind": "min_size", "slot_id": "O", "min_size": 3}}
    assert set(by_slot["T"]) == {"capacity"}
    first, second = expl["candidates"][:2]
    assert first["changes"] == [{"kind": "min_size", "slot_id": "O", "from": 3, "to": 1}]
    assert second["changes"] == [{"kind": "capacity", "slot_id": "T", "from": 1, "to": 2}]
    assert first["verified"]["placed"] and second["verified"] is None  # stops at the first


def test_better_choice_held_by_a_student_the_slot_ranks_higher(tmp_path: Path) -> None:
    # S1 lists A then B; S0 lists A only and A ranks S0 first. Placed, then preference:
    # S0 in A, S1 in B (its second choice); A is full, held by S0 (slot rank 1).
    folder = write_season(
        tmp_path / "s", students=[{"student_id": "S0"}, {"student_id": "S1"}],
        slots=[{"slot_id": "A"}, {"slot_id": "B"}], periods=1,
        preferences=[{"student_id": "S1", "slot_id": "A", "rank": 1},
                     {"student_id": "S1", "slot_id": "B", "rank": 2},
                     {"student_id": "S0", "slot_id": "A", "rank": 1}],
        rankings=[{"slot_id": "A", "student_id": "S0", "rank": 1},
                  {"slot_id": "A", "student_id": "S1", "rank": 2}],
        objective=["placed", "preference"])
    result = solved(folder, tmp_path / "r")
    expl = why(folder, result, "S1")
    p = expl["placement"]
    assert (p["slot_id"], p["list_rank"], p["subsidy"]) == ("B", 2, 0)
    (opt,) = expl["options"]
    cap = blockers(opt)["capacity"]
    assert (opt["slot_id"], opt["list_rank"], opt["slot_rank"]) == ("A", 1, 2)
    assert [h["student_id"] for h in cap["holders"]] == ["S0"]
    assert expl["candidates"] == []
    assert "志愿第 2 位；岗位对其排序第 1 位" in text(expl, "zh")


def test_objective_preferred_a_local_placement(tmp_path: Path) -> None:
    # S1 lists A (non-local) first, B (local) second; placed, local, then preference: B.
    # A is free; moving there would lower `local` from 1 to 0.
    folder = write_season(
        tmp_path / "s", students=[{"student_id": "S1"}],
        slots=[{"slot_id": "A", "enterprise_id": "E2"}, {"slot_id": "B"}], periods=1,
        enterprises=[{"enterprise_id": "E1"},
                     {"enterprise_id": "E2", "local": "false", "park_id": ""}],
        preferences=[{"student_id": "S1", "slot_id": "A", "rank": 1},
                     {"student_id": "S1", "slot_id": "B", "rank": 2}],
        objective=["placed", "local", "preference"])
    result = solved(folder, tmp_path / "r")
    expl = why(folder, result, "S1")
    assert expl["placement"]["slot_id"] == "B"
    (opt,) = expl["options"]
    assert opt["blockers"] == [{"kind": "objective", "level": "local", "before": 1,
                                "after": 0}]
    assert "the objective preferred this: it would lower local from 1 to 0" in text(expl, "en")


def test_poor_first_and_a_budget(tmp_path: Path) -> None:
    # Order class O (2 seats), poor first. P (poor, graduating) would be paid 1000 from F
    # (budget 500): the budget holds P out, and poor-first then holds N (not poor) out.
    folder = write_season(
        tmp_path / "s", students=[{"student_id": "N"},
                                  {"student_id": "P", "poor": "true", "graduating": "true"}],
        slots=[{"slot_id": "O", "kind": "order", "capacity": 2}], periods=1,
        funds=[{"fund_id": "F", "budget": 500}],
        policy_text=policy(constraints='poor_first = ["order"]', kind="order", amount=1000,
                           when="when = { graduating = true }"))
    result = solved(folder, tmp_path / "r")
    assert read_result(result).assignments.empty
    n = why(folder, result, "N")
    assert n["options"][0]["blockers"] == [{"kind": "poor_first", "slot_id": "O",
                                            "waiting": ["P"]}]
    assert n["candidates"] == []
    assert "O 须先安置建档立卡学生：P 尚未安置" in text(n, "zh")
    p = why(folder, result, "P")
    best = p["candidates"][0]
    assert best["changes"] == [{"kind": "budget", "fund_id": "F", "from": 500, "to": 1000}]
    assert best["verified"]["placed"] and best["verified"]["placed_total"] == 2


def test_not_enough_on_its_own(tmp_path: Path) -> None:
    # T has one seat held by S1; S2 and S3 (poor) wait. Objective placed, poor_placed, then
    # preference (S1 ranks T 1st, S2 2nd, K = 1): a second seat goes to S3 with S1 kept, so
    # for S2 the change is verified as not enough on its own.
    folder = write_season(
        tmp_path / "s", students=[{"student_id": "S1"}, {"student_id": "S2"},
                                  {"student_id": "S3", "poor": "true"}],
        slots=[{"slot_id": "T"}], periods=1,
        preferences=[{"student_id": "S1", "slot_id": "T", "rank": 1},
                     {"student_id": "S2", "slot_id": "T", "rank": 2}],
        objective=["placed", "poor_placed", "preference"])
    result = result_of(folder, {"S1": ("T", 1, 3)}, tmp_path / "r")
    expl = why(folder, result, "S2")
    (cand,) = expl["candidates"]
    assert cand["verified"]["placed"] is False and cand["verified"]["placed_total"] == 2
    assert "not enough on its own" in text(expl, "en")


def test_objective_against_placing_and_ineligible_choices(tmp_path: Path) -> None:
    # Only -spend is maximised: nobody is placed, and nothing but the objective holds S1 out.
    # S2 lists a slot of another major and an employment slot without graduating.
    folder = write_season(
        tmp_path / "s", students=[{"student_id": "S1"}, {"student_id": "S2"}],
        slots=[{"slot_id": "T"}, {"slot_id": "K", "majors": "会计"},
               {"slot_id": "J", "kind": "employment"}], periods=1,
        preferences=[{"student_id": "S2", "slot_id": "K", "rank": 1},
                     {"student_id": "S2", "slot_id": "J", "rank": 2}],
        funds=[{"fund_id": "F", "budget": 10000}], policy_text=policy(order='["-spend"]'))
    result = solved(folder, tmp_path / "r")
    s1 = why(folder, result, "S1")
    assert [o["slot_id"] for o in s1["options"]] == ["T"]  # J is for graduates, K for 会计
    assert s1["options"][0]["blockers"] == [{"kind": "objective", "level": "-spend",
                                             "before": 0, "after": -300}]
    assert s1["candidates"] == []
    s2 = why(folder, result, "S2")
    assert s2["options"] == []
    assert s2["ineligible"] == [{"slot_id": "K", "list_rank": 1, "why": "major"},
                                {"slot_id": "J", "list_rank": 2, "why": "graduating"}]
    assert "K (major), J (employment: graduates only)" in text(s2, "en")


def test_unknown_student_and_a_result_of_another_season(tmp_path: Path) -> None:
    folder = write_season(tmp_path / "s", students=[{"student_id": "S1"}],
                          slots=[{"slot_id": "T"}], periods=1)
    result = result_of(folder, {"S1": ("T", 1, 3)}, tmp_path / "r")
    with pytest.raises(ExplainError, match="unknown student 'S9'"):
        why(folder, result, "S9")
    other = write_season(tmp_path / "o", students=[{"student_id": "S1"}],
                         slots=[{"slot_id": "U"}], periods=1)
    with pytest.raises(ResultError, match=r"row 2: S1 in T .* not an eligible option"):
        why(other, result, "S1")


def test_leaving_would_close_an_order_class(tmp_path: Path) -> None:
    # Order class O (min_size 2) holds S1 and S2; S1 lists the free shadow slot T first. Moving
    # there would leave O with one student, below its minimum.
    folder = write_season(
        tmp_path / "s", students=[{"student_id": "S1"}, {"student_id": "S2"}],
        slots=[{"slot_id": "O", "kind": "order", "capacity": 2, "min_size": 2},
               {"slot_id": "T"}], periods=1,
        preferences=[{"student_id": "S1", "slot_id": "T", "rank": 1},
                     {"student_id": "S1", "slot_id": "O", "rank": 2},
                     {"student_id": "S2", "slot_id": "O", "rank": 1}],
        objective=["placed", "preference"])
    result = result_of(folder, {"S1": ("O", 1, 3), "S2": ("O", 1, 3)}, tmp_path / "r")
    expl = why(folder, result, "S1")
    (opt,) = expl["options"]
    assert opt["blockers"] == [{"kind": "min_size_leave", "holders": 2, "slot_id": "O",
                                "min_size": 2}]
    assert "leaving would bring order class O from 2 to 1, below its min_size 2" in text(
        expl, "en")
