"""Sentences to padded integer arrays for the BiLSTM, with numpy only: the PyTorch model and the ONNX runtime
share it, so a model exported for serving reads its input exactly as it did in training."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from seqtag.data import labels as L
from seqtag.data.corpus import Sentence
from seqtag.data.vocab import Vocabulary

NUM_CASES = 8
CACHE_TOKENS = 200_000  # distinct tokens whose ids an Encoder keeps


def normalize_word(word: str) -> str:
    """Word-embedding key: lowercase with digits as 0 (casing and shape have their own inputs)."""
    lower = word.lower()
    if lower.isalpha():  # most words: letters only, so no digit (no character is both)
        return lower
    return "".join("0" if c.isdigit() else c for c in lower)


def casing(word: str) -> int:
    if word.isdigit():
        return 1
    if any(c.isdigit() for c in word):
        return 2
    if word.islower():
        return 3
    if word.isupper():
        return 4
    if word[:1].isupper():
        return 5
    if not any(c.isalpha() for c in word):
        return 6
    return 7


def training_scheme(scheme: L.Scheme) -> L.Scheme:
    """The scheme the network predicts in: BIOES for IOB1/IOB2 input (the output layer then knows where chunks
    end); predictions are converted back to the data's scheme."""
    return L.Scheme.BIOES if scheme in (L.Scheme.IOB1, L.Scheme.IOB2) else scheme


class LabelTables:
    """Label ids of the internal scheme -> the data's labels for many sentences at once, with numpy: for a valid
    BIOES sequence the IOB1/IOB2 label of a token depends only on it and the token before, so a table per case does
    what `labels.convert` does through spans, token by token. A sentence whose ids are not a valid sequence of the
    internal scheme (a softmax decoder's, say) goes through `labels.convert`, which repairs it."""

    def __init__(self, labels: Sequence[str], internal: L.Scheme, target: L.Scheme):
        self.labels, self.internal, self.target = list(labels), internal, target
        start, transitions, end = L.allowed_transitions(self.labels, internal)
        self.start, self.transitions, self.end = np.array(start), np.array(transitions), np.array(end)
        n = len(self.labels)
        if internal is target:  # valid ids map to themselves
            self.names = np.array(self.labels, dtype=object)
            self.inside = self.begin = np.arange(n)
            self.opens = self.closes = np.zeros(n, bool)
            return
        if internal is not L.Scheme.BIOES or target not in (L.Scheme.IOB1, L.Scheme.IOB2):
            raise ValueError(f"no label tables from {internal.value} to {target.value}")
        parsed = [L.parse_tag(label, internal) for label in self.labels]
        kinds = sorted({kind for prefix, kind in parsed if prefix != "O"})
        self.names = np.array(["O"] + [f"{p}-{kind}" for kind in kinds for p in "BI"], dtype=object)
        begin_of = {kind: 1 + 2 * k for k, kind in enumerate(kinds)}  # I- is the next name
        # the output id of B-<type> (0 for O): also what tells two tokens' types apart
        self.begin = np.array([0 if p == "O" else begin_of[kind] for p, kind in parsed])
        self.inside = np.where(self.begin > 0, self.begin + 1, 0)
        self.opens = np.array([p in "BS" for p, _ in parsed])  # a span starts here
        self.closes = np.array([p in "ES" for p, _ in parsed])  # a span ends here

    def convert(self, ids: np.ndarray, lengths: np.ndarray) -> list[list[str]]:
        """ids: the sentences' label ids one after another (lengths > 0) -> each sentence's labels."""
        ends = np.cumsum(lengths)
        firsts = ends - lengths
        first = np.zeros(len(ids), bool)
        first[firsts] = True
        previous = np.roll(ids, 1)
        ok = np.where(first, self.start[ids], self.transitions[previous, ids])
        ok[ends - 1] &= self.end[ids[ends - 1]]
        valid = np.logical_and.reduceat(ok, firsts)
        if self.target is L.Scheme.IOB1:  # B- only where a span directly follows one of the same type
            touching = ~first & self.closes[previous] & (self.begin[previous] == self.begin[ids])
            out = np.where(self.opens[ids] & touching, self.begin[ids], self.inside[ids])
        else:  # IOB2: B- wherever a span starts; the internal scheme itself: the ids as they are
            out = np.where(self.opens[ids], self.begin[ids], self.inside[ids])
        names = self.names[out].tolist()
        return [names[a:b] if good else L.convert([self.labels[j] for j in ids[a:b]], self.internal, self.target)
                for a, b, good in zip(firsts.tolist(), ends.tolist(), valid.tolist())]


def _cached(cache: dict, keys: Iterable[str], compute: Callable[[str], Any]) -> list:
    """compute(key) for every key, each distinct key computed once while it stays in `cache` (bounded: cleared
    once it holds CACHE_TOKENS keys)."""
    if len(cache) > CACHE_TOKENS:
        cache.clear()
    get = cache.get
    return [get(key) or cache.setdefault(key, compute(key)) for key in keys]


