"""The scaling study (issue 5): time, gap and memory of each strategy from 2 000 to 500 000
students, against the targets.

    python benchmarks/scaling.py        # 2k, 20k, 100k, 500k students; flow, cpsat, mip
    python benchmarks/scaling.py --sizes 2k,20k --strategies flow,greedy --seeds 1,2
    python benchmarks/scaling.py --sizes 2k --strategies greedy --time-limits 2k:5

Each (size, seed) season is generated once (`city` structure up to 20 000 students, `province`
above) into the cache folder `benchmarks/.seasons/` as Parquet, and reused by later runs. Each
(size, strategy, seed) is then solved by a fresh child process,
`python -m matcher.cli solve SEASON --strategy S --time-limit T --json --out TMP`, started by a
small wrapper process of its own: the wrapper times the child (wall seconds, process start to
exit: imports, load, compile, solve, decode, audit, result folder) and reads its peak resident
memory from `resource.getrusage(RUSAGE_CHILDREN).ru_maxrss` once it has exited, a figure the
kernel keeps exactly, with no sampling. A strategy missing from the registry is skipped with a
message.

Results: `benchmarks/results/scaling-<YYYY-MM-DD>-<host>.csv`, rewritten after every run so an
interrupted study keeps what it measured, and a plot beside it (`.png`): wall time against
students (log-log) and gap against students, per strategy, with the targets of issue 5. Timings
are recorded, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from machine import machine
from machine import write_csv as save_csv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
CACHE = HERE / ".seasons"

# The notebook reads these names: keep them as they are.
COLUMNS = ["date", "machine", "students", "edges", "strategy", "seed", "time_limit", "wall_s",
           "runtime_s", "status", "levels_proven", "objective", "bound", "bound_level", "gap",
           "placed", "local", "spend", "audit_ok", "peak_rss_mb"]
SIZES = (2_000, 20_000, 100_000, 500_000)
STRATEGIES = ("flow", "cpsat", "mip")
TIME_LIMITS = {2_000: 10.0, 20_000: 30.0, 100_000: 120.0, 500_000: 300.0}
CITY_MAX = 20_000  # up to this many students the season has the city's structure
# Issue 5's targets: (students, seconds, gap); gap 0 means every level proven.
TARGETS = ((2_000, 2.0, 0.0), (20_000, 10.0, 0.001), (500_000, 300.0, 0.005))
MEMORY_TARGET_MB = 8 * 1024
# Runs in the wrapper process: start the solve, wait, report its wall time and peak memory.
WRAPPER = """
import json, resource, subprocess, sys, time
limit = float(sys.argv[1])
t = time.perf_counter()
try:
    done = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=limit)
    rc, out, err = done.returncode, done.stdout, done.stderr
except subprocess.TimeoutExpired as exc:
    rc, out, err = -9, "", f"killed after {limit:g} s"
wall = time.perf_counter() - t
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": rc, "wall_s": wall, "peak_kb": peak_kb, "stdout": out,
                  "stderr": err[-2000:]}))
