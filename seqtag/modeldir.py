"""A model directory: the files it may hold, and its model.json read and brought up to this version's format.

Plain JSON and file names (no numpy, no torch), so that checking an output folder, `seqtag info` and the layers
below the models read them cheaply. How each kind writes and reads its weights: seqtag.models.tagger.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from seqtag.inputs import regular_file
from seqtag import durable
from seqtag.errors import ModelFormatError
from seqtag.schema import List, Map, Maybe, Number, OneOf, Record, Whole, problem, where

FORMAT = "seqtag-model"
WEIGHTS_PT, WEIGHTS_NPZ = "weights.pt", "weights.npz"
FORMAT_VERSION = 2  # 2: BiLSTM models may hold a context layer (seqtag.models.context); version 1 models still load
# what `seqtag export` adds to a model directory (seqtag.runtime.export writes them)
ONNX_FILE, TORCHSCRIPT_FILE = "model.onnx", "model.torchscript.pt"
INT8_FILE = "model.int8.onnx"  # the ONNX graph with int8 weights (--runtime onnx-int8)
DECODER_FILE = "decoder.npz"  # CRF start/transition/end scores with the scheme's constraints applied
CONTEXT_FILE = "context.npz"  # the fitted context layer (seqtag.models.context): its weight and the label -> type map
EXPORT_FILES = (ONNX_FILE, INT8_FILE, TORCHSCRIPT_FILE, DECODER_FILE, CONTEXT_FILE)
# every file a model directory may hold: replacing a directory of only these loses nothing seqtag did not write
CHECKPOINT_FILE = "checkpoint.pt"  # what --resume continues from (seqtag.training.checkpoint)
TRAIN_LOG_FILE, METRICS_FILE = "train_log.jsonl", "metrics.json"
RECIPE_FILE = "recipe.json"  # how a bundled model was built, its data's terms and scores (benchmarks/build_models.py)
MODEL_FILES = frozenset({"model.json", WEIGHTS_PT, WEIGHTS_NPZ, CHECKPOINT_FILE, TRAIN_LOG_FILE, METRICS_FILE,
                         RECIPE_FILE, *EXPORT_FILES})
# what loading, tagging, exporting and resuming read (the log and the rest cost only a figure where damaged)
LOADED_FILES = ("model.json", WEIGHTS_PT, WEIGHTS_NPZ, CHECKPOINT_FILE, *EXPORT_FILES)


def dumps(document: dict) -> str:
    """model.json's text: indented to read, except its long lists of strings (vocabularies, training words), one
    line each: a vectors model's vocabulary, one indented word a line, would be most of the file."""
    lists: dict[str, list] = {}
    token = secrets.token_hex(8)  # no string of the document can be a mark

    def folded(value):
        if isinstance(value, dict):
            return {key: folded(item) for key, item in value.items()}
        if isinstance(value, list) and len(value) > 16 and all(isinstance(item, str) for item in value):
            mark = f"\0{token}:{len(lists)}\0"
            lists[json.dumps(mark)] = value
            return mark
        return value

    text = json.dumps(folded(document), indent=2, ensure_ascii=False)
    for mark, value in lists.items():
        text = text.replace(mark, json.dumps(value, ensure_ascii=False), 1)
    return text + "\n"


def read_model_json(path: str | Path) -> dict:
    path = Path(path)
    durable.recover_interrupted_swap(path)
    if not path.is_dir():
        raise ModelFormatError("no such model directory", path)
    for name in LOADED_FILES:  # a FIFO or a device among them would block whatever reads it: refused before
        if (path / name).exists() or (path / name).is_symlink():
            regular_file(path / name, ModelFormatError)
    try:
        document = json.loads((path / "model.json").read_text("utf-8"))
    except FileNotFoundError:
        raise ModelFormatError("not a seqtag model: model.json is missing", path) from None
    except (ValueError, RecursionError) as e:  # invalid JSON or UTF-8, an integer of thousands of digits, nesting
        raise ModelFormatError(f"model.json is not valid JSON: {e}", path / "model.json") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFormatError("not a seqtag model (model.json has no \"format\": \"seqtag-model\")", path)
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFormatError(
            f"model format version {version} is newer than this seqtag reads ({FORMAT_VERSION}); "
            f"it was written by seqtag {document.get('seqtag_version', '?')}: upgrade seqtag",
            path,
        )
    found = problem(document, MODEL_JSON)
    if found:
        raise ModelFormatError(f"{where('', found)}: not what seqtag writes; the model "
                               "files were edited or damaged", path / "model.json")
    return upgrade(document)


