"""Training: the BiLSTM's loop (loop), checkpoints that --resume continues from, torchrun ranks and devices, and the
pipeline that reads the corpora, trains any kind, scores it and writes the model directory.

May import: the top-level modules below seqtag.api, seqtag.data, seqtag.models and this folder.
"""
