"""The independent audit: checks an allocation against the season from the assignment alone.

Nothing here reads the compiled Problem or a strategy's bookkeeping: options, eligibility, caps,
budgets and subsidies are recomputed from the season tables and DESIGN §4a, over integer-coded
arrays (`matcher.audit_view`), so a province-sized allocation is checked in seconds. Money is
exact throughout (fractions of a yuan, never floats). Every strategy's output goes through it in
every test; `tests/reference/plain_audit.py` is the same audit written placement by placement,
and the two must agree on every report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from matcher.audit_reasons import blocking_pair_count, poor_waiting, unplaced_reasons
from matcher.audit_view import AuditView, view_of, within
from matcher.season import Season

__all__ = ["AuditReport", "Placement", "audit"]

LEDGER_COLUMNS = ["student_id", "slot_id", "rule_id", "clause", "payee", "fund_id", "amount"]


@dataclass(frozen=True)
class Placement:
    """One row of an allocation, as the audit reads it."""

    student_id: str
    slot_id: str
    start_period: int
    duration_months: int


@dataclass
class AuditReport:
    """What the audit found: violations (empty when feasible), metrics, ledger, unplaced."""

    violations: list[str]
    metrics: dict
    ledger: pd.DataFrame
    unplaced: pd.DataFrame
    levels: dict[str, float | int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations


def _money(x: Fraction) -> int | float:
    return int(x) if x.denominator == 1 else float(round(x, 2))


@dataclass
class Placed:
    """The placements of an allocation (rows naming a known student, once, and a known slot),
    in row order, and how they use the slots: one usage entry per (placement, period)."""

    row: np.ndarray
    stu: np.ndarray
    slot: np.ndarray
    start: np.ndarray
    months: np.ndarray
    use_plc: np.ndarray  # placement of each usage entry
    use_slot: np.ndarray
    use_per: np.ndarray  # 0: a whole-season seat
    placed: np.ndarray  # per student: placed or not

    def __len__(self) -> int:
        return len(self.row)


def audit(season: Season, assignments: pd.DataFrame, ledger: pd.DataFrame | None = None
          ) -> AuditReport:
    """Check an allocation (rows of student_id, slot_id, start_period, duration_months, and
    optionally subsidy) and recompute every metric and the subsidy ledger."""
    v = view_of(season)
    pol = season.policy
    sid = _text(assignments["student_id"])
    tid = _text(assignments["slot_id"])
    start = _ints(assignments["start_period"])
    months = _ints(assignments["duration_months"])
    bad, p = _placements(v, sid, tid, start, months)

    counts = _Counts(v, p)
    bad += counts.capacity_violations()
    bad += counts.cap_violations()
    bad += counts.min_size_violations(p)
    waiting = poor_waiting(v, p.placed) if pol.poor_first else np.zeros(v.n_sl, dtype=np.int64)
    bad += _poor_first_violations(v, p, sid, tid, waiting)

    money = _Money(v, p)
    for fund, spent in money.spend_by_fund.items():
        if fund in v.budgets and spent > v.budgets[fund]:
            bad.append(f"budget of fund {fund} exceeded: {_money(spent)} > "
                       f"{_money(v.budgets[fund])} yuan")
    own_ledger = money.ledger(sid, tid)
    bad += money.compare(assignments, ledger, own_ledger)

    metrics = _metrics(v, p, money.spend_by_fund)
    metrics["blocking_pairs"] = blocking_pair_count(v, p, counts)
    levels = _level_values(v, p, metrics)
    unplaced = unplaced_reasons(v, p, counts, money, waiting)
    return AuditReport(bad, metrics, own_ledger, unplaced, levels)


# ---------------------------------------------------------------------------------------------
# Reading the allocation


def _text(col: pd.Series) -> np.ndarray:
    """Each cell as `str(cell)`, as an object array."""
    if isinstance(col.dtype, pd.StringDtype) and not col.isna().any():
        return col.to_numpy(dtype=object)
    return np.array([str(x) for x in col.tolist()], dtype=object)


def _ints(col: pd.Series) -> np.ndarray:
    """Each cell as `int(cell)`."""
    if pd.api.types.is_integer_dtype(col.dtype) and not col.isna().any():
        return col.to_numpy(dtype=np.int64)
    return np.array([int(x) for x in col.tolist()], dtype=np.int64)


def _placements(v: AuditView, sid: np.ndarray, tid: np.ndarray, start: np.ndarray,
                months: np.ndarray) -> tuple[list[str], Placed]:
    """Row-by-row problems (unknown ids, a student twice, no such option, not eligible) in row
    order, and the placements: every row naming a known student (first time) and slot."""
    stu = v.st_index.get_indexer(sid).astype(np.int64) if len(sid) else np.zeros(0, np.int64)
    slot = v.sl_index.get_indexer(tid).astype(np.int64) if len(tid) else np.zeros(0, np.int64)
    known = (stu >= 0) & (slot >= 0)
    first = np.zeros(len(sid), dtype=bool)
    k_rows = np.flatnonzero(known)
    _, at = np.unique(stu[k_rows], return_index=True)
    first[k_rows[at]] = True
    row = np.flatnonzero(first)
    ps, pt, p0, pm = stu[row], slot[row], start[row], months[row]
    no_option = np.zeros(len(sid), dtype=bool)
    no_option[row] = ~v.is_option(pt, p0, pm)
    not_eligible = np.zeros(len(sid), dtype=bool)
    not_eligible[row] = ~v.eligible(ps, pt)
    bad: list[str] = []
    for i in np.flatnonzero((stu < 0) | (slot < 0) | (known & ~first) | no_option
                            | not_eligible):
        if stu[i] < 0:
            bad.append(f"unknown student {sid[i]!r}")
        elif slot[i] < 0:
            bad.append(f"unknown slot {tid[i]!r} for {sid[i]}")
        elif not first[i]:
            bad.append(f"student {sid[i]} is placed more than once")
        else:
            if no_option[i]:
                bad.append(f"{sid[i]}: slot {tid[i]} has no option starting in period "
                           f"{start[i]} for {months[i]} months")
            if not_eligible[i]:
                bad.append(f"{sid[i]} is not eligible for slot {tid[i]}")

    whole = v.sl_whole[pt]
    span = np.where(whole, 1, np.maximum(pm // 3, 0))
    use_plc = np.repeat(np.arange(len(row), dtype=np.int64), span)
    use_per = np.repeat(np.where(whole, 0, p0), span) + within(span) * np.repeat(~whole, span)
    placed = np.zeros(v.n_st, dtype=bool)
    placed[ps] = True
    p = Placed(row, ps, pt, p0, pm, use_plc, pt[use_plc], use_per, placed)
    return bad, p


def _pair_groups(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs of two integer arrays, sorted, and each entry's pair."""
    if not len(a):
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    lo = int(b.min())
    width = int(b.max()) - lo + 1
    if (int(a.max()) + 1) * width < 2**62:
        uniq, inv = np.unique(a * width + (b - lo), return_inverse=True)
        return uniq // width, uniq % width + lo, inv
    uniq, inv = np.unique(np.stack([a, b], axis=1), axis=0, return_inverse=True)
    return uniq[:, 0], uniq[:, 1], inv.ravel()


