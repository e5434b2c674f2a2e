"""A season: the typed, validated tables of DESIGN §3 plus its resolved policy.

`load_season` reads any format, collects every problem (never just the first) and either
returns an immutable `Season` or raises `SeasonError` with all of them. `validate_season` returns
the problems, warnings included, without raising.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from matcher.errors import Issue, SeasonError
from matcher.io import TABLE_NAMES, RawTable, read_tables
from matcher.policy import KINDS, SIZE_CLASSES, WHOLE_SEASON_KINDS, Policy, load_policy

__all__ = ["Season", "load_season", "validate_season"]

TRUE = {"true", "1", "是", "yes", "y", "t"}
FALSE = {"false", "0", "否", "no", "n", "f", ""}

# column: (kind, required). kinds: id, ref:<table>, text, bool, int, posint, number, score,
# budget, majors, durations, kind, size_class
SCHEMA: dict[str, dict[str, tuple[str, bool]]] = {
    "schools": {"school_id": ("id", True), "name": ("text", True), "county": ("text", True),
                "city_area": ("bool", True)},
    "parks": {"park_id": ("id", True), "name": ("text", True), "county": ("text", True),
              "local": ("bool", True), "cluster": ("text", False)},
    "enterprises": {"enterprise_id": ("id", True), "name": ("text", True),
                    "park_id": ("optref:parks", True), "local": ("bool", True),
                    "staff": ("int", True), "size_class": ("size_class", True),
                    "certified": ("bool", False)},
    "students": {"student_id": ("id", True), "name": ("text", True),
                 "school_id": ("ref:schools", True), "major": ("nonempty", True),
                 "poor": ("bool", True), "graduating": ("bool", True), "score": ("score", True),
                 "home_county": ("text", False)},
    "slots": {"slot_id": ("id", True), "enterprise_id": ("ref:enterprises", True),
              "kind": ("kind", True), "majors": ("majors", True), "capacity": ("int", True),
              "durations": ("durations", True), "school_id": ("optref:schools", False),
              "min_size": ("optposint", False), "post": ("text", False),
              "post_staff": ("optint", False)},
    "funds": {"fund_id": ("id", True), "name": ("text", True), "budget": ("budget", True)},
    "preferences": {"student_id": ("ref:students", True), "slot_id": ("ref:slots", True),
                    "rank": ("rank", True)},
    "rankings": {"slot_id": ("ref:slots", True), "student_id": ("ref:students", True),
                 "rank": ("rank", True)},
}
ID_COLUMN = {"schools": "school_id", "parks": "park_id", "enterprises": "enterprise_id",
             "students": "student_id", "slots": "slot_id", "funds": "fund_id"}
REQUIRED_TABLES = ("schools", "parks", "enterprises", "students", "slots")
SEASON_KEYS = {"name", "periods", "policy", "objective", "constraints", "description"}


@dataclass(frozen=True)
class Season:
    """The typed tables of one season and its resolved policy (immutable by convention)."""

    name: str
    periods: int
    policy: Policy
    schools: pd.DataFrame
    parks: pd.DataFrame
    enterprises: pd.DataFrame
    students: pd.DataFrame
    slots: pd.DataFrame
    funds: pd.DataFrame
    preferences: pd.DataFrame
    rankings: pd.DataFrame | None = None
    folder: Path | None = None
    warnings: tuple[Issue, ...] = field(default_factory=tuple)

    @property
    def longest_list(self) -> int:
        """K of DESIGN §4a.10: rows of the longest preference list."""
        if self.preferences.empty:
            return 0
        return int(self.preferences.groupby("student_id").size().max())

    def with_policy(self, policy: Policy) -> Season:
        """The same season under another policy."""
        from dataclasses import replace

        return replace(self, policy=policy)


def validate_season(folder: str | Path) -> list[Issue]:
    """Every problem found in the season folder (errors and warnings), sorted by place."""
    _, issues = _load(Path(folder))
    return sorted(issues, key=lambda i: (i.file, i.row or 0, i.column or "", i.message))


def load_season(folder: str | Path, policy: Policy | None = None) -> Season:
    """Load and validate a season folder; raise `SeasonError` listing every error found."""
    season, issues = _load(Path(folder), policy)
    if season is None or any(i.is_error for i in issues):
        raise SeasonError(issues)
    return season


def _load(folder: Path, policy_override: Policy | None = None
          ) -> tuple[Season | None, list[Issue]]:
    issues: list[Issue] = []
    if not folder.is_dir():
        return None, [Issue(str(folder), None, None, "is not a season folder")]
    config, cfg_issues = _read_config(folder)
    issues += cfg_issues
    tables, read_issues = read_tables(folder)
    issues += read_issues
    typed: dict[str, pd.DataFrame] = {}
    for name in TABLE_NAMES:
        raw = tables.get(name)
        if raw is None:
            if name in REQUIRED_TABLES:
                issues.append(Issue(f"{name}.csv", None, None,
                                    "is missing: every season needs this table"))
            elif name in ("funds", "preferences"):
                issues.append(Issue(f"{name}.csv", None, None,
                                    "is missing: read as empty", "warning"))
            continue
        frame, found = _type_table(raw)
        issues += found
        if frame is not None:
            typed[name] = frame
    if any(i.is_error and i.column in (None,) and i.row is None for i in issues) and not typed:
        return None, issues
    issues += _check_references(typed, tables)
    issues += _check_lists(typed, tables)
    periods = config.get("periods", 2)
    issues += _check_slots(typed, tables, periods)
    policy = policy_override
    if policy is None and "policy" in config:
        policy, pol_issues = load_policy(config["policy"], folder, config.get("objective"),
                                         config.get("constraints"))
        issues += pol_issues
    if policy is not None:
        issues += _check_funds(typed, policy)
    issues += _warn_majors(typed)
    if any(i.is_error for i in issues) or policy is None:
        return None, issues
    for name in ("funds", "preferences"):
        typed.setdefault(name, _empty(name))
    season = Season(
        name=str(config.get("name", folder.name)), periods=int(periods), policy=policy,
        schools=typed["schools"], parks=typed["parks"], enterprises=typed["enterprises"],
        students=typed["students"], slots=typed["slots"], funds=typed["funds"],
        preferences=typed["preferences"], rankings=typed.get("rankings"), folder=folder,
        warnings=tuple(i for i in issues if not i.is_error),
    )
    return season, issues


def _read_config(folder: Path) -> tuple[dict, list[Issue]]:
    path = folder / "season.toml"
    if not path.exists():
        return {}, [Issue("season.toml", None, None, "is missing: it names the season's policy")]
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return {}, [Issue("season.toml", None, None, f"is not valid TOML: {exc}")]
    issues = [Issue("season.toml", None, k, f"unknown key {k!r}; known: "
                    f"{', '.join(sorted(SEASON_KEYS))}") for k in sorted(set(doc) - SEASON_KEYS)]
    periods = doc.get("periods", 2)
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        issues.append(Issue("season.toml", None, "periods",
                            f"{periods!r} is not a positive whole number of 3-month periods"))
        doc["periods"] = 2
    if "policy" not in doc:
        issues.append(Issue("season.toml", None, "policy",
                            "is required: a preset name (e.g. chenzhou-2018) or a policy file"))
    elif not isinstance(doc["policy"], str) or not doc["policy"]:
        issues.append(Issue("season.toml", None, "policy", "must be a preset name or a path"))
        del doc["policy"]
    for key in ("objective", "constraints"):
        if key in doc and not isinstance(doc[key], dict):
            issues.append(Issue("season.toml", None, key, "must be a table"))
            del doc[key]
    return doc, issues


def _empty(name: str) -> pd.DataFrame:
    cols = list(SCHEMA[name])
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    if "rank" in frame:
        frame["rank"] = frame["rank"].astype(np.int64)
    if "budget" in frame:
        frame["budget"] = frame["budget"].astype(float)
    frame["_row"] = pd.Series([], dtype=np.int64)
    return frame


def _parse_int(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers written as text ('12', '12.0'); returns (values, ok-mask)."""
    num = pd.to_numeric(s.where(s != "", None), errors="coerce")
    ok = num.notna() & (num == np.floor(num.fillna(0)))
    return num.fillna(0).astype(np.float64), ok


