"""The library entry point: a season (folder or loaded) in, an audited Allocation out."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from matcher.allocation import Allocation, decode
from matcher.compile import compile_season
from matcher.policy import Policy, load_policy
from matcher.season import Season, load_season
from solvers.registry import get_strategy

if TYPE_CHECKING:
    from matcher.portal import Limits

__all__ = ["DEFAULT_TIME_LIMIT", "solve", "solve_json"]

DEFAULT_TIME_LIMIT = 60.0
DECODE_RESERVE = 0.05  # of the time limit, kept for decoding and the audit, and at least
DECODE_SECONDS_PER_EDGE = 1.5e-6  # per edge (decode, audit and writing: 20 s at 12.9M edges)


def solve(
    season: Season | str | Path,
    policy: Policy | str | None = None,
    strategy: str = "cpsat",
    time_limit: float = DEFAULT_TIME_LIMIT,
    seed: int = 0,
    log: bool | Callable[[str], None] | None = None,
    deterministic: bool = False,
) -> Allocation:
    """Solve a season (a folder path or a loaded `Season`) under its policy or `policy`.

    `policy` may be a `Policy`, a preset name or a path to a policy TOML. `time_limit` bounds the
    whole call, loading, compiling and the audit included: the strategy gets what loading and
    compiling left, less a reserve for decoding. The result says its status, bound and gap.

    `deterministic`: the same season, policy, strategy and seed give the same allocation on
    every run and machine of the same build. `cpsat` then runs one CP-SAT worker with the time
    limit as deterministic time (no race with HiGHS), `flow` a fixed number of rounds; the
    mechanisms are deterministic anyway. The wall clock then only stops a run at three times
    the limit. `mip` has no deterministic clock: it is reproducible when every level finishes.
    """
    started = time.perf_counter()
    if isinstance(policy, str):
        loaded, issues = load_policy(policy, Path("."))
        if loaded is None:
            from matcher.errors import SeasonError

            raise SeasonError(issues)
        policy = loaded
    if not isinstance(season, Season):
        season = load_season(season, policy)
    elif policy is not None:
        season = season.with_policy(policy)
    compiled = compile_season(season)
    run = get_strategy(strategy)
    kwargs: dict = {}
    if deterministic and "deterministic" in inspect.signature(run).parameters:
        kwargs["deterministic"] = True
    if deterministic:
        limit = time_limit
    else:
        used = time.perf_counter() - started
        reserve = max(DECODE_RESERVE * time_limit,
                      DECODE_SECONDS_PER_EDGE * compiled.problem.n_edges)
        limit = max(0.05, time_limit - used - reserve)
    solution = run(compiled.problem, time_limit=limit, seed=seed, log=log, **kwargs)
    return decode(compiled, solution)


def solve_json(payload: object, *, limits: Limits | None = None) -> dict:
    """The portal's call: a request (a dict or JSON text, `schemas/solve-request.schema.json`)
    in, a JSON-ready dict (`schemas/solve-response.schema.json`) out. Never raises for bad
    input: it answers `{"ok": false, "errors": [...]}`. `limits` is a `matcher.portal.Limits`
    (payload bytes, rows per table, string length, nesting); see `matcher.portal.solve_json`."""
    from matcher.portal import LIMITS
    from matcher.portal import solve_json as run

    return run(payload, limits=limits or LIMITS)
