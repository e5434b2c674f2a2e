"""Malformed seasons: every problem is one Issue naming its file, row and column (DESIGN §3, §4,
§4a).

Each case writes a valid base season with the builder, breaks exactly one thing and checks the
single error that comes back: its file, its row (a CSV's header is row 1, the first data row is
row 2; a row is a record, as a spreadsheet shows it, even when a quoted cell holds a line break),
its column and a distinctive part of its message. A case may carry `xfail`, a known loader defect
with why it fails; none does today.
"""

from __future__ import annotations

import copy
import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from matcher.errors import Issue, SeasonError
from matcher.season import load_season, validate_season
from tests.builders import slot, student, write_season

# ---------------------------------------------------------------------------------------------
# The base season. Row numbers as a person sees them in each CSV file:
#   schools.csv      SC1 row 2, SC2 row 3
#   parks.csv        P1 row 2, P2 row 3
#   enterprises.csv  E1 row 2 (in park P1), E2 row 3 (outside parks)
#   students.csv     S1 row 2, S2 row 3, S3 row 4
#   slots.csv        T1 row 2 (shadow), T2 row 3 (order class at SC1), T3 row 4 (employment)
#   funds.csv        F1 row 2
#   preferences.csv  (S1, T1) row 2, (S1, T2) row 3, (S2, T1) row 4
#   rankings.csv     (T1, S1) row 2, (T1, S2) row 3
# ---------------------------------------------------------------------------------------------


def base() -> dict:
    """Keyword arguments of `write_season` for a small valid season, fresh on every call."""
    return {
        "schools": [{"school_id": "SC1"}, {"school_id": "SC2", "name": "湘南学院",
                                           "city_area": "false"}],
        "parks": [{"park_id": "P1"}, {"park_id": "P2", "name": "资兴经开区", "local": "false"}],
        "enterprises": [
            {"enterprise_id": "E1", "name": "郴州钻石钨"},
            {"enterprise_id": "E2", "name": "小企业", "park_id": "", "local": "false",
             "staff": 40, "size_class": "small"},
        ],
        "students": [
            student("S1", name="张三"),
            student("S2", name="李四", poor="true"),
            student("S3", name="王五", school_id="SC2", graduating="true", score=88.5),
        ],
        "slots": [
            slot("T1", capacity=2, durations="3;6"),
            slot("T2", enterprise_id="E2", kind="order", school_id="SC1", min_size=1,
                 capacity=2, durations=""),
            slot("T3", kind="employment", capacity=1, durations=""),
        ],
        "funds": [{"fund_id": "F1", "budget": 10000}],
        "preferences": [
            {"student_id": "S1", "slot_id": "T1", "rank": 1},
            {"student_id": "S1", "slot_id": "T2", "rank": 2},
            {"student_id": "S2", "slot_id": "T1", "rank": 1},
        ],
        "rankings": [
            {"slot_id": "T1", "student_id": "S1", "rank": 1},
            {"slot_id": "T1", "student_id": "S2", "rank": 2},
        ],
        "policy": "none",
        "periods": 2,
    }


SUBSIDY = """
[[subsidy]]
id = "r1"
clause = "§1"
amount = 100
per = "once"
payee = "student"
fund = "F1"
"""


# ---------------------------------------------------------------------------------------------
# Ways of breaking the base season
# ---------------------------------------------------------------------------------------------

Change = Callable[[dict], None]
After = Callable[[Path], None]


def cell(table: str, index: int, **cells: object) -> Change:
    """Set cells of one row of a table."""
    def change(season: dict) -> None:
        season[table][index].update(cells)
    return change


def append(table: str, row: dict) -> Change:
    """Add a row at the end of a table."""
    def change(season: dict) -> None:
        season[table].append(row)
    return change


def policy(text: str) -> Change:
    """Point the season at a policy.toml written beside it."""
    def change(season: dict) -> None:
        season["policy_text"] = text
    return change


def setting(**kw: object) -> Change:
    """Other keyword arguments of the builder (policy, periods, constraints, objective)."""
    def change(season: dict) -> None:
        season.update(kw)
    return change


def season_toml(text: str) -> After:
    def after(folder: Path) -> None:
        (folder / "season.toml").write_text(text, encoding="utf-8")
    return after


def drop_column(file: str, column: str) -> After:
    def after(folder: Path) -> None:
        path = folder / file
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        at = rows[0].index(column)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([r[:at] + r[at + 1:] for r in rows])
    return after


def remove(file: str) -> After:
    def after(folder: Path) -> None:
        (folder / file).unlink()
    return after


def append_text(file: str, text: str) -> After:
    def after(folder: Path) -> None:
        path = folder / file
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    return after


def replace_text(file: str, text: str) -> After:
    def after(folder: Path) -> None:
        (folder / file).write_text(text, encoding="utf-8")
    return after


def prepend_text(file: str, text: str) -> After:
    def after(folder: Path) -> None:
        path = folder / file
        path.write_text(text + path.read_text(encoding="utf-8"), encoding="utf-8")
    return after


def edit_line(file: str, index: int, edit: Callable[[str], str]) -> After:
    """Rewrite one line of a file (0 is the header)."""
    def after(folder: Path) -> None:
        path = folder / file
        lines = path.read_text(encoding="utf-8").split("\n")
        lines[index] = edit(lines[index])
        path.write_text("\n".join(lines), encoding="utf-8")
    return after


