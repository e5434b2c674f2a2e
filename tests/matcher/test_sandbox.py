"""The child-process sandbox: same answer as in process, killed at the hard limit, a crash is
an answer, never a hang or a traceback in the caller."""

from __future__ import annotations

import multiprocessing as mp
import os
import time

import pytest

from matcher.portal import Limits, solve_json
from matcher.sandbox import (
    SandboxCrash,
    SandboxTimeout,
    run_in_child,
    solve_json_isolated,
)
from tests.matcher.payloads import sample_season, tiny_request


def _without_timing(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "timing"}


def test_isolated_solve_gives_the_in_process_answer() -> None:
    request = tiny_request(strategy="greedy", seed=4)
    isolated = solve_json_isolated(request)
    assert isolated["ok"], isolated["errors"]
    assert isolated["metrics"]["audit_ok"]
    assert _without_timing(isolated) == _without_timing(solve_json(request))


def test_hard_limit_kills_the_child() -> None:
    # the 300-student sample, deterministic cpsat: several seconds of work, far past the limit
    request = {"season": sample_season(), "time_limit": 60, "deterministic": True}
    started = time.perf_counter()
    answer = solve_json_isolated(request, hard_limit=0.5)
    assert time.perf_counter() - started < 0.5 + 5  # kill and join, not the solve
    assert answer["ok"] is False and answer["status"] == "timeout"
    assert answer["errors"][0]["column"] == "time_limit"
    assert "hard limit of 0.5 s" in answer["errors"][0]["message"]
    assert not mp.active_children()


def test_run_in_child_timeout_is_typed_and_leaves_no_process() -> None:
    started = time.perf_counter()
    with pytest.raises(SandboxTimeout) as err:
        run_in_child(time.sleep, 60, hard_limit=0.5)
    assert err.value.hard_limit == 0.5
    assert isinstance(err.value, TimeoutError)
    assert time.perf_counter() - started < 0.5 + 5
    assert not mp.active_children()


def test_a_child_that_dies_is_a_crash() -> None:
    with pytest.raises(SandboxCrash) as err:
        run_in_child(os._exit, 7, hard_limit=30)
    assert err.value.exitcode == 7


def test_the_childs_exception_comes_back() -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        run_in_child(int, "not a number", hard_limit=30)
    assert run_in_child(divmod, 17, 5, hard_limit=30) == (3, 2)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_hard_limit_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="hard_limit"):
        run_in_child(abs, 1, hard_limit=bad)


def test_bad_input_is_answered_without_a_child() -> None:
    answer = solve_json_isolated({"season": {"students": [{}] * 11}},
                                 limits=Limits(max_rows=10), hard_limit=0.01)
    assert answer["ok"] is False and answer["status"] is None
    assert answer["errors"][0]["file"] == "season.json[students]"
    answer = solve_json_isolated({"season": "junk"})
    assert answer["ok"] is False and answer["errors"][0]["column"] == "season"


def test_default_hard_limit_allows_a_deterministic_solve_its_wall_clock() -> None:
    from matcher.sandbox import _time_limit
    from solvers.cpsat import DETERMINISTIC_WALL

    assert _time_limit({"time_limit": 10}) == 10
    assert _time_limit({"time_limit": 10, "deterministic": True}) == 10 * DETERMINISTIC_WALL
    assert _time_limit({"time_limit": "junk"}) == 60
    assert _time_limit([]) == 60
