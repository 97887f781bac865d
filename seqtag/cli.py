"""The command line: one thin function per command, wiring options to the Python API (seqtag.api) and printing
what it returns (seqtag.show). The only module that exits.

Heavy modules (torch, datasets) are imported inside the commands that need them, so `seqtag --help` stays fast.
Results go to stdout; progress, warnings and errors go to stderr. Exit codes: 0 success, 1 a failed
`--fail-under` gate, 2 bad input or usage, 3 a model that cannot be loaded, 4 an internal error, 130 (143)
interrupted by Ctrl-C (SIGTERM).
"""

from __future__ import annotations

import functools
import inspect
import signal
import sys
import threading
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from seqtag import __version__, formats, kinds
from seqtag.api import EXPORT_FORMATS, RUNTIMES
from seqtag.errors import DataError, Interrupted, SeqtagError
from seqtag.labels import Scheme
from seqtag.show import err, out
from seqtag.tagging import TEXT_INPUTS

app = typer.Typer(
    name="seqtag",
    help="Sequence labelling from the command line: POS tagging, NER, chunking and word segmentation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,  # plain help: option texts like "[model]" are not markup, flags show no <bool>
)
_state = {"debug": False, "signal": signal.SIGINT}  # the signal that interrupts, for the exit code


def _choices(name: str, values) -> type[Enum]:
    """An Enum of choices for Typer, from a list that lives in the core."""
    return Enum(name, {value: value for value in values}, type=str)


# Choices derived from the registries (seqtag.kinds, seqtag.formats): never spelled here.
FormatChoice = _choices("FormatChoice", formats.NAMES)
ModelKind = _choices("ModelKind", kinds.KINDS)
TEXT_FORMATS = [name for name, fmt in formats.FORMATS.items() if fmt.text]
InputFormat = _choices("InputFormat", [*TEXT_INPUTS, *TEXT_FORMATS])
OutputFormat = _choices("OutputFormat", [*TEXT_FORMATS, *(a for n in TEXT_FORMATS for a in formats.FORMATS[n].aliases)])
SchemeChoice = _choices("SchemeChoice", ["auto", *Scheme])
OnInvalid = _choices("OnInvalid", ["repair", "error"])
Runtime = _choices("Runtime", RUNTIMES)
ExportFormat = _choices("ExportFormat", EXPORT_FORMATS)

# Options shared by every command that reads a corpus (../shared/CLI.md).
FormatOpt = Annotated[Optional[FormatChoice], typer.Option("--format", help="Input format; detected when omitted.")]
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


def _reading(fmt, columns, layer, scheme, on_invalid) -> dict:
    """The shared corpus options as seqtag.api keywords."""
    return {"format": fmt.value if fmt else None, "columns": _columns(columns), "layer": layer,
            "scheme": None if scheme.value == "auto" else scheme.value, "on_invalid": on_invalid.value}


def _read_options(fmt, columns, layer, scheme, on_invalid):
    from seqtag.pipeline import ReadOptions

    reading = _reading(fmt, columns, layer, scheme, on_invalid)
    return ReadOptions(reading.pop("format"), **reading)


def _columns(columns: str | None) -> list[str] | None:
    return [c.strip() for c in columns.split(",") if c.strip()] if columns else None


def with_kind_options(command):
    """Add every model kind's own options (seqtag.kinds) to a command as Typer options: declared once, in the
    registry. The command receives them as **options; `_typed` says which ones the user typed."""
    signature = inspect.signature(command, eval_str=True)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    for option in kinds.all_options().values():
        owners = "/".join(k.name for k in kinds.KINDS.values() if option in k.options)
        limits = {"min": option.minimum, "max": option.maximum} if option.type in (int, float) else {}
        value_type = _choices(option.name, option.choices) if option.choices else option.type
        info = typer.Option(option.flag, help=f"{option.help} [{owners}]", **limits)
        annotation = Annotated[value_type if option.type is bool else Optional[value_type], info]
        params.append(inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY,
                                        default=False if option.type is bool else None, annotation=annotation))
    command.__signature__ = signature.replace(parameters=params)
    return command


def _typed(context: typer.Context, options: dict) -> dict:
    """The kind options the user typed, as plain values."""
    return {name: value.value if isinstance(value, Enum) else value for name, value in options.items()
            if context.get_parameter_source(name).name != "DEFAULT"}


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


