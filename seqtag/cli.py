"""The command line: one thin function per command. The only module that prints or exits.

Heavy modules (torch, datasets) are imported inside the commands that need them, so `seqtag --help` stays fast.
Results go to stdout; progress, warnings and errors go to stderr. Exit codes: 0 success, 1 a failed
`--fail-under` gate, 2 bad input or usage, 3 a model that cannot be loaded, 130 interrupted.
"""

from __future__ import annotations

import functools
import json
import signal
import sys
import threading
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table

from seqtag import __version__
from seqtag.errors import DataError, Interrupted, SeqtagError

app = typer.Typer(
    name="seqtag",
    help="Sequence labelling from the command line: POS tagging, NER, chunking and word segmentation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,  # plain help: option texts like "[model]" are not markup, flags show no <bool>
)
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)  # results; wide tables when piped
err = Console(stderr=True, soft_wrap=True)  # progress, warnings, errors
_state = {"debug": False, "signal": signal.SIGINT}  # the signal that interrupts, for the exit code


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
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace outputs that seqtag did not write as this "
                                           "command's output (never an input or the model being read).")]


def _scheme(choice: SchemeChoice | None):
    from seqtag.labels import Scheme

    return None if choice in (None, SchemeChoice.auto) else Scheme(choice.value)


def _columns(columns: str | None) -> list[str] | None:
    return [c.strip() for c in columns.split(",") if c.strip()] if columns else None


def print_error(message: str) -> None:
    """One plain line that scripts can grep, never wrapped."""
    print("error: " + " ".join(message.split("\n")), file=sys.stderr)


def fail(message: str, code: int) -> NoReturn:
    """The one way a command ends in error: one line, one exit code."""
    print_error(message)
    raise typer.Exit(code)


def _described(error: BaseException) -> tuple[str, int]:
    """What the user reads for an error, and the exit code (README: Errors and exit codes)."""
    interrupted = 128 + _state["signal"]  # 130 for Ctrl-C, 143 for SIGTERM, as a shell counts them
    if isinstance(error, Interrupted):
        return str(error), interrupted
    if isinstance(error, SeqtagError):
        return str(error), error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", interrupted
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}", 2
    return (f"internal error, please report it: {type(error).__name__}: {error} (seqtag --debug COMMAND ... shows "
            "the traceback)", 4)


