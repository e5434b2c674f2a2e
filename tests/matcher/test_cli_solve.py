"""The command line and the result folder as contracts (DESIGN §6, §7)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import matcher
from matcher.cli import app
from matcher.season import load_season

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "instances" / "sample"
runner = CliRunner()

METRICS_KEYS = {"status", "strategy", "seed", "runtime_s", "objective", "bound", "gap", "placed",
                "local", "in_park", "poor_placed", "spend_by_fund", "spend", "blocking_pairs",
                "preference_rank_histogram"}


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("res") / "sample"
    result = runner.invoke(app, ["solve", str(SAMPLE), "--out", str(out), "--report", "xlsx"])
    assert result.exit_code == 0, result.output
    assert "placed" in result.output and "city_county" in result.output
    return out


def test_result_folder_contract(solved: Path) -> None:
    a = pd.read_csv(solved / "assignments.csv", dtype=str, keep_default_na=False)
    assert list(a.columns) == ["student_id", "slot_id", "enterprise_id", "park_id", "kind",
                               "start_period", "duration_months", "local", "in_park", "subsidy"]
    ledger = pd.read_csv(solved / "ledger.csv")
    assert list(ledger.columns) == ["student_id", "slot_id", "rule_id", "clause", "payee",
                                    "fund_id", "amount"]
    unplaced = pd.read_csv(solved / "unplaced.csv")
    assert list(unplaced.columns) == ["student_id", "reason"]
    m = json.loads((solved / "metrics.json").read_text(encoding="utf-8"))
    assert set(m) >= METRICS_KEYS
    assert m["status"] == "optimal" and m["gap"] == 0
    assert list(m["objective"]) == ["placed", "local", "in_park", "preference", "-spend"]
    assert m["placed"] == len(a) and len(a) + len(unplaced) == 300
    assert m["spend"] == ledger["amount"].sum()
    for fund, spent in m["spend_by_fund"].items():
        assert spent <= m["budget_by_fund"][fund]
    # the allocation read back from disk passes the audit, subsidies and ledger included
    season = load_season(SAMPLE)
    typed = pd.read_csv(solved / "assignments.csv")
    assert matcher.audit.audit(season, typed, ledger).ok


def test_report_workbook(solved: Path) -> None:
    wb = load_workbook(solved / "report.xlsx", read_only=True)  # Chinese by default
    assert {"概览", "安置名单", "补贴台账", "未安置", "资金使用"} <= set(wb.sheetnames)
    rows = list(wb["安置名单"].iter_rows(values_only=True))
    assert rows[2][:2] == ("学号", "姓名")  # title, note, then the header row
    assert len(rows) - 3 == len(pd.read_csv(solved / "assignments.csv"))


def test_json_output_and_time_limit(tmp_path: Path) -> None:
    out = tmp_path / "quick"
    result = runner.invoke(app, ["solve", str(SAMPLE), "--json", "--time-limit", "0.2",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    m = json.loads(result.output)
    assert m["status"] in ("optimal", "feasible")
    assert 0 <= m["gap"] <= 1
    if m["status"] == "feasible":
        assert m["levels_proven"] < len(m["objective"])
    assert (out / "assignments.csv").exists() and m["audit_ok"]


def test_generate_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        result = runner.invoke(app, ["generate", "--scale", "sample", "--seed", "3", "--out",
                                     str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name
    assert runner.invoke(app, ["validate", str(tmp_path / "a")]).exit_code == 0
    again = runner.invoke(app, ["generate", "--out", str(tmp_path / "a")])
    assert again.exit_code == 1  # refuses to overwrite a season


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["solve", str(SAMPLE), "--strategy", "nope"]).exit_code == 2
    assert runner.invoke(app, ["solve", str(SAMPLE), "--report", "pdf"]).exit_code == 2
    assert runner.invoke(app, ["generate", "--scale", "galaxy", "--out",
                               str(tmp_path / "g")]).exit_code == 2


def test_library_api_with_another_policy() -> None:
    season = load_season(SAMPLE)
    alloc = matcher.solve(season, policy="sanmenxia-2020", time_limit=60)
    assert alloc.audit.ok
    assert next(iter(alloc.metrics["objective"])) == "park_coverage"
    assert set(alloc.ledger["rule_id"]) <= {"internship-cost", "apprenticeship"}


def test_compare_table(tmp_path: Path) -> None:
    out = tmp_path / "cmp.csv"
    result = runner.invoke(app, ["compare", str(SAMPLE), "--strategies",
                                 "cpsat,da-student,boston,greedy", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out).set_index("strategy")
    assert list(table.index) == ["cpsat", "da-student", "boston", "greedy"]
    assert table["audit_ok"].all()
    # placed is the first level: the exact strategy is never worse than a mechanism
    assert (table.loc["cpsat", "placed"] >= table["placed"]).all()
    assert {"spend_city_county", "blocking_pairs", "mean_rank", "median_rank"} <= set(table)
    assert runner.invoke(app, ["compare", str(SAMPLE), "--strategies", "nope"]).exit_code == 2
