"""One season in every input format loads to the same typed tables (DESIGN §3).

The season is written as UTF-8 CSV (with and without a BOM), GBK CSV (Chinese names, English
headers), one `season.xlsx` workbook (a sheet per table, typed cells), Parquet files (typed
columns) and one `season.json` (table name -> list of row objects, null for empty); `season.toml`
stays beside them. An error names the file of its format and the row a person would look for.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from matcher.errors import SeasonError
from matcher.io import detect_format
from matcher.season import load_season, validate_season

COLUMNS = {
    "schools": ["school_id", "name", "county", "city_area"],
    "parks": ["park_id", "name", "county", "local", "cluster"],
    "enterprises": ["enterprise_id", "name", "park_id", "local", "staff", "size_class",
                    "certified"],
    "students": ["student_id", "name", "school_id", "major", "poor", "graduating", "score",
                 "home_county"],
    "slots": ["slot_id", "enterprise_id", "kind", "majors", "capacity", "durations", "school_id",
              "min_size", "post", "post_staff"],
    "funds": ["fund_id", "name", "budget"],
    "preferences": ["student_id", "slot_id", "rank"],
    "rankings": ["slot_id", "student_id", "rank"],
}
BOOL = {"city_area", "local", "certified", "poor", "graduating"}
INT = {"staff", "capacity", "min_size", "post_staff", "rank"}
FLOAT = {"score", "budget"}


def season_rows() -> dict[str, list[tuple]]:
    """The season as typed values (None: an empty cell), in COLUMNS order. Fresh each call."""
    return {
        "schools": [
            ("SC1", "郴州职业技术学院", "北湖区", True),
            ("SC2", "湘南学院", "苏仙区", False),
        ],
        "parks": [
            ("P1", "郴州高新技术产业开发区", "苏仙区", True, "有色金属"),
            ("P2", "广州南沙园区", "南沙区", False, None),
        ],
        "enterprises": [
            ("E1", "郴州钻石钨制品有限责任公司", "P1", True, 1200, "large", True),
            ("E2", "湘南小微电子厂", None, True, 30, "micro", None),
            ("E3", "南沙精密制造", "P2", False, 400, "medium", False),
        ],
        "students": [
            ("S1", "张三", "SC1", "机电一体化", False, True, 88.0, "桂阳县"),
            ("S2", "李四", "SC1", "机电一体化", True, False, 75.5, None),
            ("S3", "王五", "SC2", "电子商务", False, True, 91.0, "宜章县"),
            ("S4", "赵六", "SC2", "电子商务", True, True, 60.0, None),
        ],
        "slots": [
            ("T1", "E1", "shadow", "机电一体化;电子商务", 2, "3;6", None, None, "装配工", 40),
            ("T2", "E1", "order", "机电一体化", 3, None, "SC1", 2, None, None),
            ("T3", "E2", "post", "电子商务", 1, "3", None, None, None, None),
            ("T4", "E3", "employment", "电子商务;机电一体化", 2, None, None, None, None, None),
        ],
        "funds": [
            ("city_county", "市县两级受益财政", 50000.0),
            ("employment", "就业配套资金", 12000.5),
        ],
        "preferences": [
            ("S1", "T2", 1), ("S1", "T1", 2), ("S3", "T4", 1), ("S3", "T3", 3),
        ],
        "rankings": [
            ("T1", "S2", 1), ("T1", "S1", 2),
        ],
    }


SEASON_TOML = 'name = "格式测试"\nperiods = 2\npolicy = "none"\n'


# ---------------------------------------------------------------------------------------------
# Writers, one per format
# ---------------------------------------------------------------------------------------------


def _text(value: object, chinese_bools: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        if chinese_bools:
            return "是" if value else "否"
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_csv(folder: Path, rows: dict, encoding: str = "utf-8",
              chinese_bools: bool = False) -> None:
    for name, body in rows.items():
        with open(folder / f"{name}.csv", "w", newline="", encoding=encoding) as fh:
            w = csv.writer(fh)
            w.writerow(COLUMNS[name])
            for r in body:
                w.writerow([_text(v, chinese_bools) for v in r])


def write_gbk(folder: Path, rows: dict) -> None:
    write_csv(folder, rows, encoding="gbk", chinese_bools=True)


def write_utf8_bom(folder: Path, rows: dict) -> None:
    write_csv(folder, rows, encoding="utf-8-sig")


def write_xlsx(folder: Path, rows: dict) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    for name, body in rows.items():
        ws = wb.create_sheet(name)
        ws.append(COLUMNS[name])
        for r in body:
            ws.append(list(r))
    wb.save(folder / "season.xlsx")


def _arrow_type(column: str, values: list) -> pa.DataType:
    if column in BOOL:
        return pa.bool_()
    if column in FLOAT:
        return pa.float64()
    if column in INT and all(v is None or isinstance(v, int) for v in values):
        return pa.int64()
    return pa.string()


def write_parquet(folder: Path, rows: dict) -> None:
    for name, body in rows.items():
        arrays, fields = [], []
        for i, col in enumerate(COLUMNS[name]):
            values = [r[i] for r in body]
            typ = _arrow_type(col, values)
            arrays.append(pa.array(values, type=typ))
            fields.append(pa.field(col, typ))
        pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)),
                       folder / f"{name}.parquet")


def write_json(folder: Path, rows: dict) -> None:
    doc = {name: [dict(zip(COLUMNS[name], r, strict=True)) for r in body]
           for name, body in rows.items()}
    (folder / "season.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1),
                                        encoding="utf-8")


WRITERS: dict[str, Callable[[Path, dict], None]] = {
    "csv": write_csv,
    "csv-utf8-bom": write_utf8_bom,
    "csv-gbk": write_gbk,
    "xlsx": write_xlsx,
    "parquet": write_parquet,
    "json": write_json,
}


def write(folder: Path, fmt: str, rows: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    WRITERS[fmt](folder, season_rows() if rows is None else rows)
    (folder / "season.toml").write_text(SEASON_TOML, encoding="utf-8")
    return folder


def file_label(fmt: str, table: str) -> str:
    """How an Issue names a table's file in each format."""
    return {"xlsx": f"season.xlsx[{table}]", "json": f"season.json[{table}]",
            "parquet": f"{table}.parquet"}.get(fmt, f"{table}.csv")


