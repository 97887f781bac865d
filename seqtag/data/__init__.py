"""Corpora and what is read from or written to them: sentences and documents (corpus), label schemes (labels),
vocabularies, pretrained word vectors, the file formats (formats/) and scoring against gold labels (evaluation).

May import: seqtag.errors, seqtag.outputs and this folder. No torch: reading, converting and scoring run without it.
"""
