"""Classic baselines behind the same Tagger interface as the BiLSTM: most-frequent tag, and a TnT-style HMM.

The HMM (Brants 2000): trigram transitions smoothed by deleted interpolation, emissions by relative frequency,
and for unknown words a suffix model (successive abstraction over suffixes of rare words, one model for
capitalised and one for other words). Decoding is second-order Viterbi in log space over each word's candidate
tags (those seen with it in training; the most likely ones by suffix for unknown words), with transitions the
label scheme forbids masked out.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from seqtag.data import labels as L
from seqtag.data.corpus import Corpus, Sentence
from seqtag.models.decoding import second_order_viterbi, viterbi
from seqtag.models.tagger import Tagger
from seqtag.settings import RunConfig, TrainConfig

MAX_SUFFIX = 6  # longest suffix the unknown-word models look at
RARE = 10  # words seen at most this often train the suffix model (TnT)
UNKNOWN_CANDIDATES = 10  # tags an unknown word may take, by suffix probability


def _suffix_table(words_tags: Sequence[tuple[str, str]], tags: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """P(tag | suffix) for every suffix (and the empty one) of the given words, rows aligned with the suffix list."""
    index = {t: i for i, t in enumerate(tags)}
    counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(tags)))
    for word, tag in words_tags:
        for k in range(0, min(MAX_SUFFIX, len(word)) + 1):
            counts[word[len(word) - k :]][index[tag]] += 1
    suffixes = sorted(counts)
    table = np.stack([counts[s] for s in suffixes]) if suffixes else np.zeros((0, len(tags)))
    return suffixes, table


class MajorityTagger(Tagger):
    """Each known word's most frequent training tag; unknown words by their longest known suffix."""

    kind = "majority"

    def __init__(self, layer, scheme, labels, word_tags: dict[str, str], suffix_tags: dict[str, str]):
        super().__init__(layer, scheme, labels)
        self.word_tags = word_tags
        self.suffix_tags = suffix_tags  # includes "" -> the most frequent tag overall

    @classmethod
    def fit(cls, train: Corpus, dev: Corpus | None, layer: str, config: RunConfig | None = None,
            **kwargs) -> MajorityTagger:
        pairs = [(w, t) for s in train.sentences for w, t in zip(s.tokens, s.labels[layer])]
        by_word: dict[str, Counter] = defaultdict(Counter)
        for w, t in pairs:
            by_word[w][t] += 1
        by_suffix: dict[str, Counter] = defaultdict(Counter)
        for w, counts in by_word.items():
            if sum(counts.values()) <= RARE:
                for k in range(0, min(MAX_SUFFIX, len(w)) + 1):
                    by_suffix[w[len(w) - k :]].update(counts)
        by_suffix[""] = Counter(t for _, t in pairs)
        word_tags = {w: _most_common(c) for w, c in by_word.items()}
        suffix_tags = {s: _most_common(c) for s, c in by_suffix.items()}
        return cls(layer, train.schemes[layer], sorted({t for _, t in pairs}), word_tags, suffix_tags)

    def _tag(self, word: str) -> str:
        if word in self.word_tags:
            return self.word_tags[word]
        for k in range(min(MAX_SUFFIX, len(word)), -1, -1):
            tag = self.suffix_tags.get(word[len(word) - k :])
            if tag is not None:
                return tag
        return self.suffix_tags[""]

    def predict(self, sentences: Sequence[Sentence]) -> list[list[str]]:
        return [[self._tag(w) for w in s.tokens] for s in sentences]

    def known(self, token: str) -> bool:
        return token in self.word_tags

    def to_state(self):
        return {"word_tags": self.word_tags, "suffix_tags": self.suffix_tags}, {}

    @classmethod
    def from_state(cls, document, tensors, device="cpu") -> MajorityTagger:
        meta = document["tagger"]
        return cls(document["layer"], L.Scheme(document["scheme"]), document["labels"], meta["word_tags"],
                   meta["suffix_tags"])


def _most_common(counts: Counter) -> str:
    return min(counts, key=lambda t: (-counts[t], t))  # ties broken by name, so training is deterministic


