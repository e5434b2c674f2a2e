"""Why a student got their placement, or none (issue 6), read off a result and its season.

Every eligible option is checked against the result's allocation row by row (capacity per
period, enterprise and same-post caps, fund budgets), order-class minimums and poor-first; an
option nothing holds is compared level by level (what the objective preferred). Stability needs
no check of its own: in a student-stable result every better slot is full, so capacity says it.
For an unplaced student the season changes that would open an option are ranked (fewest rows
changed, then the smallest relative change) and the best are verified by re-solving the changed
season with the result's strategy.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from matcher.allocation import decode
from matcher.compile import FEN, Compiled, compile_season, yuan
from matcher.resolve import ResultError, ResultFolder, placement_edges
from matcher.season import Season
from solvers.registry import get_strategy, strategies

__all__ = ["ExplainError", "explain"]

HOLDERS_SHOWN = 20  # holders of a full slot listed per blocker (the count is always given)
FIXABLE = {"capacity", "enterprise_cap", "same_post_cap", "budget", "min_size"}


class ExplainError(ValueError):
    """A student the season does not know."""


def _csr(rows, n_cols: int) -> sp.csr_matrix:
    return sp.csr_matrix((rows.coef, rows.index, rows.ptr), shape=(len(rows), n_cols))


class _State:
    """A result's allocation over a compiled season: row loads, group counts, who is placed."""

    def __init__(self, c: Compiled, chosen: np.ndarray) -> None:
        p = c.problem
        self.c, self.p = c, p
        self.chosen = np.unique(np.asarray(chosen, dtype=np.int64))
        self.x = p.indicator(self.chosen)
        self.rows_t = _csr(p.rows, p.n_edges).T.tocsr()  # edge -> (row, coef)
        self.load = _csr(p.rows, p.n_edges) @ self.x
        self.groups_t = _csr(p.groups, p.n_edges).T.tocsr()
        self.group_count = _csr(p.groups, p.n_edges) @ self.x
        self.trig_t = _csr(p.priority_triggers, p.n_edges).T.tocsr()
        self.placed = np.bincount(p.edge_agent, weights=self.x, minlength=p.n_agents) > 0
        self.values = p.level_values(self.chosen)
        st = c.season.students
        self.sid = st["student_id"].to_numpy()
        self.slot_id = c.season.slots["slot_id"].to_numpy()
        self.e_slot = c.edges["slot"].to_numpy()
        self.slot_rank = (p.ranking.edge_slot_rank if p.ranking is not None
                          else np.ones(p.n_edges, dtype=np.int64))

    def _rows_of(self, e: int | None) -> dict[int, int]:
        if e is None:
            return {}
        lo, hi = self.rows_t.indptr[e], self.rows_t.indptr[e + 1]
        return dict(zip(self.rows_t.indices[lo:hi].tolist(), self.rows_t.data[lo:hi].tolist(),
                        strict=True))

    def option(self, e: int) -> dict:
        """What an edge is, in the season's terms."""
        row = self.c.edges.iloc[e]
        rank = int(row["rank"])
        return {"slot_id": str(self.slot_id[row["slot"]]),
                "enterprise_id": str(self.c.season.slots["enterprise_id"].iat[row["slot"]]),
                "kind": str(row["kind"]), "start_period": int(row["start"]),
                "duration_months": int(row["months"]), "local": bool(row["local"]),
                "list_rank": rank if rank > 0 else None, "slot_rank": int(self.slot_rank[e])}

    def blockers(self, e: int, leaving: int | None = None) -> list[dict]:
        """Every rule that stops edge `e` joining the allocation (with `leaving` taken out)."""
        p = self.p
        out = []
        gone = self._rows_of(leaving)
        for r, coef in self._rows_of(e).items():
            load, limit = int(self.load[r]) - gone.get(r, 0), int(p.rhs[r])
            if load + coef > limit:
                out.append(self._row_blocker(r, e, coef, load, limit, leaving))
        joins = set(self._members(self.groups_t, e))
        leaves = set(self._members(self.groups_t, leaving)) if leaving is not None else set()
        for g in joins:  # an order class with nobody else in it cannot open for one student
            if int(self.group_count[g]) - (g in leaves) == 0 and p.group_min[g] > 1:
                out.append({"kind": "min_size", "slot_id": str(self.slot_id[self.e_slot[e]]),
                            "min_size": int(p.group_min[g])})
        for g in leaves - joins:  # leaving must not take the class below its minimum
            n = int(self.group_count[g])
            if 0 < n - 1 < p.group_min[g]:
                out.append({"kind": "min_size_leave", "holders": n,
                            "slot_id": str(self.slot_id[self.e_slot[leaving]]),
                            "min_size": int(p.group_min[g])})
        agent = p.edge_agent[e]
        for q in self._members(self.trig_t, e):
            need, _ = p.priority_agents.row(q)
            waiting = [str(self.sid[a]) for a in need if not self.placed[a] and a != agent]
            if waiting:
                out.append({"kind": "poor_first", "slot_id": str(self.slot_id[self.e_slot[e]]),
                            "waiting": sorted(waiting)})
        return out

    @staticmethod
    def _members(t: sp.csr_matrix, e: int) -> list[int]:
        return t.indices[t.indptr[e]:t.indptr[e + 1]].tolist()

    def _row_blocker(self, r: int, e: int, coef: int, load: int, limit: int,
                     leaving: int | None) -> dict:
        c = self.c
        kind, key, period = c.row_kind[r], str(c.row_key[r]), int(c.row_period[r])
        if kind == "budget":
            lines = np.flatnonzero(c.pay_edge == e)
            rules = [{"rule_id": c.rules[c.pay_rule[i]].id, "clause": c.rules[c.pay_rule[i]].clause,
                      "amount": yuan(int(c.pay_fen[i]))}
                     for i in lines if c.rules[c.pay_rule[i]].fund == key]
            return {"kind": "budget", "fund_id": key, "budget": yuan(limit), "spend": yuan(load),
                    "amount": yuan(coef), "need": yuan(load + coef - limit),
                    "need_fen": load + coef - limit, "limit": limit, "rules": rules}
        out = {"kind": kind, "key": key, "period": period or None, "limit": limit,
               "load": load, "need": load + coef - limit}
        if kind == "capacity":
            lo, hi = self.p.rows.ptr[r], self.p.rows.ptr[r + 1]
            held = [int(h) for h in self.p.rows.index[lo:hi] if self.x[h] and h != leaving]
            held.sort(key=lambda h: (self.slot_rank[h], self.sid[self.p.edge_agent[h]]))
            out["holders_total"] = len(held)
            out["holders"] = [{"student_id": str(self.sid[self.p.edge_agent[h]]),
                               "slot_rank": int(self.slot_rank[h]),
                               "start_period": int(c.edges["start"].iat[h]),
                               "duration_months": int(c.edges["months"].iat[h])}
                              for h in held[:HOLDERS_SHOWN]]
        return out

    def _swap(self, e: int, leaving: int | None) -> np.ndarray:
        keep = self.chosen[self.chosen != leaving] if leaving is not None else self.chosen
        return np.append(keep, e)

    def compare(self, e: int, leaving: int | None = None) -> dict:
        """The first objective level the swap changes: what the objective preferred."""
        after = self.p.level_values(self._swap(e, leaving))
        for lv, b, a in zip(self.p.levels, self.values, after, strict=True):
            if a != b:
                return {"kind": "objective" if a < b else "not_found", "level": lv.name,
                        "before": _shown(lv, b), "after": _shown(lv, a)}
        return {"kind": "tie"}

    def analyse(self, e: int, leaving: int | None = None) -> dict:
        """An option with everything that held it, or the objective's verdict."""
        blocks = self.blockers(e, leaving)
        return {**self.option(e), "edge": e,
                "blockers": blocks or [self.compare(e, leaving)]}


