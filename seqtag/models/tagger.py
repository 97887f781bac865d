"""The Tagger interface every model implements, and the one model-directory format they all share.

A model directory holds `model.json` (format version, kind, labels, vocabularies, configuration, training data,
metrics: plain JSON) and its weights: `weights.pt` for the BiLSTM (a dict of tensors, read with
`torch.load(weights_only=True)`) or `weights.npz` for the baselines (numpy arrays, read with `allow_pickle=False`,
so tagging with a baseline never imports torch). Nothing is pickled, so loading a model runs no code from it. Directories are written to a temporary sibling and renamed into
place, so a crash never leaves a half-written model where a good one was.
"""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from seqtag.version import __version__
from seqtag.data.corpus import Sentence
from seqtag.errors import DataError, ModelFormatError
from seqtag import durable, modeldir
from seqtag.data.labels import Scheme

from seqtag.modeldir import FORMAT, FORMAT_VERSION, WEIGHTS_NPZ, WEIGHTS_PT


@dataclass
class TrainRun:
    """How a trainer runs, beside the data and the configuration."""

    output: Path | None = None  # a kind that trains in epochs saves the best model here after each; None: memory only
    info: dict = field(default_factory=dict)  # the model.json fields those saves write
    resume: bool = False  # continue from output's checkpoint
    on_progress: Callable[[dict], None] | None = None


@dataclass
class Trained:
    """What a trainer returns: the tagger and what the model directory keeps about its training."""

    tagger: Any  # a Tagger
    files: dict[str, Any] = field(default_factory=dict)  # extra files, e.g. train_log.jsonl, checkpoint.pt
    training: dict = field(default_factory=dict)  # merged into model.json's "training"
    interrupted: str | None = None  # interrupted after an epoch was saved: what was kept
    # Where the model was fitted on dev after training (the context layer, --refit): dev scored by what had not
    # learned from it, with report["estimate"] saying how (seqtag.data.evaluation.figure_name).
    dev_report: dict | None = None


class Predictor(ABC):
    """What tagging, evaluation and comparison see of a model: it predicts one label layer. The PyTorch/numpy
    taggers and the ONNX runtime implement it; optional capabilities (probabilities, n-best) say so when absent."""

    kind: ClassVar[str]
    nbest_score: ClassVar[str] = "prob"  # what the number beside each n-best sequence is

    def __init__(self, layer: str, scheme: Scheme, labels: Sequence[str], features: Sequence[str] = ()):
        self.layer = layer
        self.scheme = scheme  # the scheme predictions are given in (that of the training data)
        self.labels = list(labels)
        self.features = tuple(features)  # input layers the model reads besides the tokens, e.g. ("pos",)
        self.train_words: set[str] = set()  # segmentation: the training set's words, for OOV recall

    @abstractmethod
    def predict(self, sentences: Sequence[Sentence]) -> list[list[str]]:
        """One label per token for each sentence, in input order."""

    def predict_confidence(self, sentences: Sequence[Sentence]) -> list[tuple[list[str], list[float]]]:
        """Labels with a per-token probability; only models with a probabilistic output layer have it."""
        raise DataError(f"--probs needs a BiLSTM model; this is a {self.kind} model")

    def predict_nbest(self, sentences: Sequence[Sentence], n: int) -> list[list[tuple[list[str], float]]]:
        """The n best label sequences per sentence, each with its score (see `nbest_score`); CRF and HMM models."""
        raise DataError(f"--nbest needs a BiLSTM-CRF or HMM model; this is a {self.kind} model")

    def before_fork(self) -> None:
        """Called before worker processes fork from this one (tag --workers): let go of what must not be shared
        across fork (the ONNX runtime's session)."""

    @abstractmethod
    def known(self, token: str) -> bool:
        """Whether the token was seen in training (for out-of-vocabulary scores)."""

    def check_features(self, sentences: Sequence[Sentence]) -> None:
        for sentence in sentences:
            for feature in self.features:
                if feature not in sentence.labels:
                    origin = sentence.origin
                    raise DataError(
                        f"the model reads input column {feature!r}, which this input lacks",
                        origin.path if origin else None,
                        origin.line if origin else None,
                    )


