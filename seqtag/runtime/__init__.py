"""Running a trained model: streaming tagging with worker processes (tagging) and the exported graphs (export:
ONNX, TorchScript) that the ONNX runtime runs, and the compact form bundled models ship in (compact).

May import: the top-level modules below seqtag.api, seqtag.data, seqtag.models and this folder (not training).
"""