def _shown(level, value: int) -> int | float:
    """A level's internal value as reported (money in yuan)."""
    return yuan(value) if level.scale == FEN else int(value) // level.scale


def _ineligible(season: Season, student: dict, eligible_slots: set[str]) -> list[dict]:
    """Listed slots the student cannot take, each with the condition of DESIGN §3 that fails."""
    prefs = season.preferences
    mine = prefs[prefs["student_id"] == student["student_id"]].sort_values("rank")
    slots = season.slots.set_index("slot_id")
    out = []
    for tid, rank in zip(mine["slot_id"], mine["rank"], strict=True):
        if tid in eligible_slots:
            continue
        t = slots.loc[tid]
        if student["major"] not in t["majors"]:
            why = "major"
        elif t["school_id"] and t["school_id"] != student["school_id"]:
            why = "school"
        elif t["kind"] == "employment" and not student["graduating"]:
            why = "graduating"
        else:
            why = "no_option"
        out.append({"slot_id": str(tid), "list_rank": int(rank), "why": why})
    return out


def _changes_for(state: _State, option: dict) -> list[dict] | None:
    """The season changes that lift every blocker of an option; None when one is no season
    number (poor-first, leaving an order class, or nothing holds it but the objective)."""
    season, pol = state.c.season, state.c.season.policy
    blocks = option["blockers"]
    if not blocks or any(b["kind"] not in FIXABLE for b in blocks):
        return None
    slots, ents = season.slots, season.enterprises
    found: dict[tuple[str, str], dict] = {}

    def keep(key: tuple[str, str], change: dict) -> None:
        """One change per target, the largest step when two periods ask for one."""
        if key not in found or abs(change["to"] - change["from"]) > abs(
                found[key]["to"] - found[key]["from"]):
            found[key] = change

    for b in blocks:
        k = b["kind"]
        if k == "capacity":
            cap = int(slots.loc[slots["slot_id"] == b["key"], "capacity"].iat[0])
            keep(("capacity", b["key"]), {"kind": "capacity", "slot_id": b["key"], "from": cap,
                                          "to": cap + b["need"]})
        elif k == "enterprise_cap":
            if not pol.enterprise_cap:
                return None
            staff = int(ents.loc[ents["enterprise_id"] == b["key"], "staff"].iat[0])
            cap_to = b["limit"] + b["need"]
            keep(("staff", b["key"]), {
                "kind": "staff", "enterprise_id": b["key"], "from": staff,
                "to": max(staff, math.ceil(cap_to / pol.enterprise_cap)),
                "cap_from": b["limit"], "cap_to": cap_to})
        elif k == "same_post_cap":
            if not pol.same_post_cap:
                return None
            group = _post_group(season, option["slot_id"])
            staff = int(slots.loc[slots["slot_id"].isin(group) & (slots["post_staff"] >= 0),
                                  "post_staff"].min())
            cap_to = b["limit"] + b["need"]
            keep(("post_staff", option["slot_id"]), {
                "kind": "post_staff", "slot_ids": group, "from": staff,
                "to": max(staff, math.ceil(cap_to / pol.same_post_cap)),
                "cap_from": b["limit"], "cap_to": cap_to})
        elif k == "budget":
            budget = float(season.funds.loc[season.funds["fund_id"] == b["fund_id"],
                                            "budget"].iat[0])
            more = math.ceil(b["need_fen"] / FEN)
            keep(("budget", b["fund_id"]), {"kind": "budget", "fund_id": b["fund_id"],
                                             "from": _number(budget),
                                             "to": _number(budget + more)})
        elif k == "min_size":
            free = _free_eligible(state, option["edge"])
            keep(("min_size", b["slot_id"]), {
                "kind": "min_size", "slot_id": b["slot_id"], "from": b["min_size"],
                "to": max(1, min(b["min_size"] - 1, free))})
    return list(found.values())


