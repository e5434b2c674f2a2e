"""Spreadsheets as they come: Chinese headers, file and sheet names, kinds, list separators."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from matcher.aliases import (
    ALIASES,
    TABLE_ALIASES,
    VALUE_ALIASES,
    _norm,
    canonical,
    unrecognised,
)
from matcher.season import SCHEMA, load_season, validate_season
from tests.builders import slot, student, write_season

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "instances" / "sample"


def _small(folder: Path) -> Path:
    return write_season(folder, students=[student("S1"), student("S2", poor="true")],
                        slots=[slot("T1", capacity=2)], funds=[{"fund_id": "F1", "budget": 10}])


def _rename(path: Path, mapping: dict[str, str], encoding: str = "utf-8",
            to: Path | None = None, extra: dict[str, str] | None = None) -> None:
    """Rewrite one CSV file with headers renamed (and extra columns), in `encoding`."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False).rename(columns=mapping)
    for col, val in (extra or {}).items():
        df[col] = val
    path.unlink()
    df.to_csv(to or path, index=False, encoding=encoding)


def test_every_contract_column_has_an_entry_and_no_alias_is_ambiguous() -> None:
    for table, schema in SCHEMA.items():
        assert set(ALIASES[table]) == set(schema), table
        seen: dict[str, str] = {}
        for col, names in ALIASES[table].items():
            for n in (col, *names):
                assert seen.setdefault(_norm(n), col) == col, (table, n)
    assert set(TABLE_ALIASES) == set(SCHEMA)
    files = [n for names in TABLE_ALIASES.values() for n in names]
    assert len(files) == len(set(files))
    for (table, col), words in VALUE_ALIASES.items():
        assert col in SCHEMA[table] and words


@pytest.mark.parametrize(("table", "header", "column"), [
    ("students", "学号", "student_id"),
    ("students", "Student ID", "student_id"),
    ("students", " 学号* ", "student_id"),
    ("students", "学校", "school_id"),
    ("students", "建档立卡", "poor"),
    ("students", "是否毕业生", "graduating"),
    ("students", "成绩（分）", "score"),
    ("slots", "岗位编号", "slot_id"),
    ("slots", "人数", "capacity"),
    ("slots", "实习时长（月）", "durations"),
    ("funds", "预算（元）", "budget"),
    ("funds", "ＦＵＮＤ＿ＩＤ", "fund_id"),  # full-width letters fold by NFKC
    ("preferences", "志愿顺序", "rank"),
    ("enterprises", "园区编号", "park_id"),
    ("parks", "园区编号", "park_id"),
])
def test_headers_map_to_contract_columns(table: str, header: str, column: str) -> None:
    assert canonical(table, header) == column


def test_unknown_and_ignored_headers() -> None:
    assert canonical("students", "学生姓名拼音") is None
    assert unrecognised("students", ["学号", "student_id", "备注", "性别", "宿舍号"]) == ["宿舍号"]


def test_gbk_export_with_chinese_headers_loads_like_the_contract(tmp_path: Path) -> None:
    plain = _small(tmp_path / "plain")
    zh = tmp_path / "zh"
    shutil.copytree(plain, zh)
    _rename(zh / "students.csv", {"student_id": "学号", "name": "姓名", "school_id": "学校",
                                  "major": "专业", "poor": "建档立卡", "graduating": "是否毕业生",
                                  "score": "成绩"}, "gb18030", to=zh / "学生.csv",
            extra={"备注": "转专业", "性别": "男"})
    _rename(zh / "slots.csv", {"slot_id": "岗位编号", "enterprise_id": "企业编号", "kind": "类型",
                               "majors": "需求专业", "capacity": "人数",
                               "durations": "时长（月）"}, "gb18030")
    _rename(zh / "funds.csv", {"fund_id": "资金编号", "name": "资金名称", "budget": "预算（元）"},
            "gb18030")
    assert validate_season(zh) == []
    a, b = load_season(plain), load_season(zh)
    for name in ("students", "slots", "funds"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_like=True)


def test_xlsx_with_chinese_sheet_names_and_headers(tmp_path: Path) -> None:
    plain = _small(tmp_path / "plain")
    folder = tmp_path / "xlsx"
    folder.mkdir()
    shutil.copy(plain / "season.toml", folder)
    zh_sheet = {"students": "学生", "slots": "岗位"}
    with pd.ExcelWriter(folder / "season.xlsx") as xl:
        for csv in sorted(plain.glob("*.csv")):
            df = pd.read_csv(csv, dtype=str, keep_default_na=False)
            if csv.stem == "students":
                df = df.rename(columns={"student_id": "学号", "major": "专业"})
            df.to_excel(xl, sheet_name=zh_sheet.get(csv.stem, csv.stem), index=False)
    assert validate_season(folder) == []
    season = load_season(folder)
    assert list(season.students["student_id"]) == ["S1", "S2"]


def test_unmapped_header_is_a_warning_naming_file_and_column(tmp_path: Path) -> None:
    folder = _small(tmp_path / "s")
    _rename(folder / "students.csv", {"student_id": "学号"}, extra={"宿舍号": "A101"})
    (warning,) = validate_season(folder)
    assert (warning.severity, warning.file, warning.row, warning.column) == (
        "warning", "students.csv", 1, "宿舍号")
    assert "no alias maps it: ignored" in warning.message
    assert load_season(folder).warnings == (warning,)


def test_missing_required_column_names_the_unmapped_headers(tmp_path: Path) -> None:
    folder = _small(tmp_path / "s")
    _rename(folder / "students.csv", {"student_id": "学生证编码"}, "gb18030")
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == [("students.csv", 1, "student_id")]
    assert errors[0].message.startswith("required column is missing")
    assert "'学生证编码'" in errors[0].message


def test_two_headers_for_one_column_keep_the_first_and_warn(tmp_path: Path) -> None:
    folder = _small(tmp_path / "s")
    _rename(folder / "students.csv", {"school_id": "学校代码"}, extra={"学校": "SC9"})
    (warning,) = validate_season(folder)
    assert (warning.file, warning.column) == ("students.csv", "学校")
    assert "'school_id'" in warning.message and "'学校代码'" in warning.message
    assert set(load_season(folder).students["school_id"]) == {"SC1"}


def test_chinese_kinds_and_list_separators(tmp_path: Path) -> None:
    folder = write_season(
        tmp_path / "s", students=[student("S1"), student("S2", major="会计")],
        slots=[slot("T1", kind="跟岗实习", majors="机电；会计"), slot("T2", kind="订单班"),
               slot("T3", kind="顶岗", majors="机电、会计", durations="3；6")])
    assert validate_season(folder) == []
    slots = load_season(folder).slots.set_index("slot_id")
    assert list(slots["kind"]) == ["shadow", "order", "post"]
    assert slots.loc["T1", "majors"] == ("机电", "会计")
    assert slots.loc["T3", "durations"] == (3, 6)


def test_an_unknown_kind_word_is_still_an_error(tmp_path: Path) -> None:
    folder = write_season(tmp_path / "s", students=[student("S1")],
                          slots=[slot("T1", kind="实训")])
    (error,) = validate_season(folder)
    assert (error.file, error.row, error.column) == ("slots.csv", 2, "kind")
    assert "'实训' is not a slot kind" in error.message


def test_the_bundled_sample_reads_without_warnings() -> None:
    """Its `sector` column is a known extra: no warning about it."""
    assert [i for i in validate_season(SAMPLE) if "alias" in i.message] == []