def add_column(file: str, column: str, value: str) -> After:
    """Add a column (possibly repeating a header) with the same value in every data row."""
    def after(folder: Path) -> None:
        path = folder / file
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        rows = [[*rows[0], column]] + [[*r, value] for r in rows[1:]]
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
    return after


def make_dir(name: str) -> After:
    def after(folder: Path) -> None:
        (folder / name).mkdir()
    return after


def build(folder: Path, change: Change | None = None, after: After | None = None) -> Path:
    season = copy.deepcopy(base())
    if change is not None:
        change(season)
    write_season(folder, **season)
    if after is not None:
        after(folder)
    return folder


@dataclass(frozen=True)
class Case:
    id: str
    file: str
    row: int | None
    column: str | None
    pattern: str  # a regular expression the message must contain
    change: Change | None = None
    after: After | None = None
    xfail: str | None = None  # a loader defect: why the test fails today


def case_params(cases: list[Case]) -> list:
    return [
        pytest.param(c, id=c.id,
                     marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [])
        for c in cases
    ]


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------

REFERENCES = [
    Case("ref-students.school_id", "students.csv", 3, "school_id",
         r"unknown school_id 'SC9': no such row in schools\.csv",
         change=cell("students", 1, school_id="SC9")),
    Case("ref-enterprises.park_id", "enterprises.csv", 2, "park_id",
         r"unknown park_id 'P9': no such row in parks\.csv",
         change=cell("enterprises", 0, park_id="P9")),
    Case("ref-slots.enterprise_id", "slots.csv", 3, "enterprise_id",
         r"unknown enterprise_id 'E9': no such row in enterprises\.csv",
         change=cell("slots", 1, enterprise_id="E9")),
    Case("ref-slots.school_id", "slots.csv", 3, "school_id",
         r"unknown school_id 'SC9': no such row in schools\.csv",
         change=cell("slots", 1, school_id="SC9")),
    Case("ref-preferences.student_id", "preferences.csv", 4, "student_id",
         r"unknown student_id 'S9': no such row in students\.csv",
         change=cell("preferences", 2, student_id="S9")),
    Case("ref-preferences.slot_id", "preferences.csv", 2, "slot_id",
         r"unknown slot_id 'T9': no such row in slots\.csv",
         change=cell("preferences", 0, slot_id="T9")),
    Case("ref-rankings.slot_id", "rankings.csv", 3, "slot_id",
         r"unknown slot_id 'T9': no such row in slots\.csv",
         change=cell("rankings", 1, slot_id="T9")),
    Case("ref-rankings.student_id", "rankings.csv", 2, "student_id",
         r"unknown student_id 'S9': no such row in students\.csv",
         change=cell("rankings", 0, student_id="S9")),
    Case("ref-students.school_id-empty", "students.csv", 2, "school_id", r"is empty",
         change=cell("students", 0, school_id="")),
]

DUPLICATES = [
    Case("dup-schools", "schools.csv", 4, "school_id", r"duplicate id 'SC1'",
         change=append("schools", {"school_id": "SC1"})),
    Case("dup-parks", "parks.csv", 4, "park_id", r"duplicate id 'P2'",
         change=append("parks", {"park_id": "P2"})),
    Case("dup-enterprises", "enterprises.csv", 4, "enterprise_id", r"duplicate id 'E1'",
         change=append("enterprises", {"enterprise_id": "E1"})),
    Case("dup-students", "students.csv", 5, "student_id", r"duplicate id 'S2'",
         change=append("students", student("S2"))),
    Case("dup-slots", "slots.csv", 5, "slot_id", r"duplicate id 'T1'",
         change=append("slots", slot("T1"))),
    Case("dup-funds", "funds.csv", 3, "fund_id", r"duplicate id 'F1'",
         change=append("funds", {"fund_id": "F1", "budget": 5})),
    Case("dup-students-after-strip", "students.csv", 5, "student_id", r"duplicate id 'S1'",
         change=append("students", student(" S1 "))),
    Case("empty-student-id", "students.csv", 5, "student_id", r"is empty",
         change=append("students", student(""))),
]

