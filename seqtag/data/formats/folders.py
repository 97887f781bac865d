"""Formats written as a folder (a Hugging Face dataset, brat standoff): made beside the target and renamed into
place, so a kill at any moment leaves the old folder or the new one, and never replacing a folder that seqtag did
not write (its mark, outputs.DATASET_MARK, is inside)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from seqtag.errors import DataError


def write_folder(path: str | Path, fill: Callable[[Path], None]) -> None:
    """Write a folder with `fill(staging)`, then mark it and swap it in for `path`."""
    from seqtag.durable import recover_interrupted_swap, remove_dead_staging, replace_folder, staging_folder
    from seqtag.outputs import DATASET_MARK, mark

    path = Path(path)
    if path.exists() and not (path / DATASET_MARK).is_file():  # never replaced unless seqtag wrote it
        raise DataError("exists; this format is written to a new folder, or replaces one seqtag wrote", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_swap(path)
    remove_dead_staging(path.parent, path.name)
    staging = staging_folder(path)
    try:
        fill(staging)
        (staging / DATASET_MARK).write_text(f'{{"written_by": "{mark("preprocess")}"}}\n', "utf-8")
        replace_folder(staging, path)  # the old folder or the new one, whenever a kill comes
    finally:
        shutil.rmtree(staging, ignore_errors=True)
