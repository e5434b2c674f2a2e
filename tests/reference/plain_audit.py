"""The audit written placement by placement in plain Python: the reference `matcher.audit` is
checked against (tests/matcher/test_audit_equivalence.py).

This is the audit as it stood before it was vectorised for province-sized seasons, kept
unchanged apart from this docstring: options, eligibility, caps, budgets and subsidies are
recomputed placement by placement, straight from the season tables and DESIGN §4a. It is too
slow for large seasons (minutes at 20 000 students) and exists to pin the vectorised audit's
every output (violations, metrics, ledger, unplaced reasons, levels) on small ones.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd

from matcher.policy import WHOLE_SEASON_KINDS, SubsidyRule
from matcher.season import Season

__all__ = ["AuditReport", "Placement", "audit", "blocking_pairs"]


@dataclass(frozen=True)
class Placement:
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


class _SeasonView:
    """Plain dictionaries over the season tables, for placement-by-placement checks."""

    def __init__(self, season: Season) -> None:
        self.season = season
        self.students = {r["student_id"]: r for r in season.students.to_dict("records")}
        self.slots = {r["slot_id"]: r for r in season.slots.to_dict("records")}
        self.ents = {r["enterprise_id"]: r for r in season.enterprises.to_dict("records")}
        self.schools = {r["school_id"]: r for r in season.schools.to_dict("records")}
        self.parks = {r["park_id"]: r for r in season.parks.to_dict("records")}
        self.lists: dict[str, dict[str, int]] = defaultdict(dict)
        for sid, tid, rank in zip(season.preferences["student_id"], season.preferences["slot_id"],
                                  season.preferences["rank"], strict=True):
            self.lists[sid][tid] = int(rank)
        self.k = max((len(v) for v in self.lists.values()), default=0)
        self.post_staff: dict[tuple[str, str], int] = {}  # smallest post_staff per post group
        for t in self.slots.values():
            g = _post_group(t)
            if g is not None and t["post_staff"] >= 0:
                self.post_staff[g] = min(self.post_staff.get(g, t["post_staff"]),
                                         int(t["post_staff"]))
        self.by_major: dict[str, list[str]] = defaultdict(list)
        for tid, t in self.slots.items():
            for m in t["majors"]:
                self.by_major[m].append(tid)
        self.budgets = {f: Fraction(str(b)) for f, b in zip(season.funds["fund_id"],
                                                            season.funds["budget"], strict=True)}

    def options(self, slot_id: str) -> list[tuple[int, int]]:
        slot = self.slots[slot_id]
        P = self.season.periods
        if slot["kind"] in WHOLE_SEASON_KINDS:
            return [(1, 3 * P)]
        return [(p, d) for d in slot["durations"] for p in range(1, P + 1) if p + d // 3 - 1 <= P]

    def eligible(self, student_id: str, slot_id: str) -> bool:
        s, t = self.students[student_id], self.slots[slot_id]
        if s["major"] not in t["majors"]:
            return False
        if t["school_id"] and t["school_id"] != s["school_id"]:
            return False
        if self.lists.get(student_id) and slot_id not in self.lists[student_id]:
            return False
        return not (t["kind"] == "employment" and not s["graduating"])

    def candidates(self, student_id: str) -> list[str]:
        """Slots the student is eligible for and that offer at least one option."""
        s = self.students[student_id]
        pool = self.lists[student_id] if self.lists.get(student_id) else self.by_major[s["major"]]
        return [t for t in pool if self.eligible(student_id, t) and self.options(t)]

    def poor_waiting(self, slot_id: str, placed: set[str]) -> list[str]:
        """Eligible poor students of a slot who are not placed anywhere (DESIGN §4a.8)."""
        return sorted(sid for sid, s in self.students.items()
                      if s["poor"] and sid not in placed and self.eligible(sid, slot_id))

    def periods_used(self, slot_id: str, start: int, months: int) -> list[int]:
        if self.slots[slot_id]["kind"] in WHOLE_SEASON_KINDS:
            return [0]
        return list(range(start, start + months // 3))

    def rule_amount(self, rule: SubsidyRule, p: Placement) -> Fraction:
        """DESIGN §4a.11, read directly: the yuan a rule pays for one placement."""
        slot = self.slots[p.slot_id]
        ent = self.ents[slot["enterprise_id"]]
        stu = self.students[p.student_id]
        if rule.kinds is not None and slot["kind"] not in rule.kinds:
            return Fraction(0)
        facts = {"local": bool(ent["local"]), "in_park": bool(ent["park_id"]),
                 "city_area_school": bool(self.schools[stu["school_id"]]["city_area"]),
                 "graduating": bool(stu["graduating"])}
        for key, want in rule.when.items():
            if key == "min_months":
                if p.duration_months < want:
                    return Fraction(0)
            elif key == "size_class":
                if ent["size_class"] not in want:
                    return Fraction(0)
            elif facts[key] != want:
                return Fraction(0)
        if rule.per == "once":
            return rule.amount
        if rule.per == "month":
            return rule.amount * p.duration_months
        return rule.amount * p.duration_months / 12


class _SlotRanking:
    def __init__(self, view: _SeasonView) -> None:
        season = view.season
        self.view = view
        self.explicit: dict[str, dict[str, int]] = defaultdict(dict)
        if season.rankings is not None:
            for tid, sid, rank in zip(season.rankings["slot_id"], season.rankings["student_id"],
                                      season.rankings["rank"], strict=True):
                self.explicit[tid][sid] = int(rank)
        self.poor_first = set(season.policy.poor_first)

    def key(self, slot_id: str, student_id: str) -> tuple:
        listed = self.explicit.get(slot_id, {})
        if student_id in listed:
            return (0, listed[student_id], 0, 0.0, "")
        s = self.view.students[student_id]
        poor_rank = 0 if (self.view.slots[slot_id]["kind"] in self.poor_first and s["poor"]) else 1
        return (1, 0, poor_rank, -float(s["score"]), student_id)


def audit(season: Season, assignments: pd.DataFrame, ledger: pd.DataFrame | None = None
          ) -> AuditReport:
    """Check an allocation (rows of student_id, slot_id, start_period, duration_months, and
    optionally subsidy) and recompute every metric and the subsidy ledger."""
    v = _SeasonView(season)
    pol = season.policy
    bad: list[str] = []
    placements: list[Placement] = []
    seen: set[str] = set()
    for r in assignments.to_dict("records"):
        p = Placement(str(r["student_id"]), str(r["slot_id"]), int(r["start_period"]),
                      int(r["duration_months"]))
        if p.student_id not in v.students:
            bad.append(f"unknown student {p.student_id!r}")
            continue
        if p.slot_id not in v.slots:
            bad.append(f"unknown slot {p.slot_id!r} for {p.student_id}")
            continue
        if p.student_id in seen:
            bad.append(f"student {p.student_id} is placed more than once")
            continue
        seen.add(p.student_id)
        if (p.start_period, p.duration_months) not in v.options(p.slot_id):
            bad.append(f"{p.student_id}: slot {p.slot_id} has no option starting in period "
                       f"{p.start_period} for {p.duration_months} months")
        if not v.eligible(p.student_id, p.slot_id):
            bad.append(f"{p.student_id} is not eligible for slot {p.slot_id}")
        placements.append(p)

    usage = _usage(v, placements)
    bad += _check_capacity(v, usage)
    bad += _check_caps(v, usage, pol)
    by_slot = Counter(p.slot_id for p in placements)
    for tid, n in by_slot.items():
        need = int(v.slots[tid]["min_size"])
        if need > 1 and n < need:
            bad.append(f"order class {tid} holds {n} students, below its min_size {need}")
    placed_ids = {p.student_id for p in placements}
    waiting_cache: dict[str, list[str]] = {}
    if pol.poor_first:
        for p in placements:
            slot = v.slots[p.slot_id]
            if slot["kind"] not in pol.poor_first or v.students[p.student_id]["poor"]:
                continue
            if p.slot_id not in waiting_cache:
                waiting_cache[p.slot_id] = v.poor_waiting(p.slot_id, placed_ids)
            waiting = waiting_cache[p.slot_id]
            if waiting:
                bad.append(f"poor first: {p.student_id} (not poor) holds {p.slot_id} while "
                           f"eligible poor student(s) {', '.join(sorted(waiting)[:5])} "
                           "are unplaced")

    # ledger and budgets
    lines = []
    per_student: dict[str, Fraction] = defaultdict(Fraction)
    spend_by_fund: dict[str, Fraction] = defaultdict(Fraction)
    for p in placements:
        for rule in pol.subsidies:
            amt = v.rule_amount(rule, p)
            if amt == 0:
                continue
            lines.append({"student_id": p.student_id, "slot_id": p.slot_id, "rule_id": rule.id,
                          "clause": rule.clause, "payee": rule.payee, "fund_id": rule.fund,
                          "amount": _money(amt)})
            per_student[p.student_id] += amt
            spend_by_fund[rule.fund] += amt
    for fund, spent in spend_by_fund.items():
        if fund in v.budgets and spent > v.budgets[fund]:
            bad.append(f"budget of fund {fund} exceeded: {_money(spent)} > "
                       f"{_money(v.budgets[fund])} yuan")
    own_ledger = pd.DataFrame(lines, columns=["student_id", "slot_id", "rule_id", "clause",
                                              "payee", "fund_id", "amount"])
    bad += _compare_money(assignments, ledger, per_student, own_ledger)

    # metrics
    ranking = _SlotRanking(v)
    metrics = _metrics(v, placements, spend_by_fund)
    metrics["blocking_pairs"] = len(blocking_pairs(v, ranking, placements, usage))
    levels = _level_values(v, placements, metrics)
    unplaced = _unplaced(v, ranking, placements, usage, spend_by_fund, placed_ids)
    return AuditReport(bad, metrics, own_ledger, unplaced, levels)


def _usage(v: _SeasonView, placements: list[Placement]) -> dict[tuple[str, int], list[str]]:
    """Who uses each (slot, period); period 0 is a whole-season seat."""
    use: dict[tuple[str, int], list[str]] = defaultdict(list)
    for p in placements:
        for per in v.periods_used(p.slot_id, p.start_period, p.duration_months):
            use[(p.slot_id, per)].append(p.student_id)
    return use


def _check_capacity(v: _SeasonView, usage) -> list[str]:
    out = []
    for (tid, per), who in sorted(usage.items()):
        cap = int(v.slots[tid]["capacity"])
        if len(who) > cap:
            where = f" in period {per}" if per else ""
            out.append(f"slot {tid} holds {len(who)} students{where}, over its capacity {cap}")
    return out


def _cap_counts(v: _SeasonView, usage) -> tuple[dict, dict]:
    ent_count: Counter = Counter()
    post_count: Counter = Counter()
    for (tid, per), who in usage.items():
        slot = v.slots[tid]
        if per == 0:  # whole-season kinds do not count as interns (DESIGN §4a.5)
            continue
        ent_count[(slot["enterprise_id"], per)] += len(who)
        g = _post_group(slot)
        if g is not None:
            post_count[(g, per)] += len(who)
    return ent_count, post_count


def _post_group(slot: dict) -> tuple[str, str] | None:
    if slot["post"]:
        return (slot["enterprise_id"], slot["post"])
    if slot["post_staff"] >= 0:
        return (slot["enterprise_id"], "#" + slot["slot_id"])
    return None


def _enterprise_cap(v: _SeasonView, ratio: Fraction, eid: str) -> int:
    """DESIGN §4a.5: floor(ratio × staff), the ratio as an exact decimal."""
    return math.floor(ratio * int(v.ents[eid]["staff"]))


def _post_group_cap(v: _SeasonView, ratio: Fraction, group: tuple[str, str]) -> int | None:
    """DESIGN §4a.6: floor(ratio × the smallest post_staff of the group); None without any."""
    staff = v.post_staff.get(group)
    return None if staff is None else math.floor(ratio * staff)


def _check_caps(v: _SeasonView, usage, pol) -> list[str]:
    out = []
    ent_count, post_count = _cap_counts(v, usage)
    if pol.enterprise_cap is not None:
        for (eid, per), n in sorted(ent_count.items()):
            cap = _enterprise_cap(v, pol.enterprise_cap, eid)
            if n > cap:
                out.append(f"enterprise {eid} has {n} interns in period {per}, over its cap {cap} "
                           f"({pol.enterprise_cap} × {v.ents[eid]['staff']} staff)")
    if pol.same_post_cap is not None:
        for (g, per), n in sorted(post_count.items()):
            cap = _post_group_cap(v, pol.same_post_cap, g)
            if cap is not None and n > cap:
                out.append(f"post {g[0]}/{g[1].lstrip('#')} has {n} interns in period {per}, "
                           f"over its cap {cap}")
    return out


def _compare_money(assignments: pd.DataFrame, ledger: pd.DataFrame | None,
                   per_student: dict[str, Fraction], own: pd.DataFrame) -> list[str]:
    out = []
    if "subsidy" in assignments.columns:
        for sid, sub in zip(assignments["student_id"], assignments["subsidy"], strict=True):
            want = per_student.get(str(sid), Fraction(0))
            if Fraction(str(sub)) != want:
                out.append(f"wrong subsidy for {sid}: {sub} given, {_money(want)} due")
    if ledger is not None:
        def keyed(df: pd.DataFrame) -> Counter:
            return Counter((str(a), str(b), str(c), str(d), str(e), Fraction(str(f)))
                           for a, b, c, d, e, f in zip(df["student_id"], df["slot_id"],
                                                       df["rule_id"], df["payee"], df["fund_id"],
                                                       df["amount"], strict=True))
        given, due = keyed(ledger), keyed(own)
        for line in sorted((given - due).keys(), key=str)[:20]:
            out.append(f"ledger line not due: {line[0]} {line[1]} rule {line[2]} "
                       f"amount {_money(line[5])}")
        for line in sorted((due - given).keys(), key=str)[:20]:
            out.append(f"ledger line missing: {line[0]} {line[1]} rule {line[2]} "
                       f"amount {_money(line[5])}")
    return out


def _metrics(v: _SeasonView, placements: list[Placement], spend_by_fund) -> dict:
    local = in_park = poor = 0
    hist: Counter = Counter()
    for p in placements:
        ent = v.ents[v.slots[p.slot_id]["enterprise_id"]]
        local += bool(ent["local"])
        in_park += bool(ent["park_id"])
        poor += bool(v.students[p.student_id]["poor"])
        rank = v.lists.get(p.student_id, {}).get(p.slot_id)
        hist["unlisted" if rank is None else str(rank)] += 1
    funds = sorted(set(v.budgets) | set(spend_by_fund))
    spend = sum(spend_by_fund.values(), Fraction(0))
    return {
        "placed": len(placements),
        "local": local,
        "in_park": in_park,
        "poor_placed": poor,
        "spend_by_fund": {f: _money(spend_by_fund.get(f, Fraction(0))) for f in funds},
        "budget_by_fund": {f: _money(v.budgets[f]) for f in funds if f in v.budgets},
        "spend": _money(spend),
        "preference_rank_histogram": dict(sorted(hist.items(), key=lambda kv: (
            kv[0] == "unlisted", int(kv[0]) if kv[0].isdigit() else 0))),
    }


def _level_values(v: _SeasonView, placements: list[Placement], metrics: dict) -> dict:
    """The value of every objective level, recomputed from the placements (DESIGN §4a.10)."""
    pol = v.season.policy
    pref = sum(v.k + 1 - v.lists[p.student_id][p.slot_id]
               for p in placements if p.slot_id in v.lists.get(p.student_id, {}))
    base = {"placed": metrics["placed"], "local": metrics["local"],
            "in_park": metrics["in_park"], "poor_placed": metrics["poor_placed"],
            "preference": pref, "spend": Fraction(str(metrics["spend"])),
            "blocking_pairs": metrics["blocking_pairs"]}
    out: dict[str, float | int] = {}
    if pol.park_coverage:
        covered = {v.ents[v.slots[p.slot_id]["enterprise_id"]]["park_id"] for p in placements}
        out["park_coverage"] = sum(1 for pid, park in v.parks.items()
                                   if park["local"] and pid in covered)
    if pol.weights:
        total = sum(Fraction(w) * (-1 if t.startswith("-") else 1) * Fraction(base[t.lstrip("-")])
                    for t, w in pol.weights.items())
        out["weighted"] = _money(total)
        return out
    for term in pol.order:
        val = base[term.lstrip("-")]
        out[term] = _money(-Fraction(val) if term.startswith("-") else Fraction(val))
    return out


def blocking_pairs(v: _SeasonView, ranking: _SlotRanking, placements: list[Placement],
                   usage) -> list[tuple[str, str]]:
    """Pairs (student, slot) that would both rather be matched to each other (capacity only).

    The student strictly prefers the slot to their placement (any eligible slot beats none; a
    student without a list is indifferent between slots) and the slot either can still take
    them in one of its options or ranks them above one of its current holders.
    """
    where = {p.student_id: p for p in placements}
    holders: dict[str, list[str]] = defaultdict(list)
    for p in placements:
        holders[p.slot_id].append(p.student_id)
    free: dict[str, bool] = {}
    worst: dict[str, tuple | None] = {}
    for tid, slot in v.slots.items():
        free[tid] = any(all(len(usage.get((tid, per), [])) < int(slot["capacity"])
                            for per in v.periods_used(tid, s, d)) for s, d in v.options(tid))
        worst[tid] = max((ranking.key(tid, h) for h in holders[tid]), default=None)
    out = []
    for sid in v.students:
        cur = where.get(sid)
        lst = v.lists.get(sid, {})
        if cur is not None and not lst:
            continue  # indifferent between slots: placed is as good as it gets
        for tid in v.candidates(sid):
            if cur is not None and (cur.slot_id == tid
                                    or lst[tid] >= lst.get(cur.slot_id, NOT_LISTED)):
                continue
            w = worst[tid]
            if free[tid] or (w is not None and ranking.key(tid, sid) < w):
                out.append((sid, tid))
    return out


NOT_LISTED = 1 << 30  # rank of a slot missing from a list (an ineligible placement)
REASON_ORDER = ["budget", "min_size", "poor_first", "enterprise_cap", "same_post_cap", "capacity"]


def _unplaced(v: _SeasonView, ranking: _SlotRanking, placements: list[Placement], usage,
              spend_by_fund, placed_ids: set[str]) -> pd.DataFrame:
    """A reason for every student not placed: what would break if they were added."""
    waiting: dict[str, bool] = {}
    ent_count, post_count = _cap_counts(v, usage)
    by_slot = Counter(p.slot_id for p in placements)
    rows = []
    for sid, stu in v.students.items():
        if sid in placed_ids:
            continue
        slots = v.candidates(sid)
        if not slots:
            if v.lists.get(sid):
                why = "no_eligible_slot: none of the slots on their list fits their major"
            else:
                why = f"no_eligible_slot: no slot offers major {stu['major']}"
            rows.append({"student_id": sid, "reason": why})
            continue
        found: dict[str, list[str]] = defaultdict(list)
        for tid in slots:
            for start, months in v.options(tid):
                p = Placement(sid, tid, start, months)
                for code, detail in _blockers(v, ranking, p, usage, ent_count, post_count, by_slot,
                                              spend_by_fund, placed_ids, waiting):
                    found[code].append(detail)
        if not found or all(not d for d in found.values()):
            rows.append({"student_id": sid, "reason": "not_chosen: an eligible option was open; "
                         "the objective or the time limit left it unused"})
            continue
        parts = []
        for code in sorted(found, key=lambda c: (-len(found[c]), REASON_ORDER.index(c))):
            details = list(dict.fromkeys(found[code]))
            more = f" and {len(details) - 3} more" if len(details) > 3 else ""
            parts.append(f"{code}: " + ", ".join(details[:3]) + more)
        rows.append({"student_id": sid, "reason": "; ".join(parts)})
    return pd.DataFrame(rows, columns=["student_id", "reason"])


def _blockers(v: _SeasonView, ranking: _SlotRanking, p: Placement, usage, ent_count, post_count,
              by_slot, spend_by_fund, placed_ids, waiting: dict[str, bool]
              ) -> list[tuple[str, str]]:
    pol = v.season.policy
    slot = v.slots[p.slot_id]
    out = []
    for per in v.periods_used(p.slot_id, p.start_period, p.duration_months):
        who = usage.get((p.slot_id, per), [])
        if len(who) >= int(slot["capacity"]):
            last = max(who, key=lambda h: ranking.key(p.slot_id, h)) if who else None
            when = f" period {per}" if per else ""
            held = f" (held by {len(who)}, last {last})" if last else " (capacity 0)"
            out.append(("capacity", f"{p.slot_id}{when} full{held}"))
        if per:
            eid = slot["enterprise_id"]
            if pol.enterprise_cap is not None:
                cap = _enterprise_cap(v, pol.enterprise_cap, eid)
                if ent_count[(eid, per)] >= cap:
                    out.append(("enterprise_cap", f"{eid} at its intern cap {cap} in period {per}"))
            g = _post_group(slot)
            if pol.same_post_cap is not None and g is not None:
                cap = _post_group_cap(v, pol.same_post_cap, g)
                if cap is not None and post_count[(g, per)] >= cap:
                    out.append(("same_post_cap", f"post {g[1].lstrip('#')} of {eid} at its cap "
                                f"{cap} in period {per}"))
    need = int(slot["min_size"])
    if need > 1 and by_slot[p.slot_id] == 0:
        out.append(("min_size", f"order class {p.slot_id} did not open (needs {need})"))
    for rule in pol.subsidies:
        amt = v.rule_amount(rule, p)
        if amt and rule.fund in v.budgets and spend_by_fund.get(rule.fund, 0) + amt > v.budgets[
                rule.fund]:
            out.append(("budget", f"fund {rule.fund} cannot pay {_money(amt)} more"))
    not_poor = not v.students[p.student_id]["poor"]
    if slot["kind"] in pol.poor_first and not_poor and p.slot_id not in waiting:
        waiting[p.slot_id] = bool(v.poor_waiting(p.slot_id, placed_ids))
    if not_poor and waiting.get(p.slot_id):
        out.append(("poor_first", f"{p.slot_id} goes to eligible poor students first"))
    return out
