"""Opening a saved model with its own predictor: PyTorch for the BiLSTM, numpy for the baselines. Which runtime
runs a model is seqtag.runtime.choice's to decide."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from seqtag import kinds
from seqtag.errors import ModelFormatError

if TYPE_CHECKING:
    from seqtag.models.tagger import Tagger


def load_model(path: str | Path, device: str = "cpu", document: dict | None = None) -> Tagger:
    """Load any model kind with its own (PyTorch or numpy) predictor; `document`: its model.json, where the caller
    has read it already. Weights are read with weights_only=True: a planted pickle payload is refused unrun."""
    from seqtag.models.tagger import load_weights
    from seqtag.modeldir import WEIGHTS_NPZ, WEIGHTS_PT, read_model_json

    path = Path(path)
    document = read_model_json(path) if document is None else document
    try:
        cls = kinds.KINDS[document["kind"]].predictor_class()
    except (KeyError, TypeError):
        raise ModelFormatError(f"unknown model kind {document.get('kind')!r}", path / "model.json") from None
    name = document.get("weights", WEIGHTS_PT)
    if name not in (WEIGHTS_PT, WEIGHTS_NPZ):
        raise ModelFormatError(f"unknown weights file {name!r} in model.json", path)
    tensors = load_weights(path, document, name, device)
    try:
        tagger = cls.from_state(document, tensors, device)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ModelFormatError(f"model files do not fit together: {type(e).__name__}: {e}", path) from None
    tagger.train_words = set(document.get("train_words", []))
    return tagger

