"""`matcher validate` and `matcher solve` on invalid seasons (DESIGN §7): every problem printed
by file, row and column, exit 1, nothing written."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from matcher.cli import app
from matcher.season import validate_season
from tests.builders import slot, student, write_season


def valid(folder: Path, **kw: object) -> Path:
    args: dict = {
        "students": [student("S1"), student("S2", name="李四")],
        "slots": [slot("T1", capacity=2)],
        "preferences": [{"student_id": "S1", "slot_id": "T1", "rank": 1}],
    }
    args.update(kw)
    return write_season(folder, **args)


def invalid(folder: Path) -> Path:
    """Five errors in four files, plus a warning."""
    return valid(
        folder,
        students=[student("S1", score="abc", poor="maybe"), student("S1"),
                  student("S3", major="烹饪")],
        slots=[slot("T1", capacity="2.5", enterprise_id="E9")],
        preferences=[{"student_id": "S1", "slot_id": "T9", "rank": 1}],
    )


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def unwrap(text: str) -> str:
    """Compare text with every whitespace character taken out (robust to any line wrapping)."""
    return re.sub(r"\s+", "", text)


def test_validate_valid_season_exits_0(tmp_path: Path) -> None:
    result = run("validate", valid(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    assert "season is valid (0 warning(s))" in result.stdout
    assert result.stderr == ""


def test_validate_season_with_only_warnings_exits_0(tmp_path: Path) -> None:
    folder = valid(tmp_path / "s", students=[student("S1"), student("S2", major="烹饪")])
    result = run("validate", folder)
    assert result.exit_code == 0, result.output
    assert "season is valid (1 warning(s))" in result.stdout
    assert unwrap("students.csv, column 'major': warning: major '烹饪'") in unwrap(result.stderr)


def test_validate_invalid_season_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    folder = invalid(tmp_path / "s")
    issues = validate_season(folder)
    errors = [i for i in issues if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == [
        ("preferences.csv", 2, "slot_id"),
        ("slots.csv", 2, "capacity"),
        ("slots.csv", 2, "enterprise_id"),
        ("students.csv", 2, "poor"),
        ("students.csv", 2, "score"),
        ("students.csv", 3, "student_id"),
    ]
    result = run("validate", folder)
    assert result.exit_code == 1, result.output
    err = unwrap(result.stderr)
    for issue in issues:
        assert unwrap(str(issue)) in err
    positions = [err.index(unwrap(str(i))) for i in issues]
    assert positions == sorted(positions), "issues are printed in file/row order"
    assert unwrap("6 error(s), 1 warning(s): the season is invalid") in err
    assert "season is valid" not in result.stdout


def test_validate_prints_each_problem_on_one_line(tmp_path: Path) -> None:
    folder = invalid(tmp_path / "s")
    result = run("validate", folder)
    lines = result.stderr.splitlines()
    for issue in validate_season(folder):
        assert str(issue) in lines


def test_validate_prints_cells_verbatim(tmp_path: Path) -> None:
    """No markup, no emoji codes, no highlighting: a cell is printed as written."""
    folder = valid(tmp_path / "s", students=[student("S1", score=":smile: [red]x[/red]"),
                                             student("S2")])
    result = run("validate", folder)
    assert result.exit_code == 1
    assert ("students.csv, row 2, column 'score': ':smile: [red]x[/red]' is not a number"
            in result.stderr.splitlines())


def test_validate_missing_folder_exits_1(tmp_path: Path) -> None:
    result = run("validate", tmp_path / "nowhere")
    assert result.exit_code == 1
    assert unwrap("is not a season folder") in unwrap(result.stderr)


def test_validate_policy_problems(tmp_path: Path) -> None:
    folder = valid(tmp_path / "s", policy_text='[objective]\norder = ["placed", "locl"]\n'
                   "[constraints]\nenterprise_capp = 0.1\n")
    result = run("validate", folder)
    assert result.exit_code == 1
    err = unwrap(result.stderr)
    assert unwrap("policy.toml, column 'objective.order': unknown objective term 'locl'") in err
    assert unwrap("policy.toml, column 'constraints.enterprise_capp': unknown constraint") in err
    assert unwrap("2 error(s), 0 warning(s)") in err


def test_solve_invalid_season_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    folder = invalid(tmp_path / "s")
    out = tmp_path / "results" / "r1"
    result = run("solve", folder, "--out", out)
    assert result.exit_code == 1, result.output
    assert not out.exists()
    assert not (tmp_path / "results").exists() or list((tmp_path / "results").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) in (["s"], ["results", "s"])
    err = unwrap(result.stderr)
    for issue in validate_season(folder):
        assert unwrap(str(issue)) in err
    assert unwrap("6 error(s): the season is invalid; nothing solved") in err


def test_solve_invalid_season_keeps_an_existing_result(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert run("solve", valid(tmp_path / "good"), "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "assignments.csv" in before
    result = run("solve", invalid(tmp_path / "bad"), "--out", out)
    assert result.exit_code == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_solve_invalid_policy_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    folder = valid(tmp_path / "s", policy="chenzhou-2019")
    out = tmp_path / "out"
    result = run("solve", folder, "--out", out)
    assert result.exit_code == 1
    assert not out.exists()
    assert unwrap("unknown policy preset 'chenzhou-2019'") in unwrap(result.stderr)
