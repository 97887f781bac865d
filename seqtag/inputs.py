"""What seqtag reads: every input file (corpora, model files, vectors, settings) is checked here before it is
opened, so a FIFO or a device never blocks a command, and a missing file, a folder or an unreadable one is each
said as what it is. Stdin (`-`) is read as a stream and never comes here."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from seqtag.errors import DataError, SeqtagError


def regular_file(path: str | Path, error: type[SeqtagError] = DataError, folder_hint: str = "") -> Path:
    """`path`, when it is a regular file (or a link to one) that can be read; else `error` saying what it is."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error("no such file", path) from None
    except NotADirectoryError:
        raise error("no such file (a part of the path is not a folder)", path) from None
    except OSError as e:
        raise error(f"cannot read: {e.strerror}", path) from None
    except ValueError:  # a NUL character, which no file name holds
        raise error("is not a file name: it holds a NUL character", repr(str(path))) from None
    if stat.S_ISDIR(mode):
        raise error(f"is a folder, expected a file{folder_hint}", path)
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else \
            "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
        raise error(f"is {kind}, not a file: seqtag reads files, and stdin as - where a command takes it", path)
    if not os.access(path, os.R_OK):
        raise error("cannot read: permission denied", path)
    return Path(path)


def shown(text: str) -> str:
    """A string from a file, safe to print to a terminal: control characters (escape sequences among them) are
    written as Python escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
