"""What the command line shows: Rich tables of results on stdout, progress and warnings on stderr.

Only the CLI calls this module; the core returns plain values and events.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import rich.table


class _Console:
    """A Rich console made on first use: `seqtag tag` prints nothing through Rich, so it does not pay for importing
    Rich at start-up (docs/benchmarks.md measures start-up)."""

    def __init__(self, **options):
        self.options, self.console = options, None

    def rich(self):
        if self.console is None:
            from rich.console import Console

            self.console = Console(**self.options)
        return self.console

    def __getattr__(self, name):
        return getattr(self.rich(), name)


def Table(*args, **kwargs):  # Rich's class, imported when a table is drawn
    from rich.table import Table

    return Table(*args, **kwargs)


out = _Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)  # results; wide tables when piped
err = _Console(stderr=True, soft_wrap=True)  # progress, warnings, errors


def statistics(names: list[str], reports: list[dict]) -> None:
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


def _rich(console):
    """The Rich console itself, for Rich objects that take one."""
    return console.rich() if isinstance(console, _Console) else console


class TrainingProgress:
    """A Rich progress bar per epoch on stderr, and one summary line per epoch."""

    def __enter__(self):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("loss {task.fields[loss]:.3f}  {task.fields[speed]:,.0f} tok/s"),
                                 TimeElapsedColumn(), TextColumn("epoch left"), TimeRemainingColumn(),
                                 console=_rich(err), transient=True, disable=not err.is_terminal)
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
            most = f" of at most {event['max_epochs']}" if event.get("max_epochs") else ""
            self.task = self.progress.add_task(f"epoch {event['epoch']}{most}", total=event["batches"], loss=0.0,
                                               speed=0)
        elif event["event"] == "batch":
            self.tokens += event["tokens"]
            speed = self.tokens / max(time.perf_counter() - self.started, 1e-9)
            self.progress.update(self.task, advance=1, loss=event["loss"], speed=speed)
        elif event["event"] in ("warning", "note"):
            notice(event)
        elif event["event"] == "epoch_end":
            dev = f"dev {event['dev']['metric']} {100 * event['dev_score']:.2f}" if "dev" in event else ""
            self.progress.console.print(
                f"epoch {event['epoch']:>3}  loss {event['loss']:8.3f}  {dev}  best epoch {event['best_epoch']}  "
                f"{event['tokens_per_s']:,} tok/s  {event['seconds']:.1f}s", highlight=False)


def reading_progress(lines, stream, interactive: bool = False):
    """`lines` as they are read from `stream` (stdin), with a progress line on stderr where stderr is a terminal and
    no one is typing the input: a bar with the time left when stdin is a file, else lines read and the time spent."""
    if not err.is_terminal or interactive:
        return lines
    return _reading(lines, stream)


def _reading(lines, stream):
    import os
    import stat

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    try:
        status = os.fstat(stream.fileno())
        size = status.st_size if stat.S_ISREG(status.st_mode) and status.st_size else None
        done = stream.tell() if size else 0
    except (OSError, ValueError, AttributeError):
        size, done = None, 0
    columns = [BarColumn(), TimeRemainingColumn()] if size else []
    with Progress(TextColumn("tagging stdin: {task.fields[count]:,} lines read"), *columns, TimeElapsedColumn(),
                  console=_rich(err), transient=True, redirect_stdout=False, redirect_stderr=False) as progress:
        task = progress.add_task("", total=size, completed=done, count=0)
        for count, line in enumerate(lines, 1):
            yield line
            if count % 2000 == 0:
                progress.update(task, completed=_position(stream, done), count=count)


def _position(stream, fallback: int) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return fallback


def dev_curve(model_dir: Path) -> None:
    """On a terminal, the dev score per epoch as a sparkline with the kept epoch marked under it."""
    from seqtag.modeldir import read_train_log

    if not err.is_terminal:
        return
    records = read_train_log(model_dir)
    scored = [r for r in records if "dev" in r]
    if len(scored) < 2:
        return
    scores = [r["dev_score"] for r in scored]
    low, high = min(scores), max(scores)
    bars = "".join("▁▂▃▄▅▆▇█"[round(7 * (s - low) / (high - low)) if high > low else 0] for s in scores)
    kept = next((i for i, r in enumerate(scored) if r["epoch"] == records[-1]["best_epoch"]), None)
    label = f"dev {scored[0]['dev']['metric']} by epoch  "
    err.print(f"{label}{bars}  {100 * low:.2f} .. {100 * high:.2f}", highlight=False)
    if kept is not None:
        err.print(" " * (len(label) + kept) + f"^ kept: epoch {scored[kept]['epoch']}", highlight=False)


def metrics(metrics: dict) -> None:
    from seqtag.data.evaluation import figure_name

    for name, report in metrics.items():
        title = f"{figure_name(name, report)}: {report['metric']} {100 * report[report['metric']]:.2f}"
        out.print(report_table(report, title))


def fraction(fail_under: float) -> float:
    """--fail-under 0.85 and --fail-under 85 mean the same; say which reading was taken."""
    if fail_under <= 1:
        err.print(f"--fail-under {fail_under:g} read as a fraction: {100 * fail_under:.2f}%", highlight=False)
        return fail_under
    err.print(f"--fail-under {fail_under:g} read as a percentage: {fail_under:.2f}%", highlight=False)
    return fail_under / 100


def interval(report: dict) -> str:
    """" (95% interval 88.41-89.97, 1,000 resamples)" where the report has one, else ""."""
    if "interval" not in report:
        return ""
    found = report["interval"]
    return (f" ({100 * found['level']:.0f}% interval {100 * found['low']:.2f}-{100 * found['high']:.2f}, "
            f"{found['samples']:,} resamples)")


def report_table(report: dict, title: str) -> rich.table.Table:
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


def notice(event: dict) -> None:
    """A core event worth a line on stderr: a warning, or a file written."""
    if event.get("event") == "warning":
        err.print(f"warning: {event['message']}", highlight=False, markup=False)
    elif event.get("event") in ("wrote", "note"):
        err.print(event["message"], highlight=False, markup=False)


def files_progress(event: dict) -> None:
    """`tag --input`: a line per finished output, and warnings (an input that failed) as they come."""
    if event.get("event") == "file":
        err.print(f"[{event['number']}/{event['of']}] {event['name']} ({event['tokens']:,} tokens so far)",
                  highlight=False, markup=False)
    else:
        notice(event)


def files_outcome(done: dict, folder: Path) -> None:
    """The summary of `tag --input`; failed inputs make it an error (exit 2), after the others were written."""
    from seqtag.errors import DataError

    kept = f", {len(done['skipped'])} already finished" if done["skipped"] else ""
    err.print(f"tagged {len(done['tagged'])} file(s) into {folder} ({done['tokens']:,} tokens){kept}",
              highlight=False, markup=False)
    if done["failed"]:
        names = ", ".join(sorted(done["failed"]))
        raise DataError(f"{len(done['failed'])} input(s) failed ({names}); the other outputs are written, and a run "
                        "started again tags only what is not finished")


def model_card(model: Path, document: dict, runtime: str | None = None) -> None:
    from seqtag.data.evaluation import figure_name
    from seqtag.inputs import shown
    from seqtag.models.tagger import resolved_config

    table = Table(title=shown(str(model)), title_justify="left", show_header=False)
    table.add_column("")
    table.add_column("")
    recipe = document.get("recipe") or {}
    if recipe:
        _row(table, "model", f"{recipe.get('name')}: {recipe.get('description')}")
        _row(table, "trained on", str(recipe.get("data")))
        _row(table, "licence", str(recipe.get("licence")))
    _row(table, "kind", document["kind"])
    _row(table, "layer", f"{document['layer']} ({document['scheme']})")
    _row(table, "labels", " ".join(document["labels"]))
    if document.get("features"):
        _row(table, "input features", ", ".join(document["features"]))
    training = document.get("training", {})
    for section, values in resolved_config(document).items():  # settings left to corpus size: as resolved
        _row(table, f"config {section}", json.dumps(values))
    if "char_encoder" in training:  # BiLSTM settings that default to a rule of corpus size and device: as trained
        chars = {"cnn": "a character CNN", "lstm": "a character BiLSTM"}.get(training["char_encoder"], "no characters")
        average = f", a weight average of decay {training['ema']:g}" if training.get("ema") else ", no weight average"
        schedule = f", learning rate {training['lr']:g}, at most {training['max_epochs']} epochs" if "lr" in training else ""
        _row(table, "trained with", f"batches of {training['batch_tokens']:,} padded tokens{schedule}, {chars}"
                      + (average if "ema" in training else ""))
    vectors = training.get("vectors")
    if vectors:
        _row(table, "word vectors", f"{_shown(vectors['source'])}: {vectors['words']:,} words of {vectors['dim']} "
                      f"dimensions, {'fine-tuned' if vectors['fine_tuned'] else 'frozen'} on the training words")
        from seqtag.data.vectors import coverage_lines  # numpy: only for a model that has vectors

        for role, text in coverage_lines(vectors):
            _row(table, f"vectors cover {role}", text + (" (every pretrained word, before compacting)"
                                                           if document.get("compact") else ""))
    for role, record in training.get("data", {}).items():
        file = (f", {record['bytes']:,} bytes, sha256 {record['sha256'][:12]}" if record.get("sha256")
                and record.get("bytes") is not None else "")
        _row(table, f"{role} data", f"{_shown(record['path'])} ({record['sentences']:,} sentences, "
                      f"{record['tokens']:,} tokens{file})")
    selection = training.get("selection")
    if selection:
        _row(table, "chosen by --model auto", f"{selection['why']}; dev data: {_shown(selection['dev'])}")
    for key in ("epochs", "best_epoch", "stopped", "date"):
        if key in training:
            _row(table, key.replace("_", " "), str(training[key]))
    held_out = training.get("held_out")
    if held_out:
        _row(table, "dev data", f"held out of the training data: {_shown(held_out['dev'])} ({held_out['sentences']:,} "
                      f"sentences, {held_out['tokens']:,} tokens), not trained on")
    scored_on_dev = "dev" in training.get("data", {}) or held_out
    if training.get("best_dev_score") is not None and scored_on_dev:
        _row(table, "best dev score", f"{100 * training['best_dev_score']:.2f} (what early stopping saw)")
    elif "best_epoch" in training and not scored_on_dev:
        _row(table, "epoch kept", "the one with the lowest training loss (no dev data)")
    context = training.get("context_layer")
    if context and context.get("interrupted"):
        _row(table, "context layer", "not fitted (interrupted): zero")
    elif context:
        held_out = context["held_out_dev_score"]
        verdict = "kept, fitted on the dev set" if context["kept"] else "not kept (zero)"
        _row(table, "context layer", f"{verdict}; held-out dev halves {100 * held_out['with']:.2f} with it, "
                                       f"{100 * held_out['without']:.2f} without")
    refit = training.get("refit")
    if refit and not refit.get("interrupted"):
        _row(table, "refit", f"this network was trained again on train + dev ({refit['sentences']:,} sentences) "
                               f"for {refit['epochs']} epochs, the number dev chose")
    before = " (before compacting)" if document.get("compact") else ""  # what training measured, at full size
    for name, report in document.get("metrics", {}).items():
        _row(table, f"{figure_name(name, report)} {report['metric']}{before}",
                      f"{100 * report[report['metric']]:.2f}")
    compact = document.get("compact")
    if compact:
        _row(table, "shipped form", f"{compact['pretrained_words']:,} of {compact['pretrained_words_before']:,} "
                      f"pretrained words kept beyond the training words, weights stored in {compact['precision']}")
    for form, report in recipe.get("scores", {}).items():
        _row(table, f"test {report['metric']} at {form} size", f"{100 * report[report['metric']]:.2f} "
                      f"({recipe.get('test')})")
    if runtime:
        _row(table, "tagging runtime", runtime)
    _row(table, "versions", f"seqtag {document['seqtag_version']}, torch {document['torch_version']}, "
                  f"format {document['format_version']}")
    out.print(table)


def model_list(rows: list[dict]) -> None:
    """`seqtag models`: one row per model seqtag can find."""
    table = Table(show_header=True, header_style="bold")
    for column in ("name", "source", "task", "labels", "trained on", "test score", "size", "licence"):
        table.add_column(column, justify="right" if column in ("labels", "size") else "left")
    for row in rows:
        if "error" in row:
            table.add_row(row["name"], row["source"], f"[red]{row['error']}[/red]", "", "", "", "", "")
            continue
        score = row["score"]
        figure = f"{score['metric']} {100 * score['value']:.2f} ({Path(str(score['on'])).name})" if score else "-"
        table.add_row(row["name"], row["source"], row["task"], str(row["labels"]), row["data"], figure,
                      f"{row['size_bytes'] / 1e6:.1f} MB", row["licence"])
    out.print(table if rows else "no models: none bundled or installed, and no model folder here or in ./models")


def _row(table: Table, *cells) -> None:
    """A row of text from a model folder, which may be anyone's: shown as it is, never as markup or as the
    terminal's control sequences."""
    from rich.text import Text

    from seqtag.inputs import shown

    table.add_row(*(Text(shown(str(cell))) for cell in cells))