def reports_errors(command):
    """Every command runs inside this: an error becomes one `error: FILE:LINE: message` line and its exit code
    (the traceback with --debug); nothing else reaches the user as a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException, SystemExit):
            raise
        except BrokenPipeError:  # `| head` closed the pipe: stop quietly
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except BaseException as error:
            if _state["debug"]:
                raise
            fail(*_described(error))

    wrapper.reports_errors = True
    return wrapper


def _on_terminate(signum, frame) -> None:
    """SIGTERM takes the path Ctrl-C takes (save what is finished, say what was kept), and exits 143."""
    _state["signal"] = signum
    raise KeyboardInterrupt


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
    overwrite: OverwriteOpt = False,
) -> None:
    """Check and convert corpora to the canonical format, and print corpus statistics."""
    from seqtag import formats, outputs
    from seqtag.corpus import statistics, vocabulary

    if stats_json is not None:
        outputs.check_file_destination(stats_json, "preprocess", overwrite, files or [])
    if output is not None and files:  # before reading: the names are known
        _check_outputs(_output_paths(output, [str(f) for f in files]), overwrite, files)
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
        destinations = _output_paths(output, [n for n, _, _ in prepared])
        if dataset:  # named files were checked before reading
            _check_outputs(destinations, overwrite, [])
        for destination, (_, corpus, _) in zip(destinations, prepared):
            formats.write_corpus(corpus, destination)
            err.print(f"wrote {destination}")
    train_vocab = vocabulary(prepared[0][1].sentences) if len(prepared) > 1 else None
    reports = [
        statistics(corpus, target, train_vocab if i else None) for i, (_, corpus, target) in enumerate(prepared)
    ]
    _print_statistics([name for name, _, _ in prepared], reports)
    if stats_json is not None:
        outputs.write_json(stats_json, "preprocess", {"files": dict(zip([n for n, _, _ in prepared], reports))})


def _check_outputs(destinations: list[Path], overwrite: bool, inputs) -> None:
    from seqtag import outputs

    for destination in destinations:
        outputs.check_file_destination(destination, "preprocess", overwrite, inputs, "-o")
    if len(set(destinations)) < len(destinations):
        raise DataError("two inputs have the same file name and would be written to one file; convert them apart",
                        destinations[0].parent)


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


# ---------------------------------------------------------------------------------------------------- training, tagging, scoring


class ModelKind(str, Enum):
    bilstm = "bilstm"
    hmm = "hmm"
    perceptron = "perceptron"
    majority = "majority"


def _read_options(fmt, columns, layer, scheme, on_invalid):
    from seqtag.pipeline import ReadOptions

    chosen = _scheme(scheme)
    return ReadOptions(fmt.value if fmt else None, _columns(columns), layer, chosen.value if chosen else None,
                       on_invalid.value)


BASELINE_OPTIONS = {"train_file", "dev_file", "test_file", "output", "model", "seed", "resume", "overwrite", "fmt",
                    "columns", "layer", "scheme", "on_invalid"}  # the `train` options every model kind takes


@app.command()
@reports_errors
def train(
    context: typer.Context,
    train_file: Annotated[Optional[Path], typer.Option("--train", help="Training file; omitted: the bundled sample.")] = None,
    dev_file: Annotated[Optional[Path], typer.Option("--dev", help="Dev file: early stopping and model choice.")] = None,
    test_file: Annotated[Optional[Path], typer.Option("--test", help="Test file, scored once at the end.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Model directory.")] = None,
    model: Annotated[ModelKind, typer.Option("--model", help="Tagger kind.")] = ModelKind.bilstm,
    decoder: Annotated[Optional[str], typer.Option("--decoder", help="crf or softmax output layer.")] = None,
    cell: Annotated[Optional[str], typer.Option("--cell", help="lstm or gru.")] = None,
    layers: Annotated[Optional[int], typer.Option("--layers", min=1, max=16, help="Stacked BiLSTM layers.")] = None,
    hidden: Annotated[Optional[int], typer.Option("--hidden", min=1, max=8192,
                                                  help="Hidden units per direction.")] = None,
    char_encoder: Annotated[Optional[str], typer.Option("--char-encoder", help="cnn, lstm or none.")] = None,
    features: Annotated[Optional[str], typer.Option("--features", help="Extra input columns, e.g. pos.")] = None,
    embeddings: Annotated[Optional[Path], typer.Option("--embeddings", help="GloVe/word2vec text vectors.")] = None,
    max_epochs: Annotated[Optional[int], typer.Option("--max-epochs", min=1, help="Most epochs to train.")] = None,
    patience: Annotated[Optional[int], typer.Option("--patience", min=1, help="Epochs without a better dev score "
                                                    "before stopping.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Padded tokens per batch.")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate (above 0).")] = None,
    optimizer: Annotated[Optional[str], typer.Option("--optimizer", help="adam or sgd.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed.")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = None,
    config_file: Annotated[Optional[Path], typer.Option("--config", help="TOML file: [model], [training].")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the model directory's checkpoint.")] = False,
    stream: Annotated[bool, typer.Option("--stream", help="Read the training file from disk every epoch instead of "
                                         "holding it in memory (for corpora larger than memory).")] = False,
    overwrite: OverwriteOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    layer: LayerOpt = None,
    scheme: SchemeOpt = SchemeChoice.auto,
    on_invalid: OnInvalidOpt = OnInvalid.repair,
) -> None:
    """Train a BiLSTM(-CRF) tagger or a baseline and save it as a model directory."""
    from seqtag import outputs, pipeline
    from seqtag.tagger import read_model_json

    if lr is not None and lr <= 0:
        raise DataError(f"--lr must be above 0, not {lr}")
    given = [param.opts[0] for param in context.command.params  # what the user typed that only the BiLSTM reads
             if param.name not in BASELINE_OPTIONS and context.get_parameter_source(param.name).name != "DEFAULT"]
    if model is not ModelKind.bilstm and given:
        what = "is a BiLSTM setting" if len(given) == 1 else "are BiLSTM settings"
        raise DataError(f"{', '.join(given)} {what}; --model {model.value} has no such setting")
    read = _read_options(fmt, columns, layer, scheme, on_invalid)
    read.stream = stream
    if train_file is None and not resume:
        train_file, dev_file, test_file = pipeline.SAMPLE["train"], pipeline.SAMPLE["dev"], pipeline.SAMPLE["test"]
        read.columns, read.layer = read.columns or pipeline.SAMPLE["columns"], read.layer or pipeline.SAMPLE["layer"]
        err.print(f"no --train given: training on the bundled sample in {pipeline.DATA_DIR}")
    output = output or Path("models") / (read.layer or model.value)
    overrides = {
        "model": {"decoder": decoder, "cell": cell, "layers": layers, "hidden": hidden, "char_encoder": char_encoder,
                  "embeddings": str(embeddings.resolve()) if embeddings else None},
        "training": {"max_epochs": max_epochs, "patience": patience, "batch_tokens": batch_size, "lr": lr,
                     "optimizer": optimizer, "seed": seed, "device": device},
        "features": _columns(features),
    }
    if model is not ModelKind.bilstm:
        overrides = {"training": {"seed": seed}}
    if resume:  # the saved configuration and data, unless given again
        saved = read_model_json(output)
        config = pipeline.merge_config(saved["config"], {"training": {"max_epochs": max_epochs, "patience": patience}})
        data = saved["training"]["data"]
        train_file = train_file or Path(data["train"]["path"])
        dev_file = dev_file or (Path(data["dev"]["path"]) if "dev" in data else None)
        test_file = test_file or (Path(data["test"]["path"]) if "test" in data else None)
        read = pipeline.ReadOptions(**saved["training"]["read"])
        kind = saved["kind"]
    else:
        config = pipeline.merge_config(pipeline.load_config(config_file), overrides)
        kind = model.value
    # before any work: the output may not replace what seqtag did not write, nor the data it reads
    outputs.check_model_destination(output, kind, overwrite,
                                    [train_file, dev_file, test_file, embeddings, config_file])
    with _TrainingProgress() as progress:
        document = pipeline.train_model(kind, train_file, dev_file, test_file, read, config, output, resume,
                                        progress.update)
    if not document:  # a torchrun rank other than 0
        return
    err.print(f"saved {output}")
    _print_metrics(document["metrics"])


class _TrainingProgress:
    """A Rich progress bar per epoch on stderr, and one summary line per epoch."""

    def __enter__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("loss {task.fields[loss]:.3f}  {task.fields[speed]:,.0f} tok/s"),
                                 TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
        self.progress.__enter__()
        self.task = None
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def update(self, event: dict) -> None:
        import time

        if event["event"] == "epoch_start":
            if self.task is not None:
                self.progress.remove_task(self.task)
            self.started, self.tokens = time.perf_counter(), 0
            self.task = self.progress.add_task(f"epoch {event['epoch']}", total=event["batches"], loss=0.0, speed=0)
        elif event["event"] == "batch":
            self.tokens += event["tokens"]
            speed = self.tokens / max(time.perf_counter() - self.started, 1e-9)
            self.progress.update(self.task, advance=1, loss=event["loss"], speed=speed)
        elif event["event"] == "warning":
            _print_warning(event)
        elif event["event"] == "epoch_end":
            dev = f"dev {event['dev']['metric']} {100 * event['dev_score']:.2f}" if "dev" in event else ""
            self.progress.console.print(
                f"epoch {event['epoch']:>3}  loss {event['loss']:8.3f}  {dev}  best epoch {event['best_epoch']}  "
                f"{event['tokens_per_s']:,} tok/s  {event['seconds']:.1f}s", highlight=False)


def _print_metrics(metrics: dict) -> None:
    for name, report in metrics.items():
        out.print(_report_table(report, f"{name}: {report['metric']} {100 * report[report['metric']]:.2f}"))


def _report_table(report: dict, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    if "per_type" in report:
        table.caption = f"scheme {report['scheme']}, seqeval {report['mode']} mode"
        for column in ("type", "precision", "recall", "f1", "support"):
            table.add_column(column, justify="left" if column == "type" else "right")
        for name, row in report["per_type"].items():
            table.add_row(name, *(f"{100 * row[k]:.2f}" for k in ("precision", "recall", "f1")), f"{row['support']:,}")
        table.add_section()
        table.add_row("micro avg", *(f"{100 * report[k]:.2f}" for k in ("precision", "recall", "f1")), "")
        table.add_row("macro avg", "", "", f"{100 * report['macro_f1']:.2f}", "")
    else:
        table.add_column("metric")
        table.add_column("value", justify="right")
        keys = ["precision", "recall", "f1", "oov_recall"] if report["scheme"] == "bmes" else []
        for key in keys + ["accuracy", "oov_accuracy"]:
            if report.get(key) is not None:
                table.add_row(key, f"{100 * report[key]:.2f}")
        table.add_row("tokens", f"{report['tokens']:,}")
    return table


@app.command()
@reports_errors
def evaluate(
    gold: Annotated[Optional[Path], typer.Argument(help="Gold file.")] = None,
    model: Annotated[Optional[Path], typer.Option("-m", "--model", help="Model directory.")] = None,
    pred: Annotated[Optional[Path], typer.Option("--pred", help="A system's output file, scored without a model.")] = None,
    gold_option: Annotated[Optional[Path], typer.Option("--gold", help="Gold file (with --pred).")] = None,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the scores as JSON.")] = None,
    fail_under: Annotated[Optional[float], typer.Option("--fail-under", min=0, max=100, help="Exit 1 when the main "
                          "metric is below this: a fraction (0.85) or, above 1, a percentage (85).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="seqeval strict mode instead of conlleval's reading.")] = False,
    overwrite: OverwriteOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    layer: LayerOpt = None,
    scheme: SchemeOpt = SchemeChoice.auto,
    on_invalid: OnInvalidOpt = OnInvalid.repair,
) -> None:
    """Score a model (or a prediction file) against a gold file."""
    from seqtag import outputs, pipeline

    read = _read_options(fmt, columns, layer, scheme, on_invalid)
    gold = gold or gold_option
    if gold is None or (model is None) == (pred is None):
        raise DataError("give -m MODEL GOLD, or --pred PRED --gold GOLD")
    threshold = _fraction(fail_under) if fail_under is not None else None
    if json_file is not None:
        outputs.check_file_destination(json_file, "evaluate", overwrite, [model, gold, pred])
    if model is not None:
        report = pipeline.evaluate_model(model, gold, read, strict, _print_warning)
    else:
        report = pipeline.evaluate_files(pred, gold, read, strict)
    value = report[report["metric"]]
    out.print(_report_table(report, f"{gold}: {report['metric']} {100 * value:.2f}"))
    if json_file is not None:
        outputs.write_json(json_file, "evaluate", report)
    if threshold is not None and round(100 * value, 2) < round(100 * threshold, 2):  # as printed
        fail(f"{report['metric']} {100 * value:.2f} is under --fail-under {100 * threshold:.2f}", 1)


def _fraction(fail_under: float) -> float:
    """--fail-under 0.85 and --fail-under 85 mean the same; say which reading was taken."""
    if fail_under <= 1:
        err.print(f"--fail-under {fail_under:g} read as a fraction: {100 * fail_under:.2f}%", highlight=False)
        return fail_under
    err.print(f"--fail-under {fail_under:g} read as a percentage: {fail_under:.2f}%", highlight=False)
    return fail_under / 100


def _print_warning(event: dict) -> None:
    if event.get("event") == "warning":
        err.print(f"warning: {event['message']}", highlight=False, markup=False)


@app.command()
@reports_errors
def info(model: Annotated[Path, typer.Argument(help="Model directory.")]) -> None:
    """Describe a trained model: task, labels, configuration, metrics, training data, library versions."""
    from seqtag.tagger import read_model_json

    document = read_model_json(model)
    table = Table(title=str(model), title_justify="left", show_header=False)
    table.add_column("")
    table.add_column("")
    table.add_row("kind", document["kind"])
    table.add_row("layer", f"{document['layer']} ({document['scheme']})")
    table.add_row("labels", " ".join(document["labels"]))
    if document.get("features"):
        table.add_row("input features", ", ".join(document["features"]))
    for section, values in document.get("config", {}).items():
        table.add_row(f"config {section}", json.dumps(values))
    training = document.get("training", {})
    for role, record in training.get("data", {}).items():
        table.add_row(f"{role} data", f"{_shown(record['path'])} ({record['sentences']:,} sentences, "
                      f"{record['tokens']:,} tokens, "
                      f"{record['bytes']:,} bytes, sha256 {str(record['sha256'])[:12]})")
    for key in ("epochs", "best_epoch", "stopped", "date"):
        if key in training:
            table.add_row(key.replace("_", " "), str(training[key]))
    if training.get("best_dev_score") is not None and "dev" in training.get("data", {}):
        table.add_row("best dev score", f"{100 * training['best_dev_score']:.2f} (what early stopping saw)")
    context = training.get("context_layer")
    if context and context.get("interrupted"):
        table.add_row("context layer", "not fitted (interrupted): zero")
    elif context:
        held_out = context["held_out_dev_score"]
        verdict = "kept, fitted on the dev set" if context["kept"] else "not kept (zero)"
        table.add_row("context layer", f"{verdict}; held-out dev halves {100 * held_out['with']:.2f} with it, "
                                       f"{100 * held_out['without']:.2f} without")
    for name, report in document.get("metrics", {}).items():
        table.add_row(f"{name} {report['metric']}", f"{100 * report[report['metric']]:.2f}")
    table.add_row("versions", f"seqtag {document['seqtag_version']}, torch {document['torch_version']}, "
                  f"format {document['format_version']}")
    out.print(table)


def _shown(path: str) -> str:
    """A stored absolute path, relative to the current directory where it lies below it (shorter to read)."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


