"""matcher.research: frontiers and marginal costs worked by hand, the price of stability on a
solved season, policies side by side, benchmark tables read back, notebook settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matcher.research import (
    find_benchmark_results,
    load_benchmarks,
    marginal_cost,
    notebook_settings,
    pareto_frontier,
    policy_rules,
    price_of_stability,
    rules_that_differ,
    save,
)
from matcher.sweep import Grid, run_sweep

ROOT = Path(__file__).resolve().parents[2]


def test_pareto_frontier_by_hand() -> None:
    t = pd.DataFrame({"spend": [100, 50, 50, 200, 120, 300, 0],
                      "local": [10, 8, 6, 15, 9, 15, 0],
                      "name": list("abcdefg")})
    f = pareto_frontier(t, "spend", "local")
    # c is beaten by b (same spend, fewer local), e by a (more spend, fewer), f by d
    assert list(f["name"]) == ["g", "b", "a", "d"]
    assert pareto_frontier(t.iloc[:0], "spend", "local").empty


def test_marginal_cost_by_hand() -> None:
    f = pd.DataFrame({"spend": [0, 50, 100, 200], "local": [0, 8, 10, 15]})
    m = marginal_cost(f, "spend", "local")
    assert list(m["extra_spend"]) == [50, 50, 100]
    assert list(m["extra_local"]) == [8, 2, 5]
    assert np.allclose(m["spend_per_local"], [6.25, 25.0, 20.0])


def test_price_of_stability_pairs_rows() -> None:
    levels = '{"placed": 0, "local": 0}'
    rows = pd.DataFrame([
        {"season": "s", "budget": "1", "seed": 0, "policy": "free", "placed": 10, "local": 6,
         "status": "optimal", "gap": 0.0, "blocking_pairs": 3, "objective": levels,
         "levels_proven": 2},
        {"season": "s", "budget": "1", "seed": 0, "policy": "stable", "placed": 8, "local": 6,
         "status": "feasible", "gap": 0.1, "blocking_pairs": 0, "objective": levels,
         "levels_proven": 1},
        {"season": "s", "budget": "0.5", "seed": 0, "policy": "free", "placed": 7, "local": 4,
         "status": "optimal", "gap": 0.0, "blocking_pairs": 1, "objective": levels,
         "levels_proven": 2},
        {"season": "s", "budget": "0.5", "seed": 0, "policy": "stable", "placed": 0, "local": 0,
         "status": "infeasible", "gap": None, "blocking_pairs": 9, "objective": "{}",
         "levels_proven": 0},
    ])
    p = price_of_stability(rows, "free", "stable").set_index("budget")
    assert p.at["1", "placed_lost"] == 2 and p.at["1", "local_lost"] == 0
    assert p.at["1", "placed_lost_share"] == pytest.approx(0.2)
    assert p.at["1", "placed_proven"] and not p.at["1", "local_proven"]
    assert pd.isna(p.at["0.5", "placed_lost"]) and not p.at["0.5", "placed_proven"]


def test_price_of_stability_on_a_solved_season() -> None:
    grid = Grid.build(seasons=["city-80-seed3@none"], policies=[
        "none", {"policy": "none", "label": "none-stable",
                 "constraints": {"stability": "student-stable"}}],
        strategies=["cpsat"], time_limit=20)
    table = run_sweep(grid, workers=1)
    assert table["audit_ok"].all()
    p = price_of_stability(table, "none", "none-stable").iloc[0]
    assert p["placed_proven"] and p["local_proven"]
    assert p["placed_lost"] >= 0  # the best stable allocation is one of the allocations
    assert p["blocking_pairs_stable"] == 0


def test_policy_rules_side_by_side() -> None:
    rules = policy_rules(["chenzhou-2018", "hunan-2018", "none"])
    assert list(rules.columns) == ["chenzhou-2018", "hunan-2018", "none"]
    assert rules.at["enterprise_cap", "chenzhou-2018"] == "10%"
    assert rules.at["enterprise_cap", "none"] == "-"
    assert "§21" in rules.at["subsidy order-class", "chenzhou-2018"]
    assert rules.at["subsidy order-class", "none"] == "-"
    differ = rules_that_differ(rules)
    assert "stability" not in differ.index  # every preset here says "none"
    assert "objective" in differ.index
    with pytest.raises(ValueError, match="no-such"):
        policy_rules(["no-such"])


def test_load_benchmarks_falls_back(tmp_path: Path) -> None:
    (tmp_path / "scaling-2026-01-01-x.csv").write_text("", encoding="utf-8")
    (tmp_path / "foundation-2026-01-01-x.csv").write_text(
        "date,machine,case,students,strategy,wall_median,gap,levels_proven\n"
        "2026-01-01,vm,c,1000,cpsat,3.5,0.0,5\n", encoding="utf-8")
    table, kind = load_benchmarks(tmp_path)
    assert kind == "foundation" and table["wall_s"].tolist() == [3.5]
    assert table["peak_rss_mb"].isna().all()
    (tmp_path / "scaling-2026-01-02-x.csv").write_text(
        "date,machine,students,edges,strategy,seed,wall_s,peak_rss_mb\n"
        "2026-01-02,vm,2000,40000,flow,0,1.5,300\n", encoding="utf-8")
    table, kind = load_benchmarks(tmp_path)
    assert kind == "scaling" and table["peak_rss_mb"].tolist() == [300]
    empty, kind = load_benchmarks(tmp_path / "nothing-here")
    assert empty.empty and kind == ""


def test_repository_benchmarks_are_found() -> None:
    folder = find_benchmark_results(ROOT / "notebooks")
    assert folder == ROOT / "benchmarks" / "results"
    table, kind = load_benchmarks(folder)
    assert kind in ("scaling", "foundation") and len(table) > 0
    assert table["students"].gt(0).all()


def test_notebook_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("MATCHER_NOTEBOOK_SCALE", "MATCHER_NOTEBOOK_TIME_LIMIT",
                "MATCHER_NOTEBOOK_WORKERS", "MATCHER_NOTEBOOK_OUT"):
        monkeypatch.delenv(var, raising=False)
    s = notebook_settings(default_time_limit=3)
    assert s.scale == 1 and s.time_limit == 3 and not s.persistent and s.out.is_dir()
    assert s.students(1000) == 1000 and s.students(10) == 50
    monkeypatch.setenv("MATCHER_NOTEBOOK_SCALE", "2.5")
    monkeypatch.setenv("MATCHER_NOTEBOOK_OUT", str(tmp_path / "figs"))
    s = notebook_settings()
    assert s.students(1000) == 2500 and s.persistent and s.out == tmp_path / "figs"
    monkeypatch.setenv("MATCHER_NOTEBOOK_SCALE", "big")
    with pytest.raises(ValueError, match="MATCHER_NOTEBOOK_SCALE"):
        notebook_settings()


def test_save_writes_figure_and_table(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    paths = save("chart", tmp_path, figure=fig, table=pd.DataFrame({"a": [1, 2]}))
    assert [p.name for p in paths] == ["chart.png", "chart.csv"]
    assert (tmp_path / "chart.png").stat().st_size > 0
    assert pd.read_csv(tmp_path / "chart.csv")["a"].tolist() == [1, 2]
