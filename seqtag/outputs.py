"""Where commands write, and the one rule that keeps a user's files safe.

Every command that writes (train -o, preprocess -o, export -o, compare -o, every --json and --markdown) checks its
destinations here before it does any work, and writes files through `atomic_output`:

- never into or over a file or model the command reads (not even with --overwrite);
- never over something seqtag did not write as the same kind of output, unless the user passes --overwrite: a model
  directory may be replaced by a new model of the same kind (as spaCy does), a report by a report of the same
  command (seqtag's JSON and Markdown carry a mark saying which command wrote them), a canonical TSV by a canonical
  TSV; a plain file is never turned into a model directory;
- never to a place that cannot be written: that is found before training starts, not after an epoch.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from seqtag.errors import DataError
from seqtag import durable
from seqtag.durable import own_leftover

CANONICAL_MAGIC = "#seqtag canonical 1"  # first line of a canonical TSV, the mark of `seqtag preprocess`
MARK = "written_by"  # key in every JSON report, e.g. "seqtag evaluate"
DATASET_MARK = "seqtag.json"  # in a Hugging Face dataset folder that seqtag wrote
OVERWRITE_HINT = "pass --overwrite (in Python: overwrite=True) to replace it, or choose another path"


def mark(command: str) -> str:
    return f"seqtag {command}"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _resolved(path: str | Path) -> Path:
    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        raise DataError("cannot be a file name here: it has characters the file system's encoding cannot write",
                        repr(str(path))) from None
    return Path(os.path.abspath(Path(path).expanduser())).resolve()


def check_not_reading(destination: str | Path, reading: Iterable[str | Path | None], option: str) -> None:
    """Refuse a destination that is, or lies inside, something the command reads (a corpus file, a model)."""
    target = _resolved(destination)
    for source in reading:
        if not isinstance(source, (str, Path)) or str(source) == "-":  # none, stdin, or data already in memory
            continue
        source = _resolved(source)
        what = "model directory" if source.is_dir() else "input file"
        if target == source:
            problem = f"is the {what} this command reads"
        elif _inside(target, source):
            problem = f"lies inside the {what} {source}, which this command reads"
        elif _inside(source, target):
            problem = f"holds the {what} {source}, which this command reads"
        else:
            continue
        raise DataError(f"{option} {problem}; choose another path", destination)


def check_apart(destinations: dict[str, str | Path | None]) -> None:
    """The outputs of one command (option -> path) must not name the same file, nor lie inside a folder the
    command writes: otherwise one output would silently replace another."""
    named = [(option, Path(path), _resolved(path)) for option, path in destinations.items() if path is not None]
    for (first, shown, a), (second, _, b) in ((x, y) for i, x in enumerate(named) for y in named[i + 1:]):
        if a == b:
            raise DataError(f"{first} and {second} name the same path; give each output its own", shown)
        inner, outer = (first, second) if _inside(a, b) else (second, first) if _inside(b, a) else (None, None)
        if inner is not None:
            raise DataError(f"{inner} lies inside {outer}, which this command writes; give it a path outside",
                            destinations[inner])


def check_writable(destination: str | Path) -> None:
    """Fail now, before any work, where the destination's folder cannot be created or written, or its name cannot
    be encoded or is too long for the temporary name it is written under."""
    path = _resolved(destination)
    longest, most = len(os.fsencode(durable.staging_name(path.name))), _name_max(path.parent)
    if longest > most:
        extra = longest - len(os.fsencode(path.name))
        raise DataError(f"the name is too long: seqtag writes it under a temporary name {extra} bytes longer, and "
                        f"names here hold at most {most} bytes", destination)
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise DataError(f"cannot write here: {ancestor} is a file, not a folder", destination)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise DataError(f"cannot write here: permission denied in {ancestor}", destination)


def _name_max(folder: Path) -> int:
    while not folder.exists():
        folder = folder.parent
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def model_kind_at(path: Path) -> str | None:
    """The kind of the seqtag model in `path`, or None when it holds none (or one this seqtag cannot read)."""
    from seqtag.errors import ModelFormatError
    from seqtag.modeldir import read_model_json

    try:
        return str(read_model_json(path).get("kind"))
    except ModelFormatError:
        return None


def check_model_destination(destination: str | Path, kind: str, overwrite: bool = False,
                            reading: Iterable[str | Path | None] = (), option: str = "-o") -> None:
    """A model directory may be new, an empty folder, or a model of the same kind holding only model files."""
    from seqtag.modeldir import MODEL_FILES

    path = Path(destination)
    check_not_reading(path, reading, option)
    if path.is_file() or (path.exists() and not path.is_dir()):
        raise DataError("exists and is not a folder; a model is a directory: choose another path", path)
    if _resolved(path) in (Path.cwd().resolve(), *Path.cwd().resolve().parents):  # `-o ''` and `-o .` included
        raise DataError(f"{option} is the current folder (or holds it); a model is written to a folder of its own, "
                        "which it replaces whole", path)
    if path.is_dir() and not overwrite:
        entries = sorted(p.name for p in path.iterdir())
        if entries:
            found = model_kind_at(path)
            if found is None:
                raise DataError(f"exists and holds no seqtag model ({', '.join(entries[:3])}"
                                f"{', ...' if len(entries) > 3 else ''}); {OVERWRITE_HINT}", path)
            if found != kind:
                raise DataError(f"holds a {found} model; a {kind} model replaces only a {kind} model: "
                                f"{OVERWRITE_HINT}", path)
            foreign = [name for name in entries if name not in MODEL_FILES and not own_leftover(name, MODEL_FILES)]
            if foreign:
                raise DataError(f"holds files that are not part of a model ({', '.join(foreign[:3])}), which "
                                f"replacing the model would delete; {OVERWRITE_HINT}", path)
    check_writable(path)  # its staging folder is made beside it


def write_whole(target: Path, write: Callable[[TextIO], Any]) -> Any:
    """`write(file)` into `target` as a whole or not at all: through ".NAME.seqtag-tmp-PID" beside it, renamed over
    it when `write` returns. A kill leaves at most that temporary file, which own_leftover recognises and a later run
    removes once its process is gone (remove_dead_leftovers). A link at `target` is replaced, never written through:
    these are the outputs of many-file tagging, and a link there may point at anything, the inputs included."""
    tmp = durable.temporary_path(target)
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            result = write(f)
        durable.write_point("file.written")
        os.replace(tmp, target)
    except OSError as e:
        raise DataError(f"cannot write: {e.strerror}", target) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return result


def is_stream(path: str | Path) -> bool:
    """Whether `path` is a stream rather than a file to replace (/dev/stdout, /dev/null, a named pipe): written
    into directly, never read back or renamed over. /dev/stdout stays one when the shell sent it to a file."""
    if re.fullmatch(r"/dev/(stdout|stderr)|/(dev|proc/self)/fd/\d+", os.path.abspath(path)):
        return True
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def final_path(path: str | Path) -> Path:
    """Where writing `path` lands: a symbolic link is followed, so the link keeps pointing at the new file."""
    return Path(os.path.realpath(path)) if Path(path).is_symlink() and not is_stream(path) else Path(path)


def check_file_destination(destination: str | Path, command: str, overwrite: bool = False,
                           reading: Iterable[str | Path | None] = (), option: str = "--json") -> None:
    """A report or corpus file may be new, or replace what this command wrote there before."""
    if str(destination) == "-":  # would be a file named "-", which no one means
        raise DataError(f"{option} - would write a file named '-': to write to stdout, give {option} /dev/stdout")
    path = Path(destination)
    check_not_reading(path, reading, option)
    if is_stream(path):
        return
    # a Hugging Face dataset folder that seqtag preprocess wrote is replaced whole (formats.hf.write_dataset)
    dataset = command == "preprocess" and path.is_dir() and (path / DATASET_MARK).is_file()
    if path.is_dir() and not dataset:
        raise DataError(f"{option} names a folder; give a file name", path)
    if path.exists() and not overwrite and not dataset and not written_by(path, command):
        raise DataError(f"exists and was not written by {mark(command)}; {OVERWRITE_HINT}", path)
    check_writable(path)


def check_folder_destination(destination: str | Path, names: Iterable[str], source: str | Path,
                             overwrite: bool = False, option: str = "-o") -> None:
    """A folder that files `names` exported from the model `source` are written into: the model directory itself, a
    folder an earlier export wrote (a copy of model.json and no weights), or one where none of them exists yet."""
    from seqtag.modeldir import WEIGHTS_NPZ, WEIGHTS_PT

    path = Path(destination)
    if path.exists() and not path.is_dir():
        raise DataError(f"exists and is a file; {option} names a folder to write into", path)
    if path.is_dir() and not overwrite and _resolved(path) != _resolved(source):
        earlier_export = model_kind_at(path) is not None and not any(
            (path / weights).exists() for weights in (WEIGHTS_PT, WEIGHTS_NPZ))
        clash = [name for name in names if (path / name).exists()]
        if clash and not earlier_export:
            raise DataError(f"already holds {', '.join(clash)}, which seqtag export did not write there; "
                            f"{OVERWRITE_HINT}", path)
    check_writable(path / "x")


def written_by(path: Path, command: str) -> bool:
    """Whether seqtag's `command` wrote this file (its JSON mark, Markdown comment or canonical TSV header)."""
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(200)
    except (OSError, UnicodeDecodeError):
        return False
    if command == "preprocess" and head.startswith(CANONICAL_MAGIC):
        return True
    if head.removeprefix("<!DOCTYPE html>\n").startswith(f"<!-- {mark(command)}"):  # Markdown or HTML
        return True
    if head.lstrip().startswith("{"):
        try:
            document = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(document, dict) and document.get(MARK) == mark(command)
    return False


