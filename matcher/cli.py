"""The `matcher` command line (DESIGN §7): generate, validate, solve, report, compare, ...

Exit codes (the same for every command):
  0  success;
  1  invalid input: the season or policy (every problem printed, by file, row and column, and
     nothing written), a result folder that cannot be read or does not fit its season, or an
     output that cannot be written;
  2  bad command-line usage (an unknown option, strategy, format or language);
  3  the independent audit rejected a result (a bug: please report it);
  4  `matcher sweep`: some tasks failed (the table is still written, each failure a row with
     its error).
Scripts: `--json` prints machine-readable output on stdout; `--quiet` prints nothing but errors.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from matcher.errors import SeasonError
from matcher.season import validate_season

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Allocation engine for industry–education integration (产教融合) placements.\n\n"
         "Example: matcher generate --scale sample --out seasons/demo && "
         "matcher solve seasons/demo --out results/demo",
)
console = Console()
# Problems go to stderr one per line, never wrapped (rich wraps at 80 columns when stderr is not
# a terminal), so `matcher validate S 2> issues.txt` can be grepped line by line.
err_console = Console(stderr=True, soft_wrap=True, emoji=False)

EXIT_INVALID = 1
EXIT_AUDIT = 3


def _print_issues(issues, limit: int = 200) -> None:
    for issue in issues[:limit]:
        style = "red" if issue.is_error else "yellow"
        err_console.print(str(issue), style=style, markup=False, highlight=False)
    if len(issues) > limit:
        err_console.print(f"... and {len(issues) - limit} more", style="red")


@app.command()
def validate(season: Path = typer.Argument(..., help="Season folder")) -> None:
    """Check a season folder and print every problem found, by file, row and column.

    Exports with Chinese headers (学号, 姓名, 专业, 学校, ...) are read through the
    alias table of matcher/aliases.py; a header it cannot map is named in a warning.

    Examples:
      matcher validate instances/sample
      matcher validate seasons/2026-h2 2> issues.txt
    """
    issues = validate_season(season)
    _print_issues(issues)
    errors = [i for i in issues if i.is_error]
    warnings = len(issues) - len(errors)
    if errors:
        err_console.print(f"{len(errors)} error(s), {warnings} warning(s): the season is invalid",
                          style="bold red")
        raise typer.Exit(EXIT_INVALID)
    console.print(f"season is valid ({warnings} warning(s))", style="green")


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", help="Folder to create"),
    scale: str = typer.Option("sample", help="sample (~300 students), city (20,000) or "
                                             "province (500,000)"),
    seed: int = typer.Option(1, help="Random seed: the same seed gives the same season"),
    students: int | None = typer.Option(None, help="Override the number of students"),
    policy: str = typer.Option("chenzhou-2018", help="Policy preset the season points to"),
    fmt: str = typer.Option("csv", "--format", help="csv, or parquet (faster to load at "
                                                    "province scale)"),
) -> None:
    """Write a synthetic season folder (seeded, with realistic skew).

    Examples:
      matcher generate --scale sample --seed 7 --out seasons/demo
      matcher generate --scale city --seed 1 --students 5000 --out seasons/city-1
      matcher generate --scale province --format parquet --out seasons/province-1
    """
    from matcher.generate import FORMATS, SCALES, write_season
    from matcher.generate import generate as make

    if scale not in SCALES:
        err_console.print(f"unknown scale {scale!r}; known: {', '.join(SCALES)}", style="red")
        raise typer.Exit(2)
    if fmt not in FORMATS:
        err_console.print(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}", style="red")
        raise typer.Exit(2)
    if students is not None and students < 1:
        err_console.print(f"--students must be positive, got {students}", style="red")
        raise typer.Exit(2)
    try:
        path = write_season(make(scale, seed, students=students, policy=policy), out, fmt)
    except FileExistsError as exc:
        err_console.print(str(exc), style="red")
        raise typer.Exit(EXIT_INVALID) from None
    console.print(f"wrote season {path}")


@app.command()
def solve(
    season: Path = typer.Argument(..., help="Season folder"),
    strategy: str = typer.Option("cpsat", help="Strategy name (see `matcher strategies`)"),
    time_limit: float = typer.Option(60.0, "--time-limit", help="Seconds for the whole solve"),
    seed: int = typer.Option(0, help="Solver seed"),
    out: Path | None = typer.Option(None, "--out", help="Result folder to write"),
    report: str | None = typer.Option(None, "--report", help="Also write a report into --out: "
                                      "xlsx (report.xlsx), html (summary.html, summary.md and "
                                      "charts) or all"),
    lang: str = typer.Option("zh", "--lang", help="Report language: zh or en"),
    policy: str | None = typer.Option(None, help="Policy preset or file instead of the season's"),
    json_out: bool = typer.Option(False, "--json", help="Print metrics.json instead of tables"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No tables, no progress: only "
                               "errors (on stderr) and the exit code"),
    log: bool = typer.Option(False, "--log", help="Stream the solver's log"),
) -> None:
    """Solve a season and print the summary; write the result folder with --out.

    A progress bar shows the strategy, the level being solved and the time against the limit.

    Examples:
      matcher solve instances/sample --out results/sample --report all
      matcher solve seasons/city-1 --time-limit 120 --out results/city-1 --report xlsx --lang en
      matcher solve instances/sample --json --quiet > metrics.json
    """
    from matcher.progress import solving
    from matcher.results import write_result
    from solvers.registry import strategies

    if strategy not in strategies():
        err_console.print(f"unknown strategy {strategy!r}; known: {', '.join(strategies())}",
                          style="red")
        raise typer.Exit(2)
    _check_report_options(report, lang)
    if report is not None and out is None:
        err_console.print("--report writes into the result folder: give --out DIR too",
                          style="red")
        raise typer.Exit(2)
    try:
        with solving(strategy, time_limit, show=not (quiet or json_out)) as on_log:
            started = time.perf_counter()
            loaded = _season_under(season, policy)
            left = max(0.05, time_limit - (time.perf_counter() - started))  # loading counts too
            alloc = _run_solve(loaded, strategy, left, seed, on_log, log)
            alloc.metrics["season"] = str(season.resolve())  # explain/report find it here
    except SeasonError as exc:
        _print_issues(exc.issues)
        err_console.print(f"{len(exc.errors)} error(s): the season is invalid; nothing solved",
                          style="bold red")
        raise typer.Exit(EXIT_INVALID) from None
    written: list[Path] = []
    if out is not None:
        write_result(alloc, out)
        if report is not None:
            from matcher.report_data import from_allocation

            written = _write_report(from_allocation(alloc, loaded), out, report, lang)
    if json_out:
        sys.stdout.write(json.dumps(alloc.metrics, ensure_ascii=False, indent=2) + "\n")
    elif not quiet:
        print_summary(alloc, out)
        for path in written:
            console.print(f"report: {path}", markup=False)
    if not alloc.audit.ok:
        _print_issues([])
        for v in alloc.audit.violations[:20]:
            err_console.print(f"audit: {v}", style="bold red")
        raise typer.Exit(EXIT_AUDIT)


def _season_under(season: Path, policy: str | None):
    """The season folder loaded under its own policy or `policy`; SeasonError lists issues."""
    from matcher.policy import load_policy
    from matcher.season import load_season

    pol = None
    if policy is not None:
        pol, issues = load_policy(policy, Path("."))
        if pol is None:
            raise SeasonError(issues)
    return load_season(season, pol)


def _run_solve(season, strategy: str, time_limit: float, seed: int, on_progress, log: bool):
    """Solve, feeding the solver's log lines to the progress display and, with --log, stderr."""
    from matcher.api import solve as run

    def on_log(line: str) -> None:
        if on_progress is not None:
            on_progress(line)
        if log:
            err_console.print(line, markup=False)

    wants_log = log or on_progress is not None
    return run(season, strategy=strategy, time_limit=time_limit, seed=seed,
               log=on_log if wants_log else None)