NUMBERS = [
    Case("capacity-negative", "slots.csv", 2, "capacity",
         r"'-1' is not a non-negative whole number", change=cell("slots", 0, capacity=-1)),
    Case("capacity-fraction", "slots.csv", 2, "capacity",
         r"'2\.5' is not a non-negative whole number", change=cell("slots", 0, capacity="2.5")),
    Case("capacity-text", "slots.csv", 3, "capacity",
         r"'abc' is not a non-negative whole number", change=cell("slots", 1, capacity="abc")),
    Case("capacity-empty", "slots.csv", 2, "capacity",
         r"'' is not a non-negative whole number", change=cell("slots", 0, capacity="")),
    Case("staff-negative", "enterprises.csv", 3, "staff",
         r"'-5' is not a non-negative whole number", change=cell("enterprises", 1, staff=-5)),
    Case("min_size-zero", "slots.csv", 3, "min_size", r"'0' is not a positive whole number",
         change=cell("slots", 1, min_size=0)),
    Case("post_staff-negative", "slots.csv", 2, "post_staff",
         r"'-3' is not a non-negative whole number",
         change=cell("slots", 0, post="装配", post_staff=-3)),
    Case("score-text", "students.csv", 3, "score", r"'abc' is not a number",
         change=cell("students", 1, score="abc")),
    Case("score-above-100", "students.csv", 2, "score", r"'101' is outside 0–100",
         change=cell("students", 0, score=101)),
    Case("score-negative", "students.csv", 4, "score", r"'-0\.5' is outside 0–100",
         change=cell("students", 2, score=-0.5)),
    Case("score-nan", "students.csv", 2, "score", r"'nan' is not a number",
         change=cell("students", 0, score="nan")),
    Case("budget-text", "funds.csv", 2, "budget", r"'lots' is not a number",
         change=cell("funds", 0, budget="lots")),
    Case("budget-negative", "funds.csv", 2, "budget", r"'-100' is a negative budget",
         change=cell("funds", 0, budget=-100)),
    Case("budget-empty", "funds.csv", 2, "budget", r"'' is not a number",
         change=cell("funds", 0, budget="")),
    Case("durations-not-multiple-of-3", "slots.csv", 2, "durations",
         r"'4' is not a list of positive multiples of 3 months",
         change=cell("slots", 0, durations="4")),
    Case("durations-one-bad-in-list", "slots.csv", 2, "durations",
         r"'3;5' is not a list of positive multiples of 3 months",
         change=cell("slots", 0, durations="3;5")),
    Case("durations-zero", "slots.csv", 2, "durations",
         r"'0' is not a list of positive multiples of 3 months",
         change=cell("slots", 0, durations="0")),
    Case("durations-repeated", "slots.csv", 2, "durations",
         r"'3;3' is not a list of positive multiples of 3 months",
         change=cell("slots", 0, durations="3;3")),
    Case("durations-empty-shadow", "slots.csv", 2, "durations",
         r"'' is not a list of positive multiples of 3 months",
         change=cell("slots", 0, durations="")),
    Case("rank-zero", "preferences.csv", 3, "rank", r"'0' is not a positive whole number",
         change=cell("preferences", 1, rank=0)),
    Case("rank-negative", "preferences.csv", 2, "rank", r"'-1' is not a positive whole number",
         change=cell("preferences", 0, rank=-1)),
    Case("rank-fraction", "preferences.csv", 4, "rank",
         r"'1\.5' is not a positive whole number", change=cell("preferences", 2, rank="1.5")),
    Case("rank-text", "preferences.csv", 2, "rank", r"'first' is not a positive whole number",
         change=cell("preferences", 0, rank="first")),
    Case("rankings-rank-zero", "rankings.csv", 3, "rank", r"'0' is not a positive whole number",
         change=cell("rankings", 1, rank=0)),
]

# Non-finite and overflowing numbers: the loader should refuse them with an Issue.
NUMBER_DEFECTS = [
    Case("capacity-inf", "slots.csv", 2, "capacity", r"'inf' is not a non-negative whole number",
         change=cell("slots", 0, capacity="inf")),
    Case("staff-inf", "enterprises.csv", 2, "staff", r"'inf' is not a non-negative whole number",
         change=cell("enterprises", 0, staff="inf")),
    Case("rank-inf", "preferences.csv", 2, "rank", r"'inf' is not a positive whole number",
         change=cell("preferences", 0, rank="inf")),
    Case("capacity-1e30", "slots.csv", 2, "capacity", r"whole number|too large|out of range",
         change=cell("slots", 0, capacity="1e30")),
    Case("rank-1e19", "preferences.csv", 2, "rank", r"whole number|too large|out of range",
         change=cell("preferences", 0, rank="1e19")),
    Case("min_size-inf", "slots.csv", 3, "min_size", r"positive whole number",
         change=cell("slots", 1, min_size="inf")),
    Case("post_staff-1e30", "slots.csv", 2, "post_staff", r"whole number|too large|out of range",
         change=cell("slots", 0, post="装配", post_staff="1e30")),
    Case("budget-inf", "funds.csv", 2, "budget", r"not a (finite )?number|finite",
         change=cell("funds", 0, budget="inf")),
    Case("capacity-minus-1e30", "slots.csv", 2, "capacity",
         r"'-1e30' is not a non-negative whole number", change=cell("slots", 0, capacity="-1e30")),
    Case("staff-400-digits", "enterprises.csv", 2, "staff", r"is too large",
         change=cell("enterprises", 0, staff="1" + "0" * 400)),
    Case("rank-nan", "preferences.csv", 3, "rank", r"'nan' is not a positive whole number",
         change=cell("preferences", 1, rank="nan")),
    Case("post_staff-minus-inf", "slots.csv", 2, "post_staff",
         r"'-inf' is not a non-negative whole number",
         change=cell("slots", 0, post="装配", post_staff="-inf")),
    Case("budget-too-large", "funds.csv", 2, "budget", r"'1e13' is too large",
         change=cell("funds", 0, budget="1e13")),
    Case("budget-minus-inf", "funds.csv", 2, "budget", r"'-inf' is not a finite number",
         change=cell("funds", 0, budget="-inf")),
    Case("score-inf", "students.csv", 2, "score", r"'inf' is outside 0–100",
         change=cell("students", 0, score="inf")),
]

