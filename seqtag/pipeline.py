"""Plain functions behind the commands: read the splits, train any tagger, save it, score it.

They return values and report through callbacks; the CLI renders them. Tests and Python users call them directly.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from seqtag import formats
from seqtag import labels as L
from seqtag.corpus import Corpus, StreamedCorpus
from seqtag.errors import DataError, Interrupted, ModelFormatError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SAMPLE = {  # the bundled NER sample: what `seqtag train` trains with no arguments
    "train": DATA_DIR / "ner" / "train.txt",
    "dev": DATA_DIR / "ner" / "dev.txt",
    "test": DATA_DIR / "ner" / "test.txt",
    "columns": ["word", "pos", "chunk", "ner"],
    "layer": "ner",
}


@dataclass
class ReadOptions:
    """How to read a corpus file (the options shared by every command that reads one)."""

    fmt: str | None = None
    columns: list[str] | None = None
    layer: str | None = None
    scheme: str | None = None  # None: detect
    on_invalid: str = "repair"
    stream: bool = False  # training data only: read from disk on every pass, never held in memory

    def read(self, path: str | Path, to_scheme: L.Scheme | None = None,
             stream: bool = False) -> tuple[Corpus | StreamedCorpus, str, int]:
        scheme = L.Scheme(self.scheme) if self.scheme else None
        return formats.load_corpus(path, self.fmt, self.columns, self.layer, scheme, self.on_invalid, to_scheme,
                                   stream)


def file_record(path: str | Path, corpus: Corpus | StreamedCorpus) -> dict:
    """What a model was trained on: name, size, hash, counts."""
    path = Path(path)
    if path.exists():  # absolute, so that --resume finds the data from any directory
        path = path.resolve()
    digest = None
    if path.is_file():
        with open(path, "rb") as file:  # in blocks: a training file may be larger than memory
            digest = hashlib.file_digest(file, "sha256").hexdigest()
    return {"path": str(path), "bytes": path.stat().st_size if path.is_file() else None, "sha256": digest,
            "sentences": len(corpus), "tokens": corpus.num_tokens()}


def load_config(path: str | Path | None) -> dict:
    """A TOML experiment file with [model] and [training] tables (and `features = [...]`)."""
    if path is None:
        return {}
    try:
        config = tomllib.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise DataError("no such file", path) from None
    except tomllib.TOMLDecodeError as e:
        raise DataError(f"invalid TOML: {e}", path) from None
    unknown = sorted(set(config) - {"model", "training", "features"})
    if unknown:
        raise DataError(f"unknown section(s) {', '.join(unknown)}; expected [model], [training], features", path)
    return config


def merge_config(base: dict, overrides: dict) -> dict:
    """Defaults < file < flags: flags that were given (not None) win, table by table."""
    merged = {"model": dict(base.get("model", {})), "training": dict(base.get("training", {}))}
    if "features" in base:
        merged["features"] = list(base["features"])
    for section in ("model", "training"):
        merged[section].update({k: v for k, v in overrides.get(section, {}).items() if v is not None})
    if overrides.get("features"):
        merged["features"] = list(overrides["features"])
    return merged


def train_model(
    kind: str,
    train_path: str | Path,
    dev_path: str | Path | None,
    test_path: str | Path | None,
    read: ReadOptions,
    config: dict,
    output: str | Path,
    resume: bool = False,
    on_progress: Callable[[dict], None] | None = None,
) -> dict:
    """Train a tagger of any kind, save it to `output` (atomically, after every epoch for the BiLSTM), score it.

    Returns the model document written to model.json.
    """
    from seqtag.evaluation import score_tagger
    from seqtag.tagger import save_model, tagger_class

    output = Path(output)
    report = on_progress or (lambda event: None)
    if read.stream and kind != "bilstm":
        raise DataError(f"--stream trains the BiLSTM only; the {kind} baseline reads its training data into memory")
    if kind == "bilstm":  # settings are checked before any data is read
        from seqtag.bilstm import BiLSTMConfig
        from seqtag.training import TrainConfig

        model_config = BiLSTMConfig.from_dict(config.get("model", {}))
        train_config = TrainConfig.from_dict(config.get("training", {}))
        # the resolved configuration, defaults included, so the run can be repeated exactly
        config.update(model=asdict(model_config), training=asdict(train_config),
                      features=list(config.get("features", [])))
    try:
        train, layer, repaired = read.read(train_path, stream=read.stream)
        read.layer = layer
        scheme = train.schemes[layer]
        dev = read.read(dev_path, scheme)[0] if dev_path else None
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
        cls = tagger_class(kind)
        if kind == "bilstm":
            tagger, extra, interrupted = _train_bilstm(train, dev, layer, model_config, train_config,
                                                               config["features"], output, info, resume, on_progress)
            if _finish_distributed():
                return {}  # under torchrun, rank 0 alone scores and writes the model
        else:
            tagger, extra, interrupted = cls.fit(train, dev, layer, config), {}, None
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted before training finished; {_left_as_it_was(output)}", output) from None
    if scheme is L.Scheme.BMES:
        tagger.train_words = {"".join(s.tokens[a:b]) for s in train
                              for a, b, _ in L.to_spans(s.labels[layer], scheme)}
    metrics = {}
    for name, corpus in (("dev", dev), ("test", test)):
        if corpus is not None:
            metrics[name] = score_tagger(tagger, corpus)
    info["metrics"] = metrics
    extra["metrics.json"] = json.dumps(metrics, indent=2) + "\n"
    save_model(tagger, output, info, extra)
    if interrupted:
        raise Interrupted(interrupted, output)
    return json.loads((output / "model.json").read_text("utf-8"))


def warn_unseen_labels(corpus: Corpus, layer: str, known: Iterable[str], scheme: L.Scheme,
                       report: Callable[[dict], None]) -> None:
    """Labels (entity types, for span layers) that a dev or test file has and the training data never had: no model
    can predict them, so the user should hear of it before trusting a score."""
    from collections import Counter

    def key(label: str) -> str:  # span layers compare types, so IOB1's B-X is not new beside I-X
        return label[2:] if scheme in (L.Scheme.IOB1, L.Scheme.IOB2, L.Scheme.BIOES) and label != "O" else label

    seen = {key(label) for label in known}
    unseen = Counter(key(label) for sentence in corpus for label in sentence.labels[layer] if key(label) not in seen)
    if unseen:
        what = "entity type(s)" if scheme in (L.Scheme.IOB1, L.Scheme.IOB2, L.Scheme.BIOES) else "label(s)"
        listed = ", ".join(f"{label} ({count:,} token(s))" for label, count in unseen.most_common(10))
        more = f" and {len(unseen) - 10} more" if len(unseen) > 10 else ""
        report({"event": "warning", "message": f"{corpus.source}: {len(unseen)} {what} the training data never "
                f"has: {listed}{more}"})


def _left_as_it_was(output: Path) -> str:
    from seqtag.outputs import model_kind_at

    if model_kind_at(output) is not None:
        return f"the model already in {output} is left as it was"
    return "nothing was saved"


def _train_bilstm(train, dev, layer, model_config, train_config, features, output: Path, info: dict, resume: bool,
                  on_progress):
    from seqtag.bilstm import BiLSTMTagger
    from seqtag.tagger import load_tensors, read_model_json, save_model
    from seqtag.training import CHECKPOINT_KEYS, resolve_device, train_bilstm

    resume_state = None
    if resume:
        document = read_model_json(output)
        if not (output / "checkpoint.pt").is_file():
            raise ModelFormatError("no checkpoint.pt to resume from", output)
        checkpoint = load_tensors(output / "checkpoint.pt")
        missing = sorted(CHECKPOINT_KEYS - set(checkpoint))
        if missing:
            raise ModelFormatError(f"lacks {', '.join(missing)} (written by an older seqtag); train again without "
                                   "--resume", output / "checkpoint.pt")
        saved = document["training"]["data"]["train"]["sha256"]
        if saved != info["training"]["data"]["train"]["sha256"]:
            raise DataError("--resume with other training data than the checkpoint was trained on", output)
        try:
            tagger = BiLSTMTagger.from_state(document, checkpoint["model"], resolve_device(train_config.device))
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
            raise ModelFormatError(f"checkpoint.pt does not fit model.json: {type(e).__name__}: {e}", output) from None
        resume_state = (tagger, checkpoint)

    last_checkpoint = resume_state[1] if resume_state else None
    saved_epochs = 0  # epochs saved by this run: until one is, an interruption leaves the output as it was

    def on_checkpoint(tagger, best_state, checkpoint):
        nonlocal last_checkpoint, saved_epochs
        last_checkpoint = checkpoint
        log = "".join(json.dumps(record) + "\n" for record in json.loads(checkpoint["history"]))
        save_model(tagger, output, info, {"checkpoint.pt": checkpoint, "train_log.jsonl": log}, tensors=best_state)
        saved_epochs += 1

    result = train_bilstm(train, dev, layer, model_config, train_config, features,
                          on_progress, on_checkpoint, resume_state)
    info["training"].update(best_epoch=result.best_epoch, stopped=result.stopped, epochs=len(result.history),
                            best_dev_score=result.best_score)
    if result.context is not None:  # fitted on dev after training: best_dev_score is from before
        info["training"]["context_layer"] = result.context
    extra = {"train_log.jsonl": "".join(json.dumps(r) + "\n" for r in result.history)}
    if last_checkpoint is not None:  # keep the last state, so training can go on with --resume
        extra["checkpoint.pt"] = last_checkpoint
    interrupted = None
    if result.stopped == "interrupted":
        if not saved_epochs:
            raise Interrupted(f"interrupted before an epoch finished; {_left_as_it_was(output)}", output)
        if result.context and result.context.get("interrupted"):
            interrupted = (f"interrupted while fitting the context layer: kept the trained network (best epoch "
                           f"{result.best_epoch}) without it")
        else:
            interrupted = (f"interrupted during epoch {len(result.history) + 1}: kept the best model so far (epoch "
                           f"{result.best_epoch} of {len(result.history)} finished); seqtag train -o {output} "
                           "--resume continues")
    return result.tagger, extra, interrupted


def _finish_distributed() -> bool:
    """Leave torchrun's process group; True on the ranks other than 0, which have nothing more to do."""
    import torch.distributed as dist

    if not dist.is_initialized():
        return False
    rank = dist.get_rank()
    dist.barrier()
    dist.destroy_process_group()
    return rank != 0


