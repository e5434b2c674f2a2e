"""Strategies by name: every one is `solve(problem, *, time_limit, seed, hint=None, log=None)`."""

from __future__ import annotations

from collections.abc import Callable

from solvers.problem import Problem
from solvers.solution import Solution

Strategy = Callable[..., Solution]

_REGISTRY: dict[str, Strategy] = {}


def register(name: str) -> Callable[[Strategy], Strategy]:
    """Decorator adding a strategy to the registry under `name`."""

    def wrap(fn: Strategy) -> Strategy:
        _REGISTRY[name] = fn
        return fn

    return wrap


def strategies() -> list[str]:
    """Names of every registered strategy."""
    _load_builtin()
    return sorted(_REGISTRY)


def get_strategy(name: str) -> Strategy:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown strategy {name!r}; known: {known}") from None


def solve(
    problem: Problem,
    strategy: str = "cpsat",
    *,
    time_limit: float = 60.0,
    seed: int = 0,
    **kwargs: object,
) -> Solution:
    """Solve `problem` with the named strategy."""
    return get_strategy(strategy)(problem, time_limit=time_limit, seed=seed, **kwargs)


def _load_builtin() -> None:
    from solvers import baselines, cpsat, flow, highs  # noqa: F401  (they register themselves)
