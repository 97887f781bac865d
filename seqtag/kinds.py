"""The one registry of model kinds: KINDS maps each kind to its predictor, its trainer, its own settings and what
it can do.

Everything that lists kinds derives from this table: `train --model` and the options it accepts, `compare --models`,
`bench`, model loading, and the parametrized tests. Adding a kind is one class (a Tagger with a trainer), its
settings dataclass where it has its own (seqtag.settings), plus one entry here; callers ask a kind's capabilities
(`can`), never its name. Classes are named as "module:attribute" strings, so reading this table imports no torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seqtag import settings
from seqtag.errors import DataError
from seqtag.settings import API, FLAG, TOML, RunConfig, Setting, TrainConfig


@dataclass(frozen=True)
class Kind:
    name: str
    summary: str
    predictor: str  # "module:Class", a seqtag.models.tagger.Tagger
    # "module:callable": (train, dev, layer, config, run=seqtag.models.tagger.TrainRun) -> Trained, or a bare Tagger
    trainer: str
    # the settings a user may give this kind (seqtag.settings); a kind with its own [model] settings takes them all
    options: tuple[Setting, ...] = ()
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # compare's names -> [model] settings
    bench: Mapping[str, Any] = field(default_factory=dict)  # settings of the short run `seqtag bench` trains
    # "probs", "nbest", "onnx" (export), "stream" (--stream), "auto" (--model auto tries it), "epochs" (trains in
    # epochs: --resume, `bench`'s training figures), "vectors" (--embeddings)
    capabilities: frozenset[str] = frozenset()
    model_settings: type | None = None  # its own [model] settings: a dataclass of seqtag.settings fields

    def predictor_class(self):
        return _resolve(self.predictor)

    def trainer_function(self):
        return _resolve(self.trainer)

    def table(self) -> dict[str, Setting]:
        """Every setting this kind takes by keyword, flagged or TOML-only."""
        if self.model_settings is not None:
            return settings.options_of(self.model_settings)
        return {option.name: option for option in self.options}

    def configure(self, config: dict) -> RunConfig:
        """The typed configuration this kind trains with, from a [model]/[training]/features configuration (flags,
        keywords and a TOML file merged), checked before any data is read. model.json records it: in full, defaults
        included, for a kind with its own settings (so a run can be repeated exactly); the settings given, else."""
        if not isinstance(config, Mapping):
            raise DataError(f"a configuration is a table of [model] and [training] settings, not {config!r}")
        features = config.get("features") or []
        if not isinstance(features, (list, tuple)) or not all(isinstance(f, str) for f in features):
            raise DataError(f"features takes names, not {features!r}")
        if self.model_settings is not None:
            from dataclasses import asdict

            training = settings.make_config(TrainConfig, config.get("training") or {}, "training")
            model = settings.make_config(self.model_settings, config.get("model") or {}, "model")
            return RunConfig(training, model, tuple(features), {"model": asdict(model), "training": asdict(training),
                                                                "features": list(features)})
        given: dict = {}
        for option in self.options:
            if len(option.key) == 2 and (config.get(option.key[0]) or {}).get(option.key[1]) is not None:
                value = option.check(config[option.key[0]][option.key[1]], TOML)
                given.setdefault(option.key[0], {})[option.key[1]] = value
        return RunConfig(TrainConfig(**given.get("training", {})), None, tuple(features), given)

    def option(self, name: str) -> Setting | None:
        return next((o for o in self.options if o.name == name), None)


def _resolve(target: str):
    module, _, attribute = target.partition(":")
    value = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


SEED, MAX_EPOCHS = settings.SETTINGS["seed"], settings.SETTINGS["max_epochs"]  # the baselines take these too


def flagged(model_settings: type) -> tuple[Setting, ...]:
    """The options of a kind with its own [model] settings: every one of its settings that has a flag."""
    return tuple(s for s in settings.options_of(model_settings).values() if s.flag)


KINDS: dict[str, Kind] = {  # in the order compare and bench list them: simplest first
    "majority": Kind("majority", "most frequent label per word (suffix and global fallbacks)",
                     "seqtag.models.baselines:MajorityTagger", "seqtag.models.baselines:MajorityTagger.fit", (SEED,)),
    "hmm": Kind("hmm", "second-order HMM with a suffix model for unknown words (TnT)",
                "seqtag.models.baselines:HMMTagger", "seqtag.models.baselines:HMMTagger.fit", (SEED,),
                capabilities=frozenset({"nbest", "auto"})),
    "perceptron": Kind("perceptron", "averaged structured perceptron with Viterbi decoding",
                       "seqtag.models.baselines:PerceptronTagger", "seqtag.models.baselines:PerceptronTagger.fit",
                       (SEED, MAX_EPOCHS), capabilities=frozenset({"auto"})),
    "bilstm": Kind(
        "bilstm", "BiLSTM with character features and a CRF or softmax output layer",
        "seqtag.models.bilstm:BiLSTMTagger", "seqtag.training.loop:train_run", flagged(settings.BiLSTMConfig),
        variants={"bilstm": {"decoder": "softmax"}, "bilstm-crf": {"decoder": "crf"},
                  # needs seqtag-nlp[glove]: named in --models, not compared by default
                  "bilstm-crf-glove": {"decoder": "crf", "embeddings": "glove-6b-50d"}},
        bench={"max_epochs": 2},
        capabilities=frozenset({"probs", "nbest", "onnx", "stream", "auto", "epochs", "vectors"}),
        model_settings=settings.BiLSTMConfig,
    ),
}


DEFAULT_KIND = "bilstm"  # what `seqtag train` and seqtag.train train unless told otherwise
AUTO = "auto"  # `seqtag train --model auto`: the candidate that does best on dev (seqtag.training.fit.fit_auto)
# the kinds --model auto tries, in KINDS' order (simplest first: a tie goes to the simpler kind)
AUTO_CANDIDATES = tuple(name for name, k in KINDS.items() if "auto" in k.capabilities)


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise DataError(f"unknown model kind {name!r}; expected one of {', '.join(KINDS)}") from None


def can(name: str, capability: str) -> bool:
    """Whether the kind `name` has a capability ("onnx", "probs", "nbest", "stream", "auto"); False for a kind this
    seqtag does not know (a model folder from elsewhere)."""
    return name in KINDS and capability in KINDS[name].capabilities


def variants() -> dict[str, tuple[str, Mapping[str, Any]]]:
    """compare's model names: name -> (kind, [model] settings). A kind without variants is listed by its name."""
    return {name: (k.name, settings) for k in KINDS.values()
            for name, settings in (k.variants or {k.name: {}}).items()}