def row_number(fmt: str, index: int) -> int:
    """The row a person looks for: a sheet or CSV row (header = 1), or a 1-based list index."""
    return index + 2 if fmt.startswith("csv") or fmt == "xlsx" else index + 1


TABLES = ("schools", "parks", "enterprises", "students", "slots", "funds", "preferences",
          "rankings")


def frames(season) -> dict[str, pd.DataFrame]:
    return {t: getattr(season, t).drop(columns="_row") for t in TABLES}


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    folder = write(tmp_path_factory.mktemp("reference"), "csv")
    assert validate_season(folder) == []
    return frames(load_season(folder))


def test_reference_tables_are_typed(reference: dict[str, pd.DataFrame]) -> None:
    students = reference["students"].set_index("student_id")
    assert list(students.index) == ["S1", "S2", "S3", "S4"]
    assert students["poor"].dtype == bool
    assert list(students["poor"]) == [False, True, False, True]
    assert students["score"].dtype == float
    assert list(students["score"]) == [88.0, 75.5, 91.0, 60.0]
    assert list(students["name"]) == ["张三", "李四", "王五", "赵六"]
    assert list(students["home_county"]) == ["桂阳县", "", "宜章县", ""]
    slots = reference["slots"].set_index("slot_id")
    assert slots["capacity"].dtype == "int64"
    assert list(slots["capacity"]) == [2, 3, 1, 2]
    assert slots.loc["T1", "majors"] == ("机电一体化", "电子商务")
    assert slots.loc["T1", "durations"] == (3, 6)
    assert slots.loc["T2", "durations"] == ()
    assert list(slots["min_size"]) == [0, 2, 0, 0]
    assert list(slots["post_staff"]) == [40, -1, -1, -1]
    assert list(slots["school_id"]) == ["", "SC1", "", ""]
    enterprises = reference["enterprises"].set_index("enterprise_id")
    assert list(enterprises["park_id"]) == ["P1", "", "P2"]
    assert list(enterprises["certified"]) == [True, False, False]
    assert list(enterprises["staff"]) == [1200, 30, 400]
    assert list(reference["funds"]["budget"]) == [50000.0, 12000.5]
    assert reference["preferences"]["rank"].dtype == "int64"
    assert list(reference["rankings"]["student_id"]) == ["S2", "S1"]


