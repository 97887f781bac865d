"""seqtag: sequence labelling from the command line (POS, NER, chunking, word segmentation).

Only the version lives here, so that `seqtag --help` never imports torch or datasets.
"""

__version__ = "0.1.0"
