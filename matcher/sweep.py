"""Sweeps: a grid of seasons × policies × budgets × strategies × seeds, one row of metrics per task,
collected in one Parquet table with a CSV beside it.

Every task stands alone: it builds its season (a folder, or a generator spec drawn on the worker),
applies the policy and the budget factors, solves through `matcher.solve` and returns one row. A
task that fails becomes a row with its error; it never stops the sweep. Tasks run on local
processes (`concurrent.futures`, spawned) or on a Ray cluster (`ray="ADDRESS"`, or `"local"` for a
Ray instance on this machine), so a study that outgrows one machine runs on an existing engine.

    >>> grid = Grid.build(seasons=["city-1000-seed1"], budgets=["0.5", "1", "2"],
    ...                   strategies=["cpsat", "da-student"], time_limit=10)
    >>> table = run_sweep(grid, out="results/budgets.parquet")
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import multiprocessing
import os
import re
import socket
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.errors import SeasonError
from matcher.policy import Policy, is_path_ref, load_policy, preset_names

__all__ = ["Budget", "Grid", "GridError", "PolicySpec", "SeasonSpec", "SweepError", "Task",
           "TaskInputError", "default_workers", "run_sweep", "run_task", "write_table"]

GENERATED = re.compile(r"^(?P<scale>[a-z]+)(?:-(?P<students>\d+))?-seed(?P<seed>\d+)"
                       r"(?:@(?P<policy>[A-Za-z0-9_.-]+))?$")
DEFAULT_GENERATOR_POLICY = "chenzhou-2018"  # what `matcher generate` writes without --policy
SEASON_POLICY = "season"  # the policy label meaning: the season's own (season.toml)
GRID_KEYS = {"seasons", "policies", "budgets", "strategies", "seeds", "time_limit"}
COUNT_COLUMNS = ["students", "placed", "local", "in_park", "poor_placed", "levels",
                 "levels_proven", "blocking_pairs", "unplaced"]
HEAD_COLUMNS = ["task", "season", "policy", "budget", "strategy", "seed", "time_limit",
                "students", "status", "placed", "local", "in_park", "poor_placed", "spend",
                "gap", "bound", "bound_level", "levels", "levels_proven", "blocking_pairs",
                "mean_rank", "median_rank", "unplaced"]
TAIL_COLUMNS = ["objective", "runtime_s", "wall_s", "audit_ok", "error", "host"]
TIMING_COLUMNS = ["runtime_s", "wall_s", "host"]  # what differs between two runs of one task
REASON_CODE = re.compile(r"(?:^|; )([a-z_]+):")  # audit reasons: "capacity: ...; budget: ..."
UNPLACED_CODES = ("no_eligible_slot", "not_chosen", "budget", "min_size", "poor_first",
                  "enterprise_cap", "same_post_cap", "capacity")


class GridError(ValueError):
    """A grid that cannot run: every problem found, one line each. `exit_code` is 1 when a
    policy file is invalid (DESIGN §7), 2 for any other bad option or grid file."""

    def __init__(self, problems: list[str], exit_code: int = 2) -> None:
        self.problems = problems
        self.exit_code = exit_code
        super().__init__("\n".join(problems))


class TaskInputError(ValueError):
    """A task whose inputs do not fit together (a budget naming an unknown fund): its row says
    why in plain words, with no code location."""


class SweepError(RuntimeError):
    """The sweep could not run: Ray missing or unreachable, or local workers that cannot start."""


# ---------------------------------------------------------------------------------------------
# The grid


@dataclass(frozen=True)
class SeasonSpec:
    """A season folder, or a generator spec `SCALE[-STUDENTS]-seedSEED[@POLICY]` drawn on the
    worker exactly as `matcher generate --scale SCALE --students N --seed S --policy POLICY`
    writes it (POLICY, default chenzhou-2018, is what season.toml names and decides which fund
    rows exist)."""

    label: str
    path: str | None = None
    scale: str | None = None
    students: int | None = None
    seed: int = 1
    policy: str = DEFAULT_GENERATOR_POLICY

    @classmethod
    def parse(cls, text: str, base: Path = Path(".")) -> SeasonSpec:
        """A folder (relative to `base`) when one exists there, else a generator spec."""
        from matcher.generate import SCALES

        text = text.strip()
        folder = base / text
        if text and folder.is_dir():
            return cls(label=text, path=str(folder.resolve()))
        m = GENERATED.match(text)
        if m is None or m["scale"] not in SCALES:
            raise GridError([f"season {text!r}: no such folder, and not a generator spec "
                             f"SCALE[-STUDENTS]-seedSEED[@POLICY] with SCALE in "
                             f"{', '.join(SCALES)} (e.g. city-1500-seed1)"])
        students = int(m["students"]) if m["students"] else None
        if students is not None and students < 1:
            raise GridError([f"season {text!r}: the number of students must be positive"])
        if m["policy"] and m["policy"] not in preset_names():
            raise GridError([f"season {text!r}: unknown policy preset {m['policy']!r} after "
                             f"'@'; presets: {', '.join(preset_names())}"])
        return cls(label=text, scale=m["scale"], students=students, seed=int(m["seed"]),
                   policy=m["policy"] or DEFAULT_GENERATOR_POLICY)

    @classmethod
    def from_value(cls, value: object, base: Path = Path(".")) -> SeasonSpec:
        """A string (see `parse`) or a table {path} / {scale, students, seed, policy}."""
        if isinstance(value, str):
            return cls.parse(value, base)
        if not isinstance(value, dict) or not value:
            raise GridError([f"season {value!r}: give a folder, a generator spec, or a table "
                             "{path = ...} / {scale = ..., students = ..., seed = ...}"])
        unknown = sorted(set(value) - {"path", "scale", "students", "seed", "policy", "label"})
        if unknown:
            raise GridError([f"season {value!r}: unknown key(s) {', '.join(unknown)}"])
        if "path" in value:
            spec = cls.parse(str(value["path"]), base)
            if spec.path is None:
                raise GridError([f"season {value['path']!r}: no such folder"])
            return replace(spec, label=str(value.get("label", spec.label)))
        text = f"{value.get('scale', '')}" + (f"-{value['students']}" if value.get("students")
                                              else "") + f"-seed{value.get('seed', 1)}"
        if value.get("policy"):
            text += f"@{value['policy']}"
        spec = cls.parse(text, Path("/nonexistent"))
        return replace(spec, label=str(value.get("label", spec.label)))


@dataclass(frozen=True)
class PolicySpec:
    """A resolved policy under a label; `policy` None means the season's own (season.toml)."""

    label: str
    policy: Policy | None = None

    @classmethod
    def from_value(cls, value: object, base: Path = Path(".")) -> PolicySpec:
        """'season', a preset name, a policy file (relative to `base`), or a table
        {policy = NAME|FILE, label = ..., objective = {...}, constraints = {...}} overriding the
        policy's objective and constraints as season.toml would (DESIGN §4a.4)."""
        if value == SEASON_POLICY:
            return cls(SEASON_POLICY)
        if isinstance(value, str):
            ref, objective, constraints, label = value.strip(), None, None, value.strip()
        elif isinstance(value, dict):
            unknown = sorted(set(value) - {"policy", "label", "objective", "constraints"})
            if unknown or not isinstance(value.get("policy"), str):
                raise GridError([f"policy {value!r}: a table needs 'policy' (a preset or a file) "
                                 "and may have label, objective, constraints"
                                 + (f"; unknown key(s) {', '.join(unknown)}" if unknown else "")])
            ref, objective, constraints = value["policy"], value.get("objective"), value.get(
                "constraints")
            label = str(value.get("label") or _override_label(ref, objective, constraints))
        else:
            raise GridError([f"policy {value!r}: give a preset name, a file or a table"])
        if not ref:
            raise GridError(["policy '': empty name"])
        policy, issues = load_policy(ref, base, objective=objective, constraints=constraints,
                                     origin=f"sweep policy {label!r}")
        if policy is None:
            code = 1 if is_path_ref(ref) and (base / ref).is_file() else 2
            raise GridError([str(i) for i in issues if i.is_error], exit_code=code)
        return cls(label, policy)


