"""The season as the audit reads it: integer-coded arrays straight from the season tables.

Built once per `Season` object (seasons are immutable) and shared by every audit of it, so that
enumerating thousands of tiny allocations stays cheap and a province-sized audit is a handful of
array operations. Nothing here comes from `matcher.compile`: options, eligibility, caps, rule
facts and slot rankings are read from the tables and DESIGN §4a again, in this module's own way.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from matcher.policy import WHOLE_SEASON_KINDS, SubsidyRule
from matcher.season import Season

__all__ = ["AuditView", "RankKeys", "view_of"]

_CACHE: dict[int, tuple[weakref.ref, AuditView]] = {}


def view_of(season: Season) -> AuditView:
    """The audit's view of `season`, built on first use and kept while the season lives."""
    hit = _CACHE.get(id(season))
    if hit is not None and hit[0]() is season:
        return hit[1]
    view = AuditView(season)
    key = id(season)
    _CACHE[key] = (weakref.ref(season), view)
    weakref.finalize(season, _CACHE.pop, key, None)
    return view


def member(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of `keys`: whether it is in the sorted array `sorted_keys`, and where."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys, at


def block_starts(count: np.ndarray) -> np.ndarray:
    """Offset of each block in a concatenation of blocks of the given sizes."""
    out = np.zeros(len(count), dtype=np.int64)
    if len(count) > 1:
        np.cumsum(count[:-1], out=out[1:])
    return out


def within(count: np.ndarray) -> np.ndarray:
    """0, 1, ..., count[i] - 1 for every block i, concatenated."""
    return np.arange(int(count.sum()), dtype=np.int64) - np.repeat(block_starts(count), count)


@dataclass(frozen=True)
class RankKeys:
    """A slot's ranking key of a student (DESIGN §4a.13) as five arrays compared in order:
    (0, rank, 0, 0.0, -1) when rankings.csv lists the student, else (1, 0, poor-first flag,
    -score, place of the student_id in text order). Smaller is better."""

    cols: tuple[np.ndarray, ...]

    def take(self, idx: np.ndarray) -> RankKeys:
        return RankKeys(tuple(c[idx] for c in self.cols))

    def less(self, other: RankKeys) -> np.ndarray:
        """Element-wise: self strictly before other."""
        lt = np.zeros(len(self.cols[0]), dtype=bool)
        eq = np.ones(len(self.cols[0]), dtype=bool)
        for a, b in zip(self.cols, other.cols, strict=True):
            lt |= eq & (a < b)
            eq &= a == b
        return lt


class AuditView:
    """Integer codes and per-row facts of one season's tables (see the module docstring)."""

    def __init__(self, season: Season) -> None:
        st, sl, ent = season.students, season.slots, season.enterprises
        self.policy = pol = season.policy  # no reference to the season: the cache keys on it
        self.periods = P = int(season.periods)
        self.n_st, self.n_sl, self.n_ent = len(st), len(sl), len(ent)

        # students
        self.st_ids = st["student_id"].to_numpy(dtype=object)
        self.st_index = pd.Index(self.st_ids)
        self.st_poor = st["poor"].to_numpy(dtype=bool)
        self.st_grad = st["graduating"].to_numpy(dtype=bool)
        self.st_score = st["score"].to_numpy(dtype=np.float64)
        self.st_major_name = st["major"].to_numpy(dtype=object)
        sch = season.schools
        at = pd.Index(sch["school_id"].astype(object)).get_indexer(st["school_id"].astype(object))
        self.st_city = sch["city_area"].to_numpy(dtype=bool)[at]
        self.st_text_order = np.empty(self.n_st, dtype=np.int64)
        self.st_text_order[np.argsort(self.st_ids, kind="stable")] = np.arange(self.n_st)

        # majors and schools as codes shared by students and slots
        slot_majors = sl["majors"].tolist()
        offer_slot = np.repeat(np.arange(self.n_sl, dtype=np.int64),
                               [len(t) for t in slot_majors]).astype(np.int64)
        names = pd.Index(pd.unique(pd.Series([m for t in slot_majors for m in t]
                                             + list(self.st_major_name), dtype=object)))
        self.n_majors = max(len(names), 1)
        offer_major = names.get_indexer(pd.Series([m for t in slot_majors for m in t],
                                                  dtype=object)).astype(np.int64)
        self.st_major = names.get_indexer(pd.Series(self.st_major_name, dtype=object)
                                          ).astype(np.int64)
        self.offer_key = np.unique(offer_slot * self.n_majors + offer_major)
        order = np.argsort(offer_major, kind="stable")  # slots of each major, in table order
        self.major_slots = offer_slot[order]
        self.major_ptr = np.zeros(self.n_majors + 1, dtype=np.int64)
        np.cumsum(np.bincount(offer_major, minlength=self.n_majors), out=self.major_ptr[1:])
        schools = pd.Index(pd.unique(pd.concat([st["school_id"], sl["school_id"]],
                                               ignore_index=True).astype(object)))
        self.st_school = schools.get_indexer(st["school_id"].astype(object)).astype(np.int64)
        self.sl_school = schools.get_indexer(sl["school_id"].astype(object)).astype(np.int64)
        self.sl_school[(sl["school_id"] == "").to_numpy(dtype=bool)] = -1

        # slots and enterprises
        self.sl_ids = sl["slot_id"].to_numpy(dtype=object)
        self.sl_index = pd.Index(self.sl_ids)
        self.sl_kind = sl["kind"].to_numpy(dtype=object)
        self.sl_whole = np.isin(self.sl_kind, list(WHOLE_SEASON_KINDS))
        self.sl_employment = self.sl_kind == "employment"
        self.sl_cap = sl["capacity"].to_numpy(dtype=np.int64)
        self.sl_min = sl["min_size"].to_numpy(dtype=np.int64)
        self.ent_ids = ent["enterprise_id"].to_numpy(dtype=object)
        self.sl_ent = pd.Index(self.ent_ids).get_indexer(sl["enterprise_id"].astype(object)
                                                         ).astype(np.int64)
        self.ent_local = ent["local"].to_numpy(dtype=bool)
        self.ent_park = ent["park_id"].to_numpy(dtype=object)
        self.ent_in_park = (ent["park_id"] != "").to_numpy(dtype=bool)
        self.ent_size = ent["size_class"].to_numpy(dtype=object)
        self.ent_staff = ent["staff"].to_numpy(dtype=np.int64)
        self.poor_first_kind = np.isin(self.sl_kind, list(pol.poor_first))

        # options (DESIGN §4a.1): per slot, consecutive; durations in order, then start
        opt_slot, opt_start, opt_months = [], [], []
        for i, (whole, durs) in enumerate(zip(self.sl_whole, sl["durations"], strict=True)):
            opts = [(1, 3 * P)] if whole else [(p, d) for d in durs for p in range(1, P + 1)
                                               if p + d // 3 - 1 <= P]
            for p, d in opts:
                opt_slot.append(i)
                opt_start.append(p)
                opt_months.append(d)
        self.opt_slot = np.asarray(opt_slot, dtype=np.int64)
        self.opt_start = np.asarray(opt_start, dtype=np.int64)
        self.opt_months = np.asarray(opt_months, dtype=np.int64)
        self.n_opt = np.bincount(self.opt_slot, minlength=self.n_sl).astype(np.int64)
        self.opt_first = block_starts(self.n_opt)
        self.opt_key = np.sort(self._option_key(self.opt_slot, self.opt_start, self.opt_months))

        # preference lists, in table order
        prefs = season.preferences
        self.l_student = self.st_index.get_indexer(prefs["student_id"].astype(object)
                                                   ).astype(np.int64)
        self.l_slot = self.sl_index.get_indexer(prefs["slot_id"].astype(object)).astype(np.int64)
        self.l_rank = prefs["rank"].to_numpy(dtype=np.int64)
        self.list_len = np.bincount(self.l_student, minlength=self.n_st).astype(np.int64)
        self.has_list = self.list_len > 0
        self.k = int(self.list_len.max()) if len(self.l_student) else 0
        key = self.l_student * max(self.n_sl, 1) + self.l_slot
        by_key = np.argsort(key, kind="stable")
        self.list_key, self.list_key_rank = key[by_key], self.l_rank[by_key]

        # explicit slot rankings
        self.rank_key = np.zeros(0, dtype=np.int64)
        self.rank_val = np.zeros(0, dtype=np.int64)
        if season.rankings is not None and len(season.rankings):
            r = season.rankings
            r_slot = self.sl_index.get_indexer(r["slot_id"].astype(object)).astype(np.int64)
            r_st = self.st_index.get_indexer(r["student_id"].astype(object)).astype(np.int64)
            key = r_slot * max(self.n_st, 1) + r_st
            by_key = np.argsort(key, kind="stable")
            self.rank_key, self.rank_val = key[by_key], r["rank"].to_numpy(dtype=np.int64)[by_key]

        # caps (DESIGN §4a.5, §4a.6)
        self.ent_cap = None
        if pol.enterprise_cap is not None:
            self.ent_cap = np.array([math.floor(pol.enterprise_cap * int(s))
                                     for s in self.ent_staff], dtype=np.int64)
        self.sl_group, self.group_keys, group_staff = self._post_groups(sl)
        self.group_cap = None
        if pol.same_post_cap is not None:
            self.group_cap = np.array([-1 if s < 0 else math.floor(pol.same_post_cap * s)
                                       for s in group_staff], dtype=np.int64)

        # money
        self.budgets = {str(f): Fraction(str(b)) for f, b in zip(season.funds["fund_id"],
                                                                season.funds["budget"],
                                                                strict=True)}
        self.local_parks = {str(p) for p, loc in zip(season.parks["park_id"],
                                                    season.parks["local"], strict=True) if loc}

    def _option_key(self, slot: np.ndarray, start: np.ndarray, months: np.ndarray) -> np.ndarray:
        """One integer per (slot, start, months) within the season's range; -1 outside it."""
        P = self.periods
        ok = (start >= 1) & (start <= P) & (months >= 1) & (months <= 3 * P)
        key = (slot * (P + 1) + np.where(ok, start, 0)) * (3 * P + 1) + np.where(ok, months, 0)
        return np.where(ok, key, -1)

    def _post_groups(self, sl: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, str]], list]:
        """Post group of each slot (-1 for none), each group's (enterprise, post or #slot) and
        its smallest post_staff (-1 when no slot of the group gives one)."""
        group = np.full(self.n_sl, -1, dtype=np.int64)
        keys: list[tuple[str, str]] = []
        staff: list[int] = []
        index: dict[tuple[str, str], int] = {}
        for i, (eid, post, ps, sid) in enumerate(zip(sl["enterprise_id"], sl["post"],
                                                     sl["post_staff"], sl["slot_id"],
                                                     strict=True)):
            if post:
                g = (eid, post)
            elif ps >= 0:
                g = (eid, "#" + sid)
            else:
                continue
            j = index.setdefault(g, len(keys))
            if j == len(keys):
                keys.append(g)
                staff.append(-1)
            group[i] = j
            if ps >= 0:
                staff[j] = int(ps) if staff[j] < 0 else min(staff[j], int(ps))
        return group, keys, staff

    # -----------------------------------------------------------------------------------------

    def is_option(self, slot: np.ndarray, start: np.ndarray, months: np.ndarray) -> np.ndarray:
        """Whether (start, months) is one of the slot's options."""
        found, _ = member(self.opt_key, self._option_key(slot, start, months))
        return found

    def listed_rank(self, stu: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """The student's rank of the slot; 0 where their list does not name it."""
        found, at = member(self.list_key, stu * max(self.n_sl, 1) + slot)
        return np.where(found, self.list_key_rank[at] if len(self.list_key) else 0, 0)

    def fits(self, stu: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """DESIGN §3 eligibility without the list condition: major, school, graduating."""
        ok, _ = member(self.offer_key, slot * self.n_majors + self.st_major[stu])
        ok &= (self.sl_school[slot] < 0) | (self.sl_school[slot] == self.st_school[stu])
        ok &= ~self.sl_employment[slot] | self.st_grad[stu]
        return ok

    def eligible(self, stu: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """DESIGN §3 eligibility: fits, and listed when the student has a list."""
        ok = self.fits(stu, slot)
        return ok & (~self.has_list[stu] | (self.listed_rank(stu, slot) > 0))

    def rank_keys(self, slot: np.ndarray, stu: np.ndarray) -> RankKeys:
        """The slot's ranking key of each student (see `RankKeys`)."""
        found, at = member(self.rank_key, slot * max(self.n_st, 1) + stu)
        explicit = self.rank_val[at] if len(self.rank_key) else np.zeros(len(stu), np.int64)
        poor = np.where(self.poor_first_kind[slot] & self.st_poor[stu], 0, 1)
        return RankKeys((
            np.where(found, 0, 1),
            np.where(found, explicit, 0),
            np.where(found, 0, poor),
            np.where(found, 0.0, -self.st_score[stu]),
            np.where(found, -1, self.st_text_order[stu]),
        ))

    def rule_matches(self, rule: SubsidyRule, stu: np.ndarray, slot: np.ndarray,
                     months: np.ndarray) -> np.ndarray:
        """Whether the rule pays for each placement (DESIGN §4a.11): its kinds and every `when`
        condition, read from the enterprise, the student's school and the student."""
        ent = self.sl_ent[slot]
        match = np.ones(len(slot), dtype=bool)
        if rule.kinds is not None:
            match &= np.isin(self.sl_kind, list(rule.kinds))[slot]
        for key, want in rule.when.items():
            if key == "min_months":
                match &= months >= want
            elif key == "size_class":
                match &= np.isin(self.ent_size, list(want))[ent]
            elif key in ("local", "in_park"):
                fact = self.ent_local if key == "local" else self.ent_in_park
                match &= (fact == want)[ent]
            elif key == "city_area_school":
                match &= (self.st_city == want)[stu]
            elif key == "graduating":
                match &= (self.st_grad == want)[stu]
            else:
                raise KeyError(f"unknown subsidy condition {key!r}")
        return match

    def candidates(self, students: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                         np.ndarray]:
        """(student, slot, place in their pool, listed rank) of every slot each of `students`
        is eligible for and that offers an option, ordered by student then pool order: their
        list in table order, or every slot of their major in table order when they have none."""
        pick = np.zeros(self.n_st, dtype=bool)
        pick[students] = True
        rows = np.flatnonzero(pick[self.l_student]) if len(self.l_student) else np.zeros(0, int)
        l_stu, l_slot = self.l_student[rows], self.l_slot[rows]
        free = students[~self.has_list[students]]
        m = self.st_major[free]
        count = self.major_ptr[m + 1] - self.major_ptr[m]
        f_stu = np.repeat(free, count)
        f_slot = self.major_slots[np.repeat(self.major_ptr[m], count) + within(count)]
        stu = np.concatenate([l_stu, f_stu])
        slot = np.concatenate([l_slot, f_slot])
        pos = np.concatenate([rows, f_slot])
        rank = np.concatenate([self.l_rank[rows], np.zeros(len(f_stu), dtype=np.int64)])
        ok = self.fits(stu, slot) & (self.n_opt[slot] > 0)
        stu, slot, pos, rank = stu[ok], slot[ok], pos[ok], rank[ok]
        order = np.lexsort((pos, stu))
        return stu[order], slot[order], pos[order], rank[order]
