"""`seqtag export`: a BiLSTM model for serving, as ONNX (run by onnxruntime, no torch at tagging time) or
TorchScript (the emission network; decoding stays in seqtag). This module only writes; the ONNX runtime that runs
the graph is seqtag.runtime.onnx_tagger.

The exported graph computes emissions for a batch of sentences of one length, so no padding and no packing are
needed; the runtime groups sentences by length and decodes with the same scheme constraints as the CRF. Each graph
is stamped with the hashes of the model.json and weights it came from and of the decoder and context scores written
with it, so a model is never run through a graph (or scores) of other weights.
"""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

from seqtag.data.corpus import Sentence
from seqtag.data.formats.text import file_sha256
from seqtag import durable, kinds
from seqtag.errors import DataError
from seqtag.modeldir import CONTEXT_FILE, DECODER_FILE, INT8_FILE, ONNX_FILE, TORCHSCRIPT_FILE, WEIGHTS_NPZ, WEIGHTS_PT

STAMP = "seqtag_model_json_sha256"  # in model.onnx's metadata: the files the graph was exported with (see below)
# What a graph is tied to: the model (model.json, weights.pt) it was exported from, and the decoder and context
# scores written with it. The stamp records each file's sha256; a graph whose files changed or went missing is
# stale: rebuilt where the folder can be written, refused where it cannot.
STAMPED = ("model.json", WEIGHTS_PT, DECODER_FILE, CONTEXT_FILE)


def model_stamp(model_dir: Path, output: Path | None = None) -> str:
    """The stamp of a graph written into `output` (default: the model directory) from the model in `model_dir`."""
    folders = {"model.json": model_dir, WEIGHTS_PT: model_dir}
    present = [(name, folders.get(name, output or model_dir) / name) for name in STAMPED]
    return ";".join(f"{name}={file_sha256(path)}" for name, path in present if path.exists())


def belongs(folder: Path, stamp: str | None) -> bool:
    """Whether a graph still belongs to the files beside it in `folder`. A graph without a stamp came from an older
    `seqtag export` (or not from seqtag): never replaced, and run only where no weights lie beside it
    (onnx_tagger.onnx_predictor refuses it there). A stamp of one hash
    (the first stamps) covers model.json only. An exported serving folder holds no weights: they are not asked for."""
    if stamp is None:
        return True
    entries = [entry.split("=", 1) for entry in stamp.split(";")] if "=" in stamp else [["model.json", stamp]]
    for name, digest in entries:
        path = folder / name
        if not path.exists() and name == WEIGHTS_PT:
            continue
        if not path.exists() or file_sha256(path) != digest:
            return False
    return True


def has_weights(folder: Path) -> bool:
    return (folder / WEIGHTS_PT).exists() or (folder / WEIGHTS_NPZ).exists()


def input_names(tagger) -> list[str]:
    encoder = tagger.encoder
    names = ["words"]
    names += ["left", "right"] if encoder.segmentation else ["cases"] + (["types", "chars"] if encoder.use_chars else [])
    return names + (["features"] if encoder.features else [])


def export(model_dir: str | Path, fmt: str, output: str | Path | None = None) -> Path:
    """Write the exported network (and decoder scores) into `output` (default: the model directory)."""
    import torch

    from seqtag.models.loading import load_model

    model_dir = Path(model_dir)
    tagger = load_model(model_dir)
    if not kinds.can(tagger.kind, "onnx"):
        exporting = ", ".join(name for name in kinds.KINDS if kinds.can(name, "onnx"))
        raise DataError(f"only {exporting} models can be exported; this is a {tagger.kind} model", model_dir)
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
    # the decoder and context files first, the graph last: a reader that finds a fresh graph finds fresh scores
    crf = tagger.network.crf
    if crf is not None:
        start, transitions, end = (t.detach().cpu().numpy().astype(np.float32) for t in crf._scores())
        _replace(output / DECODER_FILE, lambda f: np.savez(f, start=start, transitions=transitions, end=end))
    weight = tagger.network.context
    if weight is not None and bool(weight.any()):  # replaced, never removed first: a reader always finds one
        _replace(output / CONTEXT_FILE,
                 lambda f: np.savez(f, weight=weight.detach().cpu().numpy(), types=tagger.context_types))
    else:
        (output / CONTEXT_FILE).unlink(missing_ok=True)
    if output.resolve() != model_dir.resolve():
        shutil.copy2(model_dir / "model.json", output / "model.json")
    if fmt == "onnx":
        target = output / ONNX_FILE
        _replace(target, lambda f: _export_onnx(Emissions(), args, names, axes, f, model_stamp(model_dir, output)))
    elif fmt == "torchscript":
        target = output / TORCHSCRIPT_FILE
        traced = torch.jit.trace(Emissions(), args, check_trace=False)
        _replace(target, lambda f: torch.jit.save(traced, f))
    else:
        raise DataError(f"unknown export format {fmt!r}; expected onnx or torchscript")
    return target