def compared_by_default() -> list[str]:
    """compare's names that need no optional extra (no pretrained vectors)."""
    return [name for name, (_, settings) in variants().items() if "embeddings" not in settings]


def all_options() -> dict[str, Setting]:
    """Every kind's options by name, each once: the command line has one flag per name. Kinds that take the same
    name must agree on its flag and type; each checks the value by its own declaration (bounds, choices, help)."""
    found: dict[str, Setting] = {}
    for k in KINDS.values():
        for option in k.options:
            first = found.setdefault(option.name, option)
            if (first.flag, first.type, first.listed) != (option.flag, option.type, option.listed):
                raise TypeError(f"option {option.name!r} has two flags or types: {first.flag} and {option.flag}")
    return found


def check(name: str, given: Mapping[str, Any], door: str) -> None:
    """The options a user gave for kind `name` (or for --model auto's candidates), each checked by the declaration of
    the kind that takes it, named as `door` names it."""
    if name == AUTO:
        for candidate in AUTO_CANDIDATES:
            settings.check_options({k: v for k, v in given.items() if KINDS[candidate].option(k)}, door,
                                   KINDS[candidate].table())
        settings.check_options(given, door, all_options())  # (an unknown one)
    else:
        settings.check_options(given, door, kind(name).table())


def refuse_foreign(name: str, given: Mapping[str, Any], door: str = API) -> None:
    """An option the chosen kind does not take is an error, never silently ignored."""
    chosen = kind(name)
    table = all_options()
    unknown = sorted(set(given) - set(table))
    if unknown:
        raise DataError(f"unknown option(s) {', '.join(unknown)}; options are: {', '.join(sorted(table))}")
    foreign = [table[key] for key in given if chosen.option(key) is None]
    if foreign:
        owners = sorted({k.name for k in KINDS.values() for o in k.options if o in foreign})
        what = "is a setting" if len(foreign) == 1 else "are settings"
        if door == FLAG:
            kinds_named, this = f"--model {'/'.join(owners)}", f"--model {name}"
        else:
            kinds_named, this = " and ".join(f"model={o!r}" for o in owners), f"model={name!r}"
        raise DataError(f"{', '.join(o.label(door) for o in foreign)} {what} of {kinds_named}; {this} has no such "
                        "setting")
