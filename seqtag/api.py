"""The Python API: `seqtag.load`, `seqtag.train`, `seqtag.read`, `seqtag.write`, and the `Model` they give.

The command line is a thin shell over these same calls. Nothing here prints: progress and warnings go to an
`on_progress` callback as events ({"event": "warning", "message": ...}, {"event": "epoch_end", ...}).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from seqtag.data import formats
from seqtag import catalog, kinds, modeldir, outputs, settings
from seqtag.training import fit
from seqtag.data import reading
from seqtag.data import labels as L
from seqtag.data.corpus import Corpus, StreamedCorpus
from seqtag.arguments import check_count, check_flag, check_name, check_path, checked_lines, optional_path
from seqtag.errors import DataError
from seqtag.package import package  # noqa: F401  (`seqtag package`: a model's wheel, found by name once installed)

Progress = Callable[[dict], None]
EXPORT_FORMATS = ("onnx", "torchscript")  # what `seqtag export` writes (seqtag.runtime.export)
SAMPLE = reading.SAMPLE  # the bundled NER sample: what `train()` trains with no files


class Model:
    """A trained tagger: `tag` text, `evaluate` on a gold corpus, `save` as a model directory."""

    def __init__(self, predictor, document: dict | None = None, files: dict | None = None, path: Path | None = None,
                 choice=None):
        self.predictor = predictor  # seqtag.models.tagger.Tagger, or the ONNX runtime's predictor
        self.document = document or {}  # what model.json holds: configuration, training data, metrics
        self.files = files or {}  # training's extra files (train_log.jsonl, checkpoint.pt) until saved
        self.path = path
        self.choice = choice  # seqtag.runtime.choice.Choice: what runs a loaded model, and why; None: in memory

    def _able(self, probs: bool, nbest: int):
        """The predictor for what is asked: where the runtime was chosen for us and the choice for this request
        differs (the ONNX runtime gives no probabilities or n-best lists), the one the chooser names now."""
        from seqtag.runtime import choice as runtimes

        if self.choice is not None and (probs or nbest):
            wanted = runtimes.choose(self.path, self.document, self.choice.asked, probs=probs, nbest=nbest)
            if wanted.runtime != self.choice.runtime:
                self.predictor, self.choice = runtimes.open_predictor(self.path, self.document, wanted)
        return self.predictor

    def _savable(self):
        """A predictor that saves: the ONNX runtime only runs a model, so a model it loaded saves PyTorch's."""
        from seqtag.models.tagger import Tagger
        from seqtag.models.loading import load_model

        if isinstance(self.predictor, Tagger):
            return self.predictor
        if self.path is None:
            raise DataError("this model has no saved weights to save from")
        return load_model(self.path, document=self.document)

    kind = property(lambda self: self.predictor.kind)
    layer = property(lambda self: self.predictor.layer)
    scheme = property(lambda self: self.predictor.scheme)
    labels = property(lambda self: list(self.predictor.labels))
    metrics = property(lambda self: self.document.get("metrics", {}))

    def __repr__(self) -> str:
        return f"<seqtag.Model {self.kind} {self.layer} ({self.scheme.value}), {len(self.labels)} labels>"

    def tag(self, text, *, tokenized: bool | None = None, probs: bool = False, nbest: int = 0, window: int = 2000):
        """Tag a text (a str, tokenized here), a token list (a list of str), or many of either (a list of them: a
        list; an iterator: an iterator, read a window at a time). A list of strings is a list of texts where every
        one holds whitespace (["Peter went.", "EU rejects."]) or `tokenized` is given (False: texts tokenized here,
        so ["Paris", "London"] are two texts; True: texts of whitespace-separated tokens); one sentence's tokens
        where none does (["Paris", "London"]); a list that mixes both is refused, never guessed. Returns Tagged
        results: tokens, labels, offsets, spans, probs, nbest. A text of several sentences is split (as `seqtag
        tag` splits a line) and each tagged alone; its result joins them, with each sentence in `parts`."""
        from seqtag.runtime.tagging import tag_stream, tag_units, texts_joined

        _check_tagging(probs, nbest, window, tokenized)
        if not isinstance(text, Iterable) or isinstance(text, (bytes, dict)):
            raise DataError(f"tag takes a text (str), a list of tokens, or many of either, not {type(text).__name__}")
        predictor = self._able(probs, nbest)
        one = isinstance(text, str) or _is_tokens(text, tokenized)
        units = (unit for item in ([text] if one else text) for unit in self._units(item, tokenized))
        if one or isinstance(text, (list, tuple)):
            results = list(texts_joined(tag_units(predictor, list(units), probs, nbest)))
            return results[0] if one else results
        return texts_joined(tag_stream(predictor, units, window, probs, nbest))

    def _units(self, item, tokenized: bool | None) -> list:
        """An item's units: a text's sentences (a whole text where `tokenized`), or one token list."""
        from seqtag.runtime.tagging import units_from_texts

        if isinstance(item, str):
            segmentation = self.scheme is L.Scheme.BMES
            return list(units_from_texts([item], segmentation, bool(tokenized), sentences=not tokenized,
                                         longest=None))  # one result a text, however long: it is in memory already
        if not _is_tokens(item, None):
            raise DataError(f"expected a text (str) or a list of tokens (str), got {type(item).__name__}")
        return [(list(item), None, None, None, {}, None)]

    def tag_lines(self, lines: Iterable[str], input_format: str = "raw", output_format: str = "conll", *,
                  window: int = 2000, probs: bool = False, nbest: int = 0, workers: int = 1,
                  columns: list[str] | None = None, output_scheme: str | None = None, min_prob: float | None = None,
                  source: str = "<stdin>", counts: dict | None = None, split: bool = True) -> Iterator[str]:
        """`seqtag tag`: lines in (raw text, whitespace tokens, or any format), text out in any format, the labels
        in the model's scheme or `output_scheme` (iob1, iob2, bioes); `min_prob` writes as O the entity spans
        with a token less probable than it. Raw text is split into sentences unless `split=False` (one line, one
        sentence); jsonl says each one's line and sentence. `source` names the lines in errors; `counts`, where
        given, gets the sentences and tokens tagged."""
        from seqtag.runtime import tagging
        from seqtag.runtime.tagging import check_output, render, tag_stream, tag_stream_parallel, units_from_lines

        _check_tagging(probs, nbest, window, None)
        check_count("workers", workers)
        check_flag("split", split)
        if isinstance(lines, (str, bytes)) or not isinstance(lines, Iterable):
            raise DataError(f"tag_lines takes lines (an iterable of str), not {type(lines).__name__}")
        lines = checked_lines(lines)
        if (counts is not None and not isinstance(counts, dict)) or not isinstance(source, str):
            raise DataError(f"counts must be a dict or None and source a str, not {counts!r} and {source!r}")
        if columns is not None:
            columns = reading.ReadOptions(columns=columns).columns
        scheme = tagging.output_scheme(output_scheme, self.scheme)
        tagging.check_min_prob(min_prob, self.scheme, self.kind)
        asked_probs, probs = probs, probs or min_prob is not None
        predictor = self._able(probs, nbest)
        check_output(predictor, output_format, nbest)
        units = units_from_lines(lines, input_format, self.scheme is L.Scheme.BMES, columns,
                                 offsets=output_format in tagging.OFFSET_FORMATS, source=source, sentences=split)
        if workers > 1:
            results = tag_stream_parallel(predictor, units, window, probs, nbest, workers)
        else:
            results = tag_stream(predictor, units, window, probs, nbest)
        if min_prob is not None:
            results = tagging.above(results, min_prob, asked_probs)
        if counts is not None:
            results = _counted(results, counts)
        return render(results if scheme is None else tagging.in_scheme(results, scheme), self.layer, output_format)

    def tag_files(self, inputs: str | Path | Iterable[str | Path], output_dir: str | Path, input_format: str = "raw",
                  output_format: str = "conll", *, window: int = 2000, workers: int = 1,
                  columns: list[str] | None = None, output_scheme: str | None = None, replace_invalid: bool = False,
                  overwrite: bool = False, on_progress: Progress | None = None, split: bool = True) -> dict:
        """`seqtag tag --input ... --output-dir ...`: each input file (a path or a glob pattern) tagged into one
        output of the same name in `output_dir`, resumably (seqtag.runtime.files): outputs already finished for
        this model and these settings are kept. Returns what was tagged, skipped and failed (a failed input costs
        its own output only). seqtag.ray.tag_files does the same on a Ray cluster."""
        from seqtag.runtime import files

        run, settings = self.plan_files(inputs, output_dir, input_format, output_format, window=window,
                                        workers=workers, columns=columns, output_scheme=output_scheme,
                                        replace_invalid=replace_invalid, overwrite=overwrite, split=split)
        outcome = files.run_local(run, self, settings, on_progress or (lambda event: None))
        return outcome.summary()

    def plan_files(self, inputs, output_dir, input_format: str = "raw", output_format: str = "conll", *,
                   window: int = 2000, workers: int = 1, columns: list[str] | None = None,
                   output_scheme: str | None = None, replace_invalid: bool = False, overwrite: bool = False,
                   split: bool = True):
        """(seqtag.runtime.files.Plan, settings) of tag_files, every argument checked before anything is written."""
        from seqtag.runtime import files

        if self.path is None:
            raise DataError("tag_files records the model's hash beside its outputs: save the model first")
        patterns = [inputs] if isinstance(inputs, (str, Path)) else list(inputs) if isinstance(inputs, Iterable) else None
        if not patterns or not all(isinstance(p, (str, Path)) for p in patterns):
            raise DataError(f"inputs must be a path, a glob pattern or a list of them, not {inputs!r}")
        check_path("output_dir", output_dir)
        for name, value in (("replace_invalid", replace_invalid), ("overwrite", overwrite)):
            check_flag(name, value)
        list(self.tag_lines([], input_format, output_format, window=window, columns=columns,  # the settings' checks
                            output_scheme=output_scheme, split=split))
        check_count("workers", workers)
        columns = reading.ReadOptions(columns=columns).columns if columns is not None else None
        settings = {"input_format": input_format, "output_format": output_format, "window": window,
                    "columns": columns, "output_scheme": output_scheme, "split": split}
        # the manifest's key: what makes an output differ (onnx-int8 is the one runtime whose labels may)
        key = {**settings, "int8": self.choice is not None and self.choice.runtime == "onnx-int8"}
        run = files.plan([str(p) for p in patterns], output_dir, self.path, self.document, key, overwrite)
        return run, {**settings, "replace_invalid": replace_invalid, "workers": workers}

    def __getstate__(self) -> dict:
        """A saved model travels as its folder's path (to processes of datasets.map, Ray actors) and is opened
        again there; one in memory travels whole."""
        state = dict(self.__dict__)
        if self.path is not None:
            state["predictor"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.predictor is None:
            from seqtag.runtime import choice as runtimes

            chosen = self.choice or runtimes.choose(self.path, self.document)
            self.predictor, self.choice = runtimes.open_predictor(self.path, self.document, chosen)

    def evaluate(self, gold: Corpus | str | Path, *, strict: bool = False, bootstrap: int = 0,
                 on_progress: Progress | None = None, **read_options) -> dict:
        """Score on a gold corpus (a Corpus, or a file read like the training data): seqeval's entity scores for
        span layers, accuracy for tags, word scores for segmentation; out-of-vocabulary scores beside. `bootstrap`
        resamples add the main metric's 95% interval ("interval")."""
        from seqtag.data.bootstrap import check_samples
        from seqtag.data.evaluation import score_tagger

        check_flag("strict", strict)
        check_samples(bootstrap)
        if not isinstance(gold, Corpus):
            gold = self.read_gold(gold, **read_options)
        elif self.layer not in gold.layers:
            raise DataError(f"the model tags layer {self.layer!r}, which this corpus lacks; its layers are: "
                            f"{', '.join(gold.layers) or 'none'}", gold.source)
        reading.warn_unseen_labels(gold, self.layer, self.labels, self.scheme, on_progress or (lambda event: None))
        return score_tagger(self.predictor, gold, strict, bootstrap=bootstrap)

    def read_gold(self, path: str | Path, **read_options) -> Corpus:
        """A gold file in this model's layer and scheme, read as its training data was unless told otherwise."""
        document = {**self.document, "layer": self.layer, "scheme": self.scheme.value}
        return reading.read_gold(document, path, read_options)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model directory (atomically). An existing folder is replaced only if it holds a model of the
        same kind and nothing else, unless `overwrite`."""
        from seqtag.models.tagger import save_model

        check_path("path", path)
        check_flag("overwrite", overwrite)
        path = Path(path)
        outputs.check_model_destination(path, self.kind, overwrite, [self.path] if self.path else [])
        info = {key: self.document[key] for key in ("config", "training", "metrics") if key in self.document}
        metrics = json.dumps(info.get("metrics", {}), indent=2) + "\n"
        save_model(self._savable(), path, info, {**self.files, modeldir.METRICS_FILE: metrics})
        self.path = path
        return path


def _counted(results, counts: dict):
    """The results as they pass, counted into `counts` (sentences, tokens)."""
    counts.setdefault("sentences", 0)
    counts.setdefault("tokens", 0)
    for result in results:
        counts["sentences"] += 1
        counts["tokens"] += len(result.tokens)
        yield result


def _is_tokens(item, tokenized: bool | None) -> bool:
    """A non-empty list of strings none of which holds whitespace: one sentence's tokens (unless `tokenized` says
    the strings are texts). A list where some hold whitespace and some do not is refused: texts or tokens?"""
    if not (isinstance(item, (list, tuple)) and item and all(isinstance(token, str) for token in item)):
        return False
    if tokenized is not None:
        return False
    spaced = [token for token in item if not token or any(c.isspace() for c in token)]
    if spaced and len(spaced) < len(item):
        plain = next(token for token in item if token not in spaced)
        raise DataError(f"a list of str is texts (each holding whitespace) or one sentence's tokens (none holding "
                        f"any); this one mixes both ({spaced[0]!r} and {plain!r}): for texts, say so with "
                        "tokenized=False (tokenized here) or tokenized=True (whitespace tokens); a token cannot hold "
                        "whitespace")
    return not spaced


def _check_tagging(probs, nbest, window, tokenized) -> None:
    """Model.tag's and tag_lines' settings, checked as the command line checks its flags."""
    if not isinstance(probs, bool):
        raise DataError(f"probs must be True or False, not {probs!r}")
    if tokenized is not None and not isinstance(tokenized, bool):
        raise DataError(f"tokenized must be True, False or None, not {tokenized!r}")
    check_count("nbest", nbest)
    check_count("window", window)


def load(path: str | Path, runtime: str = "auto", on_progress: Progress | None = None) -> Model:
    """A saved model directory. runtime="auto" runs a BiLSTM on onnxruntime (exporting the network into the
    directory on first use) and falls back to PyTorch where onnxruntime is missing, the folder cannot be written or
    the network cannot be exported; "torch" and "onnx" choose (seqtag.runtime.choice decides). Loading never runs
    code from the files."""
    from seqtag.runtime import choice as runtimes

    path = _model_path(path)
    if runtime not in runtimes.RUNTIMES:  # before the folder is read: the caller's mistake comes first
        runtimes.choose(path, {}, runtime)
    document = modeldir.read_model_json(path)
    choice = runtimes.choose(path, document, runtime)
    predictor, choice = runtimes.open_predictor(path, document, choice, on_progress or (lambda event: None))
    return Model(predictor, document, path=path, choice=choice)


def describe(path: str | Path) -> tuple[dict, str | None]:
    """`seqtag info`: a model folder's model.json, and why a runtime would be chosen to run it (None for a kind this
    seqtag does not know)."""
    from seqtag.runtime.choice import choose

    path = _model_path(path)
    document = modeldir.read_model_json(path)
    recipe = catalog.recipe(path)
    document = {**document, "recipe": recipe} if recipe else document
    return document, choose(path, document, look_inside=True).why if document.get("kind") in kinds.KINDS else None


def models() -> list[dict]:
    """`seqtag models`: the bundled models, those installed as packages, and the model folders here and in ./models,
    each with its task, labels, data, test score, size and licence (seqtag.catalog)."""
    return [catalog.describe(entry) for entry in catalog.entries()]


def export(path: str | Path, format: str, output: str | Path | None = None, *, overwrite: bool = False) -> Path:
    """`seqtag export`: write a model's network as ONNX or TorchScript into `output` (default: the model folder, where
    the ONNX runtime finds it). Returns the file written."""
    from seqtag.runtime.export import export as export_network

    path = _model_path(path)
    if output is not None:
        check_path("output", output)
    if format not in EXPORT_FORMATS:
        raise DataError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {format!r}")
    outputs.check_folder_destination(Path(output or path), (*modeldir.EXPORT_FILES, "model.json"), path, overwrite)
    return export_network(path, format, Path(output) if output is not None else None)


def text_lines(stream, replace_invalid: bool = False) -> Iterator[str]:
    """Lines of a binary stream (stdin) decoded as UTF-8, for `Model.tag_lines`: an invalid byte stops with its line
    number, or is replaced with `replace_invalid`."""
    if isinstance(stream, (str, bytes)) or not isinstance(stream, Iterable):
        raise DataError(f"text_lines reads a binary stream (lines of bytes, such as sys.stdin.buffer), not "
                        f"{type(stream).__name__}")
    check_flag("replace_invalid", replace_invalid)
    return formats.decode_stdin(stream, replace=replace_invalid)


def read_gold(model: str | Path, path: str | Path, on_progress: Callable[[dict], None] | None = None,
              **read_options) -> Corpus:
    """`load(model).read_gold(path)` without preparing the model to tag (no ONNX export on first use): a bad gold
    file is reported before anything is written. Warns (through `on_progress`) where `path` is the dev file the
    model was fitted on."""
    document = modeldir.read_model_json(_model_path(model))
    corpus = reading.read_gold(document, path, read_options)
    in_sample = modeldir.in_sample_warning(document, path)
    if in_sample and on_progress is not None:
        on_progress({"event": "warning", "message": in_sample})
    return corpus


def own_gold(model: str | Path) -> Path:
    """The file a model was scored on when it was trained: its test file, else its dev file."""
    data = modeldir.read_model_json(_model_path(model)).get("training", {}).get("data", {})
    saved = data.get("test") or data.get("dev")
    if saved is None or saved.get("bytes") is None:
        raise DataError("was trained without a dev or test file on disk: give the gold file to score on", model)
    return Path(saved["path"])


def fitted_on_gold(model: str | Path, gold: str | Path) -> str | None:
    """A warning where `gold` is the dev file the model's context layer was fitted on: scored there, the model is
    scored on data it was fitted on. None otherwise."""
    return modeldir.in_sample_warning(modeldir.read_model_json(_model_path(model)), gold)


def read_corpus(path: str | Path, *, format: str | None = None, columns: list[str] | None = None,
                layer: str | None = None, scheme: str | None = None, on_invalid: str = "repair",
                to_scheme: L.Scheme | str | None = None, stream: bool = False) -> Corpus | StreamedCorpus:
    """A corpus file in any format (detected when `format` is None), its target `layer` checked (the last column
    by default) and, with `to_scheme`, converted. `stream=True` leaves it on disk, read again on every pass."""
    check_path("path", path)
    check_flag("stream", stream)
    if to_scheme is not None and to_scheme not in reading.SCHEMES and not isinstance(to_scheme, L.Scheme):
        raise DataError(f"to_scheme must be one of {', '.join(reading.SCHEMES)}, not {to_scheme!r}")
    read = reading.ReadOptions(format, columns, layer, scheme, on_invalid)
    corpus, _, _ = read.read(path, L.Scheme(to_scheme) if to_scheme else None, stream=stream)
    return corpus


def _model_path(value) -> Path:
    """A model argument: a folder's path, or the name of a bundled or installed model (seqtag.catalog)."""
    check_path("path", value)
    return catalog.resolve(value)