_SCORE = Number(0, 1)
_FILE_RECORD = Record({"path": str, "bytes": Maybe(Whole()), "sha256": Maybe(str), "sentences": Whole(),
                       "tokens": Whole()})
_SCORES = Record({"metric": OneOf(("accuracy", "f1")), "sentences": Whole(), "tokens": Whole(),
                  "oov_tokens": Whole(),
                  **{name: Maybe(_SCORE) for name in ("accuracy", "oov_accuracy", "precision", "recall", "f1",
                                                       "macro_f1")},
                  "per_type": Map(Map(Number()))}, required=("metric",),
                 also=lambda scores: None if scores.get(scores["metric"]) is not None else
                 f".{scores['metric']} is missing, the metric this record names")
_COUNTS = {"sentences": Whole(), "tokens": Whole()}


def _unless_interrupted(*fields: str):
    """A record that, unless it says the step was interrupted, holds `fields`."""
    return lambda record: None if record.get("interrupted") else next(
        (f"has no {name!r}" for name in fields if name not in record), None)


_SHARE = Record({"with_vector": _SCORE, "unseen": _SCORE, "unseen_with_vector": _SCORE},
                required=("with_vector", "unseen", "unseen_with_vector"))
# What model.json holds, as far as seqtag reads it back; each kind checks its own "tagger" part as it loads it
# (a size there that the weights do not have is a ModelFormatError before the network is built).
MODEL_JSON = Record({
    "weights": str, "kind": str, "layer": str, "scheme": str, "labels": List(str, least=1), "features": List(str),
    "train_words": List(str), "tagger": dict,
    "config": Record({"model": dict, "training": dict, "features": List(str)}),
    "training": Record({
        "data": Map(_FILE_RECORD), "read": dict, "date": str, "best_epoch": Maybe(Whole()), "epochs": Whole(),
        "best_dev_score": Maybe(Number()), "batch_tokens": Whole(1), "lr": Number(0), "ema": Maybe(Number(0, 1)),
        "max_epochs": Whole(), "char_encoder": str, "stopped": str,
        "context_layer": Record({"kept": bool, "held_out_dev_score": Record({"with": _SCORE, "without": _SCORE})},
                                also=_unless_interrupted("kept", "held_out_dev_score")),
        "vectors": Record({"source": str, "words": Whole(), "dim": Whole(), "fine_tuned": bool,
                           "coverage": Map(_SHARE)}, required=("source", "words", "dim", "fine_tuned", "coverage")),
        "selection": Record({"why": str, "dev": str}, required=("why", "dev")),
        "held_out": Record({"dev": str, **_COUNTS}, required=("dev", *_COUNTS)),
        "refit": Record(_COUNTS | {"epochs": Whole()}, also=_unless_interrupted("sentences", "epochs"))},
        also=lambda training: None if "char_encoder" not in training or "batch_tokens" in training else
        "has no 'batch_tokens'"),
    "metrics": Map(_SCORES),
    "compact": Record({"pretrained_words": Whole(), "pretrained_words_before": Whole(), "precision": str,
                       "tables_in_graph": dict}),
}, required=("kind", "labels"))


# Settings added to BiLSTM models after some were saved without them: what those models were trained with.
OLDER_BILSTM_SETTINGS = {"document_window": 0, "corpus_mention_count": True}


