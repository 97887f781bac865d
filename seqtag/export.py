"""`seqtag export`: a BiLSTM model for serving, as ONNX (run by onnxruntime, no torch at tagging time) or
TorchScript (the emission network; decoding stays in seqtag).

The exported graph computes emissions for a batch of sentences of one length, so no padding and no packing are
needed; the runtime groups sentences by length and decodes with the same scheme constraints as the CRF.
"""

from __future__ import annotations

import shutil
import warnings
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqtag import labels as L
from seqtag.corpus import Sentence
from seqtag.errors import DataError, ModelFormatError
from seqtag.tagger import CONTEXT_FILE, DECODER_FILE, ONNX_FILE, TORCHSCRIPT_FILE, Predictor, read_model_json

BATCH_SENTENCES = 256


def input_names(tagger) -> list[str]:
    encoder = tagger.encoder
    names = ["words"]
    names += ["left", "right"] if encoder.segmentation else ["cases"] + (["types", "chars"] if encoder.use_chars else [])
    return names + (["features"] if encoder.features else [])


def export(model_dir: str | Path, fmt: str, output: str | Path | None = None) -> Path:
    """Write the exported network (and decoder scores) into `output` (default: the model directory)."""
    import torch

    from seqtag.tagger import load_model

    model_dir = Path(model_dir)
    tagger = load_model(model_dir)
    if tagger.kind != "bilstm":
        raise DataError(f"only BiLSTM models can be exported; this is a {tagger.kind} model", model_dir)
    output = Path(output) if output else model_dir
    output.mkdir(parents=True, exist_ok=True)
    names = input_names(tagger)
    network = tagger.network.eval()

    class Emissions(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.network = network

        def forward(self, *inputs):
            return self.network.emissions(dict(zip(names, inputs)))

    example = [Sentence(("Peter", "Blackburn", "went"), {f: ("NNP", "NNP", "VBD") for f in tagger.features}),
               Sentence(("to", "Paris", "."), {f: ("TO", "NNP", ".") for f in tagger.features})]
    arrays = tagger.encoder.encode(example)
    args = tuple(torch.from_numpy(arrays[name]) for name in names)
    axes = {name: {0: "batch", 1: "time"} for name in names}
    if "chars" in axes:
        axes["chars"] = {0: "word_types", 1: "chars"}
    warnings.filterwarnings("ignore", module="torch")  # the exporters' advice is for other models than this
    if fmt == "onnx":
        target = output / ONNX_FILE
        tmp = output / f".{ONNX_FILE}.tmp"
        torch.onnx.export(Emissions(), args, str(tmp), input_names=names, output_names=["emissions"],
                          dynamic_axes={**axes, "emissions": {0: "batch", 1: "time"}}, dynamo=False)
        tmp.replace(target)
    elif fmt == "torchscript":
        target = output / TORCHSCRIPT_FILE
        traced = torch.jit.trace(Emissions(), args, check_trace=False)
        tmp = output / f".{TORCHSCRIPT_FILE}.tmp"
        traced.save(str(tmp))
        tmp.replace(target)
    else:
        raise DataError(f"unknown export format {fmt!r}; expected onnx or torchscript")
    crf = tagger.network.crf
    if crf is not None:
        start, transitions, end = (t.detach().cpu().numpy().astype(np.float32) for t in crf._scores())
        np.savez(output / DECODER_FILE, start=start, transitions=transitions, end=end)
    weight = tagger.network.context
    (output / CONTEXT_FILE).unlink(missing_ok=True)
    if weight is not None and bool(weight.any()):
        np.savez(output / CONTEXT_FILE, weight=weight.detach().cpu().numpy(), types=tagger.context_types)
    if output.resolve() != model_dir.resolve():
        shutil.copy2(model_dir / "model.json", output / "model.json")
    return target


class OnnxTagger(Predictor):
    """A BiLSTM model run by onnxruntime: the BiLSTM's own encoder (numpy), the exported network, numpy Viterbi
    under the same constraints, and the same context layer."""

    kind = "bilstm"

    def __init__(self, path: Path):
        import onnxruntime

        from seqtag.encoding import Encoder

        document = read_model_json(path)
        if document["kind"] != "bilstm" or not (path / ONNX_FILE).exists():
            raise ModelFormatError(f"no {ONNX_FILE} here: run `seqtag export -m {path} --format onnx` first", path)
        super().__init__(document["layer"], L.Scheme(document["scheme"]), document["labels"], document["features"])
        self.encoder = Encoder.of_model(document)
        self.train_words = set(document.get("train_words", []))
        self.session = onnxruntime.InferenceSession(str(path / ONNX_FILE), onnxruntime.SessionOptions(),
                                                    providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.session.get_inputs()]
        self.decoder = None
        if document["tagger"]["config"]["decoder"] == "crf":
            with np.load(path / DECODER_FILE, allow_pickle=False) as archive:
                self.decoder = (archive["start"], archive["transitions"], archive["end"])
        self.context = None
        if (path / CONTEXT_FILE).exists():
            with np.load(path / CONTEXT_FILE, allow_pickle=False) as archive:
                self.context = (archive["weight"], archive["types"])

    def predict(self, sentences: Sequence[Sentence]) -> list[list[str]]:
        from seqtag.baselines import viterbi
        from seqtag.context import features

        self.check_features(sentences)
        scored = [i for i, sentence in enumerate(sentences) if len(sentence)]
        emissions = self._emissions([sentences[i] for i in scored])
        if self.context is not None:  # as BiLSTMTagger.emission_batches does
            weight, types = self.context
            inputs = features([sentences[i] for i in scored], emissions, types)
            emissions = [e + x @ weight.T for e, x in zip(emissions, inputs)]
        results: list[list[str]] = [[] for _ in sentences]
        for group in _by_length([len(e) for e in emissions]):
            stacked = np.stack([emissions[k] for k in group])
            paths = viterbi(stacked, *self.decoder) if self.decoder else stacked.argmax(axis=2)
            for k, path in zip(group, paths):
                results[scored[k]] = self.encoder.tags_of(path)
        return results

    def _emissions(self, sentences: Sequence[Sentence]) -> list[np.ndarray]:
        """Label scores per sentence, (length, labels): the network runs on sentences of one length at a time."""
        emissions: list = [None] * len(sentences)
        for group in _by_length([len(s) for s in sentences]):
            arrays = self.encoder.encode([sentences[k] for k in group])
            (batch,) = self.session.run(None, {name: arrays[name] for name in self.names})
            for k, row in zip(group, batch):
                emissions[k] = row
        return emissions

    def known(self, token: str) -> bool:
        return self.encoder.known(token)

    def predict_confidence(self, sentences):
        raise DataError("--probs is computed by PyTorch: use --runtime torch")

    def predict_nbest(self, sentences, n):
        raise DataError("--nbest is computed by PyTorch: use --runtime torch")


def _by_length(lengths: Sequence[int]) -> list[list[int]]:
    """Indices grouped by length, at most BATCH_SENTENCES a group."""
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(lengths):
        by_length[n].append(i)
    return [indices[start : start + BATCH_SENTENCES] for indices in by_length.values()
            for start in range(0, len(indices), BATCH_SENTENCES)]
