"""seqtag: sequence labelling (POS, NER, chunking, word segmentation) from the command line and from Python.

    import seqtag
    model = seqtag.load("en-ner")  # a bundled model's name, or a model folder
    for span in model.tag("EU rejects German call to boycott British lamb.").spans: ...

The API (seqtag.api) is imported on first use, so `seqtag --help` never imports torch or datasets.
"""

import os

from seqtag.version import __version__
__all__ = ["Model", "SAMPLE", "Tagged", "load", "read", "train", "write", "__version__"]

# oneDNN (PyTorch's CPU kernels) caches a primitive per input shape; length-bucketed batches rarely repeat a shape,
# so the cache only grows (hundreds of MB over a training epoch) for no measured gain in speed. Set before torch
# creates its first primitive; a user's own setting wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "0")


def __getattr__(name: str):
    if name in ("Model", "SAMPLE", "load", "read", "train", "write"):
        from seqtag import api

        return getattr(api, name)
    if name == "serve":  # the HTTP server (seqtag.serve.app, seqtag.serve.run): the [serve] extra
        import importlib

        return importlib.import_module("seqtag.serve")
    if name == "Tagged":
        from seqtag.runtime.tagging import Tagged

        return Tagged
    raise AttributeError(f"module 'seqtag' has no attribute {name!r}")
