"""The shipped form of a BiLSTM model: what tagging needs, smaller.

Two cuts, both measured before they were chosen (docs/models.md):
- the vocabulary: the training words, plus the first `keep_words` of the frozen pretrained words (a vectors file
  lists its words most frequent first); a word past the cut is tagged as an unknown word, from its characters;
- precision: the weights are stored in float16 and widened to float32 when loaded, by PyTorch and by onnxruntime
  alike (seqtag.runtime.export.halve_weights), so both compute in float32 from the same float16 values.
The lookup tables (words, pretrained vectors, bigrams) are then kept once, in model.onnx, where the graph holds them
under its own names, value for value; PyTorch reads them from there (seqtag.models.tagger.load_weights).
"""

from __future__ import annotations

from pathlib import Path

from seqtag import modeldir
from seqtag.errors import DataError

SMALL = 4096  # tensors of fewer elements (biases, CRF scores) stay float32: halving them saves nothing
TABLE = "pretrained"  # the BiLSTM's frozen pretrained vectors, of which the vocabulary cut keeps the first rows


def compact(source: str | Path, target: str | Path, keep_words: int | None = None, *,
            training: dict | None = None) -> Path:
    """Write the compact form of the BiLSTM model in `source` into `target` (a new folder), with its ONNX graph
    (its weights in float16 too). `keep_words`: the pretrained words kept beyond the training words (None:
    all). `training`: model.json's training record as it should read in the shipped form (default: as it is)."""
    from seqtag import kinds
    from seqtag.models.tagger import load_weights, save_model
    from seqtag.runtime import export

    source, target = Path(source), Path(target)
    document = modeldir.read_model_json(source)
    if not kinds.can(document.get("kind"), "onnx"):  # the shipped form runs on onnxruntime
        compacting = ", ".join(name for name in kinds.KINDS if kinds.can(name, "onnx"))
        raise DataError(f"only {compacting} models are compacted; this is a {document.get('kind')} model", source)
    tensors = load_weights(source, document)
    meta = document["tagger"]
    pretrained = meta["config"].get("pretrained_words") or 0
    kept = pretrained if keep_words is None else min(keep_words, pretrained)
    if kept < pretrained:
        trained = tensors["words.weight"].shape[0] - 2  # the saved vocabulary leaves out <pad> and <unk>
        meta["vocab"]["words"] = meta["vocab"]["words"][:trained + kept]
        meta["config"]["pretrained_words"] = kept
        tensors[TABLE] = tensors[TABLE][:kept].clone()
    halved = {name: tensor.half() if tensor.is_floating_point() and tensor.numel() >= SMALL else tensor
              for name, tensor in tensors.items()}
    tagger = kinds.KINDS[document["kind"]].predictor_class().from_state(document, halved)
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
    in_graph = _tables_in_graph(target, halved)
    if in_graph:  # model.json says where they are, weights.pt goes without them, and the graph is stamped anew
        import torch

        document = modeldir.read_model_json(target)
        document["compact"]["tables_in_graph"] = in_graph
        (target / "model.json").write_text(modeldir.dumps(document), "utf-8")  # a new folder: no reader yet
        torch.save({name: tensor for name, tensor in halved.items() if name not in in_graph},
                   target / modeldir.WEIGHTS_PT)
        export.restamp(target)
    return target


def _tables_in_graph(folder: Path, tensors: dict) -> dict[str, str]:
    """{weight name: graph name} of the large weights the graph in `folder` holds as they are (the exporter names an
    embedding table network.NAME, and halve_weights adds _float16): equal value for value, or left out."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(folder / modeldir.ONNX_FILE))
    initializers = {init.name: init for init in graph.graph.initializer}
    found = {}
    for name, tensor in tensors.items():
        if tensor.numel() < SMALL:
            continue
        for candidate in (f"network.{name}", f"network.{name}_float16"):
            init = initializers.get(candidate)
            if init is not None and np.array_equal(numpy_helper.to_array(init), tensor.numpy()) and \
                    numpy_helper.to_array(init).dtype == tensor.numpy().dtype:
                found[name] = candidate
                break
    return found
