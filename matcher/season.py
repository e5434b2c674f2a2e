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

from matcher.aliases import unrecognised_hint
from matcher.errors import Issue, SeasonError
from matcher.io import TABLE_NAMES, RawTable, Reading, read_json_document, read_tables
from matcher.policy import KINDS, SIZE_CLASSES, WHOLE_SEASON_KINDS, Policy, load_policy

__all__ = ["Season", "load_season", "season_from_document", "validate_season"]

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
MAX_WHOLE = 10**9  # counts and ranks: far above any season, far below int64 overflow downstream
MAX_YUAN = 10**12  # a fund's budget: yuan, kept well inside int64 once counted in fen


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

    def with_budgets(self, scale: float | dict[str, float]) -> Season:
        """The same season with fund budgets multiplied (a what-if): one factor for every fund,
        or factors by `fund_id` (funds not named keep their budget).

        An infinite factor removes the fund's row, so its rules have no budget (DESIGN §4a.11).
        Budgets are rounded down to the fen, so the solvers and the audit read the same figure.
        Raise `ValueError` for a negative or NaN factor, a fund with no row, or a budget beyond
        MAX_YUAN."""
        from dataclasses import replace
        from fractions import Fraction

        ids = list(self.funds["fund_id"])
        factors = dict.fromkeys(ids, scale) if not isinstance(scale, dict) else dict(scale)
        unknown = sorted(set(factors) - set(ids))
        if unknown:
            raise ValueError(f"no fund {', '.join(map(repr, unknown))} in funds.csv; funds: "
                             f"{', '.join(ids) or '(none)'}")
        budgets, keep = [], []
        for fund, budget in zip(ids, self.funds["budget"], strict=True):
            factor = float(factors.get(fund, 1.0))
            if not factor >= 0:
                raise ValueError(f"budget factor {factor!r} for fund {fund!r} is not >= 0")
            keep.append(factor != float("inf"))
            if not keep[-1]:
                continue
            fen = Fraction(str(float(budget))) * Fraction(str(factor)) * 100
            if fen > MAX_YUAN * 100:
                raise ValueError(f"fund {fund!r}: {budget} × {factor} is beyond "
                                 f"{MAX_YUAN:,} yuan")
            budgets.append(float(Fraction(int(fen), 100)))
        funds = self.funds[np.asarray(keep, dtype=bool)].copy()
        funds["budget"] = np.asarray(budgets, dtype=float)
        return replace(self, funds=funds.reset_index(drop=True))


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


def season_from_document(doc: object, policy: Policy, name: str = "season",
                         periods: int = 2) -> Season:
    """A season from an in-memory season.json document (table name → rows) and a resolved
    policy, with every check `load_season` makes; nothing is read from or written to disk.
    Raise `SeasonError` listing every error found."""
    config = {"name": name, "periods": periods}
    season, issues = _check(config, [], read_json_document(doc), None, policy)
    if season is None or any(i.is_error for i in issues):
        raise SeasonError(issues)
    return season


def _load(folder: Path, policy_override: Policy | None = None
          ) -> tuple[Season | None, list[Issue]]:
    if not folder.is_dir():
        return None, [Issue(str(folder), None, None, "is not a season folder")]
    config, cfg_issues = _read_config(folder)
    return _check(config, cfg_issues, read_tables(folder), folder, policy_override)


def _check(config: dict, issues: list[Issue], reading: Reading, folder: Path | None,
           policy_override: Policy | None) -> tuple[Season | None, list[Issue]]:
    """Type and validate the tables read, resolve the policy, and build the Season."""
    tables = reading.tables
    issues += reading.issues
    typed: dict[str, pd.DataFrame] = {}
    for name in TABLE_NAMES:
        raw = tables.get(name)
        if raw is None:
            if name in reading.unreadable:  # present, and an issue already says what is wrong
                continue
            if name in REQUIRED_TABLES:
                issues.append(Issue(reading.label(name), None, None,
                                    "is missing: every season needs this table"))
            elif name in ("funds", "preferences"):
                issues.append(Issue(reading.label(name), None, None,
                                    "is missing: read as empty", "warning"))
            continue
        frame, found = _type_table(raw)
        issues += found
        if frame is not None:
            typed[name] = frame
    if any(i.is_error and i.column in (None,) and i.row is None for i in issues) and not typed:
        return None, issues
    bad_cells = _bad_cells(issues)
    issues += _check_references(typed, tables)
    issues += _check_lists(typed, tables)
    periods = config.get("periods", 2)
    issues += _check_slots(typed, tables, periods, bad_cells)
    policy = policy_override
    if policy is None and "policy" in config:
        policy, pol_issues = load_policy(config["policy"], folder, config.get("objective"),
                                         config.get("constraints"))
        issues += pol_issues
    if policy is not None:
        issues += _check_funds(typed, policy, reading)
    issues += _warn_majors(typed, tables)
    if any(i.is_error for i in issues) or policy is None:
        return None, issues
    for name in ("funds", "preferences"):
        typed.setdefault(name, _empty(name))
    season = Season(
        name=str(config.get("name", folder.name if folder else "season")), periods=int(periods),
        policy=policy,
        schools=typed["schools"], parks=typed["parks"], enterprises=typed["enterprises"],
        students=typed["students"], slots=typed["slots"], funds=typed["funds"],
        preferences=typed["preferences"], rankings=typed.get("rankings"), folder=folder,
        warnings=tuple(i for i in issues if not i.is_error),
    )
    return season, issues


