"""What the foundation promises, measured: the sample end to end, and generated city seasons.

    python benchmarks/foundation.py           # sample + 1000/2000/3000 students, seeds 1 and 2
    python benchmarks/foundation.py --quick   # sample + 1000 students only

(a) `matcher solve instances/sample --time-limit 60 --json` as a subprocess, `--runs` times
    (3): wall seconds min/median/max, and whether every objective level was proven each time.
(b) `generate("city", seed, students=N)` written as a season folder, then solved through
    `matcher.api.solve(folder, strategy=..., time_limit=60)` with cpsat and with mip, once each:
    wall seconds (load + compile + solve + decode + audit), levels proven, gap, status.

One CSV row per (case, strategy) goes to
`benchmarks/results/foundation-<YYYY-MM-DD>-<hostname>.csv` (`...-quick.csv` with --quick),
rewritten after every case so an interrupted run keeps what it measured, and a table is printed.
Timings are recorded, never asserted: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from machine import machine
from machine import write_csv as save_csv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLE = ROOT / "instances" / "sample"
RESULTS = HERE / "results"

COLUMNS = ["date", "machine", "case", "students", "strategy", "runs", "wall_min", "wall_median",
           "wall_max", "levels", "levels_proven", "gap", "status",
           # beyond the required columns: the code measured and what the solver reported
           "code", "time_limit", "runtime_s", "placed", "objective", "audit_ok"]
SIZES = (1000, 2000, 3000)
SEEDS = (1, 2)
STRATEGIES = ("cpsat", "mip")


def code_version() -> str:
    """The commit checked out, with a digest of uncommitted changes to the code when any:
    `abc1234` or `abc1234+dirty:0123abcd`. `unknown` outside a git checkout."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout

    try:
        head = git("rev-parse", "--short", "HEAD").strip()
        diff = git("diff", "HEAD", "--", "matcher", "solvers", "pyproject.toml")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    if not diff:
        return head
    return f"{head}+dirty:{hashlib.sha1(diff.encode()).hexdigest()[:8]}"