def char_bigrams(chars: Sequence[str], direction: int) -> list[str]:
    """Character bigrams with the previous (-1) or next (+1) character; sentence edges are marked."""
    padded = ["<s>", *chars, "</s>"]
    if direction < 0:
        return [padded[i] + padded[i + 1] for i in range(len(chars))]
    return [padded[i + 1] + padded[i + 2] for i in range(len(chars))]


def batches_by_tokens(order: Sequence[int], lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Consecutive chunks of `order` whose padded size (count x longest) stays within a token budget.

    `order` should be sorted by length, so padding is small; a sentence longer than the budget gets a batch alone.
    """
    batches, current, longest = [], [], 0
    for i in order:
        longest_if_added = max(longest, lengths[i])
        if current and longest_if_added * (len(current) + 1) > budget:
            batches.append(current)
            current, longest_if_added = [], lengths[i]
        current.append(i)
        longest = longest_if_added
    if current:
        batches.append(current)
    return batches


def document_windows(sentences: Sequence[Sentence], budget: int) -> list[list[int]]:
    """Indices of the non-empty `sentences`, in the spans the network reads at once: runs of consecutive sentences
    of one document (`Sentence.document`, within one `scope`) of at most `budget` tokens, so a sentence is read
    beside its neighbours at little extra cost per token. A sentence longer than the budget, one without a document
    mark, and every sentence when the budget is 0, is a span of its own."""
    windows: list[list[int]] = []
    size, document = 0, None
    for i, sentence in enumerate(sentences):
        if not len(sentence):
            continue
        if (budget and windows and sentence.document is not None and (sentence.scope, sentence.document) == document
                and size + len(sentence) <= budget):
            windows[-1].append(i)
            size += len(sentence)
        else:
            windows.append([i])
            size = len(sentence)
        document = sentence.scope, sentence.document
    return windows


def batched_windows(sentences: Sequence[Sentence], window: int, budget: int) -> list[list[list[int]]]:
    """The non-empty sentences' `document_windows`, batched by size under a token budget (`batches_by_tokens`)."""
    runs = document_windows(sentences, window)
    sizes = [sum(len(sentences[i]) for i in run) for run in runs]
    order = sorted(range(len(runs)), key=sizes.__getitem__)
    return [[runs[k] for k in chunk] for chunk in batches_by_tokens(order, sizes, budget)]


class Encoder:
    """What the network reads: word, casing and character ids (or character bigrams for segmentation), extra
    input columns, and in training the gold labels (in the internal scheme) and a rare-word mask.

    With a document window, the network reads runs of neighbouring sentences (`document_windows`) as one sequence,
    and its scores are cut back into sentences (`encode_windows`' positions)."""

    def __init__(self, vocab: dict[str, Vocabulary], features: Sequence[str], char_encoder: str, max_chars: int,
                 layer: str, scheme: L.Scheme, internal_scheme: L.Scheme, window: int = 0,
                 trained_words: int | None = None):
        self.window = window
        self.vocab = vocab
        # word ids from here up are pretrained words that training never saw (unknown to `known`)
        self.trained_words = len(vocab["words"]) if trained_words is None else trained_words
        self.features = tuple(features)
        self.segmentation = scheme is L.Scheme.BMES
        self.use_chars = char_encoder != "none" and not self.segmentation
        self.max_chars = max_chars
        self.layer, self.scheme, self.internal_scheme = layer, scheme, internal_scheme
        # token -> (word id, casing) and token -> character ids: most tokens of a text recur, and computing these
        # was most of encoding's time; bounded, cleared when full
        self._codes: dict[str, tuple[int, int]] = {}
        self._chars: dict[str, list[int]] = {}

    @classmethod
    def of_model(cls, document: dict) -> Encoder:
        """The encoder of a saved BiLSTM model (model.json), as the PyTorch and the ONNX runtime both need it."""
        from seqtag.data.vocab import Vocabulary

        scheme = L.Scheme(document["scheme"])
        config = document["tagger"]["config"]
        return cls(Vocabulary.from_lists(document["tagger"]["vocab"]), document["features"], config["char_encoder"],
                   config["max_chars"], document["layer"], scheme, training_scheme(scheme),
                   config.get("document_window", 0),  # models from before the window read sentences alone
                   len(document["tagger"]["vocab"]["words"]) + 2 - config.get("pretrained_words", 0))

    def known(self, token: str) -> bool:
        """Seen in training."""
        return 1 < self.vocab["words"].id(normalize_word(token)) < self.trained_words

    def tags_of(self, path: Sequence[int]) -> list[str]:
        """Label ids of the internal scheme -> the data's labels."""
        labels = self.vocab["labels"].items
        return L.convert([labels[j] for j in path], self.internal_scheme, self.scheme)

    @cached_property
    def label_tables(self) -> LabelTables:
        return LabelTables(self.vocab["labels"].items, self.internal_scheme, self.scheme)

    def tags_of_paths(self, paths: np.ndarray, lengths: np.ndarray) -> list[list[str]]:
        """`tags_of` for each row of a padded (sentences, steps) array of label ids, cut to its length (> 0)."""
        return self.label_tables.convert(paths[np.arange(paths.shape[1]) < lengths[:, None]], lengths)

    def encode(self, sentences: Sequence[Sentence], rare_words: set[str] | None = None, gold: bool = True
               ) -> dict[str, np.ndarray]:
        """Padded arrays for one batch. Characters are encoded once per distinct word of the batch. With
        `rare_words` (training), the rare-word mask and (with `gold`) the gold labels too."""
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        mask = np.arange(int(lengths.max()))[None, :] < lengths[:, None]

        def pad(values: Iterable[int]) -> np.ndarray:
            """One value per token of the batch, in order -> (sentences, width), zero-padded."""
            array = np.zeros(mask.shape, dtype=np.int64)
            array[mask] = list(values)
            return array

        tokens, words = [t for s in sentences for t in s.tokens], self.vocab["words"]
        codes = _cached(self._codes, tokens, lambda t: (words.id(normalize_word(t)), casing(t)))
        batch = {"words": pad(c[0] for c in codes), "lengths": lengths, "mask": mask}
        if self.segmentation:
            bigrams = self.vocab["bigrams"]
            batch["left"] = pad(i for s in sentences for i in bigrams.ids(char_bigrams(s.tokens, -1)))
            batch["right"] = pad(i for s in sentences for i in bigrams.ids(char_bigrams(s.tokens, +1)))
        else:
            batch["cases"] = pad(c[1] for c in codes)
            if self.use_chars:
                types: dict[str, int] = {}
                batch["types"] = pad(types.setdefault(t, len(types)) for t in tokens)
                chars = self.vocab["chars"]
                rows = _cached(self._chars, types, lambda t: chars.ids(t[: self.max_chars]))
                longest = max(len(r) for r in rows)
                batch["chars"] = np.array([r + [0] * (longest - len(r)) for r in rows], dtype=np.int64)
        if self.features:
            columns = [pad(self.vocab[f"feature:{f}"].ids(v for s in sentences for v in s.labels[f]))
                       for f in self.features]
            batch["features"] = np.stack(columns, axis=2)
        if rare_words is not None:
            if gold:
                batch["labels"] = self.gold(sentences, mask.shape[1])
            batch["rare"] = pad(int(normalize_word(t) in rare_words) for t in tokens) > 0
        return batch

    def gold(self, sentences: Sequence[Sentence], width: int) -> np.ndarray:
        """The gold label ids in the internal scheme (converted sentence by sentence), padded to `width`."""
        label_vocab = self.vocab["labels"]
        rows = [label_vocab.ids(L.convert(s.labels[self.layer], self.scheme, self.internal_scheme)) for s in sentences]
        return np.array([row + [0] * (width - len(row)) for row in rows], dtype=np.int64)

    def encode_runs(self, runs: Sequence[Sequence[Sentence]], rare_words: set[str] | None = None
                    ) -> dict[str, np.ndarray]:
        """A batch of `document_windows`' runs: `encode_windows` where a run holds several sentences, else plain
        `encode` (no positions to gather: sentences read alone cost what they did before windows)."""
        if any(len(run) > 1 for run in runs):
            return self.encode_windows(runs, rare_words)
        return self.encode([run[0] for run in runs], rare_words)

    def encode_windows(self, windows: Sequence[Sequence[Sentence]], rare_words: set[str] | None = None
                       ) -> dict[str, np.ndarray]:
        """`encode` for runs of sentences read as one sequence each. The inputs (and lengths, and the rare-word
        mask) are per run; `positions` gives each sentence's places in the flattened (runs x width) scores, and
        `mask` and the gold `labels` are per sentence, in the order of the runs."""
        joined = [Sentence(tuple(t for s in run for t in s.tokens),
                           {f: tuple(v for s in run for v in s.labels[f]) for f in self.features}) for run in windows]
        batch = self.encode(joined, rare_words, gold=False)
        sentences = [s for run in windows for s in run]
        width, longest = batch["words"].shape[1], max(len(s) for s in sentences)
        positions = np.zeros((len(sentences), longest), dtype=np.int64)
        row = 0
        for k, run in enumerate(windows):
            start = k * width
            for sentence in run:
                positions[row, : len(sentence)] = np.arange(start, start + len(sentence))
                start += len(sentence)
                row += 1
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        batch.update(positions=positions, mask=np.arange(longest)[None, :] < lengths[:, None])
        if rare_words is not None:
            batch["labels"] = self.gold(sentences, longest)
        return batch