def write_json(path: str | Path, command: str, document: dict) -> None:
    """A JSON report with its mark, written atomically."""
    with atomic_output(path) as f:
        json.dump({MARK: mark(command), **document}, f, indent=2, ensure_ascii=False)
        f.write("\n")


class atomic_output:
    """`with atomic_output(path) as f:` writes to a temporary file and renames it over `path` on success."""

    def __init__(self, path: str | Path):
        self.path = final_path(path)
        self.tmp = None

    def __enter__(self) -> TextIO:
        if is_stream(self.path):
            try:
                self.file = open(self.path, "w", encoding="utf-8", newline="\n")
            except OSError as e:
                raise DataError(f"cannot write: {e.strerror}", self.path) from None
            return self.file
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            durable.remove_dead_leftovers(directory, {self.path.name})  # what a killed writer left
            self.tmp = str(durable.temporary_path(self.path))
            self.file = open(self.tmp, "w", encoding="utf-8", newline="\n")
        except OSError as e:
            raise DataError(f"cannot write: {e.strerror}", self.path) from None
        return self.file

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.file.close()
            if exc_type is None and self.tmp is not None:
                durable.write_point("file.written")
                os.replace(self.tmp, self.path)
        except OSError as e:
            exc_type = exc_type or type(e)
            if exc is None:
                raise DataError(f"cannot write: {e.strerror}", self.path) from None
        finally:
            if exc_type is not None and self.tmp is not None and os.path.exists(self.tmp):
                os.unlink(self.tmp)
