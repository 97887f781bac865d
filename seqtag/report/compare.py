"""`seqtag compare`: every model kind trained on one split and scored on one test file, side by side, and the
learning curve (each kind trained on growing fractions of the training set, same seed, same dev and test)."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from seqtag.data.corpus import Corpus
from seqtag.data import labels as L
from seqtag.data.bootstrap import interval, paired
from seqtag.errors import DataError
from seqtag.settings import config_from_options, merge_config
from seqtag.data.reading import ReadOptions
from seqtag.training.fit import train_model


def comparable_kinds(names: list[str]) -> list[str]:
    """The model kind behind each name of `compare --models` (seqtag.kinds.variants); an unknown name is an error."""
    from seqtag.kinds import variants

    table = variants()
    if not names:
        raise DataError(f"--models names no model; give some of {', '.join(table)}")
    unknown = [n for n in names if n not in table]
    if unknown:
        raise DataError(f"--models: unknown model(s) {', '.join(unknown)}; expected some of {', '.join(table)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:  # one row and one model folder per name
        raise DataError(f"--models names {', '.join(repeated)} more than once")
    return [table[name][0] for name in names]


def config_of(options: dict, door: str = "api") -> dict:
    """The settings compare takes (seed, max_epochs, features), checked and named as `door` names them, as the
    configuration every kind trains with."""
    return merge_config({}, config_from_options(options, door)[0])


def compare_models(
    names: list[str],
    train_path: str | Path,
    dev_path: str | Path | None,
    test_path: str | Path,
    read: ReadOptions,
    config: dict,
    output_dir: str | Path | None = None,
    on_progress: Callable[[dict], None] | None = None,
    overwrite: bool = False,
    reports: dict[str, Path | None] | None = None,
    fractions: list[float] | None = None,
    bootstrap: int = 0,
) -> list[dict]:
    """Train each model on the same split and score it on the test file: one row per model. The models are kept
    in `output_dir` (default: a temporary folder); `reports` (option -> path) are checked as outputs before any
    training starts. With `fractions`, the learning curve: rows for every fraction of the training set. With
    `bootstrap` resamples, each row has its score's 95% interval and the paired test against the best row."""
    from seqtag import outputs

    kinds = comparable_kinds(names)
    inputs = [train_path, dev_path, test_path]
    outputs.check_apart({**(reports or {}), "-o": output_dir})
    for option, path in (reports or {}).items():
        if path is not None:
            outputs.check_file_destination(path, "compare", overwrite, inputs, option)
    for name, kind in zip(names, kinds) if output_dir is not None and not fractions else ():
        outputs.check_model_destination(Path(output_dir) / name, kind, overwrite, inputs)
    if fractions and output_dir is not None and Path(output_dir).exists() and any(Path(output_dir).iterdir()):
        raise DataError("the learning curve keeps its models in a new folder; choose one that does not exist",
                        output_dir)
    with tempfile.TemporaryDirectory(prefix="seqtag-compare-") as scratch:
        if not fractions:
            return _train_and_score(names, train_path, dev_path, test_path, read, config,
                                    Path(output_dir or scratch), on_progress, bootstrap)
        return _learning_curve(names, train_path, dev_path, test_path, read, config, fractions,
                               Path(output_dir or scratch), on_progress, bootstrap)


def _learning_curve(names, train_path, dev_path, test_path, read: ReadOptions, config: dict, fractions: list[float],
                    workdir: Path, on_progress, bootstrap: int = 0) -> list[dict]:
    """Each model on the first `fraction` of one shuffled order of the training sentences (so every subset holds
    the smaller ones), the order fixed by the seed: one row per model and fraction."""
    train, layer, _ = read.read(train_path)
    seed = config.get("training", {}).get("seed") or 1
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    rows = []
    for fraction in sorted(set(fractions)):
        count = max(1, round(fraction * len(train)))
        subset = Corpus([train.sentences[i] for i in sorted(order[:count])], train.layers, train.schemes,
                        f"{train.source}[{fraction:g}]")
        (on_progress or (lambda event: None))({"event": "note", "message": f"training on {fraction:.0%} of "
                                               f"{train.source}: {count:,} sentences"})
        for row in _train_and_score(names, subset, dev_path, test_path, replace(read, layer=layer), config,
                                    workdir / f"{fraction:g}", on_progress, bootstrap):
            rows.append({"fraction": fraction, "train_sentences": count, "train_tokens": subset.num_tokens(), **row})
    return rows


