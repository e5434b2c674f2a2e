"""Problems found in a season or a policy: one message each, naming file, row and column."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Issue", "SeasonError"]


@dataclass(frozen=True, order=True)
class Issue:
    """One problem with the input. `row` is the row as a person sees it in the file (the header
    of a CSV file is row 1, so the first data row is row 2); `None` when the problem is the whole
    file or column."""

    file: str
    row: int | None
    column: str | None
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        tag = "" if self.severity == "error" else "warning: "
        return f"{where}: {tag}{self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class SeasonError(ValueError):
    """A season (or policy) that cannot be solved; carries every issue found, not just the first."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.row or 0, i.column or "", i.message))
        errors = [i for i in self.issues if i.is_error]
        head = f"{len(errors)} problem(s) in the season"
        super().__init__(head + ":\n" + "\n".join(str(i) for i in errors))

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]
