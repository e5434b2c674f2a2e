"""An exact reference solver for seasons, written independently of ``matcher`` and ``solvers``.

It reads a season folder (UTF-8 CSV files + ``season.toml``) and its policy TOML with its own
code, builds a 0/1 model following DESIGN.md §3, §4 and §4a to the letter, and solves it
lexicographically with HiGHS (``highspy``), each level to proven optimality. It exists so that
the main engine can be checked against something that shares none of its code.

Money is exact: subsidy amounts and budgets are read as decimals (``Fraction(str(x))``), and
each budget row and each objective level is scaled by the least common denominator of its
coefficients, so every row and every level is integral (fen or finer).

Modelling choices where DESIGN.md leaves a little room (each noted where it is coded):

- ``same_post_cap`` counts ``shadow``/``post`` interns per period, like ``enterprise_cap``; the
  group is every slot sharing (enterprise, ``post``), and its bound uses the smallest
  ``post_staff`` given in the group (a group where no slot gives ``post_staff`` has no bound).
- ``min_size`` counts distinct students holding any option of the slot over the season.
- ``park_coverage`` maximises the number of local parks hosting a placed student; a park no
  eligible student can reach contributes 0 either way, so this equals "covered coverable parks".
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

POLICY_DIR = Path(__file__).resolve().parents[2] / "matcher" / "policies"

KINDS = ("shadow", "post", "order", "apprentice", "employment")
INTERN_KINDS = ("shadow", "post")
WHOLE_SEASON_KINDS = ("order", "apprentice", "employment")
SIZE_CLASSES = ("large", "medium", "small", "micro")
TERMS = ("placed", "local", "in_park", "poor_placed", "preference", "spend", "blocking_pairs")
CONSTRAINT_KEYS = ("enterprise_cap", "same_post_cap", "poor_first", "park_coverage", "stability")
OBJECTIVE_KEYS = ("order", "weights")
RULE_KEYS = ("id", "clause", "kind", "amount", "per", "payee", "fund", "when")
RULE_META_KEYS = ("name", "description", "note", "notes", "label", "source")
WHEN_KEYS = ("min_months", "local", "in_park", "size_class", "city_area_school", "graduating")
PERS = ("once", "month", "year")
PAYEES = ("student", "enterprise", "school")
POLICY_TABLES = ("objective", "constraints", "subsidy")
SEASON_KEYS = ("name", "periods", "policy", "objective", "constraints")

TRUE = {"true", "1", "是"}
FALSE = {"false", "0", "否", ""}


class SeasonError(ValueError):
    """The season or its policy breaks the contract."""


class NotProvenOptimal(RuntimeError):
    """HiGHS did not prove a level optimal within the time limit."""


@dataclass(frozen=True)
class ReferenceResult:
    levels: list[tuple[str, float]]
    placements: list[tuple[str, str, int, int]]  # (student_id, slot_id, start_period, months)
    spend: float = 0.0
    spend_by_fund: dict[str, float] = field(default_factory=dict)

    @property
    def objective(self) -> dict[str, float]:
        return dict(self.levels)


# --------------------------------------------------------------------------- reading


def _bool(value: str, where: str) -> bool:
    v = str(value).strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise SeasonError(f"{where}: not a boolean: {value!r}")


def _int(value: str, where: str) -> int | None:
    """An integer cell; None when empty."""
    v = str(value).strip()
    if v == "":
        return None
    try:
        f = Fraction(v)
    except ValueError as exc:
        raise SeasonError(f"{where}: not an integer: {value!r}") from exc
    if f.denominator != 1:
        raise SeasonError(f"{where}: not an integer: {value!r}")
    return int(f)


def _required_int(value: str, where: str) -> int:
    v = _int(value, where)
    if v is None:
        raise SeasonError(f"{where}: empty")
    return v


def _decimal(value: object, where: str) -> Fraction:
    if isinstance(value, bool):
        raise SeasonError(f"{where}: not a number: {value!r}")
    try:
        return Fraction(str(value).strip())
    except ValueError as exc:
        raise SeasonError(f"{where}: not a number: {value!r}") from exc


def _list(value: str) -> list[str]:
    return [p.strip() for p in str(value).split(";") if p.strip()]


def _read_csv(folder: Path, name: str, required: tuple[str, ...], *, optional_file=False):
    path = folder / f"{name}.csv"
    if not path.exists():
        if optional_file:
            return []
        raise SeasonError(f"{path}: missing")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise SeasonError(f"{path}: missing columns {missing}")
        rows = []
        for i, raw in enumerate(reader, start=2):
            row = {(k or "").strip(): ("" if v is None else str(v).strip()) for k, v in raw.items()}
            row["__where__"] = f"{path.name} row {i}"
            rows.append(row)
    return rows


def _unique(rows, key: str, table: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r in rows:
        k = r[key]
        if k == "":
            raise SeasonError(f"{r['__where__']}: empty {key}")
        if k in out:
            raise SeasonError(f"{table}: duplicate {key} {k!r}")
        out[k] = r
    return out


def _load_toml(path: Path) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _resolve_policy(folder: Path, policy: object) -> Path:
    if not isinstance(policy, str) or not policy:
        raise SeasonError("season.toml: `policy` is required (a preset name or a .toml path)")
    if policy.endswith(".toml") or "/" in policy:
        return (folder / policy).resolve()
    return POLICY_DIR / f"{policy}.toml"


def _check_meta(table: dict, allowed: tuple[str, ...], where: str) -> None:
    """Unknown tables are errors; unknown plain metadata (strings, numbers) is tolerated."""
    for k, v in table.items():
        if k in allowed:
            continue
        if isinstance(v, dict) or (isinstance(v, list) and any(isinstance(x, dict) for x in v)):
            raise SeasonError(f"{where}: unknown table {k!r}")


# --------------------------------------------------------------------------- model data


@dataclass
class _Rule:
    id: str
    kinds: tuple[str, ...] | None
    amount: Fraction
    per: str
    fund: str
    when: dict


@dataclass
class _Edge:
    student: str
    slot: str
    start: int
    months: int
    periods_used: tuple[int, ...]
    coef: dict[str, Fraction]  # term -> value of this placement
    pay: dict[str, Fraction]  # fund -> yuan


def _parse_policy(folder: Path, season: dict):
    _check_meta(season, SEASON_KEYS, "season.toml")
    policy_path = _resolve_policy(folder, season.get("policy"))
    if not policy_path.exists():
        raise SeasonError(f"policy file not found: {policy_path}")
    policy = _load_toml(policy_path)
    _check_meta(policy, POLICY_TABLES, str(policy_path))

    objective = season["objective"] if "objective" in season else policy.get("objective")
    if not objective:
        raise SeasonError("no [objective] in season.toml nor in the policy")
    for k in objective:
        if k not in OBJECTIVE_KEYS:
            raise SeasonError(f"[objective]: unknown key {k!r}")
    if ("order" in objective) == ("weights" in objective):
        raise SeasonError("[objective] needs exactly one of `order`, `weights`")

    constraints = dict(policy.get("constraints", {}))
    constraints.update(season.get("constraints", {}))
    for k in constraints:
        if k not in CONSTRAINT_KEYS:
            raise SeasonError(f"[constraints]: unknown key {k!r}")

    rules = []
    seen_ids = set()
    for i, raw in enumerate(policy.get("subsidy", [])):
        where = f"{policy_path.name} [[subsidy]] #{i + 1}"
        for k in raw:
            if k not in RULE_KEYS and k not in RULE_META_KEYS:
                raise SeasonError(f"{where}: unknown key {k!r}")
        for k in ("id", "amount", "per", "payee", "fund"):
            if k not in raw:
                raise SeasonError(f"{where}: missing {k!r}")
        if raw["id"] in seen_ids:
            raise SeasonError(f"{where}: duplicate id {raw['id']!r}")
        seen_ids.add(raw["id"])
        if raw["per"] not in PERS:
            raise SeasonError(f"{where}: unknown per {raw['per']!r}")
        if raw["payee"] not in PAYEES:
            raise SeasonError(f"{where}: unknown payee {raw['payee']!r}")
        kinds = raw.get("kind")
        if kinds is not None:
            kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
            for k in kinds:
                if k not in KINDS:
                    raise SeasonError(f"{where}: unknown kind {k!r}")
        when = dict(raw.get("when", {}))
        for k, v in when.items():
            if k not in WHEN_KEYS:
                raise SeasonError(f"{where}: unknown when condition {k!r}")
            if k == "size_class":
                vals = (v,) if isinstance(v, str) else tuple(v)
                for s in vals:
                    if s not in SIZE_CLASSES:
                        raise SeasonError(f"{where}: unknown size_class {s!r}")
                when[k] = vals
            elif k == "min_months":
                when[k] = int(v)
            elif not isinstance(v, bool):
                raise SeasonError(f"{where}: when.{k} must be a boolean")
        rules.append(
            _Rule(
                id=str(raw["id"]),
                kinds=kinds,
                amount=_decimal(raw["amount"], f"{where} amount"),
                per=raw["per"],
                fund=str(raw["fund"]),
                when=when,
            )
        )
    return objective, constraints, rules


def _ratio(constraints: dict, key: str) -> Fraction | None:
    v = constraints.get(key)
    if v is None or v is False:
        return None
    r = _decimal(v, f"[constraints] {key}")
    if not 0 <= r <= 1:
        raise SeasonError(f"[constraints] {key} = {v} is not in [0, 1]")
    return r


def _parse_levels(objective: dict, park_coverage: bool):
    """Return [(level name, {term: weight})]; 'park_coverage' is handled apart."""

    def split(term: str) -> tuple[str, int]:
        if not isinstance(term, str):
            raise SeasonError(f"[objective]: bad term {term!r}")
        sign = -1 if term.startswith("-") else 1
        base = term[1:] if term.startswith(("-", "+")) else term
        if base not in TERMS:
            raise SeasonError(f"[objective]: unknown term {term!r}")
        if base == "blocking_pairs":
            raise NotImplementedError("the reference does not model blocking_pairs")
        return base, sign

    levels: list[tuple[str, dict[str, Fraction]]] = []
    if park_coverage:
        levels.append(("park_coverage", {"park_coverage": Fraction(1)}))
    if "order" in objective:
        for term in objective["order"]:
            base, sign = split(term)
            levels.append((term, {base: Fraction(sign)}))
    else:
        weights: dict[str, Fraction] = {}
        for term, w in objective["weights"].items():
            base, sign = split(term)
            weights[base] = weights.get(base, Fraction(0)) + sign * _decimal(w, f"weight {term}")
        levels.append(("weighted", weights))
    return levels


def _subsidy(rule: _Rule, kind, months, ent, student, school) -> Fraction:
    if rule.kinds is not None and kind not in rule.kinds:
        return Fraction(0)
    w = rule.when
    if "min_months" in w and months < w["min_months"]:
        return Fraction(0)
    if "local" in w and ent["local"] != w["local"]:
        return Fraction(0)
    if "in_park" in w and ent["in_park"] != w["in_park"]:
        return Fraction(0)
    if "size_class" in w and ent["size_class"] not in w["size_class"]:
        return Fraction(0)
    if "city_area_school" in w and school["city_area"] != w["city_area_school"]:
        return Fraction(0)
    if "graduating" in w and student["graduating"] != w["graduating"]:
        return Fraction(0)
    if rule.per == "once":
        return rule.amount
    if rule.per == "month":
        return rule.amount * months
    return rule.amount * months / 12


class _Season:
    """Everything the model needs, read from the folder."""

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        season = _load_toml(folder / "season.toml")
        self.periods = int(season.get("periods", 2))
        if self.periods < 1:
            raise SeasonError("season.toml: periods must be >= 1")
        objective, constraints, self.rules = _parse_policy(folder, season)

        self.ent_cap = _ratio(constraints, "enterprise_cap")
        self.post_cap = _ratio(constraints, "same_post_cap")
        pf = constraints.get("poor_first") or []
        pf = [pf] if isinstance(pf, str) else list(pf)
        for k in pf:
            if k not in KINDS:
                raise SeasonError(f"[constraints] poor_first: unknown kind {k!r}")
        self.poor_first = set(pf)
        pc = constraints.get("park_coverage", False)
        if not isinstance(pc, bool):
            raise SeasonError("[constraints] park_coverage must be a boolean")
        self.park_coverage = pc
        stability = constraints.get("stability", "none")
        if stability not in ("none", "student-stable"):
            raise SeasonError(f"[constraints] stability: unknown value {stability!r}")
        if stability != "none":
            raise NotImplementedError("the reference does not model stability rows")
        self.levels = _parse_levels(objective, self.park_coverage)

        schools = _unique(
            _read_csv(folder, "schools", ("school_id", "name", "county", "city_area")),
            "school_id",
            "schools.csv",
        )
        self.schools = {
            k: {"city_area": _bool(r["city_area"], r["__where__"] + " city_area")}
            for k, r in schools.items()
        }
        parks = _unique(
            _read_csv(folder, "parks", ("park_id", "name", "county", "local")),
            "park_id",
            "parks.csv",
        )
        self.parks = {k: _bool(r["local"], r["__where__"] + " local") for k, r in parks.items()}
        ents = _unique(
            _read_csv(
                folder,
                "enterprises",
                ("enterprise_id", "name", "park_id", "local", "staff", "size_class"),
            ),
            "enterprise_id",
            "enterprises.csv",
        )
        self.ents = {}
        for k, r in ents.items():
            w = r["__where__"]
            if r["park_id"] and r["park_id"] not in self.parks:
                raise SeasonError(f"{w}: unknown park_id {r['park_id']!r}")
            if r["size_class"] not in SIZE_CLASSES:
                raise SeasonError(f"{w}: unknown size_class {r['size_class']!r}")
            self.ents[k] = {
                "park": r["park_id"],
                "in_park": r["park_id"] != "",
                "local": _bool(r["local"], w + " local"),
                "staff": _required_int(r["staff"], w + " staff"),
                "size_class": r["size_class"],
            }
        studs = _unique(
            _read_csv(
                folder,
                "students",
                ("student_id", "name", "school_id", "major", "poor", "graduating", "score"),
            ),
            "student_id",
            "students.csv",
        )
        self.students = {}
        for k, r in studs.items():
            w = r["__where__"]
            if r["school_id"] not in self.schools:
                raise SeasonError(f"{w}: unknown school_id {r['school_id']!r}")
            self.students[k] = {
                "school": r["school_id"],
                "major": r["major"],
                "poor": _bool(r["poor"], w + " poor"),
                "graduating": _bool(r["graduating"], w + " graduating"),
            }
        slots = _unique(
            _read_csv(
                folder,
                "slots",
                ("slot_id", "enterprise_id", "kind", "majors", "capacity", "durations"),
            ),
            "slot_id",
            "slots.csv",
        )
        self.slots = {}
        for k, r in slots.items():
            w = r["__where__"]
            if r["enterprise_id"] not in self.ents:
                raise SeasonError(f"{w}: unknown enterprise_id {r['enterprise_id']!r}")
            if r["kind"] not in KINDS:
                raise SeasonError(f"{w}: unknown kind {r['kind']!r}")
            school = r.get("school_id", "")
            if school and school not in self.schools:
                raise SeasonError(f"{w}: unknown school_id {school!r}")
            durations = [_required_int(d, w + " durations") for d in _list(r["durations"])]
            if r["kind"] in INTERN_KINDS:
                for d in durations:
                    if d <= 0 or d % 3:
                        raise SeasonError(f"{w}: duration {d} is not a multiple of 3 months")
            capacity = _required_int(r["capacity"], w + " capacity")
            if capacity < 0:
                raise SeasonError(f"{w}: bad capacity {r['capacity']!r}")
            self.slots[k] = {
                "ent": r["enterprise_id"],
                "kind": r["kind"],
                "majors": set(_list(r["majors"])),
                "capacity": capacity,
                "durations": sorted(set(durations)),
                "school": school,
                "min_size": _int(r.get("min_size", ""), w + " min_size"),
                "post": r.get("post", ""),
                "post_staff": _int(r.get("post_staff", ""), w + " post_staff"),
            }

        self.funds = {}
        for r in _read_csv(folder, "funds", ("fund_id", "name", "budget"), optional_file=True):
            if r["fund_id"] in self.funds:
                raise SeasonError(f"funds.csv: duplicate fund_id {r['fund_id']!r}")
            self.funds[r["fund_id"]] = _decimal(r["budget"], r["__where__"] + " budget")

        self.prefs: dict[str, dict[str, int]] = {}
        for r in _read_csv(
            folder, "preferences", ("student_id", "slot_id", "rank"), optional_file=True
        ):
            w = r["__where__"]
            s, sl = r["student_id"], r["slot_id"]
            if s not in self.students:
                raise SeasonError(f"{w}: unknown student_id {s!r}")
            if sl not in self.slots:
                raise SeasonError(f"{w}: unknown slot_id {sl!r}")
            rank = _required_int(r["rank"], w + " rank")
            if rank < 1:
                raise SeasonError(f"{w}: rank must be a positive integer")
            lst = self.prefs.setdefault(s, {})
            if sl in lst:
                raise SeasonError(f"{w}: student {s!r} lists slot {sl!r} twice")
            lst[sl] = rank
        self.K = max((len(v) for v in self.prefs.values()), default=0)

    # ------------------------------------------------------------------ options and edges

    def options(self, slot: dict) -> list[tuple[int, int, tuple[int, ...]]]:
        if slot["kind"] in WHOLE_SEASON_KINDS:
            return [(1, 3 * self.periods, tuple(range(1, self.periods + 1)))]
        out = []
        for d in slot["durations"]:
            n = d // 3
            for p in range(1, self.periods + 1):
                if p + n - 1 <= self.periods:
                    out.append((p, d, tuple(range(p, p + n))))
        return out

    def eligible(self, sid: str, slot_id: str) -> bool:
        st, sl = self.students[sid], self.slots[slot_id]
        if st["major"] not in sl["majors"]:
            return False
        if sl["school"] and sl["school"] != st["school"]:
            return False
        if sid in self.prefs and slot_id not in self.prefs[sid]:
            return False
        return not (sl["kind"] == "employment" and not st["graduating"])

    def edges(self) -> list[_Edge]:
        out = []
        for sid in sorted(self.students):
            st = self.students[sid]
            school = self.schools[st["school"]]
            for slot_id in sorted(self.slots):
                if not self.eligible(sid, slot_id):
                    continue
                sl = self.slots[slot_id]
                ent = self.ents[sl["ent"]]
                for start, months, used in self.options(sl):
                    pay: dict[str, Fraction] = {}
                    for rule in self.rules:
                        a = _subsidy(rule, sl["kind"], months, ent, st, school)
                        if a:
                            pay[rule.fund] = pay.get(rule.fund, Fraction(0)) + a
                    pref = 0
                    if sid in self.prefs:
                        pref = self.K + 1 - self.prefs[sid][slot_id]
                    coef = {
                        "placed": Fraction(1),
                        "local": Fraction(int(ent["local"])),
                        "in_park": Fraction(int(ent["in_park"])),
                        "poor_placed": Fraction(int(st["poor"])),
                        "preference": Fraction(pref),
                        "spend": sum(pay.values(), Fraction(0)),
                    }
                    out.append(_Edge(sid, slot_id, start, months, used, coef, pay))
        return out


# --------------------------------------------------------------------------- model


def _lcm_den(values) -> int:
    d = 1
    for v in values:
        d = math.lcm(d, Fraction(v).denominator)
    return d


class _Model:
    def __init__(self) -> None:
        self.ncols = 0
        self.rows: list[tuple[dict[int, int], float, float]] = []  # integer coefficients

    def col(self) -> int:
        self.ncols += 1
        return self.ncols - 1

    def row(self, coefs: dict[int, Fraction], lo=None, hi=None) -> None:
        """sum coefs * x in [lo, hi], scaled to integers exactly."""
        coefs = {j: Fraction(a) for j, a in coefs.items() if a}
        bounds = [Fraction(b) for b in (lo, hi) if b is not None]
        scale = _lcm_den([*coefs.values(), *bounds])
        ints = {j: int(a * scale) for j, a in coefs.items()}
        lo_i = -math.inf if lo is None else Fraction(lo) * scale
        hi_i = math.inf if hi is None else Fraction(hi) * scale
        self.rows.append((ints, lo_i, hi_i))


def _build(season: _Season):
    edges = season.edges()
    m = _Model()
    for _ in edges:
        m.col()

    by_student: dict[str, list[int]] = {}
    by_slot: dict[str, list[int]] = {}
    for j, e in enumerate(edges):
        by_student.setdefault(e.student, []).append(j)
        by_slot.setdefault(e.slot, []).append(j)

    # at most one option per student
    for js in by_student.values():
        m.row(dict.fromkeys(js, 1), hi=1)

    # slot capacity: per period for shadow/post, seats for the season otherwise
    for slot_id, js in by_slot.items():
        sl = season.slots[slot_id]
        if sl["kind"] in INTERN_KINDS:
            for p in range(1, season.periods + 1):
                use = {j: 1 for j in js if p in edges[j].periods_used}
                if use:
                    m.row(use, hi=sl["capacity"])
        else:
            m.row(dict.fromkeys(js, 1), hi=sl["capacity"])

    # shadow/post use per (enterprise, period) and per (slot, period)
    ent_use: dict[tuple[str, int], list[int]] = {}
    slot_use: dict[tuple[str, int], list[int]] = {}
    for j, e in enumerate(edges):
        sl = season.slots[e.slot]
        if sl["kind"] in INTERN_KINDS:
            for p in e.periods_used:
                ent_use.setdefault((sl["ent"], p), []).append(j)
                slot_use.setdefault((e.slot, p), []).append(j)

    # enterprise_cap (4a.5): floor(ratio x staff), the ratio an exact decimal
    if season.ent_cap is not None:
        for (ent_id, _p), js in sorted(ent_use.items()):
            bound = math.floor(season.ent_cap * season.ents[ent_id]["staff"])
            m.row(dict.fromkeys(js, 1), hi=bound)

    # same_post_cap (4a.6)
    if season.post_cap is not None:
        groups: dict[tuple, list[str]] = {}
        for slot_id, sl in season.slots.items():
            if sl["post"]:
                groups.setdefault((sl["ent"], sl["post"]), []).append(slot_id)
            elif sl["post_staff"] is not None:
                groups[("", slot_id)] = [slot_id]
        for members in groups.values():
            staffs = [season.slots[s]["post_staff"] for s in members]
            staffs = [s for s in staffs if s is not None]
            if not staffs:
                continue
            bound = math.floor(season.post_cap * min(staffs))
            for p in range(1, season.periods + 1):
                js = [j for s in members for j in slot_use.get((s, p), [])]
                if js:
                    m.row(dict.fromkeys(js, 1), hi=bound)

    # min_size (4a.7): y = 1 iff the slot opens
    for slot_id, sl in season.slots.items():
        ms = sl["min_size"]
        if ms is None or ms <= 0 or slot_id not in by_slot:
            continue
        js = by_slot[slot_id]
        y = m.col()
        big = len({edges[j].student for j in js})
        row = dict.fromkeys(js, 1)
        m.row({**row, y: -ms}, lo=0)  # sum >= ms * y
        m.row({**row, y: -big}, hi=0)  # sum <= big * y (one row: faster in HiGHS than x <= y)

    # poor_first (4a.8): z = 1 when a non-poor student holds the slot
    for slot_id, sl in season.slots.items():
        if sl["kind"] not in season.poor_first or slot_id not in by_slot:
            continue
        js = by_slot[slot_id]
        nonpoor = [j for j in js if not season.students[edges[j].student]["poor"]]
        poor = sorted({edges[j].student for j in js if season.students[edges[j].student]["poor"]})
        if not nonpoor or not poor:
            continue
        z = m.col()
        m.row({**dict.fromkeys(nonpoor, 1), z: -len(nonpoor)}, hi=0)
        for q in poor:
            m.row({z: 1, **{j: -1 for j in by_student[q]}}, hi=0)

    # park coverage (4a.9): c_park <= placements at the park
    park_edges: dict[str, list[int]] = {}
    for j, e in enumerate(edges):
        park = season.ents[season.slots[e.slot]["ent"]]["park"]
        if park and season.parks[park]:
            park_edges.setdefault(park, []).append(j)
    park_cols: dict[str, int] = {}
    if season.park_coverage:
        for park_id, js in sorted(park_edges.items()):  # parks without edges: not coverable
            c = m.col()
            park_cols[park_id] = c
            m.row({c: 1, **{j: -1 for j in js}}, hi=0)

    # fund budgets
    for fund_id, budget in season.funds.items():
        use = {j: e.pay[fund_id] for j, e in enumerate(edges) if e.pay.get(fund_id)}
        if use:
            m.row(use, hi=budget)

    # objective levels as {col: Fraction}
    levels = []
    for name, weights in season.levels:
        coefs: dict[int, Fraction] = {}
        for term, w in weights.items():
            if not w:
                continue
            if term == "park_coverage":
                for c in park_cols.values():
                    coefs[c] = coefs.get(c, Fraction(0)) + w
            else:
                for j, e in enumerate(edges):
                    if e.coef[term]:
                        coefs[j] = coefs.get(j, Fraction(0)) + w * e.coef[term]
        levels.append((name, coefs))
    return edges, m, levels


def _solve(m: _Model, levels, time_limit: float):
    import highspy

    t0 = time.monotonic()
    n = m.ncols
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-6)
    h.setOptionValue("random_seed", 0)
    if n:
        h.addVars(n, np.zeros(n), np.ones(n))
        h.changeColsIntegrality(
            n,
            np.arange(n, dtype=np.int32),
            np.full(n, int(highspy.HighsVarType.kInteger), dtype=np.uint8),
        )
    if m.rows:
        lo, hi, starts, idx, vals = [], [], [], [], []
        for coefs, a, b in m.rows:
            lo.append(float(a))
            hi.append(float(b))
            starts.append(len(idx))
            for j, v in coefs.items():
                idx.append(j)
                vals.append(float(v))
        h.addRows(
            len(m.rows),
            np.array(lo, dtype=np.float64),
            np.array(hi, dtype=np.float64),
            len(idx),
            np.array(starts, dtype=np.int32),
            np.array(idx, dtype=np.int32),
            np.array(vals, dtype=np.float64),
        )
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)

    values: list[tuple[str, Fraction]] = []
    x = np.zeros(n, dtype=np.int64)
    for name, coefs in levels:
        scale = _lcm_den(coefs.values())
        icoef = {j: int(v * scale) for j, v in coefs.items()}
        if n == 0:
            values.append((name, Fraction(0)))
            continue
        cost = np.zeros(n)
        for j, v in icoef.items():
            cost[j] = float(v)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        remaining = time_limit - (time.monotonic() - t0)
        if remaining <= 0:
            raise NotProvenOptimal(f"time limit reached before level {name!r}")
        h.setOptionValue("time_limit", float(remaining))
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise NotProvenOptimal(f"level {name!r}: HiGHS status {h.modelStatusToString(status)}")
        col = np.asarray(h.getSolution().col_value)
        x = np.rint(col).astype(np.int64)
        if np.max(np.abs(col - x), initial=0.0) > 1e-5:
            raise NotProvenOptimal(f"level {name!r}: solution not integral")
        value = sum(v * int(x[j]) for j, v in icoef.items())
        if abs(h.getInfo().objective_function_value - value) > 1e-3 * max(1, abs(value)):
            raise NotProvenOptimal(f"level {name!r}: rounded solution disagrees with HiGHS")
        values.append((name, Fraction(value, scale)))
        # keep this level at its optimum: integral terms, so ">= value - 1/2" is exact
        ids = np.array(sorted(icoef), dtype=np.int32)
        if len(ids):
            h.addRow(
                value - 0.5,
                math.inf,
                len(ids),
                ids,
                np.array([float(icoef[j]) for j in ids], dtype=np.float64),
            )
        elif value != 0:
            raise AssertionError("empty level with a non-zero value")
        # the optimum of this level is feasible for the next one: start from it
        start = highspy.HighsSolution()
        start.col_value = [float(v) for v in x]
        start.value_valid = True
        h.setSolution(start)
    return values, x


def _check(m: _Model, x: np.ndarray) -> None:
    """Re-check every row exactly on the rounded solution."""
    for coefs, lo, hi in m.rows:
        s = sum(v * int(x[j]) for j, v in coefs.items())
        if not lo <= s <= hi:
            raise AssertionError(f"reference solution breaks a row: {lo} <= {s} <= {hi}")


def _recount(season: _Season, chosen: list[_Edge], values) -> None:
    """Re-derive every level from the placements alone and compare with the solver's values."""
    students = [e.student for e in chosen]
    if len(set(students)) != len(students):
        raise AssertionError("a student holds two options")
    totals = {t: sum((e.coef[t] for e in chosen), Fraction(0)) for t in TERMS[:-1]}
    covered = {
        season.ents[season.slots[e.slot]["ent"]]["park"]
        for e in chosen
        if season.ents[season.slots[e.slot]["ent"]]["park"]
    }
    totals["park_coverage"] = Fraction(sum(1 for p in covered if season.parks[p]))
    for (name, weights), (name2, value) in zip(season.levels, values, strict=True):
        assert name == name2
        again = sum((w * totals[t] for t, w in weights.items()), Fraction(0))
        if again != value:
            raise AssertionError(f"level {name!r}: solver says {value}, placements give {again}")