class InputFormat(str, Enum):
    raw = "raw"
    tokens = "tokens"
    conll = "conll"


class Runtime(str, Enum):
    torch = "torch"
    onnx = "onnx"


class OutputFormat(str, Enum):
    conll = "conll"
    inline = "inline"
    jsonl = "jsonl"
    segmented = "segmented"


@app.command()
@reports_errors
def tag(
    model: Annotated[Path, typer.Option("-m", "--model", help="Model directory.")],
    input_format: Annotated[InputFormat, typer.Option("--input-format", help="raw text (tokenized here), "
                            "whitespace tokens, or CoNLL columns.")] = InputFormat.raw,
    output_format: Annotated[OutputFormat, typer.Option("--output-format")] = OutputFormat.conll,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", min=1, help="Sentences read and tagged at a time (a model's context layer pools mentions "
        "within them)."
    )] = 2000,
    replace_invalid: Annotated[bool, typer.Option("--replace-invalid", help="Replace invalid UTF-8 bytes "
                               "instead of stopping.")] = False,
    probs: Annotated[bool, typer.Option("--probs", help="Add each label's probability (CRF marginals or "
                     "softmax).")] = False,
    nbest: Annotated[int, typer.Option("--nbest", min=0, max=1000, help="Add the N best label sequences with their "
                     "scores (CRF and HMM models, jsonl output).")] = 0,
    runtime: Annotated[Runtime, typer.Option("--runtime", help="torch, or onnx for a model exported with "
                       "`seqtag export --format onnx`.")] = Runtime.torch,
    workers: Annotated[int, typer.Option("--workers", min=1, max=256, help="Tagging processes (output stays in "
                       "input order).")] = 1,
) -> None:
    """Tag text from stdin with a trained model and stream the result to stdout."""
    from seqtag.tagging import decode_stdin, load_tagger, tag_stream, tag_stream_parallel

    lines = decode_stdin(sys.stdin.buffer, replace=replace_invalid)
    options = (input_format.value, output_format.value, batch_size, probs, nbest)
    if workers > 1:
        results = tag_stream_parallel(model, runtime.value, lines, *options, workers=workers)
    else:
        results = tag_stream(load_tagger(model, runtime.value), lines, *options)
    for text in results:  # a closed pipe (`| head`) ends quietly in reports_errors
        sys.stdout.write(text)
    sys.stdout.flush()


