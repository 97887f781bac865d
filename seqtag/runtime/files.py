"""Tagging many files into a folder, resumably: `seqtag tag --input 'corpus/*.txt' --output-dir tagged/`.

Each input is tagged into one output of the same name, written atomically. A manifest in the output folder records,
for each finished output, the input's size and hash, the model's hash and the tagging settings; a run started again
skips what the manifest says is finished for this model and these settings, so a run killed at any moment finishes
the rest. A damaged input costs its own output only: the others are written, and the run says what failed.

The plan (which files, which are done) and the manifest are the engine's own; the Ray engine (seqtag.runtime.ray)
writes the same outputs and the same manifest.
"""

from __future__ import annotations

import glob
import hashlib
import json
import warnings
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seqtag import durable, outputs
from seqtag.data.formats.text import file_sha256
from seqtag.errors import DataError, SeqtagError, SeqtagWarning
from seqtag.inputs import regular_file
from seqtag.schema import List, Map, Record, Whole, problem, where

MANIFEST = ".seqtag-manifest.json"  # in the output folder
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Job:
    """One input file and the output it is tagged into."""

    source: Path
    target: Path
    size: int
    sha256: str


@dataclass
class Plan:
    """What a run tags: every job, and which of them a finished earlier run already wrote."""

    folder: Path
    key: dict  # the model's hash and the tagging settings: an output is finished only for the same key
    jobs: list[Job]
    done: set[str] = field(default_factory=set)  # names of finished outputs
    manifest: dict = field(default_factory=dict)  # the folder's manifest as the run found it (read_manifest)

    @property
    def todo(self) -> list[Job]:
        return [job for job in self.jobs if job.target.name not in self.done]


def expand_inputs(patterns: Sequence[str]) -> list[Path]:
    """Files named by paths or glob patterns (quoted, so the shell leaves them to us), in a stable order; a pattern
    that names nothing is an error rather than an empty run."""
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
        files = [Path(m) for m in matches if not Path(m).is_dir()]
        if not files:
            raise DataError("no input file matches this" if glob.has_magic(pattern) else "no such file", pattern)
        found.extend(f for f in files if f not in found)
    return found


def model_hash(model_dir: Path, document: dict) -> str:
    """The model as tagging sees it: its model.json and its weights file."""
    digest = hashlib.sha256((Path(model_dir) / "model.json").read_bytes())
    weights = Path(model_dir) / document.get("weights", "weights.pt")
    if weights.exists():
        digest.update(file_sha256(weights).encode())
    return digest.hexdigest()


def plan(inputs: Sequence[str], folder: str | Path, model_dir: Path, document: dict, settings: dict,
         overwrite: bool = False) -> Plan:
    """Check everything before any file is tagged: the inputs are readable files, no two share an output name (nor
    the manifest's), the output folder is not an input's, and it holds nothing this command did not write (unless
    `overwrite`)."""
    folder = Path(folder)
    sources = [regular_file(source) for source in expand_inputs(inputs)]
    names: dict[str, Path] = {}
    for source in sources:
        name = source.name.removesuffix(".gz")  # a gzipped input is read gunzipped, and its output is plain text
        if name in names:
            raise DataError(f"two inputs would be tagged into one output {folder / name} (the other is "
                            f"{names[name]}): tag them into separate --output-dir folders", source)
        if name == MANIFEST:
            raise DataError(f"its output would be the folder's manifest, {MANIFEST}: rename the input", source)
        names[name] = source
    outputs.check_not_reading(folder, [*sources, model_dir], "--output-dir")
    if folder.exists() and not folder.is_dir():
        raise DataError("exists and is not a folder; --output-dir names a folder", folder)
    durable.remove_dead_leftovers(folder, {*names, MANIFEST})  # what a killed run was writing
    key = {"model": model_hash(model_dir, document), **settings}
    manifest, damage = read_manifest(folder)
    if damage:
        warnings.warn(SeqtagWarning(f"{folder / MANIFEST}: {damage}; it counts as none: every input is tagged again"))
    finished = manifest.get("files", {}) if manifest.get("key") == key else {}
    written = set(manifest.get("files", {})) | set(manifest.get("started", []))
    if folder.is_dir() and not overwrite:
        foreign = sorted(p.name for p in folder.iterdir() if p.name in names and p.name not in written)
        if foreign:
            why = f" (its manifest is damaged: {damage})" if damage else ""
            raise DataError(f"already holds {', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}, which "
                            f"seqtag tag did not write there{why}: choose another --output-dir, or replace them "
                            "with --overwrite", folder)
    jobs = []
    done = set()
    for name, source in names.items():
        job = Job(source, folder / name, source.stat().st_size, file_sha256(source))
        jobs.append(job)
        record = finished.get(name)
        if (record and record.get("size") == job.size and record.get("sha256") == job.sha256
                and job.target.is_file() and job.target.stat().st_size == record.get("output_size")):
            done.add(name)
    return Plan(folder, key, jobs, done, manifest)


def read_manifest(folder: Path) -> tuple[dict, str]:
    """(the folder's manifest, "") where there is one that seqtag wrote; ({}, what is wrong) where it is damaged,
    hand-edited, a link or not a file: it then counts as none (every output is written again); ({}, "") where
    there is none."""
    path = folder / MANIFEST
    if not path.is_symlink() and not path.exists():
        return {}, ""
    if path.is_symlink() or not path.is_file():
        return {}, "it is a link or not a file, so seqtag did not write it"
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        return {}, f"it cannot be read as JSON ({error})"
    found = _manifest_problem(document)
    return (document, "") if found is None else ({}, found)


