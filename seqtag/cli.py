"""The command line: one thin function per command. The only module that prints or exits.

Heavy modules (torch, datasets) are imported inside the commands that need them, so `seqtag --help` stays fast.
Results go to stdout; progress, warnings and errors go to stderr. Exit codes: 0 success, 1 a failed
`--fail-under` gate, 2 bad input or usage, 3 a model that cannot be loaded, 130 interrupted.
"""

from __future__ import annotations

import functools
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from seqtag import __version__
from seqtag.errors import DataError, SeqtagError

app = typer.Typer(
    name="seqtag",
    help="Sequence labelling from the command line: POS tagging, NER, chunking and word segmentation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
out = Console(soft_wrap=True)  # results
err = Console(stderr=True, soft_wrap=True)  # progress, warnings, errors
_state = {"debug": False}


class Format(str, Enum):
    conll = "conll"
    conllu = "conllu"
    segmented = "segmented"
    slash = "slash"
    canonical = "canonical"
    hf = "hf"


class SchemeChoice(str, Enum):
    auto = "auto"
    iob1 = "iob1"
    iob2 = "iob2"
    bioes = "bioes"
    bmes = "bmes"
    plain = "plain"


class OnInvalid(str, Enum):
    repair = "repair"
    error = "error"


# Options shared by every command that reads a corpus (../shared/CLI.md).
FormatOpt = Annotated[Optional[Format], typer.Option("--format", help="Input format; detected when omitted.")]
ColumnsOpt = Annotated[
    Optional[str], typer.Option("--columns", help="Names of a CoNLL file's columns, e.g. word,pos,chunk,ner.")
]
LayerOpt = Annotated[Optional[str], typer.Option("--layer", help="Target label layer; default: the last column.")]
SchemeOpt = Annotated[SchemeChoice, typer.Option("--scheme", help="Label scheme of the input.")]
OnInvalidOpt = Annotated[
    OnInvalid, typer.Option("--on-invalid", help="Repair invalid sequences (I-X after O) as conlleval does, or stop.")
]


def _scheme(choice: SchemeChoice | None):
    from seqtag.labels import Scheme

    return None if choice in (None, SchemeChoice.auto) else Scheme(choice.value)


def _columns(columns: str | None) -> list[str] | None:
    return [c.strip() for c in columns.split(",") if c.strip()] if columns else None


def reports_errors(command):
    """Turn a SeqtagError into one `error: FILE:LINE: message` line and its exit code (a traceback with --debug)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SeqtagError as e:
            if _state["debug"]:
                raise
            print(f"error: {e}", file=sys.stderr)  # plain: one line that scripts can grep, never wrapped
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        print(f"seqtag {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
) -> None:
    _state["debug"] = debug


# ---------------------------------------------------------------------------------------------------- preprocess


@app.command()
@reports_errors
def preprocess(
    files: Annotated[Optional[list[Path]], typer.Argument(help="Corpus files; the first is the training set.")] = None,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    layer: LayerOpt = None,
    scheme: SchemeOpt = SchemeChoice.auto,
    to_scheme: Annotated[
        Optional[SchemeChoice], typer.Option("--to-scheme", help="Convert the target layer to this scheme.")
    ] = None,
    on_invalid: OnInvalidOpt = OnInvalid.repair,
    dataset: Annotated[
        Optional[str], typer.Option("--dataset", help="A Hugging Face dataset (hub name or save_to_disk folder).")
    ] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="With --dataset: one split (default: all).")] = None,
    output: Annotated[
        Optional[Path],
        typer.Option("-o", "--output", help="Write canonical TSV here: a file for one input, else a folder."),
    ] = None,
    stats_json: Annotated[Optional[Path], typer.Option("--json", help="Write the statistics as JSON.")] = None,
) -> None:
    """Check and convert corpora to the canonical format, and print corpus statistics."""
    from seqtag import formats
    from seqtag.corpus import statistics, vocabulary

    if dataset:
        inputs = [(name, corpus) for name, corpus in formats.read_hf(dataset, split)]
    elif files:
        inputs = [(str(f), formats.read_corpus(f, fmt.value if fmt else None, _columns(columns))) for f in files]
    else:
        raise DataError("give corpus files, or --dataset NAME")
    prepared = []
    for name, corpus in inputs:
        corpus, target, repaired = formats.prepare(
            corpus, layer, _scheme(scheme), on_invalid.value, _scheme(to_scheme)
        )
        if repaired:
            err.print(f"warning: {corpus.source}: repaired {repaired} invalid sentence(s) as conlleval reads them")
        prepared.append((name, corpus, target))
    if output is not None:
        for destination, (name, corpus, _) in zip(_output_paths(output, [n for n, _, _ in prepared]), prepared):
            formats.write_corpus(corpus, destination)
            err.print(f"wrote {destination}")
    train_vocab = vocabulary(prepared[0][1].sentences) if len(prepared) > 1 else None
    reports = [
        statistics(corpus, target, train_vocab if i else None) for i, (_, corpus, target) in enumerate(prepared)
    ]
    _print_statistics([name for name, _, _ in prepared], reports)
    if stats_json is not None:
        with formats.atomic_output(stats_json) as f:
            json.dump(dict(zip([n for n, _, _ in prepared], reports)), f, indent=2, ensure_ascii=False)


def _output_paths(output: Path, names: list[str]) -> list[Path]:
    if len(names) == 1 and not output.is_dir() and not str(output).endswith("/"):
        return [output]
    stems = [Path(n.replace("[", "_").replace("]", "")).name for n in names]
    return [output / f"{stem}.tsv" for stem in stems]


def _print_statistics(names: list[str], reports: list[dict]) -> None:
    table = Table(title="Corpus statistics")
    table.add_column("")
    for name in names:
        table.add_column(Path(name).name, justify="right")
    rows = [
        ("layer", lambda r: r.get("layer", "-")),
        ("scheme", lambda r: r.get("scheme", "-")),
        ("sentences", lambda r: f"{r['sentences']:,}"),
        ("tokens", lambda r: f"{r['tokens']:,}"),
        ("types", lambda r: f"{r['types']:,}"),
        ("length min/median/mean", lambda r: f"{r['length']['min']}/{r['length']['median']}/{r['length']['mean']}"),
        ("length p95/max", lambda r: f"{r['length']['p95']}/{r['length']['max']}"),
        ("OOV rate vs first file", lambda r: f"{r['oov_rate']:.2%}" if "oov_rate" in r else "-"),
    ]
    for title, cell in rows:
        table.add_row(title, *(cell(r) for r in reports))
    table.add_section()
    for bucket in reports[0]["length_histogram"]:
        table.add_row(f"length {bucket}", *(f"{r['length_histogram'][bucket]:,}" for r in reports))
    table.add_section()
    key = "spans" if all("spans" in r for r in reports) else "labels"
    labels = sorted({label for r in reports for label in r.get(key, {})})
    for label in labels:
        title = f"{'span' if key == 'spans' else 'label'} {label}"
        table.add_row(title, *(f"{r.get(key, {}).get(label, 0):,}" for r in reports))
    out.print(table)


# ---------------------------------------------------------------------------------------------------- later commands


def _not_yet(name: str) -> None:
    print(f"error: `seqtag {name}` is not yet available in this version", file=sys.stderr)
    raise typer.Exit(2)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train() -> None:
    """Train a BiLSTM(-CRF) tagger or a baseline and save it under models/."""
    _not_yet("train")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def tag() -> None:
    """Tag text from stdin with a trained model and stream the result to stdout."""
    _not_yet("tag")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def evaluate() -> None:
    """Score a model (or a prediction file) against a gold file."""
    _not_yet("evaluate")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def compare() -> None:
    """Train several taggers on one split and compare them side by side."""
    _not_yet("compare")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench() -> None:
    """Measure training and tagging throughput and memory."""
    _not_yet("bench")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def info() -> None:
    """Describe a trained model: task, labels, configuration, metrics, training data."""
    _not_yet("info")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def export() -> None:
    """Export a BiLSTM model to ONNX or TorchScript."""
    _not_yet("export")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
