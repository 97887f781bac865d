"""The commands: one thin function per command, wiring options to the Python API (seqtag.api) or the command's
public module and printing what it returns (seqtag.cli.show). They register on seqtag.cli.app, which runs them
inside its one error boundary; `main` and `run` are its.

Heavy modules (torch, datasets) are imported inside the commands that need them, so `seqtag --help` stays fast.
Results go to stdout; progress, warnings and errors go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from seqtag.arguments import COUNTS
from seqtag.cli import options as shared
from seqtag.cli.app import app, fail, main, reports_errors, run  # noqa: F401 (main, run: the entry points)
from seqtag.cli.options import (AUTO, AUTO_CANDIDATES, COMPARABLE, COMPARED_BY_DEFAULT, DEFAULT_KIND, BootstrapOpt,
                                ColumnsOpt, Engine, EntityScheme, ExportFormat, FormatChoice, InputFormat, ModelKind,
                                OutputFormat, OverwriteOpt, Runtime, SchemeChoice, Strategy)
from seqtag.cli.show import err, out
from seqtag.errors import DataError


# ---------------------------------------------------------------------------------------------------- commands


@app.command()
@reports_errors
@shared.with_reading_options
def preprocess(
    files: Annotated[Optional[list[Path]], typer.Argument(help="Corpus files; the first is the training set.")] = None,
    to_scheme: Annotated[
        Optional[SchemeChoice], typer.Option("--to-scheme", help="Convert the target layer to this scheme.")
    ] = None,
    to_format: Annotated[FormatChoice, typer.Option("--to-format", help="Format of the -o files.")] = "canonical",
    keep_layers: Annotated[Optional[str], typer.Option("--keep-layers", help="Write only these label layers "
                           "(comma-separated; none: the tokens alone). A format that cannot hold what is written "
                           "refuses before writing.")] = None,
    dataset: Annotated[
        Optional[str], typer.Option("--dataset", help="A Hugging Face dataset (hub name or save_to_disk folder).")
    ] = None,
    split: Annotated[Optional[str], typer.Option("--split", help="With --dataset: one split (default: all).")] = None,
    output: Annotated[Optional[str], typer.Option("-o", "--output", help="Write the converted corpus here: a file "
                                                 "for one input, else (or ending in /) a folder.")] = None,
    stats_json: Annotated[Optional[Path], typer.Option("--json", help="Write the statistics as JSON.")] = None,
    overwrite: OverwriteOpt = False,
    reading: dict | None = None,
) -> None:
    """Check corpora, convert them to another scheme or format, and print corpus statistics."""
    from seqtag import outputs
    from seqtag.data.preprocess import preprocess as convert
    from seqtag.cli import show

    outputs.check_apart({"--json": stats_json, "-o": output})
    if stats_json is not None:
        outputs.check_file_destination(stats_json, "preprocess", overwrite, files or [])
    read = shared.read_options(reading)
    target = None if to_scheme in (None, SchemeChoice.auto) else to_scheme.value
    keep = None if keep_layers is None else [c for c in shared.columns_of(keep_layers) or [] if c != "none"]
    names, reports = convert(files or [], dataset, split, read, target, output, FormatChoice(to_format).value,
                             overwrite, show.notice, keep)
    show.statistics(names, reports)
    if stats_json is not None:
        outputs.write_json(stats_json, "preprocess", {"files": dict(zip(names, reports))})


@app.command()
@shared.with_kind_options
@reports_errors
@shared.with_reading_options
def train(
    context: typer.Context,
    train_file: Annotated[Optional[Path], typer.Option("--train", help="Training file (- reads stdin); omitted: the bundled sample.")] = None,
    dev_file: Annotated[Optional[Path], typer.Option("--dev", help="Dev file: early stopping and model choice.")] = None,
    test_file: Annotated[Optional[Path], typer.Option("--test", help="Test file, scored once at the end.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Model directory or name (seqtag models).")] = None,
    model: Annotated[ModelKind, typer.Option("--model", help=f"Tagger kind; {AUTO}: train "
                     f"{', '.join(AUTO_CANDIDATES)}, keep the best on dev.")] = DEFAULT_KIND,
    time_budget: Annotated[Optional[float], typer.Option("--time-budget", help="Seconds for --model auto: a kind "
                           "starts only while time is left; the BiLSTM, last, stops after the epoch that spends it.")
                           ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the model directory's checkpoint.")] = False,
    overwrite: OverwriteOpt = False,
    reading: dict | None = None,
    **options,
) -> None:
    """Train a BiLSTM(-CRF) tagger or a baseline and save it as a model directory."""
    from seqtag import api
    from seqtag.cli import show

    source = context.get_parameter_source("model")  # --resume takes the kind from the folder unless --model is typed
    kind = ModelKind(model).value if not resume or getattr(source, "name", "DEFAULT") != "DEFAULT" else None
    if train_file is None and not resume:
        err.print(f"no --train given: training on the bundled sample in {api.SAMPLE['train'].parent.parent}")
    sample_layer = api.SAMPLE["layer"] if train_file is None else kind or ""
    output = output or Path("models") / (reading["layer"] or sample_layer)
    with show.TrainingProgress() as progress:
        trained = api.train(train_file, dev_file, test_file, kind, output, resume=resume, overwrite=overwrite,
                            on_progress=progress.update, time_budget=time_budget,
                            **reading, **shared.typed(context, kind, options))
    if trained.predictor is not None:  # None on the torchrun ranks other than 0
        err.print(f"saved {output}")
        show.dev_curve(output)
        show.metrics(trained.metrics)


def _tag_files(tagger, engine: str, *args, workers: int, actors: int, address: str | None, **how) -> dict:
    if engine == "local":
        return tagger.tag_files(*args, workers=workers, **how)
    from seqtag import ray as on_ray  # the [ray] extra

    return on_ray.tag_files(tagger, *args, actors=actors, address=address, **how)


@app.command()
@reports_errors
@shared.with_reading_options
def evaluate(
    gold: Annotated[Optional[Path], typer.Argument(help="Gold file; with -m and none: the model's test file (else dev).")] = None,
    model: Annotated[Optional[Path], typer.Option("-m", "--model", help="Model directory or name (seqtag models).")] = None,
    pred: Annotated[Optional[Path], typer.Option("--pred", help="A system's output file, scored without a model.")] = None,
    gold_option: Annotated[Optional[Path], typer.Option("--gold", help="Gold file (with --pred).")] = None,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the scores as JSON.")] = None,
    fail_under: Annotated[Optional[float], typer.Option("--fail-under", min=0, max=100, help="Exit 1 when the main "
                          "metric is below this: a fraction (0.85) or, above 1, a percentage (85).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="seqeval strict mode instead of conlleval's reading.")] = False,
    bootstrap: BootstrapOpt = 0,
    overwrite: OverwriteOpt = False,
    reading: dict | None = None,
) -> None:
    """Score a model (or a prediction file) against a gold file."""
    from seqtag import api, outputs
    from seqtag.data.evaluation import evaluate_files
    from seqtag.cli import show

    gold = gold or gold_option or (api.own_gold(model) if model is not None and pred is None else None)
    if gold is None or (model is None) == (pred is None):
        raise DataError("give -m MODEL [GOLD], or --pred PRED --gold GOLD")
    threshold = show.fraction(fail_under) if fail_under is not None else None
    if json_file is not None:
        outputs.check_file_destination(json_file, "evaluate", overwrite, [model, gold, pred])

    if model is not None:
        # checked before the model may export its network
        gold_corpus = api.read_gold(model, gold, on_progress=show.notice, **reading)
        report = api.load(model, on_progress=show.notice).evaluate(gold_corpus, strict=strict, bootstrap=bootstrap,
                                                                   on_progress=show.notice)
    else:
        report = evaluate_files(pred, gold, shared.read_options(reading), strict, bootstrap)
    value = report[report["metric"]]
    out.print(show.report_table(report, f"{gold}: {report['metric']} {100 * value:.2f}{show.interval(report)}"))
    if json_file is not None:
        outputs.write_json(json_file, "evaluate", report)
    if threshold is not None and round(100 * value, 2) < round(100 * threshold, 2):  # as printed
        fail(f"{report['metric']} {100 * value:.2f} is under --fail-under {100 * threshold:.2f}", 1)


@app.command()
@reports_errors
def info(
    model: Annotated[Optional[Path], typer.Argument(help="Model directory or name (seqtag models).")] = None,
    model_option: Annotated[Optional[Path], typer.Option("-m", "--model", help="Model directory or name (as for tag and "
                            "evaluate; or give it as the argument).")] = None,
) -> None:
    """Describe a trained model: task, labels, configuration, metrics, training data, library versions."""
    from seqtag import api
    from seqtag.cli import show

    (model,) = shared.models_of([model] if model else [], [model_option] if model_option else [], one=True)
    show.model_card(model, *api.describe(model))


@app.command()
@reports_errors
def models(
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the list as JSON.")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """List the models to use by name (bundled with seqtag, installed as packages) and the model folders here and in
    ./models: task, labels, data, test score, size and licence."""
    from seqtag import api, outputs
    from seqtag.cli import show

    if json_file is not None:
        outputs.check_file_destination(json_file, "models", overwrite, [])
    found = api.models()
    show.model_list(found)
    if json_file is not None:
        outputs.write_json(json_file, "models", {"models": found})


@app.command()
@reports_errors
def serve(
    models: Annotated[list[str], typer.Option("-m", "--model", help="Model directory or name (repeatable; a request "
                      "chooses among them by name).")],
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback unless told otherwise).")] =
    "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: a free one, printed).")] = 8080,
    max_batch_tokens: Annotated[int, typer.Option("--max-batch-tokens", min=1, help="Tokens tagged in one runtime "
                                "call: requests that arrive together are batched up to this.")] = 4096,
    max_wait_ms: Annotated[float, typer.Option("--max-wait-ms", min=0, help="How long a batch waits for more "
                           "requests.")] = 5.0,
    max_queue: Annotated[int, typer.Option("--max-queue", min=1, help="Requests waiting per model; past it, 503 "
                         "with Retry-After.")] = 256,
    max_body: Annotated[int, typer.Option("--max-body", min=1, help="Bytes of one request; past it, 413.")] =
    1_000_000,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Tokens of one request; past it, 413.")] =
    20_000,
    engine: Annotated[Engine, typer.Option("--engine", help="Serve here (uvicorn), or on Ray Serve (the [ray] "
                      "extra too).")] = "local",
    replicas: Annotated[int, typer.Option("--replicas", min=COUNTS["replicas"][0], max=COUNTS["replicas"][1],
                        help="--engine ray: Ray Serve replicas, each holding the models once (one CPU each).")] = 1,
    address: Annotated[Optional[str], typer.Option("--address", help="--engine ray: auto, ray://HOST:PORT (default: "
                       "a local Ray).")] = None,
) -> None:
    """Serve models over HTTP: POST /tag, GET /models, /healthz, /readyz, /metrics, and a page at / (the [serve]
    extra)."""
    from seqtag import serve as serving

    limits = serving.Limits(max_batch_tokens, max_wait_ms, max_queue, max_body, max_tokens)
    if Engine(engine).value == "local" and (replicas != 1 or address is not None):
        raise DataError("--replicas and --address are for --engine ray")

    def ready(url: str) -> None:
        on_ray = Engine(engine).value == "ray"
        copies = f" ({replicas} Ray Serve replica{'s' if replicas > 1 else ''})" if on_ray else ""
        err.print(f"serving {', '.join(models)} on {url}{copies} (Ctrl-C stops)", highlight=False)

    if Engine(engine).value == "ray":
        from seqtag import ray as on_ray

        on_ray.serve(models, replicas, host, port, limits, address, on_ready=ready)
    else:
        serving.run(models, host, port, limits, on_ready=ready)


@app.command(name="package")
@reports_errors
def package_model(
    model: Annotated[Path, typer.Argument(help="Model directory or name.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write the wheel into.")] = Path("dist"),
    name: Annotated[Optional[str], typer.Option("--name", help="The name to install it under (default: the "
                    "folder's name).")] = None,
    version: Annotated[str, typer.Option("--version", help="The package's version.")] = "1.0.0",
    overwrite: OverwriteOpt = False,
) -> None:
    """Build a wheel of a model that, once pip-installed, seqtag finds by name (-m NAME, seqtag models)."""
    from seqtag import api

    err.print(f"wrote {api.package(model, output, name=name, version=version, overwrite=overwrite)}")


@app.command()
@reports_errors
def tag(
    model: Annotated[Path, typer.Option("-m", "--model", help="Model directory or name (seqtag models).")],
    input_format: Annotated[InputFormat, typer.Option("--input-format", help="raw text (tokenized here), "
                            "whitespace tokens, or any corpus format.")] = "raw",
    output_format: Annotated[OutputFormat, typer.Option("--output-format", help="Any corpus format; jsonl adds "
                             "spans and character offsets; html highlights entities for reading.")] = "conll",
    columns: ColumnsOpt = None,
    output_scheme: Annotated[Optional[EntityScheme], typer.Option("--output-scheme", help="Write entity labels in "
                             "this scheme (default: the model's, that of its training data).")] = None,
    window: Annotated[int, typer.Option(
        "--window", min=COUNTS["window"][0], max=COUNTS["window"][1], help="Sentences read and tagged at a time, at most 96,000 tokens (a model's "
        "context layer pools mentions within them; --batch-size in train is padded tokens per training batch)."
    )] = 2000,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, hidden=True)] = None,  # --window's old name
    replace_invalid: Annotated[bool, typer.Option("--replace-invalid", help="Replace invalid UTF-8 bytes "
                               "instead of stopping.")] = False,
    probs: Annotated[bool, typer.Option("--probs", help="Add each label's probability (CRF marginals or "
                     "softmax), and in jsonl each entity span's (BiLSTM models).")] = False,
    nbest: Annotated[int, typer.Option("--nbest", min=COUNTS["nbest"][0], max=COUNTS["nbest"][1], help="Add the N best label sequences with their "
                     "scores (CRF and HMM models, jsonl output).")] = 0,
    min_prob: Annotated[Optional[float], typer.Option("--min-prob", min=0, max=1, help="Write as O the entity spans "
                        "with a token less probable than this (CRF marginals or softmax; BiLSTM models).")] = None,
    runtime: Annotated[Runtime, typer.Option("--runtime", help="auto: onnxruntime for a BiLSTM (the network is "
                       "exported into the model folder on first use), else PyTorch; or torch, onnx, or onnx-int8 "
                       "(int8 weights: faster, labels may differ slightly).")] = "auto",
    workers: Annotated[int, typer.Option("--workers", min=COUNTS["workers"][0], max=COUNTS["workers"][1], help="Tagging processes (output stays in "
                       "input order).")] = 1,
    inputs: Annotated[Optional[list[str]], typer.Option("--input", help="Tag these files (paths or quoted glob "
                      "patterns, repeatable) into --output-dir instead of stdin to stdout.")] = None,
    output_dir: Annotated[Optional[Path], typer.Option("--output-dir", help="With --input: one output per input, "
                          "of the same name; a run started again skips the outputs already finished.")] = None,
    interactive: Annotated[bool, typer.Option("--interactive", help="Tag and print each line as soon as it is read "
                           "(the default when stdin is a terminal); otherwise lines are tagged --window at a "
                           "time.")] = False,
    split: Annotated[bool, typer.Option("--split/--no-split", help="Raw text: split each line into sentences "
                     "(jsonl gives each one's line, sentence and offsets into the line); --no-split: a line is a "
                     "sentence.")] = True,
    overwrite: OverwriteOpt = False,
    engine: Annotated[Engine, typer.Option("--engine", help="--input: tag here, or on Ray (the [ray] extra).")] = "local",
    actors: Annotated[int, typer.Option("--actors", min=COUNTS["actors"][0], max=COUNTS["actors"][1], help="--engine ray: Ray actors, each "
                      "holding the model once.")] = 1,
    address: Annotated[Optional[str], typer.Option("--address", help="--engine ray: auto, ray://HOST:PORT.")] = None,
) -> None:
    """Tag text from stdin with a trained model and stream the result to stdout (or files into a folder)."""
    from seqtag import api
    from seqtag.cli import show

    if (inputs is None) != (output_dir is None) or (inputs is None and Engine(engine).value != "local"):
        raise DataError("--input and --output-dir go together (files in, one output each in the folder), and "
                        "--engine ray tags files")
    if inputs is not None and (probs or nbest or min_prob is not None):
        raise DataError("--probs, --nbest and --min-prob tag stdin to stdout; --input tags files into --output-dir")
    window = shared.renamed("--batch-size", "--window", batch_size, window)
    tagger = api.load(model, Runtime(runtime).value, on_progress=show.notice)
    scheme = output_scheme.value if output_scheme else None
    if inputs is not None:
        done = _tag_files(tagger, Engine(engine).value, inputs, output_dir, InputFormat(input_format).value,
                          OutputFormat(output_format).value, workers=workers, actors=actors, address=address,
                          window=window, columns=shared.columns_of(columns), replace_invalid=replace_invalid,
                          overwrite=overwrite, on_progress=show.files_progress, output_scheme=scheme, split=split)
        return show.files_outcome(done, output_dir)
    interactive = interactive or sys.stdin.isatty()  # a person typing sees each line's tags at once
    lines = show.reading_progress(api.text_lines(sys.stdin.buffer, replace_invalid), sys.stdin.buffer, interactive)
    for text in tagger.tag_lines(lines, InputFormat(input_format).value, OutputFormat(output_format).value,
                                 window=1 if interactive else window, probs=probs, nbest=nbest, workers=workers,
                                 columns=shared.columns_of(columns), output_scheme=scheme, min_prob=min_prob,
                                 split=split):
        print(text, end="", flush=interactive)  # a closed pipe (`| head`) ends quietly in reports_errors
    sys.stdout.flush()


@app.command(name="select")
@reports_errors
def select_batch(
    model: Annotated[Path, typer.Option("-m", "--model", help="Model directory or name (seqtag models).")],
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="Sentences to choose.")] = 100,
    strategy: Annotated[Strategy, typer.Option("--strategy", help="least-confidence, margin, entropy (summed over "
                        "tokens), mnlp (log probability per token): by the model's probabilities (BiLSTM); random: "
                        "the control, any model.")] = shared.DEFAULT_STRATEGY,
    annotated: Annotated[Optional[list[Path]], typer.Option("--annotated", help="A corpus already annotated (any "
                         "format, repeatable): its sentences are not chosen again.")] = None,
    input_format: Annotated[InputFormat, typer.Option("--input-format", help="The pool: raw text (split into "
                            "sentences and tokenized here), whitespace tokens, or any corpus format.")] = "raw",
    output_format: Annotated[OutputFormat, typer.Option("--output-format", help="How the chosen sentences are "
                             "written, with the model's labels as pre-annotations: doccano or Label Studio to "
                             "import for correction, jsonl (with each one's uncertainty), any corpus format.")] = "jsonl",
    columns: ColumnsOpt = None,
    split: Annotated[bool, typer.Option("--split/--no-split", help="Raw text: split each line into sentences.")] = True,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --strategy random.")] = 1,
    replace_invalid: Annotated[bool, typer.Option("--replace-invalid", help="Replace invalid UTF-8 bytes "
                               "instead of stopping.")] = False,
) -> None:
    """Choose the sentences of an unlabelled pool (stdin) most worth annotating next; write them to stdout with the
    model's labels, most uncertain first."""
    from seqtag import api
    from seqtag.cli import show
    from seqtag.runtime import selection

    ranked = Strategy(strategy).value != "random"  # the probabilities come from PyTorch
    tagger = api.load(model, "torch" if ranked else "auto", on_progress=show.notice)
    done = (s.tokens for path in annotated or [] for s in api.read_corpus(path, stream=True))
    lines = show.reading_progress(api.text_lines(sys.stdin.buffer, replace_invalid), sys.stdin.buffer, False)
    counts: dict = {}
    chosen = selection.select_lines(tagger, lines, count, Strategy(strategy).value, seed=seed, split=split,
                                    input_format=InputFormat(input_format).value, annotated=done, counts=counts,
                                    columns=shared.columns_of(columns), output_format=OutputFormat(output_format).value)
    for text in selection.render_selected(chosen, tagger.layer, OutputFormat(output_format).value):
        print(text, end="")
    show.selection_outcome(len(chosen), counts)


