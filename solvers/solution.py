"""What every strategy returns: the chosen edges, with status, level values, bound and gap."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from solvers.problem import Problem

__all__ = ["Solution", "Status", "relative_gap"]


class Status:
    """Solve status names, shared by every strategy."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


def relative_gap(value: float, bound: float) -> float:
    """Gap of a maximisation between the best value found and a bound, as a fraction in [0, 1]
    of the larger of the two in size (so a level of negative values, -spend, reads the same)."""
    if bound <= value:
        return 0.0
    return float(min(1.0, (bound - value) / max(1.0, abs(bound), abs(value))))


@dataclass(frozen=True)
class Solution:
    """A strategy's answer over a `Problem`.

    `objective` holds the internal integer value of each level reached (in level order);
    `proven` is how many leading levels are proven optimal; `bound` and `gap` refer to the first
    level not proven (or the last level when all are).
    """

    strategy: str
    edges: np.ndarray
    status: str
    objective: tuple[int, ...]
    proven: int
    bound: float
    gap: float
    runtime_s: float
    seed: int = 0
    log: str = ""
    info: dict = field(default_factory=dict)

    @classmethod
    def infeasible(cls, strategy: str, problem: Problem, runtime_s: float, seed: int,
                   log: str) -> Solution:
        """The answer when no allocation meets every rule (only a stable problem can have
        none): no edges, no bound."""
        empty = np.zeros(0, dtype=np.int64)
        return cls(strategy, empty, Status.INFEASIBLE, problem.level_values(empty), 0,
                   float("nan"), float("nan"), runtime_s, seed, log, {})

    def __post_init__(self) -> None:
        edges = np.ascontiguousarray(np.sort(np.asarray(self.edges, dtype=np.int64)))
        edges.setflags(write=False)
        object.__setattr__(self, "edges", edges)