@app.command()
@reports_errors
def compare(
    train_file: Annotated[Path, typer.Option("--train", help="Training file.")],
    test_file: Annotated[Path, typer.Option("--test", help="Test file every model is scored on.")],
    dev_file: Annotated[Optional[Path], typer.Option("--dev", help="Dev file (early stopping of the BiLSTMs).")] = None,
    models: Annotated[str, typer.Option("--models", help="Comma-separated: majority,hmm,perceptron,bilstm,"
                                        "bilstm-crf.")] = "majority,hmm,perceptron,bilstm,bilstm-crf",
    output_dir: Annotated[Optional[Path], typer.Option("-o", "--output-dir", help="Keep the trained models here "
                                                       "(default: a temporary folder).")] = None,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the rows as JSON.")] = None,
    markdown: Annotated[Optional[Path], typer.Option("--markdown", help="Write a Markdown table.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed.")] = None,
    max_epochs: Annotated[Optional[int], typer.Option("--max-epochs", min=1, help="For the BiLSTMs.")] = None,
    features: Annotated[Optional[str], typer.Option("--features", help="Extra input columns for the BiLSTMs.")] = None,
    overwrite: OverwriteOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    layer: LayerOpt = None,
    scheme: SchemeOpt = SchemeChoice.auto,
    on_invalid: OnInvalidOpt = OnInvalid.repair,
) -> None:
    """Train several taggers on one split and compare them side by side."""
    import tempfile

    from seqtag import outputs, pipeline

    read = _read_options(fmt, columns, layer, scheme, on_invalid)
    names = _columns(models) or []
    kinds = pipeline.comparable_kinds(names)
    inputs = [train_file, dev_file, test_file]
    for path, option in ((json_file, "--json"), (markdown, "--markdown")):
        if path is not None:
            outputs.check_file_destination(path, "compare", overwrite, inputs, option)
    for name, kind in zip(names, kinds) if output_dir is not None else ():
        outputs.check_model_destination(output_dir / name, kind, overwrite, inputs)
    config = pipeline.merge_config({}, {"training": {"seed": seed, "max_epochs": max_epochs},
                                        "features": _columns(features)})
    with tempfile.TemporaryDirectory(prefix="seqtag-compare-") as scratch, _TrainingProgress() as progress:
        rows = pipeline.compare_models(names, train_file, dev_file, test_file, read, config,
                                       output_dir or scratch, progress.update)
    header, cells = pipeline.comparison_cells(rows)
    table = Table(title=f"{test_file}: models trained on {train_file}", title_justify="left")
    for column in header:
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in cells:
        table.add_row(*row)
    out.print(table)
    if json_file is not None:
        outputs.write_json(json_file, "compare", {"rows": rows})
    if markdown is not None:
        with outputs.atomic_output(markdown) as f:
            f.write(f"<!-- {outputs.mark('compare')} -->\n" + pipeline.comparison_markdown(rows))