CELLS = [
    Case("bool-students.poor", "students.csv", 3, "poor",
         r"'maybe' is not a boolean \(true/false, 1/0, 是/否\)",
         change=cell("students", 1, poor="maybe")),
    Case("bool-students.graduating", "students.csv", 4, "graduating", r"'2' is not a boolean",
         change=cell("students", 2, graduating=2)),
    Case("bool-schools.city_area", "schools.csv", 2, "city_area", r"'城区' is not a boolean",
         change=cell("schools", 0, city_area="城区")),
    Case("bool-parks.local", "parks.csv", 3, "local", r"'local' is not a boolean",
         change=cell("parks", 1, local="local")),
    Case("bool-enterprises.certified", "enterprises.csv", 2, "certified",
         r"'x' is not a boolean", change=cell("enterprises", 0, certified="x")),
    Case("slot-kind-unknown", "slots.csv", 2, "kind",
         r"'internship' is not a slot kind \(shadow, post, order, apprentice, employment\)",
         change=cell("slots", 0, kind="internship")),
    Case("size_class-unknown", "enterprises.csv", 3, "size_class",
         r"'huge' is not a size class \(large, medium, small, micro\)",
         change=cell("enterprises", 1, size_class="huge")),
    Case("majors-empty", "slots.csv", 4, "majors", r"names no major",
         change=cell("slots", 2, majors=" ; ")),
    Case("majors-twice", "slots.csv", 2, "majors", r"names a major twice",
         change=cell("slots", 0, majors="机电;机电")),
    Case("major-empty", "students.csv", 2, "major", r"is empty",
         change=cell("students", 0, major="")),
    Case("preference-slot-twice", "preferences.csv", 5, "slot_id",
         r"student_id 'S1' lists slot_id 'T1' twice",
         change=append("preferences", {"student_id": "S1", "slot_id": "T1", "rank": 3})),
    Case("ranking-student-twice", "rankings.csv", 4, "student_id",
         r"slot_id 'T1' lists student_id 'S1' twice",
         change=append("rankings", {"slot_id": "T1", "student_id": "S1", "rank": 3})),
]

FILES = [
    Case("missing-column-students.score", "students.csv", 1, "score",
         r"required column is missing", after=drop_column("students.csv", "score")),
    Case("missing-column-slots.capacity", "slots.csv", 1, "capacity",
         r"required column is missing", after=drop_column("slots.csv", "capacity")),
    Case("missing-column-preferences.rank", "preferences.csv", 1, "rank",
         r"required column is missing", after=drop_column("preferences.csv", "rank")),
    Case("missing-file-students", "students.csv", None, None,
         r"is missing: every season needs this table", after=remove("students.csv")),
    Case("missing-file-enterprises", "enterprises.csv", None, None,
         r"is missing: every season needs this table", after=remove("enterprises.csv")),
    Case("missing-file-season.toml", "season.toml", None, None,
         r"is missing: it names the season's policy", after=remove("season.toml")),
    Case("row-more-cells-than-header", "students.csv", 5, None,
         r"has 8 cells but the header has 7",
         after=append_text("students.csv", "S4,赵六,SC1,机电,false,false,70,extra\n")),
    Case("file-undecodable", "students.csv", None, None,
         r"cannot be decoded as UTF-8 or GBK/GB18030",
         after=lambda folder: (folder / "students.csv").write_bytes(
             (folder / "students.csv").read_bytes() + b"S4,\xff\xfe,SC1,a,false,false,70\n")),
    Case("file-empty", "students.csv", None, None, r"is empty",
         after=replace_text("students.csv", "")),
    Case("csv-duplicate-header", "students.csv", 1, "score", r"twice|duplicate|repeated",
         after=add_column("students.csv", "score", "70")),
    Case("csv-multiline-cell-row", "students.csv", 3, "score", r"'abc' is not a number",
         change=cell("students", 1, name="李\n四", score="abc")),
    Case("csv-blank-line-before-header", "students.csv", 1, None, r"empty|blank|header",
         after=prepend_text("students.csv", "\n")),
    Case("csv-unterminated-quote", "students.csv", 5, None, r"quot",
         after=append_text("students.csv", 'S4,"赵六,SC1,机电,false,false,70\n')),
    # An unclosed quote mid-file: the rows it swallows are lost, so students' ids are not
    # known; references to S2 and S3 (preferences, rankings) must not be reported as unknown.
    Case("csv-unterminated-quote-mid-file", "students.csv", 3, None, r"quote.*never closed",
         after=lambda folder: edit_line("students.csv", 2, lambda t: t.replace("S2,", 'S2,"'))(
             folder)),
    Case("csv-unterminated-quote-closed-later", "students.csv", 3, None, r"quot",
         after=lambda folder: (
             edit_line("students.csv", 2, lambda t: t.replace("S2,", 'S2,"'))(folder),
             edit_line("students.csv", 3, lambda t: t.replace("王五", '"王五"'))(folder))),
    Case("csv-text-after-closing-quote", "students.csv", 2, None, r"quot",
         after=edit_line("students.csv", 1, lambda t: t.replace("张三", '"张"三'))),
    Case("csv-file-is-a-folder", "students.csv", None, None, r"cannot be read",
         after=lambda folder: ((folder / "students.csv").unlink(),
                               (folder / "students.csv").mkdir())),
    Case("csv-header-only-spaces", "students.csv", 1, None, r"is blank",
         after=replace_text("students.csv", " , \nS1,a,SC1,机电,false,false,70\n")),
]

