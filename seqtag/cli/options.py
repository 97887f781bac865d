"""The command line's shared options, derived from the registries (seqtag.kinds, seqtag.data.formats) and the core:
choices are never spelled here, and every model kind's own options become `seqtag train` options."""

from __future__ import annotations

import functools
import inspect
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from seqtag.data import formats
from seqtag import kinds
from seqtag.errors import DataError
from seqtag.api import EXPORT_FORMATS
from seqtag.runtime.choice import RUNTIMES
from seqtag.data.labels import ENTITY_SCHEMES, Scheme
from seqtag.data.reading import ON_INVALID, ReadOptions
from seqtag.runtime.selection import DEFAULT_STRATEGY, STRATEGIES  # noqa: F401 (DEFAULT_STRATEGY: select's default)
from seqtag.runtime.tagging import TEXT_INPUTS, VIEWS


def _choices(name: str, values) -> type[Enum]:
    """An Enum of choices for Typer, from a list that lives in the core."""
    return Enum(name, {value: value for value in values}, type=str)


DEFAULT_KIND, AUTO, AUTO_CANDIDATES = kinds.DEFAULT_KIND, kinds.AUTO, kinds.AUTO_CANDIDATES
COMPARABLE, COMPARED_BY_DEFAULT = list(kinds.variants()), kinds.compared_by_default()  # compare --models
FormatChoice = _choices("FormatChoice", formats.NAMES)
ModelKind = _choices("ModelKind", [*kinds.KINDS, kinds.AUTO])
TEXT_FORMATS = [name for name, fmt in formats.FORMATS.items() if fmt.text]
InputFormat = _choices("InputFormat", [*TEXT_INPUTS, *TEXT_FORMATS])
OutputFormat = _choices("OutputFormat", [*TEXT_FORMATS, *(a for n in TEXT_FORMATS for a in formats.FORMATS[n].aliases),
                                         *VIEWS])
SchemeChoice = _choices("SchemeChoice", ["auto", *Scheme])
EntityScheme = _choices("EntityScheme", [s.value for s in ENTITY_SCHEMES])
OnInvalid = _choices("OnInvalid", ON_INVALID)
Runtime = _choices("Runtime", RUNTIMES)
ExportFormat = _choices("ExportFormat", EXPORT_FORMATS)
Strategy = _choices("Strategy", STRATEGIES)  # select --strategy
Engine = _choices("Engine", ("local", "ray"))  # what tags `tag --input`: this machine, or Ray (seqtag.ray)

# Options shared by every command that reads a corpus (../shared/CLI.md).
FormatOpt = Annotated[Optional[FormatChoice], typer.Option("--format", help="Input format; detected when omitted.")]
ColumnsOpt = Annotated[
    Optional[str], typer.Option("--columns", help="Names of a CoNLL file's columns, e.g. word,pos,chunk,ner.")
]
LayerOpt = Annotated[Optional[str], typer.Option("--layer", help="Target label layer; default: the last column. "
                                                  "Scoring a model: NAME=LAYER reads the file's layer NAME as the "
                                                  "model's LAYER.")]
SchemeOpt = Annotated[SchemeChoice, typer.Option("--scheme", help="Label scheme of the input.")]
OnInvalidOpt = Annotated[
    OnInvalid, typer.Option("--on-invalid", help="Repair invalid sequences (I-X after O) as conlleval does, or stop.")
]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace outputs that seqtag did not write as this "
                                           "command's output (never an input or the model being read).")]
def _resamples(value: int) -> int:
    """--bootstrap checked as it is parsed, before a command trains or reads anything."""
    from seqtag.data.bootstrap import check_samples
    from seqtag.errors import DataError

    try:
        return check_samples(value)
    except DataError as error:
        raise typer.BadParameter(str(error).removeprefix("--bootstrap ")) from None


BootstrapOpt = Annotated[int, typer.Option("--bootstrap", callback=_resamples, help="Resamples of the sentences: a 95% interval of "
                                           "each score and, for several models on the same data, the paired test "
                                           "against the best (* where p < 0.05); 1000 is usual; 0: none.")]


