"""The coordinator's path through the command line: the README's walk-through on Chinese-headed
GB18030 exports, `matcher report`, --quiet and --json, exit codes, help texts, progress."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from rich.console import Console
from typer.testing import CliRunner

import matcher.cli
from matcher.cli import app
from matcher.progress import finished_level, solving
from matcher.season import load_season
from tests.builders import forget_season, slot, student, write_season

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "instances" / "sample"
runner = CliRunner()

# What a school's or an enterprise's system exports: Chinese file names and headers (the test's
# own words, not read from matcher.aliases), Chinese slot kinds, 、 between majors.
EXPORT = {
    "schools": ("学校", {"school_id": "学校代码", "name": "学校名称", "county": "县区",
                         "city_area": "是否市城区"}),
    "parks": ("园区", {"park_id": "园区编号", "name": "园区名称", "county": "所在县区",
                       "local": "是否本地", "cluster": "主导产业"}),
    "enterprises": ("企业", {"enterprise_id": "企业编号", "name": "企业名称", "park_id": "所属园区",
                             "local": "本地企业", "staff": "职工人数", "size_class": "企业规模",
                             "certified": "产教融合型企业", "sector": "所属行业"}),
    "students": ("学生", {"student_id": "学号", "name": "姓名", "school_id": "学校",
                          "major": "专业", "poor": "建档立卡", "graduating": "是否毕业生",
                          "score": "成绩", "home_county": "生源地"}),
    "slots": ("岗位", {"slot_id": "岗位编号", "enterprise_id": "企业编号", "kind": "类型",
                       "majors": "需求专业", "capacity": "人数", "durations": "时长（月）",
                       "school_id": "开班学校", "min_size": "最少人数", "post": "岗位",
                       "post_staff": "岗位职工数"}),
    "funds": ("资金", {"fund_id": "资金编号", "name": "资金名称", "budget": "预算（元）"}),
    "preferences": ("志愿", {"student_id": "学号", "slot_id": "岗位编号", "rank": "志愿顺序"}),
}
KIND_WORDS = {"shadow": "跟岗实习", "post": "顶岗实习", "order": "订单班", "apprentice": "学徒",
              "employment": "就业"}


def export_folder(folder: Path) -> Path:
    """The bundled sample as a coordinator receives it: GB18030 CSV files in Chinese."""
    folder.mkdir(parents=True)
    shutil.copy(SAMPLE / "season.toml", folder)
    for table, (file, headers) in EXPORT.items():
        df = pd.read_csv(SAMPLE / f"{table}.csv", dtype=str, keep_default_na=False)
        if table == "slots":
            df["kind"] = df["kind"].map(KIND_WORDS)
            df["majors"] = df["majors"].str.replace(";", "、")
        df = df.rename(columns=headers)
        df.insert(0, "序号", range(1, len(df) + 1))
        df["备注"] = ""
        df.to_csv(folder / f"{file}.csv", index=False, encoding="gb18030")
    return folder


@pytest.fixture(scope="module")
def walked(tmp_path_factory) -> tuple[Path, Path]:
    """The README's steps: validate, then solve with --report all."""
    exports = export_folder(tmp_path_factory.mktemp("coordinator") / "exports")
    assert "学号".encode("gb18030") in (exports / "学生.csv").read_bytes()
    checked = runner.invoke(app, ["validate", str(exports)])
    assert checked.exit_code == 0, checked.output
    assert "season is valid (0 warning(s))" in checked.output
    out = exports.parent / "results"
    solved = runner.invoke(app, ["solve", str(exports), "--out", str(out), "--report", "all",
                                 "--time-limit", "60"])
    assert solved.exit_code == 0, solved.output
    return exports, out


@pytest.mark.slow  # shares the walk-through's solve and report (~10 s)
def test_exports_read_exactly_like_the_sample(walked) -> None:
    exports, _ = walked
    a, b = load_season(SAMPLE), load_season(exports)
    for table in EXPORT:
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_like=True,
                                      obj=table)


@pytest.mark.slow  # shares the walk-through's solve and report (~10 s)
def test_walkthrough_writes_the_result_and_both_reports(walked) -> None:
    _, out = walked
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert m["audit_ok"] and m["status"] == "optimal"
    names = {p.name for p in out.iterdir()}
    assert {"assignments.csv", "ledger.csv", "unplaced.csv", "metrics.json", "report.xlsx",
            "summary.html", "summary.md", "summary-parks.png"} <= names
    wb = load_workbook(out / "report.xlsx", read_only=True)
    assert wb.sheetnames[:4] == ["概览", "安置名单", "补贴台账", "未安置"]
    rows = list(wb["安置名单"].iter_rows(min_row=4, values_only=True))
    assert len(rows) == m["placed"] == len(pd.read_csv(out / "assignments.csv"))
    assert "各园区安置人数" in (out / "summary.html").read_text(encoding="utf-8")