class _Counts:
    """Students per (slot, period), interns per (enterprise, period) and per (post group,
    period), and students per slot over the season, from the usage entries."""

    def __init__(self, v: AuditView, p: Placed) -> None:
        self.v = v
        P = v.periods
        self.slot_u, self.per_u, inv = _pair_groups(p.use_slot, p.use_per)
        self.slot_n = np.bincount(inv, minlength=len(self.slot_u)).astype(np.int64)
        self.use_group = inv  # (slot, period) group of each usage entry
        intern = p.use_per != 0  # whole-season kinds do not count as interns (DESIGN §4a.5)
        ent = v.sl_ent[p.use_slot[intern]]
        per = p.use_per[intern]
        self.ent_u, self.ent_per, inv = _pair_groups(ent, per)
        self.ent_n = np.bincount(inv, minlength=len(self.ent_u)).astype(np.int64)
        grp = v.sl_group[p.use_slot[intern]]
        has = grp >= 0
        self.grp_u, self.grp_per, inv = _pair_groups(grp[has], per[has])
        self.grp_n = np.bincount(inv, minlength=len(self.grp_u)).astype(np.int64)
        # dense views over the season's periods, for candidate options (periods 0..P)
        self.load = self._dense(self.slot_u, self.per_u, self.slot_n, v.n_sl, P)
        self.group_at = self._dense(self.slot_u, self.per_u, np.arange(len(self.slot_u)),
                                    v.n_sl, P)
        self.ent_load = self._dense(self.ent_u, self.ent_per, self.ent_n, max(v.n_ent, 1), P)
        self.grp_load = self._dense(self.grp_u, self.grp_per, self.grp_n,
                                    max(len(v.group_keys), 1), P)
        self.by_slot = np.bincount(p.slot, minlength=v.n_sl).astype(np.int64)
        self.first_slots = p.slot[np.sort(np.unique(p.slot, return_index=True)[1])]

    @staticmethod
    def _dense(a: np.ndarray, per: np.ndarray, n: np.ndarray, rows: int, P: int) -> np.ndarray:
        out = np.zeros((rows, P + 1), dtype=np.int64)
        ok = (per >= 0) & (per <= P)
        out[a[ok], per[ok]] = n[ok]
        return out

    def capacity_violations(self) -> list[str]:
        v = self.v
        over = np.flatnonzero(self.slot_n > v.sl_cap[self.slot_u])
        out = []
        for i in sorted(over, key=lambda i: (v.sl_ids[self.slot_u[i]], self.per_u[i])):
            t, per = self.slot_u[i], int(self.per_u[i])
            where = f" in period {per}" if per else ""
            out.append(f"slot {v.sl_ids[t]} holds {self.slot_n[i]} students{where}, over its "
                       f"capacity {v.sl_cap[t]}")
        return out

    def cap_violations(self) -> list[str]:
        v, pol = self.v, self.v.policy
        out = []
        if v.ent_cap is not None:
            over = np.flatnonzero(self.ent_n > v.ent_cap[self.ent_u])
            for i in sorted(over, key=lambda i: (v.ent_ids[self.ent_u[i]], self.ent_per[i])):
                e = self.ent_u[i]
                out.append(f"enterprise {v.ent_ids[e]} has {self.ent_n[i]} interns in period "
                           f"{self.ent_per[i]}, over its cap {v.ent_cap[e]} "
                           f"({pol.enterprise_cap} × {v.ent_staff[e]} staff)")
        if v.group_cap is not None:
            cap = v.group_cap[self.grp_u]
            over = np.flatnonzero((cap >= 0) & (self.grp_n > cap))
            for i in sorted(over, key=lambda i: (v.group_keys[self.grp_u[i]], self.grp_per[i])):
                g = v.group_keys[self.grp_u[i]]
                out.append(f"post {g[0]}/{g[1].lstrip('#')} has {self.grp_n[i]} interns in "
                           f"period {self.grp_per[i]}, over its cap {cap[i]}")
        return out

    def min_size_violations(self, p: Placed) -> list[str]:
        v = self.v
        out = []
        for t in self.first_slots:  # slots in the order they first appear
            need, n = v.sl_min[t], self.by_slot[t]
            if need > 1 and n < need:
                out.append(f"order class {v.sl_ids[t]} holds {n} students, below its min_size "
                           f"{need}")
        return out