class Tagger(Predictor):
    """A model that saves to and loads from a model directory (seqtag.kinds registers one per kind)."""

    def vectors(self, corpora: dict[str, Iterable[Sentence]]) -> dict | None:
        """Where the model reads pretrained word vectors: their source and size, and how much of each corpus they
        cover (model.json's training.vectors); None without vectors."""
        return None

    @abstractmethod
    def to_state(self) -> tuple[dict, dict[str, Any]]:
        """(JSON-able metadata, tensors) that `from_state` rebuilds the tagger from."""

    @classmethod
    @abstractmethod
    def from_state(cls, meta: dict, tensors: dict[str, Any], device: str = "cpu") -> Tagger: ...


# ---------------------------------------------------------------------------------------------------- saving


def save_model(tagger: Tagger, path: str | Path, info: dict, extra: dict[str, Any] | None = None,
               tensors: dict[str, Any] | None = None) -> None:
    """Write a model directory atomically. `extra` maps file names to str (text) or tensor dicts (torch.save);
    `tensors` replaces the tagger's current weights (training saves its best weights while it goes on)."""
    path = Path(os.path.realpath(path)) if Path(path).is_symlink() else Path(path)  # a link keeps pointing here
    meta, current = tagger.to_state()
    tensors = current if tensors is None else tensors
    numpy_weights = all(isinstance(v, np.ndarray) for v in tensors.values())
    document = model_document(tagger, info, meta, WEIGHTS_NPZ if numpy_weights else WEIGHTS_PT)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        durable.recover_interrupted_swap(path)
        durable.remove_dead_staging(path.parent, path.name)  # left by a killed save, not another one under way
        staging = durable.staging_folder(path)
    except OSError as e:
        raise DataError(f"cannot write the model: {e.strerror}", path) from None
    try:
        (staging / "model.json").write_text(modeldir.dumps(document), "utf-8")
        if numpy_weights:
            with open(staging / WEIGHTS_NPZ, "wb") as f:
                np.savez(f, **tensors)
        else:
            import torch

            torch.save(tensors, staging / WEIGHTS_PT)
        for name, content in (extra or {}).items():
            if isinstance(content, str):
                (staging / name).write_text(content, "utf-8")
            else:
                import torch

                torch.save(content, staging / name)
        durable.replace_folder(staging, path)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise DataError(f"cannot write the model: {e.strerror}", path) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def model_document(tagger: Tagger, info: dict, meta: dict | None = None, weights: str | None = None) -> dict:
    """What model.json holds for a tagger: format, versions, kind, labels, the tagger's metadata, and `info`
    (configuration, training data, metrics)."""
    if meta is None or weights is None:
        meta, tensors = tagger.to_state()
        weights = WEIGHTS_NPZ if all(isinstance(v, np.ndarray) for v in tensors.values()) else WEIGHTS_PT
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "seqtag_version": __version__,
        "torch_version": _version_of("torch"),
        "numpy_version": np.__version__,
        "weights": weights,
        "kind": tagger.kind,
        "layer": tagger.layer,
        "scheme": tagger.scheme.value,
        "labels": tagger.labels,
        "features": list(tagger.features),
        "train_words": sorted(tagger.train_words),
        "tagger": meta,
        **info,
    }


def resolved_config(document: dict) -> dict:
    """A model's configuration with the settings left to the corpus size and device (None in the run's config)
    as the run resolved them, for people to read (`seqtag info`, the report's model card)."""
    training = document.get("training", {})
    tagger = document.get("tagger") if isinstance(document.get("tagger"), dict) else {}
    resolved = {"model": tagger.get("config") or {}, "training": training}
    config = {}
    for section, values in document.get("config", {}).items():
        if isinstance(values, dict):
            values = {k: resolved.get(section, {}).get(k) if v is None else v for k, v in values.items()}
        config[section] = values
    return config


