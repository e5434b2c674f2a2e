"""The coordinator's workbook, opened back and checked cell by cell against numbers computed here,
independently, from the Allocation and the season tables."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

import matcher
from matcher import labels
from matcher.report import display_width, write_reports, write_workbook
from matcher.report_data import ResultError, from_allocation, from_result
from matcher.results import write_result
from matcher.season import load_season

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "instances" / "sample"
ZH_SHEETS = ["概览", "安置名单", "补贴台账", "未安置", "园区×专业", "学校×专业", "县区", "资金使用"]
EN_SHEETS = ["Summary", "Assignments", "Subsidy ledger", "Unplaced", "Park × major",
             "School × major", "Counties", "Fund use"]
HEAD = 3  # title, note, header


@pytest.fixture(scope="module")
def solved():
    season = load_season(SAMPLE)
    alloc = matcher.solve(season, time_limit=60)
    assert alloc.audit.ok
    return season, alloc


@pytest.fixture(scope="module")
def books(solved, tmp_path_factory):
    season, alloc = solved
    folder = tmp_path_factory.mktemp("book")
    data = from_allocation(alloc, season)
    zh = write_workbook(data, folder / "zh.xlsx", "zh")
    en = write_workbook(data, folder / "en.xlsx", "en")
    return load_workbook(zh), load_workbook(en)


def table(ws) -> tuple[list, list[list]]:
    """Header and data rows (the totals row included) of a sheet."""
    rows = [list(r) for r in ws.iter_rows(min_row=HEAD, values_only=True)]
    return rows[0], rows[1:]


def records(ws) -> list[dict]:
    head, rows = table(ws)
    return [dict(zip(head, r, strict=True)) for r in rows]


def by_id(frame: pd.DataFrame, key: str) -> dict[str, dict]:
    return {r[key]: r for r in frame.to_dict("records")}


def test_sheets_headers_and_layout(books) -> None:
    zh, en = books
    assert zh.sheetnames == ZH_SHEETS
    assert en.sheetnames == EN_SHEETS
    ws = zh["安置名单"]
    head, _ = table(ws)
    assert head[:6] == ["学号", "姓名", "学校代码", "学校", "专业", "岗位编号"]
    assert table(en["Assignments"])[0][:6] == ["Student ID", "Name", "School ID", "School",
                                               "Major", "Slot ID"]
    for book in (zh, en):
        for ws in book:
            assert ws.freeze_panes == "A4", ws.title
            assert ws.auto_filter.ref.startswith("A3:"), ws.title
            assert all(c.font.bold for c in ws[HEAD] if c.value is not None)
    assert "第3条" in zh["园区×专业"]["A2"].value and "第26条" in zh["学校×专业"]["A2"].value
    assert "§3" in en["Counties"]["A2"].value and "§26" in en["Counties"]["A2"].value


def test_assignments_carry_the_season_names(books, solved) -> None:
    season, alloc = solved
    zh, en = books
    stu = by_id(season.students, "student_id")
    school = by_id(season.schools, "school_id")
    ent = by_id(season.enterprises, "enterprise_id")
    park = by_id(season.parks, "park_id")
    rows = records(zh["安置名单"])
    assert len(rows) == len(alloc.assignments) == alloc.metrics["placed"]
    kinds_zh = {"shadow": "跟岗实习", "post": "顶岗实习", "order": "订单班", "apprentice": "学徒",
                "employment": "就业"}
    for row, a in zip(rows, alloc.assignments.to_dict("records"), strict=True):
        s = stu[a["student_id"]]
        assert row["学号"] == a["student_id"] and row["姓名"] == s["name"]
        assert row["学校"] == school[s["school_id"]]["name"] and row["专业"] == s["major"]
        assert row["企业"] == ent[a["enterprise_id"]]["name"]
        assert row["园区"] == (park[a["park_id"]]["name"] if a["park_id"] else "园区外")
        assert row["类型"] == kinds_zh[a["kind"]]
        assert row["本地企业"] == ("是" if a["local"] else "否")
        assert row["补贴（元）"] == a["subsidy"]
    en_rows = records(en["Assignments"])
    assert {r["Kind"] for r in en_rows} <= {"shadow internship", "post internship", "order class",
                                            "apprenticeship", "employment"}
    assert zh["安置名单"].cell(HEAD + 1, 17).number_format == "#,##0.00"


def test_ledger_lines_with_clause_fund_and_money_format(books, solved) -> None:
    season, alloc = solved
    zh, _ = books
    rules = {r.id: r for r in season.policy.subsidies}
    fund_names = dict(zip(season.funds["fund_id"], season.funds["name"], strict=True))
    ws = zh["补贴台账"]
    rows = records(ws)
    assert len(rows) == len(alloc.ledger)
    for row in rows:
        rule = rules[row["规则编号"]]
        assert row["政策条款"] == rule.clause and row["补贴项目"] == rule.name
        assert row["资金"] == fund_names[row["资金编号"]] == fund_names[rule.fund]
    assert sum(r["金额（元）"] for r in rows) == alloc.metrics["spend"]
    amount_col = table(ws)[0].index("金额（元）") + 1
    assert all(ws.cell(r, amount_col).number_format == "#,##0.00"
               for r in range(HEAD + 1, ws.max_row + 1))


def test_unplaced_with_reasons(books, solved) -> None:
    _, alloc = solved
    zh, en = books
    rows = records(zh["未安置"])
    assert [r["学号"] for r in rows] == list(alloc.unplaced["student_id"])
    assert [r["原因说明（审计）"] for r in rows] == list(alloc.unplaced["reason"])
    words = {"capacity": "名额已满", "budget": "资金预算不足"}
    for r, reason in zip(rows, alloc.unplaced["reason"], strict=True):
        first = reason.split(":")[0]
        if first in words:
            assert r["原因类别"].startswith(words[first])
    assert {r["Reason"].split(", ")[0] for r in records(en["Unplaced"])} <= {
        "capacity full", "fund budget spent", "enterprise intern cap", "same-post cap",
        "order class below its minimum", "registered-poor students first", "no eligible slot",
        "an open option left unused"}


def _expected_counts(season, alloc, key) -> dict:
    """Counts per key computed placement by placement: placed, interns, local, order."""
    stu = by_id(season.students, "student_id")
    out: dict = defaultdict(Counter)
    for a in alloc.assignments.to_dict("records"):
        s = stu[a["student_id"]]
        k = key(a, s)
        out[k]["placed"] += 1
        out[k]["interns"] += a["kind"] in ("shadow", "post")
        out[k]["local"] += bool(a["local"])
        out[k]["local_interns"] += a["kind"] in ("shadow", "post") and bool(a["local"])
        out[k]["local_employment"] += a["kind"] == "employment" and bool(a["local"])
        out[k]["order"] += a["kind"] == "order"
    return out


COUNT_HEADERS = {"placed": "已安置", "interns": "实习（跟岗+顶岗）", "local": "本地安置",
                 "local_interns": "本地实习", "local_employment": "本地就业", "order": "订单班人数"}


def _check_counts(rows: list[dict], expected: dict, key) -> None:
    *data, total = rows
    assert total[next(iter(total))] == "合计"
    assert {key(r) for r in data} == set(expected)
    for r in data:
        for name, head in COUNT_HEADERS.items():
            assert r[head] == expected[key(r)][name], (key(r), name)
    for name, head in COUNT_HEADERS.items():
        assert total[head] == sum(e[name] for e in expected.values())


def test_park_by_major(books, solved) -> None:
    season, alloc = solved
    expected = _expected_counts(season, alloc, lambda a, s: (a["park_id"] or "", s["major"]))
    rows = records(books[0]["园区×专业"])
    _check_counts(rows, expected, lambda r: (r["园区编号"] or "", r["专业"]))
    assert any(r["园区"] == "园区外" for r in rows[:-1])  # the sample places some outside parks


def test_school_by_major_with_supply(books, solved) -> None:
    season, alloc = solved
    expected = _expected_counts(season, alloc, lambda a, s: (s["school_id"], s["major"]))
    students = Counter(zip(season.students["school_id"], season.students["major"], strict=True))
    grads = Counter((s["school_id"], s["major"]) for s in season.students.to_dict("records")
                    if s["graduating"])
    rows = records(books[0]["学校×专业"])
    for k in students:  # every (school, major) with students has a row, placed or not
        expected.setdefault(k, Counter())
    _check_counts(rows, expected, lambda r: (r["学校代码"], r["专业"]))
    for r in rows[:-1]:
        assert r["学生数"] == students[(r["学校代码"], r["专业"])]
        assert r["应届毕业生"] == grads[(r["学校代码"], r["专业"])]
    assert rows[-1]["学生数"] == len(season.students)


def test_counties_send_and_host(books, solved) -> None:
    season, alloc = solved
    school_county = dict(zip(season.schools["school_id"], season.schools["county"], strict=True))
    park_county = dict(zip(season.parks["park_id"], season.parks["county"], strict=True))
    expected = _expected_counts(season, alloc, lambda a, s: school_county[s["school_id"]])
    hosted = Counter(park_county[p] for p in alloc.assignments["park_id"] if p)
    students = Counter(school_county[s] for s in season.students["school_id"])
    rows = records(books[0]["县区"])
    for c in set(school_county.values()) | set(park_county.values()):
        expected.setdefault(c, Counter())
    _check_counts(rows, expected, lambda r: r["县区"])
    for r in rows[:-1]:
        assert r["本县区园区接收"] == hosted[r["县区"]]
        assert r["学生数"] == students[r["县区"]]
    assert rows[-1]["本县区园区接收"] == alloc.metrics["in_park"]


def test_fund_use(books, solved) -> None:
    season, alloc = solved
    ws = books[0]["资金使用"]
    rows = records(ws)
    spend: Counter = Counter()
    for line in alloc.ledger.to_dict("records"):
        spend[line["fund_id"]] += line["amount"]
    budgets = dict(zip(season.funds["fund_id"], season.funds["budget"], strict=True))
    *data, total = rows
    assert [r["资金编号"] for r in data] == list(season.funds["fund_id"])
    for r in data:
        f = r["资金编号"]
        assert r["预算（元）"] == budgets[f] and r["支出（元）"] == spend[f]
        assert r["结余（元）"] == budgets[f] - spend[f]
        assert r["使用率"] == pytest.approx(spend[f] / budgets[f])
    assert total["支出（元）"] == alloc.metrics["spend"]
    assert total["预算（元）"] == sum(budgets.values())
    head = table(ws)[0]
    assert ws.cell(HEAD + 1, head.index("使用率") + 1).number_format == "0.0%"
    assert ws.cell(HEAD + 1, head.index("预算（元）") + 1).number_format == "#,##0.00"


def test_summary_sheet(books, solved) -> None:
    _, alloc = solved
    zh, en = books
    got = {r["指标"]: r["数值"] for r in records(zh["概览"])}
    assert got["已安置"] == alloc.metrics["placed"]
    assert got["求解状态"] == "最优"
    assert got["独立审计"] == "通过"
    assert got["补贴总额（元）"] == alloc.metrics["spend"]
    assert got["未安置"] == len(alloc.unplaced)
    assert got["目标层：本地安置人数"] == alloc.metrics["objective"]["local"]
    got_en = {r["Metric"]: r["Value"] for r in records(en["Summary"])}
    assert got_en["Placed"] == alloc.metrics["placed"] and got_en["Status"] == "optimal"


def test_widths_count_chinese_characters_double(books, solved) -> None:
    season, _ = solved
    ws = books[0]["安置名单"]
    col = table(ws)[0].index("企业") + 1
    longest = max(len(n) for n in season.enterprises["name"])
    assert ws.column_dimensions[ws.cell(1, col).column_letter].width >= 2 * longest
    assert display_width("郴州ab") == 6 and display_width("ＡＢ") == 4


def test_a_failed_write_leaves_the_old_report_and_no_temporary_file(solved, tmp_path: Path,
                                                                     monkeypatch) -> None:
    season, alloc = solved
    data = from_allocation(alloc, season)
    path = write_workbook(data, tmp_path / "report.xlsx")
    before = path.read_bytes()

    def broken(self, filename):
        Path(filename).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr("openpyxl.Workbook.save", broken)
    with pytest.raises(OSError, match="disk full"):
        write_workbook(data, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]


def test_rebuilt_from_the_result_folder_equals_the_report_of_the_allocation(
        solved, tmp_path: Path) -> None:
    season, alloc = solved
    folder = write_result(alloc, tmp_path / "res")
    again, direct = from_result(folder, season), from_allocation(alloc, season)
    for name in ("assignments", "ledger", "unplaced", "park_major", "school_major", "county",
                 "funds", "by_park", "by_school"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(direct, name),
                                      check_dtype=False, obj=name)
    assert write_reports(again, folder, "xlsx", "en") == [folder / "report.xlsx"]


def test_result_folder_errors_name_the_file(solved, tmp_path: Path) -> None:
    season, alloc = solved
    folder = write_result(alloc, tmp_path / "res")
    (folder / "ledger.csv").unlink()
    with pytest.raises(ResultError, match=r"ledger\.csv is missing"):
        from_result(folder, season)
    folder = write_result(alloc, tmp_path / "res2")
    a = pd.read_csv(folder / "assignments.csv", dtype=str, keep_default_na=False)
    a.loc[1, "duration_months"] = "six"
    a.to_csv(folder / "assignments.csv", index=False)
    with pytest.raises(ResultError, match=r"row 3, column 'duration_months': 'six'"):
        from_result(folder, season)
    other = load_season(SAMPLE, policy=matcher.policy.load_policy("linfen-2018")[0])
    with pytest.raises(ResultError, match="does not fit season"):
        from_result(write_result(alloc, tmp_path / "res3"), other)


def test_every_label_has_both_languages_and_sheet_names_excel_accepts() -> None:
    for table_ in (labels.SHEETS, labels.COLUMNS, labels.METRICS, labels.TEXTS, labels.NOTES,
                   *labels.VALUES.values()):
        for key, pair in table_.items():
            assert len(pair) == 2 and all(pair), key
    for i in range(2):
        names = [pair[i] for pair in labels.SHEETS.values()]
        assert len(set(names)) == len(names)
        assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    with pytest.raises(ValueError, match="unknown language"):
        labels.sheet("summary", "fr")