def evaluate_model(model_path: str | Path, gold_path: str | Path, read: ReadOptions, strict: bool = False,
                   on_progress: Callable[[dict], None] | None = None) -> dict:
    """Score a saved model on a gold file (read in the model's layer and converted to its scheme)."""
    from seqtag.evaluation import score_tagger
    from seqtag.tagger import load_model, read_model_json

    tagger = load_model(model_path)
    saved = read_model_json(model_path).get("training", {}).get("read", {})
    read.layer = read.layer or tagger.layer
    read.columns = read.columns or saved.get("columns")  # a gold file laid out like the training data
    read.fmt = read.fmt or saved.get("fmt")
    gold, _, _ = read.read(gold_path, tagger.scheme)
    warn_unseen_labels(gold, tagger.layer, tagger.labels, tagger.scheme, on_progress or (lambda event: None))
    return score_tagger(tagger, gold, strict)


def evaluate_files(pred_path: str | Path, gold_path: str | Path, read: ReadOptions, strict: bool = False) -> dict:
    """Score a system's output file against a gold file, without a model."""
    from seqtag.evaluation import score

    gold, layer, _ = read.read(gold_path)
    scheme = gold.schemes[layer]
    pred_read = ReadOptions(read.fmt, read.columns, read.layer, read.scheme, "repair")
    pred, pred_layer, _ = pred_read.read(pred_path, scheme)
    _check_aligned(pred, gold)
    return score(gold.column(layer), pred.column(pred_layer), scheme, strict=strict)


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


