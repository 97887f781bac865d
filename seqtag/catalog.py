"""Models by name: `-m en-ner` and `seqtag.load("en-ner")`, and what `seqtag models` lists.

A model is named by a path when one exists there, else by the name of a model bundled with seqtag
(seqtag/bundled/NAME) or of one installed as a package (a `seqtag.models` entry point whose module's folder holds
the model: `seqtag package` builds such wheels). Local models are the model folders in the current folder and in
./models. Nothing here imports torch or numpy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path

from seqtag import bundled, modeldir
from seqtag.errors import DataError

ENTRY_POINTS = "seqtag.models"  # the group under which a model package registers its model


@dataclass(frozen=True)
class Entry:
    name: str
    source: str  # "bundled", "installed" or "local"
    path: Path


def installed() -> dict[str, Path]:
    """The models installed as packages: name -> folder (found without importing the package)."""
    found = {}
    for point in metadata.entry_points(group=ENTRY_POINTS):
        try:
            spec = util.find_spec(point.module)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin:
            found[point.name] = Path(spec.origin).parent
    return found


def local(folder: Path = Path(".")) -> list[Entry]:
    """Model folders in `folder` and in `folder`/models, one level deep."""
    entries = []
    for parent in (folder, folder / "models"):
        try:
            children = sorted(parent.iterdir())
        except OSError:
            continue
        for child in children:
            if child.is_dir() and not child.is_symlink() and (child / "model.json").is_file():
                entries.append(Entry(str(child), "local", child))
    return entries


def entries() -> list[Entry]:
    """Every model seqtag can find by name or in the current folder, bundled first."""
    named = [Entry(name, "bundled", bundled.folder(name)) for name in bundled.names()]
    named += [Entry(name, "installed", path) for name, path in sorted(installed().items())]
    return named + local()


def resolve(model: str | Path) -> Path:
    """The folder of the model named `model`: a path where one exists, else a bundled or installed model's name.
    A name that is neither is refused with the names there are."""
    path = Path(model)
    if path.exists() or os.sep in str(model) or (os.altsep and os.altsep in str(model)):
        return path  # a path (one that does not exist is the model loader's to report)
    name = str(model)
    if name in bundled.names():
        return bundled.folder(name)
    packages = installed()
    if name in packages:
        return packages[name]
    known = bundled.names() + sorted(packages)
    raise DataError(f"no model folder or model named {name!r}; the models by name are: {', '.join(known) or 'none'} "
                    "(seqtag models lists them)")


def recipe(path: Path) -> dict:
    """A model folder's recipe.json (what a bundled model was built from, its licence and scores); {} if none."""
    try:
        document = json.loads((path / modeldir.RECIPE_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def folder_size(path: Path) -> int:
    return sum(child.stat().st_size for child in path.iterdir() if child.is_file())


def describe(entry: Entry) -> dict:
    """What `seqtag models` shows of a model: its task, labels, data, test score, size and licence (from its
    recipe.json where it has one, else from its model.json)."""
    try:
        document = modeldir.read_model_json(entry.path)
    except DataError as error:
        return {"name": entry.name, "source": entry.source, "path": str(entry.path), "error": str(error)}
    card = recipe(entry.path)
    metrics = document.get("metrics") if isinstance(document.get("metrics"), dict) else {}
    scored = card.get("scores", {}).get("shipped") or metrics.get("test") or metrics.get("dev") or {}
    metric = scored.get("metric")
    train = document.get("training", {}).get("data", {}).get("train", {}) if isinstance(
        document.get("training"), dict) else {}
    return {
        "name": entry.name, "source": entry.source, "path": str(entry.path),
        "kind": document.get("kind"), "task": card.get("task") or f"{document.get('kind')} {document.get('layer')}",
        "labels": len(document.get("labels") or []),
        "data": card.get("data") or (Path(train["path"]).name if train.get("path") else "not recorded"),
        "score": {"metric": metric, "value": scored.get(metric), "on": card.get("test") or (
            "test" if metrics.get("test") else "dev")} if metric in scored else None,
        "size_bytes": folder_size(entry.path),
        "licence": card.get("licence") or "not stated",
    }
