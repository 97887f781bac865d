"""The arguments of the Python API, checked as the command line checks its flags: the bounds of every count (the
CLI's options read them from here), paths, flags and streams of lines. A wrong value is a DataError naming the
argument, never another exception later."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from seqtag.errors import DataError

# (least, most) of each count argument and its flag: a bound on what one call may ask for
COUNTS = {"window": (1, 1_000_000), "nbest": (0, 1000), "workers": (1, 256), "actors": (1, 4096),
          "replicas": (1, 4096), "batch_size": (1, 1_000_000)}


def check_count(name: str, value) -> None:
    """A count (COUNTS[name]): a whole number within its bounds."""
    low, high = COUNTS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DataError(f"{name} must be a whole number from {low} to {high:,}, not {value!r}")


def check_path(name: str, value) -> None:
    """A file or folder argument: a str or os.PathLike naming something, that the file system can encode."""
    if not isinstance(value, (str, os.PathLike)) or isinstance(value, bytes) or not str(value):
        raise DataError(f"{name} must be a file path (str or pathlib.Path), not {value!r}")
    try:
        text = os.fspath(value)
    except TypeError:
        text = None
    if not isinstance(text, str):
        raise DataError(f"{name} must be a file path (str or pathlib.Path), not {value!r}")
    if "\0" in text:
        raise DataError(f"{name} is not a file name: it holds a NUL character", repr(text))
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        raise DataError("cannot be a file name here: it has characters the file system's encoding cannot write",
                        repr(text)) from None


def optional_path(name: str, value) -> Path | None:
    if value is None:
        return None
    check_path(name, value)
    return Path(value)


def check_flag(name: str, value) -> None:
    if not isinstance(value, bool):
        raise DataError(f"{name} must be True or False, not {value!r}")


def check_name(name: str, value) -> None:
    """A name argument that may be left out (None): a non-empty str."""
    if value is not None and (not isinstance(value, str) or not value):
        raise DataError(f"{name} must be a name (a non-empty str) or None, not {value!r}")


def checked_lines(lines: Iterable, name: str = "lines") -> Iterator[str]:
    """`lines`, each checked to be a str as it is read."""
    for number, line in enumerate(lines, 1):
        if not isinstance(line, str):
            raise DataError(f"{name} holds str, one line each; item {number} is {type(line).__name__}: {line!r:.60}")
        yield line
