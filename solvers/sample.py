"""First multipliers for the Lagrangian from a random sample of the agents.

The LP relaxation of a season with a tenth of its students (`SAMPLE_MAX` at most), every
right-hand side scaled by the same fraction, prices budgets much as the whole season's LP does,
at a small fraction of its cost. Its budget duals start the subgradient rounds of
`solvers.flow` near where they would end, instead of at zero. Smaller samples price worse: a
slot of capacity 3 holds 0.06 of a seat in a 2 % sample, and at 100,000 students a 2 % or 5 %
sample left the first round 4 % from its bound where a 10 % sample leaves it 0.7 % (figures
from when every row kept its sample price). Only a starting point: every bound the flow
reports is computed by the flow itself.
"""

from __future__ import annotations

import time

import numpy as np

from solvers.colgen import ColumnLP
from solvers.network import Network
from solvers.problem import Level, Problem, SparseRows
from solvers.repair import EdgeRows, fill

__all__ = ["sample_prices", "sample_row_prices"]

SAMPLE_SHARE = 0.1  # of the agents, in the sample: at 100,000 students a 10 % sample's prices
# give a first round 0.7 % from its bound, a 2 % or 5 % sample's 4 %
SAMPLE_MIN = 2_000  # agents in the sample at least (all of them in a smaller season)
SAMPLE_MAX = 30_000  # agents in the sample at most: only its budget prices are used, and at
# 500,000 students samples of 25,000-50,000 price them alike (seeds 1-3), but the LP of 50,000
# takes 81 s to converge, of 30,000 35 s; cut short, it priced them worse (bound 333,339
# instead of 331,732). 20,000 left one budget unpriced
KNAPSACK_SHADE = 0.9  # budgets' share of their right-hand side in the sample: at 100,000
# students, seed 1, unshaded budgets got no price and the first round ended 3.8 % from its
# bound; shaded, 0.5 % (seeds 0-3 all price them)


def sample_prices(problem: Problem, net: Network, level: int, fixed: list[int], seed: int,
                  agents: int | None = None, time_limit: float = 30.0) -> np.ndarray:
    """Multipliers for `net.relaxed` (in its scaled units) from the LP of a random sample of
    `agents` agents on level `level`; zeros when the LP fails. Earlier levels (`fixed`) are
    left out: their constraints do not scale with the sample.

    Only knapsack rows (budgets) keep their sample price. A seat row relaxed from the network
    (a second period, a cap across periods) holds a few seats, which a tenth of the agents
    price by chance: at 100,000 students its sample prices left the first round's bound at
    67,177 where zeros give 67,042, the LP's own value."""
    price = sample_row_prices(problem, level, seed, agents, time_limit)
    price[~problem.knapsack_rows] = 0.0
    return price[net.relaxed] * net.scale  # per unit of the network's scaled rows


def sample_row_prices(problem: Problem, level: int, seed: int, agents: int | None = None,
                      time_limit: float = 30.0) -> np.ndarray:
    """A price for every packing row of `problem` (zeros when the sample's LP fails): the row
    duals of the LP of `agents` random agents (`SAMPLE_SHARE` of them by default) with every
    right-hand side scaled by their share, solved by columns (`solvers.colgen`) from a greedy
    allocation of the sample. A sample of many agents starts from the columns a smaller
    sample's prices favour: from a greedy start alone its rounds are slow to converge."""
    p = problem
    if agents is None:
        agents = int(min(max(SAMPLE_MIN, SAMPLE_SHARE * p.n_agents), SAMPLE_MAX))
    agents = min(agents, p.n_agents)
    if not agents or not len(p.rows) or not p.n_edges:
        return np.zeros(len(p.rows))
    guess = None
    if agents >= 4 * SAMPLE_MIN:
        t0 = time.perf_counter()
        guess = sample_row_prices(p, level, seed + 1, SAMPLE_MIN, time_limit / 4)
        time_limit -= time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    chosen = np.zeros(p.n_agents, dtype=bool)
    chosen[rng.choice(p.n_agents, size=agents, replace=False)] = True
    frac = agents / p.n_agents
    edges = np.flatnonzero(chosen[p.edge_agent])
    if not len(edges):
        return np.zeros(len(p.rows))
    col = np.full(p.n_edges, -1, dtype=np.int64)
    col[edges] = np.arange(len(edges))
    owner = p.rows.owner()
    keep = col[p.rows.index] >= 0
    order = np.argsort(owner[keep], kind="stable")
    ptr = np.searchsorted(owner[keep][order], np.arange(len(p.rows) + 1))
    rows = SparseRows(ptr, col[p.rows.index[keep]][order], p.rows.coef[keep][order])
    rank = np.cumsum(chosen) - 1
    weights = p.levels[level].weights[edges]
    # knapsack rows (budgets: coefficients other than 1) a little tighter than their share: a
    # budget that only just binds in the season may not bind in the sample, and a zero price
    # on it costs the first round far more than a price a little too high
    knapsack = p.knapsack_rows
    rhs = p.rhs * frac * np.where(knapsack, KNAPSACK_SHADE, 1.0)
    # the right-hand sides rounded down: a greedy allocation of it is feasible for the scaled LP
    sub = Problem(agents, p.n_options, rank[p.edge_agent[edges]], p.edge_option[edges],
                  levels=[Level(p.levels[level].name, weights)], rows=rows,
                  rhs=np.floor(rhs).astype(np.int64))
    start = np.zeros(sub.n_edges, dtype=bool)
    fill(sub, start, weights.astype(float), EdgeRows(sub))
    lp = ColumnLP(sub, side_rows=False, rhs=rhs)
    if lp.solve(0, start=np.flatnonzero(start), time_limit=max(0.1, time_limit), integral=False,
                prices=guess) is None:
        return np.zeros(len(p.rows))
    return lp.row_prices()