read = read_corpus


def write(corpus: Corpus, path: str | Path, *, format: str = "canonical", overwrite: bool = False,
          layers: list[str] | None = None) -> Path:
    """Write a corpus in any format, atomically: only `layers`, where given ([]: the tokens alone). A format that
    cannot hold the corpus so that `read` gives it back refuses before writing. An existing file is replaced only
    if seqtag wrote it as a canonical corpus, unless `overwrite`."""
    if not isinstance(corpus, (Corpus, StreamedCorpus)):
        raise DataError(f"write takes a corpus (from seqtag.read), not {type(corpus).__name__}")
    check_path("path", path)
    check_flag("overwrite", overwrite)
    outputs.check_file_destination(path, "preprocess", overwrite, [corpus.source], "path")
    if layers is not None:
        if isinstance(corpus, StreamedCorpus):
            raise DataError("layers= chooses among the layers of a corpus in memory: read it without stream=True")
        if not isinstance(layers, (list, tuple)) or not all(isinstance(layer, str) for layer in layers):
            raise DataError(f"layers must be a list of layer names ([]: the tokens alone), not {layers!r}")
        corpus = corpus.keep(layers)
    formats.write_corpus(corpus, path, formats.get(format).name)
    return Path(path)


def train(train: str | Path | None = None, dev: str | Path | None = None, test: str | Path | None = None,
          model: str | None = None, output: str | Path | None = None, *, resume: bool = False,
          overwrite: bool = False, format: str | None = None, columns: list[str] | None = None,
          layer: str | None = None, scheme: str | None = None, on_invalid: str = "repair",
          on_progress: Progress | None = None, time_budget: float | None = None, **options: Any) -> Model:
    """Train a model of any kind (seqtag.kinds.KINDS) on corpus files; `train=None` uses the bundled NER sample.
    `options` are the kind's own settings by name (hidden=100, max_epochs=5, ...); one the kind does not take is an
    error. With `output`, the model directory is written there (after every epoch, for kinds that train in epochs,
    so `resume=True` can continue); without, the model lives in memory until `Model.save`. Dev and test files are
    scored at the end: `Model.metrics`.

    `model="auto"` trains each candidate kind and keeps the one with the best dev score (fit.fit_auto; within
    `time_budget` seconds where given); the model directory is written once, at the end."""
    read = reading.ReadOptions(format, columns, layer, scheme, on_invalid)
    for name, path in (("train", train), ("dev", dev), ("test", test)):
        optional_path(name, path)
    output = optional_path("output", output)
    check_name("model", model)
    if train is None and not resume:
        train, dev, test = reading.SAMPLE["train"], reading.SAMPLE["dev"], reading.SAMPLE["test"]
        read = replace(read, columns=read.columns or reading.SAMPLE["columns"],
                       layer=read.layer or reading.SAMPLE["layer"])
    named, model = model, model or kinds.DEFAULT_KIND  # resume=True takes the kind from the folder unless named
    if model == kinds.AUTO:
        if str(train) == reading.STDIN:
            raise DataError("--model auto reads the training file once per candidate; --train - reads stdin once: "
                            "give a file")
        return _train_auto(train, dev, test, output, overwrite, read, on_progress, time_budget, resume, options)
    if time_budget is not None:
        raise DataError("--time-budget is the budget of --model auto; for one kind, --max-epochs and --patience")
    if resume:
        if output is None:
            raise DataError("resume=True continues the run saved in `output`: give it")
        kind, train, dev, test, read, config = fit.resumed_run(output, train, dev, test, options)
        if named is not None and named != kind:
            raise DataError(f"--resume continues the {kind} run saved here; --model {named} (model={named!r}) names "
                            "another kind", output)
    else:
        kinds.refuse_foreign(model, options)
        config, run = settings.config_from_options(options, settings.API, kinds.kind(model).table())
        config = settings.merge_config(settings.load_config(run.get("config_file")), config)
        read = replace(read, stream=bool(run.get("stream")))
        kind = model
    if output is not None:  # before any work: never replace what seqtag did not write, nor the data it reads
        read_files = [train, dev, test, options.get("embeddings"), options.get("config_file")]
        outputs.check_model_destination(output, kind, overwrite, read_files)
    if str(train) == reading.STDIN:
        if read.stream or resume:
            raise DataError(f"--train - reads stdin once; {'--stream' if read.stream else '--resume'} reads the "
                            "training data again: give a file")
        train = formats.read_stdin_corpus(read.format, read.columns)
    tagger, document, files = fit.fit_model(kind, train, dev, test, read, config, output, resume, on_progress)
    return Model(tagger, document, {} if output else files, output)