class HMMTagger(Tagger):
    kind = "hmm"
    nbest_score = "log_joint"  # log P(words, tags), not normalised over sequences

    def __init__(self, layer, scheme, labels, words: list[str], arrays: dict[str, np.ndarray],
                 suffixes: dict[str, list[str]]):
        super().__init__(layer, scheme, labels)
        self.words = words
        self.arrays = arrays
        self.word_index = {w: i for i, w in enumerate(words)}
        self.suffixes = suffixes  # "lower"/"upper" -> suffix strings, rows of arrays["suffix_<kind>"]
        self.suffix_index = {kind: {s: i for i, s in enumerate(items)} for kind, items in suffixes.items()}
        start, transitions, _ = L.allowed_transitions(self.labels, scheme)
        n = len(self.labels)
        allowed = np.zeros((n + 1, n), dtype=bool)  # row n: sentence start
        allowed[:n] = np.array(transitions)
        allowed[n] = np.array(start)
        self.log_trans = np.where(allowed[None, :, :], arrays["log_trans"], -np.inf)  # [t1, t2, t3]
        self._unknown: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # suffix-model candidates, by word

    @classmethod
    def fit(cls, train: Corpus, dev: Corpus | None, layer: str, config: RunConfig | None = None,
            **kwargs) -> HMMTagger:
        tags = sorted({t for s in train.sentences for t in s.labels[layer]})
        n = len(tags)
        index = {t: i for i, t in enumerate(tags)}
        uni = np.zeros(n)
        bi = np.zeros((n + 1, n))
        tri = np.zeros((n + 1, n + 1, n))
        emissions: dict[str, Counter] = defaultdict(Counter)
        for sentence in train.sentences:
            previous2, previous1 = n, n  # start symbol
            for word, tag in zip(sentence.tokens, sentence.labels[layer]):
                t = index[tag]
                uni[t] += 1
                bi[previous1, t] += 1
                tri[previous2, previous1, t] += 1
                emissions[word][t] += 1
                previous2, previous1 = previous1, t
        lambdas = _deleted_interpolation(uni, bi, tri)
        # an unseen history backs off to the lower order, so every mixture is a distribution
        p_uni = uni / uni.sum()
        bi_totals = bi.sum(1, keepdims=True)
        p_bi = np.where(bi_totals > 0, bi / np.maximum(bi_totals, 1), p_uni[None, :])
        tri_totals = tri.sum(2, keepdims=True)
        p_tri = np.where(tri_totals > 0, tri / np.maximum(tri_totals, 1), p_bi[None, :, :])
        mixed = lambdas[0] * p_uni[None, None, :] + lambdas[1] * p_bi[None, :, :] + lambdas[2] * p_tri
        with np.errstate(divide="ignore"):
            log_trans = np.log(mixed)
        words = sorted(emissions)
        emit_tags, emit_logp, offsets = [], [], [0]
        for w in words:
            for t, c in sorted(emissions[w].items()):
                emit_tags.append(t)
                emit_logp.append(math.log(c / uni[t]))
            offsets.append(len(emit_tags))
        arrays = {
            "log_trans": log_trans,
            "log_uni": np.log(p_uni),
            "emit_tags": np.array(emit_tags, dtype=np.int64),
            "emit_logp": np.array(emit_logp),
            "emit_offsets": np.array(offsets, dtype=np.int64),
            "lambdas": np.array(lambdas),
        }
        suffixes = {}
        rare = [(w, tags[t]) for w in words for t, c in emissions[w].items() if sum(emissions[w].values()) <= RARE
                for _ in range(c)]
        theta = float(np.std(p_uni)) if n > 1 else 1.0
        for kind in ("lower", "upper"):
            group = [(w, t) for w, t in rare if (w[:1].isupper()) == (kind == "upper")] or rare
            items, counts = _suffix_table(group, tags)
            arrays[f"suffix_{kind}"] = _successive_abstraction(items, counts, theta)
            suffixes[kind] = items
        return cls(layer, train.schemes[layer], tags, words, arrays, suffixes)

    def _candidates(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        """Candidate tags of a word and log P(word | tag) up to a constant."""
        i = self.word_index.get(word)
        if i is not None:
            a, b = self.arrays["emit_offsets"][i : i + 2]
            return self.arrays["emit_tags"][a:b], self.arrays["emit_logp"][a:b]
        if word in self._unknown:
            return self._unknown[word]
        if len(self._unknown) > 100_000:  # a bound on memory over an endless stream
            self._unknown.clear()
        self._unknown[word] = self._suffix_candidates(word)
        return self._unknown[word]

    def _suffix_candidates(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        kind = "upper" if word[:1].isupper() else "lower"
        table, index = self.arrays[f"suffix_{kind}"], self.suffix_index[kind]
        for k in range(min(MAX_SUFFIX, len(word)), -1, -1):
            row = index.get(word[len(word) - k :])
            if row is not None:
                break
        with np.errstate(divide="ignore"):
            logp = np.log(table[row]) - self.arrays["log_uni"]  # Bayes: P(t|suffix) / P(t)
        best = np.argsort(-logp, kind="stable")[:UNKNOWN_CANDIDATES]
        best = best[np.isfinite(logp[best])]
        return best, logp[best]

    def _viterbi(self, tokens: Sequence[str]) -> list[str]:
        return self._viterbi_batch([tokens])[0]

    def _viterbi_batch(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """Second-order Viterbi for all sentences at once (see `second_order_viterbi`); the per-token Python work is
        one dictionary lookup."""
        if not sentences:
            return []
        starts, widths, tags, emitted = self._candidate_lists([word for tokens in sentences for word in tokens])
        lengths = np.array([len(tokens) for tokens in sentences])
        chosen = second_order_viterbi(self.log_trans, lengths, starts, widths, tags, emitted)
        labels = [self.labels[t] for t in chosen.tolist()]
        ends = np.cumsum(lengths).tolist()
        return [labels[end - length : end] for end, length in zip(ends, lengths.tolist())]

    def _candidate_lists(self, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every word's candidate tags and log P(word | tag) as slices of two flat arrays: (start, width) per word.
        Known words point into the model's own arrays; unknown words' suffix candidates are appended after them."""
        index, offsets = self.word_index, self.arrays["emit_offsets"]
        ids = np.fromiter((index.get(w, -1) for w in words), dtype=np.int64, count=len(words))
        starts, widths = offsets[ids], offsets[ids + 1] - offsets[ids]  # wrong for unknown words (-1): set below
        tags, emitted = self.arrays["emit_tags"], self.arrays["emit_logp"]
        unknown = np.flatnonzero(ids < 0)
        if len(unknown):
            extra = [self._candidates(words[i]) for i in unknown.tolist()]
            # a word no tag can emit keeps one impossible candidate, so its sentence still gets a path
            extra = [(t, e) if len(t) else (np.zeros(1, np.int64), np.full(1, -np.inf)) for t, e in extra]
            widths[unknown] = [len(t) for t, _ in extra]
            starts[unknown] = len(tags) + np.cumsum(widths[unknown]) - widths[unknown]
            tags = np.concatenate([tags] + [t for t, _ in extra])
            emitted = np.concatenate([emitted] + [e for _, e in extra])
        return starts, widths, tags, emitted

    def _nbest(self, tokens: Sequence[str], k: int) -> list[tuple[list[str], float]]:
        """The k best tag sequences by joint log probability: second-order Viterbi keeping k paths per state."""
        n = len(self.labels)
        lists = [self._candidates(word) for word in tokens]
        previous = np.array([n])  # the start symbol
        candidates, emitted = lists[0]
        # scores[r, a, b]: the r-th best log score with tag a at i-1 and tag b at i
        scores = (self.log_trans[n, n][candidates] + emitted)[None, None, :]
        backs = []
        for tags, emitted in lists[1:]:
            transitions = self.log_trans[previous[:, None, None], candidates[None, :, None], tags]
            step = (scores[:, :, :, None] + transitions[None]).reshape(-1, len(candidates), len(tags))
            back = np.argsort(-step, axis=0, kind="stable")[:k]  # flat (rank, a) for each state (b, c)
            scores = np.take_along_axis(step, back, axis=0) + emitted
            backs.append((len(previous), back))
            previous, candidates = candidates, tags
        flat = scores.reshape(-1)
        results = []
        for position in np.argsort(-flat, kind="stable")[:k]:
            if not np.isfinite(flat[position]):
                break
            rank, b, c = (int(x) for x in np.unravel_index(position, scores.shape))
            path = [c] if len(tokens) == 1 else [c, b]
            for width, back in reversed(backs[1:]):
                rank, a = divmod(int(back[rank, b, c]), width)
                path.append(a)
                b, c = a, b
            path.reverse()  # candidate positions, token by token
            results.append(([self.labels[lists[i][0][p]] for i, p in enumerate(path)], float(flat[position])))
        return results

    def predict(self, sentences: Sequence[Sentence]) -> list[list[str]]:
        tagged = self._viterbi_batch([s.tokens for s in sentences if len(s)])[::-1]
        return [tagged.pop() if len(s) else [] for s in sentences]

    def predict_nbest(self, sentences: Sequence[Sentence], n: int) -> list[list[tuple[list[str], float]]]:
        return [self._nbest(s.tokens, n) if len(s) else [([], 0.0)] for s in sentences]

    def known(self, token: str) -> bool:
        return token in self.word_index

    def to_state(self):
        return {"words": self.words, "suffixes": self.suffixes}, dict(self.arrays)

    @classmethod
    def from_state(cls, document, arrays, device="cpu") -> HMMTagger:
        meta = document["tagger"]
        return cls(document["layer"], L.Scheme(document["scheme"]), document["labels"], meta["words"], arrays,
                   meta["suffixes"])


def _deleted_interpolation(uni: np.ndarray, bi: np.ndarray, tri: np.ndarray) -> tuple[float, float, float]:
    """TnT's λ1, λ2, λ3: each trigram votes for the estimate that best predicts it with itself held out."""
    votes = np.zeros(3)
    total = uni.sum()
    for t1, t2, t3 in zip(*np.nonzero(tri)):
        count = tri[t1, t2, t3]
        estimates = [
            (uni[t3] - 1) / (total - 1) if total > 1 else 0.0,
            (bi[t2, t3] - 1) / (bi[t2].sum() - 1) if bi[t2].sum() > 1 else 0.0,
            (count - 1) / (tri[t1, t2].sum() - 1) if tri[t1, t2].sum() > 1 else 0.0,
        ]
        votes[int(np.argmax(estimates))] += count
    if votes.sum() == 0:
        return (1.0, 0.0, 0.0)
    return tuple(float(v) for v in votes / votes.sum())


def _successive_abstraction(suffixes: list[str], counts: np.ndarray, theta: float) -> np.ndarray:
    """P(t | suffix) smoothed from shorter suffixes: P(t|l_n..) = (P^(t|l_n..) + θ P(t|l_n+1..)) / (1 + θ)."""
    probabilities = np.zeros_like(counts)
    row = {s: i for i, s in enumerate(suffixes)}
    for i, suffix in sorted(enumerate(suffixes), key=lambda item: len(item[1])):
        estimate = counts[i] / max(counts[i].sum(), 1)
        if suffix == "":
            probabilities[i] = estimate
        else:
            probabilities[i] = (estimate + theta * probabilities[row[suffix[1:]]]) / (1 + theta)
    return probabilities



def _shape(word: str) -> str:
    """Xxxx -> Xx, 1996-08-22 -> d-d-d: runs of the same character class collapsed."""
    classes = ("X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else c for c in word)
    shape = []
    for c in classes:
        if not shape or shape[-1] != c:
            shape.append(c)
    return "".join(shape)


def perceptron_features(tokens: Sequence[str], i: int) -> list[str]:
    """The standard word, affix, shape and neighbour features (Collins 2002; Ratnaparkhi 1996)."""
    word = tokens[i]
    lower = word.lower()
    previous = tokens[i - 1].lower() if i > 0 else "<s>"
    following = tokens[i + 1].lower() if i + 1 < len(tokens) else "</s>"
    features = [
        "b", f"w={lower}", f"W={word}", f"shape={_shape(word)}",
        f"w-1={previous}", f"w+1={following}",
        f"w-2={tokens[i - 2].lower() if i > 1 else '<s>'}", f"w+2={tokens[i + 2].lower() if i + 2 < len(tokens) else '</s>'}",
        f"w-1,w={previous},{lower}", f"w,w+1={lower},{following}",
        f"s-1={previous[-3:]}", f"s+1={following[-3:]}",
    ]
    features += [f"s{k}={lower[-k:]}" for k in range(1, 5) if len(lower) >= k]
    features += [f"p{k}={lower[:k]}" for k in range(1, 4) if len(lower) >= k]
    if "-" in word:
        features.append("hyphen")
    if i == 0:
        features.append("first")
    return features


class PerceptronTagger(Tagger):
    """Averaged structured perceptron (Collins 2002): first-order Viterbi over feature scores and tag bigrams."""

    kind = "perceptron"
    EPOCHS = 6

    def __init__(self, layer, scheme, labels, features: list[str], weights: np.ndarray, transitions: np.ndarray,
                 words: list[str]):
        super().__init__(layer, scheme, labels)
        self.feature_index = {f: i for i, f in enumerate(features)}
        self.feature_names = features
        self.weights = weights  # shape: (features, tags)
        self.transitions = transitions  # shape: (tags + 1, tags); the last row is the sentence start
        self.words = set(words)
        start, allowed, _ = L.allowed_transitions(self.labels, scheme)
        self.penalty = np.where(np.vstack([np.array(allowed), np.array(start)[None, :]]), 0.0, -np.inf)

    def _feature_ids(self, tokens: Sequence[str]) -> list[np.ndarray]:
        index = self.feature_index
        return [np.fromiter((index[f] for f in perceptron_features(tokens, i) if f in index), dtype=np.int64)
                for i in range(len(tokens))]

    def _decode(self, ids: list[np.ndarray], weights: np.ndarray, transitions: np.ndarray) -> list[int]:
        emissions = np.stack([weights[row].sum(0) for row in ids])  # shape: (tokens, tags)
        transitions = transitions + self.penalty  # the last row scores the sentence start
        end = np.zeros(len(self.labels))
        return viterbi(emissions[None], transitions[-1], transitions[:-1], end)[0].tolist()

    @classmethod
    def fit(cls, train: Corpus, dev: Corpus | None, layer: str, config: RunConfig | None = None,
            **kwargs) -> PerceptronTagger:
        import random

        labels = sorted({t for s in train.sentences for t in s.labels[layer]})
        names = sorted({f for s in train.sentences for i in range(len(s)) for f in perceptron_features(s.tokens, i)})
        n = len(labels)
        words = sorted({w for s in train.sentences for w in s.tokens})
        tagger = cls(layer, train.schemes[layer], labels, names, np.zeros((len(names), n)), np.zeros((n + 1, n)),
                     words)
        tag_index = {t: i for i, t in enumerate(labels)}
        data = [(tagger._feature_ids(s.tokens), [tag_index[t] for t in s.labels[layer]]) for s in train.sentences if len(s)]
        weights, transitions = tagger.weights, tagger.transitions
        # averaging by the timestamp trick: average = w - (sum of step * update) / steps
        weights_sum, transitions_sum = np.zeros_like(weights), np.zeros_like(transitions)
        training = config.training if config is not None else TrainConfig()
        rng = random.Random(training.seed)
        step = 1
        for _ in range(training.max_epochs or cls.EPOCHS):
            rng.shuffle(data)
            for ids, gold in data:
                predicted = tagger._decode(ids, weights, transitions)
                if predicted != gold:
                    for t, (g, p) in enumerate(zip(gold, predicted)):
                        previous_g = gold[t - 1] if t else n
                        previous_p = predicted[t - 1] if t else n
                        if g != p:
                            weights[ids[t], g] += 1
                            weights[ids[t], p] -= 1
                            weights_sum[ids[t], g] += step
                            weights_sum[ids[t], p] -= step
                        if (previous_g, g) != (previous_p, p):
                            transitions[previous_g, g] += 1
                            transitions[previous_p, p] -= 1
                            transitions_sum[previous_g, g] += step
                            transitions_sum[previous_p, p] -= step
                step += 1
        tagger.weights = weights - weights_sum / step
        tagger.transitions = transitions - transitions_sum / step
        return tagger

    def predict(self, sentences: Sequence[Sentence]) -> list[list[str]]:
        return [[self.labels[t] for t in self._decode(self._feature_ids(s.tokens), self.weights, self.transitions)]
                if len(s) else [] for s in sentences]

    def known(self, token: str) -> bool:
        return token in self.words

    def to_state(self):
        used = np.flatnonzero(np.abs(self.weights).sum(1) > 0)  # features that never took part carry no weight
        meta = {"features": [self.feature_names[i] for i in used], "words": sorted(self.words)}
        return meta, {"weights": self.weights[used].astype(np.float32),
                      "transitions": self.transitions.astype(np.float32)}

    @classmethod
    def from_state(cls, document, arrays, device="cpu") -> PerceptronTagger:
        meta = document["tagger"]
        return cls(document["layer"], L.Scheme(document["scheme"]), document["labels"], meta["features"],
                   arrays["weights"].astype(np.float64), arrays["transitions"].astype(np.float64), meta["words"])

