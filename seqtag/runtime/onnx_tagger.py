"""The ONNX runtime of a BiLSTM model: the BiLSTM's own encoder (numpy), the exported network run by onnxruntime,
numpy Viterbi under the scheme's constraints, and the same context layer. The default runtime of a BiLSTM model
(seqtag.runtime.choice chooses): the first `seqtag tag` or `seqtag evaluate` exports the network into the model
directory (seqtag.runtime.export).
"""

from __future__ import annotations

import importlib.util
import os
import time
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from seqtag import kinds
from seqtag.data import labels as L
from seqtag.data.corpus import Sentence
from seqtag.models.encoding import Encoder, batches_by_tokens, document_windows
from seqtag.errors import DataError, ModelFormatError
from seqtag.models.tagger import Predictor
from seqtag.modeldir import CONTEXT_FILE, DECODER_FILE, INT8_FILE, ONNX_FILE, read_model_json
from seqtag.runtime import export as exporting  # its functions looked up at call time (tests replace writable)

BATCH_SENTENCES = 256
BATCH_TOKENS = 8192  # a batch of 256 sentences of 32 tokens: ordinary sentences are batched as before
CONCURRENT_RUNS = 2  # OnnxTagger.runs
DECODE_TOKENS = 2048  # padded tokens per Viterbi batch: few numpy calls per token, little padding (2,048 timed best
# of 2,048, 8,192 and 32,768 on the lengths of eng.testb's sentences)


def onnx_predictor(model_dir: Path, on_progress=lambda event: None, int8: bool = False,
                   document: dict | None = None) -> OnnxTagger:
    """The ONNX runtime for a BiLSTM model directory, exporting the network into it first where the graph is
    missing or was exported from another model.json. A graph without a stamp runs only where no weights lie beside it
    (a serving folder of an older export); beside weights it cannot be shown to be theirs, and is refused.
    `int8`: the graph with its weights quantized to int8 (made from the float one)."""
    model_dir = Path(model_dir)
    name = INT8_FILE if int8 else ONNX_FILE
    predictor = OnnxTagger(model_dir, name, document) if (model_dir / name).exists() else None
    if predictor is not None and predictor.damaged and predictor.stamp is None:  # not seqtag's to rebuild
        raise ModelFormatError(f"{predictor.damaged}; `seqtag export -m {model_dir} --format onnx` writes them "
                               "again", model_dir)
    if predictor is not None and predictor.stamp is None and exporting.has_weights(model_dir):
        raise ModelFormatError(f"{name} has no stamp tying it to the weights beside it (an older export, or not "
                               f"seqtag's), so it is not run in their place: `seqtag export -m {model_dir} --format "
                               "onnx` writes a stamped one, or --runtime torch runs the weights", model_dir)
    if predictor is not None and not predictor.damaged and exporting.belongs(model_dir, predictor.stamp):
        if predictor.misfit:  # refused here, not at the first batch as onnxruntime's internal error
            raise ModelFormatError(f"{name} does not take the inputs this model gives it ({predictor.misfit}); "
                                   f"`seqtag export -m {model_dir} --format onnx` writes it again", model_dir)
        return predictor
    what = "is missing" if predictor is None else "does not match the model files beside it (exported from " \
        "other weights, or its decoder scores are missing or damaged)"
    if predictor is not None and not exporting.has_weights(model_dir):  # a serving folder: nothing to export from
        raise ModelFormatError(f"{name} {what}, and this folder holds no weights to export it again from: export "
                               f"the model again (`seqtag export -m MODEL --format onnx -o {model_dir}`)", model_dir)
    if not exporting.writable(model_dir):
        raise DataError(f"{name} {what}, and this folder cannot be written: run `seqtag export -m {model_dir} "
                        f"--format onnx -o FOLDER` and tag with -m FOLDER, or use --runtime torch", model_dir)
    if int8:
        onnx_predictor(model_dir, on_progress)  # the float graph it is made from, current
        exporting.quantize(model_dir)
    else:
        exporting.export(model_dir, "onnx")
    on_progress({"event": "note", "message": f"exported the network to {model_dir / name} for onnxruntime "
                                             "(once; `seqtag tag --runtime torch` runs PyTorch instead)"})
    return OnnxTagger(model_dir, name)


