"""The in-memory corpus: sentences of tokens with one or more label layers, scheme handling per layer, statistics."""

from __future__ import annotations

import statistics as stats
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from seqtag.data import labels as L
from seqtag.errors import DataError

HELD_OUT = 10  # without dev data, every 10th document (or sentence) of the training data is held out as dev


class Origin(NamedTuple):
    """Where a sentence came from, so later errors can point at the source."""

    path: str
    line: int  # line (or row) of the first token
    token_per_line: bool  # column formats: token i is on line + i; line formats: all on one line

    def line_of(self, index: int) -> int:
        return self.line + index if self.token_per_line else self.line


@dataclass(frozen=True)
class Sentence:
    tokens: tuple[str, ...]
    labels: dict[str, tuple[str, ...]]  # layer -> one label per token, e.g. {"pos": ..., "ner": ...}
    origin: Origin | None = field(default=None, compare=False)
    document: int | None = None  # which document of its file (CoNLL `-DOCSTART-` blocks), where the file marks them
    # which of several independent inputs tagged together it belongs to (a request to `seqtag serve`): a model reads
    # a sentence with others of its own input only (document windows, the context layer's pools)
    scope: int | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.tokens)

    def with_layer(self, layer: str, values: Sequence[str]) -> Sentence:
        return replace(self, labels={**self.labels, layer: tuple(values)})


@dataclass
class Corpus:
    sentences: list[Sentence]
    layers: tuple[str, ...]  # label layers, in column order
    schemes: dict[str, L.Scheme] = field(default_factory=dict)  # known schemes, per layer
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.sentences)

    def __iter__(self) -> Iterator[Sentence]:
        return iter(self.sentences)

    def num_tokens(self) -> int:
        return sum(len(s) for s in self.sentences)

    def resolve_layer(self, layer: str | None) -> str:
        """The target layer: the one named, or the last one (the last column of a CoNLL file)."""
        if not self.layers:
            raise DataError("has no label layer to train or score on", self.source)
        if layer is None:
            return self.layers[-1]
        if layer not in self.layers:
            raise DataError(f"no label layer {layer!r}; layers are: {', '.join(self.layers)}", self.source)
        return layer

    def column(self, layer: str) -> list[tuple[str, ...]]:
        return [s.labels[layer] for s in self.sentences]

    def keep(self, layers: Sequence[str]) -> Corpus:
        """The corpus with only these label layers, in this order (none: tokens only)."""
        for layer in layers:
            self.resolve_layer(layer)  # names the layers there are
        return Corpus([replace(s, labels={layer: s.labels[layer] for layer in layers}) for s in self.sentences],
                      tuple(layers), {layer: self.schemes[layer] for layer in layers if layer in self.schemes},
                      self.source)

    def renamed(self, layer: str, name: str) -> Corpus:
        """The corpus with label layer `layer` called `name`."""
        def rename(labels: dict) -> dict:
            return {name if key == layer else key: value for key, value in labels.items()}

        return Corpus([replace(s, labels=rename(s.labels)) for s in self.sentences],
                      tuple(name if key == layer else key for key in self.layers), rename(self.schemes), self.source)

    def joined(self, other: Corpus) -> Corpus:
        """This corpus followed by `other` (train + dev for --refit): `other`'s documents are numbered after this
        one's, so that no document of one is read as continuing a document of the other."""
        first = 1 + max((s.document for s in self.sentences if s.document is not None), default=-1)
        moved = [s if s.document is None else replace(s, document=first + s.document) for s in other.sentences]
        return Corpus(self.sentences + moved, self.layers, dict(self.schemes), f"{self.source} + {other.source}")

    def hold_out(self, every: int = HELD_OUT) -> tuple[Corpus, Corpus]:
        """(the rest, a held-out dev set): every `every`-th document where the corpus marks at least 2 x `every` of
        them (a held-out sentence keeps its neighbours, which a document-window network reads), else every
        `every`-th sentence. Deterministic, so a resumed run holds out the same sentences."""
        documents = {s.document for s in self.sentences} - {None}
        by_document = len(documents) >= 2 * every
        order = {d: i for i, d in enumerate(dict.fromkeys(s.document for s in self.sentences))} if by_document else {}
        held = [order[s.document] % every == every - 1 if by_document else i % every == every - 1
                for i, s in enumerate(self.sentences)]
        unit = "document" if by_document else "sentence"
        rest = Corpus([s for s, h in zip(self.sentences, held) if not h], self.layers, dict(self.schemes), self.source)
        dev = Corpus([s for s, h in zip(self.sentences, held) if h], self.layers, dict(self.schemes),
                     f"{self.source} (held out: every {_ordinal(every)} {unit})")
        return rest, dev


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class StreamedCorpus:
    """A corpus too large for memory: it stays on disk and every pass (`for s in corpus`) reads it again.

    It reads like a Corpus in what does not need random access (layers, schemes, source, iteration); the label
    layer's scheme is fixed with `normalize_layer`, which then checks and converts each sentence as it passes.
    """

    def __init__(self, read: Callable[[], Iterator[Sentence]], layers: tuple[str, ...],
                 schemes: dict[str, L.Scheme] | None = None, source: str = "<stream>"):
        self._read = read
        self.layers = layers
        self.schemes = dict(schemes or {})
        self.source = source
        self._normalize: Callable[[Sentence], tuple[Sentence, bool]] | None = None
        self._counts: tuple[int, int] | None = None

    def check(self, layer: str, target: L.Scheme, normalize: Callable[[Sentence], tuple[Sentence, bool]]) -> int:
        """One pass that checks every sentence with `normalize` (which raises on a bad one), applied to each sentence
        of every later pass; returns how many sentences it repaired."""
        repaired = sentences = tokens = 0
        for sentence in self._read():
            repaired += normalize(sentence)[1]
            sentences, tokens = sentences + 1, tokens + len(sentence)
        self._normalize, self._counts = normalize, (sentences, tokens)
        self.schemes[layer] = target
        return repaired

    def __iter__(self) -> Iterator[Sentence]:
        if self._normalize is None:
            return self._read()
        return (self._normalize(sentence)[0] for sentence in self._read())

    def __len__(self) -> int:
        return self._count()[0]

    def num_tokens(self) -> int:
        return self._count()[1]

    def _count(self) -> tuple[int, int]:
        """(sentences, tokens): counted by the check pass, or by a pass of their own before it."""
        if self._counts is None:
            sentences = tokens = 0
            for sentence in self._read():
                sentences, tokens = sentences + 1, tokens + len(sentence)
            self._counts = sentences, tokens
        return self._counts

    resolve_layer = Corpus.resolve_layer

    def column(self, layer: str) -> Iterator[tuple[str, ...]]:
        return (s.labels[layer] for s in self._read())


