"""The one error type users see for bad input: it says where, what, and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class BadInputError(Exception):
    """Input that cannot be used as it is. Raised before anything is written.

    ``file``, ``row`` (1-based, as a spreadsheet shows it) and ``field`` locate the problem;
    ``hint`` tells the user what to do about it.
    """

    message: str
    file: str | Path | None = None
    row: int | None = None
    field: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        text = (": ".join([", ".join(where), self.message])) if where else self.message
        if self.hint:
            text += f". {self.hint}"
        return text


class ModelMissingError(RuntimeError):
    """A local model package is not installed; the message names the package to install."""
