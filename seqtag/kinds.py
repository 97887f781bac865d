"""The one registry of model kinds: KINDS maps each kind to its predictor, its trainer and its own options.

Everything that lists kinds derives from this table: `train --model` and the options it accepts, `compare --models`,
`bench`, model loading, and the parametrized tests. Adding a kind is one class (a Tagger with a trainer) plus one
entry here. Classes are named as "module:attribute" strings, so reading this table imports no torch.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqtag import schedule
from seqtag.errors import DataError


@dataclass(frozen=True)
class Option:
    """One setting a kind takes, with its command-line flag. `key` says where the value goes in the run's
    configuration: ("model", NAME) or ("training", NAME) in config, ("features",), or a run setting ("stream",),
    ("config_file",)."""

    name: str  # keyword in seqtag.train(...) and parameter name of `seqtag train`
    flag: str
    type: type
    help: str
    key: tuple[str, ...]
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    above: float | None = None  # the value must be greater than this

    def check(self, value: Any) -> Any:
        """The value, checked as the command line checks it (the Python API passes values unchecked)."""
        expected = (int, float) if self.type is float else (str, Path) if self.type is Path else self.type
        if self.name == "features" and isinstance(value, (list, tuple)):
            expected = (list, tuple)
        if not isinstance(value, expected) or (self.type is int and isinstance(value, bool)):
            raise DataError(f"{self.flag} takes a {self.type.__name__}, not {value!r}")
        if isinstance(value, float) and not math.isfinite(value):  # nan passes every comparison below
            raise DataError(f"{self.flag} must be a finite number, not {value}")
        if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
            span = f"from {self.minimum}" + (f" to {self.maximum}" if self.maximum is not None else " up")
            raise DataError(f"{self.flag} must be {span}, not {value}")
        if self.above is not None and value <= self.above:
            raise DataError(f"{self.flag} must be above {self.above:g}, not {value}")
        if self.choices and value not in self.choices:
            raise DataError(f"{self.flag} must be one of {', '.join(self.choices)}, not {value!r}")
        return value


@dataclass(frozen=True)
class Kind:
    name: str
    summary: str
    predictor: str  # "module:Class", a seqtag.tagger.Tagger
    trainer: str  # "module:callable": (train, dev, layer, config, run=TrainRun) -> Trained, or a bare Tagger
    options: tuple[Option, ...] = ()
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # compare's names -> [model] settings
    bench: Mapping[str, Any] = field(default_factory=dict)  # settings of the short run `seqtag bench` trains
    capabilities: frozenset[str] = frozenset()  # "probs", "nbest", "onnx", "stream", "auto" (--model auto tries it)
    resolver: str | None = None  # "module:callable": config -> the full, checked config (defaults filled in)

    def predictor_class(self):
        return _resolve(self.predictor)

    def trainer_function(self):
        return _resolve(self.trainer)

    def resolve(self, config: dict) -> dict:
        """The configuration this kind trains with, checked before any data is read."""
        if self.resolver:
            return _resolve(self.resolver)(config)
        resolved: dict = {}
        for option in self.options:
            if len(option.key) == 2 and config.get(option.key[0], {}).get(option.key[1]) is not None:
                resolved.setdefault(option.key[0], {})[option.key[1]] = config[option.key[0]][option.key[1]]
        return resolved

    def train(self, train, dev, layer: str, config: dict, run):
        """Train with this kind's trainer: a seqtag.tagger.Trained."""
        result = self.trainer_function()(train, dev, layer, config, run=run)
        return result if isinstance(result, Trained) else Trained(result)

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)


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

    tagger: Any  # a seqtag.tagger.Tagger
    files: dict[str, Any] = field(default_factory=dict)  # extra files, e.g. train_log.jsonl, checkpoint.pt
    training: dict = field(default_factory=dict)  # merged into model.json's "training"
    interrupted: str | None = None  # interrupted after an epoch was saved: what was kept


def _resolve(target: str):
    module, _, attribute = target.partition(":")
    value = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


SEED = Option("seed", "--seed", int, "Random seed (taken by every kind, so one command line fits all; the majority "
              "and HMM baselines are deterministic).", ("training", "seed"), 0, 2**32 - 1)
_ON_GPU = f"on a GPU from {schedule.GPU_SCHEDULE_FROM:,} training tokens"
_ON_CPU = f"on a CPU from {schedule.CPU_SCHEDULE_FROM:,} training tokens"
MAX_EPOCHS = Option("max_epochs", "--max-epochs", int, "Most epochs (passes over the training data; BiLSTM "
                    f"default {schedule.MAX_EPOCHS}, {schedule.CPU_SCHEDULE['max_epochs']} {_ON_CPU}, "
                    f"{schedule.GPU_SCHEDULE['max_epochs']} {_ON_GPU}).",
                    ("training", "max_epochs"), 1)

