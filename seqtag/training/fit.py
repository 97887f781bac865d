"""`seqtag train` behind the Python API: read the splits, train any kind, score it, write the model directory;
`--model auto` (fit_auto) and `--resume` (resumed_run).

They return values and report through callbacks; seqtag.api and the command line render them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from seqtag.data import formats
from seqtag.data.formats.text import file_sha256
from seqtag.data import labels as L
from seqtag.data.corpus import HELD_OUT, Corpus
from seqtag.data.reading import ReadOptions, file_record, warn_unseen_labels
from seqtag import settings
from seqtag.settings import RunConfig
from seqtag.errors import DataError, Interrupted, ModelFormatError
from seqtag.schedule import RESOLVED


def train_model(kind: str, train_path, dev_path, test_path, read: ReadOptions, config: dict, output: str | Path,
                resume: bool = False, on_progress: Callable[[dict], None] | None = None) -> dict:
    """`fit_model` into a model directory; returns its model.json document."""
    return fit_model(kind, train_path, dev_path, test_path, read, config, output, resume, on_progress)[1]


def fit_model(
    kind: str,
    train_path: str | Path,
    dev_path: str | Path | None,
    test_path: str | Path | None,
    read: ReadOptions,
    config: dict | RunConfig,
    output: str | Path | None,
    resume: bool = False,
    on_progress: Callable[[dict], None] | None = None,
):
    """Train a tagger of any kind, score it on dev and test, and save it to `output` (atomically; after every epoch
    too, for kinds that train in epochs) unless `output` is None.

    Returns (tagger, the model.json document, the extra files of the model directory); (None, {}, {}) on the
    torchrun ranks other than 0.
    """
    from seqtag.data.evaluation import score_tagger
    from seqtag.kinds import kind as kind_named
    from seqtag.models.tagger import Trained, TrainRun
    from seqtag.models.tagger import model_document, save_model
    from seqtag.modeldir import METRICS_FILE

    output = Path(output) if output is not None else None
    report = on_progress or (lambda event: None)
    chosen = kind_named(kind)
    if read.stream and "stream" not in chosen.capabilities:
        raise DataError(f"--stream trains the BiLSTM only; the {kind} baseline reads its training data into memory")
    # the one point where a configuration becomes typed: checked before any data is read, unchanged from here on
    config = config if isinstance(config, RunConfig) else chosen.configure(config)
    if "vectors" in chosen.capabilities and config.model.embeddings and not resume:
        from seqtag.data import vectors  # numpy: imported only when vectors are asked for

        # from a flag, a keyword or a TOML file alike: found, and kept as an absolute path
        config = config.with_model(embeddings=vectors.checked_source(config.model.embeddings))
    if config.training.init and not resume:
        from seqtag.training import init

        config = init.configured(config, kind)  # the network's settings are the --init model's
    hold_out = config.training.hold_out
    if read.stream and dev_path is None and hold_out:
        raise DataError(f"--hold-out {hold_out} needs the training data in memory, which --stream does not keep: "
                        "give --dev")
    if config.training.refit and (read.stream or (dev_path is None and not hold_out)):
        raise DataError("--refit trains again on train + dev held in memory for the epochs dev chose: give --dev "
                        "(or --hold-out N)" + (", without --stream" if read.stream else ""))
    try:
        if isinstance(train_path, Corpus):  # already read (compare's learning curve trains on subsets)
            scheme = L.Scheme(read.scheme) if read.scheme else None
            train, layer, repaired = formats.prepare(train_path, read.layer, scheme, read.on_invalid)
        else:
            train, layer, repaired = read.read(train_path, stream=read.stream)
        if read.layer is None and len(train.layers) > 1 and not resume:
            report({"event": "warning", "message": f"no --layer given: training on the last column, {layer!r} (the "
                    f"layers are {', '.join(train.layers)}); name the one to learn with --layer"})
        read = replace(read, layer=layer)  # the caller's options stay as they were
        scheme = train.schemes[layer]
        dev = dev_path if isinstance(dev_path, Corpus) else read.read(dev_path, scheme)[0] if dev_path else None
        test = read.read(test_path, scheme)[0] if test_path else None
        if isinstance(train, Corpus):  # a streamed corpus is not read once more just for this
            known = {label for sentence in train for label in sentence.labels[layer]}
            for corpus in (dev, test):
                if corpus is not None:
                    warn_unseen_labels(corpus, layer, known, scheme, report)
        data = {"train": file_record(train_path, train)}
        if dev is not None:
            data["dev"] = file_record(dev_path, dev)
        if test is not None:
            data["test"] = file_record(test_path, test)
        info = {
            "config": config.to_dict(),
            "training": {"data": data, "read": asdict(read), "repaired_train_sentences": repaired,
                         "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")},
            "metrics": {},
        }
        trained = chosen.trainer_function()(train, dev, layer, config, run=TrainRun(output, info, resume, on_progress))
        trained = trained if isinstance(trained, Trained) else Trained(trained)  # a baseline returns its tagger
        if _finish_distributed():
            return None, {}, {}  # under torchrun, rank 0 alone scores and writes the model
    except KeyboardInterrupt as e:  # a trainer may say how far it got: KeyboardInterrupt("before an epoch ...")
        stage = str(e) or "before training finished"
        raise Interrupted(f"interrupted {stage}; {_left_as_it_was(output)}", output) from None
    tagger = trained.tagger
    info["training"].update(trained.training)
    if scheme is L.Scheme.BMES:
        tagger.train_words = {"".join(s.tokens[a:b]) for s in train
                              for a, b, _ in L.to_spans(s.labels[layer], scheme)}
    vectors = tagger.vectors({name: corpus for name, corpus in (("train", train), ("dev", dev), ("test", test))
                              if corpus is not None})
    if vectors is not None:
        info["training"]["vectors"] = vectors
    metrics = {}
    if dev is not None:  # held out: where the model was fitted on dev, as the trainer scored it before
        metrics["dev"] = trained.dev_report if trained.dev_report is not None else score_tagger(tagger, dev)
    if test is not None:
        metrics["test"] = score_tagger(tagger, test)
    info["metrics"] = metrics
    dev_report = metrics.get("dev")
    if dev_report is not None and dev_report[dev_report["metric"]] == 0.0 and any(
            label != "O" for sentence in dev for label in sentence.labels[layer]):  # (not a dev set without spans)
        report({"event": "warning", "message": f"the model scores 0.00 {dev_report['metric']} on dev: it learned "
                "nothing it can show there (every label O?); train longer (--max-epochs), on more data, or check "
                "--layer and --columns"})
    files = {**trained.files, METRICS_FILE: json.dumps(metrics, indent=2) + "\n"}
    if output is None:
        return tagger, model_document(tagger, info), trained.files
    save_model(tagger, output, info, files)
    if trained.interrupted:
        raise Interrupted(trained.interrupted, output)
    return tagger, json.loads((output / "model.json").read_text("utf-8")), {}


def fit_auto(train_path, dev_path, test_path, read: ReadOptions, config: dict, time_budget: float | None = None,
             on_progress: Callable[[dict], None] | None = None):
    """`seqtag train --model auto`: train each of kinds.AUTO_CANDIDATES on the training data (in memory), score
    each on dev, and keep the best; only the winner is scored on test. Without a dev file, every HELD_OUT-th training
    document (or sentence: Corpus.hold_out) is held out as dev (and the winner is trained without them). With
    `time_budget` (seconds), a kind starts only while time is left, and the BiLSTM starts no epoch after it runs
    out (it trains last).

    Returns (tagger, model.json document, extra files) of the winner, with the choice in training.selection."""
    import time

    from seqtag.data.evaluation import score_tagger
    from seqtag.kinds import AUTO_CANDIDATES

    report = on_progress or (lambda event: None)
    train, layer, _ = read.read(train_path)
    read = replace(read, layer=layer)
    held_out = None
    if dev_path is None:
        if len(train) < HELD_OUT:
            raise DataError(f"--model auto chooses on dev data: give --dev (a training file of {len(train)} "
                            f"sentence(s) is too small to hold some out)", train_path)
        train, dev = train.hold_out(HELD_OUT)
        held_out = dev.source
    else:
        dev = read.read(dev_path, train.schemes[layer])[0]
    started = time.perf_counter()
    candidates, best = [], None
    for kind in AUTO_CANDIDATES:
        spent = time.perf_counter() - started
        if time_budget is not None and candidates and spent >= time_budget:
            candidates.append({"kind": kind, "skipped": f"the time budget ({time_budget:g} s) was spent"})
            report({"event": "warning", "message": f"--model auto: no time left for {kind} ({spent:.0f} s spent)"})
            continue
        run_config = config
        if time_budget is not None:  # the BiLSTM stops between epochs; the baselines take no such setting
            left = max(time_budget - spent, 1.0)
            run_config = {**config, "training": {**config.get("training", {}), "max_seconds": left}}
        report({"event": "note", "message": f"--model auto: training {kind}"})
        fitted = fit_model(kind, train, dev, None, read, run_config, None, on_progress=on_progress)
        if fitted[1]["training"].get("stopped") == "interrupted":  # kept its best epoch, but the user said stop
            raise Interrupted(f"interrupted while --model auto trained {kind}; nothing was saved")
        dev_report = fitted[1]["metrics"]["dev"]
        candidates.append({"kind": kind, "dev_score": dev_report[dev_report["metric"]], "metric": dev_report["metric"],
                           "seconds": round(time.perf_counter() - started - spent, 1)})
        if best is None or candidates[-1]["dev_score"] > best[0]["dev_score"]:
            best = (candidates[-1], fitted)
    chosen, (tagger, document, files) = best
    others = ", ".join(f"{c['kind']} {100 * c['dev_score']:.2f}" for c in candidates
                       if "dev_score" in c and c is not chosen)
    why = (f"{chosen['kind']}, the best dev {chosen['metric']}: {100 * chosen['dev_score']:.2f}"
           + (f" (against {others})" if others else ""))
    document["training"]["selection"] = {"candidates": candidates, "chosen": chosen["kind"], "why": why,
                                         "dev": held_out or document["training"]["data"]["dev"]["path"],
                                         "time_budget_s": time_budget}
    if test_path is not None:
        test = read.read(test_path, train.schemes[layer])[0]
        document["training"]["data"]["test"] = file_record(test_path, test)
        document["metrics"]["test"] = score_tagger(tagger, test)
    report({"event": "note", "message": f"--model auto chose {why}"})
    return tagger, document, files


def resumed_run(output: Path, train, dev, test, options: dict):
    """(kind, train, dev, test, read options, config) of the run saved in `output`, for --resume: the saved
    configuration and data, unless given again; only the epoch limits may change."""
    from seqtag.kinds import kind as kind_named
    from seqtag.modeldir import read_model_json

    saved = read_model_json(output)
    if options.get("init"):
        raise DataError("--init starts a new run from a model; --resume continues the run saved here: give one",
                        output)
    allowed = {"max_epochs", "patience", "keep_checkpoint"}
    if set(options) - allowed:
        raise DataError(f"--resume continues the saved run; only --max-epochs, --patience and --keep-checkpoint may "
                        f"change, not "
                        f"{', '.join(sorted(set(options) - allowed))}", output)

    def damaged(reason: str) -> ModelFormatError:
        return ModelFormatError(f"the saved run cannot be resumed: its record is damaged ({reason}); train it again "
                                "without --resume", output / "model.json")

    try:
        trainer = kind_named(saved.get("kind"))
    except DataError as error:
        raise damaged(error.message) from None
    if options:
        trainer.configure({"training": dict(options)})  # the values given now: an error in them is the caller's
    try:  # what the saved run used, checked here so that a damaged record is reported as model.json's
        config = settings.merge_config(saved["config"], {"training": options})
        # settings left to corpus size and device go on as the saved run resolved them, so a run begun on a GPU and
        # resumed on a CPU keeps its batch size and learning rate, and a rule changed since does not change the run
        for name in RESOLVED:
            if name in saved["training"] and name not in options:
                config["training"][name] = saved["training"][name]
        trainer.configure(config)
        data = saved["training"]["data"]
        train = train or Path(data["train"]["path"])
        dev = dev or (Path(data["dev"]["path"]) if "dev" in data else None)
        test = test or (Path(data["test"]["path"]) if "test" in data else None)
        read = ReadOptions(**saved["training"]["read"])
    except (DataError, KeyError, TypeError, AttributeError) as error:
        raise damaged(error.message if isinstance(error, DataError) else f"{type(error).__name__}: {error}") from None
    for role, path in (("train", train), ("dev", dev)):  # the data that early stopping and the vocabulary rest on
        record = data.get(role) or {}  # the same file, changed since (another file given is refused later)
        digest, same = record.get("sha256"), path is not None and str(path) == record.get("path")
        if digest and same and Path(path).is_file() and file_sha256(path) != digest:
            raise DataError(f"--resume: this {role} file is not the one the run was trained with (sha256 "
                            f"{digest[:12]}); resuming would compare dev scores across other data: train again "
                            "without --resume", path)
    return saved["kind"], train, dev, test, read, config


def _left_as_it_was(output: Path | None) -> str:
    from seqtag.outputs import model_kind_at

    if output is not None and model_kind_at(output) is not None:
        return f"the model already in {output} is left as it was"
    return "nothing was saved"


def _finish_distributed() -> bool:
    """Leave torchrun's process group; True on the ranks other than 0, which have nothing more to do."""
    import sys

    if "torch.distributed" not in sys.modules:  # a baseline: torch was never imported
        return False
    import torch.distributed as dist

    if not dist.is_initialized():
        return False
    rank = dist.get_rank()
    dist.barrier()
    dist.destroy_process_group()
    return rank != 0