def normalize_layer(
    corpus: Corpus | StreamedCorpus,
    layer: str,
    scheme: L.Scheme | None = None,
    on_invalid: str = "repair",
    to_scheme: L.Scheme | None = None,
) -> tuple[Corpus | StreamedCorpus, int]:
    """Check a layer against its scheme (detected when None), repair or reject invalid sequences, convert.

    Returns the new corpus and how many sentences were repaired. A streamed corpus is checked in one pass here and
    converted sentence by sentence on each later pass.
    """
    detected = scheme is None and layer not in corpus.schemes
    if scheme is None:
        scheme = corpus.schemes.get(layer) or L.detect(corpus.column(layer))
    target = to_scheme or scheme
    how = f" (the layer {layer!r} reads as {scheme.value} from its other tags; --scheme sets it)" if detected else ""

    def normalize(sentence: Sentence) -> tuple[Sentence, bool]:
        tags = sentence.labels[layer]
        try:
            problem = L.first_problem(tags, scheme)
        except L.InvalidTag as e:
            raise _located(corpus, sentence, e.index, str(e) + how) from None
        if problem is not None and on_invalid == "keep" and target is scheme:
            return sentence, False  # scored as written (seqeval's strict mode reads ill-formed chunks its own way)
        if problem is not None and on_invalid == "error":
            raise _located(corpus, sentence, problem[0], problem[1] + " (use --on-invalid repair to accept it)")
        if problem is not None or target is not scheme:
            try:
                sentence = sentence.with_layer(layer, L.convert(tags, scheme, target))
            except ValueError as e:
                raise DataError(str(e), corpus.source) from None
        return sentence, problem is not None

    if isinstance(corpus, StreamedCorpus):
        return corpus, corpus.check(layer, target, normalize)
    results = [normalize(s) for s in corpus.sentences]
    repaired = sum(was_repaired for _, was_repaired in results)
    sentences = [s for s, _ in results]
    return replace(corpus, sentences=sentences, schemes={**corpus.schemes, layer: target}), repaired


def _located(corpus: Corpus, sentence: Sentence, index: int, message: str) -> DataError:
    if sentence.origin is None:
        return DataError(message, corpus.source)
    return DataError(message, sentence.origin.path, sentence.origin.line_of(index))


def vocabulary(sentences: Iterable[Sentence]) -> set[str]:
    return {token for s in sentences for token in s.tokens}


def statistics(corpus: Corpus, layer: str | None, train_vocab: set[str] | None = None) -> dict:
    """Sentences, tokens, label counts, sentence-length distribution and, given a training vocabulary, OOV rate."""
    lengths = sorted(len(s) for s in corpus.sentences)
    result: dict = {
        "source": corpus.source,
        "sentences": len(lengths),
        "tokens": sum(lengths),
        "types": len(vocabulary(corpus.sentences)),
        "length": {
            "min": lengths[0] if lengths else 0,
            "median": stats.median(lengths) if lengths else 0,
            "mean": round(stats.fmean(lengths), 2) if lengths else 0.0,
            "p95": lengths[int(0.95 * (len(lengths) - 1))] if lengths else 0,
            "max": lengths[-1] if lengths else 0,
        },
        "length_histogram": _histogram(lengths),
    }
    if layer is not None:
        scheme = corpus.schemes.get(layer) or L.detect(corpus.column(layer))
        result["layer"] = layer
        result["scheme"] = scheme.value
        result["labels"] = dict(Counter(t for tags in corpus.column(layer) for t in tags).most_common())
        if scheme is not L.Scheme.PLAIN:
            spans = Counter(span.label for tags in corpus.column(layer) for span in L.to_spans(tags, scheme))
            result["spans"] = dict(spans.most_common())
    if train_vocab is not None:
        tokens = [t for s in corpus.sentences for t in s.tokens]
        oov = sum(t not in train_vocab for t in tokens)
        result["oov_rate"] = oov / len(tokens) if tokens else 0.0
    return result


_BUCKETS = (1, 5, 10, 20, 40, 80, 160)


def _histogram(lengths: Sequence[int]) -> dict[str, int]:
    """Counts of sentence lengths in buckets 1, 2-5, 6-10, 11-20, ..., >160."""
    counts: dict[str, int] = {}
    low = 1
    for high in _BUCKETS:
        key = str(high) if low == high else f"{low}-{high}"
        counts[key] = sum(low <= n <= high for n in lengths)
        low = high + 1
    counts[f">{_BUCKETS[-1]}"] = sum(n > _BUCKETS[-1] for n in lengths)
    return counts