def _poor_first_violations(v: AuditView, p: Placed, sid: np.ndarray, tid: np.ndarray,
                           waiting: np.ndarray) -> list[str]:
    """DESIGN §4a.8: a non-poor student holds a slot of a poor-first kind while eligible poor
    students are unplaced."""
    if not v.policy.poor_first:
        return []
    hit = v.poor_first_kind[p.slot] & ~v.st_poor[p.stu] & (waiting[p.slot] > 0)
    out = []
    names: dict[int, str] = {}
    for i in np.flatnonzero(hit):
        t = int(p.slot[i])
        if t not in names:
            unplaced_poor = np.flatnonzero(v.st_poor & ~p.placed)
            who = unplaced_poor[v.eligible(unplaced_poor, np.full(len(unplaced_poor), t))]
            names[t] = ", ".join(sorted(v.st_ids[who].tolist())[:5])
        out.append(f"poor first: {sid[p.row[i]]} (not poor) holds {tid[p.row[i]]} while "
                   f"eligible poor student(s) {names[t]} are unplaced")
    return out


# ---------------------------------------------------------------------------------------------
# Money


class _Money:
    """Every subsidy line the placements earn (DESIGN §4a.11), exact: amounts are fractions of
    a yuan, counted as integers in units of 1/`unit` yuan."""

    def __init__(self, v: AuditView, p: Placed) -> None:
        self.v, self.p = v, p
        rules = v.policy.subsidies
        self.amounts: list[Fraction] = []  # distinct non-zero amounts; lines hold their index
        plc, rule, code = [], [], []
        for r, rl in enumerate(rules):
            idx = np.flatnonzero(v.rule_matches(rl, p.stu, p.slot, p.months))
            uniq, inv = np.unique(p.months[idx], return_inverse=True)
            c = np.array([self._code(rl.amount_for(int(m))) for m in uniq], dtype=np.int64)
            c = c[inv] if len(idx) else np.zeros(0, dtype=np.int64)
            keep = c >= 0  # a zero amount makes no line
            plc.append(idx[keep])
            rule.append(np.full(int(keep.sum()), r, dtype=np.int64))
            code.append(c[keep])
        z = np.zeros(0, dtype=np.int64)
        plc_a = np.concatenate(plc) if plc else z
        rule_a = np.concatenate(rule) if rule else z
        code_a = np.concatenate(code) if code else z
        order = np.lexsort((rule_a, plc_a))  # placement by placement, rules in policy order
        self.plc, self.rule, self.code = plc_a[order], rule_a[order], code_a[order]
        self.unit = math.lcm(*(a.denominator for a in self.amounts)) if self.amounts else 1
        units = [int(a * self.unit) for a in self.amounts]
        self.exact64 = all(abs(u) * max(len(rules), 1) < 2**62 for u in units)
        self.code_units = np.array(units, dtype=np.int64 if self.exact64 else object)
        self.spend_by_fund = self._spend([rl.fund for rl in rules])

    def _spend(self, fund_of_rule: list[str]) -> dict[str, Fraction]:
        """Spend per fund, funds in the order their first line appears."""
        if not len(self.rule):
            return {}
        f_code, f_names = pd.factorize(pd.Series(fund_of_rule, dtype=object))
        line_fund = f_code[self.rule]
        funds, first = np.unique(line_fund, return_index=True)
        out = {str(f_names[f]): Fraction(0) for f in funds[np.argsort(first)]}
        pairs, n = np.unique(np.stack([self.rule, self.code], axis=1), axis=0,
                             return_counts=True)
        for (r, c), k in zip(pairs.tolist(), n.tolist(), strict=True):
            out[fund_of_rule[r]] += self.amounts[c] * k
        return out

    def _code(self, amount: Fraction) -> int:
        """Index of a non-zero amount in `amounts` (added when new); -1 for zero."""
        if amount == 0:
            return -1
        try:
            return self.amounts.index(amount)
        except ValueError:
            self.amounts.append(amount)
            return len(self.amounts) - 1

    def per_student_units(self) -> np.ndarray:
        """Each student's subsidy, in units of 1/`unit` yuan (0 when unplaced)."""
        v, p = self.v, self.p
        if self.exact64:
            per_plc = np.zeros(len(p), dtype=np.int64)
            np.add.at(per_plc, self.plc, self.code_units[self.code])
            out = np.zeros(v.n_st, dtype=np.int64)
        else:  # amounts too large for int64 sums: Python integers
            per_plc = np.zeros(len(p), dtype=object)
            for i, c in zip(self.plc.tolist(), self.code.tolist(), strict=True):
                per_plc[i] += self.code_units[c]
            out = np.zeros(v.n_st, dtype=object)
        out[p.stu] = per_plc
        return out

    def ledger(self, sid: np.ndarray, tid: np.ndarray) -> pd.DataFrame:
        """One line per (placement, rule) with a non-zero amount (DESIGN §4a.12)."""
        if not len(self.plc):
            return pd.DataFrame([], columns=LEDGER_COLUMNS)
        rules = self.v.policy.subsidies
        row = self.p.row[self.plc]
        values = [_money(a) for a in self.amounts]
        if all(isinstance(x, int) for x in values):
            amount = np.array(values, dtype=np.int64)[self.code]
        else:
            amount = np.array(values, dtype=np.float64)[self.code]

        def per_rule(attr: str) -> np.ndarray:
            return np.array([getattr(rl, attr) for rl in rules], dtype=object)[self.rule]

        return pd.DataFrame({
            "student_id": sid[row], "slot_id": tid[row], "rule_id": per_rule("id"),
            "clause": per_rule("clause"), "payee": per_rule("payee"),
            "fund_id": per_rule("fund"), "amount": amount,
        }, columns=LEDGER_COLUMNS)

    def compare(self, assignments: pd.DataFrame, given: pd.DataFrame | None,
                own: pd.DataFrame) -> list[str]:
        """The allocation's own subsidy column and ledger against the recomputed ones."""
        out = []
        if "subsidy" in assignments.columns and len(assignments):
            stu = self.v.st_index.get_indexer(_text(assignments["student_id"])).astype(np.int64)
            due = self.per_student_units()
            want = np.where(stu >= 0, due[np.maximum(stu, 0)], 0)
            codes, uniq = pd.factorize(assignments["subsidy"], use_na_sentinel=True)
            given_units = [self._units(_fraction(u)) for u in uniq]
            ok = np.zeros(len(codes), dtype=bool)
            for c, g in enumerate(given_units):
                if g is not None:
                    sel = codes == c
                    ok[sel] = want[sel] == g
            if not ok.all():
                ids = assignments["student_id"].tolist()
                subs = assignments["subsidy"].tolist()
                for i in np.flatnonzero(~ok):
                    out.append(f"wrong subsidy for {ids[i]}: {subs[i]} given, "
                               f"{_money(Fraction(int(want[i]), self.unit))} due")
        if given is not None:
            out += _compare_ledgers(given, own)
        return out

    def _units(self, x: Fraction | None) -> int | None:
        """x in units of 1/`unit` yuan; None when it is no whole number of them."""
        if x is None:
            return None
        u = x * self.unit
        return int(u) if u.denominator == 1 else None