_RECORD = Record({"input": str, "size": Whole(), "sha256": str, "sentences": Whole(), "tokens": Whole(),
                  "output_size": Whole()}, required=("input", "size", "sha256", "sentences", "tokens", "output_size"))
MANIFEST_SHAPE = Record({"key": dict, "files": Map(_RECORD), "started": List(str)},
                        required=("key", "files", "started"))


def _manifest_problem(document) -> str | None:
    """What makes `document` other than a manifest of this version as Manifest writes it, or None."""
    if not isinstance(document, dict) or document.get(outputs.MARK) != outputs.mark("tag"):
        return f"it is not a manifest that {outputs.mark('tag')} wrote"
    if document.get("version") != MANIFEST_VERSION:
        return f"its version is {document.get('version')!r}, this seqtag writes {MANIFEST_VERSION}"
    found = problem(document, MANIFEST_SHAPE)
    return where("", found) if found else None


class Manifest:
    """The manifest of one run, written atomically after each finished output (and before each started one, so a
    rerun knows which files in the folder it wrote, finished or not)."""

    def __init__(self, run: Plan):
        self.path = run.folder / MANIFEST
        old = run.manifest
        kept = old.get("files", {}) if old.get("key") == run.key else {}
        self.document = {"version": MANIFEST_VERSION, outputs.MARK: outputs.mark("tag"), "key": run.key,
                         "files": {name: kept[name] for name in run.done if name in kept},
                         "started": sorted(set(old.get("started", [])) | set(old.get("files", {})))}

    def start(self, job: Job) -> None:
        self.start_all([job])

    def start_all(self, jobs: Sequence[Job]) -> None:
        names = {job.target.name for job in jobs} - set(self.document["started"])
        if names:
            self.document["started"] = sorted({*self.document["started"], *names})
            self._write()

    def finish(self, job: Job, sentences: int, tokens: int) -> None:
        self.document["files"][job.target.name] = {
            "input": str(job.source), "size": job.size, "sha256": job.sha256, "sentences": sentences,
            "tokens": tokens, "output_size": job.target.stat().st_size}
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        outputs.write_whole(self.path, lambda f: f.write(json.dumps(self.document, indent=1, ensure_ascii=False) + "\n"))


@dataclass
class Outcome:
    tagged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # output name -> the error, one line
    tokens: int = 0

    def summary(self) -> dict:
        return {"tagged": self.tagged, "skipped": self.skipped, "failed": self.failed, "tokens": self.tokens}

    def record(self, job: Job, manifest: Manifest, counts: tuple[int, int], error: str, number: int, of: int,
               on_progress: Callable[[dict], None]) -> None:
        """One job's end, in either engine: a failure reported (the other jobs go on), or the output recorded in
        the manifest and reported."""
        if error:
            self.failed[job.target.name] = error
            on_progress({"event": "warning", "message": error})
            return
        manifest.finish(job, *counts)
        self.tagged.append(job.target.name)
        self.tokens += counts[1]
        on_progress({"event": "file", "name": job.target.name, "number": number, "of": of, "tokens": self.tokens,
                     "skipped": len(self.skipped)})


def tag_into(model, source: Path, target: Path, settings: dict) -> tuple[int, int]:
    """Tag the file `source` into `target` with a seqtag.api.Model: written whole or not at all, renamed into place
    only when the input was read to the end. (sentences, tokens). Both engines tag a file with this."""
    counts: dict = {}

    def write(f) -> None:
        for text in model.tag_lines(lines_of(source, settings["replace_invalid"]), settings["input_format"],
                                    settings["output_format"], window=settings["window"], columns=settings["columns"],
                                    output_scheme=settings.get("output_scheme"), workers=settings.get("workers", 1),
                                    source=str(source), counts=counts, split=settings.get("split", True)):
            f.write(text)

    outputs.write_whole(target, write)
    return counts.get("sentences", 0), counts.get("tokens", 0)


def run_local(run: Plan, model, settings: dict, on_progress: Callable[[dict], None] = lambda event: None) -> Outcome:
    """Tag each unfinished job of `run` in this process (with settings["workers"] processes)."""
    outcome = Outcome(skipped=sorted(run.done))
    manifest = Manifest(run)
    todo = run.todo
    for number, job in enumerate(todo, 1):
        manifest.start(job)
        counts, error = tag_or_error(model, job.source, job.target, settings)
        outcome.record(job, manifest, counts, error, number, len(todo), on_progress)
    return outcome


def tag_or_error(model, source: Path, target: Path, settings: dict) -> tuple[tuple[int, int], str]:
    """((sentences, tokens), "") of tag_into, or ((0, 0), the error in one line) where this input is bad: a bad
    input costs its own output only."""
    try:
        return tag_into(model, source, target, settings), ""
    except SeqtagError as error:
        return (0, 0), str(error)


def lines_of(path: Path, replace: bool) -> Iterable[str]:
    """An input file's lines (gunzipped where gzipped), decoded as `seqtag tag` decodes stdin (invalid UTF-8 named
    by file and line)."""
    from seqtag.data import formats
    from seqtag.data.formats.text import open_binary, unreadable

    with open_binary(str(path)) as stream:
        try:
            yield from formats.decode_stream(stream, str(path), replace)
        except (OSError, EOFError, zlib.error) as error:  # a damaged gzipped input
            raise DataError(unreadable(error), path) from None
