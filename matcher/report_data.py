"""What a report shows, computed once: the result's tables with names joined in from the season,
the counts Chenzhou §3 and §26 ask for, and each fund's budget use.

Built from an `Allocation` just solved, or from a result folder on disk (DESIGN §6) and the
season it was solved from, so `matcher report` rebuilds a report without solving again. The
tables keep codes (slot kinds, payees, booleans, reason codes); `localised` turns a table into
the words and headers of one language for the workbook and the summary page alike.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matcher import labels
from matcher.allocation import ASSIGNMENT_COLUMNS, LEDGER_COLUMNS, Allocation
from matcher.season import Season

__all__ = ["COUNT_COLUMNS", "ReportData", "ResultError", "from_allocation", "from_result",
           "localised", "read_result"]

COUNT_COLUMNS = ["placed", "interns", "local_placed", "local_interns", "local_employment",
                 "order"]
INTERN_KINDS = ("shadow", "post")
SUMMED_COLUMNS = {*COUNT_COLUMNS, "students", "graduating", "hosted", "budget", "spend",
                  "remaining"}
_CODED = {"kind": "kind", "payee": "payee", "poor": "bool", "graduating": "bool",
          "local": "bool", "in_park": "bool"}
_REASON_CODE = re.compile(r"(?:^|; )([a-z_]+):")


class ResultError(ValueError):
    """A result folder that cannot be read back, or that does not fit the season given."""


@dataclass(frozen=True)
class ReportData:
    """Every table a report shows, language-neutral (codes, not words)."""

    season: str
    policy: str
    metrics: dict
    assignments: pd.DataFrame
    ledger: pd.DataFrame
    unplaced: pd.DataFrame
    park_major: pd.DataFrame
    school_major: pd.DataFrame
    county: pd.DataFrame
    funds: pd.DataFrame
    by_park: pd.DataFrame
    by_school: pd.DataFrame

    def total(self, table: str) -> dict[str, float | None]:
        """The totals row of a counts or funds table: sums, and ratios of the sums (None where
        there is nothing to divide by)."""
        df: pd.DataFrame = getattr(self, table)
        out: dict[str, float | None] = {c: df[c].sum().item() for c in df.columns
                                        if c in SUMMED_COLUMNS}
        if table == "funds":
            budgeted = df["budget"].notna()
            out["remaining"] = df.loc[budgeted, "remaining"].sum().item() if budgeted.any() \
                else None
            out["use"] = (df.loc[budgeted, "spend"].sum().item() / out["budget"]
                          if out["budget"] else None)
        elif "local_share" in df.columns:
            out["local_share"] = out["local_placed"] / out["students"] if out["students"] else 0
        return out


def from_allocation(allocation: Allocation, season: Season) -> ReportData:
    """The report of an Allocation just solved for `season`."""
    return build(season, allocation.assignments, allocation.ledger, allocation.unplaced,
                 allocation.metrics)


def from_result(folder: str | Path, season: Season) -> ReportData:
    """The report of a result folder written by `matcher solve --out`, with names from `season`.

    The assignments and ledger go through the independent audit against `season` first: a
    result from another season (or another policy) is refused with `ResultError`."""
    from matcher.audit import audit

    assign, ledger, unplaced, metrics = read_result(folder)
    unknown = sorted(set(assign["student_id"]) - set(season.students["student_id"]))
    if unknown:
        raise ResultError(f"{Path(folder) / 'assignments.csv'}: student(s) "
                          f"{', '.join(map(repr, unknown[:5]))} are not in season "
                          f"{season.name!r}: was the result solved from another season?")
    report = audit(season, assign, ledger)
    if not report.ok:
        raise ResultError(f"{folder} does not fit season {season.name!r} under policy "
                          f"{season.policy.name!r}: " + "; ".join(report.violations[:5])
                          + " (solved from another season, or with --policy?)")
    return build(season, assign, ledger, unplaced, metrics)


def read_result(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """assignments, ledger, unplaced and metrics of a result folder, typed as `decode` makes
    them; `ResultError` names the file, row and column of anything unreadable."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultError(f"{folder} is not a result folder (written by matcher solve --out)")
    assign = _read_csv(folder / "assignments.csv", ASSIGNMENT_COLUMNS)
    for col in ("start_period", "duration_months"):
        assign[col] = _numbers(assign[col], folder / "assignments.csv", col, whole=True)
    for col in ("local", "in_park"):
        assign[col] = _bools(assign[col], folder / "assignments.csv", col)
    assign["subsidy"] = _numbers(assign["subsidy"], folder / "assignments.csv", "subsidy")
    ledger = _read_csv(folder / "ledger.csv", LEDGER_COLUMNS)
    ledger["amount"] = _numbers(ledger["amount"], folder / "ledger.csv", "amount")
    unplaced = _read_csv(folder / "unplaced.csv", ["student_id", "reason"])
    path = folder / "metrics.json"
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultError(f"{path} is missing: is {folder} a result folder?") from None
    except (OSError, ValueError) as exc:
        raise ResultError(f"{path} cannot be read: {exc}") from None
    if not isinstance(metrics, dict):
        raise ResultError(f"{path} must hold a JSON object")
    return assign, ledger, unplaced, metrics


