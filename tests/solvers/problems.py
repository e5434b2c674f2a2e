"""Problems the solver tests share: random edge sets for hypothesis, and a knapsack season."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from solvers import Level, Problem, SparseRows


def draw_edges(draw: st.DrawFn, max_agents: int, max_options: int
               ) -> tuple[int, int, list[int], list[int]]:
    """Agents, options, and edges (agent, option) sorted by agent: each agent eligible for any
    subset of the options (none included)."""
    n_agents = draw(st.integers(1, max_agents))
    n_opt = draw(st.integers(1, max_options))
    ea, eo = [], []
    for a in range(n_agents):
        for o in sorted(draw(st.sets(st.integers(0, n_opt - 1), max_size=n_opt))):
            ea.append(a)
            eo.append(o)
    return n_agents, n_opt, ea, eo


def knapsack_problem(seed: int, n: int, k: int, per_agent: int, capacity: int, budget: int,
                     spend_level: bool) -> Problem:
    """n agents, each eligible for `per_agent` of k options of `capacity` seats, every edge
    costing 1-49 from one `budget`; levels `placed` (and `-spend`)."""
    rng = np.random.default_rng(seed)
    ea = np.repeat(np.arange(n), per_agent)
    eo = np.concatenate([np.sort(rng.choice(k, per_agent, replace=False)) for _ in range(n)])
    cost = rng.integers(1, 50, len(ea))
    rows = [np.flatnonzero(eo == o) for o in range(k)] + [np.arange(len(ea))]
    coefs = [np.ones(len(r)) for r in rows[:-1]] + [cost]
    levels = [Level("placed", np.ones(len(ea)))] + ([Level("-spend", -cost)] if spend_level
                                                    else [])
    return Problem(n, k, ea, eo, levels=levels, rows=SparseRows.from_lists(rows, coefs),
                   rhs=[capacity] * k + [budget])