def _train_auto(train, dev, test, output: Path | None, overwrite: bool, read: reading.ReadOptions,
                on_progress: Progress | None, time_budget: float | None, resume: bool, options: dict) -> Model:
    if resume:
        raise DataError("--model auto trains from the start: --resume continues one kind's run (its model folder "
                        "names the kind)")
    if time_budget is not None and not 0 < time_budget < float("inf"):
        raise DataError(f"--time-budget must be a finite number of seconds above 0, not {time_budget!r}")
    config, run = settings.config_from_options(options)
    if run.get("stream"):
        raise DataError("--stream trains the BiLSTM only; --model auto also trains baselines, which read their "
                        "training data into memory")
    config = settings.merge_config(settings.load_config(run.get("config_file")), config)
    if output is not None:  # before any work; which kind is saved is known only at the end
        if not overwrite and output.is_dir() and any(output.iterdir()):
            raise DataError("holds files already; --model auto saves into a new or empty folder (the kind it saves "
                            "is known only at the end): choose another, or replace it with --overwrite", output)
        outputs.check_model_destination(output, kinds.AUTO, True,
                                        [train, dev, test, options.get("embeddings"), options.get("config_file")])
    tagger, document, files = fit.fit_auto(train, dev, test, read, config, time_budget, on_progress)
    model = Model(tagger, document, files, None)
    if output is not None:
        model.save(output, overwrite=True)
    return model