def _override_label(ref: str, objective: object, constraints: object) -> str:
    parts = [f"{k}={v}" for k, v in (constraints or {}).items()] if isinstance(
        constraints, dict) else []
    if isinstance(objective, dict) and objective:
        parts.append("objective=" + json.dumps(objective, ensure_ascii=False, sort_keys=True))
    return ref + "".join(f"+{p}" for p in parts)


@dataclass(frozen=True)
class Budget:
    """Budget factors: `every` for every fund, `by_fund` for named funds (they win). A factor
    of `inf` lifts the fund's budget (`Season.with_budgets`)."""

    label: str
    every: float = 1.0
    by_fund: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_value(cls, value: object) -> Budget:
        """A number (every fund), or text such as `0.5`, `inf`, `city_county=0.5;employment=2`
        or `0.5;city_county=2`, or a table {fund = factor, every = factor}."""
        if isinstance(value, bool):
            raise GridError([f"budget {value!r}: not a factor"])
        if isinstance(value, (int, float)):
            return cls._make(str(value), [(None, value)])
        if isinstance(value, dict):
            items = [(None if k == "every" else k, v) for k, v in value.items()]
            return cls._make(";".join(f"{k}={v}" for k, v in value.items()), items)
        if not isinstance(value, str) or not value.strip():
            raise GridError([f"budget {value!r}: give a factor (0.5) or fund=factor pairs"])
        items: list[tuple[str | None, object]] = []
        for part in value.split(";"):
            key, sep, num = part.strip().partition("=")
            items.append((key.strip(), num.strip()) if sep else (None, key.strip()))
        return cls._make(value.strip(), items)

    @classmethod
    def _make(cls, label: str, items: list[tuple[str | None, object]]) -> Budget:
        every, by_fund, seen = 1.0, [], set()
        for key, raw in items:
            try:
                factor = float(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise GridError([f"budget {label!r}: {raw!r} is not a number"]) from None
            if not factor >= 0:
                raise GridError([f"budget {label!r}: factor {raw!r} is not >= 0"])
            if key in seen or key == "":
                raise GridError([f"budget {label!r}: "
                                 + ("a fund name is empty" if key == "" else
                                    f"{key or 'the factor for every fund'} given twice")])
            seen.add(key)
            if key is None:
                every = factor
            else:
                by_fund.append((key, factor))
        return cls(label, every, tuple(by_fund))

    def factors(self, funds: Iterable[str], policy_funds: Iterable[str]) -> dict[str, float]:
        """Factors by fund for a season with these fund rows. A named fund without a row has
        no budget to scale (fine if the policy pays from it); one neither knows is a typo."""
        funds = list(funds)
        named = dict(self.by_fund)
        unknown = sorted(set(named) - set(funds) - set(policy_funds))
        if unknown:
            raise TaskInputError(f"budget {self.label!r} names fund(s) {', '.join(unknown)}, which "
                             f"neither funds.csv nor the policy knows; funds: "
                             f"{', '.join(funds) or '(none)'}")
        return {f: named.get(f, self.every) for f in funds}


@dataclass(frozen=True)
class Task:
    """One cell of the grid: everything a worker needs, picklable."""

    index: int
    season: SeasonSpec
    policy: PolicySpec
    budget: Budget
    strategy: str
    seed: int
    time_limit: float


@dataclass(frozen=True)
class Grid:
    """Seasons × policies × budgets × strategies × seeds, solved with one time limit each."""

    seasons: tuple[SeasonSpec, ...]
    policies: tuple[PolicySpec, ...] = (PolicySpec(SEASON_POLICY),)
    budgets: tuple[Budget, ...] = (Budget("1"),)
    strategies: tuple[str, ...] = ("cpsat",)
    seeds: tuple[int, ...] = (0,)
    time_limit: float = 60.0

    def tasks(self) -> list[Task]:
        """Every combination, season-major (a worker tends to meet the same season again)."""
        combos = itertools.product(self.seasons, self.policies, self.budgets, self.strategies,
                                   self.seeds)
        return [Task(i, s, p, b, st, seed, self.time_limit)
                for i, (s, p, b, st, seed) in enumerate(combos)]

    @classmethod
    def build(cls, *, seasons: Iterable[object], policies: Iterable[object] | None = None,
              budgets: Iterable[object] | None = None, strategies: Iterable[str] | None = None,
              seeds: Iterable[object] | None = None, time_limit: float | None = None,
              base: str | Path = ".") -> Grid:
        """A grid from plain values (strings, numbers, tables), as the CLI, a TOML file or a
        notebook give them; paths are relative to `base`. Raise `GridError` with every problem
        found."""
        from solvers.registry import strategies as known

        base = Path(base)
        problems: list[str] = []
        code = 2

        def each(values: Iterable[object] | None, make: Callable, what: str) -> tuple:
            nonlocal code
            out = []
            for v in values or ():
                try:
                    out.append(make(v))
                except GridError as exc:
                    problems.extend(exc.problems)
                    code = min(code, exc.exit_code)
            labels = [getattr(o, "label", o) for o in out]
            dup = sorted({str(x) for x in labels if labels.count(x) > 1})
            if dup:
                problems.append(f"{what}: {', '.join(dup)} given twice")
            return tuple(out)

        season_specs = each(seasons, lambda v: SeasonSpec.from_value(v, base), "seasons")
        if not season_specs and not problems:
            problems.append("seasons: give at least one season folder or generator spec")
        policy_specs = each(policies if policies is not None else [SEASON_POLICY],
                            lambda v: PolicySpec.from_value(v, base), "policies")
        budget_specs = each(budgets if budgets is not None else ["1"], Budget.from_value,
                            "budgets")
        names = tuple(strategies) if strategies is not None else ("cpsat",)
        bad = [s for s in names if s not in known()]
        if bad or not names:
            problems.append(f"strategies: unknown {', '.join(map(repr, bad)) or '(none given)'}"
                            f"; known: {', '.join(known())}")
        seed_values = each(seeds if seeds is not None else [0], _seed, "seeds")
        limit = 60.0 if time_limit is None else time_limit
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not (
                0 < limit < math.inf):
            problems.append(f"time_limit: {limit!r} is not a positive number of seconds")
        for what, values in (("policies", policy_specs), ("budgets", budget_specs),
                             ("seeds", seed_values)):
            if not values and not problems:
                problems.append(f"{what}: empty")
        if len(set(names)) != len(names):
            problems.append("strategies: a strategy given twice")
        if problems:
            raise GridError(problems, exit_code=code)
        return cls(season_specs, policy_specs, budget_specs, names, seed_values, float(limit))

    @classmethod
    def from_toml(cls, path: str | Path, **override: object) -> Grid:
        """A grid file: keys seasons, policies, budgets, strategies, seeds (lists), time_limit.
        Paths inside are relative to the file; `override` (keyword = value, None ignored)
        replaces a key, as command-line options do."""
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise GridError([f"{path}: cannot be read: {exc.strerror or exc}"]) from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise GridError([f"{path}: is not valid TOML: {exc}"]) from None
        problems = [f"{path}: unknown key {k!r}; known: {', '.join(sorted(GRID_KEYS))}"
                    for k in sorted(set(doc) - GRID_KEYS)]
        problems += [f"{path}: {k} must be a list" for k in sorted(GRID_KEYS - {"time_limit"})
                     if k in doc and not isinstance(doc[k], list)]
        if problems:
            raise GridError(problems)
        doc.update({k: v for k, v in override.items() if v is not None})
        return cls.build(base=path.parent, **{k: doc.get(k) for k in sorted(GRID_KEYS)})


def _seed(value: object) -> int:
    try:
        seed = int(str(value).strip()) if not isinstance(value, bool) else -1
    except ValueError:
        seed = -1
    if seed < 0:
        raise GridError([f"seed {value!r} is not a non-negative whole number"])
    return seed


def split_list(text: str | None) -> list[str] | None:
    """A comma-separated option as a list (None when the option was not given)."""
    if text is None:
        return None
    return [p.strip() for p in text.split(",") if p.strip()]


# ---------------------------------------------------------------------------------------------
# One task


def run_task(task: Task) -> dict:
    """Solve one task and return its row; any failure becomes a row with `error` set."""
    start = time.perf_counter()
    try:
        row = _solve_row(task)
    except SeasonError as exc:
        errs = exc.errors
        more = f" (and {len(errs) - 5} more)" if len(errs) > 5 else ""
        row = {"error": "invalid season: " + "; ".join(str(i) for i in errs[:5]) + more}
    except TaskInputError as exc:
        row = {"error": str(exc)}
    except Exception as exc:  # one task's failure must never stop the others
        row = {"error": _describe(exc)}
    if row.get("error"):
        row["status"] = "error"
    return {**_task_columns(task), **row, "wall_s": round(time.perf_counter() - start, 3),
            "host": f"{socket.gethostname()}:{os.getpid()}"}


def _task_columns(task: Task) -> dict:
    return {"task": task.index, "season": task.season.label, "policy": task.policy.label,
            "budget": task.budget.label, "strategy": task.strategy, "seed": task.seed,
            "time_limit": task.time_limit}


def _describe(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = (f" (at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno})"
             if tb is not None else "")
    return f"{type(exc).__name__}: {exc}{where}"


def _solve_row(task: Task) -> dict:
    from matcher.api import solve
    from matcher.compare import preference_ranks

    season = _season(task.season)
    if task.policy.policy is not None:
        season = season.with_policy(task.policy.policy)
    funds = list(season.funds["fund_id"])
    try:
        season = season.with_budgets(task.budget.factors(funds, season.policy.funds))
    except TaskInputError:
        raise
    except ValueError as exc:  # a factor that takes a budget beyond what the solvers hold
        raise TaskInputError(f"budget {task.budget.label!r}: {exc}") from None
    alloc = solve(season, strategy=task.strategy, time_limit=task.time_limit, seed=task.seed)
    m = alloc.metrics
    ranks = preference_ranks(season, alloc.assignments)
    row = {
        "students": m["students"], "status": m["status"], "placed": m["placed"],
        "local": m["local"], "in_park": m["in_park"], "poor_placed": m["poor_placed"],
        "spend": float(m["spend"]), "gap": m["gap"], "bound": m["bound"],
        "bound_level": m["bound_level"],
        "levels": len(season.policy.levels) + int(season.policy.park_coverage),  # coverage first
        "levels_proven": m["levels_proven"], "blocking_pairs": m["blocking_pairs"],
        "mean_rank": round(float(ranks.mean()), 4) if len(ranks) else None,
        "median_rank": float(np.median(ranks)) if len(ranks) else None,
        "unplaced": len(alloc.unplaced),
        "objective": json.dumps(m["objective"], ensure_ascii=False),
        "runtime_s": m["runtime_s"], "audit_ok": bool(alloc.audit.ok), "error": None,
    }
    for fund, spent in sorted(m["spend_by_fund"].items()):
        row[f"spend_{fund}"] = float(spent)
    for fund, budget in sorted(m["budget_by_fund"].items()):
        row[f"budget_{fund}"] = float(budget)
    counts = dict.fromkeys(UNPLACED_CODES, 0)
    for reason in alloc.unplaced["reason"]:
        for code in set(REASON_CODE.findall(str(reason))):
            counts[code] = counts.get(code, 0) + 1
    row.update({f"unplaced_{code}": n for code, n in counts.items()})
    return row


def _season(spec: SeasonSpec):
    """The season of a spec, loaded once per worker process (a folder's files are stamped, so
    an edited folder is read again)."""
    if spec.path is None:
        return _generated(spec.scale, spec.students, spec.seed, spec.policy)
    folder = Path(spec.path)
    stamp = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                         for p in folder.iterdir() if p.is_file())) if folder.is_dir() else ()
    return _folder(spec.path, stamp)