def _number(v: float) -> int | float:
    return int(v) if float(v).is_integer() else round(v, 2)


def _amount(text: str) -> int | float | str:
    """A ledger amount as a number (as written when it is not one)."""
    try:
        return _number(float(text))
    except ValueError:
        return text


def _post_group(season: Season, slot_id: str) -> list[str]:
    """Slots sharing the slot's (enterprise, post) (DESIGN §4a.6); the slot alone without one."""
    sl = season.slots
    row = sl.loc[sl["slot_id"] == slot_id].iloc[0]
    if not row["post"]:
        return [slot_id]
    same = (sl["enterprise_id"] == row["enterprise_id"]) & (sl["post"] == row["post"])
    return sorted(sl.loc[same, "slot_id"].astype(str))


def _free_eligible(state: _State, e: int) -> int:
    """Unplaced students eligible for the slot of edge `e` (who could fill an order class)."""
    on = state.e_slot == state.e_slot[e]
    agents = np.unique(state.p.edge_agent[on])
    return int(np.count_nonzero(~state.placed[agents]))


def _size(change: dict) -> float:
    """Relative size of a change (unit-free, so seats and yuan compare)."""
    lo, hi = change["from"], change["to"]
    return abs(hi - lo) / max(abs(lo), 1)


def apply_changes(season: Season, changes: list[dict]) -> Season:
    """The season with the changes of a candidate made (tables copied, nothing written)."""
    slots, ents, funds = season.slots.copy(), season.enterprises.copy(), season.funds.copy()
    for ch in changes:
        k = ch["kind"]
        if k in ("capacity", "min_size"):
            slots.loc[slots["slot_id"] == ch["slot_id"], k] = ch["to"]
        elif k == "staff":
            ents.loc[ents["enterprise_id"] == ch["enterprise_id"], "staff"] = ch["to"]
        elif k == "post_staff":
            sel = (slots["slot_id"].isin(ch["slot_ids"]) & (slots["post_staff"] >= 0)
                   & (slots["post_staff"] < ch["to"]))
            slots.loc[sel, "post_staff"] = ch["to"]
        elif k == "budget":
            funds.loc[funds["fund_id"] == ch["fund_id"], "budget"] = float(ch["to"])
    return replace(season, slots=slots, enterprises=ents, funds=funds)