def reference_solution(season_dir: str | Path, *, time_limit: float = 60.0) -> ReferenceResult:
    """Solve the season lexicographically with HiGHS: levels and the chosen placements."""
    season = _Season(season_dir)
    edges, m, levels = _build(season)
    values, x = _solve(m, levels, time_limit)
    if m.ncols:
        _check(m, x)
    chosen = [e for j, e in enumerate(edges) if j < len(x) and x[j] == 1]
    _recount(season, chosen, values)
    spend_by_fund: dict[str, Fraction] = {}
    for e in chosen:
        for f, a in e.pay.items():
            spend_by_fund[f] = spend_by_fund.get(f, Fraction(0)) + a
    placements = sorted((e.student, e.slot, e.start, e.months) for e in chosen)
    return ReferenceResult(
        levels=[(name, float(v)) for name, v in values],
        placements=placements,
        spend=float(sum(spend_by_fund.values(), Fraction(0))),
        spend_by_fund={f: float(a) for f, a in sorted(spend_by_fund.items())},
    )


def reference_levels(
    season_dir: str | Path, *, time_limit: float = 60.0
) -> list[tuple[str, float]]:
    """Solve the season lexicographically with HiGHS; return [(term, optimal value), ...]."""
    return reference_solution(season_dir, time_limit=time_limit).levels