@pytest.mark.parametrize("fmt", [f for f in WRITERS if f != "csv"])
def test_every_format_loads_the_same_tables(tmp_path: Path, fmt: str,
                                            reference: dict[str, pd.DataFrame]) -> None:
    folder = write(tmp_path, fmt)
    assert detect_format(folder) == ("csv" if fmt.startswith("csv") else fmt)
    assert validate_season(folder) == []
    season = load_season(folder)
    assert season.name == "格式测试" and season.periods == 2
    got = frames(season)
    for table in TABLES:
        pd.testing.assert_frame_equal(got[table], reference[table], obj=f"{fmt} {table}")


def test_gbk_files_are_not_utf8(tmp_path: Path) -> None:
    folder = write(tmp_path, "csv-gbk")
    raw = (folder / "students.csv").read_bytes()
    assert "张三".encode("gbk") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def _break(rows: dict) -> dict:
    """Two errors: an unknown school in students' 2nd row, a negative capacity in slots' 3rd."""
    students = rows["students"]
    students[1] = (*students[1][:2], "SC9", *students[1][3:])
    slots = rows["slots"]
    slots[2] = (*slots[2][:4], -1, *slots[2][5:])
    return rows


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_errors_name_the_file_and_row_of_each_format(tmp_path: Path, fmt: str) -> None:
    folder = write(tmp_path, fmt, _break(season_rows()))
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == sorted([
        (file_label(fmt, "slots"), row_number(fmt, 2), "capacity"),
        (file_label(fmt, "students"), row_number(fmt, 1), "school_id"),
    ])
    by_column = {i.column: i for i in errors}
    assert "unknown school_id 'SC9'" in by_column["school_id"].message
    assert "'-1' is not a non-negative whole number" in by_column["capacity"].message
    with pytest.raises(SeasonError) as info:
        load_season(folder)
    assert info.value.errors == errors
    if fmt == "xlsx":
        assert str(by_column["school_id"]).startswith("season.xlsx[students], row 3, ")
    if fmt == "json":
        assert str(by_column["school_id"]).startswith("season.json[students], row 2, ")


def test_xlsx_rows_are_sheet_rows_across_blank_rows(tmp_path: Path) -> None:
    folder = write(tmp_path, "xlsx", _break(season_rows()))
    from openpyxl import load_workbook

    wb = load_workbook(folder / "season.xlsx")
    wb["students"].insert_rows(2, amount=2)  # two blank rows above S1: S2 moves to row 5
    wb.save(folder / "season.xlsx")
    errors = [i for i in validate_season(folder) if i.is_error]
    assert ("season.xlsx[students]", 5, "school_id") in [(i.file, i.row, i.column)
                                                        for i in errors]


def test_typed_cells_with_wrong_types_are_errors(tmp_path: Path) -> None:
    rows = season_rows()
    rows["slots"][0] = (*rows["slots"][0][:4], 2.5, *rows["slots"][0][5:])   # a float capacity
    rows["students"][3] = (*rows["students"][3][:4], "yes please", *rows["students"][3][5:])
    folder = write(tmp_path, "json", rows)
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == [
        ("season.json[slots]", 1, "capacity"), ("season.json[students]", 4, "poor"),
    ]
    assert "'2.5' is not a non-negative whole number" in errors[0].message


