"""The one place that decides what runs a saved model.

`choose` says which runtime runs a model and why: `seqtag.load`, the switch to PyTorch when a caller asks the ONNX
runtime for what only PyTorch gives (probabilities, n-best lists), and `seqtag info` all ask it. `open_predictor`
opens what it chose, falling back to PyTorch where the automatic choice cannot be had after all.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from seqtag import kinds
from seqtag.errors import DataError, SeqtagError
from seqtag.models.loading import load_model

# auto: onnxruntime for a kind that exports to ONNX (the graph written into the model folder on first use), PyTorch
# where it cannot be and for probabilities and n-best lists; or either one by name. The baselines run on numpy.
RUNTIMES = ("auto", "torch", "onnx", "onnx-int8")  # onnx-int8: weights quantized to int8 (opt-in, see README)


@dataclass(frozen=True)
class Choice:
    runtime: str  # "onnx", "onnx-int8", "torch" (PyTorch, or numpy for the baselines)
    why: str  # in words, for `seqtag info` and the notes tagging prints
    asked: str  # what the caller asked for: a choice made for "auto" may still fall back to PyTorch


def choose(path: Path, document: dict, asked: str = "auto", *, probs: bool = False, nbest: int = 0,
           look_inside: bool = False) -> Choice:
    """Which runtime runs the model in `path` (its model.json: `document`). `look_inside` also opens an existing
    model.onnx to see whether it is damaged or stale (what `seqtag info` shows); loading finds that out by opening
    it, and falls back then (open_predictor)."""
    if asked not in RUNTIMES:
        raise DataError(f"runtime must be {', '.join(RUNTIMES[:-1])} or {RUNTIMES[-1]}, not {asked!r}")
    known = kinds.KINDS.get(document.get("kind"))  # an unknown kind is load_model's to refuse, as a damaged model
    if known is None or "onnx" not in known.capabilities:
        if asked.startswith("onnx"):
            raise DataError(f"--runtime {asked} runs BiLSTM models; this is a {document.get('kind')} model", path)
        return Choice("torch", f"{document.get('kind')} models run on numpy", asked)
    if asked != "auto":
        return Choice(asked, "asked for", asked)
    if probs or nbest:
        return Choice("torch", "PyTorch: probabilities and n-best lists come from it", asked)
    if importlib.util.find_spec("onnxruntime") is None:
        return Choice("torch", "PyTorch: onnxruntime is not installed", asked)
    from seqtag.modeldir import INT8_FILE, ONNX_FILE
    from seqtag.runtime.export import writable

    graph = path / ONNX_FILE
    if not graph.exists():
        if not writable(path):
            return Choice("torch", "PyTorch: this folder cannot be written, so model.onnx cannot be exported into it",
                          asked)
        return Choice("onnx", "onnxruntime, once the first `seqtag tag` has exported model.onnx", asked)
    if look_inside:
        from seqtag.runtime.export import graph_state

        state = graph_state(path)
        if state == "damaged":
            return Choice("torch", f"PyTorch: {ONNX_FILE} is damaged (`seqtag export -m {path} --format onnx` writes "
                          "it again)", asked)
        if state == "stale":
            return Choice("onnx", "onnxruntime, once the next `seqtag tag` has exported model.onnx again (this one "
                          "is older)", asked)
    int8 = " (model.int8.onnx for --runtime onnx-int8)" if (path / INT8_FILE).exists() else ""
    return Choice("onnx", f"onnxruntime, model.onnx{int8}", asked)


def open_predictor(path: Path, document: dict, choice: Choice, on_progress=lambda event: None):
    """(predictor, the choice that holds) for a choice made by `choose`: where onnxruntime was chosen for "auto"
    and cannot run the model after all (the network cannot be exported, say), PyTorch runs it and a note says why."""
    if choice.runtime == "torch":
        return load_model(path, document=document), choice
    try:
        from seqtag.runtime.onnx_tagger import onnx_predictor

        return onnx_predictor(path, on_progress, int8=choice.runtime == "onnx-int8", document=document), choice
    except Exception as error:  # the fallback: PyTorch runs every model, and gives the same labels
        if choice.asked != "auto":
            raise
        try:  # a model PyTorch cannot load either is reported by it, or by onnxruntime's reason where it had one
            predictor = load_model(path, document=document)
        except SeqtagError:
            if isinstance(error, SeqtagError):  # a serving folder's graph out of date: no weights to fall back on
                raise error from None
            raise
        if not isinstance(error, (ImportError, DataError)):  # not an expected absence: worth a line
            on_progress({"event": "note", "message": f"tagging with PyTorch: {error}"})
        return predictor, Choice("torch", f"PyTorch: {error}", choice.asked)
