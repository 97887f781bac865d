"""The shipped form of a BiLSTM model: what tagging needs, smaller.

Two cuts, both measured before they were chosen (docs/models.md):
- the vocabulary: the training words, plus the first `keep_words` of the frozen pretrained words (a vectors file
  lists its words most frequent first); a word past the cut is tagged as an unknown word, from its characters;
- precision: the weights are stored in float16 and widened to float32 when loaded, by PyTorch and by onnxruntime
  alike (seqtag.runtime.export.halve_weights), so both compute in float32 from the same float16 values.
"""

from __future__ import annotations

from pathlib import Path

from seqtag import modeldir
from seqtag.errors import DataError
from seqtag.models.tagger import GRAPH_TABLE, TABLE

SMALL = 4096  # tensors of fewer elements (biases, CRF scores) stay float32: halving them saves nothing
# The frozen pretrained vectors (the largest table) are kept once, in model.onnx, where the exporter names it; the
# PyTorch runtime reads it from there (seqtag.models.tagger.graph_table).


def compact(source: str | Path, target: str | Path, keep_words: int | None = None, *,
            training: dict | None = None) -> Path:
    """Write the compact form of the BiLSTM model in `source` into `target` (a new folder), with its ONNX graph
    (its weights in float16 too). `keep_words`: the pretrained words kept beyond the training words (None:
    all). `training`: model.json's training record as it should read in the shipped form (default: as it is)."""
    from seqtag import kinds
    from seqtag.models.tagger import load_tensors, save_model
    from seqtag.runtime import export

    source, target = Path(source), Path(target)
    document = modeldir.read_model_json(source)
    if document.get("kind") != "bilstm":
        raise DataError(f"only BiLSTM models are compacted; this is a {document.get('kind')} model", source)
    tensors = load_tensors(source / document.get("weights", modeldir.WEIGHTS_PT))
    meta = document["tagger"]
    pretrained = meta["config"].get("pretrained_words") or 0
    kept = pretrained if keep_words is None else min(keep_words, pretrained)
    if kept < pretrained:
        trained = tensors["words.weight"].shape[0] - 2  # the saved vocabulary leaves out <pad> and <unk>
        meta["vocab"]["words"] = meta["vocab"]["words"][:trained + kept]
        meta["config"]["pretrained_words"] = kept
        tensors["pretrained"] = tensors["pretrained"][:kept].clone()
    halved = {name: tensor.half() if tensor.is_floating_point() and tensor.numel() >= SMALL else tensor
              for name, tensor in tensors.items()}
    tagger = kinds.KINDS["bilstm"].predictor_class().from_state(document, halved)
    tagger.train_words = set(document.get("train_words", []))
    info = {key: document[key] for key in ("config", "training", "metrics") if key in document}
    if training is not None:
        info["training"] = training
    vectors = info.get("training", {}).get("vectors")
    if isinstance(vectors, dict) and isinstance(vectors.get("words"), int):  # what the shipped form has a vector of
        info["training"] = {**info["training"], "vectors": {**vectors, "words": vectors["words"] - (pretrained - kept)}}
    info["compact"] = {"pretrained_words": kept, "pretrained_words_before": pretrained, "precision": "float16"}
    save_model(tagger, target, info, tensors=halved)
    export.export(target, "onnx")
    export.halve_weights(target, SMALL)
    if kept:  # the table once, in the graph: model.json says so, weights.pt goes without it, the graph is restamped
        import torch

        document = modeldir.read_model_json(target)
        document["compact"]["table_in_graph"] = GRAPH_TABLE
        (target / "model.json").write_text(modeldir.dumps(document), "utf-8")  # a new folder: no reader yet
        torch.save({name: tensor for name, tensor in halved.items() if name != TABLE}, target / modeldir.WEIGHTS_PT)
        export.restamp(target)
    return target

