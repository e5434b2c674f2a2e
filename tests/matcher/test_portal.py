"""solve_json end to end: answers agree with matcher.solve, repeat byte for byte, say what held
students back, open no path a payload names, and never raise."""

from __future__ import annotations

import gc
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import matcher
import matcher.api
from matcher.models import SolveResponse
from matcher.portal import Limits, held_back, solve_json
from matcher.results import write_result
from tests.matcher.payloads import SAMPLE, sample_season, tiny_request, tiny_season

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _solved(answer: dict) -> dict:
    assert answer["ok"], answer["errors"]
    assert answer["metrics"]["audit_ok"]
    assert not answer["errors"]
    SolveResponse.model_validate(answer)
    return answer


def _canonical(answer: dict) -> str:
    """Everything but wall-clock timing, as the bytes a client would compare."""
    return json.dumps({k: v for k, v in answer.items() if k != "timing"}, sort_keys=True,
                      ensure_ascii=False)


def test_tiny_season_solved_and_shaped_like_the_schema() -> None:
    answer = _solved(solve_json(tiny_request()))
    m = answer["metrics"]
    assert answer["status"] == m["status"] == "optimal"
    assert len(answer["assignments"]) == m["placed"]
    assert {r["student_id"] for r in answer["assignments"]} | {
        r["student_id"] for r in answer["unplaced"]} == {f"S{i}" for i in range(1, 7)}
    assert sum(r["subsidy"] for r in answer["assignments"]) == m["spend"] == sum(
        r["amount"] for r in answer["ledger"])
    assert "runtime_s" in answer["timing"] and "runtime_s" not in m
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / "solve-response.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(answer, schema)
    json.dumps(answer, allow_nan=False)  # plain JSON values only


@pytest.mark.slow
def test_sample_matches_the_library_and_repeats_byte_for_byte() -> None:
    """DESIGN §5: same input and seed, same output. Timing is the only part allowed to move."""
    request = {"season": sample_season(), "time_limit": 60, "seed": 3, "deterministic": True}
    first = _solved(solve_json(request))
    second = _solved(solve_json(json.dumps(request)))  # JSON text in: the same answer
    assert _canonical(first) == _canonical(second)
    alloc = matcher.solve(SAMPLE, time_limit=60, seed=3)
    assert alloc.audit.ok
    assert first["metrics"]["objective"] == alloc.metrics["objective"]
    assert first["status"] == alloc.status == "optimal"


@pytest.mark.parametrize("strategy", ["cpsat", "flow", "mip", "greedy", "da-student", "boston"])
def test_every_strategy_repeats(strategy: str) -> None:
    request = tiny_request(strategy=strategy, seed=5, deterministic=True)
    first, second = solve_json(request), solve_json(request)
    _solved(first)
    assert _canonical(first) == _canonical(second)


def test_policy_override_and_inline_policy_agree_with_presets() -> None:
    import tomllib

    season = sample_season()
    by_name = _solved(solve_json({"season": season, "policy": "sanmenxia-2020",
                                  "strategy": "greedy"}))
    alloc = matcher.solve(SAMPLE, policy="sanmenxia-2020", strategy="greedy")
    assert alloc.audit.ok
    assert by_name["metrics"]["objective"] == alloc.metrics["objective"]
    assert by_name["metrics"]["spend_by_fund"] == alloc.metrics["spend_by_fund"]
    preset = Path(matcher.__file__).parent / "policies" / "sanmenxia-2020.toml"
    inline = tomllib.loads(preset.read_text(encoding="utf-8"))
    season["policy"] = inline
    by_value = _solved(solve_json({"season": season, "strategy": "greedy"}))
    assert _canonical(by_value) == _canonical(by_name)


def test_season_overrides_reach_the_policy() -> None:
    season = tiny_season()
    season["constraints"] = {"enterprise_cap": 0.0}  # no shadow/post interns anywhere
    season["objective"] = {"order": ["placed"]}
    answer = _solved(solve_json({"season": season, "time_limit": 10}))
    assert list(answer["metrics"]["objective"]) == ["placed"]
    assert {r["kind"] for r in answer["assignments"]} <= {"order", "employment"}
    assert answer["held_back"].get("enterprise_cap", 0) >= 1


def test_over_constrained_season_says_what_held_students_back() -> None:
    season = sample_season()
    for fund in season["funds"]:
        fund["budget"] = 0
    for slot in season["slots"]:
        if slot["kind"] in ("shadow", "post"):
            slot["capacity"] = 0
    answer = _solved(solve_json({"season": season, "time_limit": 30, "strategy": "cpsat"}))
    assert answer["status"] == "optimal"
    assert answer["metrics"]["spend"] == 0
    reasons = {r["student_id"]: r["reason"] for r in answer["unplaced"]}
    assert len(reasons) == 300 - answer["metrics"]["placed"]
    assert answer["held_back"]["budget"] > 0 and answer["held_back"]["capacity"] > 0
    assert any("fund city_county cannot pay" in r for r in reasons.values())
    assert sum(answer["held_back"].values()) >= len(reasons)


def test_no_eligible_slot_is_a_reason_not_an_error() -> None:
    season = tiny_season()
    season["students"][5]["major"] = "烹饪"  # offered by no slot: a warning, then unplaced
    answer = _solved(solve_json({"season": season, "time_limit": 10}))
    assert answer["held_back"] == {"no_eligible_slot": 1}
    assert any(w["column"] == "major" for w in answer["warnings"])