SEASON_TOML = [
    Case("season.toml-bad-toml", "season.toml", None, None, r"is not valid TOML",
         after=season_toml('name = "x\npolicy = "none"\n')),
    Case("season.toml-periods-zero", "season.toml", None, "periods",
         r"0 is not a positive whole number of 3-month periods",
         after=season_toml('name = "x"\nperiods = 0\npolicy = "none"\n')),
    Case("season.toml-periods-text", "season.toml", None, "periods",
         r"'two' is not a positive whole number",
         after=season_toml('name = "x"\nperiods = "two"\npolicy = "none"\n')),
    Case("season.toml-no-policy", "season.toml", None, "policy", r"is required",
         after=season_toml('name = "x"\nperiods = 2\n')),
    Case("season.toml-unknown-key", "season.toml", None, "polcy", r"unknown key 'polcy'",
         after=season_toml('name = "x"\npolicy = "none"\npolcy = "none"\n')),
    Case("season.toml-policy-not-text", "season.toml", None, "policy",
         r"must be a preset name or a path", after=season_toml('name = "x"\npolicy = 3\n')),
    Case("policy-unknown-preset", "season.toml", None, "policy",
         r"unknown policy preset 'chenzhou-2019'; presets: .*chenzhou-2018",
         change=setting(policy="chenzhou-2019")),
    Case("policy-file-missing", "season.toml", None, "policy",
         r"policy file 'mine\.toml' does not exist", change=setting(policy="mine.toml")),
    Case("policy-file-is-a-folder", "season.toml", None, "policy", r"mine\.toml",
         change=setting(policy="mine.toml"), after=make_dir("mine.toml")),
    Case("season.toml-is-a-folder", "season.toml", None, None, r"cannot be read",
         after=lambda folder: ((folder / "season.toml").unlink(),
                               (folder / "season.toml").mkdir())),
]

POLICY = [
    Case("policy-bad-toml", "policy.toml", None, None, r"is not valid TOML",
         change=policy("[constraints\n")),
    Case("policy-unknown-top-key", "policy.toml", None, "constraint",
         r"unknown policy key 'constraint'", change=policy("[constraint]\nenterprise_cap = 0.1\n")),
    Case("policy-unknown-objective-term", "policy.toml", None, "objective.order",
         r"unknown objective term 'locals'",
         change=policy('[objective]\norder = ["placed", "locals"]\n')),
    Case("policy-unknown-weight-term", "policy.toml", None, "objective.weights.plced",
         r"unknown objective term 'plced'",
         change=policy("[objective]\nweights = { plced = 10 }\n")),
    Case("policy-unknown-objective-key", "policy.toml", None, "objective.ordr",
         r"unknown objective key 'ordr'", change=policy('[objective]\nordr = ["placed"]\n')),
    Case("policy-unknown-constraint", "policy.toml", None, "constraints.enterprise_capp",
         r"unknown constraint 'enterprise_capp'",
         change=policy("[constraints]\nenterprise_capp = 0.1\n")),
    Case("policy-cap-above-1", "policy.toml", None, "constraints.enterprise_cap",
         r"1\.5 is not a ratio in \[0, 1\]",
         change=policy("[constraints]\nenterprise_cap = 1.5\n")),
    Case("policy-cap-negative", "policy.toml", None, "constraints.same_post_cap",
         r"-0\.2 is not a ratio in \[0, 1\]",
         change=policy("[constraints]\nsame_post_cap = -0.2\n")),
    Case("policy-cap-text", "policy.toml", None, "constraints.enterprise_cap",
         r"'10%' is not a number", change=policy('[constraints]\nenterprise_cap = "10%"\n')),
    Case("policy-poor_first-unknown-kind", "policy.toml", None, "constraints.poor_first",
         r"must be a list of slot kinds", change=policy('[constraints]\npoor_first = ["ordr"]\n')),
    Case("policy-stability-unknown", "policy.toml", None, "constraints.stability",
         r"'stable' is not one of none, student-stable",
         change=policy('[constraints]\nstability = "stable"\n')),
    Case("policy-subsidy-unknown-field", "policy.toml", None, "subsidy[1].payer",
         r"unknown subsidy field 'payer'", change=policy(SUBSIDY + 'payer = "school"\n')),
    Case("policy-subsidy-unknown-per", "policy.toml", None, "subsidy[1].per",
         r"'week' is not one of once, month, year",
         change=policy(SUBSIDY.replace('per = "once"', 'per = "week"'))),
    Case("policy-subsidy-unknown-payee", "policy.toml", None, "subsidy[1].payee",
         r"'parent' is not one of student, enterprise, school",
         change=policy(SUBSIDY.replace('payee = "student"', 'payee = "parent"'))),
    Case("policy-subsidy-unknown-when", "policy.toml", None, "subsidy[1].when.locl",
         r"unknown condition 'locl'", change=policy(SUBSIDY + "when = { locl = true }\n")),
    Case("policy-subsidy-unknown-kind", "policy.toml", None, "subsidy[1].kind",
         r"must be slot kinds", change=policy(SUBSIDY + 'kind = ["intern"]\n')),
    Case("policy-subsidy-missing-amount", "policy.toml", None, "subsidy[1].amount",
         r"is required", change=policy(SUBSIDY.replace("amount = 100\n", ""))),
    Case("policy-subsidy-negative-amount", "policy.toml", None, "subsidy[1].amount",
         r"-5 is not a non-negative number of yuan",
         change=policy(SUBSIDY.replace("amount = 100", "amount = -5"))),
    Case("policy-subsidy-size_class-unknown", "policy.toml", None, "subsidy[1].when.size_class",
         r"must be among large, medium, small, micro",
         change=policy(SUBSIDY + 'when = { size_class = "tiny" }\n')),
    # Non-finite TOML floats (nan, inf) are valid TOML.
    Case("policy-cap-nan", "policy.toml", None, "constraints.enterprise_cap",
         r"nan", change=policy("[constraints]\nenterprise_cap = nan\n")),
    Case("policy-cap-inf", "policy.toml", None, "constraints.same_post_cap",
         r"inf", change=policy("[constraints]\nsame_post_cap = inf\n")),
    Case("policy-subsidy-amount-nan", "policy.toml", None, "subsidy[1].amount", r"nan",
         change=policy(SUBSIDY.replace("amount = 100", "amount = nan"))),
    Case("policy-subsidy-amount-inf", "policy.toml", None, "subsidy[1].amount", r"inf",
         change=policy(SUBSIDY.replace("amount = 100", "amount = inf"))),
    Case("policy-subsidy-amount-too-large", "policy.toml", None, "subsidy[1].amount",
         r"1e\+?20 is too large", change=policy(SUBSIDY.replace("amount = 100", "amount = 1e20"))),
    Case("policy-subsidy-min_months-negative", "policy.toml", None,
         "subsidy[1].when.min_months", r"-1 is not a non-negative whole number of months",
         change=policy(SUBSIDY + "when = { min_months = -1 }\n")),
    Case("policy-subsidy-kind-empty", "policy.toml", None, "subsidy[1].kind",
         r"names no slot kind", change=policy(SUBSIDY + "kind = []\n")),
    Case("policy-cap-minus-inf", "policy.toml", None, "constraints.enterprise_cap",
         r"-inf is not a ratio", change=policy("[constraints]\nenterprise_cap = -inf\n")),
]