def matcher_command() -> list[str]:
    """The `matcher` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "matcher"
    if script.exists():
        return [str(script)]
    found = shutil.which("matcher")
    if found:
        return [found]
    return [sys.executable, "-m", "matcher.cli"]


def parse_metrics(stdout: str) -> dict:
    """metrics.json from `matcher solve --json`, skipping anything printed before it (HiGHS
    prints its banner to stdout)."""
    start = stdout.find("{")
    if start < 0:
        raise ValueError(f"no JSON in the output: {stdout[:200]!r}")
    metrics, _ = json.JSONDecoder().raw_decode(stdout[start:])
    return metrics


def objective_text(objective: dict) -> str:
    return ";".join(f"{k}={v}" for k, v in objective.items())


def row_from(case: str, students: int, strategy: str, walls: list[float],
             runs: list[dict], time_limit: float) -> dict:
    """One CSV row over `runs` (metrics dicts) of one case; the worst run decides proven/gap."""
    statuses = sorted({m["status"] for m in runs})
    objectives = sorted({objective_text(m["objective"]) for m in runs})
    return {
        "case": case,
        "students": students,
        "strategy": strategy,
        "runs": len(walls),
        "wall_min": round(min(walls), 3),
        "wall_median": round(statistics.median(walls), 3),
        "wall_max": round(max(walls), 3),
        "levels": max(len(m["objective"]) for m in runs),
        "levels_proven": min(m["levels_proven"] for m in runs),
        "gap": max(float(m["gap"]) for m in runs),
        "status": "/".join(statuses),
        "time_limit": time_limit,
        "runtime_s": round(statistics.median(float(m["runtime_s"]) for m in runs), 3),
        "placed": "/".join(str(p) for p in sorted({m["placed"] for m in runs})),
        "objective": " | ".join(objectives),
        "audit_ok": all(m.get("audit_ok", True) for m in runs),
    }


def bench_cli_sample(runs: int, time_limit: float, say: Callable[[str], None]) -> dict:
    """(a) the command line on the bundled sample, as a user runs it."""
    cmd = [*matcher_command(), "solve", str(SAMPLE), "--time-limit", f"{time_limit:g}", "--json"]
    walls, metrics = [], []
    for i in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
        m = parse_metrics(proc.stdout)
        walls.append(wall)
        metrics.append(m)
        say(f"  sample run {i + 1}/{runs}: {wall:.2f} s, {m['status']}, "
            f"{m['levels_proven']}/{len(m['objective'])} levels proven")
    return row_from("sample (CLI)", metrics[0].get("students", 300), "cpsat", walls, metrics,
                    time_limit)


def bench_generated(students: int, seed: int, strategies: tuple[str, ...], time_limit: float,
                    workdir: Path, say: Callable[[str], None]) -> list[dict]:
    """(b) a generated city season of `students`, solved by each strategy through the API."""
    from matcher.api import solve
    from matcher.generate import generate, write_season

    gen = generate("city", seed, students=students)
    folder = write_season(gen, workdir / gen.name)
    rows = []
    for strategy in strategies:
        t0 = time.perf_counter()
        alloc = solve(folder, strategy=strategy, time_limit=time_limit, seed=0)
        wall = time.perf_counter() - t0
        m = alloc.metrics
        say(f"  {gen.name} {strategy}: {wall:.1f} s, {m['status']}, "
            f"{m['levels_proven']}/{len(m['objective'])} levels proven, gap {m['gap']:.3g}")
        rows.append(row_from(gen.name, students, strategy, [wall], [m], time_limit))
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    save_csv(path, rows, COLUMNS)


TABLE = [("case", "case", "<"), ("students", "students", ">"), ("strategy", "strategy", "<"),
         ("runs", "runs", ">"), ("wall_min", "wall min s", ">"),
         ("wall_median", "wall median s", ">"), ("wall_max", "wall max s", ">"),
         ("levels_proven", "proven", ">"), ("gap", "gap", ">"), ("status", "status", "<"),
         ("placed", "placed", ">")]


def table(rows: list[dict]) -> str:
    """A Markdown table (readable as plain text too)."""
    def cell(row: dict, key: str) -> str:
        v = row[key]
        if key == "levels_proven":
            return f"{v}/{row['levels']}"
        if key == "gap":
            return f"{v:.2g}" if v else "0"
        if isinstance(v, float):
            return f"{v:.2f}"
        return str(v)

    cells = [[cell(r, k) for k, _, _ in TABLE] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h, _) in enumerate(TABLE)]
    def line(values: list[str]) -> str:
        out = []
        for v, w, (_, _, align) in zip(values, widths, TABLE, strict=True):
            out.append(v.ljust(w) if align == "<" else v.rjust(w))
        return "| " + " | ".join(out) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if a == ">" else "-" * (w + 2)
                          for w, (_, _, a) in zip(widths, TABLE, strict=True)) + "|"
    return "\n".join([line([h for _, h, _ in TABLE]), rule, *(line(c) for c in cells)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="only the sample and the 1000-student seasons")
    ap.add_argument("--runs", type=int, default=3, help="CLI runs on the sample (default 3)")
    ap.add_argument("--time-limit", type=float, default=60.0,
                    help="seconds per solve, all levels together (default 60)")
    ap.add_argument("--out", type=Path, default=None, help="CSV path (default: results/...)")
    args = ap.parse_args(argv)

    today = dt.date.today().isoformat()
    host = platform.node() or "unknown"
    out = args.out or RESULTS / f"foundation-{today}-{host}{'-quick' if args.quick else ''}.csv"
    mach = machine()
    sizes = SIZES[:1] if args.quick else SIZES

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    # Import the whole engine now, so that every in-process solve runs the code `code` names even
    # if the checkout changes during the run (the CLI runs come first, seconds later).
    for module in ("matcher.api", "matcher.generate", "matcher.audit", "solvers.registry"):
        importlib.import_module(module)
    importlib.import_module("solvers.registry").strategies()
    code = code_version()
    say(f"{mach}; code {code}; writing {out}")
    rows: list[dict] = []

    def keep(new: list[dict]) -> None:
        for r in new:
            rows.append({"date": today, "machine": mach, "code": code, **r})
        write_csv(out, rows)

    say("sample through the command line")
    keep([bench_cli_sample(args.runs, args.time_limit, say)])
    with tempfile.TemporaryDirectory(prefix="foundation-") as tmp:
        for n in sizes:
            for seed in SEEDS:
                say(f"city season, {n} students, seed {seed}")
                keep(bench_generated(n, seed, STRATEGIES, args.time_limit, Path(tmp), say))

    if code_version() != code:
        say(f"warning: the code changed during the run (now {code_version()}); the figures are "
            f"those of {code}, read when the run started")
    print(f"{today}, {mach}, code {code}, time limit {args.time_limit:g} s\n")
    print(table(rows))
    print(f"\nCSV: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