"""


def size_arg(text: str) -> int:
    """2000, 2k, 20K, 0.5m: a number of students."""
    t = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    value = float(t[:-1] if scale > 1 else t) * scale
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of students")
    return int(value)


def parse_limits(text: str, sizes: list[int]) -> dict[int, float]:
    """'2k:10,20k:30' or one number for every size; sizes not named keep their defaults."""
    limits = {n: TIME_LIMITS.get(n, 60.0) for n in sizes}
    if ":" not in text:
        return dict.fromkeys(sizes, float(text))
    for part in filter(None, text.split(",")):
        n, t = part.split(":", 1)
        limits[size_arg(n)] = float(t)
    return limits


def season_folder(students: int, seed: int, cache: Path, say: Callable[[str], None]) -> Path:
    """The cached season of `students` and `seed`, generated (as Parquet) the first time."""
    from matcher.generate import generate, write_season

    scale = "city" if students <= CITY_MAX else "province"
    folder = cache / f"{scale}-{students}-seed{seed}"
    if (folder / "season.toml").exists():
        return folder
    say(f"generating {folder.name}")
    return write_season(generate(scale, seed, students=students), folder, format="parquet")


def run_one(folder: Path, strategy: str, time_limit: float, seed: int) -> dict:
    """Solve `folder` in a fresh process (through the wrapper) and return the CSV row."""
    hard_limit = 3 * time_limit + 600  # a stuck child never holds the study forever
    with tempfile.TemporaryDirectory(prefix="scaling-") as tmp:
        cmd = [sys.executable, "-m", "matcher.cli", "solve", str(folder), "--strategy", strategy,
               "--time-limit", f"{time_limit:g}", "--seed", str(seed), "--json",
               "--out", str(Path(tmp) / "result")]
        done = subprocess.run([sys.executable, "-c", WRAPPER, str(hard_limit), *cmd],
                              capture_output=True, text=True, cwd=ROOT, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    row: dict = {"strategy": strategy, "seed": seed, "time_limit": time_limit,
                 "wall_s": round(report["wall_s"], 3),
                 "peak_rss_mb": round(report["peak_kb"] / 1024, 1)}
    try:
        m = json.loads(report["stdout"])
    except ValueError:
        m = None
    if report["rc"] not in (0, 3) or m is None:  # 3: the audit rejected the result
        tail = report["stderr"].strip().splitlines()[-1:] or [f"exit {report['rc']}"]
        return {**row, "status": f"error: {tail[0]}"}
    return {**row, "students": m["students"], "edges": m.get("edges"),
            "runtime_s": m["runtime_s"], "status": m["status"],
            "levels_proven": m["levels_proven"],
            "objective": json.dumps(m["objective"], ensure_ascii=False),
            "bound": m["bound"], "bound_level": m["bound_level"], "gap": m["gap"],
            "placed": m["placed"], "local": m["local"], "spend": m["spend"],
            "audit_ok": m["audit_ok"]}


def write_csv(path: Path, rows: list[dict]) -> None:
    """All rows so far, written atomically."""
    save_csv(path, rows, COLUMNS)


def plot(rows: list[dict], path: Path) -> None:
    """Wall time (log-log), gap and peak memory against students, per strategy, with the
    targets of issue 5 (time and gap as points at their sizes, memory as a line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    strategies = sorted({r["strategy"] for r in rows})
    for s in strategies:
        done = sorted((r for r in rows if r["strategy"] == s and r.get("audit_ok") is not None),
                      key=lambda r: r["students"])
        if not done:
            continue
        n = [r["students"] for r in done]
        axes[0].plot(n, [r["wall_s"] for r in done], "o-", label=s)
        gaps = [(r["students"], 100 * r["gap"]) for r in done if r.get("gap") is not None]
        if gaps:
            axes[1].plot(*zip(*gaps, strict=True), "o-", label=s)
        axes[2].plot(n, [r["peak_rss_mb"] / 1024 for r in done], "o-", label=s)
    tn = [t[0] for t in TARGETS]
    axes[0].plot(tn, [t[1] for t in TARGETS], "k*", markersize=12, label="target")
    axes[1].plot(tn, [100 * t[2] for t in TARGETS], "k*", markersize=12, label="target")
    axes[2].axhline(MEMORY_TARGET_MB / 1024, color="k", linestyle="--", label="8 GiB target")
    axes[0].set(xscale="log", yscale="log", xlabel="students", ylabel="wall seconds",
                title="time to an audited result")
    axes[1].set(xscale="log", xlabel="students", ylabel="gap (%)",
                title="gap of the first level not proven")
    axes[2].set(xscale="log", xlabel="students", ylabel="peak RSS (GiB)",
                title="peak memory of the solve process")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(str(n) for n in SIZES),
                    help="students per season, e.g. 2k,20k,100k,500k (default)")
    ap.add_argument("--strategies", default=",".join(STRATEGIES),
                    help="strategies to run (default flow,cpsat,mip)")
    ap.add_argument("--time-limits", default="",
                    help="seconds per size, e.g. 2k:10,20k:30, or one number for all "
                         "(default 2k:10, 20k:30, 100k:120, 500k:300)")
    ap.add_argument("--large-from", default="100k",
                    help="from this size on, run only --large-strategies (default 100k): the "
                         "exact models do not fit in the time limit there")
    ap.add_argument("--large-strategies", default="flow",
                    help="strategies for the large sizes (default flow)")
    ap.add_argument("--seeds", default="1", help="generator and solver seeds, e.g. 1,2")
    ap.add_argument("--cache", type=Path, default=CACHE, help="generated seasons (reused)")
    ap.add_argument("--out", type=Path, default=None, help="CSV path (default: results/...)")
    args = ap.parse_args(argv)

    sizes = [size_arg(s) for s in args.sizes.split(",") if s.strip()]
    limits = parse_limits(args.time_limits, sizes) if args.time_limits else {
        n: TIME_LIMITS.get(n, 60.0) for n in sizes}
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    today = dt.date.today().isoformat()
    host = platform.node() or "unknown"
    out = args.out or RESULTS / f"scaling-{today}-{host}.csv"
    mach = machine()

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    sys.path.insert(0, str(ROOT))
    from solvers.registry import strategies as registered

    known = set(registered())
    wanted = [s.strip() for s in args.strategies.split(",") if s.strip()]
    for s in wanted:
        if s not in known:
            say(f"skipping strategy {s!r}: not in the registry ({', '.join(sorted(known))})")
    wanted = [s for s in wanted if s in known]
    large_from = size_arg(args.large_from)
    large = [s.strip() for s in args.large_strategies.split(",") if s.strip() in known]
    rows: list[dict] = []
    for n in sizes:
        for seed in seeds:
            folder = season_folder(n, seed, args.cache, say)
            for strategy in (large if n >= large_from else wanted):
                say(f"{n} students, seed {seed}: {strategy}, limit {limits[n]:g} s")
                row = {"date": today, "machine": mach, "students": n,
                       **run_one(folder, strategy, limits[n], seed)}
                rows.append(row)
                write_csv(out, rows)
                gap = row.get("gap")
                gap_text = "none" if gap is None or gap == "" else f"{100 * float(gap):.3f} %"
                say(f"  {row['status']}, wall {row['wall_s']:.1f} s, gap {gap_text}, "
                    f"peak {row['peak_rss_mb']:.0f} MB, audit {row.get('audit_ok')}")
    if rows:
        plot(rows, out.with_suffix(".png"))
    print(f"CSV: {out}" + (f"\nplot: {out.with_suffix('.png')}" if rows else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