def test_held_back_counts_each_code_once_per_student() -> None:
    assert held_back(["capacity: A full, B full; budget: fund f cannot pay 5",
                      "capacity: C full", "no_eligible_slot: none"]) == {
        "capacity": 2, "budget": 1, "no_eligible_slot": 1}


def test_season_errors_name_table_row_and_column() -> None:
    season = tiny_season()
    season["students"][2]["school_id"] = "NOPE"
    season["slots"].append(dict(season["slots"][0]))  # duplicate slot id, row 5
    answer = solve_json({"season": season})
    assert answer["ok"] is False and answer["status"] is None
    where = {(e["file"], e["row"], e["column"]) for e in answer["errors"]}
    assert ("season.json[students]", 3, "school_id") in where
    assert ("season.json[slots]", 5, "slot_id") in where
    assert all(e["message"] for e in answer["errors"])


def test_time_limit_is_a_bound_on_the_whole_request() -> None:
    started = time.perf_counter()
    answer = _solved(solve_json({"season": sample_season(), "time_limit": 0.5}))
    wall = time.perf_counter() - started
    assert answer["status"] in ("optimal", "feasible")
    assert wall < 0.5 + 10  # generous on a shared machine; measured figures: README
    assert answer["timing"]["wall_s"] <= wall


_OPENED: list[str] = []
_WATCH = [False]


def _audit_open(event: str, args: tuple) -> None:
    if _WATCH[0] and event == "open" and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(str(args[0]))


sys.addaudithook(_audit_open)


def test_a_payload_opens_no_path() -> None:
    """Only the bundled presets and the interpreter's own files are read during a solve."""
    solve_json(tiny_request())  # imports done
    allowed = (sys.prefix, sys.base_prefix, str(Path(matcher.__file__).parent / "policies"))
    _OPENED.clear()
    _WATCH[0] = True
    try:
        solve_json(tiny_request())
        for ref in ("/etc/passwd", "../instances/sample/season.toml", "x.toml"):
            answer = solve_json({"season": {**tiny_season(), "policy": ref}})
            assert answer["ok"] is False
            assert answer["errors"][0]["column"] == "season.policy"
    finally:
        _WATCH[0] = False
    stray = [p for p in _OPENED if not p.startswith(allowed) and p != "/dev/null"]
    assert not stray


def test_limits_are_configurable_and_name_the_table() -> None:
    answer = solve_json(tiny_request(), limits=Limits(max_rows=5))
    assert answer["ok"] is False
    assert answer["errors"][0]["file"] == "season.json[students]"
    assert "6 rows, above the limit of 5" in answer["errors"][0]["message"]
    answer = solve_json(tiny_request(), limits=Limits(max_bytes=1000))
    assert "larger than the limit of 1,000 bytes" in answer["errors"][-1]["message"]
    long_name = tiny_request()
    long_name["season"]["students"][0]["name"] = "长" * 41
    answer = solve_json(long_name, limits=Limits(max_string=40))
    assert [(e["file"], e["row"], e["column"]) for e in answer["errors"]] == [
        ("season.json[students]", 1, "name")]
    assert "41 characters, above the limit of 40" in answer["errors"][0]["message"]
    answer = matcher.api.solve_json(tiny_request(), limits=Limits(max_depth=3))
    assert "nested deeper than 3 levels" in answer["errors"][0]["message"]


def test_an_engine_failure_is_an_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(matcher.api, "solve", broken)
    answer = solve_json(tiny_request())
    assert answer["ok"] is False
    assert answer["errors"][0]["file"] == "engine"
    assert "RuntimeError: solver exploded" in answer["errors"][0]["message"]


def test_result_folder_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alloc = matcher.solve(SAMPLE, strategy="greedy")
    assert alloc.audit.ok
    out = tmp_path / "result"
    write_result(alloc, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = {"n": 0}
    real = pd.DataFrame.to_csv

    def fail_second(self: pd.DataFrame, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_second)
    with pytest.raises(OSError, match="disk full"):
        write_result(alloc, out)
    with pytest.raises(OSError, match="disk full"):
        calls["n"] = 0
        write_result(alloc, tmp_path / "fresh")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old result stands
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]  # no half-written folder


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        pages = int(fh.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads RSS from /proc")
def test_repeated_sample_solves_keep_memory_flat() -> None:
    """The light version of benchmarks/memory_soak.py (200 solves): RSS after solve 12 within
    40 MiB of RSS after solve 4 (the first solves fill caches; measured growth is ~1 MiB)."""
    request = {"season": sample_season(), "time_limit": 30, "deterministic": True}
    rss = []
    for _ in range(12):
        _solved(solve_json(request))
        gc.collect()
        rss.append(_rss_mib())
    assert rss[-1] - rss[3] < 40, rss


def test_blocking_pairs_objective_is_refused_while_compile_cannot_optimise_it() -> None:
    """DESIGN §4 names `blocking_pairs` as a term, but compile raises on it: the portal answers
    with an input error. When compile learns the term this test fails: drop UNSOLVABLE_TERMS."""
    from matcher.compile import compile_season
    from matcher.season import load_season

    season = load_season(SAMPLE)
    policy = replace(season.policy, order=("placed", "-blocking_pairs"))
    with pytest.raises(ValueError, match="blocking_pairs"):
        compile_season(season.with_policy(policy))
    for objective in ({"order": ["placed", "-blocking_pairs"]},
                      {"weights": {"placed": 10, "blocking_pairs": -1}}):
        answer = solve_json({"season": {**tiny_season(), "objective": objective}})
        assert answer["ok"] is False
        assert answer["errors"][0]["column"].startswith("objective")
        assert "student-stable" in answer["errors"][0]["message"]