@app.command()
@reports_errors
def bench(
    models: Annotated[Optional[list[Path]], typer.Option("-m", "--model", help="Model directory (repeatable); "
                      "none: train each kind briefly on the bundled sample.")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Corpus to tag and train on (default: the "
                    "bundled NER sample).")] = None,
    train_bench: Annotated[bool, typer.Option("--train/--no-train", help="Also time BiLSTM training epochs.")] = True,
    stream_memory: Annotated[bool, typer.Option("--stream-memory", help="Only compare the peak memory of a "
                             "training epoch on --data held in memory against streamed (train --stream).")] = False,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the figures as JSON.")] = None,
    overwrite: OverwriteOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    layer: LayerOpt = None,
    scheme: SchemeOpt = SchemeChoice.auto,
    on_invalid: OnInvalidOpt = OnInvalid.repair,
) -> None:
    """Measure training and tagging throughput, start-up time and peak memory, for every model kind."""
    import tempfile

    from seqtag import bench as benchmark
    from seqtag import outputs, pipeline
    from seqtag.tagger import load_model

    read = _read_options(fmt, columns, layer, scheme, on_invalid)
    if data is None:
        data = pipeline.SAMPLE["train"]
        read.columns, read.layer = read.columns or pipeline.SAMPLE["columns"], read.layer or pipeline.SAMPLE["layer"]
    if json_file is not None:
        outputs.check_file_destination(json_file, "bench", overwrite, [data, *(models or [])])
    for model in models or []:  # a damaged model is refused before any measuring starts
        load_model(model)
    if stream_memory:
        with tempfile.TemporaryDirectory(prefix="seqtag-bench-stream-") as scratch:
            err.print(f"training one epoch on {data}, in memory and then streamed")
            result = benchmark.bench_stream_memory(data, read, Path(scratch))
        out.print(f"peak memory of a training epoch on {data} ({result['bytes'] / 1e6:,.1f} MB): "
                  f"in memory {result['memory']['peak_rss_mb']:,} MB, streamed {result['stream']['peak_rss_mb']:,} MB"
                  f" (ratio {result.get('stream_vs_memory_peak_rss', 'n/a')}); "
                  f"{result['memory']['seconds']} s against {result['stream']['seconds']} s")
        if json_file is not None:
            outputs.write_json(json_file, "bench", {"hardware": benchmark.hardware(), "stream_memory": result})
        return
    corpus, target, _ = read.read(data)
    with tempfile.TemporaryDirectory(prefix="seqtag-bench-models-") as scratch:
        if not models:
            models = []
            for kind in ("majority", "hmm", "perceptron", "bilstm"):
                err.print(f"training a {kind} model on {data}")
                config = {"training": {"max_epochs": 2}} if kind == "bilstm" else {}
                pipeline.train_model(kind, data, None, None, read, config, Path(scratch) / kind)
                models.append(Path(scratch) / kind)
        results = benchmark.run(models, corpus, target, corpus if train_bench else None, err.print)
    table = Table(title=f"tagging {results['data']['tokens']:,} tokens of {data}", title_justify="left")
    columns_shown = ["kind", "startup_s", "tag_end_to_end_tokens_per_s", "tag_model_tokens_per_s", "peak_rss_mb",
                     "model_mb"]
    ratio = next((k for k in results["tagging"][0] if k.startswith("tag_speed_vs_")), None)
    for name in columns_shown + ([ratio] if ratio else []):
        table.add_column(name.replace("_", " "), justify="left" if name == "kind" else "right")
    for row in results["tagging"]:
        table.add_row(*(f"{row[c]:,}" if isinstance(row[c], (int, float)) else str(row[c])
                        for c in columns_shown + ([ratio] if ratio else [])))
    out.print(table)
    for row in results["training"]:
        out.print(f"BiLSTM training on {row['device']}: {row['train_tokens_per_s']:,} tokens/s, "
                  f"{row['train_sentences_per_s']:,} sentences/s, {row['epoch_s']} s per epoch (after a warm-up epoch)")
    hw = results["hardware"]
    out.print(f"{hw['cpus']} CPUs, torch {hw['torch']} ({hw['torch_threads']} threads), GPU: {hw['cuda'] or 'none'}")
    if json_file is not None:
        outputs.write_json(json_file, "bench", results)