def _type_table(raw: RawTable) -> tuple[pd.DataFrame | None, list[Issue]]:
    """Check every cell of one table against its schema and convert it to typed columns."""
    issues: list[Issue] = []
    schema = SCHEMA[raw.name]
    df = raw.frame
    missing = [c for c, (_, req) in schema.items() if req and c not in df.columns]
    for c in missing:
        issues.append(Issue(raw.file, 1 if raw.file.endswith(".csv") else None, c,
                            "required column is missing"))
    if missing:
        return None, issues
    out = pd.DataFrame(index=df.index)
    rows = raw.rows

    def bad(mask: pd.Series, col: str, message) -> None:
        for i in np.flatnonzero(mask.to_numpy()):
            val = df[col].iat[i]
            issues.append(Issue(raw.file, int(rows[i]), col,
                                message(val) if callable(message) else message))

    for col, (kind, _req) in schema.items():
        s = df[col].astype(object).fillna("").astype(str) if col in df.columns else pd.Series(
            [""] * len(df), index=df.index, dtype=object)
        if kind in ("id", "nonempty"):
            bad(s == "", col, "is empty")
            if kind == "id":
                dup = s.duplicated(keep="first") & (s != "")
                bad(dup, col, lambda v: f"duplicate id {v!r}")
            out[col] = s
        elif kind.startswith("ref:") or kind.startswith("optref:"):
            if kind.startswith("ref:"):
                bad(s == "", col, "is empty")
            out[col] = s
        elif kind == "text":
            out[col] = s
        elif kind == "bool":
            low = s.str.lower()
            bad(~low.isin(TRUE | FALSE), col,
                lambda v: f"{v!r} is not a boolean (true/false, 1/0, 是/否)")
            out[col] = low.isin(TRUE)
        elif kind in ("int", "optint", "optposint", "rank"):
            vals, ok = _parse_int(s)
            empty = s == ""
            if kind in ("optint", "optposint"):
                ok = ok | empty
            low = 1 if kind in ("optposint", "rank") else 0
            word = "positive" if low else "non-negative"
            bad(~ok, col, lambda v, w=word: f"{v!r} is not a {w} whole number")
            bad(ok & ~empty & (vals < low), col, lambda v, w=word: f"{v!r} is not a {w} "
                                                                    "whole number")
            if kind == "optint":
                out[col] = np.where(empty, -1, vals).astype(np.int64)
            elif kind == "optposint":
                out[col] = np.where(empty, 0, vals).astype(np.int64)
            else:
                out[col] = vals.astype(np.int64)
        elif kind in ("score", "budget"):
            num = pd.to_numeric(s.where(s != "", None), errors="coerce")
            bad(num.isna(), col, lambda v: f"{v!r} is not a number")
            if kind == "score":
                bad(num.notna() & ((num < 0) | (num > 100)), col,
                    lambda v: f"{v!r} is outside 0–100")
            else:
                bad(num.notna() & (num < 0), col, lambda v: f"{v!r} is a negative budget")
            out[col] = num.fillna(0).astype(float)
        elif kind == "kind":
            bad(~s.isin(KINDS), col, lambda v: f"{v!r} is not a slot kind ({', '.join(KINDS)})")
            out[col] = s
        elif kind == "size_class":
            bad(~s.isin(SIZE_CLASSES), col,
                lambda v: f"{v!r} is not a size class ({', '.join(SIZE_CLASSES)})")
            out[col] = s
        elif kind == "majors":
            lists = s.map(lambda v: tuple(x.strip() for x in v.split(";") if x.strip()))
            bad(lists.map(len) == 0, col, "names no major")
            bad(lists.map(lambda t: len(set(t)) != len(t)), col, "names a major twice")
            out[col] = lists
        elif kind == "durations":
            out[col] = s.map(_durations)
    out["_row"] = rows
    if raw.name == "slots":
        whole = out["kind"].isin(WHOLE_SEASON_KINDS)
        parsed = out["durations"]
        bad(~whole & parsed.isna(), "durations",
            lambda v: f"{v!r} is not a list of positive multiples of 3 months (e.g. 3;6)")
        out["durations"] = parsed.map(lambda t: t if isinstance(t, tuple) else ())
    return out, issues


