"""The portal's entry point: a JSON request in, a JSON answer out, never an exception.

`solve_json` bounds the payload (bytes, rows per table, string length, nesting), checks its
shape with the pydantic models of `matcher.models`, builds the season in memory through the
same validation a season folder gets (`matcher.season.season_from_document`), solves it and
answers with plain JSON values. Bad input gives `{"ok": false, "errors": [...]}`, each error
naming file (or table), row and column; nothing in a payload names a path that gets opened.

Determinism: with `"deterministic": true` the solver runs with fixed workers, the seed and
deterministic time limits, so the same request gives the same answer; wall-clock figures
(`runtime_s`, `wall_s`) sit under `timing`, outside what repeats byte for byte.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from matcher.errors import Issue, SeasonError
from matcher.io import TABLE_NAMES, table_label
from matcher.models import PolicyModel, SeasonPayload, SolveRequest, SolveResponse
from matcher.policy import Policy, load_policy, parse_policy, preset_names

if TYPE_CHECKING:
    from matcher.season import Season

__all__ = ["LIMITS", "UNSOLVABLE_TERMS", "Limits", "PayloadError", "check_limits",
           "error_answer", "held_back", "parse_request", "payload_from_folder",
           "policy_from_payload", "season_from_payload", "solve_json", "solve_request"]

log = logging.getLogger(__name__)

# Objective terms DESIGN §4 names that `matcher.compile` cannot optimise yet (it raises
# ValueError); refused here as input errors. tests/matcher/test_portal.py fails once compile
# learns them, so this list cannot go stale in silence.
UNSOLVABLE_TERMS = frozenset({"blocking_pairs"})


@dataclass(frozen=True)
class Limits:
    """What one request may hold. Checked before anything else reads the payload."""

    max_bytes: int = 64 * 2**20  # the payload as JSON text, about
    max_rows: int = 500_000  # per table
    max_string: int = 4_096  # characters in any one string (a cell, a key, a name)
    max_depth: int = 16  # nesting of objects and lists (a request needs 7)


LIMITS = Limits()


class PayloadError(SeasonError):
    """A request that cannot be read: too large, not JSON-shaped, or not of the models' shape."""


# ----------------------------------------------------------------------------------------------
# Where a problem is: a table cell (file, row, column) or a path in the request
# ----------------------------------------------------------------------------------------------

_BRANCH_TAGS = {"str", "int", "float", "bool", "none", "inline", "preset", "list", "dict"}


def _is_tag(part: object) -> bool:
    """Union branch names pydantic puts in a location ('list[int]', 'str', 'inline')."""
    return isinstance(part, str) and (part in _BRANCH_TAGS or "[" in part or "(" in part)


def _where(loc: tuple) -> tuple[str, int | None, str | None]:
    """(file, row, column) of a location in the request, as the season loader names them:
    a cell of table t is `season.json[t]`, row i + 1, its column; anything else is
    `request` with the path as column."""
    loc = tuple(p for p in loc if not _is_tag(p))
    if (len(loc) >= 2 and loc[0] == "season" and loc[1] in TABLE_NAMES):
        file = table_label("json", loc[1])
        if len(loc) >= 3 and isinstance(loc[2], int):
            column = loc[3] if len(loc) >= 4 and isinstance(loc[3], str) else None
            return file, loc[2] + 1, column
        return file, None, None
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return "request", None, path or None


def _issues_from_validation(exc: ValidationError) -> list[Issue]:
    """One Issue per place; the messages of a union's branches joined by 'or'."""
    found: dict[tuple, list[str]] = {}
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        where = _where(tuple(err["loc"]))
        found.setdefault(where, []).append(_message(err["type"], err["msg"], where))
    issues = []
    for (file, row, column), msgs in found.items():
        msgs = list(dict.fromkeys(msgs))
        text = msgs[0] + "".join(f", or {m.removeprefix('Input should be ')}" for m in msgs[1:])
        issues.append(Issue(file, row, column, text))
    return issues