def upgrade(document: dict) -> dict:
    """The one place that brings an older model.json up to FORMAT_VERSION, step by step, and fills in the BiLSTM
    settings added since, so that both runtimes read a saved model as it was trained."""
    config = document.get("tagger", {}).get("config") if isinstance(document.get("tagger"), dict) else None
    if document.get("kind") == "bilstm" and isinstance(config, dict):
        if document["format_version"] < 2:
            config.setdefault("context", False)  # models from before the context layer have none
        for name, value in OLDER_BILSTM_SETTINGS.items():
            config.setdefault(name, value)
        run = document.get("config", {}).get("training")
        if isinstance(run, dict):  # a run saved before weight averaging existed had none: --resume goes on without
            run.setdefault("ema", 0.0)
    read = document.get("training", {}).get("read") if isinstance(document.get("training"), dict) else None
    if isinstance(read, dict) and "fmt" in read:  # the reading options' format was saved as "fmt" until 0.1.0
        read["format"] = read.pop("fmt")
    return document


# a training log's record, as far as seqtag reads it back (the report's curves, train's dev sparkline)
TRAIN_LOG_RECORD = {"epoch": Whole(1), "loss": Number(), "dev_score": Number(), "best_epoch": Whole(0),
                    "dev": Record({"metric": str}, required=("metric",))}
MAX_TRAIN_LOG = 64 * 2 ** 20  # bytes: far more than any number of epochs writes; a larger file is not a log


def read_train_log(path: str | Path, required: tuple[str, ...] = ("epoch", "dev_score", "best_epoch")) -> list[dict]:
    """A model directory's training log, one record per epoch; empty where there is none, and where it is damaged
    (not a regular file, over MAX_TRAIN_LOG bytes, not JSON Lines, or a record that lacks a `required` key or does
    not fit TRAIN_LOG_RECORD), with a warning naming the file and what is wrong: a damaged log costs a figure, never
    the model."""
    import stat
    import warnings

    from seqtag.errors import SeqtagWarning

    log = Path(path) / TRAIN_LOG_FILE
    shape = Record(TRAIN_LOG_RECORD, required=required)
    try:
        status = log.stat()
        if not stat.S_ISREG(status.st_mode):  # a FIFO would block the read
            found = "it is not a regular file"
        elif status.st_size > MAX_TRAIN_LOG:
            found = f"it is over {MAX_TRAIN_LOG:,} bytes"
        else:
            numbered = [(number, json.loads(line))
                        for number, line in enumerate(log.read_text("utf-8").splitlines(), 1) if line.strip()]
            records = [record for _, record in numbered]
            found = next((f"line {number}: {where('the record', wrong)}" for number, record in numbered
                          if (wrong := problem(record, shape))), None)
    except FileNotFoundError:
        return []
    except (ValueError, OSError, RecursionError) as error:
        found = f"it cannot be read as JSON Lines ({type(error).__name__})"
    if found is None:
        return records
    warnings.warn(SeqtagWarning(f"{log}: {found}; the training curve is left out"))
    return []


def in_sample_warning(document: dict, gold: str | Path) -> str | None:
    """A warning where `gold` is the dev file the context layer of the model `document` describes was fitted on:
    scored there, the model is scored on data it was fitted on (seqtag.api.fitted_on_gold). None otherwise."""
    training = document.get("training", {})
    dev = training.get("data", {}).get("dev", {}).get("path")
    if not (training.get("context_layer") or {}).get("kept") or dev is None or gold == "-":
        return None
    if Path(dev).resolve() != Path(gold).resolve():
        return None
    held_out = document.get("metrics", {}).get("dev", {})
    estimate = f" (training's held-out estimate: {100 * held_out[held_out['metric']]:.2f})" if held_out else ""
    return (f"{gold} is the dev file this model's context layer was fitted on: its score there is in-sample, "
            f"higher than on unseen text{estimate}")
