"""The network part of a Problem: the packing rows a min-cost flow can hold exactly.

A row with unit coefficients is a capacity on the edges it holds. Rows whose edge sets nest
(slot and period inside enterprise and period, for instance) form a forest, and every edge then
runs through a chain of capacities: a flow from agents to a sink. Rows that do not nest, and
rows with other coefficients (budgets), are left to a Lagrangian relaxation; where part of such
a row still nests, that part also goes into the network, which only restates a consequence of
the row (coefficients are non-negative) and so keeps every bound valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from solvers.problem import Problem

__all__ = ["Network", "build_network", "scaled_rows"]


@dataclass(frozen=True)
class Network:
    """Capacity nodes of a flow over a Problem's edges, and the rows left to relax.

    `leaf[e]` is the first node an edge's unit of flow enters (-1: straight to the sink);
    node i then runs to `parent[i]` (-1: the sink) with capacity `capacity[i]`. `relaxed` lists
    the rows the network does not hold exactly; `matrix` is those rows as a sparse matrix over
    the edges, each divided by `scale` (its largest coefficient, at least 1), with `rhs` scaled
    alike. A price per unit of an original row is a price per unit of `matrix` over `scale`.
    """

    leaf: np.ndarray
    parent: np.ndarray
    capacity: np.ndarray
    relaxed: np.ndarray
    matrix: sp.csr_matrix
    rhs: np.ndarray
    scale: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.parent)


def build_network(problem: Problem) -> Network:
    """Split the rows of `problem` into a nested network and a relaxed rest.

    Rows are taken smallest first. A unit row becomes a node over the edges whose current top
    node lies wholly inside it; when every edge qualifies the row is exact, otherwise it is also
    relaxed. A row that can never bind (its coefficients sum to at most its right-hand side) is
    dropped altogether.
    """
    rows, n = problem.rows, problem.n_edges
    rhs = problem.tight_rhs  # the same allocations fit; a relaxation fits less
    sizes = np.diff(rows.ptr)
    top = np.full(n, -1, dtype=np.int64)
    leaf = np.full(n, -1, dtype=np.int64)
    parent: list[int] = []
    capacity: list[int] = []
    node_size = np.zeros(len(rows), dtype=np.int64)  # at most one node per row
    relaxed: list[int] = []
    for r in np.argsort(sizes, kind="stable"):
        idx, coef = rows.row(int(r))
        if len(idx) == 0 or int(coef.sum()) <= rhs[r]:
            continue  # can never bind
        if coef.min() != 1 or coef.max() != 1:
            relaxed.append(int(r))
            continue
        t = top[idx]
        inside = t < 0
        if not inside.all():
            owned = t[~inside]
            nodes, counts = np.unique(owned, return_counts=True)
            whole = nodes[counts == node_size[nodes]]
            inside |= np.isin(t, whole)
        else:
            whole = np.zeros(0, dtype=np.int64)
        if not inside.all():
            relaxed.append(int(r))
        if not inside.any():
            continue
        node = len(parent)
        parent.append(-1)
        capacity.append(int(rhs[r]))
        node_size[node] = int(inside.sum())
        for w in whole:
            parent[int(w)] = node
        fresh = idx[t < 0]
        leaf[fresh] = node
        top[idx[inside]] = node
    relaxed_rows = np.asarray(sorted(relaxed), dtype=np.int64)
    return Network(leaf, np.asarray(parent, dtype=np.int64),
                   np.asarray(capacity, dtype=np.int64), relaxed_rows,
                   *scaled_rows(problem, relaxed_rows))


def scaled_rows(problem: Problem, which: np.ndarray
                ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The rows `which` as a CSR matrix over edges, each divided by its largest coefficient,
    so that one step size suits a seat and a budget in fen alike: (matrix, rhs, divisors), the
    right-hand sides from `Problem.tight_rhs`."""
    rows = problem.rows
    lengths = np.diff(rows.ptr)[which]
    starts = rows.ptr[which]
    before = np.cumsum(lengths) - lengths
    member = np.repeat(starts - before, lengths) + np.arange(int(lengths.sum()))
    owner = np.repeat(np.arange(len(which)), lengths)
    coef = rows.coef[member].astype(float)
    scale = np.ones(len(which))
    if len(coef):
        np.maximum.at(scale, owner, coef)
    matrix = sp.csr_matrix((coef / scale[owner], (owner, rows.index[member])),
                           shape=(len(which), problem.n_edges))
    return matrix, problem.tight_rhs[which] / scale, scale
