"""Document and corpus context for span tasks: what the model predicted for the *other* mentions of a word.

A name is often easy to tag in one place ("Prime Minister Mesut Yilmaz") and hard in another ("Yilmaz said", or
an all-caps headline). The BiLSTM sees one sentence at a time; this layer adds to each token's emission scores a
learned function of the entity-type distributions that the network gave the other occurrences of the same word
(lowercased, digits as 0), pooled two ways: within the token's document (`-DOCSTART-` blocks; in input without
such marks each sentence is a document of its own), and over all the sentences tagged together. The two-stage idea is that of
Krishnan & Manning (2006); pooling over documents and the corpus follows Xu et al. (2018).

Its weights (labels x features, a few hundred numbers) are fitted on the dev set after the network is trained
and frozen (`training.context_fit`, which keeps the layer only where it helps on held-out dev documents): on
training data the network's own predictions are nearly always right, so a layer fitted there would learn to
trust them far more than it should on unseen text.

Numpy only, like the encoder, so the ONNX runtime applies it exactly as PyTorch does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seqtag.data.corpus import Sentence
from seqtag.models.encoding import normalize_word


def type_map(labels: Sequence[str]) -> np.ndarray:
    """For each internal label (B-PER, S-PER, ...), the index of its entity type; "O" is type 0."""
    types = ["O"] + sorted({label[2:] for label in labels if label != "O"})
    return np.array([types.index("O" if label == "O" else label[2:]) for label in labels])


def num_features(num_types: int) -> int:
    """Per token, by document and by corpus: the other mentions' mean type distribution, whether there are any,
    and how many (log(1 + n): a type seen in many places is surer than one seen once)."""
    return 2 * (num_types + 2)


def features(sentences: Sequence[Sentence], emissions: Sequence[np.ndarray], types: np.ndarray,
             corpus_count: bool = False) -> list[np.ndarray]:
    """Context features, one (length, num_features) array per sentence (`token_features`, cut by sentence)."""
    if not emissions:
        return []
    ends = np.cumsum([len(s) for s in sentences])[:-1]
    return np.split(token_features(sentences, np.concatenate(emissions), types, corpus_count), ends)


def token_features(sentences: Sequence[Sentence], scores: np.ndarray, types: np.ndarray,
                   corpus_count: bool = False) -> np.ndarray:
    """Context features of every token of the (non-empty) `sentences` in order, (tokens, num_features).

    scores: the network's label scores of every token, sentence after sentence, (tokens, labels) (left unchanged);
    the mentions' type distributions are their softmax, summed over the labels of each type. The corpus-level count
    is zero unless `corpus_count` (models saved before it was dropped): it grows without bound with the number of
    sentences tagged together, so a layer fitted on a small dev set and applied to a large file went far wrong
    (docs/experiments.md: The context layer).
    """
    num_types = int(types.max()) + 1
    one_hot = np.eye(num_types, dtype=np.float32)[types]  # shape: (labels, types)
    scores = np.asarray(scores, dtype=np.float32)
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs = (probs / probs.sum(axis=1, keepdims=True)) @ one_hot  # shape: (tokens, types)
    tokens = [t for s in sentences for t in s.tokens]
    # a word id per distinct token (most tokens of a text recur), then per token
    ids: dict[str, int] = {}
    word_of = {t: ids.setdefault(normalize_word(t), len(ids)) for t in set(tokens)}
    words = np.fromiter(map(word_of.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    # Unmarked sentences are one document beside marked ones (the block before a file's first -DOCSTART-);
    # where no sentence is marked (plain text), each is a document of its own. The corpus is the sentences of one
    # scope (independent inputs tagged together are not pooled).
    lengths = [len(s) for s in sentences]
    marks: dict = {}
    if any(s.document is not None for s in sentences):
        document = [marks.setdefault((s.scope, s.document), len(marks)) for s in sentences]
    else:
        document = range(len(sentences))
    scopes: dict = {}
    scope = np.repeat(np.array([scopes.setdefault(s.scope, len(scopes)) for s in sentences], dtype=np.int64), lengths)
    documents = np.repeat(np.array(document, dtype=np.int64), lengths)
    in_document = np.unique(documents * len(ids) + words, return_inverse=True)[1].reshape(-1)
    in_corpus = np.unique(scope * len(ids) + words, return_inverse=True)[1].reshape(-1) if len(scopes) > 1 else words
    pooled = [_others_mean(probs, group) for group in (in_document, in_corpus)]
    if not corpus_count:
        pooled[1][2][:] = 0.0  # (mean, has, log count) by corpus: its count
    return np.concatenate([part for parts in pooled for part in parts], axis=1)


def _others_mean(probs: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each token, the mean of `probs` over the other tokens of its group (ids from 0; zeros where there is
    none), a 0/1 column saying whether there is one, and log(1 + how many)."""
    counts = np.bincount(group)
    sums = np.zeros((len(counts), probs.shape[1]), dtype=np.float32)
    np.add.at(sums, group, probs)
    others = counts[group] - 1
    mean = (sums[group] - probs) / np.maximum(others, 1)[:, None]
    has = (others > 0).astype(np.float32)[:, None]
    return mean * has, has, np.log1p(others).astype(np.float32)[:, None]