def load_weights(folder: Path, document: dict, name: str = WEIGHTS_PT, device: str = "cpu") -> dict:
    """A model folder's weights (load_tensors), with the tables a compact model keeps only in its graph
    (seqtag.runtime.compact: model.json's compact.tables_in_graph) read from there."""
    tensors = load_tensors(folder / name, device)
    compact = document.get("compact")
    if isinstance(compact, dict) and compact.get("tables_in_graph"):
        tensors = {**tensors, **graph_tables(folder, compact["tables_in_graph"])}
    return tensors


def check_shapes(network, tensors: dict, optional: set[str] = frozenset()) -> None:
    """That the weights hold every tensor of `network` (built as model.json describes it; on the meta device it
    takes no memory) in its shape, `optional` ones aside; ValueError naming the first that differs."""
    for name, expected in network.state_dict().items():
        found = tensors.get(name)
        if found is None and name in optional:
            continue
        if found is None or tuple(found.shape) != tuple(expected.shape):
            raise ValueError(f"model.json describes {name} as {tuple(expected.shape)}, the weights hold "
                             f"{'none' if found is None else tuple(found.shape)}")


def load_tensors(path: Path, device: str = "cpu") -> dict:
    """A weights or checkpoint file as a dict of arrays/tensors. torch files are read with weights_only=True and
    numpy files without pickle, so a planted payload is refused unrun; any damage is a ModelFormatError."""
    import pickle
    import warnings
    import zipfile

    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                tensors = {key: archive[key] for key in archive.files}
        else:
            import torch

            with warnings.catch_warnings():  # torch warns about the unsafe file before refusing it: one line is enough
                warnings.simplefilter("ignore")
                tensors = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise ModelFormatError(f"{path.name} is missing", path.parent) from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile, KeyError,
            TypeError, AttributeError, ImportError, IndexError, UnicodeDecodeError) as e:
        why = _why_unreadable(e)
        raise ModelFormatError(f"{path.name} is corrupt or unsafe, refused: {why}", path.parent) from None
    if not isinstance(tensors, dict):
        raise ModelFormatError(f"{path.name} does not hold a dict of tensors", path.parent)
    return tensors


def _why_unreadable(error: Exception) -> str:
    """torch's messages run to a paragraph; the user needs one clause."""
    text = str(error).strip()
    if "Weights only load failed" in text:
        return "it holds pickled objects, not only tensors (not run)"
    if "zip archive" in text or "central directory" in text or isinstance(error, EOFError):
        return "truncated, or not a file seqtag wrote"
    first = text.splitlines()[0].split(". ")[0] if text else type(error).__name__
    return first[:200]


def _version_of(package: str) -> str | None:
    """A library's version without importing it (importing torch costs a second)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None



def graph_tables(folder: Path, names) -> dict:
    """{weight name: tensor} for the tables `names` maps to initializers of the folder's model.onnx."""
    import onnx
    import torch
    from onnx import numpy_helper

    if not isinstance(names, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
        raise ModelFormatError("model.json's compact.tables_in_graph must map weight names to graph names", folder)
    try:
        graph = onnx.load(str(folder / modeldir.ONNX_FILE))
    except Exception as error:  # onnx raises many types for a damaged or missing file
        raise ModelFormatError(f"this compact model keeps {', '.join(names)} in model.onnx, which cannot be read "
                               f"({type(error).__name__})", folder) from None
    found = {init.name: init for init in graph.graph.initializer if init.name in names.values()}
    missing = [key for key, value in names.items() if value not in found]
    if missing:
        raise ModelFormatError(f"model.onnx lacks {', '.join(missing)}, which this compact model keeps there", folder)
    return {key: torch.from_numpy(numpy_helper.to_array(found[value]).copy()) for key, value in names.items()}
