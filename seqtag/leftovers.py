"""What a killed writer leaves behind, and when it is safe to remove.

seqtag writes through temporary names that carry the writer's process id (".model.onnx.tmp-PID",
".MODEL.tmp-PID-xxxx" for a model folder being saved). A later run removes such a leftover only once that process
is gone, so a kill never blocks a folder and a writer still under way in another process is never disturbed.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path


def process_alive(pid: int) -> bool:
    """Whether a process of this machine with this id runs (a leftover's writer, named in its file name)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return pid > 0


def own_leftover(name: str, files) -> bool:
    """A temporary file that seqtag writes beside one of `files` (".model.onnx.tmp-PID") and a kill left behind:
    part of the model folder, replaced with it, never a reason to refuse it."""
    match = re.fullmatch(r"\.(.+)\.tmp-(\d+)", name)
    return match is not None and match.group(1) in files


def remove_dead_leftovers(folder: Path, names) -> None:
    """Remove the temporary files of write_whole for `names` in `folder` whose writing process is gone."""
    for path in folder.iterdir() if folder.is_dir() else ():
        match = re.fullmatch(r"\.(.+)\.tmp-(\d+)", path.name)
        if match and match.group(1) in names and not process_alive(int(match.group(2))):
            path.unlink(missing_ok=True)


def remove_dead_staging(parent: Path, name: str) -> None:
    """Remove the folders ".NAME.tmp-PID-xxxx" in which a model save was staged, where that process is gone (and
    those of a seqtag that did not name the process)."""
    for stale in parent.glob(f".{name}.tmp-*"):
        writer = re.match(r"\d+-", stale.name.removeprefix(f".{name}.tmp-"))
        if writer is None or not process_alive(int(writer.group()[:-1])):
            shutil.rmtree(stale, ignore_errors=True)
