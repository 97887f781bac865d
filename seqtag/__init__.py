"""seqtag: sequence labelling from the command line (POS, NER, chunking, word segmentation).

Only the version and one environment default live here, so that `seqtag --help` never imports torch or datasets.
"""

import os

__version__ = "0.1.0"

# oneDNN (PyTorch's CPU kernels) caches a primitive per input shape; length-bucketed batches rarely repeat a shape,
# so the cache only grows (hundreds of MB over a training epoch) for no measured gain in speed. Set before torch
# creates its first primitive; a user's own setting wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "0")
