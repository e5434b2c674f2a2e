"""The numeric core: Problem, Solution and the strategies that solve one into the other."""

from solvers.problem import Level, Problem, Ranking, SparseRows
from solvers.registry import get_strategy, register, solve, strategies
from solvers.solution import Solution, Status

__all__ = ["Level", "Problem", "Ranking", "Solution", "SparseRows", "Status", "get_strategy",
           "register", "solve", "strategies"]
