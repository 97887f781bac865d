"""The three standard streams as the command finds them.

A stream the caller closed (`>&-`, `<&-`, `2>&-`) is given /dev/null at once, when the command line is imported and
before anything opens a file: the next file opened would otherwise take its number, and an error meant for stderr
would be written into it. Then a closed stdout (where the results go) or a closed stdin that the command reads is
one error line and exit code 2, before any work; a closed stderr only silences the messages.
"""

from __future__ import annotations

import os
import sys

NAMES = {0: "stdin", 1: "stdout", 2: "stderr"}
closed: set[str] = set()


def guard() -> None:
    for number, name in NAMES.items():
        try:
            os.fstat(number)
        except OSError:
            opened = os.open(os.devnull, os.O_RDONLY if number == 0 else os.O_WRONLY)
            if opened != number:
                os.dup2(opened, number)
                os.close(opened)
            setattr(sys, name, open(number, "r" if number == 0 else "w", encoding="utf-8", closefd=False))
            closed.add(name)


def refusal(argv: list[str]) -> str | None:
    """Why a command cannot run with the streams it was given, or None."""
    if "stdout" in closed and not {"--help", "--version"} & set(argv):
        return "stdout is closed (>&-): seqtag writes its results there; send them to /dev/null instead"
    reads_stdin = (argv[:1] == ["tag"] and "--input" not in argv) or any(
        a == "--train" and b == "-" for a, b in zip(argv, argv[1:]))
    if "stdin" in closed and reads_stdin:
        return "stdin is closed (<&-): this command reads its input there"
    return None