def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        raise ResultError(f"{path} is missing: is {path.parent} a result folder?") from None
    except (OSError, ValueError) as exc:  # ParserError, UnicodeDecodeError, EmptyDataError
        raise ResultError(f"{path} cannot be read: {exc}") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ResultError(f"{path}: column(s) {', '.join(map(repr, missing))} missing")
    return df[columns].copy()


def _numbers(s: pd.Series, path: Path, col: str, whole: bool = False) -> pd.Series:
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() | (whole & (num != np.floor(num)))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ResultError(f"{path}, row {i + 2}, column '{col}': {s.iat[i]!r} is not a "
                          f"{'whole ' if whole else ''}number")
    if whole or (num == np.floor(num)).all():
        return num.astype(np.int64)
    return num.astype(float)


def _bools(s: pd.Series, path: Path, col: str) -> pd.Series:
    low = s.str.lower()
    bad = ~low.isin(["true", "false", "1", "0"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ResultError(f"{path}, row {i + 2}, column '{col}': {s.iat[i]!r} is not true/false")
    return low.isin(["true", "1"])


# ---------------------------------------------------------------------------------------------
# Building the tables
# ---------------------------------------------------------------------------------------------


def _lookup(frame: pd.DataFrame, key: str, col: str) -> pd.Series:
    """`frame[col]` indexed by `frame[key]`, to map ids to names."""
    return pd.Series(frame[col].to_numpy(), index=frame[key].astype(str).to_numpy())


def build(season: Season, assignments: pd.DataFrame, ledger: pd.DataFrame,
          unplaced: pd.DataFrame, metrics: dict) -> ReportData:
    """Join names into the result tables and compute the counts and fund use."""
    st = season.students
    school_name = _lookup(season.schools, "school_id", "name")
    school_county = _lookup(season.schools, "school_id", "county")
    park_name = _lookup(season.parks, "park_id", "name")
    park_county = _lookup(season.parks, "park_id", "county")
    ent_name = _lookup(season.enterprises, "enterprise_id", "name")
    stu = st.set_index(st["student_id"].astype(str))

    a = assignments.copy()
    a["park_id"] = a["park_id"].fillna("").astype(str)
    sid = a["student_id"].astype(str)
    a["name"] = sid.map(stu["name"])
    a["school_id"] = sid.map(stu["school_id"])
    a["school"] = a["school_id"].map(school_name)
    a["major"] = sid.map(stu["major"])
    a["enterprise"] = a["enterprise_id"].astype(str).map(ent_name)
    a["park"] = a["park_id"].map(park_name).fillna("")
    a["county"] = a["park_id"].map(park_county).fillna("")
    a = a[["student_id", "name", "school_id", "school", "major", "slot_id", "kind",
           "enterprise_id", "enterprise", "park_id", "park", "county", "start_period",
           "duration_months", "local", "in_park", "subsidy"]]

    rules = {r.id: r.name for r in season.policy.subsidies}
    slot_ent = _lookup(season.slots, "slot_id", "enterprise_id")
    fund_name = _lookup(season.funds, "fund_id", "name")
    led = ledger.copy()
    led["name"] = led["student_id"].astype(str).map(stu["name"])
    led["enterprise"] = led["slot_id"].astype(str).map(slot_ent).map(ent_name)
    led["rule"] = led["rule_id"].map(rules).fillna("")
    led["fund"] = led["fund_id"].map(fund_name).fillna("")
    led = led[["student_id", "name", "slot_id", "enterprise", "rule_id", "rule", "clause",
               "payee", "fund_id", "fund", "amount"]]

    un = unplaced.copy()
    usid = un["student_id"].astype(str)
    un["name"] = usid.map(stu["name"])
    un["school_id"] = usid.map(stu["school_id"])
    un["school"] = un["school_id"].map(school_name)
    un["major"] = usid.map(stu["major"])
    un["poor"] = usid.map(stu["poor"]).fillna(False).astype(bool)
    un["reason_code"] = un["reason"].astype(str).map(
        lambda r: ";".join(dict.fromkeys(_REASON_CODE.findall(r))))
    un = un[["student_id", "name", "school_id", "school", "major", "poor", "reason_code",
             "reason"]]

    flags = _flags(a)
    park_major = _park_major(a, flags)
    school_major = _school_major(st, a, flags, school_name)
    county = _county(season, st, a, flags, school_county, park_county)
    return ReportData(
        season=season.name,
        policy=f"{season.policy.name} {season.policy.source}".strip(),
        metrics=metrics, assignments=a, ledger=led, unplaced=un,
        park_major=park_major, school_major=school_major, county=county,
        funds=_funds(season, led), by_park=_by_park(season, a, flags),
        by_school=_by_school(season, st, a, flags))


def _flags(a: pd.DataFrame) -> pd.DataFrame:
    """One 0/1 column per count of COUNT_COLUMNS, one row per placement."""
    kind = a["kind"].astype(str)
    local = a["local"].astype(bool)
    interns = kind.isin(INTERN_KINDS)
    return pd.DataFrame({
        "placed": 1,
        "interns": interns.astype(np.int64),
        "local_placed": local.astype(np.int64),
        "local_interns": (interns & local).astype(np.int64),
        "local_employment": ((kind == "employment") & local).astype(np.int64),
        "order": (kind == "order").astype(np.int64),
    }, index=a.index)


def _grouped(keys: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    by = list(keys.columns)
    return pd.concat([keys, flags], axis=1).groupby(by, sort=False).sum().reset_index()


def _park_major(a: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    out = _grouped(a[["park_id", "park", "major"]], flags)
    out["_outside"] = out["park_id"] == ""
    out = out.sort_values(["_outside", "park_id", "major"], kind="stable")
    return out.drop(columns="_outside").reset_index(drop=True)


def _school_major(st: pd.DataFrame, a: pd.DataFrame, flags: pd.DataFrame,
                  school_name: pd.Series) -> pd.DataFrame:
    supply = st.groupby(["school_id", "major"]).agg(
        students=("student_id", "size"), graduating=("graduating", "sum")).reset_index()
    placed = _grouped(a[["school_id", "major"]], flags)
    out = supply.merge(placed, on=["school_id", "major"], how="left")
    out[COUNT_COLUMNS] = out[COUNT_COLUMNS].fillna(0).astype(np.int64)
    out["graduating"] = out["graduating"].astype(np.int64)
    out.insert(1, "school", out["school_id"].map(school_name))
    return out.sort_values(["school_id", "major"], kind="stable").reset_index(drop=True)


def _county(season: Season, st: pd.DataFrame, a: pd.DataFrame, flags: pd.DataFrame,
            school_county: pd.Series, park_county: pd.Series) -> pd.DataFrame:
    """Per county: its schools' students and their placements, and placements its parks host."""
    students = st["school_id"].astype(str).map(school_county).value_counts()
    sent = _grouped(pd.DataFrame({"county": a["school_id"].map(school_county)}), flags)
    hosted = a.loc[a["park_id"] != "", "park_id"].map(park_county).value_counts()
    counties = sorted(set(season.schools["county"]) | set(season.parks["county"]))
    out = pd.DataFrame({"county": counties})
    out["students"] = out["county"].map(students).fillna(0).astype(np.int64)
    out = out.merge(sent, on="county", how="left")
    out[COUNT_COLUMNS] = out[COUNT_COLUMNS].fillna(0).astype(np.int64)
    out["hosted"] = out["county"].map(hosted).fillna(0).astype(np.int64)
    return out


def _funds(season: Season, ledger: pd.DataFrame) -> pd.DataFrame:
    """Budget, spend (from the ledger), remaining and use per fund; funds.csv order first."""
    spend = ledger.groupby("fund_id")["amount"].sum()
    ids = list(season.funds["fund_id"]) + sorted(set(spend.index) - set(season.funds["fund_id"]))
    f = season.funds.set_index("fund_id")
    out = pd.DataFrame({"fund_id": ids})
    out["fund"] = out["fund_id"].map(f["name"]).fillna("")
    out["budget"] = out["fund_id"].map(f["budget"]).astype(float)
    out["spend"] = out["fund_id"].map(spend).fillna(0)
    out["remaining"] = out["budget"] - out["spend"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["use"] = np.where(out["budget"] > 0, out["spend"] / out["budget"], np.nan)
    return out


def _by_park(season: Season, a: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """Every park (and the placements outside parks): placed and placed locally."""
    got = _grouped(a[["park_id"]], flags[["placed", "local_placed", "interns", "order"]])
    parks = season.parks[["park_id", "name", "county", "local"]].rename(columns={"name": "park"})
    parks = pd.concat([parks, pd.DataFrame({"park_id": [""], "park": [""], "county": [""],
                                            "local": [False]})], ignore_index=True)
    out = parks.merge(got, on="park_id", how="left")
    cols = ["placed", "local_placed", "interns", "order"]
    out[cols] = out[cols].fillna(0).astype(np.int64)
    if out.iloc[-1]["placed"] == 0:
        out = out.iloc[:-1]
    return out.reset_index(drop=True)


def _by_school(season: Season, st: pd.DataFrame, a: pd.DataFrame, flags: pd.DataFrame
               ) -> pd.DataFrame:
    """Every school: students, placed, placed locally and the local share of its students."""
    out = season.schools[["school_id", "name", "county"]].rename(columns={"name": "school"})
    out = out.reset_index(drop=True)
    out["students"] = out["school_id"].map(st["school_id"].value_counts()).fillna(0)
    got = _grouped(a[["school_id"]], flags[["placed", "local_placed"]])
    out = out.merge(got, on="school_id", how="left")
    cols = ["students", "placed", "local_placed"]
    out[cols] = out[cols].fillna(0).astype(np.int64)
    out["local_share"] = np.where(out["students"] > 0,
                                  out["local_placed"] / out["students"].clip(lower=1), 0.0)
    return out


# ---------------------------------------------------------------------------------------------
# One language
# ---------------------------------------------------------------------------------------------


def localised(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """`df` with coded cells in words and headers in `lang` (the workbook's and page's view)."""
    out = df.copy()
    for col, kind in _CODED.items():
        if col in out.columns and (kind != "bool" or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].map(lambda v, k=kind: labels.value(k, v, lang))
    if "reason_code" in out.columns:
        sep = "、" if lang == "zh" else ", "
        out["reason_code"] = out["reason_code"].map(
            lambda codes: sep.join(labels.value("reason_code", c, lang)
                                   for c in str(codes).split(";") if c))
    if "park" in out.columns and "park_id" in out.columns:
        outside = out["park_id"] == ""
        out.loc[outside, "park"] = labels.text("outside_parks", lang)
    return out.rename(columns={c: labels.column(c, lang) for c in out.columns})