# The options of every command that reads a corpus, by their name in seqtag.api and ReadOptions, with their
# defaults: with_reading_options adds them to a command, which receives them as one dict, `reading`.
READING_OPTIONS = {"format": (FormatOpt, None), "columns": (ColumnsOpt, None), "layer": (LayerOpt, None),
                   "scheme": (SchemeOpt, SchemeChoice.auto), "on_invalid": (OnInvalidOpt, OnInvalid.repair)}


def with_reading_options(command):
    """Add the reading options to a command; it receives them as `reading`, a dict of seqtag.api keywords (the
    fields of seqtag.data.reading.ReadOptions)."""
    signature = inspect.signature(command, eval_str=True)
    params = [p for p in signature.parameters.values() if p.name != "reading"]
    at = next((i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD), len(params))
    params[at:at] = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
                     for name, (annotation, default) in READING_OPTIONS.items()]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        given = {name: kwargs.pop(name, default) for name, (_, default) in READING_OPTIONS.items()}
        return command(*args, reading=_reading(**given), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)
    return wrapper


def _reading(format, columns, layer, scheme, on_invalid) -> dict:
    return {"format": format.value if format else None, "columns": columns_of(columns), "layer": layer,
            "scheme": None if scheme.value == "auto" else scheme.value, "on_invalid": on_invalid.value}


def read_options(reading: dict):
    """The reading options as seqtag.data.reading.ReadOptions (checked there)."""
    return ReadOptions(**reading)


def columns_of(columns: str | None) -> list[str] | None:
    return [c.strip() for c in columns.split(",") if c.strip()] if columns else None


def setting_option(name: str, help: str | None = None):
    """A kind's setting (seqtag.settings) as an option of a command other than train: the same flag and type; its
    value is checked by settings.config_from_options, as train's are."""
    from seqtag.settings import SETTINGS

    setting = SETTINGS[name]
    return Annotated[Optional[str if setting.listed else setting.type], typer.Option(setting.flag,
                                                                                     help=help or setting.help)]


def with_kind_options(command):
    """Add every model kind's own options (seqtag.kinds) to a command as Typer options: declared once, in the
    registry. The command receives them as **options; `typed` says which ones the user typed."""
    signature = inspect.signature(command, eval_str=True)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    for option in kinds.all_options().values():
        owners = "/".join(k.name for k in kinds.KINDS.values() if option in k.options)
        # bounds and choices are checked by seqtag.settings, with the words a TOML file and the Python API get
        metavar = {"metavar": f"<{'|'.join(option.choices)}>"} if option.choices else {}
        value_type = str if option.choices else option.type
        info = typer.Option(option.flag, help=f"{option.help} [{owners}]", **metavar)
        annotation = Annotated[value_type if option.type is bool else Optional[value_type], info]
        params.append(inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY,
                                        default=False if option.type is bool else None, annotation=annotation))
    command.__signature__ = signature.replace(parameters=params)
    return command


def typed(context: typer.Context, kind: str | None, options: dict) -> dict:
    """The kind options the user typed, as plain values, checked by the kind's own declarations (seqtag.settings;
    with --resume, whose kind is the saved run's, by any kind's) and named as flags in errors."""
    from seqtag.settings import FLAG, check_options

    given = {name: value.value if isinstance(value, Enum) else value for name, value in options.items()
             if context.get_parameter_source(name).name != "DEFAULT"}
    if kind is None:
        check_options(given, FLAG, kinds.all_options())
        return given
    if kind != kinds.AUTO:
        kinds.refuse_foreign(kind, given, FLAG)
    kinds.check(kind, given, FLAG)
    return given


def models_of(arguments: list[Path], options: list[Path], one: bool = False) -> list[Path]:
    """The model folders named as arguments or with -m (every command that takes a model accepts -m)."""
    models = [*arguments, *options]
    if not models or (one and len(models) > 1):
        raise DataError(f"give {'one model folder' if one else 'model folders'}, as "
                        f"{'an argument' if one else 'arguments'} or with -m")
    return models


def renamed(old: str, new: str, old_value, value):
    """An option given by its former name still works, with a warning that says the new one."""
    if old_value is None:
        return value
    import warnings

    from seqtag.errors import SeqtagWarning

    warnings.warn(SeqtagWarning(f"{old} is now {new} here (one name per meaning: --batch-size is padded tokens per "
                                "training batch)"), stacklevel=2)
    return old_value
