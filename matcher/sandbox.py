"""A solve in a child process, killed at a hard limit: the portal's guarantee that a request
never hangs the caller, whatever the solver does.

`run_in_child` runs any picklable function in a fresh process (the 'forkserver' start method
where the platform has it, else 'spawn'; never a plain fork of a threaded parent) and raises
`SandboxTimeout` or `SandboxCrash`; `solve_json_isolated` wraps `matcher.portal.solve_json` and
turns both into an `{"ok": false, "status": "timeout" | "crashed", "errors": [...]}` answer.
"""

from __future__ import annotations

import math
import multiprocessing as mp
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from matcher.errors import Issue
from matcher.portal import LIMITS, Limits, check_limits, error_answer, solve_json

__all__ = ["DEFAULT_GRACE_S", "SandboxCrash", "SandboxError", "SandboxTimeout", "run_in_child",
           "solve_json_isolated"]

DEFAULT_GRACE_S = 15.0  # child start-up (imports) and decoding, beyond the solve's time limit
PRELOAD = ("matcher.api", "matcher.portal", "solvers.cpsat", "solvers.highs",
           "solvers.baselines")


class SandboxError(RuntimeError):
    """The child process gave no answer."""


class SandboxTimeout(SandboxError, TimeoutError):
    """The child ran past its hard limit and was killed."""

    def __init__(self, hard_limit: float) -> None:
        self.hard_limit = hard_limit
        super().__init__(f"no answer within the hard limit of {hard_limit:g} s: "
                         "the solve was stopped")


class SandboxCrash(SandboxError):
    """The child ended without an answer (killed by the system, out of memory, a hard crash)."""

    def __init__(self, exitcode: int | None) -> None:
        self.exitcode = exitcode
        super().__init__(f"the solve process ended without an answer (exit code {exitcode})")


def _context() -> mp.context.BaseContext:
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":  # the server imports the engine once; each child forks from it
        ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


def _child(conn: Connection, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    try:
        result: tuple[bool, Any] = (True, fn(*args, **kwargs))
    except BaseException as exc:  # sent back to the parent, re-raised there
        result = (False, exc)
    try:
        conn.send(result)
    except Exception as exc:  # an unpicklable result or exception
        conn.send((False, SandboxError(f"the answer could not be sent back: {exc!r}")))
    finally:
        conn.close()


def run_in_child(fn: Callable[..., Any], *args: Any, hard_limit: float, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` in a child process; its result, or its exception re-raised.

    The child is killed (SIGKILL) once `hard_limit` seconds have passed without an answer:
    raise `SandboxTimeout`; a child that dies without answering raises `SandboxCrash`."""
    if not (hard_limit > 0 and math.isfinite(hard_limit)):
        raise ValueError(f"hard_limit must be a positive number of seconds, not {hard_limit!r}")
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(sender, fn, args, kwargs), daemon=True)
    proc.start()
    sender.close()  # the child holds the only writer: its exit shows as end of file here
    try:
        if not receiver.poll(hard_limit):
            raise SandboxTimeout(hard_limit)
        try:
            ok, value = receiver.recv()
        except EOFError:
            proc.join(5)
            raise SandboxCrash(proc.exitcode) from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        receiver.close()
    if not ok:
        raise value
    return value


def solve_json_isolated(payload: object, *, hard_limit: float | None = None,
                        limits: Limits = LIMITS, grace_s: float = DEFAULT_GRACE_S) -> dict:
    """`solve_json` in a child process killed at `hard_limit` seconds (default: the request's
    time limit, three times it for a deterministic solve, plus `grace_s`). Never raises: a
    timeout or a crash is an answer with `ok` false, `status` "timeout" or "crashed" and one
    error saying so."""
    issues = check_limits(payload, limits) if isinstance(payload, dict) else []
    if issues:  # an oversized payload is refused here, before it is copied to a child
        return solve_json(payload, limits=limits)
    if hard_limit is None:
        hard_limit = _time_limit(payload) + grace_s
    try:
        return run_in_child(solve_json, payload, hard_limit=hard_limit, limits=limits)
    except SandboxError as exc:
        timeout = isinstance(exc, SandboxTimeout)
        return error_answer([Issue("request", None, "time_limit" if timeout else None,
                                   str(exc))], "timeout" if timeout else "crashed")


def _time_limit(payload: object) -> float:
    """How long the request may run by the wall clock: its time limit (or the models' default),
    times `solvers.cpsat.DETERMINISTIC_WALL` when it asks for a deterministic solve (whose
    limit is deterministic time, stopped by the wall clock only at that multiple)."""
    from matcher.models import MAX_TIME_LIMIT, SolveRequest
    from solvers.cpsat import DETERMINISTIC_WALL

    value = payload.get("time_limit") if isinstance(payload, dict) else None
    limit = float(SolveRequest.model_fields["time_limit"].default)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and (
            0 < value <= MAX_TIME_LIMIT):
        limit = float(value)
    deterministic = isinstance(payload, dict) and payload.get("deterministic") is True
    return limit * DETERMINISTIC_WALL if deterministic else limit