# season.toml's own [objective] and [constraints] (DESIGN §4a.4): the typo is in season.toml.
SEASON_OVERRIDES = [
    Case("season-override-unknown-constraint", "season.toml", None,
         "constraints.enterprise_capp", r"unknown constraint 'enterprise_capp'",
         change=setting(constraints={"enterprise_capp": 0.1})),
    Case("season-override-unknown-term", "season.toml", None, "objective.order",
         r"unknown objective term 'locl'", change=setting(objective=["placed", "locl"])),
    Case("season-override-cap-ratio", "season.toml", None, "constraints.enterprise_cap",
         r"1\.5 is not a ratio in \[0, 1\]", change=setting(constraints={"enterprise_cap": 1.5})),
    # a problem in the policy file still names the policy file when season.toml overrides
    Case("season-override-with-bad-policy-file", "policy.toml", None, "constraints.same_cap",
         r"unknown constraint 'same_cap'",
         change=lambda season: (policy("[constraints]\nsame_cap = 0.2\n")(season),
                                setting(constraints={"enterprise_cap": 0.1})(season))),
    Case("season-override-nan", "season.toml", None, "constraints.same_post_cap", r"nan",
         after=append_text("season.toml", "[constraints]\nsame_post_cap = nan\n")),
]

ALL_CASES = (REFERENCES + DUPLICATES + NUMBERS + NUMBER_DEFECTS + CELLS + FILES + SEASON_TOML
             + POLICY + SEASON_OVERRIDES)


def test_base_season_is_valid(tmp_path: Path) -> None:
    folder = build(tmp_path)
    assert validate_season(folder) == []
    season = load_season(folder)
    assert list(season.students["student_id"]) == ["S1", "S2", "S3"]
    assert list(season.students["_row"]) == [2, 3, 4]


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", case_params(ALL_CASES))
def test_malformed_season(tmp_path: Path, case: Case) -> None:
    folder = build(tmp_path, case.change, case.after)
    issues = validate_season(folder)
    errors = [i for i in issues if i.is_error]
    assert len(errors) == 1, "\n".join(str(i) for i in errors)
    (error,) = errors
    assert (error.file, error.row, error.column) == (case.file, case.row, case.column), str(error)
    assert re.search(case.pattern, error.message), str(error)
    with pytest.raises(SeasonError) as info:
        load_season(folder)
    assert info.value.errors == [error]
    assert str(error) in str(info.value)


# ---------------------------------------------------------------------------------------------
# Several problems, warnings, empty cells and header-only files
# ---------------------------------------------------------------------------------------------