@functools.lru_cache(maxsize=4)
def _folder(path: str, stamp: tuple) -> object:
    from matcher.season import load_season

    return load_season(path)


@functools.lru_cache(maxsize=4)
def _generated(scale: str, students: int | None, seed: int, policy: str) -> object:
    """Draw and write the season as `matcher generate` does, then load it back (the folder is
    removed once read: the Season holds every table)."""
    from matcher.generate import generate, write_season
    from matcher.season import load_season

    drawn = generate(scale, seed, students=students, policy=policy)
    with tempfile.TemporaryDirectory(prefix="matcher-sweep-") as tmp:
        season = load_season(write_season(drawn, Path(tmp) / "season"))
    return replace(season, folder=None)


def _error_row(task: Task, message: str) -> dict:
    return {**_task_columns(task), "status": "error", "error": message}


# ---------------------------------------------------------------------------------------------
# Running the grid


def default_workers() -> int:
    """Local processes by default: one per usable CPU."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_sweep(
    grid: Grid,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    ray: str | None = None,
    progress: Callable[[int, int, dict], None] | None = None,
) -> pd.DataFrame:
    """Run every task of `grid` and return the table, one row per task in grid order.

    Local processes by default (`workers`, default one per CPU; 1 runs in this process); with
    `ray` an address (`auto`, `HOST:PORT`, `ray://HOST:PORT`) or `local`, Ray tasks instead.
    With `out` the table is written (`write_table`); an interrupted sweep writes the rows it
    finished before re-raising. `progress(done, total, row)` follows every finished task.
    """
    tasks = grid.tasks()
    rows: list[dict] = []

    def done(row: dict) -> None:
        rows.append(row)
        if progress is not None:
            progress(len(rows), len(tasks), row)

    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    try:
        if ray is not None:
            _run_ray(tasks, ray, workers, done)
        elif workers == 1 or len(tasks) <= 1:
            for task in tasks:
                done(run_task(task))
        else:
            _run_local(tasks, min(workers, len(tasks)), done)
    except KeyboardInterrupt:
        if out is not None and rows:
            write_table(to_frame(rows), out)
        raise
    table = to_frame(rows)
    if out is not None:
        write_table(table, out)
    return table


def _run_local(tasks: list[Task], workers: int, done: Callable[[dict], None],
               fn: Callable[[Task], dict] = run_task) -> None:
    """Spawned processes (no fork of a parent holding solver threads). When a worker dies
    (a crash, out of memory) the pool breaks and takes every unfinished task with it: those run
    again, each in a process of its own, so the one that kills its process is recorded as such
    and the others still get their rows."""
    ctx = multiprocessing.get_context("spawn")
    broken: list[Task] = []
    finished = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(fn, t): t for t in tasks}
        for fut in as_completed(futures):
            try:
                row = fut.result()
            except BrokenProcessPool:
                broken.append(futures[fut])
                continue
            except Exception as exc:  # the row could not come back (pickling)
                row = _error_row(futures[fut], _describe(exc))
            finished += 1
            done(row)
    if not broken:
        return
    if not finished and not _workers_start(ctx):
        raise SweepError("the worker processes cannot start. In a script, call run_sweep under "
                         "`if __name__ == \"__main__\":` (workers are spawned and import the "
                         "main module); or run with workers=1")
    broken.sort(key=lambda t: t.index)
    with ThreadPoolExecutor(max_workers=workers) as threads:
        for row in threads.map(lambda t: _alone(t, ctx, fn), broken):
            done(row)


def _alone(task: Task, ctx: multiprocessing.context.BaseContext,
           fn: Callable[[Task], dict]) -> dict:
    """Run one task in a process of its own; its death becomes the task's error row."""
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        try:
            return pool.submit(fn, task).result()
        except BrokenProcessPool:
            return _error_row(task, "the worker process died (a crash or out of memory)")
        except Exception as exc:
            return _error_row(task, _describe(exc))