@pytest.mark.slow  # shares the walk-through's solve and report (~10 s)
def test_report_rebuilds_without_solving(walked) -> None:
    exports, out = walked
    before = (out / "assignments.csv").read_bytes()
    done = runner.invoke(app, ["report", str(out), "--season", str(exports), "--format", "xlsx",
                               "--lang", "en", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"files": [str(out / "report.xlsx")]}
    wb = load_workbook(out / "report.xlsx", read_only=True)
    assert wb.sheetnames[:3] == ["Summary", "Assignments", "Subsidy ledger"]
    assert (out / "assignments.csv").read_bytes() == before
    quiet = runner.invoke(app, ["report", str(out), "--season", str(exports), "--format", "html",
                                "--quiet"])
    assert quiet.exit_code == 0 and quiet.stdout == ""


@pytest.mark.slow  # shares the walk-through's solve and report (~10 s)
def test_report_refuses_what_does_not_fit(walked, tmp_path: Path) -> None:
    exports, out = walked
    empty = tmp_path / "empty"
    empty.mkdir()
    r = runner.invoke(app, ["report", str(empty), "--season", str(exports)])
    assert r.exit_code == 1 and "assignments.csv is missing" in r.stderr
    other = write_season(tmp_path / "other", students=[student("S1")], slots=[slot("T1")])
    r = runner.invoke(app, ["report", str(out), "--season", str(other)])
    assert r.exit_code == 1 and "not in season" in r.stderr
    forget_season(out)
    r = runner.invoke(app, ["report", str(out)])  # metrics.json names no season
    assert r.exit_code == 2 and "give --season" in r.stderr
    assert sorted(p.name for p in empty.iterdir()) == []


@pytest.mark.parametrize("args", [
    ["solve", str(SAMPLE), "--report", "pdf", "--out", "x"],
    ["solve", str(SAMPLE), "--report", "xlsx"],  # a report goes into --out
    ["solve", str(SAMPLE), "--lang", "fr"],
    ["report", str(SAMPLE), "--format", "pdf"],
    ["report", str(SAMPLE), "--lang", "fr"],
])
def test_usage_errors_exit_2(args: list[str], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert list(tmp_path.iterdir()) == []


def test_quiet_solve_prints_nothing(tmp_path: Path) -> None:
    r = runner.invoke(app, ["solve", str(SAMPLE), "--strategy", "greedy", "--quiet", "--out",
                            str(tmp_path / "r"), "--report", "xlsx", "--lang", "en"])
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == ""
    assert (tmp_path / "r" / "report.xlsx").exists()


def test_every_command_has_help_with_an_example() -> None:
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert "report" in names and "solve" in names
    for name in names:
        r = runner.invoke(app, [name, "--help"])
        assert r.exit_code == 0 and "Example" in r.stdout, name


def test_exit_codes_are_documented() -> None:
    doc = matcher.cli.__doc__
    for code in ("0  success", "1  invalid input", "2  bad command-line usage",
                 "3  the independent audit"):
        assert code in doc
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## From spreadsheets to a report" in readme and "2 bad usage" in readme


def test_progress_follows_the_levels() -> None:
    assert finished_level("level placed: value 218, bound 218") == "placed"
    assert finished_level("level -spend: HiGHS value -47900, bound -47900, proven True") == "-spend"
    assert finished_level("level placed: LP bound 220, 0 edges fixed to 0") is None
    buf = io.StringIO()
    term = Console(file=buf, force_terminal=True, width=120)
    with solving("cpsat", 5, show=True, console=term) as on_log:
        assert on_log is not None
        on_log("level placed: value 3, bound 3")
        on_log("level local: value 2, bound 2")
    assert "2 level(s) done, last local" in buf.getvalue()
    with solving("cpsat", 5, show=False, console=term) as on_log:
        assert on_log is None
    with solving("cpsat", 5, show=True, console=Console(file=io.StringIO())) as on_log:
        assert on_log is None  # not a terminal: nothing drawn, no log asked of the solver