def _bad_cells(issues: list[Issue]) -> dict[tuple[str, str], np.ndarray]:
    """Rows holding an invalid cell, per (file, column): later checks leave those cells alone."""
    found: dict[tuple[str, str], list[int]] = {}
    for i in issues:
        if i.is_error and i.row is not None and i.column:
            found.setdefault((i.file, i.column), []).append(i.row)
    return {k: np.asarray(v, dtype=np.int64) for k, v in found.items()}


def _read_config(folder: Path) -> tuple[dict, list[Issue]]:
    path = folder / "season.toml"
    if not path.exists():
        return {}, [Issue("season.toml", None, None, "is missing: it names the season's policy")]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return {}, [Issue("season.toml", None, None, f"is not valid TOML: {exc}")]
    except OSError as exc:  # a folder named season.toml, no permission
        return {}, [Issue("season.toml", None, None, f"cannot be read: {exc.strerror or exc}")]
    try:
        doc = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError; an integer of 5000 digits
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


def _numbers(s: pd.Series) -> np.ndarray:
    """Numbers written as text, as float64: NaN where the text is no number."""
    num = pd.to_numeric(s.where(s != "", None), errors="coerce")
    return num.to_numpy(dtype=np.float64, na_value=np.nan)


def _parse_int(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whole numbers written as text ('12', '12.0', '1e3'): (values, whole, too_large, negative).

    `whole` marks finite whole numbers within ±MAX_WHOLE; `too_large` marks whole numbers (or
    numerals too long for a float) beyond it. `values` is 0 wherever `whole` is false, so the
    cast to int64 never overflows."""
    num = _numbers(s)
    finite = np.isfinite(num)
    safe = np.where(finite, num, 0.0)
    integral = finite & (safe == np.floor(safe))
    too_large = integral & (np.abs(safe) > MAX_WHOLE)
    inf = np.isinf(num)
    if inf.any():  # '1' followed by 400 zeros reads as inf: too large, not 'not a number'
        too_large |= inf & ~s.str.lower().str.contains("inf", regex=False).to_numpy(dtype=bool)
    whole = integral & ~too_large
    with np.errstate(invalid="ignore"):
        negative = num < 0
    return np.where(whole, safe, 0.0), whole, too_large, negative


def _text_column(col: pd.Series) -> pd.Series:
    """A column of text cells, '' for an empty one, whatever dtype the reader gave it."""
    if col.dtype == object:
        col = col.fillna("")
    col = col.astype(str)
    return col.fillna("") if col.hasnans else col


def _type_table(raw: RawTable) -> tuple[pd.DataFrame | None, list[Issue]]:
    """Check every cell of one table against its schema and convert it to typed columns."""
    issues: list[Issue] = []
    schema = SCHEMA[raw.name]
    df = raw.frame
    if not raw.columns_known:  # an empty JSON list: no rows, every column
        df = pd.DataFrame({c: pd.Series([], dtype=object) for c in schema},
                          index=pd.RangeIndex(0))
    missing = [c for c, (_, req) in schema.items() if req and c not in df.columns]
    hint = unrecognised_hint(raw.name, df.columns) if missing else ""  # headers no alias maps
    for c in missing:
        issues.append(Issue(raw.file, raw.header_row, c, "required column is missing" + hint))
    if missing:
        return None, issues
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    rows = raw.rows

    def bad(mask: pd.Series | np.ndarray, col: str, message) -> None:
        arr = mask.to_numpy(dtype=bool) if isinstance(mask, pd.Series) else mask
        for i in np.flatnonzero(arr):
            val = df[col].iat[i]
            issues.append(Issue(raw.file, int(rows[i]), col,
                                message(val) if callable(message) else message))

    for col, (kind, _req) in schema.items():
        s = _text_column(df[col]) if col in df.columns else pd.Series(
            [""] * len(df), index=df.index, dtype=object).astype(str)
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
            vals, whole, too_large, negative = _parse_int(s)
            empty = (s == "").to_numpy(dtype=bool)
            low = 1 if kind in ("optposint", "rank") else 0
            word = "positive" if low else "non-negative"
            optional = kind in ("optint", "optposint")
            not_whole = ~whole & ~too_large & ~(optional & empty)
            bad(not_whole | (whole & (vals < low)) | (too_large & negative), col,
                lambda v, w=word: f"{v!r} is not a {w} whole number")
            bad(too_large & ~negative, col,
                lambda v: f"{v!r} is too large (at most {MAX_WHOLE:,})")
            if kind == "optint":
                out[col] = np.where(empty, -1, vals).astype(np.int64)
            else:  # int, rank; optposint: an empty cell reads 0 (no minimum)
                out[col] = vals.astype(np.int64)
        elif kind in ("score", "budget"):
            num = _numbers(s)
            nan = np.isnan(num)
            bad(nan, col, lambda v: f"{v!r} is not a number")
            if kind == "score":
                bad(~nan & ((num < 0) | (num > 100)), col,
                    lambda v: f"{v!r} is outside 0–100")
            else:
                inf = np.isinf(num)
                bad(inf, col, lambda v: f"{v!r} is not a finite number")
                bad(~nan & ~inf & (num < 0), col, lambda v: f"{v!r} is a negative budget")
                bad(~nan & ~inf & (num > MAX_YUAN), col,
                    lambda v: f"{v!r} is too large (at most {MAX_YUAN:,} yuan)")
            out[col] = np.where(np.isfinite(num), num, 0.0)
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
            if target not in typed or not raw[target].complete:
                continue  # a table cut short by a broken row: its missing ids prove nothing
            vals = frame[col]
            unknown = (vals != "").to_numpy(dtype=bool) & ~_isin(vals,
                                                                typed[target][ID_COLUMN[target]])
            for i in np.flatnonzero(unknown):
                issues.append(Issue(raw[name].file, int(frame["_row"].iat[i]), col,
                                    f"unknown {ID_COLUMN[target]} {vals.iat[i]!r}: no such row "
                                    f"in {raw[target].file}"))
    return issues


def _isin(values: pd.Series, known: pd.Series) -> np.ndarray:
    """`values.isin(known)` for text columns, through Arrow when it can (pandas' own isin on
    str columns converts every known value one by one)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        known_arr = pa.array(known, type=pa.string())
        if isinstance(known_arr, pa.ChunkedArray):
            known_arr = known_arr.combine_chunks()
        found = pc.is_in(pa.array(values, type=pa.string()), value_set=known_arr)
        return np.asarray(found, dtype=bool)
    except Exception:  # no pyarrow, an unusual dtype: the plain way
        return pd.Index(known.unique()).get_indexer(values) >= 0


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


def _check_slots(typed: dict[str, pd.DataFrame], raw: dict[str, RawTable], periods: int,
                 bad_cells: dict[tuple[str, str], np.ndarray]) -> list[Issue]:
    """Warnings about slots that can never be used (DESIGN §4a.1, §4a.7), on valid cells only."""
    slots = typed.get("slots")
    if slots is None:
        return []
    issues: list[Issue] = []
    file = raw["slots"].file
    row = slots["_row"].to_numpy()

    def valid(col: str) -> np.ndarray:
        return ~np.isin(row, bad_cells.get((file, col), np.zeros(0, dtype=np.int64)))

    kind = slots["kind"]
    shortest = slots["durations"].map(lambda t: min(t) if t else 0).to_numpy(dtype=np.int64)
    no_option = (kind.isin(KINDS) & ~kind.isin(WHOLE_SEASON_KINDS)).to_numpy(dtype=bool) & (
        shortest > 3 * periods) & valid("durations") & valid("kind")
    for i in np.flatnonzero(no_option):
        issues.append(Issue(file, int(row[i]), "durations",
                            f"slot {slots['slot_id'].iat[i]!r} has no option in a season "
                            f"of {periods} period(s): every duration is longer", "warning"))
    min_size = slots["min_size"].to_numpy()
    capacity = slots["capacity"].to_numpy()
    never = (min_size > 0) & (min_size > capacity) & valid("min_size") & valid("capacity")
    for i in np.flatnonzero(never):
        issues.append(Issue(file, int(row[i]), "min_size",
                            f"min_size {min_size[i]} exceeds the capacity: "
                            "this order class can never open", "warning"))
    return issues


def _check_funds(typed: dict[str, pd.DataFrame], policy: Policy, reading: Reading
                 ) -> list[Issue]:
    funds = typed.get("funds")
    known = set(funds["fund_id"]) if funds is not None else set()
    return [Issue(reading.label("funds"), None, "fund_id",
                  f"policy fund {f!r} has no row: its subsidies have no budget", "warning")
            for f in policy.funds if f not in known]


def _warn_majors(typed: dict[str, pd.DataFrame], raw: dict[str, RawTable]) -> list[Issue]:
    students, slots = typed.get("students"), typed.get("slots")
    if students is None or slots is None:
        return []
    offered = {m for t in slots["majors"] for m in t}
    issues = []
    for major, n in students.groupby("major").size().items():
        if major and major not in offered:
            issues.append(Issue(raw["students"].file, None, "major",
                                f"major {major!r} ({n} student(s)) is offered by no slot",
                                "warning"))
    return issues
