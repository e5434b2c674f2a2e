"""A Solution decoded back into a season's terms: assignments, ledger, unplaced and metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from matcher.audit import AuditReport, audit
from matcher.compile import FEN, Compiled, yuan
from solvers.solution import Solution

__all__ = ["ASSIGNMENT_COLUMNS", "LEDGER_COLUMNS", "Allocation", "decode"]

ASSIGNMENT_COLUMNS = ["student_id", "slot_id", "enterprise_id", "park_id", "kind",
                      "start_period", "duration_months", "local", "in_park", "subsidy"]
LEDGER_COLUMNS = ["student_id", "slot_id", "rule_id", "clause", "payee", "fund_id", "amount"]


@dataclass(frozen=True)
class Allocation:
    """The answer for a season: who goes where, what it pays, and how good it is."""

    assignments: pd.DataFrame
    ledger: pd.DataFrame
    unplaced: pd.DataFrame
    metrics: dict
    solution: Solution
    audit: AuditReport

    @property
    def status(self) -> str:
        return self.metrics["status"]


def _assignments(c: Compiled, edges: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    season = c.season
    e = c.edges.iloc[edges]
    sl, ent = season.slots, season.enterprises
    slot_rows = e["slot"].to_numpy()
    ent_rows = e["enterprise"].to_numpy()
    fen = c.edge_fen[edges]
    assign = pd.DataFrame({
        "student_id": season.students["student_id"].to_numpy()[e["agent"].to_numpy()],
        "slot_id": sl["slot_id"].to_numpy()[slot_rows],
        "enterprise_id": sl["enterprise_id"].to_numpy()[slot_rows],
        "park_id": ent["park_id"].to_numpy()[ent_rows],
        "kind": e["kind"].to_numpy(),
        "start_period": e["start"].to_numpy(),
        "duration_months": e["months"].to_numpy(),
        "local": e["local"].to_numpy(),
        "in_park": e["in_park"].to_numpy(),
        "subsidy": [yuan(f) for f in fen],
    }, columns=ASSIGNMENT_COLUMNS)
    chosen = np.zeros(c.problem.n_edges, dtype=bool)
    chosen[edges] = True
    sel = chosen[c.pay_edge] if len(c.pay_edge) else np.zeros(0, dtype=bool)
    pe, pr, pf = c.pay_edge[sel], c.pay_rule[sel], c.pay_fen[sel]
    order = np.lexsort((pr, c.edges["agent"].to_numpy()[pe]))
    pe, pr, pf = pe[order], pr[order], pf[order]
    rules = c.rules
    ledger = pd.DataFrame({
        "student_id": season.students["student_id"].to_numpy()[c.edges["agent"].to_numpy()[pe]],
        "slot_id": sl["slot_id"].to_numpy()[c.edges["slot"].to_numpy()[pe]],
        "rule_id": [rules[r].id for r in pr],
        "clause": [rules[r].clause for r in pr],
        "payee": [rules[r].payee for r in pr],
        "fund_id": [rules[r].fund for r in pr],
        "amount": [yuan(f) for f in pf],
    }, columns=LEDGER_COLUMNS)
    return assign.sort_values("student_id", kind="stable").reset_index(drop=True), ledger


def decode(c: Compiled, solution: Solution) -> Allocation:
    """Turn a strategy's Solution into an audited Allocation with the metrics of DESIGN §6."""
    assign, ledger = _assignments(c, solution.edges)
    report = audit(c.season, assign, ledger)
    levels = c.problem.levels
    objective = {}
    for lv, val in zip(levels, solution.objective, strict=False):
        objective[lv.name] = yuan(val) if lv.scale == FEN else int(val)
    bound_level = levels[min(solution.proven, len(levels) - 1)] if levels else None
    bound: float | None = solution.bound
    if not np.isfinite(solution.bound):  # mechanisms and heuristics prove nothing
        bound = None
    elif bound_level is not None and bound_level.scale != 1:
        bound = solution.bound / bound_level.scale
    m = report.metrics
    metrics = {
        "status": solution.status,
        "strategy": solution.strategy,
        "seed": solution.seed,
        "runtime_s": round(solution.runtime_s, 3),
        "objective": objective,
        "bound": bound,
        "bound_level": bound_level.name if bound_level is not None else None,
        "gap": solution.gap if np.isfinite(solution.gap) else None,
        "levels_proven": solution.proven,
        "placed": m["placed"],
        "local": m["local"],
        "in_park": m["in_park"],
        "poor_placed": m["poor_placed"],
        "spend_by_fund": m["spend_by_fund"],
        "budget_by_fund": m["budget_by_fund"],
        "spend": m["spend"],
        "blocking_pairs": m["blocking_pairs"],
        "preference_rank_histogram": m["preference_rank_histogram"],
        "students": len(c.season.students),
        "edges": c.problem.n_edges,  # eligible (student, option) pairs: the problem's size
        "strategy_info": {k: v for k, v in solution.info.items()
                          if isinstance(v, (int, float, str, dict))},
        "audit_ok": report.ok,
        "audit_violations": report.violations[:50],
    }
    return Allocation(assign, ledger, report.unplaced, metrics, solution, report)