BILSTM_OPTIONS = (
    SEED,
    MAX_EPOCHS,
    Option("decoder", "--decoder", str, "Output layer.", ("model", "decoder"), choices=("crf", "softmax")),
    Option("cell", "--cell", str, "Recurrent cell.", ("model", "cell"), choices=("lstm", "gru")),
    Option("layers", "--layers", int, f"Stacked BiLSTM layers (default {schedule.LAYERS}, "
           f"{schedule.CPU_SCHEDULE['layers']} {_ON_CPU}).", ("model", "layers"), 1, 16),
    Option("hidden", "--hidden", int, f"Hidden units per direction (default {schedule.HIDDEN}, "
           f"{schedule.CPU_SCHEDULE['hidden']} {_ON_CPU}).", ("model", "hidden"), 1, 8192),
    Option("char_encoder", "--char-encoder", str, "Character encoder (default auto: a BiLSTM on a corpus under "
           "80,000 tokens, the CNN from there).", ("model", "char_encoder"), choices=("auto", "cnn", "lstm", "none")),
    Option("document_window", "--document-window", int, "Tokens of a document the network reads at once: "
           "neighbouring sentences together, up to this many (0: each sentence alone; default "
           f"{schedule.DOCUMENT_WINDOW}, {schedule.CPU_SCHEDULE['document_window']} {_ON_CPU}).",
           ("model", "document_window"), 0),
    Option("features", "--features", str, "Extra input columns, comma-separated, e.g. pos.", ("features",)),
    Option("embeddings", "--embeddings", Path, "Pretrained word vectors: an installed package (glove-6b-50d, with "
           "seqtag-nlp[glove]) or a file (GloVe, word2vec text or binary, fastText .vec; gzipped or not). Their words "
           "keep their vectors at tag time, also those training never saw.", ("model", "embeddings")),
    Option("patience", "--patience", int, "Epochs without a better dev score before stopping.",
           ("training", "patience"), 1),
    Option("plateau", "--plateau", int, "Halve the learning rate each time this many epochs in a row bring no "
           "better dev score (0: off, the default).", ("training", "plateau"), 0),
    Option("min_updates", "--min-updates", int, "Optimizer steps before --patience may stop training (default "
           "300).", ("training", "min_updates"), 0),
    Option("batch_size", "--batch-size", int, f"Padded tokens per batch (default: {schedule.BATCH_TOKENS}, fewer on "
           f"a corpus under {schedule.BATCH_TOKENS * schedule.STEPS:,} tokens; "
           f"{schedule.GPU_SCHEDULE['batch_tokens']:,} {_ON_GPU}).", ("training", "batch_tokens"), 1),
    Option("lr", "--lr", float, f"Learning rate (above 0; default {schedule.LR:g}, "
           f"{schedule.GPU_SCHEDULE['lr']:g} {_ON_GPU}).", ("training", "lr"), above=0),
    Option("ema", "--ema", float, "Score and keep a moving average of the weights with this decay per step (0: off; "
           f"default: {schedule.EMA_DECAY:g} on a corpus under {schedule.EMA_BELOW:,} tokens, off from there).",
           ("training", "ema"), 0.0, 0.9999),
    Option("hold_out", "--hold-out", int, "Without --dev, hold out every Nth document (or sentence) of the training "
           "data to choose the epoch and fit the context layer (default 0: train on all of it and keep the epoch "
           "with the lowest training loss, which did better on small corpora).", ("training", "hold_out"), 0),
    Option("optimizer", "--optimizer", str, "Optimizer.", ("training", "optimizer"), choices=("adam", "sgd")),
    Option("device", "--device", str, "auto, cpu, cuda or cuda:N.", ("training", "device")),
    Option("config_file", "--config", Path, "TOML file: [model], [training].", ("config_file",)),
    Option("stream", "--stream", bool, "Read the training file from disk every epoch instead of holding it in "
           "memory (for corpora larger than memory).", ("stream",)),
)

def bilstm_choices(section: str) -> dict[str, tuple[str, ...]]:
    """The allowed values of the BiLSTM's choice settings in one section of its configuration ("model" or
    "training"), as the flags above spell them: a TOML file is checked against the same lists."""
    return {option.key[1]: option.choices for option in BILSTM_OPTIONS if option.choices and option.key[0] == section}