def _fraction(value: object) -> Fraction | None:
    """`Fraction(str(value))`, or None for a cell that is no number."""
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None


def _compare_ledgers(given: pd.DataFrame, own: pd.DataFrame) -> list[str]:
    """Lines (student, slot, rule, payee, fund, amount) given but not due, and due but not
    given, 20 of each at most, each sorted as text."""
    def keyed(df: pd.DataFrame) -> tuple[pd.Series, list[tuple]]:
        cols = [_text(df[c]) for c in ("student_id", "slot_id", "rule_id", "payee", "fund_id")]
        codes, uniq = pd.factorize(df["amount"], use_na_sentinel=True)
        exact = [_fraction(u) for u in uniq]
        text = np.array([str(x) for x in exact] + ["?"], dtype=object)
        key = cols[0]
        for c in cols[1:]:
            key = key + "\x1f" + c
        key = pd.Series(key + "\x1f" + text[codes], dtype=object)

        def line(i: int) -> tuple:
            return (*(c[i] for c in cols), exact[codes[i]] if codes[i] >= 0 else None)
        return key, line

    if not len(given) and not len(own):
        return []
    g_key, g_line = keyed(given)
    d_key, d_line = keyed(own)
    g_n, d_n = g_key.value_counts(), d_key.value_counts()
    diff = g_n.sub(d_n, fill_value=0)
    out = []
    for keys, line_of, label in ((g_key, g_line, "not due"), (d_key, d_line, "missing")):
        extra = diff[diff > 0] if label == "not due" else diff[diff < 0]
        if not len(extra):
            continue
        first = pd.Series(np.arange(len(keys))).groupby(keys.to_numpy()).first()
        lines = [line_of(int(first[k])) for k in extra.index]
        for ln in sorted(lines, key=str)[:20]:
            amount = "not a number" if ln[5] is None else _money(ln[5])
            out.append(f"ledger line {label}: {ln[0]} {ln[1]} rule {ln[2]} amount {amount}")
    return out


