"""The contract every command keeps with the files around it, checked the same way by every suite that runs commands
on hostile trees: snapshot the tree (each entry's kind, mode, bytes or link target; links never followed), run the
command, and assert that nothing changed outside the outputs the command declares."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path


def snapshot(*roots: Path) -> dict[str, tuple]:
    """Every entry under `roots` (the roots too): (kind, permission bits, sha256 of a file's bytes or a link's
    target). A link is recorded as a link and never followed; a FIFO or a device is never opened."""
    state: dict[str, tuple] = {}
    for root in roots:
        for path in [Path(root), *_walk(Path(root))]:
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                state[str(path)] = ("link", mode, os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                state[str(path)] = ("file", mode, _digest(path))
            elif stat.S_ISDIR(info.st_mode):
                state[str(path)] = ("dir", mode, None)
            else:
                state[str(path)] = ("other", mode, stat.S_IFMT(info.st_mode))
    return state


def _walk(root: Path):
    if root.is_symlink() or not root.is_dir():
        return
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except PermissionError:  # a folder the test made unreadable: its entries cannot change either
        return
    for entry in entries:
        yield Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))


def _digest(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except PermissionError:
        return None


def changed(before: dict, after: dict) -> set[str]:
    """The paths that appeared, disappeared or changed."""
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def outside(paths: set[str], declared) -> list[str]:
    """Those of `paths` that are neither a declared output nor inside one."""
    folders = [Path(os.path.abspath(d)) for d in declared]
    return sorted(p for p in paths if not any(Path(p) == d or d in Path(p).parents for d in folders))


def assert_kept(before: dict, after: dict, declared=(), what: str = "the command") -> None:
    """Nothing outside `declared` changed (with nothing declared: nothing changed at all)."""
    stray = outside(changed(before, after), declared)
    assert not stray, f"{what} changed what it does not write: " + ", ".join(
        f"{p} ({before.get(p)} -> {after.get(p)})" for p in stray[:5])