def _verify(season: Season, changes: list[dict], student_id: str, strategy: str, seed: int,
            time_limit: float) -> dict:
    """Re-solve the changed season and say whether the student is then placed (audited)."""
    changed = apply_changes(season, changes)
    c = compile_season(changed)
    alloc = decode(c, get_strategy(strategy)(c.problem, time_limit=time_limit, seed=seed))
    a = alloc.assignments
    mine = a[a["student_id"] == student_id]
    placement = None if mine.empty else {
        "slot_id": str(mine["slot_id"].iat[0]), "start_period": int(mine["start_period"].iat[0]),
        "duration_months": int(mine["duration_months"].iat[0])}
    return {"placed": placement is not None, "placement": placement,
            "audit_ok": alloc.audit.ok, "status": alloc.metrics["status"],
            "placed_total": alloc.metrics["placed"], "objective": alloc.metrics["objective"]}


def explain(result: ResultFolder, season: Season, student_id: str, *,
            strategy: str | None = None, verify: int = 3, time_limit: float = 10.0) -> dict:
    """Everything about one student's outcome in `result`, as a JSON-ready dict.

    `verify` candidates (best first) are re-solved with the result's strategy (or `strategy`)
    within `time_limit` seconds each, stopping at the first that places the student.
    """
    st = season.students
    hit = st.index[st["student_id"] == student_id]
    if not len(hit):
        where = season.folder / "students.csv" if season.folder else "the season"
        raise ExplainError(f"unknown student {student_id!r}: not in {where}")
    a = int(hit[0])
    c = compile_season(season)
    edges = placement_edges(c, result.assignments)
    if (edges < 0).any():
        row = int(np.flatnonzero(edges < 0)[0])
        r = result.assignments.iloc[row]
        raise ResultError(
            f"{result.path / 'assignments.csv'}, row {row + 2}: {r['student_id']} in "
            f"{r['slot_id']} (period {r['start_period']}, {r['duration_months']} months) is not "
            "an eligible option of this season; give the season it was solved on (--season)")
    state = _State(c, edges)
    rec = st.iloc[a]
    student = {k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()
               if not str(k).startswith("_")}
    run = strategy or str(result.metrics.get("strategy", "cpsat"))
    note = None
    if run not in strategies():
        note, run = f"strategy {run!r} is not registered here; verified with cpsat", "cpsat"
    mine = np.flatnonzero(c.problem.edge_agent == a)
    current = [int(e) for e in mine if state.x[e]]
    ledger = result.ledger[result.ledger["student_id"] == student_id]
    out: dict = {
        "student_id": student_id, "name": str(rec.get("name", "")),
        "school_id": str(rec["school_id"]), "major": str(rec["major"]), "poor": bool(rec["poor"]),
        "has_list": bool((season.preferences["student_id"] == student_id).any()),
        "strategy": run, "strategy_note": note, "result": str(result.path),
        "placed": bool(current), "placement": None, "ledger": [], "reason": None,
        "options": [], "ineligible": _ineligible(season, student,
                                                 {str(state.slot_id[s]) for s in c.edges[
                                                     "slot"].to_numpy()[mine]}),
        "candidates": [],
    }
    if current:
        e0 = current[0]
        place = state.option(e0)
        out["placement"] = {**place, "subsidy": yuan(int(c.edge_fen[e0]))}
        out["ledger"] = [{**{k: str(row.get(k, "")) for k in ("rule_id", "clause", "payee",
                                                               "fund_id")},
                          "amount": _amount(row["amount"])}
                         for _, row in ledger.iterrows()]
        rank = place["list_rank"]
        better = [int(e) for e in mine if rank and 0 < c.edges["rank"].iat[e] < rank]
        out["options"] = [state.analyse(e, leaving=e0) for e in better]
        return out
    why = result.unplaced.loc[result.unplaced["student_id"] == student_id, "reason"]
    out["reason"] = str(why.iat[0]) if len(why) else None
    out["options"] = [state.analyse(int(e)) for e in mine]
    out["candidates"] = _candidates(state, out["options"])
    for cand in out["candidates"][:max(verify, 0)]:
        cand["verified"] = _verify(season, cand["changes"], student_id, run,
                                   int(result.metrics.get("seed", 0) or 0), time_limit)
        if cand["verified"]["placed"] and cand["verified"]["audit_ok"]:
            break
    return out


