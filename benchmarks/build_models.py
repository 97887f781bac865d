"""Rebuild the bundled models (seqtag/bundled/NAME) from the corpora in ../shared/corpora.

    python benchmarks/build_models.py [NAME ...] [--corpora DIR] [--work DIR] [--stage train|ship|all]

For each model: train it at full size into WORK/NAME (skipped where a finished run is there; a killed run is
resumed), make its shipped form (seqtag.runtime.compact: the vocabulary cut, half-precision weights, the ONNX
graph), score both on the test set, and write the recipe (the commands, the data's sha256, the versions, the scores
and sizes at full and shipped size) into the shipped folder as recipe.json. Rebuild only when a recipe or the
model format changes: each rebuild adds the models' size to the repository's history.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seqtag import bundled  # noqa: E402
from seqtag.bundled import RECIPES  # noqa: E402  (the recipes live with the models they describe)

SHOWN_CORPORA = "../shared/corpora"  # how a recipe names the corpora folder (the project's layout)
SCORE_KEYS = ("metric", "sentences", "tokens", "f1", "precision", "recall", "accuracy", "oov_accuracy",
              "oov_recall", "per_type")


def run(command: list[str], log: Path) -> float:
    print("+", " ".join(command), flush=True)
    started = time.perf_counter()
    with open(log, "a", encoding="utf-8") as out:
        subprocess.run(command, check=True, stdout=out, stderr=subprocess.STDOUT)
    return time.perf_counter() - started


def train(name: str, corpora: Path, work: Path) -> None:
    recipe = RECIPES[name]
    full = work / name
    if (full / "metrics.json").exists() and not (full / "checkpoint.pt").exists():
        print(f"{name}: {full} is trained; skipped", flush=True)
        return
    resume = (full / "checkpoint.pt").exists()
    command = ["seqtag", "train", *recipe.train_args(corpora), "-o", str(full)]
    if resume:
        command = ["seqtag", "train", "-o", str(full), "--resume"]
    seconds = run(command, work / f"{name}.log")
    (work / f"{name}.train_seconds").write_text(f"{seconds:.0f}\n")
    (full / "checkpoint.pt").unlink(missing_ok=True)  # finished: nothing left to resume


def score(model: Path, gold: Path) -> dict:
    import seqtag

    report = seqtag.load(model).evaluate(gold)
    return {key: report[key] for key in SCORE_KEYS if key in report}


def relative_data(training: dict, corpora: Path) -> dict:
    """The training record with the corpora's paths as the recipe shows them (not this machine's)."""
    training = json.loads(json.dumps(training))
    for record in training.get("data", {}).values():
        path = Path(record["path"]).resolve()
        if path.is_relative_to(corpora.resolve()):
            record["path"] = f"{SHOWN_CORPORA}/{path.relative_to(corpora.resolve()).as_posix()}"
    return training


def folder_bytes(path: Path) -> int:
    return sum(child.stat().st_size for child in path.iterdir() if child.is_file())


def ship(name: str, corpora: Path, work: Path) -> None:
    """The shipped form of WORK/NAME into seqtag/bundled/NAME, scored on test beside the full model, with its
    recipe.json."""
    from seqtag import modeldir
    from seqtag.runtime.compact import compact

    recipe, full = RECIPES[name], work / name
    staging = work / f"{name}-shipped"
    shutil.rmtree(staging, ignore_errors=True)
    document = modeldir.read_model_json(full)
    compact(full, staging, recipe.vocabulary_cut, training=relative_data(document["training"], corpora))
    test = recipe.test_file(corpora)
    scores = {"full": score(full, test), "shipped": score(staging, test)}
    seconds = work / f"{name}.train_seconds"
    card = {
        "name": name, "task": recipe.task, "description": recipe.description, "data": recipe.data,
        "licence": recipe.licence, "test": f"{SHOWN_CORPORA}/{recipe.test}",
        "commands": {"train": " ".join(["seqtag", "train", *recipe.train_args(Path(SHOWN_CORPORA)), "-o", name]),
                     "build": f"python benchmarks/build_models.py {name}"},
        "data_files": {role: {key: record[key] for key in ("path", "bytes", "sha256") if key in record}
                       for role, record in relative_data(document["training"], corpora)["data"].items()},
        "vocabulary_cut": recipe.vocabulary_cut,
        "versions": {"seqtag": document["seqtag_version"], "torch": document["torch_version"],
                     "onnxruntime": _version("onnxruntime"), "numpy": _version("numpy"),
                     "python": platform.python_version()},
        "scores": scores,
        "sizes": {"full_bytes": folder_bytes(full), "shipped_bytes": folder_bytes(staging)},
        "train_seconds": float(seconds.read_text()) if seconds.exists() else None,
        "built": time.strftime("%Y-%m-%d"),
    }
    (staging / modeldir.RECIPE_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", "utf-8")
    target = bundled.folder(name)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(staging, target)
    print(f"{name}: full {scores['full'][scores['full']['metric']]:.4f} ({card['sizes']['full_bytes'] / 1e6:.1f} MB), "
          f"shipped {scores['shipped'][scores['shipped']['metric']]:.4f} ({card['sizes']['shipped_bytes'] / 1e6:.1f} MB)",
          flush=True)


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def sweep(name: str, corpora: Path, work: Path, cuts: list[int]) -> None:
    """Dev score and folder size of the shipped form at each vocabulary cut (how the cut was chosen)."""
    from seqtag.runtime.compact import compact

    recipe, full = RECIPES[name], work / name
    dev = next(Path(a) for flag, a in zip(recipe.train_args(corpora), recipe.train_args(corpora)[1:]) if flag == "--dev")
    print(f"{name}: full size, dev {score(full, dev)}", flush=True)
    for cut in cuts:
        staging = work / f"{name}-cut{cut}"
        shutil.rmtree(staging, ignore_errors=True)
        compact(full, staging, cut)
        result = score(staging, dev)
        print(json.dumps({"cut": cut, "dev": result[result["metric"]], "oov": result.get("oov_accuracy"),
                          "bytes": folder_bytes(staging)}), flush=True)
        shutil.rmtree(staging)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=list(RECIPES))
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bundled")
    parser.add_argument("--stage", choices=("train", "ship", "all"), default="all")
    parser.add_argument("--sweep", help="Comma-separated vocabulary cuts: score each on dev, build nothing.")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        if args.sweep:
            sweep(name, args.corpora, args.work, [int(cut) for cut in args.sweep.split(",")])
            continue
        if args.stage in ("train", "all"):
            train(name, args.corpora, args.work)
        if args.stage in ("ship", "all"):
            ship(name, args.corpora, args.work)


if __name__ == "__main__":
    main()