@app.command()
@reports_errors
@shared.with_reading_options
def compare(
    train_file: Annotated[Path, typer.Option("--train", help="Training file.")],
    test_file: Annotated[Path, typer.Option("--test", help="Test file every model is scored on.")],
    dev_file: Annotated[Optional[Path], typer.Option("--dev", help="Dev file (early stopping of the BiLSTMs).")] = None,
    models: Annotated[str, typer.Option("--models", help="Comma-separated, from: " + ",".join(COMPARABLE))
                      ] = ",".join(COMPARED_BY_DEFAULT),
    output_dir: Annotated[Optional[Path], typer.Option("-o", "--output-dir", help="Keep the trained models here "
                                                       "(default: a temporary folder).")] = None,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the rows as JSON.")] = None,
    markdown: Annotated[Optional[Path], typer.Option("--markdown", help="Write a Markdown table.")] = None,
    seed: shared.setting_option("seed", "Random seed.") = None,
    max_epochs: shared.setting_option("max_epochs", "For every kind that trains in epochs.") = None,
    features: shared.setting_option("features", "Extra input columns for the BiLSTMs.") = None,
    learning_curve: Annotated[Optional[str], typer.Option("--learning-curve", help="Train each model on these "
                              "fractions of the training set, e.g. 0.05,0.1,0.25,0.5,1.0.")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="Write the comparison (or the learning curve) as "
                    "an HTML page with its figure.")] = None,
    bootstrap: BootstrapOpt = 0,
    overwrite: OverwriteOpt = False,
    reading: dict | None = None,
) -> None:
    """Train several taggers on one split and compare them side by side."""
    from seqtag import outputs
    from seqtag.report import compare as comparison
    from seqtag.cli import show

    fractions = comparison.parse_fractions(learning_curve)
    config = comparison.config_of({"seed": seed, "max_epochs": max_epochs, "features": features}, "flag")
    with show.TrainingProgress() as progress:
        rows = comparison.compare_models(shared.columns_of(models) or [], train_file, dev_file, test_file,
                                         shared.read_options(reading), config, output_dir,
                                         progress.update, overwrite, {"--json": json_file, "--markdown": markdown,
                                                                      "--html": html}, fractions, bootstrap)
    show.comparison(rows, f"{test_file}: models trained on {train_file}")
    if json_file is not None:
        outputs.write_json(json_file, "compare", {"rows": rows})
    if markdown is not None:
        with outputs.atomic_output(markdown) as f:
            f.write(f"<!-- {outputs.mark('compare')} -->\n" + comparison.comparison_markdown(rows))
    if html is not None:
        from seqtag.report import html as report

        report.write_comparison(html, rows, f"{Path(test_file).name}: models trained on {Path(train_file).name}")