def _message(kind: str, msg: str, where: tuple[str, int | None, str | None]) -> str:
    """pydantic's message, in the loader's words where a table is concerned."""
    file, _, column = where
    table = file.startswith("season.json[")
    if kind == "extra_forbidden":
        return "unknown key: not part of the contract (a typo?)"
    if table and kind == "missing":
        return ("required column is missing" if column else
                "is missing: every season needs this table")
    if table and kind == "list_type":
        return "must be a list of row objects"
    if kind == "model_type":
        return "is not an object of column: value" if table else "Input should be an object"
    return msg.removeprefix("Value error, ")


# ----------------------------------------------------------------------------------------------
# Bounds
# ----------------------------------------------------------------------------------------------

def check_limits(payload: object, limits: Limits = LIMITS) -> list[Issue]:
    """Problems with the payload's size and shape as JSON, found without recursion: too many
    bytes, rows, characters or levels; a value JSON cannot hold (NaN, a set, bytes, a lone
    surrogate). An empty list means the models may read it safely."""
    issues: list[Issue] = []
    season = payload.get("season") if isinstance(payload, dict) else None
    if isinstance(season, dict):
        for name in TABLE_NAMES:
            rows = season.get(name)
            if isinstance(rows, list) and len(rows) > limits.max_rows:
                issues.append(Issue(table_label("json", name), None, None,
                                    f"{len(rows):,} rows, above the limit of "
                                    f"{limits.max_rows:,} rows per table"))
    if issues:
        return issues
    size = 0
    stack: list[tuple[object, tuple, int]] = [(payload, (), 1)]
    while stack:
        value, loc, depth = stack.pop()
        problem = None
        if isinstance(value, str):
            problem, n = _text_problem(value, limits)
            size += n + 2
        elif value is None or isinstance(value, bool):
            size += 5
        elif isinstance(value, int):
            size += value.bit_length() // 3 + 2
        elif isinstance(value, float):
            size += 24
            if not math.isfinite(value):
                problem = f"{value!r} is not a JSON number (NaN and infinity are not)"
        elif isinstance(value, (dict, list, tuple)):
            size += 2
            if depth > limits.max_depth:
                problem = f"nested deeper than {limits.max_depth} levels"
            elif isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, str):
                        problem = f"key {key!r} is not text"
                        break
                    key_problem, n = _text_problem(key, limits)
                    if key_problem:
                        problem = f"a key: {key_problem}"
                        break
                    size += n + 4
                    stack.append((item, (*loc, key), depth + 1))
            else:
                size += len(value)
                stack.extend((item, (*loc, i), depth + 1) for i, item in enumerate(value))
        else:
            problem = (f"a value of type {type(value).__name__} is not JSON (text, numbers, "
                       "booleans, null, lists and objects only)")
        if problem:
            issues.append(Issue(*_where(loc), problem))
            if len(issues) >= 50:
                break
        if size > limits.max_bytes:
            issues.append(Issue("request", None, None, f"larger than the limit of "
                                f"{limits.max_bytes:,} bytes"))
            break
    return issues


def _text_problem(text: str, limits: Limits) -> tuple[str | None, int]:
    """(what is wrong with a string, its size in UTF-8 bytes)."""
    if len(text) > limits.max_string:
        return (f"a text of {len(text):,} characters, above the limit of "
                f"{limits.max_string:,}"), len(text)
    try:
        return None, len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid Unicode text (a lone surrogate)", len(text)


# ----------------------------------------------------------------------------------------------
# Request → Season
# ----------------------------------------------------------------------------------------------

def parse_request(payload: object, limits: Limits = LIMITS) -> SolveRequest:
    """Bound and validate a request; raise `PayloadError` with every problem found."""
    if isinstance(payload, (bytes, bytearray, str)):
        if len(payload) > limits.max_bytes:
            raise PayloadError([Issue("request", None, None, f"larger than the limit of "
                                      f"{limits.max_bytes:,} bytes")])
        try:
            text = payload if isinstance(payload, str) else bytes(payload).decode("utf-8")
            payload = json.loads(text)
        except UnicodeDecodeError as exc:
            raise PayloadError([Issue("request", None, None,
                                      f"is not UTF-8 text: {exc.reason} at byte {exc.start}")]
                               ) from None
        except (ValueError, RecursionError) as exc:  # JSONDecodeError; nesting too deep
            raise PayloadError([Issue("request", None, None,
                                      f"is not valid JSON: {exc}")]) from None
    if not isinstance(payload, dict):
        raise PayloadError([Issue("request", None, None, "must be a JSON object with 'season' "
                                  f"and optional policy, strategy, time_limit, seed, "
                                  f"deterministic; got {_kind(payload)}")])
    issues = check_limits(payload, limits)
    if issues:
        raise PayloadError(issues)
    try:
        return SolveRequest.model_validate(payload)
    except ValidationError as exc:
        raise PayloadError(_issues_from_validation(exc)) from None


