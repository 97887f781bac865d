"""Plain functions behind the commands: read the splits, train any tagger, save it, score it.

They return values and report through callbacks; the CLI renders them. Tests and Python users call them directly.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from seqtag.data import formats
from seqtag.data.formats.text import file_sha256
from seqtag.data import labels as L
from seqtag.data.corpus import HELD_OUT, Corpus, StreamedCorpus
from seqtag import settings
from seqtag.errors import DataError, Interrupted, ModelFormatError
from seqtag.schedule import RESOLVED

DATA_DIR = Path(__file__).resolve().parent.parent / "sample"  # package data, so a wheel install has it too
SAMPLE = {  # the bundled NER sample: what `seqtag train` trains with no arguments
    "train": DATA_DIR / "ner" / "train.txt",
    "dev": DATA_DIR / "ner" / "dev.txt",
    "test": DATA_DIR / "ner" / "test.txt",
    "columns": ["word", "pos", "chunk", "ner"],
    "layer": "ner",
}


SCHEMES = tuple(scheme.value for scheme in L.Scheme)
ON_INVALID = ("repair", "error")  # repair invalid sequences (I-X after O) as conlleval reads them, or stop
KEEP_INVALID = "keep"  # evaluate --strict: a system's predictions are scored as they are


def _text(name: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise DataError(f"{name} must be a non-empty string, not {value!r}")
    return value


@dataclass
class ReadOptions:
    """How to read a corpus file (the options shared by every command that reads one)."""

    format: str | None = None  # a name of seqtag.data.formats.FORMATS; None: detected
    columns: list[str] | None = None
    layer: str | None = None
    scheme: str | None = None  # None: detect
    on_invalid: str = "repair"
    stream: bool = False  # training data only: read from disk on every pass, never held in memory

    def __post_init__(self):
        """The same checks for the command line and the Python API, before any file is read."""
        if self.format is not None:
            self.format = formats.get(_text("format", self.format)).name
        if self.columns is not None:
            if isinstance(self.columns, str) or not isinstance(self.columns, (list, tuple)) or not all(
                    isinstance(c, str) and c.strip() for c in self.columns):
                raise DataError(f"columns must be a list of column names, such as ['word', 'pos', 'ner'], not "
                                f"{self.columns!r}")
            self.columns = list(self.columns)
        if self.layer is not None:
            _text("layer", self.layer)
        if self.scheme == "auto":
            self.scheme = None
        if self.scheme is not None and self.scheme not in SCHEMES:
            raise DataError(f"scheme must be one of auto, {', '.join(SCHEMES)}, not {self.scheme!r}")
        if self.on_invalid not in (*ON_INVALID, KEEP_INVALID):
            raise DataError(f"on_invalid must be {' or '.join(ON_INVALID)}, not {self.on_invalid!r}")

    def read(self, path: str | Path, to_scheme: L.Scheme | None = None,
             stream: bool = False) -> tuple[Corpus | StreamedCorpus, str, int]:
        scheme = L.Scheme(self.scheme) if self.scheme else None
        return formats.load_corpus(path, self.format, self.columns, self.layer, scheme, self.on_invalid, to_scheme,
                                   stream)


def preprocess(files: list[Path], dataset: str | None, split: str | None, read: ReadOptions, to_scheme: str | None,
               output: str | Path | None, to_format: str = "canonical", overwrite: bool = False,
               on_progress: Callable[[dict], None] | None = None, keep_layers: list[str] | None = None
               ) -> tuple[list[str], list[dict]]:
    """`seqtag preprocess`: read corpora (files or a Hugging Face dataset), check and convert their target layer,
    write them in `to_format` to `output` (only `keep_layers`, where given), and return (names, statistics); the
    OOV rate of each later file is against the first (the training set). Every corpus is checked to fit the format
    before any is written."""
    from seqtag.data.corpus import statistics, vocabulary

    report = on_progress or (lambda event: None)
    suffix = formats.get(to_format).suffix
    if output is not None and files:  # before reading: the names are known
        _check_outputs(_output_paths(output, [str(f) for f in files], suffix), overwrite, files, to_format)
    if dataset:
        inputs = formats.read_hf(dataset, split)
    elif files:
        inputs = [(str(f), formats.read_corpus(f, read.format, read.columns)) for f in files]
    else:
        raise DataError("give corpus files, or --dataset NAME")
    scheme = L.Scheme(read.scheme) if read.scheme else None
    prepared = []
    for name, corpus in inputs:
        corpus, target, repaired = formats.prepare(corpus, read.layer, scheme, read.on_invalid,
                                                   L.Scheme(to_scheme) if to_scheme else None)
        if repaired:
            report({"event": "warning",
                    "message": f"{corpus.source}: repaired {repaired} invalid sentence(s) as conlleval reads them"})
        prepared.append((name, corpus, target))
    names = [name for name, _, _ in prepared]
    if output is not None:
        destinations = _output_paths(output, names, suffix)
        if dataset:  # named files were checked before reading
            _check_outputs(destinations, overwrite, [], to_format)
        written = [corpus if keep_layers is None else corpus.keep(keep_layers) for _, corpus, _ in prepared]
        for corpus in written:
            formats.check_writable(corpus, to_format)
        for destination, corpus in zip(destinations, written):
            formats.write_corpus(corpus, destination, to_format)
            report({"event": "wrote", "message": f"wrote {destination}"})
    train_vocab = vocabulary(prepared[0][1].sentences) if len(prepared) > 1 else None
    return names, [statistics(corpus, target, train_vocab if i else None)
                   for i, (_, corpus, target) in enumerate(prepared)]


def _check_outputs(destinations: list[Path], overwrite: bool, inputs, to_format: str) -> None:
    from seqtag import outputs

    for destination in destinations:
        outputs.check_file_destination(destination, "preprocess", overwrite, inputs, "-o")
        if destination.is_dir() and to_format != "hf":
            raise DataError(f"is a Hugging Face dataset folder; --to-format hf replaces it, a {to_format} file does "
                            "not", destination)
    if len(set(destinations)) < len(destinations):
        raise DataError("two inputs have the same file name and would be written to one file; convert them apart",
                        destinations[0].parent)


def _output_paths(output: str | Path, names: list[str], suffix: str) -> list[Path]:
    """One file for one input (unless `output` is a folder or ends in /), else a file per input in the folder."""
    from seqtag.outputs import DATASET_MARK

    dataset = (Path(output) / DATASET_MARK).is_file()  # a dataset folder seqtag wrote is one output, not a folder
    if len(names) == 1 and (dataset or not Path(output).is_dir()) and not str(output).endswith("/"):
        return [Path(output)]
    output = Path(output)
    stems = [Path(n.replace("[", "_").replace("]", "")).name for n in names]
    return [output / f"{stem}{suffix}" for stem in stems]


STDIN = "-"  # `--train -`: the training data from stdin, read once into memory


def file_record(path: str | Path, corpus: Corpus | StreamedCorpus) -> dict:
    """What a model was trained on: name, size, hash, counts."""
    if isinstance(path, Corpus):  # read before (a learning-curve subset): named by its source
        return {"path": path.source, "bytes": None, "sha256": None, "sentences": len(corpus),
                "tokens": corpus.num_tokens()}
    path = Path(path)
    if path.exists():  # absolute, so that --resume finds the data from any directory
        path = path.resolve()
    digest = file_sha256(path) if path.is_file() else None
    return {"path": str(path), "bytes": path.stat().st_size if path.is_file() else None, "sha256": digest,
            "sentences": len(corpus), "tokens": corpus.num_tokens()}


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
    config: dict,
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
    config = chosen.resolve(config)  # settings are checked before any data is read
    embeddings = config.get("model", {}).get("embeddings")
    if embeddings and not resume:  # from a flag, a keyword or a TOML file alike: found, and kept as absolute path
        from seqtag.data import vectors  # numpy: imported only when vectors are asked for

        config["model"]["embeddings"] = vectors.checked_source(embeddings)
    hold_out = config.get("training", {}).get("hold_out")
    if read.stream and dev_path is None and hold_out:
        raise DataError(f"--hold-out {hold_out} needs the training data in memory; with --stream, give --dev")
    if config.get("training", {}).get("refit") and (read.stream or (dev_path is None and not hold_out)):
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
            "config": config,
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
    allowed = {"max_epochs", "patience"}
    if set(options) - allowed:
        raise DataError(f"--resume continues the saved run; only --max-epochs and --patience may change, not "
                        f"{', '.join(sorted(set(options) - allowed))}", output)

    def damaged(reason: str) -> ModelFormatError:
        return ModelFormatError(f"the saved run cannot be resumed: its record is damaged ({reason}); train it again "
                                "without --resume", output / "model.json")

    try:
        trainer = kind_named(saved.get("kind"))
    except DataError as error:
        raise damaged(error.message) from None
    if options:
        trainer.resolve({"training": dict(options)})  # the values given now: an error in them is the caller's
    try:  # what the saved run used, checked here so that a damaged record is reported as model.json's
        config = settings.merge_config(saved["config"], {"training": options})
        # settings left to corpus size and device go on as the saved run resolved them, so a run begun on a GPU and
        # resumed on a CPU keeps its batch size and learning rate, and a rule changed since does not change the run
        for name in RESOLVED:
            if name in saved["training"] and name not in options:
                config["training"][name] = saved["training"][name]
        trainer.resolve(config)
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


def warn_unseen_labels(corpus: Corpus, layer: str, known: Iterable[str], scheme: L.Scheme,
                       report: Callable[[dict], None]) -> None:
    """Labels (entity types, for span layers) that a dev or test file has and the training data never had: no model
    can predict them, so the user should hear of it before trusting a score."""
    from collections import Counter

    def key(label: str) -> str:  # span layers compare types, so IOB1's B-X is not new beside I-X
        return label[2:] if scheme in L.ENTITY_SCHEMES and label != "O" else label

    seen = {key(label) for label in known}
    unseen = Counter(key(label) for sentence in corpus for label in sentence.labels[layer] if key(label) not in seen)
    if unseen:
        what = "entity type(s)" if scheme in L.ENTITY_SCHEMES else "label(s)"
        listed = ", ".join(f"{label} ({count:,} token(s))" for label, count in unseen.most_common(10))
        more = f" and {len(unseen) - 10} more" if len(unseen) > 10 else ""
        report({"event": "warning", "message": f"{corpus.source}: {len(unseen)} {what} the training data never "
                f"has: {listed}{more}"})


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


def evaluate_files(pred_path: str | Path, gold_path: str | Path, read: ReadOptions, strict: bool = False,
                   bootstrap: int = 0) -> dict:
    """Score a system's output file against a gold file, without a model."""
    from seqtag.data.evaluation import score

    gold, layer, _ = read.read(gold_path)
    scheme = gold.schemes[layer]
    columns = read.columns
    if columns and len(columns) > 2 and _first_fields(pred_path) == 2:  # `seqtag tag`'s own output: word, label
        columns = ["word", layer]
    pred_read = ReadOptions(read.format, columns, layer if columns else read.layer, read.scheme,
                            KEEP_INVALID if strict else "repair")
    pred, pred_layer, _ = pred_read.read(pred_path, scheme)
    _check_aligned(pred, gold)
    return score(gold.column(layer), pred.column(pred_layer), scheme, strict=strict, bootstrap=bootstrap)


