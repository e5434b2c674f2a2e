"""The library entry point: a season (folder or loaded) in, an audited Allocation out."""

from __future__ import annotations

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


def solve(
    season: Season | str | Path,
    policy: Policy | str | None = None,
    strategy: str = "cpsat",
    time_limit: float = DEFAULT_TIME_LIMIT,
    seed: int = 0,
    log: bool | Callable[[str], None] | None = None,
) -> Allocation:
    """Solve a season (a folder path or a loaded `Season`) under its policy or `policy`.

    `policy` may be a `Policy`, a preset name or a path to a policy TOML. `time_limit` bounds the
    whole solve, all levels together; the result says its status, bound and gap.
    """
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
    solution = get_strategy(strategy)(compiled.problem, time_limit=time_limit, seed=seed,
                                      log=log)
    return decode(compiled, solution)


def solve_json(payload: object, *, limits: Limits | None = None) -> dict:
    """The portal's call: a request (a dict or JSON text, `schemas/solve-request.schema.json`)
    in, a JSON-ready dict (`schemas/solve-response.schema.json`) out. Never raises for bad
    input: it answers `{"ok": false, "errors": [...]}`. `limits` is a `matcher.portal.Limits`
    (payload bytes, rows per table, string length, nesting); see `matcher.portal.solve_json`."""
    from matcher.portal import LIMITS
    from matcher.portal import solve_json as run

    return run(payload, limits=limits or LIMITS)