def _shown(path: str) -> str:
    """A stored absolute path, relative to the current directory where it lies below it (shorter to read)."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def comparison(rows: list[dict], title: str) -> None:
    from seqtag.report.compare import comparison_cells

    header, cells = comparison_cells(rows)
    table = Table(title=title, title_justify="left")
    for column in header:
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in cells:
        table.add_row(*row)
    out.print(table)


def benchmark(results: dict, data) -> None:
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
    for row in results["tagging"]:
        stages = ", ".join(f"{name.replace('_', ' ')} {seconds:.2f}" for name, seconds in row["stages_s"].items())
        parts = sum(row["stages_s"].get(name, 0.0) for name in ("encode", "network", "decode"))
        overlap = " (encode and network are summed over batches run at once)" if parts > row["stages_s"]["model"] else ""
        out.print(f"{row['kind']} ({row['runtime']}), seconds per stage: {stages}{overlap}", highlight=False)
    for row in results["training"]:
        out.print(f"BiLSTM training on {row['device']}: {row['train_tokens_per_s']:,} tokens/s, "
                  f"{row['train_sentences_per_s']:,} sentences/s, {row['epoch_s']} s per epoch (after a warm-up epoch)")
    hw = results["hardware"]
    out.print(f"{hw['cpus']} CPUs, torch {hw['torch']} ({hw['torch_threads']} threads), GPU: {hw['cuda'] or 'none'}")


def stream_memory(result: dict) -> None:
    out.print(f"peak memory of a training epoch on {result['data']} ({result['bytes'] / 1e6:,.1f} MB): "
              f"in memory {result['memory']['peak_rss_mb']:,} MB, streamed {result['stream']['peak_rss_mb']:,} MB"
              f" (ratio {result.get('stream_vs_memory_peak_rss', 'n/a')}); "
              f"{result['memory']['seconds']} s against {result['stream']['seconds']} s")


def selection_outcome(chosen: int, counts: dict) -> None:
    """The summary of `seqtag select` on stderr: what was read, and what was passed over and why."""
    from seqtag.runtime.tagging import MAX_TOKENS

    passed = [f"{counts[key]:,} {why}" for key, why in (("annotated", "already annotated"), ("repeated", "repeats"),
                                                        ("long", f"over {MAX_TOKENS:,} tokens")) if counts.get(key)]
    err.print(f"chose {chosen:,} of {counts.get('read', 0):,} sentences" + (f" ({', '.join(passed)} passed over)"
              if passed else ""), highlight=False, markup=False)
