"""The progress display of a long solve: a spinner, the strategy, the objective levels done so
far, and a bar of the time used against the time limit.

Drawn on stderr (stdout stays for tables and `--json`), only on a terminal, and gone when the
solve ends. The solver's `log` lines are parsed cheaply: `level NAME: value ...` (mip) and
`level NAME: HiGHS value ...` (cpsat) are what they say when a level is finished.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

__all__ = ["finished_level", "solving"]

_DONE = re.compile(r"^(?:\[[\d.]+ s\] )?level (\S+): (?:HiGHS )?value\b")  # [t s]: flow


def finished_level(line: str) -> str | None:
    """The objective level a solver log line reports finished, or None."""
    m = _DONE.match(line)
    return m.group(1) if m else None


class _Limit(ProgressColumn):
    """Seconds used against the limit: a bar that moves by itself as time passes."""

    def __init__(self, limit: float) -> None:
        super().__init__()
        self.limit = max(limit, 1e-9)
        self.bar = BarColumn(bar_width=30)

    def render(self, task: Task):
        used = min(task.elapsed or 0.0, self.limit)
        task.total, task.completed = self.limit, used
        return self.bar.render(task)


class _LimitText(ProgressColumn):
    def __init__(self, limit: float) -> None:
        super().__init__()
        self.limit = limit

    def render(self, task: Task) -> Text:
        return Text(f"/ {self.limit:g} s limit", style="progress.elapsed")


@contextmanager
def solving(strategy: str, time_limit: float, *, show: bool,
            console: Console | None = None) -> Iterator[Callable[[str], None] | None]:
    """Show progress while the body solves; yields the log callback that moves the display
    (None when nothing is shown, so the solver is asked for no log at all)."""
    console = console or Console(stderr=True)
    if not show or not console.is_terminal:
        yield None
        return
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), _Limit(time_limit),
                        TimeElapsedColumn(), _LimitText(time_limit), console=console,
                        transient=True)
    task = progress.add_task(f"solving with {strategy}", total=max(time_limit, 1e-9))
    done: list[str] = []

    def on_log(line: str) -> None:
        level = finished_level(line)
        if level is not None:
            done.append(level)
            progress.update(task, description=f"solving with {strategy} · {len(done)} "
                            f"level(s) done, last {level}")

    with progress:
        yield on_log
