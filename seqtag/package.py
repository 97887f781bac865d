"""`seqtag package`: a model folder as a wheel that registers it by name.

The wheel holds one Python package, `seqtag_model_<name>`, whose folder is the model folder (the files seqtag
wrote there, less the resume checkpoint), and a `seqtag.models` entry point NAME naming that package; once it is
installed, `-m NAME`, `seqtag.load("NAME")` and `seqtag models` find it (seqtag.catalog). The wheel is built by
setuptools' PEP 517 backend from a generated pyproject.toml, in a child process, with no network.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from seqtag import bundled, catalog, modeldir
from seqtag.errors import DataError

NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
VERSION = re.compile(r"\d+(\.\d+){0,3}")  # a plain release number: what a model's version needs
SHIPPED = sorted(modeldir.MODEL_FILES - {modeldir.CHECKPOINT_FILE})  # what tagging, info and report read


def module_name(name: str) -> str:
    return "seqtag_model_" + name.replace("-", "_")


def package(model: str | Path, output: str | Path, name: str | None = None, version: str = "1.0.0",
            overwrite: bool = False) -> Path:
    """`seqtag package` (seqtag.api.package): a wheel of `model` (a folder or a model's name) in the folder `output`
    that registers it as `name`, found by `seqtag.load(name)` once installed. Returns the wheel's path."""
    for label, value, types in (("model", model, (str, Path)), ("output", output, (str, Path)),
                                ("name", name, (str, type(None))), ("version", version, (str,)),
                                ("overwrite", overwrite, (bool,))):
        if not isinstance(value, types) or (types != (bool,) and value == ""):
            raise DataError(f"{label} must be {' or '.join(t.__name__ for t in types)}, not {value!r}")
    source = catalog.resolve(model)
    document = modeldir.read_model_json(source)
    name = name or source.name.lower()
    if not NAME.fullmatch(name):
        raise DataError(f"--name {name!r}: a model's name is lowercase letters, digits and inner hyphens (at most 64)")
    if name in bundled.RECIPES:
        raise DataError(f"--name {name!r} is a bundled model's name, which -m {name} would find first; choose another")
    if not VERSION.fullmatch(version):
        raise DataError(f"--version {version!r}: give a release number such as 1.0.0")
    if importlib.util.find_spec("setuptools") is None:
        raise DataError("seqtag package builds wheels with setuptools: pip install 'seqtag-nlp[package]'")
    output = Path(output)
    distribution = f"seqtag_model_{name.replace('-', '_')}-{version}-py3-none-any.whl"
    if (output / distribution).exists() and not overwrite:
        raise DataError("exists; --overwrite replaces it", output / distribution)
    if output.exists() and not output.is_dir():
        raise DataError("-o names a file; give a folder for the wheel", output)
    with tempfile.TemporaryDirectory(prefix="seqtag-package-") as scratch:
        project = Path(scratch) / "project"
        _write_project(project, source, document, name, version)
        built = Path(scratch) / "wheel"
        built.mkdir()
        process = subprocess.run(
            [sys.executable, "-c", "import sys; from setuptools import build_meta; "
             "print(build_meta.build_wheel(sys.argv[1]))", str(built)],
            cwd=project, capture_output=True, text=True)
        if process.returncode != 0:
            reason = (process.stderr.strip().splitlines() or ["no message"])[-1]
            raise DataError(f"setuptools could not build the wheel: {reason}", source)
        wheel = built / process.stdout.strip().splitlines()[-1]
        output.mkdir(parents=True, exist_ok=True)
        staged = output / f".{wheel.name}.tmp"
        shutil.copyfile(wheel, staged)
        staged.replace(output / wheel.name)  # whole or not at all
    return output / wheel.name


def _write_project(project: Path, source: Path, document: dict, name: str, version: str) -> None:
    module = module_name(name)
    (project / module).mkdir(parents=True)
    for file in SHIPPED:
        if (source / file).is_file():
            shutil.copyfile(source / file, project / module / file)
    recipe = catalog.recipe(source)
    summary = recipe.get("description") or f"seqtag {document.get('kind')} model for {document.get('layer')}"
    (project / module / "__init__.py").write_text(
        f'"""{_one_line(summary)}: a seqtag model (seqtag tag -m {name}); this folder is the model folder."""\n',
        "utf-8")
    licence = recipe.get("licence") or "not stated"
    (project / "README.md").write_text(
        f"# {name}\n\n{summary}\n\nData terms: {licence}\n\nInstalled, it is used as `seqtag tag -m {name}` or "
        f"`seqtag.load({name!r})`.\n", "utf-8")
    pyproject = {
        "name": f"seqtag-model-{name}", "version": version, "description": _one_line(summary),
        "readme": "README.md", "requires-python": ">=3.10",
        "dependencies": [f"seqtag-nlp>={document.get('seqtag_version', '0')}"],
    }
    lines = ["[build-system]", 'requires = ["setuptools>=64"]', 'build-backend = "setuptools.build_meta"', "",
             "[project]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in pyproject.items()]
    lines += ["", '[project.entry-points."seqtag.models"]', f"{json.dumps(name)} = {json.dumps(module)}", "",
              "[tool.setuptools]", f"packages = [{json.dumps(module)}]", "",
              "[tool.setuptools.package-data]", f"{module} = {json.dumps(SHIPPED)}", ""]
    (project / "pyproject.toml").write_text("\n".join(lines), "utf-8")


def _one_line(text: str) -> str:
    return " ".join(str(text).split()).replace('"', "'")[:200]