@app.command()
@reports_errors
@shared.with_reading_options
def report(
    models: Annotated[Optional[list[Path]], typer.Argument(help="Model directories or names (several: side by side).")] = None,
    model_options: Annotated[Optional[list[Path]], typer.Option("-m", "--model", help="Model directory or name, repeatable "
                             "(as for tag and evaluate; or give them as arguments).")] = None,
    data: Annotated[Optional[list[Path]], typer.Option("--data", help="Gold file to analyse (once for all models, "
                    "or once per model); default: each model's test file, else its dev file.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="The HTML file to write.")] = Path("report.html"),
    bootstrap: BootstrapOpt = 1000,
    overwrite: OverwriteOpt = False,
    reading: dict | None = None,
) -> None:
    """Write an HTML report: training curve, scores per label, confusions, errors in context, model card."""
    from seqtag import outputs
    from seqtag.report import html as reporting

    models = shared.models_of(models or [], model_options or [])
    data = data or []
    if len(data) not in (0, 1, len(models)):
        raise DataError(f"--data: give one gold file for all models or one per model, not {len(data)} for "
                        f"{len(models)}")
    outputs.check_file_destination(output, "report", overwrite, [*models, *data], "-o")
    golds = data * len(models) if len(data) == 1 else data or [None] * len(models)

    analyses = [reporting.analyse(model, gold, reading) for model, gold in zip(models, golds)]
    reporting.write_report(output, analyses, bootstrap)
    err.print(f"wrote {output}")


@app.command()
@reports_errors
@shared.with_reading_options
def bench(
    models: Annotated[Optional[list[Path]], typer.Option("-m", "--model", help="Model directory or name (repeatable); "
                      "none: train each kind briefly on the bundled sample.")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Corpus to tag and train on (default: the "
                    "bundled NER sample).")] = None,
    train_bench: Annotated[bool, typer.Option("--train/--no-train", help="Also time BiLSTM training epochs.")] = True,
    devices: Annotated[Optional[list[str]], typer.Option("--device", help="Device to time BiLSTM training on "
                       "(repeatable: cpu, cuda, cuda:N; default: cpu, and cuda where there is one).")] = None,
    stream_memory: Annotated[bool, typer.Option("--stream-memory", help="Only compare the peak memory of a "
                             "training epoch on --data held in memory against streamed (train --stream).")] = False,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the figures as JSON.")] = None,
    overwrite: OverwriteOpt = False,
    reading: dict | None = None,
) -> None:
    """Measure training and tagging throughput, start-up time and peak memory, for every model kind."""
    from seqtag.report import bench as benchmark
    from seqtag import outputs
    from seqtag.cli import show

    data, read = benchmark.default_data(data, shared.read_options(reading))
    if json_file is not None:
        outputs.check_file_destination(json_file, "bench", overwrite, [data, *(models or [])])
    if stream_memory:
        results = benchmark.bench_stream_memory(data, read, err.print)
        show.stream_memory(results)
    else:
        results = benchmark.run_all(models or [], data, read, train_bench, err.print, devices)
        show.benchmark(results, data)
    if json_file is not None:
        outputs.write_json(json_file, "bench", results)


@app.command()
@reports_errors
def export(
    model: Annotated[Path, typer.Option("-m", "--model", help="BiLSTM model directory or name.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="onnx (served by onnxruntime) or torchscript.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Folder to write into (default: the "
                      "model directory, so `seqtag tag --runtime onnx -m MODEL` finds it).")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Export a BiLSTM model's network to ONNX or TorchScript for serving."""
    from seqtag import api

    err.print(f"wrote {api.export(model, ExportFormat(fmt).value, output, overwrite=overwrite)}")