def _durations(text: str) -> tuple[int, ...] | None:
    """Durations in months: positive multiples of 3, `;`-separated, no repeats; None if bad."""
    parts = [p.strip() for p in text.split(";") if p.strip()]
    if not parts:
        return None
    out: list[int] = []
    for p in parts:
        try:
            f = float(p)
        except ValueError:
            return None
        if not f.is_integer() or f <= 0 or int(f) % 3:
            return None
        out.append(int(f))
    return tuple(sorted(set(out))) if len(set(out)) == len(out) else None


def _check_references(typed: dict[str, pd.DataFrame], raw: dict[str, RawTable]) -> list[Issue]:
    issues: list[Issue] = []
    for name, frame in typed.items():
        for col, (kind, _) in SCHEMA[name].items():
            if not (kind.startswith("ref:") or kind.startswith("optref:")):
                continue
            target = kind.split(":", 1)[1]
            if target not in typed:
                continue
            known = set(typed[target][ID_COLUMN[target]])
            vals = frame[col]
            unknown = (vals != "") & ~vals.isin(known)
            for i in np.flatnonzero(unknown.to_numpy()):
                issues.append(Issue(raw[name].file, int(frame["_row"].iat[i]), col,
                                    f"unknown {ID_COLUMN[target]} {vals.iat[i]!r}: no such row "
                                    f"in {raw[target].file}"))
    return issues


