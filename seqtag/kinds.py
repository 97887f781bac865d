"""The one registry of model kinds: KINDS maps each kind to its predictor, its trainer and its own options.

Everything that lists kinds derives from this table: `train --model` and the options it accepts, `compare --models`,
`bench`, model loading, and the parametrized tests. Adding a kind is one class (a Tagger with a trainer) plus one
entry here. Classes are named as "module:attribute" strings, so reading this table imports no torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seqtag import settings
from seqtag.errors import DataError
from seqtag.settings import API, FLAG, Setting


@dataclass(frozen=True)
class Kind:
    name: str
    summary: str
    predictor: str  # "module:Class", a seqtag.models.tagger.Tagger
    # "module:callable": (train, dev, layer, config, run=seqtag.models.tagger.TrainRun) -> Trained, or a bare Tagger
    trainer: str
    options: tuple[Setting, ...] = ()  # the settings a user may give this kind (seqtag.settings)
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
                value = option.check(config[option.key[0]][option.key[1]], settings.TOML)
                resolved.setdefault(option.key[0], {})[option.key[1]] = value
        return resolved

    def option(self, name: str) -> Setting | None:
        return next((o for o in self.options if o.name == name), None)


def _resolve(target: str):
    module, _, attribute = target.partition(":")
    value = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


SEED, MAX_EPOCHS = settings.SETTINGS["seed"], settings.SETTINGS["max_epochs"]  # the baselines take these too
BILSTM_OPTIONS = tuple(settings.FLAGGED.values())


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
        "seqtag.models.bilstm:BiLSTMTagger", "seqtag.training.loop:train_run", BILSTM_OPTIONS,
        variants={"bilstm": {"decoder": "softmax"}, "bilstm-crf": {"decoder": "crf"},
                  # needs seqtag-nlp[glove]: named in --models, not compared by default
                  "bilstm-crf-glove": {"decoder": "crf", "embeddings": "glove-6b-50d"}},
        bench={"max_epochs": 2}, capabilities=frozenset({"probs", "nbest", "onnx", "stream", "auto"}),
        resolver="seqtag.training.loop:resolve_config",
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
    """Every kind's options by name, each once (kinds that share an option share one declaration)."""
    found: dict[str, Setting] = {}
    for k in KINDS.values():
        for option in k.options:
            if found.setdefault(option.name, option) != option:
                raise TypeError(f"option {option.name!r} is defined twice, differently")
    return found


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