# ---------------------------------------------------------------------------------------------
# Metrics and levels


def _metrics(v: AuditView, p: Placed, spend_by_fund: dict[str, Fraction]) -> dict:
    ent = v.sl_ent[p.slot]
    rank = v.listed_rank(p.stu, p.slot)
    ranks, n = np.unique(rank, return_counts=True)
    hist = {("unlisted" if r == 0 else str(r)): int(k) for r, k in zip(ranks.tolist(),
                                                                      n.tolist(), strict=True)}
    funds = sorted(set(v.budgets) | set(spend_by_fund))
    spend = sum(spend_by_fund.values(), Fraction(0))
    return {
        "placed": len(p),
        "local": int(v.ent_local[ent].sum()),
        "in_park": int(v.ent_in_park[ent].sum()),
        "poor_placed": int(v.st_poor[p.stu].sum()),
        "spend_by_fund": {f: _money(spend_by_fund.get(f, Fraction(0))) for f in funds},
        "budget_by_fund": {f: _money(v.budgets[f]) for f in funds if f in v.budgets},
        "spend": _money(spend),
        "preference_rank_histogram": dict(sorted(hist.items(), key=lambda kv: (
            kv[0] == "unlisted", int(kv[0]) if kv[0].isdigit() else 0))),
    }


def _level_values(v: AuditView, p: Placed, metrics: dict) -> dict:
    """The value of every objective level, recomputed from the placements (DESIGN §4a.10)."""
    pol = v.policy
    rank = v.listed_rank(p.stu, p.slot)
    pref = int(np.where(rank > 0, v.k + 1 - rank, 0).sum())
    base = {"placed": metrics["placed"], "local": metrics["local"],
            "in_park": metrics["in_park"], "poor_placed": metrics["poor_placed"],
            "preference": pref, "spend": Fraction(str(metrics["spend"])),
            "blocking_pairs": metrics["blocking_pairs"]}
    out: dict[str, float | int] = {}
    if pol.park_coverage:
        covered = set(v.ent_park[v.sl_ent[p.slot]].tolist())
        out["park_coverage"] = len(v.local_parks & covered)
    if pol.weights:
        total = sum(Fraction(w) * (-1 if t.startswith("-") else 1) * Fraction(base[t.lstrip("-")])
                    for t, w in pol.weights.items())
        out["weighted"] = _money(total)
        return out
    for term in pol.order:
        val = base[term.lstrip("-")]
        out[term] = _money(-Fraction(val) if term.startswith("-") else Fraction(val))
    return out