def _first_fields(path: str | Path) -> int:
    """How many columns the first token line of a column file has (0 when it has none in its first lines)."""
    from seqtag.data.formats.text import open_binary

    with open_binary(str(path)) as file:
        for _, line in zip(range(1000), file):
            fields = line.split()
            if fields and not line.startswith((b"#", b"-DOCSTART-")):
                return len(fields)
    return 0


def _check_aligned(pred: Corpus, gold: Corpus) -> None:
    """A prediction file must hold the gold file's tokens, sentence by sentence: say where it first does not."""
    for number, (p, g) in enumerate(zip(pred.sentences, gold.sentences), 1):
        if p.tokens != g.tokens:
            i = next((i for i, (a, b) in enumerate(zip(p.tokens, g.tokens)) if a != b), min(len(p), len(g)))
            mine = repr(p.tokens[i]) if i < len(p) else "the end of the sentence"
            theirs = repr(g.tokens[i]) if i < len(g) else "the end of the sentence"
            gold_line = f":{g.origin.line_of(i)}" if g.origin else ""
            raise DataError(f"sentence {number} differs from the gold file: {mine} where {gold.source}{gold_line} "
                            f"has {theirs}", pred.source, p.origin.line_of(min(i, len(p) - 1)) if p.origin else None)
    if len(pred) != len(gold):
        raise DataError(f"{len(pred):,} sentences where the gold file {gold.source} has {len(gold):,}", pred.source)
