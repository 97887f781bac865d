"""Writes that a kill at any moment cannot leave half done, and the leftovers of those that were killed.

A folder (a model, a dataset) is staged beside its place and swapped in whole (replace_folder). A file is written
under a temporary name that carries the writer's process id (".model.onnx.seqtag-tmp-PID"; ".MODEL.seqtag-tmp-PID-xxxx"
for a staged folder) and renamed over its place. A later run removes such a leftover only once that process is gone,
so a kill never blocks a folder and a writer still under way in another process is never disturbed. The names are
ones a user would not choose, and a folder is removed only where it proves seqtag made it: its marker (STAGING_MARK)
holds the id of the process named in its name. Each moment at which a kill matters is named (WRITE_POINTS), so
tests can kill a command at every one of them.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path


# Every moment at which a kill would leave a write half done, by name. Setting SEQTAG_KILL_AT=NAME (or NAME:N, the
# Nth time) makes the process SIGKILL itself there: tests/test_faults.py kills each command at each of them and
# checks that every folder and file it wrote is still usable, and that the next run is not blocked.
WRITE_POINTS = {
    "file.written": "a report, corpus or tagged file is complete under its temporary name, not yet renamed",
    "folder.staged": "a model or dataset folder is complete in its staging folder, not yet swapped in",
    "folder.swapped": "the new folder is in place; the old one, now in the staging folder, not yet removed",
    "export.written": "an exported file (graph, decoder or context scores) is complete under its temporary name",
    "int8.quantized": "the int8 graph is written to its scratch file, not yet stamped and renamed",
}
KILL_AT = "SEQTAG_KILL_AT"
TEMPORARY = "seqtag-tmp"  # ".NAME.seqtag-tmp-PID": a file or folder being written
MOVED_ASIDE = "seqtag-old"  # ".NAME.seqtag-old-xxxx": a folder moved aside by a swap where no atomic exchange exists
STAGING_MARK = ".seqtag-staging"  # inside a staging or moved-aside folder: the id of the process that made it
_LEFTOVER = re.compile(rf"\.(.+)\.{TEMPORARY}-(\d+)")
_passed: dict[str, int] = {}


def write_point(name: str) -> None:
    """A named moment of a write (WRITE_POINTS); the process kills itself here when told to (KILL_AT)."""
    wanted = os.environ.get(KILL_AT)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point == name:
        _passed[name] = _passed.get(name, 0) + 1
        if _passed[name] == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)


def process_alive(pid: int) -> bool:
    """Whether a process of this machine with this id runs (a leftover's writer, named in its file name)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return pid > 0


def temporary_path(target: Path) -> Path:
    """Where this process writes `target` before renaming it into place."""
    return target.with_name(f".{target.name}.{TEMPORARY}-{os.getpid()}")


def own_leftover(name: str, files) -> bool:
    """A temporary file that seqtag writes beside one of `files` (".model.onnx.seqtag-tmp-PID") and a kill left
    behind: part of the model folder, replaced with it, never a reason to refuse it."""
    match = _LEFTOVER.fullmatch(name)
    return match is not None and match.group(1) in files


def remove_dead_leftovers(folder: Path, names) -> None:
    """Remove the temporary files of write_whole for `names` in `folder` whose writing process is gone."""
    for path in folder.iterdir() if folder.is_dir() else ():
        match = _LEFTOVER.fullmatch(path.name)
        if match and match.group(1) in names and not process_alive(int(match.group(2))) and not path.is_dir():
            path.unlink(missing_ok=True)


def staging_name(name: str) -> str:
    """The longest name seqtag gives something it writes for `name` while under way (a staging folder's)."""
    return f".{name}.{TEMPORARY}-{2 ** 22}-{'x' * 8}"


def staging_folder(path: Path) -> Path:
    """A new folder beside `path` to build its replacement in, marked as this process's (STAGING_MARK), with the
    permissions a folder made by this user gets (mkdtemp makes it private)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.{TEMPORARY}-{os.getpid()}-", dir=path.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    _mark(staging)
    return staging


def _mark(folder: Path) -> None:
    (folder / STAGING_MARK).write_text(str(os.getpid()), "ascii")


def _made_by_dead_process(folder: Path, pid: str | None = None) -> bool:
    """Whether `folder` is a real folder whose marker names a process that is gone (`pid`, where its name has one)."""
    marker = folder / STAGING_MARK
    if folder.is_symlink() or not folder.is_dir() or marker.is_symlink() or not marker.is_file():
        return False
    try:
        writer = marker.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return writer.isdigit() and (pid is None or writer == pid) and not process_alive(int(writer))


def remove_dead_staging(parent: Path, name: str) -> None:
    """Remove the folders ".NAME.seqtag-tmp-PID-xxxx" in which a save was staged, where that process is gone and
    the folder's marker says it made it. A folder of that name without the marker is not seqtag's: left alone."""
    for stale in parent.glob(f".{glob.escape(name)}.{TEMPORARY}-*"):
        writer = re.match(r"(\d+)-", stale.name.removeprefix(f".{name}.{TEMPORARY}-"))
        if writer is not None and _made_by_dead_process(stale, writer.group(1)):
            shutil.rmtree(stale, ignore_errors=True)


def replace_folder(staging: Path, path: Path) -> None:
    """Replace the folder `path` by `staging` (a model, a dataset) so that a reader or a crash sees the old one or
    the new one, never neither.

    On Linux the two folders are exchanged in one atomic step (renameat2 with RENAME_EXCHANGE). Elsewhere the old
    model is first moved aside to `.NAME.seqtag-old-*`, which `recover_interrupted_swap` puts back if a crash comes
    between the two renames."""
    for handle in staging.rglob("*"):  # make the files durable before they become the model
        if handle.is_file():
            with open(handle, "rb") as f:
                os.fsync(f.fileno())
    write_point("folder.staged")
    (staging / STAGING_MARK).unlink(missing_ok=True)  # the marker is the staging folder's, not the model's
    if not path.exists():
        os.replace(staging, path)
    elif _exchange(staging, path):
        _mark(staging)  # it now holds the old model: a kill from here leaves it for the next run to remove
        write_point("folder.swapped")
        shutil.rmtree(staging, ignore_errors=True)
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.{MOVED_ASIDE}-", dir=path.parent))
        _mark(old)
        os.replace(path, old / "model")
        os.replace(staging, path)
        shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux's renameat2(RENAME_EXCHANGE); False where that is not available."""
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def recover_interrupted_swap(path: Path) -> None:
    """Put back a folder (a model, a dataset) that a crash left moved aside between the two renames of a
    non-atomic swap."""
    if path.exists():
        return
    for old in sorted(path.parent.glob(f".{glob.escape(path.name)}.{MOVED_ASIDE}-*")):
        if (old / "model").is_dir() and _made_by_dead_process(old):
            os.replace(old / "model", path)
            shutil.rmtree(old, ignore_errors=True)
            return
