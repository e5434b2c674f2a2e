"""Allocation engine for industry–education integration (产教融合) placements."""

from matcher.allocation import Allocation
from matcher.api import solve
from matcher.errors import Issue, SeasonError
from matcher.season import Season, load_season, validate_season

__all__ = ["Allocation", "Issue", "Season", "SeasonError", "load_season", "solve",
           "validate_season"]
__version__ = "0.1.0"