def _candidates(state: _State, options: list[dict]) -> list[dict]:
    """Distinct change sets that would open one option each, smallest first."""
    seen: dict[tuple, dict] = {}
    for o in options:
        changes = _changes_for(state, o)
        if not changes:
            continue
        key = tuple(sorted((ch["kind"], str(ch.get("slot_id") or ch.get("fund_id")
                                              or ch.get("enterprise_id") or ch.get("slot_ids")),
                            ch["to"]) for ch in changes))
        cost = (len(changes), round(sum(_size(ch) for ch in changes), 9),
                o["list_rank"] or 0, o["edge"])
        if key not in seen or cost < seen[key]["_cost"]:
            seen[key] = {"changes": changes, "option": {k: o[k] for k in (
                "slot_id", "start_period", "duration_months", "list_rank")},
                "size": cost[1], "verified": None, "_cost": cost}
    ranked = sorted(seen.values(), key=lambda d: d["_cost"])
    for d in ranked:
        del d["_cost"]
    return ranked


# --- text for a coordinator, in Chinese or English -------------------------------------------

TEXT = {
    "title": ("学生 {sid}（{name}，{school}，{major}{poor}）", "Student {sid} ({name}, {school}, "
              "{major}{poor})"),
    "poor": ("，建档立卡", ", poor"),
    "placed": ("已安置：{slot}（企业 {ent}，{kind}），第 {start} 期起 {months} 个月",
               "Placed: {slot} (enterprise {ent}, {kind}), from period {start} for {months} "
               "months"),
    "ranks": ("志愿第 {rank} 位；岗位对其排序第 {srank} 位", "their choice no. {rank}; the slot "
              "ranks them no. {srank}"),
    "ranks_nolist": ("未填志愿（专业对口的岗位对其无差别）；岗位对其排序第 {srank} 位",
                     "no preference list (every fitting slot is alike to them); the slot ranks "
                     "them no. {srank}"),
    "subsidy": ("补贴 {amount} 元：{lines}", "subsidy {amount} yuan: {lines}"),
    "no_subsidy": ("无补贴", "no subsidy"),
    "better": ("更靠前的志愿，及为何没有安置在那里", "Better-ranked choices, and why not there"),
    "no_better": ("没有更靠前的可选志愿", "no better-ranked eligible choice"),
    "unplaced": ("未安置", "Not placed"),
    "result_reason": ("结果中的原因：{reason}", "reason in the result: {reason}"),
    "options": ("可选岗位，及每个为何未能安置", "Eligible options, and what held each"),
    "no_options": ("没有可选岗位", "no eligible option"),
    "col_option": ("岗位 / 期 / 月", "slot / period / months"),
    "col_rank": ("志愿 / 岗位排序", "choice / slot rank"),
    "col_why": ("原因", "why"),
    "ineligible": ("志愿中不可选的岗位：{items}", "listed slots they cannot take: {items}"),
    "why_major": ("{slot}（专业不符）", "{slot} (major)"),
    "why_school": ("{slot}（仅限本校订单班）", "{slot} (another school's order class)"),
    "why_graduating": ("{slot}（就业岗位仅限毕业生）", "{slot} (employment: graduates only)"),
    "why_no_option": ("{slot}（本季无可选期次）", "{slot} (no option in this season)"),
    "fixes": ("能安置该生的最小改动（小者在前）", "Smallest changes that would place them "
              "(smallest first)"),
    "no_fix": ("没有单项季节数据改动能为其打开岗位（见上面的原因）", "no change of season numbers "
               "alone opens an option for them (see the reasons above)"),
    "ok": ("已验证：用 {strategy} 重新求解后，该生安置于 {slot}（第 {start} 期起 {months} 个月）",
           "verified: re-solved with {strategy}, the student is placed in {slot} (period "
           "{start}, {months} months)"),
    "not_enough": ("已验证：仅此改动不够（用 {strategy} 重新求解后仍未安置）",
                   "verified: not enough on its own (re-solved with {strategy}, still "
                   "unplaced)"),
    "audit_failed": ("重新求解的结果未通过审计", "the re-solved result failed the audit"),
    "unverified": ("未验证", "not verified"),
    "period": (" 第 {p} 期", " period {p}"),
    "capacity": ("{slot}{period} 已满（容量 {limit}），占用者：{holders}；"
                 "该岗位对本人排序第 {rank} 位",
                 "{slot}{period} full (capacity {limit}), held by {holders}; the slot ranks "
                 "this student no. {rank}"),
    "holder": ("{sid}（第 {rank} 位）", "{sid} (no. {rank})"),
    "more": ("等共 {n} 人", "and {n} in all"),
    "enterprise_cap": ("企业 {key} 第 {p} 期实习生已达上限 {limit}",
                       "enterprise {key} at its intern cap {limit} in period {p}"),
    "same_post_cap": ("岗位 {key} 第 {p} 期实习生已达上限 {limit}",
                      "post {key} at its cap {limit} in period {p}"),
    "budget": ("资金 {fund} 预算 {budget} 元已支出 {spend} 元，"
               "付不起此项 {amount} 元（{rules}；差 {need} 元）",
               "fund {fund}: {spend} of {budget} yuan spent, cannot pay {amount} more ({rules}; "
               "short by {need})"),
    "min_size": ("订单班 {slot} 未开班（至少 {m} 人）", "order class {slot} did not open (needs "
                 "{m})"),
    "min_size_leave": ("离开会使订单班 {slot} 从 {n} 人降到 {n1} 人，低于最少 {m} 人",
                       "leaving would bring order class {slot} from {n} to {n1}, below its "
                       "min_size {m}"),
    "poor_first": ("{slot} 须先安置建档立卡学生：{waiting} 尚未安置",
                   "{slot} goes to poor students first: {waiting} still unplaced"),
    "objective": ("目标函数更倾向现方案：这样会使 {level} 从 {before} 降为 {after}",
                  "the objective preferred this: it would lower {level} from {before} to "
                  "{after}"),
    "not_found": ("这样会使 {level} 从 {before} 升为 {after}："
                  "策略 {strategy} 没有找到（机制规则或时限）",
                  "it would raise {level} from {before} to {after}: strategy {strategy} did not "
                  "find it (a mechanism's rules, or the time limit)"),
    "tie": ("各目标层取值相同：并列，求解器选了现方案", "a tie on every level: the solver picked "
            "the other"),
    "ch_capacity": ("岗位 {slot} 容量 {a} → {b}", "slot {slot} capacity {a} → {b}"),
    "ch_staff": ("企业 {ent} 职工数 {a} → {b}（实习上限 {ca} → {cb}）",
                 "enterprise {ent} staff {a} → {b} (intern cap {ca} → {cb})"),
    "ch_post_staff": ("岗位 {slots} 的岗位职工数 {a} → {b}（上限 {ca} → {cb}）",
                      "post_staff of {slots} {a} → {b} (cap {ca} → {cb})"),
    "ch_budget": ("资金 {fund} 预算 {a} → {b} 元", "fund {fund} budget {a} → {b} yuan"),
    "ch_min_size": ("订单班 {slot} 最少人数 {a} → {b}", "order class {slot} min_size {a} → {b}"),
    "for_option": ("（为 {slot} 第 {start} 期起 {months} 个月）", " (for {slot}, period {start}, "
                   "{months} months)"),
    "note": ("注意：{note}", "note: {note}"),
}


