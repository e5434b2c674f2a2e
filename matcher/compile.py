"""Season + Policy → `solvers.Problem`, following DESIGN §4a to the letter.

Only eligible (student, option) pairs become edges; an option is (slot, start period, duration).
Every side rule becomes a packing row, a group, a cover or a priority pair, each labelled so
that explanations can say which row held a student back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from matcher.policy import WHOLE_SEASON_KINDS, SubsidyRule
from matcher.season import Season
from solvers.problem import Level, Problem, Ranking, SparseRows

__all__ = ["Compiled", "compile_season", "option_table", "yuan"]

FEN = 100  # money is kept in fen (1/100 yuan) inside the solver: exact integers


def yuan(fen: int | np.integer) -> int | float:
    """Fen as a yuan amount: an int when whole, else a float with two decimals."""
    fen = int(fen)
    return fen // FEN if fen % FEN == 0 else round(fen / FEN, 2)


def option_table(slots: pd.DataFrame, periods: int) -> pd.DataFrame:
    """Every option of DESIGN §4a.1: one per (slot, start, duration), or one whole-season seat.

    Options are numbered slot by slot (so a slot's options are consecutive), durations in their
    listed order and start periods ascending within each duration.
    """
    whole = slots["kind"].isin(WHOLE_SEASON_KINDS).to_numpy(dtype=bool)
    keys = [("whole",) if w else tuple(d) for w, d in zip(whole, slots["durations"], strict=True)]
    code, uniq = pd.factorize(pd.Series(keys, dtype=object))
    templates = []  # (start, months) of every option, per distinct durations list
    for key in uniq:
        if key == ("whole",):
            templates.append([(1, 3 * periods)])
        else:
            templates.append([(p, d) for d in key for p in range(1, periods - d // 3 + 2)])
    size = np.array([len(t) for t in templates], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    flat = np.array([o for t in templates for o in t], dtype=np.int64).reshape(-1, 2)
    count = size[code] if len(code) else np.zeros(0, dtype=np.int64)
    slot_idx = np.repeat(np.arange(len(slots), dtype=np.int64), count)
    at = np.repeat(first[code] - _starts(count), count) + np.arange(len(slot_idx))
    return pd.DataFrame({"slot": slot_idx, "start": flat[at, 0] if len(at) else at,
                         "months": flat[at, 1] if len(at) else at})


def _starts(count: np.ndarray) -> np.ndarray:
    """Offset of each block in a concatenation of blocks of the given sizes."""
    out = np.zeros(len(count), dtype=np.int64)
    if len(count) > 1:
        np.cumsum(count[:-1], out=out[1:])
    return out


def _within(count: np.ndarray) -> np.ndarray:
    """0, 1, ..., count[i] - 1 for every block i, concatenated."""
    total = int(count.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(_starts(count), count)


@dataclass(frozen=True)
class Compiled:
    """A compiled season: the Problem and the maps back to students, slots and rules."""

    season: Season
    problem: Problem
    options: pd.DataFrame  # slot (index into season.slots), start, months
    edges: pd.DataFrame  # agent, option, slot, start, months, rank, and attributes per edge
    rules: tuple[SubsidyRule, ...]
    pay_edge: np.ndarray  # sparse (edge, rule, fen) lines of every subsidy paid
    pay_rule: np.ndarray
    pay_fen: np.ndarray
    row_kind: tuple[str, ...]  # capacity | enterprise_cap | same_post_cap | budget
    row_key: tuple[str, ...]  # slot id, enterprise id, group, or fund id
    row_period: np.ndarray  # period of the row (0 for season rows)

    @property
    def edge_fen(self) -> np.ndarray:
        """Total subsidy of each edge, in fen."""
        return np.bincount(self.pay_edge, weights=self.pay_fen,
                           minlength=self.problem.n_edges).astype(np.int64)


def _eligible_pairs(season: Season) -> pd.DataFrame:
    """(student row, slot row, rank) for every eligible pair (DESIGN §3, §4a.2), sorted by
    student then slot.

    A listed pair is kept when the slot fits (major, school, graduating); a student without a
    list is paired with every slot that fits. Majors and schools are compared as integer codes.
    """
    st, sl = season.students, season.slots
    prefs = season.preferences
    n_sl = len(sl)
    l_student = pd.Index(st["student_id"]).get_indexer(prefs["student_id"]).astype(np.int64)
    l_slot = pd.Index(sl["slot_id"]).get_indexer(prefs["slot_id"]).astype(np.int64)
    l_rank = prefs["rank"].to_numpy(dtype=np.int64)
    has_list = np.zeros(len(st), dtype=bool)
    has_list[l_student] = True

    # (slot, major) offers as integer codes; a student's major code is -1 if no slot offers it
    offer_slot = np.repeat(np.arange(n_sl, dtype=np.int64),
                           sl["majors"].map(len).to_numpy(dtype=np.int64))
    offer_major, majors = pd.factorize(pd.Series([m for t in sl["majors"] for m in t],
                                                 dtype=object))
    n_m = max(len(majors), 1)
    st_major = pd.Index(majors).get_indexer(st["major"]).astype(np.int64)
    offer_key = np.unique(offer_slot * n_m + offer_major)

    # students without a list: every slot offering their major
    by_major = np.argsort(offer_major, kind="stable")
    major_ptr = np.zeros(n_m + 1, dtype=np.int64)
    np.cumsum(np.bincount(offer_major, minlength=n_m), out=major_ptr[1:])
    free_st = np.flatnonzero(~has_list & (st_major >= 0))
    count = (major_ptr[st_major[free_st] + 1] - major_ptr[st_major[free_st]])
    f_student = np.repeat(free_st, count)
    f_slot = offer_slot[by_major[np.repeat(major_ptr[st_major[free_st]], count) + _within(count)]]

    student = np.concatenate([l_student, f_student])
    slot = np.concatenate([l_slot, f_slot])
    rank = np.concatenate([l_rank, np.zeros(len(f_student), dtype=np.int64)])
    key = slot * n_m + st_major[student]
    ok = (st_major[student] >= 0) & _member(offer_key, key)
    schools = pd.Index(pd.unique(pd.concat([st["school_id"], sl["school_id"]], ignore_index=True)))
    slot_school = schools.get_indexer(sl["school_id"]).astype(np.int64)
    slot_school[(sl["school_id"] == "").to_numpy(dtype=bool)] = -1
    st_school = schools.get_indexer(st["school_id"]).astype(np.int64)
    ok &= (slot_school[slot] < 0) | (slot_school[slot] == st_school[student])
    employment = (sl["kind"] == "employment").to_numpy(dtype=bool)
    ok &= ~employment[slot] | st["graduating"].to_numpy(dtype=bool)[student]
    student, slot, rank = student[ok], slot[ok], rank[ok]
    order = np.argsort(student * max(n_sl, 1) + slot, kind="stable")
    return pd.DataFrame({"student": student[order], "slot": slot[order], "rank": rank[order]})


def _member(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each of `keys` is in the sorted array `sorted_keys`."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _csr_parts(owner: np.ndarray, member: np.ndarray, coef: np.ndarray | None, n_rows: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(ptr, index, coef) of rows from (row, member, coef) triples, members in their given order
    within a row; coef None means all ones. The arrays may be int32.

    A counting sort (scipy's COO to CSR conversion, stable) instead of a comparison sort: at
    province scale the rows hold tens of millions of members."""
    from scipy.sparse import coo_matrix

    if not len(member):
        return np.zeros(n_rows + 1, dtype=np.int64), member, None if coef is None else member
    data = np.ones(len(member), dtype=np.int8) if coef is None else coef
    width = int(member.max()) + 1
    m = coo_matrix((data, (owner, member)), shape=(n_rows, width)).tocsr(copy=False)
    if len(m.indices) != len(member):  # a member twice in one row: summed; never in a season
        raise AssertionError("duplicate member in a packing row")
    return m.indptr, m.indices, None if coef is None else m.data


def _csr(owner: np.ndarray, member: np.ndarray, coef: np.ndarray | None, n_rows: int
         ) -> SparseRows:
    """Rows from (row, member, coef) triples; members keep their given order within a row."""
    ptr, index, c = _csr_parts(owner, member, coef, n_rows)
    c = np.ones(len(index), dtype=np.int64) if c is None else c
    return SparseRows(ptr.astype(np.int64), index.astype(np.int64), c.astype(np.int64))


def _dense(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(key, return_inverse=True) for keys in [0, size), in O(len + size)."""
    present = np.zeros(size, dtype=bool)
    present[key] = True
    uniq = np.flatnonzero(present)
    rank = np.cumsum(present, dtype=np.int64) - 1
    return uniq, rank[key]


def _subsidy_lines(season: Season, edges: pd.DataFrame, slot_facts: dict[str, np.ndarray],
                   agent_facts: dict[str, np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(edge, rule, fen) for every rule a placement matches (DESIGN §4a.11), by rule then edge.

    `slot_facts` and `agent_facts` hold each condition per slot and per student: a rule's match
    is decided per slot and per student, then read off per edge."""
    out_e, out_r, out_f = [], [], []
    e_slot = edges["slot"].to_numpy()
    e_agent = edges["agent"].to_numpy()
    months = edges["months"].to_numpy()
    slot_kind = slot_facts["kind"]
    for r, rule in enumerate(season.policy.subsidies):
        w = rule.when
        on_slot = np.ones(len(slot_kind), dtype=bool)
        if rule.kinds is not None:
            on_slot &= np.isin(slot_kind, list(rule.kinds))
        for key in ("local", "in_park"):
            if key in w:
                on_slot &= slot_facts[key] == w[key]
        if "size_class" in w:
            on_slot &= np.isin(slot_facts["size_class"], list(w["size_class"]))
        match = on_slot[e_slot]
        for key in ("city_area_school", "graduating"):
            if key in w:
                match &= (agent_facts[key] == w[key])[e_agent]
        if "min_months" in w:
            match &= months >= w["min_months"]
        idx = np.flatnonzero(match)
        if not len(idx):
            continue
        uniq, inv = np.unique(months[idx], return_inverse=True)
        fen = np.array([_fen(rule.amount_for(int(m))) for m in uniq], dtype=np.int64)[inv]
        keep = fen != 0
        out_e.append(idx[keep])
        out_r.append(np.full(int(keep.sum()), r, dtype=np.int64))
        out_f.append(fen[keep])
    if not out_e:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    return np.concatenate(out_e), np.concatenate(out_r), np.concatenate(out_f)


def _fen(amount: Fraction) -> int:
    """Yuan → fen, rounding half up to the fen (amounts in yuan are exact decimals)."""
    return int(math.floor(amount * FEN + Fraction(1, 2)))


def _facts(season: Season) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each slot's enterprise row, the facts subsidy rules test per slot (kind, and its
    enterprise's local, in_park, size_class) and per student (city_area_school, graduating)."""
    st, sl, ent, sch = season.students, season.slots, season.enterprises, season.schools
    slot_ent = pd.Index(ent["enterprise_id"]).get_indexer(sl["enterprise_id"]).astype(np.int64)
    slot_facts = {
        "kind": sl["kind"].to_numpy(dtype=object),
        "local": ent["local"].to_numpy(dtype=bool)[slot_ent],
        "in_park": (ent["park_id"] != "").to_numpy(dtype=bool)[slot_ent],
        "size_class": ent["size_class"].to_numpy(dtype=object)[slot_ent],
    }
    school = pd.Index(sch["school_id"]).get_indexer(st["school_id"])
    agent_facts = {
        "city_area_school": sch["city_area"].to_numpy(dtype=bool)[school],
        "graduating": st["graduating"].to_numpy(dtype=bool),
    }
    return slot_ent, slot_facts, agent_facts


def _edges(season: Season, options: pd.DataFrame, slot_ent: np.ndarray,
           agent_facts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Every eligible (student, option) pair, sorted by student then option, with the
    attributes later steps read per edge."""
    st, sl, ent = season.students, season.slots, season.enterprises
    pairs = _eligible_pairs(season)
    p_slot = pairs["slot"].to_numpy()
    opt_slot = options["slot"].to_numpy()
    n_opt = np.bincount(opt_slot, minlength=len(sl)).astype(np.int64)
    count = n_opt[p_slot]
    option = np.repeat(_starts(n_opt)[p_slot], count) + _within(count)
    slot = opt_slot[option] if len(option) else option
    e_ent = slot_ent[slot]
    agent = np.repeat(pairs["student"].to_numpy(), count)
    return pd.DataFrame({
        "agent": agent,
        "slot": slot,
        "rank": np.repeat(pairs["rank"].to_numpy(), count),
        "option": option,
        "start": options["start"].to_numpy()[option],
        "months": options["months"].to_numpy()[option],
        "enterprise": e_ent,
        "kind": _category(sl["kind"], slot),
        "local": ent["local"].to_numpy(dtype=bool)[e_ent],
        "in_park": (ent["park_id"] != "").to_numpy(dtype=bool)[e_ent],
        "size_class": _category(ent["size_class"], e_ent),
        "poor": st["poor"].to_numpy(dtype=bool)[agent],
        "graduating": agent_facts["graduating"][agent],
        "city_area_school": agent_facts["city_area_school"][agent],
    }, copy=False)


def _category(values: pd.Series, at: np.ndarray) -> pd.Categorical:
    """values[at] as a categorical: a code per edge instead of a string per edge."""
    codes, cats = pd.factorize(values)
    return pd.Categorical.from_codes(codes[at], categories=pd.Index(cats, dtype=object))


def compile_season(season: Season) -> Compiled:
    """Build the Problem of a season under its policy."""
    pol = season.policy
    st, sl, ent, parks = season.students, season.slots, season.enterprises, season.parks
    options = option_table(sl, season.periods)
    slot_ent, slot_facts, agent_facts = _facts(season)
    edges = _edges(season, options, slot_ent, agent_facts)
    n_edges = len(edges)
    e_ent = edges["enterprise"].to_numpy()
    pay_e, pay_r, pay_f = _subsidy_lines(season, edges, slot_facts, agent_facts)
    edge_fen = np.bincount(pay_e, weights=pay_f, minlength=n_edges).astype(np.int64)
    rows, labels, kinds_l, keys_l, periods_l, rhs_l = _packing_rows(
        season, edges, e_ent, pay_e, pay_r, pay_f)

    # order classes with a minimum size
    slot_of_edge = edges["slot"].to_numpy()
    min_slots = np.flatnonzero(sl["min_size"].to_numpy() > 1)
    groups = _edges_of_slots(slot_of_edge, min_slots, len(sl))
    group_min = sl["min_size"].to_numpy()[min_slots]

    # park coverage: coverable local parks and the edges that would cover them
    covers = SparseRows.empty()
    if pol.park_coverage:
        local_parks = parks["park_id"][parks["local"].to_numpy(dtype=bool)]
        park_pos = pd.Index(local_parks).get_indexer(ent["park_id"]).astype(np.int64)
        park_pos[(ent["park_id"] == "").to_numpy(dtype=bool)] = -1
        e_park = park_pos[e_ent]
        on = np.flatnonzero(e_park >= 0)
        covers = _csr(e_park[on], on, None, len(local_parks))
        covers = _drop_empty(covers)

    # poor first (DESIGN §4a.8): per slot of a listed kind, its non-poor edges trigger the row,
    # its poor applicants must all be placed
    trig, need = SparseRows.empty(), SparseRows.empty()
    if pol.poor_first:
        trig, need = _poor_first(season, edges)

    levels = _levels(season, edges, edge_fen, pol.park_coverage)
    id_order = _text_order(st["student_id"])
    whole_opt = sl["kind"].isin(WHOLE_SEASON_KINDS).to_numpy()[options["slot"]]
    ranking = Ranking(option_slot=options["slot"].to_numpy(),
                      option_start=options["start"].to_numpy(),
                      option_span=np.where(whole_opt, season.periods, options["months"] // 3),
                      slot_capacity=sl["capacity"].to_numpy(),
                      agent_priority=_agent_priority(season, id_order),
                      edge_student_rank=np.maximum(edges["rank"].to_numpy(), 1),
                      edge_slot_rank=_slot_ranks(season, edges, id_order))
    problem = Problem(
        n_agents=len(st), n_options=len(options), edge_agent=edges["agent"].to_numpy(),
        edge_option=edges["option"].to_numpy(), levels=levels, rows=rows,
        rhs=np.asarray(rhs_l, dtype=np.int64), row_labels=labels, groups=groups,
        group_min=group_min, covers=covers, priority_triggers=trig, priority_agents=need,
        ranking=ranking, stable=pol.stability == "student-stable",
    )
    return Compiled(season, problem, options, edges, pol.subsidies, pay_e, pay_r, pay_f,
                    tuple(kinds_l), tuple(keys_l), np.asarray(periods_l, dtype=np.int64))


def _packing_rows(season: Season, edges: pd.DataFrame, e_ent: np.ndarray, pay_e: np.ndarray,
                  pay_r: np.ndarray, pay_f: np.ndarray) -> tuple:
    """Capacity, enterprise-cap, same-post-cap and budget rows (DESIGN §4a.5, §4a.6), with
    each row's kind, key, period, bound and label."""
    pol, sl, ent = season.policy, season.slots, season.enterprises
    n_edges = len(edges)
    kinds_l: list[str] = []
    keys_l: list = []
    periods_l: list = []
    rhs_l: list = []
    blocks: list[tuple] = []  # (ptr, index, coef) of each add_rows call, in row order

    def add_rows(row_of_member: np.ndarray, member: np.ndarray, coef: np.ndarray | None,
                 kind: str, keys, pers, rhs) -> None:
        blocks.append(_csr_parts(row_of_member, member, coef, len(rhs)))
        kinds_l.extend([kind] * len(rhs))
        keys_l.extend(keys)
        periods_l.extend(pers)
        rhs_l.extend(rhs)

    # expand period-based edges (shadow/post) into one membership per period covered
    whole = edges["kind"].isin(WHOLE_SEASON_KINDS).to_numpy(dtype=bool)
    span = np.where(whole, 1, edges["months"].to_numpy() // 3)
    rep_edge = np.repeat(np.arange(n_edges, dtype=np.int64), span)
    rep_period = np.repeat(np.where(whole, 0, edges["start"].to_numpy()), span)
    rep_period += _within(span) * np.repeat(~whole, span)  # 0 = the whole season
    P = season.periods
    rep_slot = edges["slot"].to_numpy()[rep_edge]
    # slot capacity: per (slot, period) for shadow/post, per slot for whole-season kinds
    uniq, inv = _dense(rep_slot * (P + 1) + rep_period, len(sl) * (P + 1))
    u_slot, u_per = uniq // (P + 1), uniq % (P + 1)
    add_rows(inv, rep_edge, None, "capacity", sl["slot_id"].to_numpy(dtype=object)[u_slot],
             u_per.tolist(), sl["capacity"].to_numpy()[u_slot].tolist())
    del inv, uniq
    interns = ~whole[rep_edge]
    if pol.enterprise_cap is not None:
        ie, ip = e_ent[rep_edge[interns]], rep_period[interns]
        uniq, inv = _dense(ie * (P + 1) + ip, len(ent) * (P + 1))
        u_ent, u_per = uniq // (P + 1), uniq % (P + 1)
        ratio = pol.enterprise_cap
        staff = ent["staff"].to_numpy()[u_ent]
        cap = [math.floor(ratio * int(s)) for s in staff]
        add_rows(inv, rep_edge[interns], None, "enterprise_cap",
                 ent["enterprise_id"].to_numpy(dtype=object)[u_ent], u_per.tolist(), cap)
    if pol.same_post_cap is not None:
        group_of_slot, group_cap, group_key = _post_groups(sl, pol.same_post_cap)
        g = group_of_slot[rep_slot]
        sel = interns & (g >= 0)
        uniq, inv = _dense(g[sel] * (P + 1) + rep_period[sel], max(len(group_key), 1) * (P + 1))
        u_g, u_per = uniq // (P + 1), uniq % (P + 1)
        add_rows(inv, rep_edge[sel], None, "same_post_cap", [group_key[x] for x in u_g],
                 u_per.tolist(), [group_cap[x] for x in u_g])
    del rep_edge, rep_period, rep_slot, interns
    fund_of_rule = pd.Index(season.funds["fund_id"]).get_indexer(
        [r.fund for r in pol.subsidies]).astype(np.int64)
    pay_fund = fund_of_rule[pay_r] if len(pay_r) else np.zeros(0, dtype=np.int64)
    for f, (fund_id, budget) in enumerate(zip(season.funds["fund_id"], season.funds["budget"],
                                              strict=True)):
        sel = pay_fund == f
        if not sel.any():
            continue
        fe = np.bincount(pay_e[sel], weights=pay_f[sel], minlength=n_edges).astype(np.int64)
        nz = np.flatnonzero(fe)
        add_rows(np.zeros(len(nz), dtype=np.int64), nz, fe[nz], "budget", [fund_id], [0],
                 [int(round(float(budget) * FEN))])
    rows = _stack(blocks)
    keys_l = [str(k) for k in keys_l]
    periods_l = [int(p) for p in periods_l]
    labels = tuple(f"{k} {key}" + (f" period {p}" if p else "")
                   for k, key, p in zip(kinds_l, keys_l, periods_l, strict=True))
    return rows, labels, kinds_l, keys_l, periods_l, rhs_l


def _stack(blocks: list[tuple]) -> SparseRows:
    """Blocks of rows (ptr, index, coef or None for ones) one after the other, as one
    SparseRows of int64 arrays, written once."""
    if not blocks:
        return SparseRows.empty()
    sizes = np.array([len(index) for _, index, _ in blocks], dtype=np.int64)
    offset = _starts(sizes)
    ptr = np.concatenate([np.zeros(1, dtype=np.int64)]
                         + [ptr[1:].astype(np.int64) + o
                            for (ptr, _, _), o in zip(blocks, offset, strict=True)])
    index = np.concatenate([index for _, index, _ in blocks], dtype=np.int64)
    coef = np.ones(int(sizes.sum()), dtype=np.int64)
    for (_, _, c), o in zip(blocks, offset, strict=True):
        if c is not None:
            coef[o:o + len(c)] = c
    return SparseRows(ptr, index, coef)


def _drop_empty(rows: SparseRows) -> SparseRows:
    """The same rows without the empty ones."""
    keep = np.diff(rows.ptr) > 0
    if keep.all():
        return rows
    ptr = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
    np.cumsum(np.diff(rows.ptr)[keep], out=ptr[1:])
    return SparseRows(ptr, rows.index, rows.coef)


def _poor_first(season: Season, edges: pd.DataFrame) -> tuple[SparseRows, SparseRows]:
    """Per slot of a `poor_first` kind with both kinds of applicant (in slot order): the edges
    of its non-poor applicants (trigger) and its poor applicants, each once (required)."""
    sl = season.slots
    listed = np.isin(sl["kind"].to_numpy(dtype=object), list(season.policy.poor_first))
    slot = edges["slot"].to_numpy()
    on = np.flatnonzero(listed[slot])
    poor = edges["poor"].to_numpy(dtype=bool)[on]
    s_on = slot[on]
    has_rich = np.bincount(s_on[~poor], minlength=len(sl)) > 0
    has_poor = np.bincount(s_on[poor], minlength=len(sl)) > 0
    both = has_rich & has_poor
    pos = np.cumsum(both) - 1
    n_rows = int(both.sum())
    t_sel = on[~poor & both[s_on]]
    trig = _csr(pos[slot[t_sel]], t_sel, None, n_rows)
    p_edges = on[poor & both[s_on]]
    p_slot, p_agent = slot[p_edges], edges["agent"].to_numpy()[p_edges]
    order = np.argsort(pos[p_slot], kind="stable")  # by slot, agents ascending within
    p_slot, p_agent = p_slot[order], p_agent[order]
    first = np.ones(len(p_slot), dtype=bool)
    first[1:] = (p_slot[1:] != p_slot[:-1]) | (p_agent[1:] != p_agent[:-1])
    need = _csr(pos[p_slot[first]], p_agent[first], None, n_rows)
    return trig, need


def _text_order(values: pd.Series) -> np.ndarray:
    """Each value's position when the values are sorted as text (ties keep their order)."""
    pos = np.empty(len(values), dtype=np.int64)
    pos[np.argsort(values.to_numpy(dtype=object), kind="stable")] = np.arange(len(values))
    return pos


def _agent_priority(season: Season, id_order: np.ndarray) -> np.ndarray:
    """The order serial mechanisms follow: poor students first when the policy puts them first
    anywhere, then score high to low, then student_id (`id_order`: its text order); 1 = first."""
    st = season.students
    poor = st["poor"].to_numpy() if season.policy.poor_first else np.zeros(len(st), dtype=bool)
    order = np.lexsort((id_order, -st["score"].to_numpy(), ~poor))
    prio = np.empty(len(st), dtype=np.int64)
    prio[order] = np.arange(1, len(st) + 1)
    return prio


def _slot_ranks(season: Season, edges: pd.DataFrame, id_order: np.ndarray) -> np.ndarray:
    """Each slot's rank of each eligible student (DESIGN §4a.13), per edge; 1 = best.

    Students the slot lists in rankings.csv come first by that rank (equal ranks are ties,
    DESIGN §4a.3: mechanisms break them by lottery, stability never lets them block); the
    others follow in the default
    order: poor first where the slot's kind is in `poor_first`, then score high to low, then
    student_id as text (`id_order`, strict). Ranks are dense within a slot.

    Each (student, slot) pair gets one integer sort key: listed pairs by the dense order of
    their (rank, poor, score), then unlisted ones by the student's place in the default order
    (one order for poor-first kinds, one for the others), so one sort ranks every slot.
    """
    st, sl = season.students, season.slots
    agent, slot = edges["agent"].to_numpy(), edges["slot"].to_numpy()
    # (agent, slot) pairs: a slot's options are consecutive in an agent's edges
    new_pair = np.ones(len(agent), dtype=bool)
    new_pair[1:] = (agent[1:] != agent[:-1]) | (slot[1:] != slot[:-1])
    pair_of_edge = np.cumsum(new_pair)
    pair_of_edge -= 1
    p_agent, p_slot = agent[new_pair], slot[new_pair]
    del new_pair
    n_st = len(st)
    listed_rank = np.zeros(len(p_agent), dtype=np.int64)
    if season.rankings is not None and len(season.rankings):
        r = season.rankings
        r_slot = pd.Index(sl["slot_id"]).get_indexer(r["slot_id"]).astype(np.int64)
        r_agent = pd.Index(st["student_id"]).get_indexer(r["student_id"]).astype(np.int64)
        r_key = r_slot * n_st + r_agent
        by_key = np.argsort(r_key, kind="stable")
        r_key, r_rank = r_key[by_key], r["rank"].to_numpy(dtype=np.int64)[by_key]
        want = p_slot * n_st + p_agent
        at = np.minimum(np.searchsorted(r_key, want), len(r_key) - 1)
        listed_rank = np.where(r_key[at] == want, r_rank[at], 0)
    listed = listed_rank > 0
    poor_kind = np.isin(sl["kind"].to_numpy(dtype=object), list(season.policy.poor_first))
    poor = st["poor"].to_numpy(dtype=bool)
    neg_score = -st["score"].to_numpy(dtype=np.float64)
    first_poor = poor_kind[p_slot]
    # the default order of students, with and without poor first
    plain = np.empty(n_st, dtype=np.int64)
    plain[np.lexsort((id_order, neg_score))] = np.arange(n_st)
    poorly = np.empty(n_st, dtype=np.int64)
    poorly[np.lexsort((id_order, neg_score, ~poor))] = np.arange(n_st)
    key = np.where(first_poor, poorly[p_agent], plain[p_agent])
    if listed.any():  # listed pairs first, by their rank: equal ranks tie (DESIGN §4a.3)
        li = np.flatnonzero(listed)
        order = np.argsort(listed_rank[li], kind="stable")
        ranks = listed_rank[li][order]
        change = np.zeros(len(li), dtype=bool)
        change[1:] = ranks[1:] != ranks[:-1]
        dense = np.empty(len(li), dtype=np.int64)
        dense[order] = np.cumsum(change)
        key[~listed] += len(li)
        key[li] = dense
    # dense rank of the key within each slot (temporaries dropped early: 10^7 pairs at scale)
    key += p_slot * (n_st + int(listed.sum()))
    del p_agent, listed_rank, listed, first_poor
    order = np.argsort(key)
    key = key[order]
    new_key = np.ones(len(order), dtype=bool)
    new_key[1:] = key[1:] != key[:-1]
    del key
    s_slot = p_slot[order]
    new_slot = np.ones(len(order), dtype=bool)
    new_slot[1:] = s_slot[1:] != s_slot[:-1]
    del s_slot, p_slot
    run = np.cumsum(new_key)
    del new_key
    first = np.flatnonzero(new_slot)
    run -= np.repeat(run[first] - 1, np.diff(np.append(first, len(order))))
    pair_rank = np.empty(len(order), dtype=np.int64)
    pair_rank[order] = run
    del run, order
    return pair_rank[pair_of_edge]


def _edges_of_slots(slot_of_edge: np.ndarray, slots: np.ndarray, n_slots: int) -> SparseRows:
    """One row per slot of `slots` (in that order, empty rows kept): the slot's edges."""
    if not len(slots):
        return SparseRows.empty()
    pos = np.full(n_slots, -1, dtype=np.int64)
    pos[slots] = np.arange(len(slots))
    on = np.flatnonzero(pos[slot_of_edge] >= 0)
    return _csr(pos[slot_of_edge[on]], on, None, len(slots))


def _post_groups(sl: pd.DataFrame, ratio: Fraction) -> tuple[np.ndarray, list[int], list[str]]:
    """Groups of slots sharing (enterprise, post) with a cap (DESIGN §4a.6); -1 = no group."""
    group_of_slot = np.full(len(sl), -1, dtype=np.int64)
    caps: list[int] = []
    keys: list[str] = []
    index: dict[tuple[str, str], int] = {}
    staff: dict[int, int] = {}
    for i, (ent, post, ps, sid) in enumerate(zip(sl["enterprise_id"], sl["post"],
                                                 sl["post_staff"], sl["slot_id"], strict=True)):
        key = (ent, post) if post else (ent, f"\0{sid}")
        if not post and ps < 0:
            continue
        g = index.setdefault(key, len(index))
        if g == len(keys):
            keys.append(f"{ent}/{post}" if post else f"{ent}/{sid}")
        group_of_slot[i] = g
        if ps >= 0:
            staff[g] = min(staff.get(g, ps), ps)
    for g in range(len(keys)):
        caps.append(math.floor(ratio * staff[g]) if g in staff else -1)
    # a group with no post_staff anywhere has no cap: drop it
    capped = np.array([c >= 0 for c in caps] + [False])
    group_of_slot = np.where(capped[group_of_slot], group_of_slot, -1)
    return group_of_slot, caps, keys


def _term_weights(term: str, season: Season, edges: pd.DataFrame, edge_fen: np.ndarray
                  ) -> tuple[np.ndarray, int]:
    """Per-edge weight of an objective term (DESIGN §4a.10) and its reporting scale."""
    n = len(edges)
    if term == "placed":
        return np.ones(n, dtype=np.int64), 1
    if term == "local":
        return edges["local"].to_numpy().astype(np.int64), 1
    if term == "in_park":
        return edges["in_park"].to_numpy().astype(np.int64), 1
    if term == "poor_placed":
        return edges["poor"].to_numpy().astype(np.int64), 1
    if term == "preference":
        rank = edges["rank"].to_numpy()
        k = season.longest_list
        return np.where(rank > 0, k + 1 - rank, 0).astype(np.int64), 1
    if term == "spend":
        return edge_fen, FEN
    raise ValueError(f"objective term {term!r} is not supported by this strategy set")


def _levels(season: Season, edges: pd.DataFrame, edge_fen: np.ndarray, coverage: bool
            ) -> list[Level]:
    pol = season.policy
    n = len(edges)
    levels: list[Level] = []
    if coverage:
        levels.append(Level("park_coverage", np.zeros(n, dtype=np.int64), cover_weight=1))
    if pol.weights:
        total = np.zeros(n, dtype=np.int64)
        for term, w in pol.weights.items():
            sign = -1 if term.startswith("-") else 1
            weights, scale = _term_weights(term.lstrip("-"), season, edges, edge_fen)
            total += sign * w * weights * (FEN // scale)
        levels.append(Level("weighted", total, scale=FEN))
        return levels
    for term in pol.order:
        sign = -1 if term.startswith("-") else 1
        weights, scale = _term_weights(term.lstrip("-"), season, edges, edge_fen)
        levels.append(Level(term, sign * weights, scale=scale))
    return levels