KINDS: dict[str, Kind] = {  # in the order compare and bench list them: simplest first
    "majority": Kind("majority", "most frequent label per word (suffix and global fallbacks)",
                     "seqtag.baselines:MajorityTagger", "seqtag.baselines:MajorityTagger.fit", (SEED,)),
    "hmm": Kind("hmm", "second-order HMM with a suffix model for unknown words (TnT)",
                "seqtag.baselines:HMMTagger", "seqtag.baselines:HMMTagger.fit", (SEED,),
                capabilities=frozenset({"nbest", "auto"})),
    "perceptron": Kind("perceptron", "averaged structured perceptron with Viterbi decoding",
                       "seqtag.baselines:PerceptronTagger", "seqtag.baselines:PerceptronTagger.fit",
                       (SEED, MAX_EPOCHS), capabilities=frozenset({"auto"})),
    "bilstm": Kind(
        "bilstm", "BiLSTM with character features and a CRF or softmax output layer",
        "seqtag.bilstm:BiLSTMTagger", "seqtag.training:train_run", BILSTM_OPTIONS,
        variants={"bilstm": {"decoder": "softmax"}, "bilstm-crf": {"decoder": "crf"},
                  # needs seqtag-nlp[glove]: named in --models, not compared by default
                  "bilstm-crf-glove": {"decoder": "crf", "embeddings": "glove-6b-50d"}},
        bench={"max_epochs": 2}, capabilities=frozenset({"probs", "nbest", "onnx", "stream", "auto"}),
        resolver="seqtag.training:resolve_config",
    ),
}


DEFAULT_KIND = "bilstm"  # what `seqtag train` and seqtag.train train unless told otherwise
AUTO = "auto"  # `seqtag train --model auto`: the candidate that does best on dev (seqtag.pipeline.fit_auto)
# the kinds --model auto tries, in KINDS' order (simplest first: a tie goes to the simpler kind)
AUTO_CANDIDATES = tuple(name for name, k in KINDS.items() if "auto" in k.capabilities)


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise DataError(f"unknown model kind {name!r}; expected one of {', '.join(KINDS)}") from None


def variants() -> dict[str, tuple[str, Mapping[str, Any]]]:
    """compare's model names: name -> (kind, [model] settings). A kind without variants is listed by its name."""
    return {name: (k.name, settings) for k in KINDS.values()
            for name, settings in (k.variants or {k.name: {}}).items()}


def compared_by_default() -> list[str]:
    """compare's names that need no optional extra (no pretrained vectors)."""
    return [name for name, (_, settings) in variants().items() if "embeddings" not in settings]


def all_options() -> dict[str, Option]:
    """Every kind's options by name, each once (kinds that share an option share one definition)."""
    found: dict[str, Option] = {}
    for k in KINDS.values():
        for option in k.options:
            if found.setdefault(option.name, option) != option:
                raise TypeError(f"option {option.name!r} is defined twice, differently")
    return found


def refuse_foreign(name: str, given: Mapping[str, Any]) -> None:
    """An option the chosen kind does not take is an error, never silently ignored."""
    chosen = kind(name)
    table = all_options()
    unknown = sorted(set(given) - set(table))
    if unknown:
        raise DataError(f"unknown option(s) {', '.join(unknown)}; options are: {', '.join(sorted(table))}")
    foreign = [table[key].flag for key in given if chosen.option(key) is None]
    if foreign:
        owners = sorted({k.name for k in KINDS.values() for o in k.options if o.flag in foreign})
        what = "is a setting" if len(foreign) == 1 else "are settings"
        raise DataError(f"{', '.join(foreign)} {what} of --model {'/'.join(owners)}; --model {name} has no such "
                        "setting")


def config_from_options(options: Mapping[str, Any]) -> tuple[dict, dict]:
    """(config with [model], [training] and features, run settings such as stream and config_file) from option
    values by name; None values are left out, so defaults and a --config file fill them."""
    table = all_options()
    config: dict = {"model": {}, "training": {}}
    run: dict = {}
    for name, value in options.items():
        if value is None:
            continue
        if name not in table:
            raise DataError(f"unknown option {name!r}; options are: {', '.join(sorted(table))}")
        key = table[name].key
        value = table[name].check(value)
        if key == ("model", "embeddings"):  # checked before any data is read; a file is kept as an absolute path
            from seqtag import vectors  # numpy: imported only when vectors are asked for

            value = vectors.checked_source(value)
        if key == ("features",):
            value = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else list(value)
            config["features"] = value
        elif len(key) == 2:
            config[key[0]][key[1]] = value
        else:
            run[key[0]] = value
    return config, run
