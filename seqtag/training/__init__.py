"""Training: `seqtag train` behind the API (fit: read the corpora, train any kind, score it, write the model
directory), the BiLSTM's loop (loop), its context layer (context_fit), checkpoints that --resume continues from
(checkpoint), torchrun ranks and devices.

May import: the top-level modules below seqtag.api, seqtag.data, seqtag.models and this folder.
"""
