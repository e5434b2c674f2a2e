"""matcher.sweep and `matcher sweep`: the grid as given, one row per task read back from Parquet,
rows equal to a direct solve, failures recorded as rows, the same rows on every run and on Ray."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import matcher
from matcher.cli import app
from matcher.generate import generate, write_season
from matcher.season import load_season
from matcher.sweep import (
    TIMING_COLUMNS,
    UNPLACED_CODES,
    Budget,
    Grid,
    GridError,
    PolicySpec,
    SeasonSpec,
    Task,
    _run_local,
    run_sweep,
    run_task,
    to_frame,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "instances" / "sample"
MECHANISMS = ["da-student", "greedy"]
runner = CliRunner()


def tiny_grid(**kw: object) -> Grid:
    """2 seasons × 2 policies × 2 strategies on generated seasons of 60 students."""
    args = {"seasons": ["city-60-seed1", "city-60-seed2@none"], "policies": ["season", "none"],
            "strategies": MECHANISMS, "time_limit": 5}
    return Grid.build(**{**args, **kw})


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=TIMING_COLUMNS).reset_index(drop=True)


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    out = tmp_path_factory.mktemp("sweep") / "grid.parquet"
    table = run_sweep(tiny_grid(), out, workers=2)
    return table, out


# ---------------------------------------------------------------------------------------------
# the grid


def test_budget_forms() -> None:
    assert Budget.from_value(0.5).every == 0.5
    b = Budget.from_value("0.5;city_county=2")
    assert (b.every, b.by_fund) == (0.5, (("city_county", 2.0),))
    assert Budget.from_value({"employment": "inf"}).by_fund == (("employment", float("inf")),)
    assert b.factors(["city_county", "employment"], []) == {"city_county": 2.0,
                                                            "employment": 0.5}
    with pytest.raises(ValueError, match=r"neither funds\.csv nor the policy"):
        Budget.from_value("typo=2").factors(["city_county"], ["employment"])
    # a fund the policy pays from but the season has no row for: nothing to scale, no error
    assert Budget.from_value("skills=2").factors(["city_county"], ["skills"]) == {
        "city_county": 1.0}
    for bad in ("x", "-1", "a=1;a=2", "=2", "nan"):
        with pytest.raises(GridError):
            Budget.from_value(bad)


def test_season_specs(tmp_path: Path) -> None:
    spec = SeasonSpec.parse("city-1500-seed3@hunan-2018")
    assert (spec.scale, spec.students, spec.seed, spec.policy) == ("city", 1500, 3, "hunan-2018")
    assert SeasonSpec.parse("sample-seed2").policy == "chenzhou-2018"
    assert SeasonSpec.parse("sample", base=SAMPLE.parent).path == str(SAMPLE)
    table = SeasonSpec.from_value({"scale": "city", "students": 80, "seed": 2})
    assert table.label == "city-80-seed2"
    for bad in ("nowhere", "galaxy-10-seed1", "city-0-seed1", "city-10-seed1@nowhere-2018"):
        with pytest.raises(GridError):
            SeasonSpec.parse(bad, base=tmp_path)


def test_grid_reports_every_problem_at_once() -> None:
    with pytest.raises(GridError) as err:
        Grid.build(seasons=["nowhere"], policies=["no-such-preset"], budgets=["x"],
                   strategies=["cpsat", "nope"], seeds=["-1"], time_limit=0)
    text = str(err.value)
    for needle in ("nowhere", "no-such-preset", "'x'", "nope", "-1", "time_limit"):
        assert needle in text
    assert err.value.exit_code == 2
    with pytest.raises(GridError, match="given twice"):
        Grid.build(seasons=["city-60-seed1", "city-60-seed1"])


def test_policy_overrides_and_toml(tmp_path: Path) -> None:
    spec = PolicySpec.from_value({"policy": "chenzhou-2018",
                                  "constraints": {"stability": "student-stable"}})
    assert spec.label == "chenzhou-2018+stability=student-stable"
    assert spec.policy.stability == "student-stable" and spec.policy.enterprise_cap is not None
    with pytest.raises(GridError):  # a typo must never switch a rule off in silence
        PolicySpec.from_value({"policy": "chenzhou-2018", "constraints": {"stabilty": "none"}})
    (tmp_path / "seasons").mkdir()
    write_season(generate("city", 1, students=60), tmp_path / "seasons" / "a")
    (tmp_path / "study.toml").write_text(
        'seasons = ["seasons/a", {scale = "city", students = 60, seed = 2}]\n'
        'strategies = ["greedy"]\nbudgets = [1, "0.5", {city_county = 2}]\n'
        '[[policies]]\npolicy = "none"\nlabel = "baseline"\n', encoding="utf-8")
    grid = Grid.from_toml(tmp_path / "study.toml", seeds=["0", "1"])
    assert [s.label for s in grid.seasons] == ["seasons/a", "city-60-seed2"]
    assert [p.label for p in grid.policies] == ["baseline"]
    assert [b.label for b in grid.budgets] == ["1", "0.5", "city_county=2"]
    assert len(grid.tasks()) == 2 * 1 * 3 * 1 * 2
    (tmp_path / "bad.toml").write_text('seasons = "x"\nworkers = 3\n', encoding="utf-8")
    with pytest.raises(GridError, match="workers"):
        Grid.from_toml(tmp_path / "bad.toml")


def test_with_budgets_scales_and_lifts() -> None:
    season = load_season(SAMPLE)
    half = season.with_budgets(0.5)
    assert list(half.funds["budget"]) == [b / 2 for b in season.funds["budget"]]
    lifted = season.with_budgets({"employment": float("inf")})
    assert "employment" not in set(lifted.funds["fund_id"])
    alloc = matcher.solve(lifted, strategy="greedy")
    assert alloc.audit.ok
    assert alloc.metrics["spend_by_fund"]["employment"] > season.funds.set_index(
        "fund_id").at["employment", "budget"]  # the lifted fund now pays beyond its old budget


# ---------------------------------------------------------------------------------------------
# running


@pytest.mark.slow  # the module's sweep on two spawned processes: ~10 s on 2 cores
def test_grid_table_read_back(swept: tuple[pd.DataFrame, Path]) -> None:
    _, out = swept
    back = pd.read_parquet(out)
    assert len(back) == 8 and list(back["task"]) == list(range(8))
    assert pd.read_csv(out.with_suffix(".csv"))["placed"].tolist() == back["placed"].tolist()
    assert back["audit_ok"].all() and back["error"].isna().all()
    assert set(back["status"]) == {"feasible"}
    assert set(back["strategy"]) == set(MECHANISMS)
    assert set(back["policy"]) == {"season", "none"}
    assert (back["placed"] <= back["students"]).all()
    assert (back["placed"] + back["unplaced"] == back["students"]).all()
    chenzhou = back[(back["season"] == "city-60-seed1") & (back["policy"] == "season")]
    assert (chenzhou["spend_city_county"] <= chenzhou["budget_city_county"]).all()
    assert (back[back["policy"] == "none"]["spend"] == 0).all()  # no subsidies without a policy
    for col in ("unplaced_capacity", "unplaced_budget", "mean_rank", "objective", "host"):
        assert col in back.columns
    reasons = {c for c in back.columns if c.startswith("unplaced_")}
    assert reasons == {f"unplaced_{code}" for code in UNPLACED_CODES}
    assert pd.api.types.is_integer_dtype(back["placed"])


@pytest.mark.slow
def test_row_equals_a_direct_solve(swept: tuple[pd.DataFrame, Path], tmp_path: Path) -> None:
    table, _ = swept
    folder = write_season(generate("city", 2, students=60, policy="none"), tmp_path / "s")
    alloc = matcher.solve(folder, policy="none", strategy="greedy", time_limit=5)
    assert alloc.audit.ok
    row = table[(table["season"] == "city-60-seed2@none") & (table["policy"] == "none")
                & (table["strategy"] == "greedy")].iloc[0]
    m = alloc.metrics
    for key in ("placed", "local", "in_park", "poor_placed", "blocking_pairs"):
        assert row[key] == m[key], key
    assert json.loads(row["objective"]) == m["objective"]


@pytest.mark.slow
def test_mechanism_rows_are_the_same_on_every_run(swept: tuple[pd.DataFrame, Path]) -> None:
    table, _ = swept
    again = run_sweep(tiny_grid(), workers=1)  # in this process, in grid order
    pd.testing.assert_frame_equal(comparable(table), comparable(again))


def test_failed_task_is_a_row(tmp_path: Path) -> None:
    broken = write_season(generate("city", 1, students=60), tmp_path / "broken")
    students = (broken / "students.csv").read_text(encoding="utf-8").splitlines()
    students[1] = students[1].replace(",false,", ",perhaps,", 1)
    (broken / "students.csv").write_text("\n".join(students) + "\n", encoding="utf-8")
    grid = Grid.build(seasons=[str(broken), "city-60-seed1"], budgets=["1", "city_county=2",
                                                                        "typo=2"],
                      strategies=["greedy"])
    table = run_sweep(grid, tmp_path / "out.parquet", workers=1)
    assert len(table) == 6
    bad_season = table[table["season"] == str(broken)]
    assert (bad_season["status"] == "error").all()
    assert bad_season["error"].str.contains("students.csv, row 2").all()
    typo = table[(table["season"] == "city-60-seed1") & (table["budget"] == "typo=2")]
    assert typo["error"].str.startswith("budget 'typo=2' names fund(s) typo").all()
    good = table[(table["season"] == "city-60-seed1") & (table["budget"] != "typo=2")]
    assert (good["status"] == "feasible").all() and good["audit_ok"].all()
    doubled = good.set_index("budget")["budget_city_county"]
    assert doubled["city_county=2"] == 2 * doubled["1"]
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == 6


def test_exact_rows_carry_gap_and_levels() -> None:
    grid = Grid.build(seasons=["city-60-seed2@none"], policies=[
        "none", {"policy": "none", "label": "stable",
                 "constraints": {"stability": "student-stable"}}],
        strategies=["cpsat"], time_limit=20)
    table = run_sweep(grid, workers=1)
    assert table["audit_ok"].all()
    free, stable = table.iloc[0], table.iloc[1]
    assert free["status"] == "optimal" and free["gap"] == 0
    assert free["levels_proven"] == free["levels"] == len(json.loads(free["objective"])) == 3
    assert stable["status"] == "optimal" and stable["blocking_pairs"] == 0
    assert stable["placed"] <= free["placed"]  # stability is a restriction


def test_interrupted_sweep_keeps_what_it_finished(tmp_path: Path) -> None:
    def stop(done: int, total: int, row: dict) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(tiny_grid(), tmp_path / "part.parquet", workers=1, progress=stop)
    assert len(pd.read_parquet(tmp_path / "part.parquet")) == 2


def crash_on_task_one(task: Task) -> dict:
    """A task function whose process dies on task 1 (a segfault or the OOM killer alike)."""
    if task.index == 1:
        os._exit(9)
    return run_task(task)


@pytest.mark.slow  # spawns a pool, then one process per task the crash took down
def test_a_dead_worker_costs_only_its_own_task() -> None:
    grid = Grid.build(seasons=["city-60-seed1"], strategies=["da-student", "greedy", "boston"])
    rows: list[dict] = []
    _run_local(grid.tasks(), 2, rows.append, fn=crash_on_task_one)
    table = to_frame(rows)
    assert list(table["task"]) == [0, 1, 2]
    assert table.loc[1, "status"] == "error" and "died" in table.loc[1, "error"]
    assert (table.loc[[0, 2], "status"] == "feasible").all()
    assert table.loc[[0, 2], "audit_ok"].all()


@pytest.mark.slow
def test_ray_local_gives_the_same_rows(swept: tuple[pd.DataFrame, Path]) -> None:
    table, _ = swept
    on_ray = run_sweep(tiny_grid(), ray="local", workers=2)
    pd.testing.assert_frame_equal(comparable(table), comparable(on_ray))


# ---------------------------------------------------------------------------------------------
# the command line


def test_cli_sweep(tmp_path: Path) -> None:
    grid = tmp_path / "study.toml"
    grid.write_text('seasons = ["city-60-seed1"]\nstrategies = ["da-student", "greedy"]\n',
                    encoding="utf-8")
    out = tmp_path / "res" / "study"
    result = runner.invoke(app, ["sweep", "--grid", str(grid), "--budgets", "0.5,1",
                                 "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(tmp_path / "res" / "study.parquet")
    assert len(table) == 4 and table["audit_ok"].all()
    assert (tmp_path / "res" / "study.csv").exists()
    assert "da-student" in result.output


def test_cli_sweep_exit_codes(tmp_path: Path) -> None:
    out = tmp_path / "x.parquet"
    usage = runner.invoke(app, ["sweep", "--seasons", "city-60-seed1", "--strategies", "nope",
                                "--out", str(out)])
    assert usage.exit_code == 2 and "nope" in usage.output and not out.exists()
    (tmp_path / "bad.toml").write_text('name = "bad"\n[constraints]\nenterprise_cap = 7\n',
                                       encoding="utf-8")
    invalid = runner.invoke(app, ["sweep", "--seasons", "city-60-seed1", "--policies",
                                  str(tmp_path / "bad.toml"), "--out", str(out)])
    assert invalid.exit_code == 1 and "enterprise_cap" in invalid.output and not out.exists()
    failed = runner.invoke(app, ["sweep", "--seasons", "city-60-seed1", "--strategies", "greedy",
                                 "--budgets", "1,typo=2", "--workers", "1", "--out", str(out)])
    assert failed.exit_code == 4 and "typo" in failed.output
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    unwritable = runner.invoke(app, ["sweep", "--seasons", "city-60-seed1", "--out",
                                     str(tmp_path / "a-file" / "x.parquet")])
    assert unwritable.exit_code == 1 and "cannot write" in unwritable.output
    assert len(pd.read_parquet(out)) == 2  # the table is written, the failure is a row