def test_every_problem_is_reported_sorted_by_file_and_row(tmp_path: Path) -> None:
    def change(season: dict) -> None:
        season["students"][2]["score"] = "abc"           # students.csv row 4
        season["students"][0]["poor"] = "maybe"          # students.csv row 2
        season["slots"][1]["capacity"] = -2              # slots.csv row 3
        season["slots"][0]["kind"] = "intern"            # slots.csv row 2
        season["preferences"][2]["slot_id"] = "T9"       # preferences.csv row 4
        season["enterprises"][1]["size_class"] = "huge"  # enterprises.csv row 3
        season["funds"][0]["budget"] = "-1"              # funds.csv row 2
        season["policy"] = "nosuch"                      # season.toml

    folder = build(tmp_path, change)
    issues = validate_season(folder)
    got = [(i.file, i.row, i.column) for i in issues if i.is_error]
    assert got == [
        ("enterprises.csv", 3, "size_class"),
        ("funds.csv", 2, "budget"),
        ("preferences.csv", 4, "slot_id"),
        ("season.toml", None, "policy"),
        ("slots.csv", 2, "kind"),
        ("slots.csv", 3, "capacity"),
        ("students.csv", 2, "poor"),
        ("students.csv", 4, "score"),
    ]
    assert issues == sorted(issues, key=lambda i: (i.file, i.row or 0))
    with pytest.raises(SeasonError) as info:
        load_season(folder)
    assert [(i.file, i.row, i.column) for i in info.value.errors] == got
    assert str(info.value).startswith("8 problem(s) in the season")


def test_several_problems_in_one_row_are_all_reported(tmp_path: Path) -> None:
    folder = build(tmp_path, cell("students", 1, poor="x", graduating="oui", score="z",
                                  school_id="SC9"))
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == [
        ("students.csv", 3, "graduating"),
        ("students.csv", 3, "poor"),
        ("students.csv", 3, "school_id"),
        ("students.csv", 3, "score"),
    ]


def test_same_problem_in_many_rows_is_reported_for_each(tmp_path: Path) -> None:
    def change(season: dict) -> None:
        for s in season["students"]:
            s["score"] = "n/a"

    folder = build(tmp_path, change)
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == [
        ("students.csv", 2, "score"), ("students.csv", 3, "score"), ("students.csv", 4, "score"),
    ]


def test_policy_problems_are_all_reported(tmp_path: Path) -> None:
    text = ('bogus = 1\n[objective]\norder = ["placed", "nope"]\n'
            "[constraints]\nenterprise_cap = 2\nsame_cap = 0.2\n"
            + SUBSIDY.replace('per = "once"', 'per = "day"'))
    folder = build(tmp_path, policy(text))
    errors = [i for i in validate_season(folder) if i.is_error]
    assert {(i.file, i.column) for i in errors} == {
        ("policy.toml", "bogus"),
        ("policy.toml", "objective.order"),
        ("policy.toml", "constraints.enterprise_cap"),
        ("policy.toml", "constraints.same_cap"),
        ("policy.toml", "subsidy[1].per"),
    }


def test_warning_for_a_major_no_slot_offers_keeps_the_season_valid(tmp_path: Path) -> None:
    folder = build(tmp_path, cell("students", 2, major="化工"))
    issues = validate_season(folder)
    assert [i for i in issues if i.is_error] == []
    (warning,) = issues
    assert warning.severity == "warning"
    assert (warning.file, warning.column) == ("students.csv", "major")
    assert "major '化工' (1 student(s)) is offered by no slot" in warning.message
    assert str(warning).startswith("students.csv, column 'major': warning: ")
    season = load_season(folder)
    assert season.warnings == (warning,)


def test_warning_for_a_slot_with_no_option_keeps_the_season_valid(tmp_path: Path) -> None:
    folder = build(tmp_path, lambda s: (s.update(periods=1), s["slots"][0].update(durations="6")))
    issues = validate_season(folder)
    assert len(issues) == 1
    (warning,) = issues
    assert warning.severity == "warning"
    assert (warning.file, warning.row, warning.column) == ("slots.csv", 2, "durations")
    assert "slot 'T1' has no option in a season of 1 period(s)" in warning.message
    season = load_season(folder)
    assert season.periods == 1
    assert season.warnings == (warning,)


def test_warning_for_min_size_above_capacity_keeps_the_season_valid(tmp_path: Path) -> None:
    folder = build(tmp_path, cell("slots", 1, min_size=5))
    (warning,) = validate_season(folder)
    assert warning.severity == "warning"
    assert (warning.file, warning.row, warning.column) == ("slots.csv", 3, "min_size")
    assert "can never open" in warning.message
    load_season(folder)


def test_invalid_capacity_gives_no_min_size_warning(tmp_path: Path) -> None:
    folder = build(tmp_path, cell("slots", 0, capacity=-1))
    issues = validate_season(folder)
    assert [(i.severity, i.file, i.row, i.column) for i in issues] == [
        ("error", "slots.csv", 2, "capacity"),
    ]


def test_warning_for_a_policy_fund_without_a_row(tmp_path: Path) -> None:
    folder = build(tmp_path, policy(SUBSIDY.replace('fund = "F1"', 'fund = "F2"')))
    (warning,) = validate_season(folder)
    assert warning.severity == "warning"
    assert (warning.file, warning.column) == ("funds.csv", "fund_id")
    assert "policy fund 'F2' has no row" in warning.message
    load_season(folder)


