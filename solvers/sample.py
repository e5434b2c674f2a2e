"""First multipliers for the Lagrangian from a small random sample of the agents.

The LP relaxation of a season with a few per cent of its students, every right-hand side scaled
by the same fraction, prices budgets and shared capacities much as the whole season's LP does,
at a small fraction of its cost. Its row duals start the subgradient rounds of `solvers.flow`
near where they would end, instead of at zero. Only a starting point: every bound the flow
reports is computed by the flow itself.
"""

from __future__ import annotations

import highspy
import numpy as np

from solvers.highs import new_highs
from solvers.network import Network
from solvers.problem import Problem

__all__ = ["sample_prices", "sample_row_prices"]

SAMPLE_AGENTS = (1_500, 2_500)  # agents in the sample, at least and at most: 2 % of them;
# its LP grows fast with the sample (6,000 students: over 5 s, and no prices at all)


def sample_prices(problem: Problem, net: Network, level: int, fixed: list[int], seed: int,
                  agents: int | None = None) -> np.ndarray:
    """Multipliers for `net.relaxed` (in its scaled units) from the LP of a random sample of
    `agents` agents on level `level`; zeros when the LP fails. Earlier levels (`fixed`) are
    left out: their constraints do not scale with the sample."""
    price = sample_row_prices(problem, level, seed, agents)
    return price[net.relaxed] * net.scale  # per unit of the network's scaled rows


def sample_row_prices(problem: Problem, level: int, seed: int, agents: int | None = None
                      ) -> np.ndarray:
    """A price for every packing row of `problem` (zeros when the sample's LP fails)."""
    p = problem
    if agents is None:
        agents = int(np.clip(p.n_agents // 50, *SAMPLE_AGENTS))
    rng = np.random.default_rng(seed)
    chosen = np.zeros(p.n_agents, dtype=bool)
    chosen[rng.choice(p.n_agents, size=min(agents, p.n_agents), replace=False)] = True
    frac = chosen.sum() / max(1, p.n_agents)
    edges = np.flatnonzero(chosen[p.edge_agent])
    if not len(edges) or not len(p.rows):
        return np.zeros(len(p.rows))
    col = np.full(p.n_edges, -1, dtype=np.int64)
    col[edges] = np.arange(len(edges))
    rows = p.rows
    owner = np.repeat(np.arange(len(rows)), np.diff(rows.ptr))
    keep = col[rows.index] >= 0
    r_own, r_col, r_coef = owner[keep], col[rows.index[keep]], rows.coef[keep].astype(float)
    used = np.unique(r_own)
    local = np.searchsorted(used, r_own)
    order = np.argsort(local, kind="stable")
    ptr = np.searchsorted(local[order], np.arange(len(used) + 1))
    h = new_highs()
    n = len(edges)
    h.addVars(n, np.zeros(n), np.ones(n))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), p.levels[level].weights[edges].astype(float))
    ag = p.edge_agent[edges]
    a_order = np.argsort(ag, kind="stable")
    a_ptr = np.r_[0, np.flatnonzero(np.diff(ag[a_order])) + 1]
    h.addRows(len(a_ptr), np.full(len(a_ptr), -highspy.kHighsInf), np.ones(len(a_ptr)), n,
              a_ptr.astype(np.int32), a_order.astype(np.int32), np.ones(n))
    base = len(a_ptr)
    h.addRows(len(used), np.full(len(used), -highspy.kHighsInf),
              p.rhs[used].astype(float) * frac, len(order), ptr[:-1].astype(np.int32),
              r_col[order].astype(np.int32), r_coef[order])
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.setOptionValue("time_limit", 5.0)
    h.setOptionValue("simplex_strategy", 4)  # primal: x = 0 is feasible; faster here
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return np.zeros(len(p.rows))
    dual = np.abs(np.asarray(h.getSolution().row_dual)[base:])  # a <= row of a max: price >= 0
    price = np.zeros(len(rows))
    price[used] = dual
    return price