def parse_fractions(text: str | None) -> list[float] | None:
    """`--learning-curve 0.05,0.1,0.25,0.5,1.0`: fractions of the training set, each above 0 and at most 1."""
    if text is None:
        return None
    try:
        fractions = [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise DataError(f"--learning-curve takes fractions such as 0.1,0.5,1.0, not {text!r}") from None
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise DataError(f"--learning-curve fractions must be above 0 and at most 1, not {text!r}")
    return fractions


def _train_and_score(names, train_path, dev_path, test_path, read: ReadOptions, config: dict, workdir: Path,
                     on_progress, bootstrap: int = 0) -> list[dict]:
    import torch  # noqa: F401  imported before the clocks start, so no model pays for it

    from seqtag.data.bootstrap import sentence_counts
    from seqtag.data.evaluation import score_tagger
    from seqtag.modeldir import CHECKPOINT_FILE
    from seqtag.models.loading import load_model

    from seqtag.kinds import variants

    rows, counts = [], {}
    for name in names:
        kind, model_settings = variants()[name]
        run_config = merge_config(config, {"model": dict(model_settings)})  # each kind takes its own settings
        started = time.perf_counter()
        document = train_model(kind, train_path, dev_path, None, ReadOptions(**asdict(read)), run_config,
                               Path(workdir) / name, on_progress=on_progress)
        train_seconds = time.perf_counter() - started
        tagger = load_model(Path(workdir) / name)
        test_in_scheme = ReadOptions(**{**asdict(read), "layer": tagger.layer}).read(test_path, tagger.scheme)[0]
        started = time.perf_counter()
        predicted = tagger.predict(test_in_scheme.sentences)
        tag_seconds = time.perf_counter() - started
        report = score_tagger(tagger, test_in_scheme, predicted=predicted)
        if bootstrap:
            counts[name] = sentence_counts(test_in_scheme.column(tagger.layer), predicted, tagger.scheme)
        size = sum(f.stat().st_size for f in (Path(workdir) / name).iterdir() if f.name != CHECKPOINT_FILE)
        rows.append({
            "model": name,
            "metric": report["metric"],
            "score": report[report["metric"]],
            "per_type_f1": {k: v["f1"] for k, v in report.get("per_type", {}).items()},
            "oov_accuracy": report.get("oov_accuracy"),
            "oov_recall": report.get("oov_recall"),
            "train_seconds": round(train_seconds, 1),
            "tokens_per_s": round(test_in_scheme.num_tokens() / tag_seconds) if tag_seconds > 0 else None,
            "model_bytes": size,
            "best_epoch": document["training"].get("best_epoch"),
            "report": report,
        })
    if bootstrap:
        _paired_tests(rows, counts, L.Scheme(rows[0]["report"]["scheme"]), bootstrap)
    return rows


def _paired_tests(rows: list[dict], counts: dict, scheme, samples: int) -> None:
    """Each row's 95% interval, and the paired bootstrap test of the best row against each other one (the same
    test sentences, the same resamples)."""
    best = max(rows, key=lambda r: r["score"])
    for row in rows:
        row["interval"] = interval(counts[row["model"]], scheme, samples)
        if row is not best:
            row["against_best"] = {"model": best["model"], **paired(counts[best["model"]], counts[row["model"]],
                                                                    scheme, samples)}


def comparison_cells(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of a comparison, shared by the terminal table and the Markdown file."""
    types = sorted({t for r in rows for t in r["per_type_f1"]})
    curve = bool(rows) and "fraction" in rows[0]
    tested = any("interval" in r for r in rows)
    header = ["model", *(["train %", "train tokens"] if curve else []), rows[0]["metric"] if rows else "score",
              *(["95% interval", "against the best"] if tested else []),
              *[f"F1 {t}" for t in types], "OOV", "train s", "tag tokens/s", "size MB"]
    cells = []
    for r in rows:
        oov = r["oov_accuracy"] if r["oov_accuracy"] is not None else r["oov_recall"]
        share = [f"{100 * r['fraction']:g}", f"{r['train_tokens']:,}"] if curve else []
        cells.append([r["model"], *share, f"{100 * r['score']:.2f}", *(tested_cells(r) if tested else []),
                      *[f"{100 * r['per_type_f1'].get(t, 0):.2f}" for t in types],
                      f"{100 * oov:.2f}" if oov is not None else "-", f"{r['train_seconds']:.1f}",
                      f"{r['tokens_per_s']:,}", f"{r['model_bytes'] / 1e6:.1f}"])
    return header, cells


def tested_cells(row: dict) -> list[str]:
    """The interval, and the paired test against the best row: "-1.23, p 0.004 *" (* where p < 0.05)."""
    low, high = row["interval"]["low"], row["interval"]["high"]
    test = row.get("against_best")
    if test is None:
        return [f"{100 * low:.2f}-{100 * high:.2f}", "best"]
    mark = " *" if test["p_value"] < 0.05 else ""
    p = f"p {test['p_value']:.3f}" if test["p_value"] else f"p < {1 / test['samples']:.3f}"  # no resample flipped
    return [f"{100 * low:.2f}-{100 * high:.2f}", f"{-100 * test['difference']:+.2f}, {p}{mark}"]


def comparison_markdown(rows: list[dict]) -> str:
    header, cells = comparison_cells(rows)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n"
