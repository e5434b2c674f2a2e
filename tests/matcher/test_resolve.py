"""`matcher.resolve` on hand-made seasons whose answers are worked out by hand.

The old result of each case is the allocation a coordinator had (built from chosen placements,
audited, written as a result folder); the changed season is solved keeping what it can. Every
allocation goes through the independent audit.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matcher.allocation import decode
from matcher.compile import compile_season
from matcher.resolve import (
    ResultError,
    _strip_level,
    changes_level,
    feasible_subset,
    placement_edges,
    read_result,
    resolve,
    write_resolved,
)
from matcher.results import write_result
from matcher.season import load_season
from solvers.problem import Level, Problem, SparseRows
from solvers.registry import get_strategy
from solvers.solution import Solution, Status
from tests.builders import write_season

SUBSIDY = """
[objective]
order = ["placed"]
[[subsidy]]
id = "shadow"
clause = "§22"
kind = ["shadow"]
amount = 300
per = "once"
payee = "student"
fund = "F"
"""


def result_of(folder: Path, placements: dict[str, tuple[str, int, int]], out: Path) -> Path:
    """Write the result folder of a chosen allocation of the season in `folder` (audited)."""
    c = compile_season(load_season(folder))
    rows = pd.DataFrame([(s, t, p, d) for s, (t, p, d) in placements.items()],
                        columns=["student_id", "slot_id", "start_period", "duration_months"])
    edges = placement_edges(c, rows)
    assert (edges >= 0).all(), "a chosen placement is not an option of the season"
    assert not c.problem.violations(edges)
    values = c.problem.level_values(edges)
    sol = Solution("cpsat", edges, Status.OPTIMAL, values, len(values), float(values[-1]), 0.0,
                   0.0)
    alloc = decode(c, sol)
    assert alloc.audit.ok, alloc.audit.violations
    write_result(alloc, out)
    return out


def placed(alloc) -> dict[str, tuple[str, int, int]]:
    a = alloc.assignments
    return {s: (t, int(p), int(d)) for s, t, p, d in zip(
        a["student_id"], a["slot_id"], a["start_period"], a["duration_months"], strict=True)}


def kinds(done) -> dict[str, str]:
    return dict(zip(done.changes["student_id"], done.changes["change"], strict=True))


def checked(done) -> None:
    alloc = done.allocation
    assert alloc.audit.ok, alloc.audit.violations
    assert alloc.metrics["status"] == "optimal"
    assert done.summary["kept_level"]["proven"]
    # the kept level never reaches the result's own levels (decode sees the policy's alone)
    assert alloc.metrics["objective"] == alloc.audit.levels


def test_kept_level_counts_changes_exactly() -> None:
    # Every allocation of small random problems: kept = (old placed) - (moved + dropped).
    # The rejected weighting (-1 on a placed student's other edges) is not a function of it.
    rng = np.random.default_rng(5)
    ambiguous = False
    for _ in range(5):
        n_agents, n_options = 4, 3
        pairs = [(a, o) for a in range(n_agents) for o in range(n_options) if rng.random() < .7]
        ea = np.array([a for a, _ in pairs])
        eo = np.array([o for _, o in pairs])
        rows = SparseRows.from_lists([np.flatnonzero(eo == o) for o in range(n_options)])
        problem = Problem(n_agents, n_options, ea, eo, (Level("placed", np.ones(len(ea))),),
                          rows=rows, rhs=np.ones(n_options, dtype=np.int64))
        old = {a: o for a, o in enumerate(rng.integers(-1, n_options, n_agents)) if o >= 0}
        old_edges = [i for i, (a, o) in enumerate(pairs) if old.get(a) == o]
        level = changes_level(problem, np.array(old_edges, dtype=np.int64))
        rejected = level.weights - np.isin(ea, list(old)).astype(int) * (level.weights == 0)
        seen: dict[int, set[int]] = {}
        per_agent = [[None, *np.flatnonzero(ea == a)] for a in range(n_agents)]
        for pick in itertools.product(*per_agent):
            chosen = np.array([e for e in pick if e is not None], dtype=np.int64)
            if problem.violations(chosen):
                continue
            now = {int(ea[e]): int(eo[e]) for e in chosen}
            changes = sum(1 for a, o in old.items() if now.get(a) != o)
            x = problem.indicator(chosen)
            assert level.weights @ x == len(old) - changes
            seen.setdefault(changes, set()).add(int(rejected @ x))
        ambiguous |= any(len(v) > 1 for v in seen.values())
    assert ambiguous


def test_withdrawn_student_frees_a_seat(tmp_path: Path) -> None:
    # Three seats (T1..T3, one each), five students fit all of them. S1..S3 held them; S2
    # withdraws. Best: 3 placed again: S4 or S5 takes T2, S1 and S3 stay where they were.
    students = [{"student_id": f"S{i}"} for i in range(1, 6)]
    slots = [{"slot_id": f"T{i}"} for i in range(1, 4)]
    before = write_season(tmp_path / "before", students=students, slots=slots, periods=1)
    old = result_of(before, {"S1": ("T1", 1, 3), "S2": ("T2", 1, 3), "S3": ("T3", 1, 3)},
                    tmp_path / "old")
    after = write_season(tmp_path / "after", students=[s for s in students
                                                       if s["student_id"] != "S2"],
                         slots=slots, periods=1)
    done = resolve(read_result(old), load_season(after), time_limit=20)
    checked(done)
    got = placed(done.allocation)
    assert got["S1"] == ("T1", 1, 3) and got["S3"] == ("T3", 1, 3)
    newcomer = [s for s in ("S4", "S5") if s in got]
    assert len(newcomer) == 1 and got[newcomer[0]] == ("T2", 1, 3)
    assert done.summary["counts"] == {"kept": 2, "moved": 0, "dropped": 0, "placed": 1,
                                      "withdrawn": 1}
    assert kinds(done)["S2"] == "withdrawn" and done.summary["changes"] == 0


def test_removed_slot_replaces_its_students_with_fewest_moves(tmp_path: Path) -> None:
    # X (2 seats) held S1, S2; A held S3, B held S4; C and D were empty. X is removed.
    # Lists: S1 {X, A, C}, S2 {X, B, D}, S3 {A, C}, S4 {B, D}. All four can be placed in four
    # ways; the one with fewest changes moves only S1 → C and S2 → D (2 changes, not 3 or 4).
    students = [{"student_id": f"S{i}"} for i in range(1, 5)]
    lists = {"S1": ["X", "A", "C"], "S2": ["X", "B", "D"], "S3": ["A", "C"], "S4": ["B", "D"]}
    prefs = [{"student_id": s, "slot_id": t, "rank": r + 1} for s, ts in lists.items()
             for r, t in enumerate(ts)]
    slots = [{"slot_id": "X", "capacity": 2}] + [{"slot_id": t} for t in "ABCD"]
    before = write_season(tmp_path / "before", students=students, slots=slots,
                          preferences=prefs, periods=1)
    old = result_of(before, {"S1": ("X", 1, 3), "S2": ("X", 1, 3), "S3": ("A", 1, 3),
                             "S4": ("B", 1, 3)}, tmp_path / "old")
    after = write_season(tmp_path / "after", students=students, slots=slots[1:],
                         preferences=[p for p in prefs if p["slot_id"] != "X"], periods=1)
    for first in (False, True):
        done = resolve(read_result(old), load_season(after), time_limit=20,
                       changes_first=first)
        checked(done)
        assert placed(done.allocation) == {"S1": ("C", 1, 3), "S2": ("D", 1, 3),
                                           "S3": ("A", 1, 3), "S4": ("B", 1, 3)}
        assert kinds(done) == {"S1": "moved", "S2": "moved", "S3": "kept", "S4": "kept"}
        assert done.summary["old_placements_still_eligible"] == 2


def test_budget_cut_drops_the_fewest(tmp_path: Path) -> None:
    # Each shadow placement pays 300 from fund F. Budget 900: S1..S3 placed, S4, S5 waiting.
    # Cut to 600: two can be placed. Keeping two of S1..S3 drops one; placing S4 or S5
    # instead would drop two for the same `placed`. Exactly one is dropped, nobody new.
    students = [{"student_id": f"S{i}"} for i in range(1, 6)]
    slots = [{"slot_id": "T", "capacity": 5}]
    before = write_season(tmp_path / "before", students=students, slots=slots, periods=1,
                          funds=[{"fund_id": "F", "budget": 900}], policy_text=SUBSIDY)
    old = result_of(before, {f"S{i}": ("T", 1, 3) for i in (1, 2, 3)}, tmp_path / "old")
    after = write_season(tmp_path / "after", students=students, slots=slots, periods=1,
                         funds=[{"fund_id": "F", "budget": 600}], policy_text=SUBSIDY)
    done = resolve(read_result(old), load_season(after), time_limit=20)
    checked(done)
    assert done.summary["counts"] == {"kept": 2, "moved": 0, "dropped": 1, "placed": 0,
                                      "withdrawn": 0}
    assert set(placed(done.allocation)) < {"S1", "S2", "S3"}
    assert done.allocation.metrics["spend_by_fund"] == {"F": 600}
    assert done.summary["objective_before"] == {"placed": 3}
    assert done.summary["objective_after"] == {"placed": 2}


def test_moving_a_kept_student_for_a_better_level(tmp_path: Path) -> None:
    # Objective placed, then local. S1 and S2 hold non-local seats N1, N2. The changed season
    # adds a local slot L that S1 fits (S2's list names N2 only). By default S1 moves to L
    # (local 0 → 1); with changes first nothing moves and L stays empty.
    ents = [{"enterprise_id": "E1"}, {"enterprise_id": "E2", "local": "false", "park_id": ""}]
    students = [{"student_id": "S1"}, {"student_id": "S2"}]
    prefs = [{"student_id": "S2", "slot_id": "N2", "rank": 1}]
    slots = [{"slot_id": "N1", "enterprise_id": "E2"}, {"slot_id": "N2", "enterprise_id": "E2"}]
    kw = {"students": students, "enterprises": ents, "preferences": prefs, "periods": 1,
          "objective": ["placed", "local"]}
    before = write_season(tmp_path / "before", slots=slots, **kw)
    old = result_of(before, {"S1": ("N1", 1, 3), "S2": ("N2", 1, 3)}, tmp_path / "old")
    after = write_season(tmp_path / "after", slots=[*slots, {"slot_id": "L"}], **kw)
    moved = resolve(read_result(old), load_season(after), time_limit=20)
    checked(moved)
    assert placed(moved.allocation) == {"S1": ("L", 1, 3), "S2": ("N2", 1, 3)}
    assert kinds(moved) == {"S1": "moved", "S2": "kept"}
    assert moved.summary["objective_after"] == {"placed": 2, "local": 1}
    assert moved.summary["kept_level"]["position"] == 3
    stay = resolve(read_result(old), load_season(after), time_limit=20, changes_first=True)
    checked(stay)
    assert placed(stay.allocation) == {"S1": ("N1", 1, 3), "S2": ("N2", 1, 3)}
    assert kinds(stay) == {"S1": "kept", "S2": "kept"}
    assert stay.summary["objective_after"] == {"placed": 2, "local": 0}
    assert stay.summary["kept_level"]["position"] == 1


def test_written_folder_and_hint(tmp_path: Path) -> None:
    # The budget case again: the result folder of DESIGN §6 plus changes.csv, the season it
    # was solved on in metrics.json; the hint handed to the solver is a feasible subset.
    students = [{"student_id": f"S{i}"} for i in range(1, 4)]
    slots = [{"slot_id": "T", "capacity": 5}]
    before = write_season(tmp_path / "before", students=students, slots=slots, periods=1,
                          funds=[{"fund_id": "F", "budget": 900}], policy_text=SUBSIDY)
    old = result_of(before, {f"S{i}": ("T", 1, 3) for i in (1, 2, 3)}, tmp_path / "old")
    after = write_season(tmp_path / "after", students=[*students[:2], {"student_id": "S9"}],
                         slots=slots, periods=1, funds=[{"fund_id": "F", "budget": 300}],
                         policy_text=SUBSIDY)
    season = load_season(after)
    c = compile_season(season)
    edges = placement_edges(c, read_result(old).assignments)
    assert (edges[:2] >= 0).all() and edges[2] == -1  # S3 withdrew
    hint = feasible_subset(c.problem, edges[edges >= 0])
    assert len(hint) == 1 and not c.problem.violations(hint)
    done = resolve(read_result(old), season, time_limit=20)
    checked(done)
    out = write_resolved(done, tmp_path / "new")
    assert {p.name for p in out.iterdir()} >= {
        "assignments.csv", "changes.csv", "ledger.csv", "metrics.json", "unplaced.csv"}
    changes = pd.read_csv(out / "changes.csv", dtype=str, keep_default_na=False)
    assert list(changes.columns) == [
        "student_id", "before_slot_id", "before_start_period", "before_duration_months",
        "after_slot_id", "after_start_period", "after_duration_months", "change"]
    rows = {r["student_id"]: r for r in changes.to_dict("records")}
    assert rows["S3"]["change"] == "withdrawn" and rows["S3"]["after_slot_id"] == ""
    assert sorted(r["change"] for r in rows.values()) == ["dropped", "kept", "withdrawn"]
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert m["season"] == str(after.resolve())
    assert m["resolve"]["counts"]["dropped"] == 1 and m["objective"] == {"placed": 1}
    assert read_result(out).season_path() == after.resolve()
    # a second write replaces the folder whole
    write_resolved(done, out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_strategy_and_result_errors(tmp_path: Path) -> None:
    season = write_season(tmp_path / "s", students=[{"student_id": "S1"}],
                          slots=[{"slot_id": "T"}], periods=1)
    old = result_of(season, {"S1": ("T", 1, 3)}, tmp_path / "old")
    with pytest.raises(ValueError, match="optimises the objective levels"):
        resolve(read_result(old), load_season(season), strategy="da-student")
    for name in ("greedy", "flow", "mip"):
        other = resolve(read_result(old), load_season(season), strategy=name, time_limit=10)
        assert other.allocation.audit.ok and kinds(other) == {"S1": "kept"}
    bad = tmp_path / "bad"
    shutil.copytree(old, bad)
    text = (old / "assignments.csv").read_text(encoding="utf-8")
    broken = text.replace("S1,T,E1,P1,shadow,1,", "S1,T,E1,P1,shadow,one,")
    assert broken != text
    (bad / "assignments.csv").write_text(broken, encoding="utf-8")
    with pytest.raises(ResultError, match=r"assignments.csv, row 2, column 'start_period'"):
        read_result(bad)
    (bad / "assignments.csv").write_text(text + text.splitlines()[1] + "\n", encoding="utf-8")
    with pytest.raises(ResultError, match="row 3, column 'student_id': S1 is placed twice"):
        read_result(bad)
    (bad / "metrics.json").unlink()
    shutil.copy(old / "assignments.csv", bad / "assignments.csv")
    with pytest.raises(ResultError, match=r"metrics\.json is missing"):
        read_result(bad)
    with pytest.raises(ResultError, match="is not a result folder"):
        read_result(tmp_path / "nowhere")


def test_kept_level_with_a_time_limit_keeps_metrics_consistent(tmp_path: Path) -> None:
    # A solve stopped on the kept level still decodes: the policy's levels, their bound and
    # gap (here: every policy level proven before the kept one).
    students = [{"student_id": f"S{i}"} for i in range(1, 4)]
    season = write_season(tmp_path / "s", students=students, slots=[{"slot_id": "T"}],
                          periods=1, objective=["placed"])
    old = result_of(season, {"S1": ("T", 1, 3)}, tmp_path / "old")
    c = compile_season(load_season(season))
    sol = get_strategy("cpsat")(c.problem, time_limit=10)
    stopped = Solution("cpsat", sol.edges, Status.FEASIBLE, (*sol.objective, 0), 1, 1.0, 1.0,
                       0.1)
    alloc = decode(c, _strip_level(stopped, 1, 1))
    assert alloc.metrics["objective"] == {"placed": 1} and alloc.metrics["gap"] == 0
    assert alloc.metrics["bound"] == 1 and alloc.metrics["levels_proven"] == 1
    early = Solution("cpsat", sol.edges, Status.FEASIBLE, (0, 1), 0, 5.0, 0.5, 0.1)
    alloc = decode(c, _strip_level(early, 0, 1))
    assert alloc.metrics["objective"] == {"placed": 1} and alloc.metrics["bound"] is None
    assert read_result(old).metrics["objective"] == {"placed": 1}
