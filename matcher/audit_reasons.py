"""What the audit says about students: why each unplaced student is unplaced, and how many
blocking pairs an allocation has. Both read the season and the placements alone.

An unplaced student's reason lists, per kind of obstacle, what would break if they took any
option of any slot they are eligible for: a full slot and period (naming its last holder), an
enterprise or post at its intern cap, an order class that did not open, a fund that cannot pay,
a slot kept for poor students. Work goes by chunks of students so that a season whose students
have no lists (eligible for every slot of their major) never holds every pair at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from matcher.audit_view import AuditView, RankKeys, within

if TYPE_CHECKING:
    from matcher.audit import Placed, _Counts, _Money

__all__ = ["blocking_pair_count", "poor_waiting", "unplaced_reasons"]

REASON_ORDER = ["budget", "min_size", "poor_first", "enterprise_cap", "same_post_cap", "capacity"]
NOT_LISTED = 1 << 30  # rank of a slot missing from a list (an ineligible placement)
CHUNK_PAIRS = 500_000  # candidate pairs per chunk of students: bounds the memory


def _chunks(v: AuditView, students: np.ndarray) -> Iterator[np.ndarray]:
    """`students` in consecutive chunks of about CHUNK_PAIRS candidate pairs each."""
    m = v.st_major[students]
    est = np.where(v.has_list[students], v.list_len[students],
                   v.major_ptr[m + 1] - v.major_ptr[m])
    cut = np.cumsum(est) // CHUNK_PAIRS
    bounds = np.flatnonzero(np.diff(cut)) + 1
    yield from np.split(students, bounds)


def poor_waiting(v: AuditView, placed: np.ndarray) -> np.ndarray:
    """Per slot: eligible poor students not placed anywhere (DESIGN §4a.8)."""
    waiting = v.st_poor & ~placed
    rows = np.flatnonzero(waiting[v.l_student]) if len(v.l_student) else np.zeros(0, np.int64)
    s, t = v.l_student[rows], v.l_slot[rows]
    count = np.bincount(t[v.fits(s, t)], minlength=v.n_sl).astype(np.int64)
    # students without a list, by (major, school, graduating): one representative each
    free = np.flatnonzero(waiting & ~v.has_list)
    if len(free):
        profile = (v.st_major[free] * (v.st_school.max() + 2) + v.st_school[free] + 1) * 2 \
            + v.st_grad[free]
        _, rep, size = np.unique(profile, return_index=True, return_counts=True)
        rep = free[rep]
        m = v.st_major[rep]
        n = v.major_ptr[m + 1] - v.major_ptr[m]
        r_stu = np.repeat(rep, n)
        r_size = np.repeat(size, n)
        r_slot = v.major_slots[np.repeat(v.major_ptr[m], n) + within(n)]
        ok = v.fits(r_stu, r_slot)
        count += np.bincount(r_slot[ok], weights=r_size[ok], minlength=v.n_sl).astype(np.int64)
    return count


def _room(v: AuditView, counts: _Counts) -> np.ndarray:
    """Per slot: whether one of its options has room in every period it uses."""
    span = np.where(v.sl_whole[v.opt_slot], 1, v.opt_months // 3)
    opt = np.repeat(np.arange(len(v.opt_slot)), span)
    slot = v.opt_slot[opt]
    per = np.where(v.sl_whole[slot], 0, v.opt_start[opt] + within(span))
    full = counts.load[slot, per] >= v.sl_cap[slot]
    opt_full = np.bincount(opt, weights=full, minlength=len(v.opt_slot)) > 0
    return np.bincount(v.opt_slot, weights=~opt_full, minlength=v.n_sl) > 0


def _max_key(keys: RankKeys, group: np.ndarray, n_groups: int, tie: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the entry with the largest key (among equal keys, the smallest `tie`), and
    whether the group has any entry."""
    order = np.lexsort((-tie, *keys.cols[::-1], group))
    g = group[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = g[1:] != g[:-1]
    best = np.full(n_groups, -1, dtype=np.int64)
    best[g[last]] = order[last]
    return best, best >= 0


def blocking_pair_count(v: AuditView, p: Placed, counts: _Counts) -> int:
    """Pairs (student, slot) that would both rather be matched to each other (capacity only).

    The student strictly prefers the slot to their placement (any eligible slot beats none; a
    student without a list is indifferent between slots) and the slot either can still take
    them in one of its options or ranks them above one of its current holders.
    """
    room = _room(v, counts)
    holder_keys = v.rank_keys(p.slot, p.stu)
    best, held = _max_key(holder_keys, p.slot, v.n_sl, np.arange(len(p)))
    if len(p):
        worst = holder_keys.take(np.maximum(best, 0))
    else:
        worst = RankKeys(tuple(np.zeros(v.n_sl, dtype=c.dtype) for c in holder_keys.cols))
    cur_rank = np.full(v.n_st, NOT_LISTED + 1, dtype=np.int64)  # unplaced: every slot is better
    rank = v.listed_rank(p.stu, p.slot)
    cur_rank[p.stu] = np.where(rank > 0, rank, NOT_LISTED)
    students = np.flatnonzero(~(p.placed & ~v.has_list))  # placed without a list: content
    total = 0
    for chunk in _chunks(v, students):
        stu, slot, _, rank = v.candidates(chunk)
        better = ~p.placed[stu] | (rank < cur_rank[stu])
        stu, slot = stu[better], slot[better]
        ahead = held[slot] & v.rank_keys(slot, stu).less(worst.take(slot))
        total += int(np.count_nonzero(room[slot] | ahead))
    return total


class _Details:
    """Occurrences of one kind of obstacle for a chunk of students: (student, order, detail),
    details as ids of their text in `text` (shared by every chunk; equal texts, one id)."""

    def __init__(self, code: str, text: dict[str, int]) -> None:
        self.code = code
        self.text = text
        self.parts: list[tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray]] = []

    def add(self, stu: np.ndarray, order: tuple[np.ndarray, ...], raw: np.ndarray,
            describe) -> None:
        """Add occurrences whose detail is `describe(raw id)`."""
        if not len(stu):
            return
        uniq, inv = np.unique(raw, return_inverse=True)
        ids = np.array([self.text.setdefault(describe(int(u)), len(self.text)) for u in uniq],
                       dtype=np.int64)
        self.parts.append((stu, order, ids[inv]))

    def summary(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(student, occurrences, part text) per student met: the code, its first three
        distinct details in order of appearance and how many more there are."""
        if not self.parts:
            return None
        stu = np.concatenate([s for s, _, _ in self.parts])
        det = np.concatenate([d for _, _, d in self.parts])
        cols = [np.concatenate([o[i] for _, o, _ in self.parts]) for i in range(3)]
        order = np.lexsort((*cols[::-1], stu))
        stu, det = stu[order], det[order]
        _, occ = np.unique(stu, return_counts=True)
        _, first = np.unique(stu * max(len(self.text), 1) + det, return_index=True)
        first.sort()
        d_stu, d_det = stu[first], det[first]  # distinct details, by student, in order
        s_u, start, n = np.unique(d_stu, return_index=True, return_counts=True)
        names = np.empty(len(self.text), dtype=object)
        names[list(self.text.values())] = list(self.text)
        text = (self.code + ": ") + names[d_det[start]]
        for k in (1, 2):
            has = n > k
            text[has] = text[has] + ", " + names[d_det[start[has] + k]]
        more = n > 3
        text[more] = text[more] + " and " + (n[more] - 3).astype(str).astype(object) + " more"
        return s_u, occ, text


def unplaced_reasons(v: AuditView, p: Placed, counts: _Counts, money: _Money,
                     waiting: np.ndarray) -> pd.DataFrame:
    """A reason for every student not placed: what would break if they were added."""
    unplaced = np.flatnonzero(~p.placed)
    if not len(unplaced):
        return pd.DataFrame([], columns=["student_id", "reason"])
    texts: dict[str, dict[str, int]] = {code: {} for code in REASON_ORDER}
    has_candidate = np.zeros(v.n_st, dtype=bool)
    last = _last_holders(v, p, counts)
    reason = np.full(v.n_st, "not_chosen: an eligible option was open; the objective or the "
                             "time limit left it unused", dtype=object)
    for chunk in _chunks(v, unplaced):  # a student's candidates all lie in one chunk
        stu, slot, pos, _ = v.candidates(chunk)
        has_candidate[stu] = True
        details = {code: _Details(code, texts[code]) for code in REASON_ORDER}
        _collect(v, counts, money, waiting, last, stu, slot, pos, details)
        del stu, slot, pos
        _join_parts(details, reason)
    none = unplaced[~has_candidate[unplaced]]
    listed = v.has_list[none]
    reason[none[listed]] = ("no_eligible_slot: none of the slots on their list fits their "
                            "major")
    reason[none[~listed]] = "no_eligible_slot: no slot offers major " \
        + v.st_major_name[none[~listed]]
    return pd.DataFrame({"student_id": v.st_ids[unplaced], "reason": reason[unplaced]})


def _join_parts(details: dict[str, _Details], reason: np.ndarray) -> None:
    """Each student's parts, most occurrences first, then in REASON_ORDER, joined by '; ',
    into `reason` (indexed by student)."""
    part_stu, part_occ, part_code, part_text = [], [], [], []
    for i, code in enumerate(REASON_ORDER):
        found = details[code].summary()
        if found is not None:
            part_stu.append(found[0])
            part_occ.append(found[1])
            part_code.append(np.full(len(found[0]), i))
            part_text.append(found[2])
    if not part_stu:
        return
    stu = np.concatenate(part_stu)
    order = np.lexsort((np.concatenate(part_code), -np.concatenate(part_occ), stu))
    stu, text = stu[order], np.concatenate(part_text)[order]
    first = np.ones(len(stu), dtype=bool)
    first[1:] = stu[1:] != stu[:-1]
    text[~first] = "; " + text[~first]
    starts = np.flatnonzero(first)
    reason[stu[starts]] = np.add.reduceat(text, starts)


def _last_holders(v: AuditView, p: Placed, counts: _Counts) -> np.ndarray:
    """Per (slot, period) group of `counts`: the holder the slot ranks last (a student row)."""
    if not len(p.use_plc):
        return np.zeros(0, dtype=np.int64)
    plc = p.use_plc
    keys = v.rank_keys(p.slot[plc], p.stu[plc])
    best, _ = _max_key(keys, counts.use_group, len(counts.slot_u), plc)
    return p.stu[plc[best]]


def _collect(v: AuditView, counts: _Counts, money: _Money, waiting: np.ndarray,
             last: np.ndarray, stu: np.ndarray, slot: np.ndarray, pos: np.ndarray,
             details: dict[str, _Details]) -> None:
    """Every obstacle of every option of the candidate pairs (stu, slot), into `details`."""
    pol = v.policy
    P = v.periods
    n = v.n_opt[slot]
    opt = np.repeat(v.opt_first[slot], n) + within(n)
    o_stu, o_slot, o_pos = np.repeat(stu, n), np.repeat(slot, n), np.repeat(pos, n)
    months = v.opt_months[opt]
    zero = np.zeros(len(opt), dtype=np.int64)

    # per period the option uses: capacity, enterprise cap, same-post cap
    whole = v.sl_whole[o_slot]
    span = np.where(whole, 1, months // 3)
    r = np.repeat(np.arange(len(opt)), span)
    j = within(span)
    r_slot = o_slot[r]
    per = np.where(whole[r], 0, v.opt_start[opt][r] + j)
    order = (o_pos[r], opt[r], j)
    hit = counts.load[r_slot, per] >= v.sl_cap[r_slot]
    details["capacity"].add(o_stu[r][hit], tuple(c[hit] for c in order),
                            r_slot[hit] * (P + 1) + per[hit],
                            lambda k: _capacity_text(v, counts, last, k // (P + 1), k % (P + 1)))
    intern = per > 0
    if v.ent_cap is not None:
        ent = v.sl_ent[r_slot]
        hit = intern & (counts.ent_load[ent, per] >= v.ent_cap[ent])
        details["enterprise_cap"].add(
            o_stu[r][hit], tuple(c[hit] for c in order), ent[hit] * (P + 1) + per[hit],
            lambda k: f"{v.ent_ids[k // (P + 1)]} at its intern cap {v.ent_cap[k // (P + 1)]} "
                      f"in period {k % (P + 1)}")
    if v.group_cap is not None and len(v.group_cap):
        g = v.sl_group[r_slot]
        gs = np.maximum(g, 0)
        cap = np.where(g >= 0, v.group_cap[gs], -1)
        hit = intern & (cap >= 0) & (counts.grp_load[gs, per] >= cap)
        details["same_post_cap"].add(
            o_stu[r][hit], tuple(c[hit] for c in order), gs[hit] * (P + 1) + per[hit],
            lambda k: _post_text(v, k // (P + 1), k % (P + 1)))

    # per option: an order class that did not open, budgets, poor first
    order = (o_pos, opt, zero)
    hit = (v.sl_min[o_slot] > 1) & (counts.by_slot[o_slot] == 0)
    details["min_size"].add(o_stu[hit], tuple(c[hit] for c in order), o_slot[hit],
                            lambda t: f"order class {v.sl_ids[t]} did not open "
                                      f"(needs {v.sl_min[t]})")
    for i, rule in enumerate(pol.subsidies):
        if rule.fund not in v.budgets:
            continue
        spent = money.spend_by_fund.get(rule.fund, Fraction(0))
        uniq, inv = np.unique(months, return_inverse=True)
        amounts = [rule.amount_for(int(m)) for m in uniq]
        over = np.array([a != 0 and spent + a > v.budgets[rule.fund] for a in amounts],
                        dtype=bool)
        if not over.any():
            continue
        hit = over[inv] & v.rule_matches(rule, o_stu, o_slot, months)
        details["budget"].add(
            o_stu[hit], (o_pos[hit], opt[hit], np.full(int(hit.sum()), i)), inv[hit],
            lambda k, rule=rule, amounts=amounts:
                f"fund {rule.fund} cannot pay {_money(amounts[k])} more")
    if pol.poor_first:
        hit = v.poor_first_kind[o_slot] & ~v.st_poor[o_stu] & (waiting[o_slot] > 0)
        details["poor_first"].add(o_stu[hit], tuple(c[hit] for c in order), o_slot[hit],
                                  lambda t: f"{v.sl_ids[t]} goes to eligible poor students "
                                            "first")


def _capacity_text(v: AuditView, counts: _Counts, last: np.ndarray, t: int, per: int) -> str:
    when = f" period {per}" if per else ""
    held = int(counts.load[t, per])
    if not held:
        return f"{v.sl_ids[t]}{when} full (capacity 0)"
    g = counts.group_at[t, per]
    return f"{v.sl_ids[t]}{when} full (held by {held}, last {v.st_ids[last[g]]})"


def _post_text(v: AuditView, g: int, per: int) -> str:
    eid, post = v.group_keys[g]
    return f"post {post.lstrip('#')} of {eid} at its cap {v.group_cap[g]} in period {per}"


def _money(x: Fraction) -> int | float:
    return int(x) if x.denominator == 1 else float(round(x, 2))