def _export_onnx(module, args, names: list[str], axes: dict, file, stamp: str) -> None:
    import io

    import onnx
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the legacy exporter (no onnxscript needed) warns that it is deprecated
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, args, buffer, input_names=names, output_names=["emissions"],
                              dynamic_axes={**axes, "emissions": {0: "batch", 1: "time"}}, dynamo=False)
        except Exception as error:  # a network the exporter cannot express: said in a line, not its IR dump
            reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
            raise DataError(f"the network cannot be exported to ONNX ({reason}); `seqtag tag --runtime torch` "
                            "runs it") from None
    file.write(_stamped(onnx.load_model_from_string(buffer.getvalue()), stamp))


def _stamped(graph, stamp: str) -> bytes:
    """The graph, serialized, with the model.json hash it belongs to as its only seqtag metadata."""
    for i in reversed(range(len(graph.metadata_props))):
        if graph.metadata_props[i].key == STAMP:
            del graph.metadata_props[i]
    entry = graph.metadata_props.add()
    entry.key, entry.value = STAMP, stamp
    return graph.SerializeToString()


def _replace(target: Path, write) -> None:
    """Write `target` through a temporary file beside it, renamed over it only once complete."""
    tmp = durable.temporary_path(target)
    durable.remove_dead_leftovers(target.parent, {target.name})  # left by a process killed while writing it
    try:
        with open(tmp, "wb") as file:
            write(file)
        durable.write_point("export.written")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def quantize(model_dir: Path) -> Path:
    """model.int8.onnx: onnxruntime's dynamic quantization (int8 weights of the LSTM, linear and embedding layers,
    activations quantized on the fly), stamped like the graph it comes from."""
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    onnxruntime.set_default_logger_severity(3)  # errors only, as for the sessions
    target = model_dir / INT8_FILE
    scratch = durable.temporary_path(target.with_name(f"{target.name}-quantizing"))
    durable.remove_dead_leftovers(model_dir, {f"{target.name}-quantizing"})  # a killed quantization's scratch file
    try:
        logging.disable(logging.WARNING)  # its advice to pre-process the graph is for image models
        try:
            quantize_dynamic(str(model_dir / ONNX_FILE), str(scratch), weight_type=QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
        durable.write_point("int8.quantized")
        graph = _stamped(onnx.load(str(scratch)), model_stamp(model_dir))
        _replace(target, lambda f: f.write(graph))
    finally:
        scratch.unlink(missing_ok=True)
    return target




def writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def graph_state(model_dir: Path) -> str:
    """"current", "stale" (exported from another model.json) or "damaged": the model.onnx in `model_dir`."""
    import onnx

    try:
        stamps = {e.key: e.value for e in onnx.load(str(model_dir / ONNX_FILE), load_external_data=False).metadata_props}
    except Exception:  # onnx raises many types for a damaged file
        return "damaged"
    return "current" if belongs(model_dir, stamps.get(STAMP)) else "stale"


def restamp(model_dir: Path) -> Path:
    """Stamp the graph in `model_dir` as belonging to the files now beside it: only for a folder being built
    (seqtag.runtime.compact moves a table out of weights.pt after exporting, and the graph then holds it)."""
    import onnx

    target = model_dir / ONNX_FILE
    graph = _stamped(onnx.load(str(target)), model_stamp(model_dir))
    _replace(target, lambda f: f.write(graph))
    return target


def halve_weights(model_dir: Path, smallest: int) -> Path:
    """Store the graph's float32 weights of `smallest` elements or more in float16, each widened back to float32 by
    a Cast that onnxruntime folds when it opens the graph: half the file, the same float32 arithmetic. The graph
    keeps its stamp."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    target = model_dir / ONNX_FILE
    graph = onnx.load(str(target))
    casts = []
    for init in graph.graph.initializer:
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= smallest:
            name = init.name
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{name}_float16"))
            casts.append(helper.make_node("Cast", [f"{name}_float16"], [name], to=TensorProto.FLOAT))
    for cast in reversed(casts):
        graph.graph.node.insert(0, cast)
    _replace(target, lambda f: f.write(graph.SerializeToString()))
    return target