COMPARABLE = {  # name in --models -> (kind, model settings)
    "majority": ("majority", {}),
    "hmm": ("hmm", {}),
    "perceptron": ("perceptron", {}),
    "bilstm": ("bilstm", {"decoder": "softmax"}),
    "bilstm-crf": ("bilstm", {"decoder": "crf"}),
}


def comparable_kinds(names: list[str]) -> list[str]:
    """The model kind behind each name of `compare --models`; an unknown name is an error."""
    unknown = [n for n in names if n not in COMPARABLE]
    if unknown:
        raise DataError(f"--models: unknown model(s) {', '.join(unknown)}; expected some of {', '.join(COMPARABLE)}")
    return [COMPARABLE[name][0] for name in names]


def compare_models(
    names: list[str],
    train_path: str | Path,
    dev_path: str | Path | None,
    test_path: str | Path,
    read: ReadOptions,
    config: dict,
    workdir: str | Path,
    on_progress: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Train each model on the same split and score it on the test file: one row per model."""
    import time

    import torch  # noqa: F401  imported before the clocks start, so no model pays for it

    from seqtag.evaluation import score_tagger
    from seqtag.tagger import load_model

    comparable_kinds(names)
    rows = []
    for name in names:
        kind, model_settings = COMPARABLE[name]
        run_config = merge_config(config, {"model": model_settings}) if kind == "bilstm" else {
            "training": {"seed": config.get("training", {}).get("seed")}}
        started = time.perf_counter()
        document = train_model(kind, train_path, dev_path, None, ReadOptions(**asdict(read)), run_config,
                               Path(workdir) / name, on_progress=on_progress)
        train_seconds = time.perf_counter() - started
        tagger = load_model(Path(workdir) / name)
        test_in_scheme = ReadOptions(**{**asdict(read), "layer": tagger.layer}).read(test_path, tagger.scheme)[0]
        started = time.perf_counter()
        report = score_tagger(tagger, test_in_scheme)
        tag_seconds = time.perf_counter() - started
        size = sum(f.stat().st_size for f in (Path(workdir) / name).iterdir() if f.name != "checkpoint.pt")
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
    return rows


def comparison_cells(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of a comparison, shared by the terminal table and the Markdown file."""
    types = sorted({t for r in rows for t in r["per_type_f1"]})
    header = ["model", rows[0]["metric"] if rows else "score", *[f"F1 {t}" for t in types], "OOV",
              "train s", "tag tokens/s", "size MB"]
    cells = []
    for r in rows:
        oov = r["oov_accuracy"] if r["oov_accuracy"] is not None else r["oov_recall"]
        cells.append([r["model"], f"{100 * r['score']:.2f}", *[f"{100 * r['per_type_f1'].get(t, 0):.2f}" for t in types],
                      f"{100 * oov:.2f}" if oov is not None else "-", f"{r['train_seconds']:.1f}",
                      f"{r['tokens_per_s']:,}", f"{r['model_bytes'] / 1e6:.1f}"])
    return header, cells


def comparison_markdown(rows: list[dict]) -> str:
    header, cells = comparison_cells(rows)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n"
