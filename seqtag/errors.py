"""Errors a user can act on. The CLI prints them as one line, `error: FILE:LINE: message`."""

from __future__ import annotations

from pathlib import Path


class SeqtagError(Exception):
    """Base class: a message, and where in which file the problem is, when known."""

    exit_code = 2

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return where + self.message


class SeqtagWarning(UserWarning):
    """Something seqtag did differently from what was asked, or passed over; the CLI prints it as `warning: ...`."""


class DataError(SeqtagError):
    """Bad input data or bad usage: exit code 2."""

    exit_code = 2


class ModelFormatError(SeqtagError):
    """A model directory that cannot be loaded: exit code 3."""

    exit_code = 3


class Interrupted(SeqtagError):
    """Ctrl-C or SIGTERM: the message says what was kept. Exit 130 (143 after SIGTERM, as the shell counts)."""

    exit_code = 130