def _workers_start(ctx: multiprocessing.context.BaseContext) -> bool:
    """Whether a spawned worker can start and answer at all."""
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        try:
            return pool.submit(default_workers).result() >= 1
        except BrokenProcessPool:
            return False


def _run_ray(tasks: list[Task], address: str, workers: int,
             done: Callable[[dict], None]) -> None:
    """Ray tasks, one CPU each. `local` starts a Ray instance here with `workers` CPUs; an
    address joins a running cluster, whose nodes need this package installed and the season
    folders at the same paths (generated seasons are drawn on the node)."""
    try:
        import ray
    except ImportError:
        raise SweepError("Ray is not installed: pip install 'chanjiao-matcher[ray]'") from None
    started = False
    if not ray.is_initialized():
        try:
            if address == "local":
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        except Exception as exc:
            raise SweepError(f"cannot start or reach Ray at {address!r}: {exc}") from None
        started = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=1)(run_task)
        pending = {remote.remote(t): t for t in tasks}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                task = pending.pop(ref)
                try:
                    done(ray.get(ref))
                except Exception as exc:  # the worker died; run_task itself never raises
                    done(_error_row(task, f"the Ray task failed: {_describe(exc)}"))
    finally:
        if started:
            ray.shutdown()


# ---------------------------------------------------------------------------------------------
# The table


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as one table in task order: fixed columns first, then spend and budget by fund and
    unplaced students by reason, then timing; counts as nullable integers."""
    frame = pd.DataFrame(rows)
    extra = sorted(c for c in frame.columns if c not in HEAD_COLUMNS + TAIL_COLUMNS)
    by_kind = sorted(extra, key=lambda c: (not c.startswith("spend_"),
                                           not c.startswith("budget_"), c))
    frame = frame.reindex(columns=HEAD_COLUMNS + by_kind + TAIL_COLUMNS)
    if len(frame):
        frame = frame.sort_values("task", kind="stable").reset_index(drop=True)
    for col in COUNT_COLUMNS + [c for c in by_kind if c.startswith("unplaced_")] + ["task",
                                                                                   "seed"]:
        frame[col] = pd.to_numeric(frame[col]).astype("Int64")
    for col in ["time_limit", "spend", "gap", "bound", "mean_rank", "median_rank", "runtime_s",
                "wall_s"] + [c for c in by_kind if not c.startswith("unplaced_")]:
        frame[col] = pd.to_numeric(frame[col]).astype("float64")
    frame["audit_ok"] = frame["audit_ok"].astype("boolean")
    for col in ["season", "policy", "budget", "strategy", "status", "bound_level", "objective",
                "error", "host"]:
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def write_table(table: pd.DataFrame, out: str | Path) -> Path:
    """Write `table` to `out` (Parquet; `.parquet` added when missing) and the same rows as CSV
    beside it. Both go to temporary files first, so a reader never sees half a table."""
    out = Path(out)
    if out.suffix != ".parquet":
        out = out.with_name(out.name + ".parquet")
    out.parent.mkdir(parents=True, exist_ok=True)
    csv = out.with_suffix(".csv")
    tmp_pq = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp_csv = csv.with_name(f".{csv.name}.{os.getpid()}.tmp")
    try:
        table.to_parquet(tmp_pq, index=False)
        table.to_csv(tmp_csv, index=False)
        os.replace(tmp_pq, out)
        os.replace(tmp_csv, csv)
    finally:
        for tmp in (tmp_pq, tmp_csv):
            tmp.unlink(missing_ok=True)
    return out