def _t(msg: str, lang: str, **kw: object) -> str:
    """Message `msg` of TEXT in `lang`, filled in."""
    zh, en = TEXT[msg]
    return (zh if lang == "zh" else en).format(**kw)


def describe_blocker(b: dict, lang: str, strategy: str = "") -> str:
    """One blocker (or the objective's verdict) as a sentence."""
    k = b["kind"]
    if k == "capacity":
        names = [_t("holder", lang, sid=h["student_id"], rank=h["slot_rank"])
                 for h in b["holders"][:8]]
        if b["holders_total"] > len(names):
            names.append(_t("more", lang, n=b["holders_total"]))
        period = _t("period", lang, p=b["period"]) if b["period"] else ""
        return _t("capacity", lang, slot=b["key"], period=period, limit=b["limit"],
                  holders=", ".join(names) or "-", rank=b.get("student_slot_rank", "?"))
    if k in ("enterprise_cap", "same_post_cap"):
        return _t(k, lang, key=b["key"], p=b["period"], limit=b["limit"])
    if k == "budget":
        rules = ", ".join(f"{r['rule_id']} {r['clause']}" for r in b.get("rules", []))
        return _t("budget", lang, fund=b["fund_id"], budget=b["budget"], spend=b["spend"],
                  amount=b["amount"], need=b["need"], rules=rules or "-")
    if k == "min_size":
        return _t("min_size", lang, slot=b["slot_id"], m=b["min_size"])
    if k == "min_size_leave":
        return _t("min_size_leave", lang, slot=b["slot_id"], n=b["holders"],
                  n1=b["holders"] - 1, m=b["min_size"])
    if k == "poor_first":
        return _t("poor_first", lang, slot=b["slot_id"], waiting=", ".join(b["waiting"][:8]))
    if k in ("objective", "not_found"):
        return _t(k, lang, level=b["level"], before=b["before"], after=b["after"],
                  strategy=strategy)
    return _t("tie", lang)


