"""Deferred acceptance at scale, and against the `matching` package.

    python benchmarks/mechanisms.py            # 10k, 100k, 1M students; the package at 10k
    python benchmarks/mechanisms.py --quick    # 10k and 100k; the package at 2k

Random markets: each student lists 10 distinct slots drawn with a Zipf-like skew towards popular
slots (weight 1 / (j + 1) ** 0.8 for the j-th most popular), one slot per 10 students, seats
for 90 % of the students (a slot's seats grow with the square root of its popularity, at least
one), and every slot ranks its applicants by one common score plus its own noise. Pairs come in
student order, each student's list best first, as a season's preferences table does.

(a) `da_student` and `da_enterprise` at each size: building the `Market` (validation) and
    solving, timed apart; `--runs` times (3), min and median. Then the same market with its
    pairs shuffled and gaps in its ranks (`-shuffled`): the general sorting path instead of the
    fast paths for pairs in student order and ranks 1..k. Every result is checked for blocking
    pairs, and the two copies must give the same matchings.
(b) at 10,000 students, end to end (building the instance from the same arrays, and solving):
    ours (`Market` + `da_student`) against `matching.games.HospitalResident`
    (`create_from_dictionaries` + `solve(optimal="resident")`), in the same run, once each; the
    two matchings must be equal, and the ratio is reported (target: ours >= 100x faster).

One CSV row per measurement goes to `benchmarks/results/mechanisms-<YYYY-MM-DD>-<hostname>.csv`
(`...-quick.csv` with --quick), with the date and the machine, and a table is printed. Timings
are recorded, never asserted: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(ROOT))

from machine import machine  # noqa: E402  (beside this script)
from machine import write_csv as save_csv  # noqa: E402

from solvers.mechanisms import Market, blocking_pairs, da_enterprise, da_student  # noqa: E402

CHOICES = 10
SEAT_SHARE = 0.9
ZIPF = 0.8
COLUMNS = ["date", "machine", "case", "students", "slots", "pairs", "what", "runs", "wall_min",
           "wall_median", "matched", "note"]


def random_market(n_students: int, seed: int = 0) -> dict[str, np.ndarray | int]:
    """The arrays of a random market (see the module docstring), pairs in student order."""
    rng = np.random.default_rng(seed)
    n_slots = max(n_students // 10, CHOICES)
    weight = 1.0 / np.arange(1, n_slots + 1) ** ZIPF
    weight = weight[rng.permutation(n_slots)]
    share = np.sqrt(weight) / np.sqrt(weight).sum()
    capacity = np.maximum(1, np.round(share * SEAT_SHARE * n_students)).astype(np.int64)
    cdf = np.cumsum(weight / weight.sum())
    lists = np.full((n_students, CHOICES), -1, dtype=np.int64)
    todo = np.arange(n_students)
    while todo.size:  # draw with replacement, keep the first 10 distinct slots of each row
        draws = np.minimum(np.searchsorted(cdf, rng.random((len(todo), 2 * CHOICES))),
                           n_slots - 1)
        order = np.argsort(draws, axis=1, kind="stable")
        by_value = np.take_along_axis(draws, order, axis=1)
        repeat = np.zeros(draws.shape, dtype=bool)
        np.put_along_axis(repeat, order[:, 1:], by_value[:, 1:] == by_value[:, :-1], axis=1)
        fresh = ~repeat
        place = np.cumsum(fresh, axis=1)
        ok = place[:, -1] >= CHOICES
        rows = np.flatnonzero(ok)
        take = fresh[rows] & (place[rows] <= CHOICES)
        lists[todo[rows]] = draws[rows][take].reshape(-1, CHOICES)
        todo = todo[~ok]
    pair_student = np.repeat(np.arange(n_students, dtype=np.int64), CHOICES)
    pair_slot = lists.reshape(-1)
    student_rank = np.tile(np.arange(1, CHOICES + 1, dtype=np.int64), n_students)
    score = rng.normal(size=n_students)[pair_student] + 0.3 * rng.normal(size=len(pair_slot))
    level = np.argsort(np.argsort(-score)).astype(np.int64)  # 0 = best score overall
    order = np.argsort(pair_slot * len(pair_slot) + level)
    starts = np.zeros(n_slots + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_slot, minlength=n_slots), out=starts[1:])
    slot_rank = np.empty(len(pair_slot), dtype=np.int64)
    slot_rank[order] = np.arange(len(order)) - starts[pair_slot[order]] + 1
    return dict(n_students=n_students, n_slots=n_slots, capacity=capacity,
                pair_student=pair_student, pair_slot=pair_slot, student_rank=student_rank,
                slot_rank=slot_rank)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def shuffled(arrays: dict, seed: int) -> dict:
    """The same market, its pairs in random order and both sides' ranks with gaps (x2, x3):
    the general path (sparse-matrix sorts) instead of the fast ones."""
    order = np.random.default_rng(seed).permutation(len(arrays["pair_slot"]))
    out = dict(arrays)
    for key in ("pair_student", "pair_slot", "student_rank", "slot_rank"):
        out[key] = arrays[key][order]
    out["student_rank"] = out["student_rank"] * 2
    out["slot_rank"] = out["slot_rank"] * 3
    return out


def bench_scale(n: int, runs: int, say: Callable[[str], None], general: bool) -> list[dict]:
    """(a) building and solving at `n` students, `runs` times each; with `general`, the same
    market again with its pairs shuffled and gaps in its ranks."""
    base = random_market(n, seed=n)
    variants = [(f"random-{n}", base, "pairs by student, ranks 1..k")]
    if general:
        variants.append((f"random-{n}-shuffled", shuffled(base, n), "pairs shuffled, gaps"))
    rows: list[dict] = []
    reference = None
    for case_name, arrays, note in variants:
        build, solve_s, solve_e, results = [], [], [], {}
        for _ in range(runs):
            wall, market = timed(lambda a=arrays: Market(**a))
            build.append(wall)
            wall, results["da_student"] = timed(lambda m=market: da_student(m))
            solve_s.append(wall)
            wall, results["da_enterprise"] = timed(lambda m=market: da_enterprise(m))
            solve_e.append(wall)
        assert isinstance(market, Market)
        if reference is None:
            reference = results
        case = dict(case=case_name, students=n, slots=market.n_slots, pairs=market.n_pairs,
                    runs=runs)
        rows.append(dict(case, what="build Market", wall_min=min(build),
                         wall_median=statistics.median(build), matched="",
                         note=f"{note}; validation"))
        for name, walls in (("da_student", solve_s), ("da_enterprise", solve_e)):
            match = results[name]
            assert isinstance(match, np.ndarray)
            assert blocking_pairs(market, match).size == 0, name
            assert np.array_equal(match, reference[name]), name
            both = [b + w for b, w in zip(build, walls, strict=True)]
            matched = int((match >= 0).sum())
            rows.append(dict(case, what=f"{name} (solve)", wall_min=min(walls),
                             wall_median=statistics.median(walls), matched=matched, note=note))
            rows.append(dict(case, what=f"{name} (build + solve)", wall_min=min(both),
                             wall_median=statistics.median(both), matched=matched, note=note))
        say(f"  {case_name}: build {min(build):.3f} s, da_student {min(solve_s):.3f} s, "
            f"da_enterprise {min(solve_e):.3f} s (min of {runs})")
    return rows


def package_dictionaries(arrays: dict) -> tuple[dict, dict, dict]:
    """The instance as the `matching` package takes it: preference lists and capacities."""
    student, slot = arrays["pair_student"], arrays["pair_slot"]
    by_student = np.lexsort((arrays["student_rank"], student))
    by_slot = np.lexsort((arrays["slot_rank"], slot))
    resident_prefs: dict[int, list[int]] = {}
    for s, t in zip(student[by_student].tolist(), slot[by_student].tolist(), strict=True):
        resident_prefs.setdefault(s, []).append(t)
    hospital_prefs: dict[int, list[int]] = {}
    for t, s in zip(slot[by_slot].tolist(), student[by_slot].tolist(), strict=True):
        hospital_prefs.setdefault(t, []).append(s)
    capacities = {t: int(arrays["capacity"][t]) for t in hospital_prefs}
    return resident_prefs, hospital_prefs, capacities


def deep_stack(fn: Callable[[], tuple[float, object]]) -> tuple[float, object]:
    """Run `fn` in a thread with a large stack and recursion limit: the package deep-copies its
    players, whose preference lists point at each other, recursively."""
    out: list[tuple[float, object]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    limit = sys.getrecursionlimit()
    old_size = threading.stack_size(1 << 30)
    sys.setrecursionlimit(1_000_000)
    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(limit)
    if errors:
        raise errors[0]
    return out[0]


def bench_package(n: int, say: Callable[[str], None]) -> list[dict]:
    """(b) end to end at `n` students: ours against `matching`, the same instance and run."""
    from matching.games import HospitalResident

    arrays = random_market(n, seed=n)
    ours_wall, ours = timed(lambda: da_student(Market(**arrays)))

    def package() -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            game = HospitalResident.create_from_dictionaries(*package_dictionaries(arrays))
            solved = game.solve(optimal="resident")
        out = np.full(n, -1, dtype=np.int64)
        for hospital, residents in solved.items():
            for resident in residents:
                out[resident.name] = hospital.name
        return out

    say(f"  the matching package at {n} students (slow) ...")
    theirs_wall, theirs = deep_stack(lambda: timed(package))
    assert isinstance(ours, np.ndarray) and isinstance(theirs, np.ndarray)
    same = bool(np.array_equal(ours, theirs))
    if not same:
        raise AssertionError(f"da_student and matching differ on {int((ours != theirs).sum())} "
                             "students")
    ratio = theirs_wall / ours_wall
    say(f"  ours {ours_wall:.4f} s, matching {theirs_wall:.2f} s: {ratio:.0f}x, same matching")
    case = dict(case=f"random-{n}", students=n, slots=int(arrays["n_slots"]),
                pairs=len(arrays["pair_slot"]), runs=1, matched=int((ours >= 0).sum()))
    return [
        dict(case, what="end to end: Market + da_student", wall_min=ours_wall,
             wall_median=ours_wall, note="same matching as the package"),
        dict(case, what="end to end: matching HospitalResident", wall_min=theirs_wall,
             wall_median=theirs_wall, note=f"ratio {ratio:.0f}x (package / ours)"),
    ]


def write_csv(path: Path, rows: list[dict], date: str) -> None:
    save_csv(path, ({**row, "date": date, "machine": machine(),
                     "wall_min": f"{row['wall_min']:.4f}",
                     "wall_median": f"{row['wall_median']:.4f}"} for row in rows), COLUMNS)


TABLE = [("case", "<"), ("pairs", ">"), ("what", "<"), ("runs", ">"), ("wall_min", ">"),
         ("wall_median", ">"), ("matched", ">"), ("note", "<")]


def table(rows: list[dict]) -> str:
    """A Markdown table (readable as plain text too)."""
    def cell(row: dict, key: str) -> str:
        v = row[key]
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    cells = [[cell(r, k) for k, _ in TABLE] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, (k, _) in enumerate(TABLE)]

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) if a == "<" else v.rjust(w)
                                 for v, w, (_, a) in zip(values, widths, TABLE, strict=True)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if a == ">" else "-" * (w + 2)
                          for w, (_, a) in zip(widths, TABLE, strict=True)) + "|"
    return "\n".join([line([k for k, _ in TABLE]), rule, *(line(c) for c in cells)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10k and 100k; the package at 2k")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per size (default 3)")
    ap.add_argument("--sizes", type=str, default="", help="comma-separated student counts")
    ap.add_argument("--no-package", action="store_true", help="skip (b)")
    ap.add_argument("--no-general", action="store_true",
                    help="skip the shuffled copy of each market")
    args = ap.parse_args(argv)
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    package_n = 2_000 if args.quick else 10_000
    date = dt.date.today().isoformat()
    suffix = "-quick" if args.quick else ""
    path = RESULTS / f"mechanisms-{date}-{platform.node()}{suffix}.csv"
    print(f"machine: {machine()}", flush=True)

    def say(msg: str) -> None:
        print(msg, flush=True)

    rows: list[dict] = []
    for n in sizes:
        rows += bench_scale(n, args.runs, say, general=not args.no_general)
        write_csv(path, rows, date)
    if not args.no_package:
        rows += bench_package(package_n, say)
        write_csv(path, rows, date)
    print(table(rows))
    print(f"written: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
