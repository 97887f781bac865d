"""The taggers: the Tagger interface and model directories (tagger), opening a saved model with its own predictor
(loading), the BiLSTM network and its tagger (bilstm),
the CRF, the classic baselines (majority, HMM, perceptron), the document context layer, the encoding of words into
network inputs, and Viterbi decoding in numpy.

May import: seqtag.errors, seqtag.settings, seqtag.schedule, seqtag.kinds (the registry, to load a model by kind),
seqtag.outputs, seqtag.data and this folder.
"""
