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
    """Every option of DESIGN §4a.1: one per (slot, start, duration), or one whole-season seat."""
    slot_idx, start, months = [], [], []
    for i, (kind, durs) in enumerate(zip(slots["kind"], slots["durations"], strict=True)):
        if kind in WHOLE_SEASON_KINDS:
            slot_idx.append(i)
            start.append(1)
            months.append(3 * periods)
            continue
        for d in durs:
            for p in range(1, periods - d // 3 + 2):
                slot_idx.append(i)
                start.append(p)
                months.append(d)
    return pd.DataFrame({"slot": np.asarray(slot_idx, dtype=np.int64),
                         "start": np.asarray(start, dtype=np.int64),
                         "months": np.asarray(months, dtype=np.int64)})


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
    """(student row, slot row, rank) for every eligible pair (DESIGN §3, §4a.2)."""
    st, sl = season.students, season.slots
    s_idx = pd.Series(np.arange(len(st)), index=st["student_id"].to_numpy())
    t_idx = pd.Series(np.arange(len(sl)), index=sl["slot_id"].to_numpy())
    prefs = season.preferences
    listed = pd.DataFrame({
        "student": s_idx.reindex(prefs["student_id"].to_numpy()).to_numpy(),
        "slot": t_idx.reindex(prefs["slot_id"].to_numpy()).to_numpy(),
        "rank": prefs["rank"].to_numpy(dtype=np.int64),
    })
    has_list = np.zeros(len(st), dtype=bool)
    has_list[listed["student"].to_numpy(dtype=np.int64)] = True
    offers = pd.DataFrame({"slot": np.arange(len(sl)), "major": sl["majors"].to_numpy()})
    offers = offers.explode("major").dropna()
    free = pd.DataFrame({"student": np.flatnonzero(~has_list),
                         "major": st["major"].to_numpy()[~has_list]})
    free = free.merge(offers, on="major")[["student", "slot"]]
    free["rank"] = 0
    pairs = pd.concat([listed, free], ignore_index=True)
    pairs = pairs.astype({"student": np.int64, "slot": np.int64, "rank": np.int64})
    st_major = st["major"].to_numpy()[pairs["student"]]
    ok = np.fromiter((m in t for m, t in zip(st_major, sl["majors"].to_numpy()[pairs["slot"]],
                                              strict=True)), dtype=bool, count=len(pairs))
    sch = sl["school_id"].to_numpy()[pairs["slot"]]
    ok &= (sch == "") | (sch == st["school_id"].to_numpy()[pairs["student"]])
    ok &= (sl["kind"].to_numpy()[pairs["slot"]] != "employment") | st["graduating"].to_numpy()[
        pairs["student"]]
    return pairs[ok].reset_index(drop=True)


def _rows_from_members(owner: np.ndarray, member: np.ndarray, coef: np.ndarray, n_rows: int
                       ) -> SparseRows:
    order = np.lexsort((member, owner))
    counts = np.bincount(owner, minlength=n_rows)
    ptr = np.zeros(n_rows + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(counts)
    return SparseRows(ptr, member[order], coef[order])


def _subsidy_lines(season: Season, edges: pd.DataFrame
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(edge, rule, fen) for every rule a placement matches (DESIGN §4a.11)."""
    out_e, out_r, out_f = [], [], []
    for r, rule in enumerate(season.policy.subsidies):
        match = np.ones(len(edges), dtype=bool)
        if rule.kinds is not None:
            match &= edges["kind"].isin(rule.kinds).to_numpy()
        w = rule.when
        for key, col in (("local", "local"), ("in_park", "in_park"),
                         ("city_area_school", "city_area_school"), ("graduating", "graduating")):
            if key in w:
                match &= edges[col].to_numpy() == w[key]
        if "size_class" in w:
            match &= edges["size_class"].isin(w["size_class"]).to_numpy()
        if "min_months" in w:
            match &= edges["months"].to_numpy() >= w["min_months"]
        idx = np.flatnonzero(match)
        if not len(idx):
            continue
        months = edges["months"].to_numpy()[idx]
        fen_by_months = {m: _fen(rule.amount_for(int(m))) for m in np.unique(months)}
        fen = np.fromiter((fen_by_months[m] for m in months), dtype=np.int64, count=len(idx))
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


def compile_season(season: Season) -> Compiled:
    """Build the Problem of a season under its policy."""
    pol = season.policy
    st, sl, ent, parks = season.students, season.slots, season.enterprises, season.parks
    options = option_table(sl, season.periods)
    pairs = _eligible_pairs(season)
    edges = pairs.merge(options.reset_index(names="option"), on="slot")
    edges = edges.rename(columns={"student": "agent"})
    edges = edges.sort_values(["agent", "option"], kind="stable").reset_index(drop=True)
    # attributes of every edge
    ent_idx = pd.Series(np.arange(len(ent)), index=ent["enterprise_id"].to_numpy())
    slot_ent = ent_idx.reindex(sl["enterprise_id"].to_numpy()).to_numpy()
    e_ent = slot_ent[edges["slot"]]
    sch_city = dict(zip(season.schools["school_id"], season.schools["city_area"], strict=True))
    edges["enterprise"] = e_ent
    edges["kind"] = sl["kind"].to_numpy()[edges["slot"]]
    edges["local"] = ent["local"].to_numpy()[e_ent]
    edges["in_park"] = ent["park_id"].to_numpy()[e_ent] != ""
    edges["size_class"] = ent["size_class"].to_numpy()[e_ent]
    edges["poor"] = st["poor"].to_numpy()[edges["agent"]]
    edges["graduating"] = st["graduating"].to_numpy()[edges["agent"]]
    edges["city_area_school"] = st["school_id"].map(sch_city).to_numpy(dtype=bool)[edges["agent"]]
    n_edges = len(edges)
    pay_e, pay_r, pay_f = _subsidy_lines(season, edges)
    edge_fen = np.bincount(pay_e, weights=pay_f, minlength=n_edges).astype(np.int64)

    # packing rows, as (row, edge, coef) memberships
    kinds_l, keys_l, periods_l, rhs_l = [], [], [], []
    own, mem, cof = [], [], []

    def add_rows(row_of_member: np.ndarray, member: np.ndarray, coef: np.ndarray,
                 kinds: list[str], keys: list[str], pers: list[int], rhs: list[int]) -> None:
        base = len(rhs_l)
        own.append(row_of_member + base)
        mem.append(member)
        cof.append(coef)
        kinds_l.extend(kinds)
        keys_l.extend(keys)
        periods_l.extend(pers)
        rhs_l.extend(rhs)

    # expand period-based edges (shadow/post) into one membership per period covered
    whole = edges["kind"].isin(WHOLE_SEASON_KINDS).to_numpy()
    span = np.where(whole, 1, edges["months"].to_numpy() // 3)
    rep_edge = np.repeat(np.arange(n_edges), span)
    first = np.repeat(np.cumsum(span) - span, span)
    rep_period = np.repeat(edges["start"].to_numpy(), span) + (np.arange(len(rep_edge)) - first)
    rep_period = np.where(whole[rep_edge], 0, rep_period)  # 0 = the whole season
    P = season.periods
    rep_slot = edges["slot"].to_numpy()[rep_edge]
    # slot capacity: per (slot, period) for shadow/post, per slot for whole-season kinds
    key = rep_slot * (P + 1) + rep_period
    uniq, inv = np.unique(key, return_inverse=True)
    u_slot, u_per = uniq // (P + 1), uniq % (P + 1)
    add_rows(inv, rep_edge, np.ones(len(rep_edge), dtype=np.int64), ["capacity"] * len(uniq),
             list(sl["slot_id"].to_numpy()[u_slot]), list(u_per),
             list(sl["capacity"].to_numpy()[u_slot]))
    interns = ~whole[rep_edge]
    if pol.enterprise_cap is not None:
        ie, ip = e_ent[rep_edge][interns], rep_period[interns]
        k2 = ie * (P + 1) + ip
        uniq, inv = np.unique(k2, return_inverse=True)
        u_ent, u_per = uniq // (P + 1), uniq % (P + 1)
        cap = [math.floor(pol.enterprise_cap * int(s)) for s in ent["staff"].to_numpy()[u_ent]]
        add_rows(inv, rep_edge[interns], np.ones(len(inv), dtype=np.int64),
                 ["enterprise_cap"] * len(uniq), list(ent["enterprise_id"].to_numpy()[u_ent]),
                 list(u_per), cap)
    if pol.same_post_cap is not None:
        group_of_slot, group_cap, group_key = _post_groups(sl, pol.same_post_cap)
        g = group_of_slot[rep_slot]
        sel = interns & (g >= 0)
        k3 = g[sel] * (P + 1) + rep_period[sel]
        uniq, inv = np.unique(k3, return_inverse=True)
        u_g, u_per = uniq // (P + 1), uniq % (P + 1)
        add_rows(inv, rep_edge[sel], np.ones(len(inv), dtype=np.int64),
                 ["same_post_cap"] * len(uniq), [group_key[x] for x in u_g], list(u_per),
                 [group_cap[x] for x in u_g])
    rule_fund = np.array([r.fund for r in pol.subsidies], dtype=object)
    for fund_id, budget in zip(season.funds["fund_id"], season.funds["budget"], strict=True):
        sel = rule_fund[pay_r] == fund_id if len(pay_r) else np.zeros(0, dtype=bool)
        if not sel.any():
            continue
        fe = np.bincount(pay_e[sel], weights=pay_f[sel], minlength=n_edges).astype(np.int64)
        nz = np.flatnonzero(fe)
        add_rows(np.zeros(len(nz), dtype=np.int64), nz, fe[nz], ["budget"], [fund_id], [0],
                 [int(round(float(budget) * FEN))])
    n_rows = len(rhs_l)
    rows = _rows_from_members(np.concatenate(own), np.concatenate(mem), np.concatenate(cof),
                              n_rows) if n_rows else SparseRows.empty()
    labels = tuple(f"{k} {key}" + (f" period {p}" if p else "")
                   for k, key, p in zip(kinds_l, keys_l, periods_l, strict=True))

    # order classes with a minimum size
    slot_of_edge = edges["slot"].to_numpy()
    min_slots = np.flatnonzero(sl["min_size"].to_numpy() > 1)
    groups = _edges_of_slots(slot_of_edge, min_slots)
    group_min = sl["min_size"].to_numpy()[min_slots]

    # park coverage: coverable local parks and the edges that would cover them
    covers = SparseRows.empty()
    if pol.park_coverage:
        park_of_edge = ent["park_id"].to_numpy()[e_ent]
        local_parks = parks["park_id"].to_numpy()[parks["local"].to_numpy()]
        members = [np.flatnonzero(park_of_edge == p) for p in local_parks]
        covers = SparseRows.from_lists([m for m in members if len(m)])

    # poor first (DESIGN §4a.8)
    trig_rows, agent_rows = [], []
    if pol.poor_first:
        poor = edges["poor"].to_numpy()
        agents = edges["agent"].to_numpy()
        listed_kind = np.isin(sl["kind"].to_numpy(), list(pol.poor_first))
        for s in np.flatnonzero(listed_kind):
            on = slot_of_edge == s
            trig = np.flatnonzero(on & ~poor)
            need = np.unique(agents[on & poor])
            if len(trig) and len(need):
                trig_rows.append(trig)
                agent_rows.append(need)

    levels = _levels(season, edges, edge_fen, pol.park_coverage)
    whole_opt = sl["kind"].isin(WHOLE_SEASON_KINDS).to_numpy()[options["slot"]]
    ranking = Ranking(option_slot=options["slot"].to_numpy(),
                      option_start=options["start"].to_numpy(),
                      option_span=np.where(whole_opt, season.periods, options["months"] // 3),
                      slot_capacity=sl["capacity"].to_numpy(),
                      agent_priority=_agent_priority(season),
                      edge_student_rank=np.maximum(edges["rank"].to_numpy(), 1),
                      edge_slot_rank=_slot_ranks(season, edges))
    problem = Problem(
        n_agents=len(st), n_options=len(options), edge_agent=edges["agent"].to_numpy(),
        edge_option=edges["option"].to_numpy(), levels=levels, rows=rows,
        rhs=np.asarray(rhs_l, dtype=np.int64), row_labels=labels, groups=groups,
        group_min=group_min, covers=covers,
        priority_triggers=SparseRows.from_lists(trig_rows) if trig_rows else SparseRows.empty(),
        priority_agents=SparseRows.from_lists(agent_rows) if agent_rows else SparseRows.empty(),
        ranking=ranking,
        stable=pol.stability == "student-stable",
    )
    return Compiled(season, problem, options, edges, pol.subsidies, pay_e, pay_r, pay_f,
                    tuple(kinds_l), tuple(keys_l), np.asarray(periods_l, dtype=np.int64))


def _agent_priority(season: Season) -> np.ndarray:
    """The order serial mechanisms follow: poor students first when the policy puts them first
    anywhere, then score high to low, then student_id; 1 = first."""
    st = season.students
    poor = st["poor"].to_numpy() if season.policy.poor_first else np.zeros(len(st), dtype=bool)
    order = np.lexsort((st["student_id"].to_numpy(), -st["score"].to_numpy(), ~poor))
    prio = np.empty(len(st), dtype=np.int64)
    prio[order] = np.arange(1, len(st) + 1)
    return prio


def _slot_ranks(season: Season, edges: pd.DataFrame) -> np.ndarray:
    """Each slot's rank of each eligible student (DESIGN §4a.13), per edge; 1 = best.

    Students the slot lists in rankings.csv come first by that rank (equal ranks tie); the
    others follow in the default order: poor first where the slot's kind is in `poor_first`,
    then score high to low, then student_id as text (strict).
    """
    st, sl = season.students, season.slots
    pairs = edges[["agent", "slot"]].drop_duplicates().reset_index(drop=True)
    listed_rank = np.zeros(len(pairs), dtype=np.int64)
    if season.rankings is not None and len(season.rankings):
        r = season.rankings
        key = pd.MultiIndex.from_arrays([r["slot_id"].to_numpy(), r["student_id"].to_numpy()])
        lookup = pd.Series(r["rank"].to_numpy(dtype=np.int64), index=key)
        want = pd.MultiIndex.from_arrays([sl["slot_id"].to_numpy()[pairs["slot"]],
                                          st["student_id"].to_numpy()[pairs["agent"]]])
        listed_rank = lookup.reindex(want).fillna(0).to_numpy(dtype=np.int64)
    poor_kinds = list(season.policy.poor_first)
    poor_key = np.where(np.isin(sl["kind"].to_numpy()[pairs["slot"]], poor_kinds)
                        & st["poor"].to_numpy()[pairs["agent"]], 0, 1)
    listed = listed_rank > 0
    frame = pd.DataFrame({
        "slot": pairs["slot"], "unlisted": (~listed).astype(np.int64), "rank": listed_rank,
        "poor": poor_key, "score": -st["score"].to_numpy()[pairs["agent"]],
        "sid": np.where(listed, "", st["student_id"].to_numpy()[pairs["agent"]]),
    })
    frame = frame.sort_values(["slot", "unlisted", "rank", "poor", "score", "sid"],
                              kind="stable")
    cols = ["unlisted", "rank", "poor", "score", "sid"]
    new_slot = frame["slot"].ne(frame["slot"].shift())
    new_key = new_slot | frame[cols].ne(frame[cols].shift()).any(axis=1)
    dense = new_key.astype(np.int64).groupby(frame["slot"]).cumsum()
    pairs["slot_rank"] = pd.Series(dense.to_numpy(), index=frame.index).reindex(
        pairs.index).to_numpy()
    out = edges[["agent", "slot"]].merge(pairs, on=["agent", "slot"], how="left")
    return out["slot_rank"].to_numpy(dtype=np.int64)


def _edges_of_slots(slot_of_edge: np.ndarray, slots: np.ndarray) -> SparseRows:
    if not len(slots):
        return SparseRows.empty()
    return SparseRows.from_lists([np.flatnonzero(slot_of_edge == s) for s in slots])


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