class OnnxTagger(Predictor):
    """A BiLSTM model run by onnxruntime: the BiLSTM's own encoder (numpy), the exported network, numpy Viterbi
    under the same constraints, and the same context layer."""

    def __init__(self, path: Path, graph: str = ONNX_FILE, document: dict | None = None):
        if importlib.util.find_spec("onnxruntime") is None:
            raise DataError("the ONNX runtime needs onnxruntime: pip install onnxruntime", path)
        document = document or read_model_json(path)  # the caller's copy: a vocabulary of vectors is large
        if not kinds.can(document["kind"], "onnx") or not (path / graph).exists():
            raise ModelFormatError(f"no {graph} here: run `seqtag export -m {path} --format onnx` first", path)
        self.kind = document["kind"]  # a kind whose network exports to ONNX (seqtag.kinds)
        super().__init__(document["layer"], L.Scheme(document["scheme"]), document["labels"], document["features"])
        self.encoder = Encoder.of_model(document)
        self.train_words = set(document.get("train_words", []))
        self.graph, self.pid = path / graph, os.getpid()
        self.owner = self.pid  # the process that loaded the model
        try:
            self._session = self._open()
        except Exception as error:  # onnxruntime's own errors: a damaged or foreign file
            reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
            raise ModelFormatError(f"{graph} cannot be read by onnxruntime ({reason}); `seqtag export -m {path} "
                                   f"--format onnx` writes it again", path) from None
        self.stamp = self._session.get_modelmeta().custom_metadata_map.get(exporting.STAMP)
        self.names = [i.name for i in self._session.get_inputs()]
        self.misfit = _misfit({i.name: i.type for i in self._session.get_inputs()}, exporting.input_names(self))
        self.seconds = {"encode": 0.0, "network": 0.0, "decode": 0.0}  # where predict's time went (seqtag bench)
        self.decoder, self.context, self.damaged = None, None, None
        try:  # scores written with the graph; missing or damaged, the graph is stale (onnx_predictor)
            if document["tagger"]["config"]["decoder"] == "crf":
                with np.load(path / DECODER_FILE, allow_pickle=False) as archive:
                    self.decoder = (archive["start"], archive["transitions"], archive["end"])
            if (path / CONTEXT_FILE).exists():
                with np.load(path / CONTEXT_FILE, allow_pickle=False) as archive:
                    self.context = (archive["weight"], archive["types"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            self.damaged = f"{DECODER_FILE} or {CONTEXT_FILE} cannot be read ({type(error).__name__})"
        self.corpus_count = document["tagger"]["config"]["corpus_mention_count"]  # as saved, or modeldir.upgrade's

    @property
    def session(self):
        """onnxruntime's session, opened in the process that runs it. A session's thread pool does not survive
        fork, and a forked worker (tag --workers) that opened its own beside a live session inherited from the
        parent sometimes hung for good, so the parent closes its session before forking (before_fork) and each
        worker opens one with one thread."""
        if self._session is None or os.getpid() != self.pid:
            self._session = self._open()
            self.pid = os.getpid()
        return self._session

    def _open(self):
        """A session whose runs each take their share of this process's CPUs (see runs)."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, _cpus() // self.runs)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its graph-optimizer notices are not the user's business
        return onnxruntime.InferenceSession(str(self.graph), options, providers=["CPUExecutionProvider"])

    @property
    def runs(self) -> int:
        """How many batches go through the network at once, each in a thread of its own: onnxruntime lets go of
        the GIL while it runs, so one batch is encoded while others run, and two single-threaded runs used this
        2-core CPU better than one run on two threads (README, Against the peers). A forked worker runs one: the
        processes are the parallelism."""
        return CONCURRENT_RUNS if os.getpid() == self.owner else 1

    def before_fork(self) -> None:
        self._session = None  # its threads end with it

    def predict(self, sentences: Sequence[Sentence]) -> list[list[str]]:
        from seqtag.models.context import token_features
        from seqtag.models.decoding import viterbi

        self.check_features(sentences)
        results: list[list[str]] = [[] for _ in sentences]
        scored = [i for i, sentence in enumerate(sentences) if len(sentence)]
        if not scored:
            return results
        emissions = self._emissions([sentences[i] for i in scored])
        started = time.perf_counter()
        scores = np.concatenate(emissions)  # every token's, sentence after sentence
        if self.context is not None:  # as BiLSTMTagger.emission_batches does
            weight, types = self.context
            scores += token_features([sentences[i] for i in scored], scores, types, self.corpus_count) @ weight.T
        lengths = np.array([len(e) for e in emissions])
        firsts = np.cumsum(lengths) - lengths
        order = np.argsort(lengths, kind="stable")
        for group in batches_by_tokens(order, lengths, DECODE_TOKENS):
            group = np.array(group)
            longest, last = lengths[group[-1]], firsts[group] + lengths[group] - 1
            # each sentence's scores padded to the longest of the group (with its last token's: never read)
            padded = scores[np.minimum(firsts[group, None] + np.arange(longest), last[:, None])]
            paths = viterbi(padded, *self.decoder, lengths[group]) if self.decoder else padded.argmax(axis=2)
            for k, tags in zip(group, self.encoder.tags_of_paths(paths, lengths[group])):
                results[scored[k]] = tags
        self.seconds["decode"] += time.perf_counter() - started
        return results

    def _emissions(self, sentences: Sequence[Sentence]) -> list[np.ndarray]:
        """Label scores per sentence, (length, labels): the network runs on sequences of one length at a time, a
        sequence being a sentence or, with a document window, a run of sentences (cut back into sentences)."""
        emissions: list = [None] * len(sentences)
        runs = document_windows(sentences, self.encoder.window)

        def run(group: list[int]) -> tuple[list[int], dict, np.ndarray, float, float]:
            started = time.perf_counter()
            arrays = self.encoder.encode_runs([[sentences[i] for i in runs[k]] for k in group])
            encoded = time.perf_counter()
            (batch,) = self.session.run(None, {name: arrays[name] for name in self.names})
            return group, arrays, batch, encoded - started, time.perf_counter() - encoded

        groups = _by_length([sum(len(sentences[i]) for i in run) for run in runs])
        # (an error or Ctrl-C in one batch: map's iterator cancels the batches not yet started)
        with ThreadPoolExecutor(max(1, min(self.runs, len(groups)))) as pool:
            for group, arrays, batch, encoding, network in pool.map(run, groups):
                self.seconds["encode"] += encoding  # thread time, summed over the runs
                self.seconds["network"] += network
                indices = [i for k in group for i in runs[k]]
                if "positions" in arrays:
                    flat = batch.reshape(-1, batch.shape[2])
                    batch = [flat[row[: len(sentences[i])]] for row, i in zip(arrays["positions"], indices)]
                for i, row in zip(indices, batch):
                    emissions[i] = row
        return emissions

    def known(self, token: str) -> bool:
        return self.encoder.known(token)

    def predict_confidence(self, sentences):
        raise DataError("--probs is computed by PyTorch: use --runtime torch")

    def predict_nbest(self, sentences, n):
        raise DataError("--nbest is computed by PyTorch: use --runtime torch")


def _misfit(given: dict[str, str], names: Sequence[str]) -> str | None:
    """What keeps a graph from reading this model's inputs (all int64, as the Encoder gives them): another seqtag's
    export, or one edited by hand. None when it fits."""
    wrong = sorted(f"{name} ({kind})" for name, kind in given.items() if name not in names or kind != "tensor(int64)")
    missing = sorted(set(names) - set(given))
    reasons = [f"{what}: {', '.join(items)}" for what, items in (("unexpected", wrong), ("missing", missing)) if items]
    return "; ".join(reasons) or None


def _cpus() -> int:
    """The CPUs this process may run on (a container's or taskset's share, where the system says)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _by_length(lengths: Sequence[int]) -> list[list[int]]:
    """Indices grouped by length, at most BATCH_SENTENCES a group and at most BATCH_TOKENS tokens (so that the long
    pieces of a very long line do not grow onnxruntime's memory arena to many times its usual size)."""
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(lengths):
        by_length[n].append(i)
    return [indices[start : start + size] for n, indices in by_length.items()
            for size in [max(1, min(BATCH_SENTENCES, BATCH_TOKENS // max(n, 1)))]
            for start in range(0, len(indices), size)]
