"""Memory soak: the bundled sample solved many times in one process through `solve_json`, as
the portal calls it all day; resident memory (RSS) sampled after every solve.

    python benchmarks/memory_soak.py               # 200 solves, about 7 minutes on 2 cores
    python benchmarks/memory_soak.py --solves 20   # a quick look

Writes `benchmarks/results/memory-soak-<YYYY-MM-DD>-<hostname>.csv` (one row per solve: RSS in
MiB, wall and solver seconds, status) and prints the least-squares slope of RSS over the solves
after the warm-up, in KiB per solve: flat memory reads as a slope near zero.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from machine import machine  # noqa: E402
from machine import write_csv as save_csv  # noqa: E402

from matcher.portal import payload_from_folder, solve_json  # noqa: E402

SAMPLE = HERE.parent / "instances" / "sample"
COLUMNS = ["date", "machine", "solve", "rss_mib", "wall_s", "runtime_s", "status", "placed",
           "ok"]


def rss_mib() -> float:
    """Resident memory of this process now (Linux /proc), else the peak (getrusage)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def slope_kib(rss: list[float], warmup: int) -> float:
    """Least-squares growth of RSS per solve after the warm-up, in KiB."""
    y = np.asarray(rss[warmup:], dtype=float)
    if len(y) < 2:
        return float("nan")
    return float(np.polyfit(np.arange(len(y)), y, 1)[0] * 1024)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--solves", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10, help="solves left out of the slope")
    ap.add_argument("--strategy", default="cpsat")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=None, help="CSV path (default: results/...)")
    args = ap.parse_args(argv)
    today = dt.date.today().isoformat()
    out = args.out or HERE / "results" / f"memory-soak-{today}-{platform.node()}.csv"
    request = {"season": payload_from_folder(SAMPLE), "strategy": args.strategy,
               "time_limit": args.time_limit, "deterministic": True}
    mach = machine()
    rows = []
    start_rss = rss_mib()
    for i in range(1, args.solves + 1):
        t0 = time.perf_counter()
        answer = solve_json(request)
        wall = time.perf_counter() - t0
        gc.collect()
        rows.append({"date": today, "machine": mach, "solve": i, "rss_mib": round(rss_mib(), 2),
                     "wall_s": round(wall, 3), "runtime_s": answer["timing"].get("runtime_s"),
                     "status": answer["status"], "placed": (answer["metrics"] or {}).get("placed"),
                     "ok": answer["ok"]})
        if i % 10 == 0 or i == 1:
            print(f"solve {i:4d}: RSS {rows[-1]['rss_mib']:8.1f} MiB, {wall:.2f} s, "
                  f"{answer['status']}", flush=True)
    save_csv(out, rows, COLUMNS)
    rss = [r["rss_mib"] for r in rows]
    slope = slope_kib(rss, args.warmup)
    walls = [r["wall_s"] for r in rows]
    print(f"RSS before {start_rss:.1f} MiB, after solve 1 {rss[0]:.1f}, after solve "
          f"{min(args.warmup, len(rss))} {rss[min(args.warmup, len(rss)) - 1]:.1f}, "
          f"last {rss[-1]:.1f}, max {max(rss):.1f} MiB")
    print(f"slope after {args.warmup} warm-up solves: {slope:+.1f} KiB per solve; "
          f"wall median {float(np.median(walls)):.2f} s; all ok: {all(r['ok'] for r in rows)}")
    print(f"wrote {out}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