class ExportFormat(str, Enum):
    onnx = "onnx"
    torchscript = "torchscript"


@app.command()
@reports_errors
def export(
    model: Annotated[Path, typer.Option("-m", "--model", help="BiLSTM model directory.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="onnx (served by onnxruntime) or torchscript.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Folder to write into (default: the "
                      "model directory, so `seqtag tag --runtime onnx -m MODEL` finds it).")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Export a BiLSTM model's network to ONNX or TorchScript for serving."""
    from seqtag import outputs
    from seqtag.export import export as export_model
    from seqtag.tagger import EXPORT_FILES

    outputs.check_folder_destination(output or model, (*EXPORT_FILES, "model.json"), model, overwrite)
    target = export_model(model, fmt.value, output)
    err.print(f"wrote {target}")


def run(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code. Usage errors (unknown option, a value out of range) are one
    `error:` line with exit code 2, like every other error."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_terminate)
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="seqtag", standalone_mode=False)
    except typer.TyperException as e:  # click's usage errors
        context = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError":  # plain `seqtag`: the help, as before
            print(context.get_help() if context else str(e), file=sys.stderr)
            return 2
        message = (e.format_message() if hasattr(e, "format_message") else str(e)).replace("Value error, ", "")
        command_name = " ".join(context.command_path.split()[1:]) if context else ""
        hint = f" (seqtag {command_name} --help lists the options)" if command_name else " (seqtag --help)"
        print_error(" ".join(message.split()) + hint)
        return getattr(e, "exit_code", 2)
    except typer.Abort:
        print_error("interrupted")
        return 128 + _state["signal"]
    return code if isinstance(code, int) else 0


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(argv))


if __name__ == "__main__":
    main()