def _check_report_options(fmt: str | None, lang: str) -> None:
    """Exit 2 on a report format or language the reports do not know."""
    from matcher.labels import LANGS
    from matcher.report import FORMATS

    if fmt is not None and fmt not in FORMATS:
        err_console.print(f"unknown report format {fmt!r}; known: {', '.join(FORMATS)}",
                          style="red")
        raise typer.Exit(2)
    if lang not in LANGS:
        err_console.print(f"unknown language {lang!r}; known: {', '.join(LANGS)}", style="red")
        raise typer.Exit(2)


def _write_report(data, folder: Path, fmt: str, lang: str) -> list[Path]:
    """Write the report files, or exit 1 saying why (each file is whole or absent)."""
    from matcher.report import write_reports

    try:
        return write_reports(data, folder, fmt, lang)
    except OSError as exc:
        err_console.print(f"cannot write the report into {folder}: {exc}", style="red",
                          markup=False)
        raise typer.Exit(EXIT_INVALID) from None


@app.command()
def report(
    result: Path = typer.Argument(..., help="Result folder (from matcher solve --out)"),
    season: Path | None = typer.Option(None, "--season", help="Season folder the result was "
                                       "solved on (needed unless metrics.json names it)"),
    policy: str | None = typer.Option(None, help="Policy the result was solved under, when not "
                                      "the season's"),
    fmt: str = typer.Option("all", "--format", help="xlsx (report.xlsx), html (summary.html, "
                            "summary.md and charts) or all"),
    lang: str = typer.Option("zh", "--lang", help="zh or en"),
    json_out: bool = typer.Option(False, "--json", help="Print the files written as JSON"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors"),
) -> None:
    """(Re)build the report of a result folder from its files, without solving again.

    Names of students, schools, enterprises, parks and funds come from the season;
    the independent audit checks the result against it first.

    Examples:
      matcher report results/sample --season instances/sample
      matcher report results/sample --season instances/sample --format xlsx --lang en
    """
    from matcher.report_data import ResultError, from_result, read_result

    _check_report_options(fmt, lang)
    if season is None:
        try:
            named = read_result(result)[3].get("season")
        except ResultError as exc:
            err_console.print(str(exc), style="red", markup=False)
            raise typer.Exit(EXIT_INVALID) from None
        if not named:
            err_console.print(f"{result} does not say which season it was solved on: give "
                              "--season", style="red")
            raise typer.Exit(2)
        season = Path(named) if Path(named).is_absolute() else result / named
    try:
        loaded = _season_under(season, policy)
    except SeasonError as exc:
        _print_issues(exc.issues)
        err_console.print(f"{len(exc.errors)} error(s): the season is invalid", style="bold red")
        raise typer.Exit(EXIT_INVALID) from None
    try:
        data = from_result(result, loaded)
    except ResultError as exc:
        err_console.print(str(exc), style="red", markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    written = _write_report(data, result, fmt, lang)
    if json_out:
        sys.stdout.write(json.dumps({"files": [str(p) for p in written]}, ensure_ascii=False)
                         + "\n")
    elif not quiet:
        for path in written:
            console.print(f"wrote {path}", markup=False)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def print_summary(alloc, out: Path | None = None) -> None:
    """The summary a coordinator reads first: placed, local, spend per fund, status and gap."""
    m = alloc.metrics
    n = m["students"]
    t = Table(title=f"Allocation ({m['strategy']}, {m['status']})", show_header=False)
    t.add_column("metric")
    t.add_column("value", justify="right")
    pct = (lambda k: f"{m[k]} / {n} ({100 * m[k] / n:.1f} %)") if n else (lambda k: str(m[k]))
    t.add_row("placed 已安置", pct("placed"))
    t.add_row("local 本地", pct("local"))
    t.add_row("in park 园区内", pct("in_park"))
    t.add_row("poor placed 建档立卡", str(m["poor_placed"]))
    t.add_row("spend 补贴总额 (yuan)", f"{m['spend']:,}")
    gap = "no bound (a mechanism)" if m["gap"] is None else f"gap {100 * m['gap']:.3f} %"
    t.add_row("status", f"{m['status']}, {gap}, "
                        f"{m['levels_proven']}/{len(m['objective'])} levels proven")
    t.add_row("runtime", f"{m['runtime_s']:.2f} s")
    t.add_row("audit", "passed" if m["audit_ok"] else "FAILED")
    console.print(t)
    f = Table(title="Spend per fund 各资金支出")
    f.add_column("fund")
    f.add_column("spend", justify="right")
    f.add_column("budget", justify="right")
    f.add_column("use", justify="right")
    for fund, spend in m["spend_by_fund"].items():
        budget = m["budget_by_fund"].get(fund)
        use = f"{100 * spend / budget:.1f} %" if budget else "-"
        f.add_row(fund, f"{spend:,}", "no budget" if budget is None else f"{budget:,}", use)
    console.print(f)
    o = Table(title="Objective by level 各目标层")
    o.add_column("level")
    o.add_column("value", justify="right")
    for term, val in m["objective"].items():
        o.add_row(term, f"{val:,}" if isinstance(val, (int, float)) else str(val))
    console.print(o)
    if out is not None:
        console.print(f"result written to {out}/")


@app.command()
def compare(
    season: Path = typer.Argument(..., help="Season folder"),
    strategies: str = typer.Option("cpsat,da-student,da-enterprise,boston,serial-dictatorship,"
                                   "greedy", help="Comma-separated strategy names"),
    time_limit: float = typer.Option(60.0, "--time-limit", help="Seconds per strategy"),
    seed: int = typer.Option(0, help="Seed (tie-breaking, solver)"),
    out: Path | None = typer.Option(None, "--out", help="CSV to write (default: "
                                    "results/compare-<season>.csv)"),
) -> None:
    """Solve one season with several strategies and print one table of metrics (saved as CSV).

    Examples:
      matcher compare instances/sample --strategies cpsat,da-student,greedy
      matcher compare seasons/city-1 --time-limit 120 --out results/compare-city-1.csv
    """
    from matcher.compare import compare as run_compare
    from matcher.season import load_season
    from solvers.registry import strategies as known

    names = [s.strip() for s in strategies.split(",") if s.strip()]
    unknown = [s for s in names if s not in known()]
    if unknown or not names:
        err_console.print(f"unknown strategy {', '.join(unknown) or '(none given)'}; known: "
                          f"{', '.join(known())}", style="red")
        raise typer.Exit(2)
    try:
        loaded = load_season(season)
    except SeasonError as exc:
        _print_issues(exc.issues)
        raise typer.Exit(EXIT_INVALID) from None
    with console.status("comparing") as status:
        table = run_compare(loaded, names, time_limit, seed,
                            progress=lambda n: status.update(f"solving with {n}"))
    out = out or Path("results") / f"compare-{season.name}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(out)
    t = Table(title=f"Strategies on {loaded.name}")  # one column per strategy: fits a terminal
    t.add_column("metric")
    for name in table["strategy"]:
        t.add_column(name, justify="right")
    for col in table.columns.drop("strategy"):
        t.add_row(col, *["-" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                         for v in table[col]])
    console.print(t)
    console.print(f"saved {out}")
    if not table["audit_ok"].all():
        raise typer.Exit(EXIT_AUDIT)


def _load_for(season: Path, policy: str | None):
    """A season folder, under another policy when given; exit 1 printing every issue."""
    try:
        return _season_under(season, policy)
    except SeasonError as exc:
        _print_issues(exc.issues)
        err_console.print(f"{len(exc.errors)} error(s): the season is invalid", style="bold red")
        raise typer.Exit(EXIT_INVALID) from None


def _read_result(result: Path):
    """A result folder, or exit 1 with the file, row and column at fault."""
    from matcher.resolve import ResultError, read_result

    try:
        return read_result(result)
    except ResultError as exc:
        err_console.print(str(exc), style="red", markup=False)
        raise typer.Exit(EXIT_INVALID) from None


@app.command()
def explain(
    result: Path = typer.Argument(..., help="Result folder (from matcher solve --out)"),
    student: str = typer.Option(..., "--student", help="Student id"),
    season: Path | None = typer.Option(None, "--season", help="Season folder the result was "
                                       "solved on (needed unless the result names it)"),
    policy: str | None = typer.Option(None, help="Policy the result was solved under, when not "
                                      "the season's"),
    lang: str = typer.Option("zh", "--lang", help="zh or en"),
    json_out: bool = typer.Option(False, "--json", help="Print the explanation as JSON"),
    verify: int = typer.Option(3, "--verify", help="Candidate changes to verify by re-solving"),
    time_limit: float = typer.Option(10.0, "--time-limit", help="Seconds per verifying solve"),
    strategy: str | None = typer.Option(None, help="Strategy that verifies (default: the "
                                        "result's)"),
) -> None:
    """Why a student got this placement, or none, and the smallest change that would place them.

    Example: matcher explain results/sample --season instances/sample --student S00001
    """
    from matcher.explain import ExplainError, render
    from matcher.explain import explain as run
    from matcher.resolve import ResultError
    from solvers.registry import strategies

    if lang not in ("zh", "en"):
        err_console.print(f"unknown language {lang!r}; known: zh, en", style="red")
        raise typer.Exit(2)
    if strategy is not None and strategy not in strategies():
        err_console.print(f"unknown strategy {strategy!r}; known: {', '.join(strategies())}",
                          style="red")
        raise typer.Exit(2)
    res = _read_result(result)
    season = season or res.season_path()
    if season is None:
        err_console.print(f"{result} does not say which season it was solved on: give --season",
                          style="red")
        raise typer.Exit(2)
    loaded = _load_for(season, policy)
    try:
        with console.status("explaining (verifying changes by re-solving)", spinner="dots") \
                if not json_out else _null():
            expl = run(res, loaded, student, strategy=strategy, verify=verify,
                       time_limit=time_limit)
    except (ExplainError, ResultError) as exc:
        err_console.print(str(exc), style="red", markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    if json_out:
        sys.stdout.write(json.dumps(expl, ensure_ascii=False, indent=2) + "\n")
    else:
        render(expl, console, lang)
    verified = [c["verified"] for c in expl["candidates"] if c["verified"] is not None]
    if any(not v["audit_ok"] for v in verified):
        raise typer.Exit(EXIT_AUDIT)


@app.command()
def resolve(
    result: Path = typer.Argument(..., help="The earlier result folder"),
    season: Path = typer.Option(..., "--season", help="The changed season folder"),
    out: Path = typer.Option(..., "--out", help="New result folder (with changes.csv)"),
    strategy: str = typer.Option("cpsat", help="cpsat, mip, flow or greedy (they optimise levels)"),
    time_limit: float = typer.Option(60.0, "--time-limit", help="Seconds for the whole solve"),
    seed: int = typer.Option(0, help="Solver seed"),
    changes_first: bool = typer.Option(False, "--changes-first", help="Minimise changes before "
                                       "every policy level, not right after them"),
    policy: str | None = typer.Option(None, help="Policy preset or file instead of the season's"),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
) -> None:
    """Re-solve a changed season keeping the earlier result's placements where it can.

    A placement moves only if that buys a better objective level (or never, with
    --changes-first); the difference is printed and saved as changes.csv.
    Example: matcher resolve results/sample --season seasons/changed --out results/changed
    """
    from matcher.resolve import CHANGE_KINDS, LEVEL_STRATEGIES, write_resolved
    from matcher.resolve import resolve as run
    from solvers.registry import strategies

    usable = [s for s in LEVEL_STRATEGIES if s in strategies()]
    if strategy not in usable:
        err_console.print(f"resolve needs a strategy that optimises the objective levels: "
                          f"{', '.join(usable)} (not {strategy!r})", style="red")
        raise typer.Exit(2)
    res = _read_result(result)
    loaded = _load_for(season, policy)
    with console.status(f"re-solving {season} with {strategy}", spinner="dots") \
            if not json_out else _null():
        done = run(res, loaded, strategy=strategy, time_limit=time_limit, seed=seed,
                   changes_first=changes_first)
    write_resolved(done, out)
    s = done.summary
    if json_out:
        sys.stdout.write(json.dumps(s, ensure_ascii=False, indent=2) + "\n")
    else:
        print_summary(done.allocation, out)
        t = Table(title="Changes 变动")
        t.add_column("change")
        t.add_column("students", justify="right")
        for kind in CHANGE_KINDS:
            t.add_row(kind, str(s["counts"][kind]))
        console.print(t)
        console.print(f"{s['changes']} moved or dropped, minimised "
                      + ("before the policy's levels (--changes-first)" if s["mode"] ==
                         "changes-first" else "right after the policy's levels"), markup=False)
        lv = Table(title="Objective before → after 目标层变化")
        lv.add_column("level")
        lv.add_column("before", justify="right")
        lv.add_column("after", justify="right")
        before, after = s["objective_before"], s["objective_after"]
        for term in dict.fromkeys([*after, *before]):
            lv.add_row(term, str(before.get(term, "-")), str(after.get(term, "-")))
        console.print(lv)
        console.print(f"changes written to {out / 'changes.csv'}")
    if not done.allocation.audit.ok:
        for v in done.allocation.audit.violations[:20]:
            err_console.print(f"audit: {v}", style="bold red")
        raise typer.Exit(EXIT_AUDIT)


@app.command()
def policies() -> None:
    """List the bundled policy presets.

    Example: matcher policies (then: matcher solve SEASON --policy linfen-2018)
    """
    from matcher.policy import load_policy, preset_names

    for name in preset_names():
        pol, _ = load_policy(name)
        if pol is not None:
            console.print(f"{name:16} {pol.source}  levels: {', '.join(pol.levels)}  "
                          f"rules: {len(pol.subsidies)}", markup=False, soft_wrap=True)


@app.command("strategies")
def list_strategies() -> None:
    """List the registered strategies.

    Example: matcher strategies (then: matcher solve SEASON --strategy da-student)
    """
    from solvers.registry import strategies

    for name in strategies():
        console.print(name)


@app.command()
def schema(
    name: str = typer.Argument("solve-request",
                               help="season, policy, solve-request or solve-response"),
    write: Path | None = typer.Option(None, "--write", help="Write every schema into FOLDER"),
) -> None:
    """Print the JSON Schema of a portal payload, or write them all (as in schemas/).

    Examples: matcher schema solve-request; matcher schema --write schemas
    """
    from matcher.models import schema_documents, schema_text, write_schemas

    if write is not None:
        for path in write_schemas(write):
            console.print(f"wrote {path}")
        return
    docs = schema_documents()
    if name not in docs:
        err_console.print(f"unknown schema {name!r}; known: {', '.join(docs)}", style="red")
        raise typer.Exit(2)
    sys.stdout.write(schema_text(docs[name]))


@app.command()
def sweep(
    grid: Path | None = typer.Option(None, "--grid", help="TOML grid file (keys seasons, "
                                     "policies, budgets, strategies, seeds, time_limit); the "
                                     "options below replace its keys"),
    seasons: str | None = typer.Option(None, help="Comma-separated season folders or generator "
                                       "specs SCALE[-STUDENTS]-seedN[@POLICY] (city-1500-seed1)"),
    policies: str | None = typer.Option(None, help="Comma-separated presets or policy files; "
                                        "'season' is each season's own [default: season]"),
    budgets: str | None = typer.Option(None, help="Comma-separated budget factors: 0.5 (every "
                                       "fund), 'city_county=0.5;employment=2', inf (no budget) "
                                       "[default: 1]"),
    strategies: str | None = typer.Option(None, help="Comma-separated strategies "
                                          "[default: cpsat]"),
    seeds: str | None = typer.Option(None, help="Comma-separated seeds [default: 0]"),
    time_limit: float | None = typer.Option(None, "--time-limit",
                                            help="Seconds per task [default: 60]"),
    workers: int | None = typer.Option(None, "--workers", min=1,
                                       help="Local processes [default: one per CPU]"),
    ray: str | None = typer.Option(None, "--ray", help="Run on Ray instead: a cluster address "
                                   "(auto, HOST:PORT, ray://HOST:PORT) or 'local'"),
    out: Path = typer.Option(Path("results/sweep.parquet"), "--out",
                             help="Parquet table to write; the same rows go to a CSV beside it"),
) -> None:
    """Solve a grid of seasons × policies × budgets × strategies × seeds in parallel: one row
    of metrics per task in one Parquet table (and a CSV beside it).

    A task that fails becomes a row with its error and the sweep goes on; then the exit code is
    4 (the table is still written). Exit 3 when the audit rejected any result.

    Examples:
      matcher sweep --seasons city-1000-seed1,city-1000-seed2 --strategies cpsat,da-student
          --budgets 0.5,1,2 --time-limit 20 --out results/budgets.parquet
      matcher sweep --grid study.toml --workers 8
      matcher sweep --grid study.toml --ray ray://head:10001
    """
    import tempfile

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from matcher.sweep import Grid, GridError, SweepError, run_sweep, split_list

    given = {"seasons": split_list(seasons), "policies": split_list(policies),
             "budgets": split_list(budgets), "strategies": split_list(strategies),
             "seeds": split_list(seeds), "time_limit": time_limit}
    try:
        the_grid = Grid.from_toml(grid, **given) if grid is not None else Grid.build(**given)
    except GridError as exc:
        for problem in exc.problems:
            err_console.print(problem, style="red", markup=False, highlight=False)
        raise typer.Exit(exc.exit_code) from None
    if out.suffix != ".parquet":
        out = out.with_name(out.name + ".parquet")
    try:  # find out now, not after hours of solving, that the table cannot be written
        out.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out.parent).close()
    except OSError as exc:
        err_console.print(f"cannot write {out}: {exc.strerror or exc}", style="red")
        raise typer.Exit(EXIT_INVALID) from None
    n = len(the_grid.tasks())
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        job = bar.add_task(f"sweep: {n} task(s)", total=n)
        try:
            table = run_sweep(the_grid, out, workers=workers, ray=ray,
                              progress=lambda done, total, row: bar.update(job, completed=done))
        except SweepError as exc:
            err_console.print(str(exc), style="red", markup=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print(f"interrupted: the tasks finished so far are in {out}",
                              style="red")
            raise typer.Exit(130) from None
    _print_sweep(table)
    console.print(f"saved {len(table)} row(s) to {out} and {out.with_suffix('.csv')}")
    failed = table[table["status"] == "error"]
    for _, row in failed.head(10).iterrows():
        err_console.print(f"task {row['task']} ({row['season']}, {row['policy']}, "
                          f"{row['budget']}, {row['strategy']}, seed {row['seed']}): "
                          f"{row['error']}", style="red", markup=False, highlight=False)
    if table["audit_ok"].eq(False).any():
        err_console.print("the audit rejected a result: see audit_ok", style="bold red")
        raise typer.Exit(EXIT_AUDIT)
    if len(failed):
        err_console.print(f"{len(failed)} of {len(table)} task(s) failed: see the error column",
                          style="bold red")
        raise typer.Exit(4)


def _print_sweep(table) -> None:
    """One line per strategy: tasks, failures and mean metrics over the grid."""
    t = Table(title="Sweep by strategy (means over the tasks that did not fail)")
    for col in ("strategy", "tasks", "status", "placed", "local", "spend", "gap", "runtime_s"):
        t.add_column(col, justify="left" if col in ("strategy", "status") else "right")
    for name, rows in table.groupby("strategy", sort=False):
        ok = rows[rows["status"] != "error"]

        def mean(col: str, rows=ok) -> str:
            vals = rows[col].dropna()
            return "-" if vals.empty else f"{float(vals.mean()):,.4g}"

        counts = rows["status"].value_counts()
        t.add_row(str(name), str(len(rows)), ", ".join(f"{n} {s}" for s, n in counts.items()),
                  mean("placed"), mean("local"), mean("spend"), mean("gap"),
                  mean("runtime_s"))
    console.print(t)


if __name__ == "__main__":
    app()