def test_json_row_that_is_not_an_object(tmp_path: Path) -> None:
    folder = write(tmp_path, "json")
    doc = json.loads((folder / "season.json").read_text(encoding="utf-8"))
    doc["students"].insert(2, ["S9", "x"])
    (folder / "season.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row) for i in errors] == [("season.json[students]", 3)]
    assert "is not an object" in errors[0].message


def test_json_that_is_not_json(tmp_path: Path) -> None:
    folder = write(tmp_path, "json")
    (folder / "season.json").write_text('{"students": [', encoding="utf-8")
    issues = validate_season(folder)
    assert any(i.file == "season.json" and "is not valid JSON" in i.message for i in issues)


def test_xlsx_missing_column(tmp_path: Path) -> None:
    folder = write(tmp_path, "xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(folder / "season.xlsx")
    wb["students"].delete_cols(COLUMNS["students"].index("score") + 1)
    wb.save(folder / "season.xlsx")
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == [("season.xlsx[students]", 1, "score")]
    assert "required column is missing" in errors[0].message
    assert str(errors[0]).startswith("season.xlsx[students], row 1, column 'score': ")


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_missing_table_names_the_file_of_its_format(tmp_path: Path, fmt: str) -> None:
    rows = season_rows()
    del rows["slots"]
    folder = write(tmp_path, fmt, rows)
    errors = [i for i in validate_season(folder) if i.is_error]
    assert len(errors) == 1, errors
    expected = {"xlsx": ("season.xlsx", "season.xlsx[slots]"),
                "json": ("season.json", "season.json[slots]"),
                "parquet": ("slots.parquet",)}.get(fmt, ("slots.csv",))
    assert errors[0].file in expected
    assert errors[0].row is None
    assert "missing" in errors[0].message


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_optional_tables_without_rows_are_valid(tmp_path: Path, fmt: str) -> None:
    rows = season_rows()
    rows["funds"] = []
    rows["preferences"] = []
    rows["rankings"] = []
    folder = write(tmp_path, fmt, rows)
    assert validate_season(folder) == []
    season = load_season(folder)
    assert season.funds.empty and season.preferences.empty
    assert season.rankings is not None and season.rankings.empty


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_warnings_name_the_file_of_their_format(tmp_path: Path, fmt: str) -> None:
    rows = season_rows()
    rows["students"][3] = (*rows["students"][3][:3], "烹饪", *rows["students"][3][4:])
    folder = write(tmp_path, fmt, rows)
    (warning,) = validate_season(folder)
    assert warning.severity == "warning"
    assert "major '烹饪'" in warning.message
    assert warning.file == file_label(fmt, "students")


def test_parquet_with_pandas_nullable_dtypes(tmp_path: Path,
                                             reference: dict[str, pd.DataFrame]) -> None:
    rows = season_rows()
    for name, body in rows.items():
        df = pd.DataFrame(body, columns=COLUMNS[name])
        for col in df.columns:
            if col in INT:
                df[col] = df[col].astype("Int64")
            elif col in BOOL:
                df[col] = df[col].astype("boolean")
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    (tmp_path / "season.toml").write_text(SEASON_TOML, encoding="utf-8")
    assert validate_season(tmp_path) == []
    got = frames(load_season(tmp_path))
    for table in TABLES:
        pd.testing.assert_frame_equal(got[table], reference[table], obj=table)


def header_row(fmt: str) -> int | None:
    """The row of the column names: row 1 of a CSV file or a sheet; JSON and Parquet have none."""
    return 1 if fmt.startswith("csv") or fmt == "xlsx" else None


def _without_column(rows: dict, table: str, column: str,
                    monkeypatch: pytest.MonkeyPatch) -> dict:
    at = COLUMNS[table].index(column)
    monkeypatch.setitem(COLUMNS, table, [c for c in COLUMNS[table] if c != column])
    rows[table] = [r[:at] + r[at + 1:] for r in rows[table]]
    return rows


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_missing_column_names_the_header_row(tmp_path: Path, fmt: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _without_column(season_rows(), "students", "score", monkeypatch)
    folder = write(tmp_path, fmt, rows)
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == [
        (file_label(fmt, "students"), header_row(fmt), "score")]
    assert "required column is missing" in errors[0].message


@pytest.mark.parametrize("fmt", ["csv", "csv-gbk", "xlsx"])
def test_column_named_twice_is_an_error(tmp_path: Path, fmt: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(COLUMNS, "students", [*COLUMNS["students"], "poor"])
    rows = season_rows()
    rows["students"] = [(*r, "maybe") for r in rows["students"]]  # the second 'poor' is ignored
    folder = write(tmp_path, fmt, rows)
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == [
        (file_label(fmt, "students"), 1, "poor")]
    assert "column 'poor' appears twice in the header" in errors[0].message


def test_json_table_that_is_not_a_list_is_not_also_missing(tmp_path: Path) -> None:
    folder = write(tmp_path, "json")
    doc = json.loads((folder / "season.json").read_text(encoding="utf-8"))
    doc["students"] = {"S1": "张三"}
    (folder / "season.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == [("season.json[students]", None, None)]
    assert "must be a list of row objects" in errors[0].message


def test_empty_json_list_for_a_required_table_is_a_table_without_rows(tmp_path: Path) -> None:
    rows = season_rows()
    rows["rankings"] = []
    folder = write(tmp_path, "json", rows)
    doc = json.loads((folder / "season.json").read_text(encoding="utf-8"))
    doc["parks"] = []
    for e in doc["enterprises"]:
        e["park_id"] = None
    (folder / "season.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert validate_season(folder) == []
    season = load_season(folder)
    assert season.parks.empty and list(season.parks.columns) == [*COLUMNS["parks"], "_row"]


@pytest.mark.parametrize("blank_header", [False, True])
def test_xlsx_empty_sheet_is_not_also_missing(tmp_path: Path, blank_header: bool) -> None:
    folder = write(tmp_path, "xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(folder / "season.xlsx")
    ws = wb["slots"]
    ws.delete_rows(1, ws.max_row)
    if blank_header:
        ws.append(["T9", "E1", "shadow", "电子商务", 1, "3"])
        ws.insert_rows(1)
    wb.save(folder / "season.xlsx")
    errors = [i for i in validate_season(folder) if i.is_error]
    if blank_header:
        assert [(i.file, i.row) for i in errors] == [("season.xlsx[slots]", 1)]
        assert "is blank" in errors[0].message
    else:
        assert [(i.file, i.row) for i in errors] == [("season.xlsx[slots]", None)]
        assert "is empty" in errors[0].message


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_fund_warning_names_the_file_of_its_format(tmp_path: Path, fmt: str) -> None:
    folder = write(tmp_path, fmt)
    (folder / "policy.toml").write_text(
        '[[subsidy]]\nid = "r"\nclause = "§1"\namount = 1\nper = "once"\npayee = "student"\n'
        'fund = "nosuch"\n', encoding="utf-8")
    (folder / "season.toml").write_text(SEASON_TOML.replace('"none"', '"policy.toml"'),
                                        encoding="utf-8")
    (warning,) = validate_season(folder)
    assert warning.severity == "warning"
    assert (warning.file, warning.column) == (file_label(fmt, "funds"), "fund_id")
    assert "policy fund 'nosuch' has no row" in warning.message


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_rows_after_a_multiline_cell_are_sheet_rows(tmp_path: Path, fmt: str) -> None:
    """A quoted CSV cell holding a line break keeps its record on one row, as a spreadsheet
    shows it: the same table saved as CSV and as .xlsx reports the same rows."""
    rows = season_rows()
    rows["students"][1] = (rows["students"][1][0], "李\n四", *rows["students"][1][2:])
    rows["students"][2] = (*rows["students"][2][:2], "SC9", *rows["students"][2][3:])
    folder = write(tmp_path, fmt, rows)
    errors = [i for i in validate_season(folder) if i.is_error]
    assert [(i.file, i.row, i.column) for i in errors] == [
        (file_label(fmt, "students"), 4, "school_id")]
