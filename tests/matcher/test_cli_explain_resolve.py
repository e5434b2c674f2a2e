"""`matcher explain` and `matcher resolve` as commands: output, files, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.resolve import read_result
from matcher.season import load_season
from tests.builders import forget_season, write_season

runner = CliRunner()


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A season of two seats (T1, T2) and three students ranked by score: S3 waits."""
    root = tmp_path_factory.mktemp("cli")
    students = [{"student_id": f"S{i}", "score": 100 - i} for i in (1, 2, 3)]
    slots = [{"slot_id": "T1"}, {"slot_id": "T2"}]
    season = write_season(root / "season", students=students, slots=slots, periods=1,
                          objective=["placed"])
    changed = write_season(root / "changed", students=students[1:], slots=slots, periods=1,
                           objective=["placed"])
    out = root / "result"
    result = runner.invoke(app, ["solve", str(season), "--out", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    return season, changed, out


def unplaced_one(out: Path) -> str:
    return read_result(out).unplaced["student_id"].iat[0]


def test_explain_text_json_and_languages(solved) -> None:
    season, _, out = solved
    sid = unplaced_one(out)
    zh = runner.invoke(app, ["explain", str(out), "--season", str(season), "--student", sid])
    assert zh.exit_code == 0, zh.output
    assert f"学生 {sid}" in zh.output and "未安置" in zh.output
    assert "已满（容量 1）" in zh.output and "能安置该生的最小改动" in zh.output
    assert "已验证：用 cpsat 重新求解后，该生安置于" in zh.output
    en = runner.invoke(app, ["explain", str(out), "--season", str(season), "--student", sid,
                             "--lang", "en", "--verify", "0"])
    assert en.exit_code == 0, en.output
    assert "Not placed" in en.output and "not verified" in en.output
    js = runner.invoke(app, ["explain", str(out), "--season", str(season), "--student", sid,
                             "--json", "--verify", "1"])
    assert js.exit_code == 0, js.output
    doc = json.loads(js.stdout)
    assert doc["student_id"] == sid and doc["placed"] is False
    assert {o["slot_id"] for o in doc["options"]} == {"T1", "T2"}
    assert doc["candidates"][0]["verified"]["placed"] is True


def test_explain_errors(solved, tmp_path: Path) -> None:
    season, _, out = solved
    unknown = runner.invoke(app, ["explain", str(out), "--season", str(season), "--student",
                                  "S9"])
    assert unknown.exit_code == 1 and "unknown student 'S9'" in unknown.stderr
    forget_season(out)  # a result folder from elsewhere, which names no season
    no_season = runner.invoke(app, ["explain", str(out), "--student", "S1"])
    assert no_season.exit_code == 2
    assert "does not say which season it was solved on: give --season" in no_season.stderr
    lang = runner.invoke(app, ["explain", str(out), "--season", str(season), "--student", "S1",
                               "--lang", "fr"])
    assert lang.exit_code == 2 and "unknown language 'fr'" in lang.stderr
    missing = runner.invoke(app, ["explain", str(tmp_path / "none"), "--season", str(season),
                                  "--student", "S1"])
    assert missing.exit_code == 1 and "is not a result folder" in missing.stderr
    assert "Traceback" not in missing.output + missing.stderr


def test_resolve_writes_changes_and_explain_finds_its_season(solved, tmp_path: Path) -> None:
    _, changed, out = solved
    placed = set(read_result(out).assignments["student_id"])
    new = tmp_path / "new"
    done = runner.invoke(app, ["resolve", str(out), "--season", str(changed), "--out",
                               str(new)])
    assert done.exit_code == 0, done.output
    assert "withdrawn" in done.output and "right after the policy's levels" in done.output
    changes = pd.read_csv(new / "changes.csv", dtype=str, keep_default_na=False)
    kinds = dict(zip(changes["student_id"], changes["change"], strict=True))
    # S1 withdrew; whoever was placed stays; S3, if it waited, takes the free seat
    assert kinds["S1"] == "withdrawn"
    assert all(kinds[s] == "kept" for s in placed - {"S1"})
    assert sorted(kinds.values()).count("placed") == (1 if "S1" in placed else 0)
    again = runner.invoke(app, ["resolve", str(out), "--season", str(changed), "--out",
                                str(new), "--changes-first", "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["mode"] == "changes-first" and summary["changes"] == 0
    assert summary["kept_level"] == {"position": 1, "value": len(placed - {"S1"}),
                                     "proven": True}
    # the new result names its season: explain needs no --season
    js = runner.invoke(app, ["explain", str(new), "--student", "S2", "--json", "--verify", "0"])
    assert js.exit_code == 0, js.output
    assert json.loads(js.stdout)["placed"] is True
    assert load_season(changed).students["student_id"].tolist() == ["S2", "S3"]


def test_resolve_errors(solved, tmp_path: Path) -> None:
    season, _, out = solved
    mech = runner.invoke(app, ["resolve", str(out), "--season", str(season), "--out",
                               str(tmp_path / "a"), "--strategy", "da-student"])
    assert mech.exit_code == 2 and "optimises the objective levels" in mech.stderr
    broken = write_season(tmp_path / "broken", students=[{"student_id": "S1",
                                                          "score": "many"}],
                          slots=[{"slot_id": "T1"}], periods=1)
    bad = runner.invoke(app, ["resolve", str(out), "--season", str(broken), "--out",
                              str(tmp_path / "b")])
    assert bad.exit_code == 1 and "students.csv, row 2, column 'score'" in bad.stderr
    assert not (tmp_path / "b").exists()
    no_result = runner.invoke(app, ["resolve", str(tmp_path / "none"), "--season", str(season),
                                    "--out", str(tmp_path / "c")])
    assert no_result.exit_code == 1 and not (tmp_path / "c").exists()