# ---------------------------------------------------------------------------------------------------- commands


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
    to_format: Annotated[FormatChoice, typer.Option("--to-format", help="Format of the -o files.")] = "canonical",
    on_invalid: OnInvalidOpt = OnInvalid.repair,
    dataset: Annotated[
        Optional[str], typer.Option("--dataset", help="A Hugging Face dataset (hub name or save_to_disk folder).")
    ] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="With --dataset: one split (default: all).")] = None,
    output: Annotated[Optional[str], typer.Option("-o", "--output", help="Write the converted corpus here: a file "
                                                 "for one input, else (or ending in /) a folder.")] = None,
    stats_json: Annotated[Optional[Path], typer.Option("--json", help="Write the statistics as JSON.")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Check corpora, convert them to another scheme or format, and print corpus statistics."""
    from seqtag import outputs, pipeline, show

    if stats_json is not None:
        outputs.check_file_destination(stats_json, "preprocess", overwrite, files or [])
    read = _read_options(fmt, columns, layer, scheme, on_invalid)
    target = None if to_scheme in (None, SchemeChoice.auto) else to_scheme.value
    names, reports = pipeline.preprocess(files or [], dataset, split, read, target, output, FormatChoice(to_format).value,
                                         overwrite, show.notice)
    show.statistics(names, reports)
    if stats_json is not None:
        outputs.write_json(stats_json, "preprocess", {"files": dict(zip(names, reports))})


@app.command()
@with_kind_options
@reports_errors
def train(
    context: typer.Context,
    train_file: Annotated[Optional[Path], typer.Option("--train", help="Training file; omitted: the bundled sample.")] = None,
    dev_file: Annotated[Optional[Path], typer.Option("--dev", help="Dev file: early stopping and model choice.")] = None,
    test_file: Annotated[Optional[Path], typer.Option("--test", help="Test file, scored once at the end.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Model directory.")] = None,
    model: Annotated[ModelKind, typer.Option("--model", help="Tagger kind.")] = kinds.DEFAULT_KIND,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the model directory's checkpoint.")] = False,
    overwrite: OverwriteOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    layer: LayerOpt = None,
    scheme: SchemeOpt = SchemeChoice.auto,
    on_invalid: OnInvalidOpt = OnInvalid.repair,
    **options,
) -> None:
    """Train a BiLSTM(-CRF) tagger or a baseline and save it as a model directory."""
    from seqtag import api, pipeline, show

    kind = ModelKind(model).value
    if train_file is None and not resume:
        err.print(f"no --train given: training on the bundled sample in {pipeline.DATA_DIR}")
    output = output or Path("models") / (layer or (pipeline.SAMPLE["layer"] if train_file is None else kind))
    with show.TrainingProgress() as progress:
        trained = api.train(train_file, dev_file, test_file, kind, output, resume=resume, overwrite=overwrite,
                            on_progress=progress.update, **_reading(fmt, columns, layer, scheme, on_invalid),
                            **_typed(context, options))
    if trained.predictor is not None:  # None on the torchrun ranks other than 0
        err.print(f"saved {output}")
        show.metrics(trained.metrics)


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
    from seqtag import api, outputs, pipeline, show

    gold = gold or gold_option
    if gold is None or (model is None) == (pred is None):
        raise DataError("give -m MODEL GOLD, or --pred PRED --gold GOLD")
    threshold = _fraction(fail_under) if fail_under is not None else None
    if json_file is not None:
        outputs.check_file_destination(json_file, "evaluate", overwrite, [model, gold, pred])
    reading = _reading(fmt, columns, layer, scheme, on_invalid)
    if model is not None:
        report = api.load(model).evaluate(gold, strict=strict, on_progress=show.notice, **reading)
    else:
        report = pipeline.evaluate_files(pred, gold, _read_options(fmt, columns, layer, scheme, on_invalid), strict)
    value = report[report["metric"]]
    out.print(show.report_table(report, f"{gold}: {report['metric']} {100 * value:.2f}"))
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


@app.command()
@reports_errors
def info(model: Annotated[Path, typer.Argument(help="Model directory.")]) -> None:
    """Describe a trained model: task, labels, configuration, metrics, training data, library versions."""
    from seqtag import show
    from seqtag.tagger import read_model_json

    show.model_card(model, read_model_json(model))


@app.command()
@reports_errors
def tag(
    model: Annotated[Path, typer.Option("-m", "--model", help="Model directory.")],
    input_format: Annotated[InputFormat, typer.Option("--input-format", help="raw text (tokenized here), "
                            "whitespace tokens, or any corpus format.")] = "raw",
    output_format: Annotated[OutputFormat, typer.Option("--output-format", help="Any corpus format; jsonl adds "
                             "spans and character offsets.")] = "conll",
    columns: ColumnsOpt = None,
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
                       "`seqtag export --format onnx`.")] = "torch",
    workers: Annotated[int, typer.Option("--workers", min=1, max=256, help="Tagging processes (output stays in "
                       "input order).")] = 1,
) -> None:
    """Tag text from stdin with a trained model and stream the result to stdout."""
    from seqtag import api

    tagger = api.load(model, Runtime(runtime).value)
    lines = formats.decode_stdin(sys.stdin.buffer, replace=replace_invalid)
    for text in tagger.tag_lines(lines, InputFormat(input_format).value, OutputFormat(output_format).value,
                                 window=batch_size, probs=probs, nbest=nbest, workers=workers,
                                 columns=_columns(columns)):
        sys.stdout.write(text)  # a closed pipe (`| head`) ends quietly in reports_errors
    sys.stdout.flush()


@app.command()
@reports_errors
def compare(
    train_file: Annotated[Path, typer.Option("--train", help="Training file.")],
    test_file: Annotated[Path, typer.Option("--test", help="Test file every model is scored on.")],
    dev_file: Annotated[Optional[Path], typer.Option("--dev", help="Dev file (early stopping of the BiLSTMs).")] = None,
    models: Annotated[str, typer.Option("--models", help="Comma-separated, from: " + ",".join(kinds.variants()))
                      ] = ",".join(kinds.variants()),
    output_dir: Annotated[Optional[Path], typer.Option("-o", "--output-dir", help="Keep the trained models here "
                                                       "(default: a temporary folder).")] = None,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the rows as JSON.")] = None,
    markdown: Annotated[Optional[Path], typer.Option("--markdown", help="Write a Markdown table.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed.")] = None,
    max_epochs: Annotated[Optional[int], typer.Option("--max-epochs", min=1, help="For every kind that trains in "
                          "epochs.")] = None,
    features: Annotated[Optional[str], typer.Option("--features", help="Extra input columns for the BiLSTMs.")] = None,
    overwrite: OverwriteOpt = False,
    fmt: FormatOpt = None,
    columns: ColumnsOpt = None,
    layer: LayerOpt = None,
    scheme: SchemeOpt = SchemeChoice.auto,
    on_invalid: OnInvalidOpt = OnInvalid.repair,
) -> None:
    """Train several taggers on one split and compare them side by side."""
    from seqtag import outputs, pipeline, show

    names = _columns(models) or []
    config = pipeline.merge_config({}, {"training": {"seed": seed, "max_epochs": max_epochs},
                                        "features": _columns(features)})
    with show.TrainingProgress() as progress:
        rows = pipeline.compare_models(names, train_file, dev_file, test_file, _read_options(fmt, columns, layer,
                                       scheme, on_invalid), config, output_dir, progress.update, overwrite,
                                       {"--json": json_file, "--markdown": markdown})
    show.comparison(rows, f"{test_file}: models trained on {train_file}")
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
    from seqtag import bench as benchmark
    from seqtag import outputs, show

    data, read = benchmark.default_data(data, _read_options(fmt, columns, layer, scheme, on_invalid))
    if json_file is not None:
        outputs.check_file_destination(json_file, "bench", overwrite, [data, *(models or [])])
    if stream_memory:
        results = benchmark.bench_stream_memory(data, read, err.print)
        show.stream_memory(results)
    else:
        results = benchmark.run_all(models or [], data, read, train_bench, err.print)
        show.benchmark(results, data)
    if json_file is not None:
        outputs.write_json(json_file, "bench", results)


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
    target = export_model(model, ExportFormat(fmt).value, output)
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
