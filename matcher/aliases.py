"""Spreadsheets as they come: the column headers, file names and coded values of exports.

A school's or an enterprise's system exports `学号, 姓名, 专业, 学校` rather than `student_id,
name, major, school_id`. Right after a table's header row is read (and before any validation),
`map_headers` renames every header it recognises to the contract's column (DESIGN §3), turns
Chinese slot kinds and size classes into their codes, and names in a warning every header it can
neither map nor knows to ignore. One alias table per season file; headers are compared after
NFKC folding, lower-casing and dropping spaces, `_`, `-`, `*` and a trailing unit in brackets,
so `Student ID`, `学号*` and `预算（元）` all match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import TYPE_CHECKING

import pandas as pd

from matcher.errors import Issue

if TYPE_CHECKING:
    from matcher.io import RawTable

__all__ = ["ALIASES", "IGNORED", "TABLE_ALIASES", "VALUE_ALIASES", "canonical", "map_headers",
           "table_file", "unrecognised", "unrecognised_hint"]

# table -> contract column -> the other names it goes by (the contract's own name always works)
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "schools": {
        "school_id": ("学校代码", "学校编号", "学校编码", "院校代码", "院校编号", "学校id"),
        "name": ("学校名称", "学校", "院校名称", "院校", "校名", "名称"),
        "county": ("县区", "县市区", "所在县区", "区县", "所在县市区", "县"),
        "city_area": ("是否市城区", "市城区", "城区学校", "是否城区", "城区"),
    },
    "parks": {
        "park_id": ("园区编号", "园区代码", "园区编码", "园区id"),
        "name": ("园区名称", "园区", "名称"),
        "county": ("县区", "县市区", "所在县区", "区县", "所在县市区", "县"),
        "local": ("是否本地", "本地", "是否本市", "本市"),
        "cluster": ("产业集群", "主导产业", "集群"),
    },
    "enterprises": {
        "enterprise_id": ("企业编号", "企业代码", "企业编码", "单位编号", "企业id"),
        "name": ("企业名称", "企业", "单位名称", "单位", "名称"),
        "park_id": ("园区编号", "所属园区", "园区代码", "园区"),
        "local": ("是否本地", "本地企业", "本地", "是否本市"),
        "staff": ("职工人数", "职工数", "员工人数", "员工数", "在岗职工数", "在职人数"),
        "size_class": ("企业规模", "规模", "规模类型"),
        "certified": ("产教融合型企业", "是否产教融合型企业", "产教融合型"),
    },
    "students": {
        "student_id": ("学号", "学生编号", "学籍号", "学生学号"),
        "name": ("姓名", "学生姓名"),
        "school_id": ("学校", "学校代码", "学校编号", "所在学校", "院校代码"),
        "major": ("专业", "专业名称", "所学专业"),
        "poor": ("建档立卡", "贫困", "是否建档立卡", "建档立卡贫困户", "是否贫困", "贫困生",
                 "建档立卡贫困家庭"),
        "graduating": ("是否毕业生", "毕业生", "应届毕业生", "是否应届", "是否应届毕业生"),
        "score": ("成绩", "分数", "综合成绩", "总评成绩", "总成绩"),
        "home_county": ("户籍县区", "生源地", "户籍所在地", "家庭所在县区", "籍贯"),
    },
    "slots": {
        "slot_id": ("岗位编号", "岗位代码", "岗位编码", "岗位id"),
        "enterprise_id": ("企业编号", "企业代码", "企业编码", "单位编号"),
        "kind": ("类型", "岗位类型", "类别", "实习类型", "形式"),
        "majors": ("专业", "需求专业", "专业要求", "适用专业", "对口专业"),
        "capacity": ("容量", "人数", "需求人数", "名额", "招收人数", "岗位人数"),
        "durations": ("时长", "期限", "实习时长", "实习期限", "月数"),
        "school_id": ("学校代码", "合作学校", "开班学校", "学校", "学校编号"),
        "min_size": ("最少人数", "开班人数", "最低开班人数"),
        "post": ("岗位", "岗位名称", "工种"),
        "post_staff": ("岗位职工数", "岗位在岗人数", "本岗位职工数"),
    },
    "funds": {
        "fund_id": ("资金编号", "资金代码", "资金编码"),
        "name": ("资金名称", "资金", "名称", "资金来源"),
        "budget": ("预算", "预算金额", "金额", "额度"),
    },
    "preferences": {
        "student_id": ("学号", "学生编号"),
        "slot_id": ("岗位编号", "岗位代码", "岗位"),
        "rank": ("志愿顺序", "志愿", "顺序", "志愿序号", "排序", "第几志愿"),
    },
    "rankings": {
        "slot_id": ("岗位编号", "岗位代码", "岗位"),
        "student_id": ("学号", "学生编号"),
        "rank": ("排名", "名次", "顺序", "排序"),
    },
}

# Headers exports carry that no table needs: kept and ignored without a warning.
IGNORED: tuple[str, ...] = (
    "序号", "编号序号", "备注", "说明", "remark", "remarks", "note", "notes", "comment",
    "comments", "性别", "身份证号", "身份证号码", "联系电话", "电话", "手机", "手机号", "班级",
    "年级", "民族", "出生日期", "地址", "联系人", "行业", "所属行业", "sector", "email", "邮箱",
)

# table -> file (CSV) or sheet (xlsx) names it may come under besides its own
TABLE_ALIASES: dict[str, tuple[str, ...]] = {
    "schools": ("学校", "院校", "学校名单"),
    "parks": ("园区", "园区名单"),
    "enterprises": ("企业", "企业名单"),
    "students": ("学生", "学生名单"),
    "slots": ("岗位", "岗位名单", "实习岗位"),
    "funds": ("资金", "补贴资金"),
    "preferences": ("志愿", "学生志愿"),
    "rankings": ("排名", "企业排名"),
}

# (table, column) -> words an export uses -> the contract's code
VALUE_ALIASES: dict[tuple[str, str], dict[str, str]] = {
    ("slots", "kind"): {
        "跟岗": "shadow", "跟岗实习": "shadow", "顶岗": "post", "顶岗实习": "post",
        "岗位实习": "post", "订单": "order", "订单班": "order", "订单培养": "order",
        "定向培养": "order", "定向培养专班": "order", "学徒": "apprentice",
        "学徒制": "apprentice", "现代学徒制": "apprentice", "新型学徒制": "apprentice",
        "就业": "employment", "毕业生就业": "employment",
    },
    ("enterprises", "size_class"): {
        "大型": "large", "大型企业": "large", "中型": "medium", "中型企业": "medium",
        "小型": "small", "小型企业": "small", "微型": "micro", "微型企业": "micro",
    },
}
# list columns: the separators Chinese exports use, read as the contract's ';'
LIST_COLUMNS = {("slots", "majors"), ("slots", "durations")}
_LIST_SEPARATORS = re.compile(r"[；、]")

_UNIT = re.compile(r"\([^()]*\)$")
_DROP = re.compile(r"[\s_\-*]+")


def _norm(header: str) -> str:
    """A header folded for comparison: NFKC, lower case, no spaces/_/-/*, no trailing unit."""
    h = unicodedata.normalize("NFKC", header).strip().lower()
    h = _DROP.sub("", h)
    stripped = _UNIT.sub("", h)
    return stripped or h


def _lookup() -> dict[str, dict[str, str]]:
    """Per table, folded header -> contract column (the contract's own names included)."""
    out: dict[str, dict[str, str]] = {}
    for table, cols in ALIASES.items():
        found: dict[str, str] = {}
        for col, names in cols.items():
            for n in (col, *names):
                found.setdefault(_norm(n), col)
        out[table] = found
    return out


_LOOKUP = _lookup()
_IGNORED = frozenset(_norm(h) for h in IGNORED)


def canonical(table: str, header: str) -> str | None:
    """The contract column `header` stands for in `table`, or None."""
    return _LOOKUP.get(table, {}).get(_norm(header))


def unrecognised(table: str, headers: list[str] | pd.Index) -> list[str]:
    """Headers that are neither a column of `table`, nor an alias, nor a known extra."""
    known = ALIASES.get(table, {})
    return [h for h in headers
            if h not in known and canonical(table, h) is None and _norm(h) not in _IGNORED]


def unrecognised_hint(table: str, headers: list[str] | pd.Index) -> str:
    """Text naming the headers present that no alias maps, for a 'column is missing' error."""
    left = unrecognised(table, headers)
    if not left:
        return ""
    return ("; headers not recognised: " + ", ".join(repr(h) for h in left)
            + " (matcher/aliases.py lists the names understood)")


def table_file(names: list[str], table: str, suffix: str = "") -> str | None:
    """Which of `names` (files or sheets) holds `table`: its own name first, then an alias."""
    for n in (table, *TABLE_ALIASES.get(table, ())):
        if n + suffix in names:
            return n + suffix
    return None


def map_headers(tables: dict[str, RawTable]) -> tuple[dict[str, RawTable], list[Issue]]:
    """Rename recognised headers to contract columns and normalise coded values, per table.

    Returns the tables (unchanged objects where nothing needed mapping) and a warning per header
    that cannot be mapped and is not a known extra, or that repeats a column already given."""
    out: dict[str, RawTable] = {}
    issues: list[Issue] = []
    for name, raw in tables.items():
        frame, found = _map_table(name, raw.file, raw.header_row, raw.frame)
        issues += found
        out[name] = raw if frame is raw.frame else replace(raw, frame=frame)
    return out, issues


def _map_table(name: str, file: str, header_row: int | None, frame: pd.DataFrame
               ) -> tuple[pd.DataFrame, list[Issue]]:
    known = ALIASES.get(name, {})
    columns = [str(c) for c in frame.columns]
    given = {c: c for c in columns if c in known}  # contract column -> header giving it
    rename: dict[str, str] = {}
    issues: list[Issue] = []
    for header in columns:
        if header in known:
            continue
        target = canonical(name, header)
        if target is None:
            if _norm(header) not in _IGNORED:
                issues.append(Issue(file, header_row, header,
                                    f"is not a column of {name} and no alias maps it: ignored "
                                    "(matcher/aliases.py lists the names understood)",
                                    "warning"))
            continue
        if target in given:
            issues.append(Issue(file, header_row, header,
                                f"would be {target!r}, which column {given[target]!r} already "
                                "gives: ignored", "warning"))
            continue
        given[target] = header
        rename[header] = target
    if rename:
        frame = frame.rename(columns=rename)
    return _map_values(name, frame), issues


def _map_values(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Chinese kinds and size classes as codes; '；' and '、' in list cells as ';'."""
    changed: dict[str, pd.Series] = {}
    for (table, col), words in VALUE_ALIASES.items():
        if table == name and col in frame.columns:
            s = frame[col].astype(str)
            if s.isin(list(words)).any():
                changed[col] = s.map(lambda v, w=words: w.get(v, v))
    for table, col in LIST_COLUMNS:
        if table == name and col in frame.columns:
            s = changed.get(col, frame[col].astype(str))
            if s.str.contains(_LIST_SEPARATORS).any():
                changed[col] = s.str.replace(_LIST_SEPARATORS, ";", regex=True)
    if not changed:
        return frame
    frame = frame.copy()
    for col, s in changed.items():
        frame[col] = s
    return frame