def describe_change(ch: dict, lang: str) -> str:
    """One season change of a candidate as a phrase."""
    k = ch["kind"]
    a, b = ch["from"], ch["to"]
    if k == "capacity":
        return _t("ch_capacity", lang, slot=ch["slot_id"], a=a, b=b)
    if k == "staff":
        return _t("ch_staff", lang, ent=ch["enterprise_id"], a=a, b=b, ca=ch["cap_from"],
                  cb=ch["cap_to"])
    if k == "post_staff":
        return _t("ch_post_staff", lang, slots=", ".join(ch["slot_ids"]), a=a, b=b,
                  ca=ch["cap_from"], cb=ch["cap_to"])
    if k == "budget":
        return _t("ch_budget", lang, fund=ch["fund_id"], a=a, b=b)
    return _t("ch_min_size", lang, slot=ch["slot_id"], a=a, b=b)


def render(expl: dict, console, lang: str = "zh") -> None:
    """Print an explanation for a coordinator (rich console; `lang` is zh or en)."""
    from rich.table import Table

    def say(text: str, style: str | None = None) -> None:
        console.print(text, style=style, markup=False, highlight=False)

    run = expl["strategy"]
    say(_t("title", lang, sid=expl["student_id"], name=expl["name"], school=expl["school_id"],
           major=expl["major"], poor=_t("poor", lang) if expl["poor"] else ""), "bold")
    if expl["strategy_note"]:
        say(_t("note", lang, note=expl["strategy_note"]), "yellow")
    p = expl["placement"]
    if p is not None:
        say(_t("placed", lang, slot=p["slot_id"], ent=p["enterprise_id"], kind=p["kind"],
               start=p["start_period"], months=p["duration_months"]), "green")
        say(_t("ranks", lang, rank=p["list_rank"], srank=p["slot_rank"]) if p["list_rank"]
            else _t("ranks_nolist", lang, srank=p["slot_rank"]))
        lines = "; ".join(f"{ln['rule_id']} {ln['clause']} {ln['fund_id']} {ln['amount']}"
                          for ln in expl["ledger"])
        say(_t("subsidy", lang, amount=p["subsidy"], lines=lines) if expl["ledger"]
            else _t("no_subsidy", lang))
    else:
        say(_t("unplaced", lang), "red")
        if expl["reason"]:
            say(_t("result_reason", lang, reason=expl["reason"]))
    if expl["ineligible"]:
        items = ", ".join(_t(f"why_{i['why']}", lang, slot=i["slot_id"])
                          for i in expl["ineligible"])
        say(_t("ineligible", lang, items=items))
    title = _t("better" if p is not None else "options", lang)
    if expl["options"]:
        table = Table(title=title, show_lines=True)
        for col in ("col_option", "col_rank", "col_why"):
            table.add_column(_t(col, lang), overflow="fold")
        for o in expl["options"]:
            why = "\n".join(describe_blocker({**b, "student_slot_rank": o["slot_rank"]}, lang,
                                             run) for b in o["blockers"])
            table.add_row(f"{o['slot_id']} / {o['start_period']} / {o['duration_months']}",
                          f"{o['list_rank'] or '-'} / {o['slot_rank']}", why)
        console.print(table)
    else:
        say(_t("no_better" if p is not None else "no_options", lang))
    if p is not None:
        return
    say(_t("fixes", lang), "bold")
    if not expl["candidates"]:
        say(_t("no_fix", lang))
    for i, cand in enumerate(expl["candidates"][:5], 1):
        o = cand["option"]
        say(f"{i}. " + "; ".join(describe_change(ch, lang) for ch in cand["changes"])
            + _t("for_option", lang, slot=o["slot_id"], start=o["start_period"],
                 months=o["duration_months"]))
        v = cand["verified"]
        if v is None:
            say("   " + _t("unverified", lang), "dim")
        elif not v["audit_ok"]:
            say("   " + _t("audit_failed", lang), "bold red")
        elif v["placed"]:
            q = v["placement"]
            say("   " + _t("ok", lang, strategy=run, slot=q["slot_id"], start=q["start_period"],
                           months=q["duration_months"]), "green")
        else:
            say("   " + _t("not_enough", lang, strategy=run), "yellow")