def _kind(value: object) -> str:
    return {list: "a list", str: "text", type(None): "null", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def policy_from_payload(ref: str | PolicyModel, objective: dict | None = None,
                        constraints: dict | None = None) -> Policy:
    """A preset (by name, never a path) or an inline policy, with a season's overrides:
    `objective` replaces the policy's, `constraints` is merged key by key (DESIGN §4a.4)."""
    if isinstance(ref, str):
        if ref not in preset_names():  # the models check this too; never reach a path
            raise PayloadError([Issue("request", None, "season.policy",
                                      f"unknown policy preset {ref!r}")])
        policy, issues = load_policy(ref, None, objective, constraints, origin="request")
    else:
        doc = ref.document()
        if objective is not None:
            doc["objective"] = objective
        if constraints is not None:
            doc["constraints"] = {**doc.get("constraints", {}), **constraints}
        policy, issues = parse_policy(doc, "request.policy", default_name="inline")
    if policy is None:
        raise SeasonError(issues)
    terms = {t.lstrip("-") for t in (policy.weights or policy.order)}
    if terms & UNSOLVABLE_TERMS:
        raise SeasonError([Issue("request", None, "objective", f"objective term {t!r} cannot be "
                                 "optimised yet; to rule blocking pairs out use constraints."
                                 "stability = 'student-stable'") for t in sorted(
                                     terms & UNSOLVABLE_TERMS)])
    return policy


def season_from_payload(payload: SeasonPayload, policy: str | PolicyModel | None = None
                        ) -> Season:
    """The validated `Season` of a payload; `policy` replaces the season's policy (and its
    overrides) as `matcher.solve(policy=...)` does. Raise `SeasonError` listing every error."""
    from matcher.season import season_from_document

    if policy is None:
        dump = payload.model_dump(include={"objective", "constraints"}, exclude_none=True)
        resolved = policy_from_payload(payload.policy, dump.get("objective"),
                                       dump.get("constraints"))
    else:
        resolved = policy_from_payload(policy)
    tables = payload.model_dump(mode="json", include=set(TABLE_NAMES))
    if tables.get("rankings") is None:
        tables.pop("rankings", None)
    return season_from_document(tables, resolved, name=payload.name, periods=payload.periods)


# ----------------------------------------------------------------------------------------------
# Solve
# ----------------------------------------------------------------------------------------------

def _solve_keywords(request: SolveRequest, remaining: float) -> dict[str, Any]:
    """Keywords for `matcher.api.solve`. Deterministic runs get the full time limit (it becomes
    deterministic work, so it must not depend on how long parsing took); others get what
    parsing and validating left of it (`api.solve` then counts its own compiling and decoding)."""
    limit = request.time_limit if request.deterministic else max(0.05, remaining)
    return {"strategy": request.strategy, "seed": request.seed, "time_limit": limit,
            "deterministic": request.deterministic}


def held_back(unplaced_reasons: list[str]) -> dict[str, int]:
    """Unplaced students per reason code ('capacity', 'budget', ...), most frequent first: a
    student held back by two things counts under both."""
    counts: Counter[str] = Counter()
    for reason in unplaced_reasons:
        counts.update({part.split(":", 1)[0].strip() for part in reason.split("; ")
                       if part.strip()})
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _error_items(issues: list[Issue]) -> list[dict]:
    return [{"file": i.file, "row": i.row, "column": i.column, "message": i.message}
            for i in issues]


def error_answer(issues: list[Issue], status: str | None = None) -> dict:
    """The JSON answer for a request that was not solved: `ok` false, `errors`, `status`."""
    return SolveResponse(ok=False, status=status,
                         errors=_error_items(issues)).model_dump(mode="json")


def solve_request(request: SolveRequest, started: float | None = None) -> SolveResponse:
    """Solve a validated request. Bad season data gives `ok` false with its errors; a solved
    season gives the status, metrics and tables, and `held_back` saying what kept whom out."""
    from matcher import api

    started = time.perf_counter() if started is None else started
    try:
        season = season_from_payload(request.season, request.policy)
    except SeasonError as exc:
        return SolveResponse(ok=False, errors=_error_items(exc.errors),
                             warnings=_error_items([i for i in exc.issues if not i.is_error]))
    remaining = request.time_limit - (time.perf_counter() - started)
    alloc = api.solve(season, **_solve_keywords(request, remaining))
    metrics = dict(alloc.metrics)
    timing = {"runtime_s": float(metrics.pop("runtime_s"))}
    unplaced = alloc.unplaced.to_dict("records")
    errors = [{"file": "audit", "row": None, "column": None, "message": v}
              for v in alloc.audit.violations]
    timing["wall_s"] = round(time.perf_counter() - started, 3)
    return SolveResponse(
        ok=alloc.audit.ok, status=metrics["status"], metrics=metrics, timing=timing,
        assignments=alloc.assignments.to_dict("records"), ledger=alloc.ledger.to_dict("records"),
        unplaced=unplaced, held_back=held_back([r["reason"] for r in unplaced]),
        errors=errors, warnings=_error_items(list(season.warnings)))


def solve_json(payload: object, *, limits: Limits = LIMITS) -> dict:
    """Solve a request given as a dict (or JSON text) and answer with a JSON-ready dict.

    Never raises: bad input gives `{"ok": false, "errors": [{"file", "row", "column",
    "message"}, ...]}`; an internal failure the same with `file` "engine" (and a logged
    traceback). A solved season gives `ok`, `status`, `metrics`, `timing`, `assignments`,
    `ledger`, `unplaced` and `held_back`; see `matcher.models.SolveResponse`.
    """
    started = time.perf_counter()
    try:
        request = parse_request(payload, limits)
        response = solve_request(request, started)
    except SeasonError as exc:
        response = SolveResponse(ok=False, errors=_error_items(exc.errors))
    except Exception as exc:  # a bug, not the user's input: say so, never crash the caller
        log.exception("solve_json failed")
        response = SolveResponse(ok=False, errors=[{
            "file": "engine", "message": f"internal error (please report): "
                                         f"{type(exc).__name__}: {exc}"}])
    return response.model_dump(mode="json")


# ----------------------------------------------------------------------------------------------
# A season folder as a payload (tests, benchmarks, clients preparing requests)
# ----------------------------------------------------------------------------------------------

def payload_from_folder(folder: str | Path) -> dict:
    """The season payload (a dict ready for `solve_json`'s `season`) of a valid season folder.

    Reads the folder here, on the caller's side; the payload then names no file. A policy file
    the season points to is inlined."""
    import tomllib

    from matcher.policy import is_path_ref
    from matcher.season import load_season

    folder = Path(folder)
    season = load_season(folder)
    config = tomllib.loads((folder / "season.toml").read_text(encoding="utf-8"))
    ref = config["policy"]
    policy: Any = ref
    if is_path_ref(ref):
        policy = tomllib.loads((folder / ref).read_text(encoding="utf-8"))
    out: dict[str, Any] = {"name": season.name, "periods": season.periods, "policy": policy}
    for key in ("objective", "constraints"):
        if key in config:
            out[key] = config[key]
    for name in TABLE_NAMES:
        frame = getattr(season, name)
        if frame is None:
            continue
        out[name] = _rows(name, frame.drop(columns="_row"))
    return out


def _rows(name: str, frame) -> list[dict]:
    """Typed frame rows as JSON rows: tuples as lists, the loader's 'empty' markers as null."""
    rows = frame.to_dict("records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, tuple):
                row[key] = list(value)
            elif value == "" and key not in ("name", "county"):
                row[key] = None
        if name == "slots":
            row["min_size"] = row["min_size"] or None
            row["post_staff"] = None if row["post_staff"] < 0 else row["post_staff"]
            if not row["durations"]:
                row["durations"] = None
    return rows