def _check_lists(typed: dict[str, pd.DataFrame], raw: dict[str, RawTable]) -> list[Issue]:
    """A preference list (or a slot's ranking) naming the same slot (student) twice."""
    issues: list[Issue] = []
    for name, owner, item in (("preferences", "student_id", "slot_id"),
                              ("rankings", "slot_id", "student_id")):
        frame = typed.get(name)
        if frame is None or frame.empty:
            continue
        dup = frame.duplicated([owner, item], keep="first")
        for i in np.flatnonzero(dup.to_numpy()):
            issues.append(Issue(raw[name].file, int(frame["_row"].iat[i]), item,
                                f"{owner} {frame[owner].iat[i]!r} lists {item} "
                                f"{frame[item].iat[i]!r} twice"))
    return issues


def _check_slots(typed: dict[str, pd.DataFrame], raw: dict[str, RawTable],
                 periods: int) -> list[Issue]:
    slots = typed.get("slots")
    if slots is None:
        return []
    issues: list[Issue] = []
    file = raw["slots"].file
    for i in range(len(slots)):
        kind = slots["kind"].iat[i]
        durs = slots["durations"].iat[i]
        if kind in KINDS and kind not in WHOLE_SEASON_KINDS and durs and min(durs) > 3 * periods:
            issues.append(Issue(file, int(slots["_row"].iat[i]), "durations",
                                f"slot {slots['slot_id'].iat[i]!r} has no option in a season "
                                f"of {periods} period(s): every duration is longer",
                                "warning"))
        if slots["min_size"].iat[i] > slots["capacity"].iat[i]:
            issues.append(Issue(file, int(slots["_row"].iat[i]), "min_size",
                                f"min_size {slots['min_size'].iat[i]} exceeds the capacity: "
                                "this order class can never open", "warning"))
    return issues


def _check_funds(typed: dict[str, pd.DataFrame], policy: Policy) -> list[Issue]:
    funds = typed.get("funds")
    known = set(funds["fund_id"]) if funds is not None else set()
    return [Issue("funds.csv", None, "fund_id",
                  f"policy fund {f!r} has no row: its subsidies have no budget", "warning")
            for f in policy.funds if f not in known]


def _warn_majors(typed: dict[str, pd.DataFrame]) -> list[Issue]:
    students, slots = typed.get("students"), typed.get("slots")
    if students is None or slots is None:
        return []
    offered = {m for t in slots["majors"] for m in t}
    issues = []
    for major, n in students.groupby("major").size().items():
        if major and major not in offered:
            issues.append(Issue("students.csv", None, "major",
                                f"major {major!r} ({n} student(s)) is offered by no slot",
                                "warning"))
    return issues