def test_errors_and_warnings_together(tmp_path: Path) -> None:
    def change(season: dict) -> None:
        season["students"][2]["major"] = "化工"
        season["students"][0]["score"] = "x"

    folder = build(tmp_path, change)
    issues = validate_season(folder)
    assert [(i.severity, i.file, i.row) for i in issues] == [
        ("warning", "students.csv", None), ("error", "students.csv", 2),
    ]
    with pytest.raises(SeasonError) as info:
        load_season(folder)
    assert len(info.value.errors) == 1
    assert len(info.value.issues) == 2
    assert "warning" not in str(info.value)


def test_empty_boolean_cells_read_as_false(tmp_path: Path) -> None:
    def change(season: dict) -> None:
        season["students"][1].update(poor="", graduating="")
        season["schools"][0]["city_area"] = ""
        season["parks"][0]["local"] = ""
        season["enterprises"][0].update(local="", certified="")
        season["enterprises"][1]["certified"] = "是"

    folder = build(tmp_path, change)
    assert validate_season(folder) == []
    season = load_season(folder)
    s2 = season.students.set_index("student_id").loc["S2"]
    assert not s2["poor"]
    assert not s2["graduating"]
    assert not season.schools["city_area"].iat[0]
    assert not season.parks["local"].iat[0]
    assert list(season.enterprises["local"]) == [False, False]
    assert list(season.enterprises["certified"]) == [False, True]
    assert season.students["poor"].dtype == bool


@pytest.mark.parametrize(("text", "value"), [
    ("true", True), ("TRUE", True), ("True", True), ("1", True), ("是", True),
    ("false", False), ("FALSE", False), ("0", False), ("否", False), ("", False),
])
def test_boolean_spellings(tmp_path: Path, text: str, value: bool) -> None:
    folder = build(tmp_path, cell("students", 0, poor=text))
    assert validate_season(folder) == []
    assert bool(load_season(folder).students["poor"].iat[0]) is value


def test_optional_files_with_only_their_header_are_valid(tmp_path: Path) -> None:
    def change(season: dict) -> None:
        season["funds"] = []
        season["preferences"] = []
        season["rankings"] = []

    folder = build(tmp_path, change)
    assert (folder / "funds.csv").read_text(encoding="utf-8") == "fund_id,name,budget\n"
    assert (folder / "preferences.csv").read_text(encoding="utf-8") == (
        "student_id,slot_id,rank\n")
    assert validate_season(folder) == []
    season = load_season(folder)
    assert season.funds.empty and season.preferences.empty
    assert season.rankings is not None and season.rankings.empty
    assert season.longest_list == 0


def test_missing_funds_and_preferences_files_are_warnings(tmp_path: Path) -> None:
    folder = build(tmp_path, setting(rankings=None),
                   lambda f: ((f / "funds.csv").unlink(), (f / "preferences.csv").unlink()))
    issues = validate_season(folder)
    assert [(i.severity, i.file) for i in issues] == [
        ("warning", "funds.csv"), ("warning", "preferences.csv"),
    ]
    season = load_season(folder)
    assert season.funds.empty and season.preferences.empty
    assert season.rankings is None


def test_equal_ranks_and_gaps_are_allowed(tmp_path: Path) -> None:
    def change(season: dict) -> None:
        season["preferences"][1]["rank"] = 1   # a tie with S1's T1
        season["preferences"][2]["rank"] = 7   # a gap
        season["rankings"][1]["rank"] = 1

    folder = build(tmp_path, change)
    assert validate_season(folder) == []


def test_whole_season_kinds_ignore_durations(tmp_path: Path) -> None:
    folder = build(tmp_path, cell("slots", 1, durations="abc"))
    assert validate_season(folder) == []


def test_extra_columns_and_trailing_empty_cells_are_ignored(tmp_path: Path) -> None:
    folder = build(tmp_path, cell("students", 0, 备注="转专业"),
                   append_text("schools.csv", "SC3,郴州技师学院,北湖区,true,,\n"))
    assert validate_season(folder) == []
    assert "备注" not in load_season(folder).students.columns


def test_blank_lines_keep_row_numbers(tmp_path: Path) -> None:
    def after(folder: Path) -> None:
        path = folder / "students.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        lines.insert(2, "")            # a blank line after S1: S2 is now on row 4
        lines[4] = lines[4].replace(",88.5", ",abc")   # S3 on row 5
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    folder = build(tmp_path, after=after)
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == [("students.csv", 5, "score")]


def test_not_a_folder(tmp_path: Path) -> None:
    (issue,) = validate_season(tmp_path / "nowhere")
    assert issue.is_error and "is not a season folder" in issue.message
    with pytest.raises(SeasonError):
        load_season(tmp_path / "nowhere")


def test_issue_text() -> None:
    issue = Issue("students.csv", 3, "score", "'abc' is not a number")
    assert str(issue) == "students.csv, row 3, column 'score': 'abc' is not a number"
    assert str(Issue("season.toml", None, None, "is missing")) == "season.toml: is missing"
    assert str(Issue("students.csv", None, "major", "m", "warning")) == (
        "students.csv, column 'major': warning: m")
