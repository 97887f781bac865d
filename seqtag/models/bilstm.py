"""The BiLSTM tagger: word + casing + character (+ feature column, + character bigram) inputs, a stacked
bidirectional LSTM or GRU, and a softmax or CRF output layer.

Span tasks are trained in BIOES (the output layer then knows where chunks end) and predictions are converted back
to the scheme of the training data.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqtag.models import context
from seqtag.data import vectors
from seqtag.data import labels as L
from seqtag.data.corpus import Corpus, Sentence, StreamedCorpus
from seqtag.models.crf import CRF
from seqtag.models.encoding import NUM_CASES, Encoder, batched_windows, char_bigrams, normalize_word, training_scheme
from seqtag.errors import DataError
from seqtag.schedule import NETWORK, network_for
from seqtag.settings import BiLSTMConfig
from seqtag.models.tagger import Tagger, check_shapes
from seqtag.data.vocab import Vocabulary


WORD_DIM = 100  # the word vectors' size without pretrained vectors
CHAR_LSTM_BELOW = 80_000  # training tokens


def char_encoder_for(train_tokens: int) -> str:
    """The default character encoder: a BiLSTM on a small corpus, where most errors are unknown words and it read
    them better than the CNN on dev (CoNLL-2000 POS and CoNLL-2003 NER subsets, docs/experiments.md); the CNN
    from CHAR_LSTM_BELOW tokens up, where the two scored alike on dev and the CNN tags faster."""
    return "lstm" if train_tokens < CHAR_LSTM_BELOW else "cnn"


class Dropout(nn.Module):
    """nn.Dropout, with the mask drawn as uniform numbers on the CPU: the same distribution, but torch's CPU
    bernoulli_ is 3-4 times slower than rand there, and dropout was a tenth of a CPU training step."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.is_cuda:  # fused there
            return nn.functional.dropout(x, self.p, True)
        return x * (torch.rand_like(x) >= self.p).to(x.dtype).mul_(1.0 / (1.0 - self.p))


class Network(nn.Module):
    def __init__(self, config: BiLSTMConfig, sizes: dict[str, int], allowed=None):
        super().__init__()
        self.config = config
        self.segmentation = sizes["bigrams"] > 0
        self.words = nn.Embedding(sizes["words"], config.word_dim, padding_idx=0)
        # pretrained vectors of words that training never saw, frozen and half-size: ids from sizes["words"] up
        self.register_buffer("pretrained", torch.zeros(config.pretrained_words, config.word_dim, dtype=torch.float16)
                             if config.pretrained_words else None)
        # which training words have a pretrained vector (frozen unless fine_tune_vectors)
        self.register_buffer("has_vector", torch.zeros(sizes["words"], dtype=torch.bool) if config.embeddings else None)
        if config.embeddings and not config.fine_tune_vectors:
            self.words.weight.register_hook(lambda grad: grad.masked_fill(self.has_vector.unsqueeze(1), 0.0))
        width = config.word_dim
        if not self.segmentation:
            self.cases = nn.Embedding(NUM_CASES, config.case_dim)
            width += config.case_dim
        self.char_encoder = "none" if self.segmentation else config.char_encoder
        if self.char_encoder != "none":
            self.chars = nn.Embedding(sizes["chars"], config.char_dim, padding_idx=0)
            if self.char_encoder == "cnn":
                self.char_cnn = nn.Conv1d(config.char_dim, config.char_hidden, kernel_size=3, padding=1)
                width += config.char_hidden
            else:
                self.char_rnn = nn.LSTM(config.char_dim, config.char_hidden, batch_first=True, bidirectional=True)
                width += 2 * config.char_hidden
        self.features = nn.ModuleList(nn.Embedding(n, config.feature_dim, padding_idx=0) for n in sizes["features"])
        width += config.feature_dim * len(sizes["features"])
        if self.segmentation:
            self.bigrams = nn.Embedding(sizes["bigrams"], config.bigram_dim, padding_idx=0)
            width += 2 * config.bigram_dim
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn(width, config.hidden, num_layers=config.layers, bidirectional=True, batch_first=True,
                       dropout=config.dropout if config.layers > 1 else 0.0)
        self.dropout = Dropout(config.dropout)
        self.output = nn.Linear(2 * config.hidden, sizes["labels"])
        self.crf = CRF(sizes["labels"], allowed) if config.decoder == "crf" else None
        # label scores from context features (seqtag.models.context): zero, and frozen, until fitted after training
        self.context = None
        if sizes["context"]:
            self.context = nn.Parameter(torch.zeros(sizes["labels"], sizes["context"]), requires_grad=False)

    def _char_vectors(self, chars: torch.Tensor) -> torch.Tensor:
        """chars: (types, max_chars) -> (types, char_out), one vector per distinct word of the batch."""
        embedded = self.dropout(self.chars(chars))  # shape: (types, max_chars, char_dim)
        if self.char_encoder == "cnn":
            convolved = self.char_cnn(embedded.transpose(1, 2))  # shape: (types, filters, max_chars)
            convolved = convolved.masked_fill((chars == 0).unsqueeze(1), -1e4)
            return convolved.max(dim=2).values
        lengths = (chars != 0).sum(1).clamp(min=1)
        if not torch.onnx.is_in_onnx_export():
            packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
            _, (hidden, _) = self.char_rnn(packed)  # shape: (2, types, char_hidden)
            return torch.cat([hidden[0], hidden[1]], dim=1)
        # the same states without packing, which ONNX cannot express: the forward direction's output at each word's
        # last character, and the backward direction's on the word moved to the right end (it starts at the last
        # character and has read the whole word when it reaches the first; the padding comes after)
        steps, half = chars.size(1), self.char_rnn.hidden_size
        forward = self.char_rnn(embedded)[0][:, :, :half]
        last = forward.gather(1, (lengths - 1).view(-1, 1, 1).expand(-1, 1, half)).squeeze(1)
        source = (torch.arange(steps, device=chars.device).unsqueeze(0) - (steps - lengths).unsqueeze(1)).clamp(min=0)
        moved = embedded.gather(1, source.unsqueeze(2).expand(-1, -1, embedded.size(2)))
        backward = self.char_rnn(moved)[0][:, :, half:]
        first = backward.gather(1, (steps - lengths).view(-1, 1, 1).expand(-1, 1, half)).squeeze(1)
        return torch.cat([last, first], dim=1)

    def word_vectors(self, ids: torch.Tensor) -> torch.Tensor:
        """The trained rows for the training words, the frozen pretrained rows for the others."""
        if self.pretrained is None:
            return self.words(ids)
        trained = self.words.num_embeddings
        own = self.words(ids.clamp(max=trained - 1))
        other = nn.functional.embedding((ids - trained).clamp(min=0), self.pretrained).to(own.dtype)
        return torch.where((ids < trained).unsqueeze(-1), own, other)

    def emissions(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Label scores, shape (batch, seq_len, num_labels): per sentence, also where a sequence was a run of
        sentences (`positions`, from Encoder.encode_windows)."""
        parts = [self.word_vectors(batch["words"])]
        if not self.segmentation:
            parts.append(self.cases(batch["cases"]))
        if self.char_encoder != "none":
            parts.append(self._char_vectors(batch["chars"])[batch["types"]])
        for i, embedding in enumerate(self.features):
            parts.append(embedding(batch["features"][:, :, i]))
        if self.segmentation:
            parts += [self.bigrams(batch["left"]), self.bigrams(batch["right"])]
        x = self.dropout(torch.cat(parts, dim=2))
        if batch.get("lengths") is None:  # sentences of one length (the exported graph): no padding to skip
            hidden = self.rnn(x)[0]
        else:
            packed = pack_padded_sequence(x, batch["lengths"].cpu(), batch_first=True, enforce_sorted=False)
            hidden, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.size(1))
        scores = self.output(self.dropout(hidden)).float()
        if "positions" in batch:
            return scores.reshape(-1, scores.size(2))[batch["positions"]]
        return scores

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.loss(batch)

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean negative log-likelihood per sentence (CRF) or cross-entropy per token (softmax)."""
        emissions = self.emissions(batch)
        mask, gold = batch["mask"], batch["labels"]
        if self.crf is not None:
            return self.crf.nll(emissions, gold, mask) / mask.size(0)
        return nn.functional.cross_entropy(emissions[mask], gold[mask])

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """P(label at t | sentence), shape (batch, seq_len, num_labels)."""
        return emissions.softmax(dim=2) if self.crf is None else self.crf.marginals(emissions, mask)

    def decode_emissions(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Best label ids per sentence: Viterbi with the CRF, else the best label of each token."""
        if self.crf is not None:
            return self.crf.viterbi(emissions, mask)[0]
        best = emissions.argmax(dim=2).tolist()
        return [row[:n] for row, n in zip(best, mask.sum(1).tolist())]


class BiLSTMTagger(Tagger):
    kind = "bilstm"

    def __init__(self, layer: str, scheme: L.Scheme, labels: Sequence[str], features: Sequence[str],
                 config: BiLSTMConfig, vocabularies: dict[str, Vocabulary], device: str = "cpu"):
        super().__init__(layer, scheme, labels, features)
        self.config = config
        self.vocab = vocabularies  # words, chars, bigrams, labels (internal scheme), one per feature
        self.internal_scheme = training_scheme(scheme)
        self.segmentation = scheme is L.Scheme.BMES
        internal_labels = self.vocab["labels"].items
        allowed = L.allowed_transitions(internal_labels, self.internal_scheme)
        sizes = {
            "words": len(self.vocab["words"]) - config.pretrained_words,
            "chars": len(self.vocab["chars"]),
            "bigrams": len(self.vocab["bigrams"]) if self.segmentation else 0,
            "features": [len(self.vocab[f"feature:{f}"]) for f in self.features],
            "labels": len(internal_labels),
            "context": 0,
        }
        if config.context and self.internal_scheme is L.Scheme.BIOES:
            self.context_types = context.type_map(internal_labels)
            sizes["context"] = context.num_features(int(self.context_types.max()) + 1)
        self.network = Network(config, sizes, allowed).to(device)
        self.device = device
        self.encoder = Encoder(self.vocab, self.features, config.char_encoder, config.max_chars, layer, scheme,
                               self.internal_scheme, config.document_window, sizes["words"])

    def encode(self, sentences: Sequence[Sentence], rare_words: set[str] | None = None,
               runs: Sequence[Sequence[int]] | None = None) -> dict[str, torch.Tensor]:
        """Padded tensors for one batch, on the model's device except the lengths, which packing reads on the CPU
        (kept there, a GPU step needs no copy back). With `runs` (lists of indices into `sentences`, from
        encoding.batched_windows), those sentences, a run of several read as one sequence (Encoder.encode_windows)."""
        if runs is None:
            arrays = self.encoder.encode(sentences, rare_words)
        else:
            arrays = self.encoder.encode_runs([[sentences[i] for i in run] for run in runs], rare_words)
        return {k: torch.from_numpy(v) if k == "lengths" else torch.from_numpy(v).to(self.device)
                for k, v in arrays.items()}

    # -------------------------------------------------------------------------------------------- Tagger

    def predict(self, sentences: Sequence[Sentence]) -> list[list[str]]:
        return [labels for labels, _ in self._predict(sentences, confidence=False)]

    def predict_confidence(self, sentences: Sequence[Sentence]) -> list[tuple[list[str], list[float]]]:
        """Labels with the probability of each: CRF marginals (forward-backward) or softmax probabilities."""
        return self._predict(sentences, confidence=True)

    def predict_span_confidence(self, sentences: Sequence[Sentence]) -> list[tuple[list[str], list[float], dict]]:
        """predict_confidence, and each entity span's probability: {(start, end, type): P}. With the CRF, the
        probability of exactly that span (its tags in the network's BIOES, every other tag free: a constrained
        forward pass); with softmax, the product of its tags' probabilities."""
        results = self._predict(sentences, confidence=True, spans=True)
        return results

    def predict_nbest(self, sentences: Sequence[Sentence], n: int) -> list[list[tuple[list[str], float]]]:
        crf = self.network.crf
        if crf is None:
            return super().predict_nbest(sentences, n)
        results: list = [[([], 1.0)] for _ in sentences]
        for indices, batch, emissions in self.emission_batches(sentences):
            log_z = crf.log_partition(emissions, batch["mask"]).tolist()
            for row, i in enumerate(indices):
                results[i] = [(self.tags_of(path), math.exp(score - log_z[row]))
                              for path, score in crf.nbest(emissions[row, : len(sentences[i])], n)]
        return results

    def predict_uncertainty(self, sentences: Sequence[Sentence]) -> list[tuple[list[str], dict[str, float]]]:
        """Labels, and what active learning ranks by (seqtag.runtime.selection): the log probability of the best
        label sequence (`best`) and of the second best (`second`; -inf for a one-label sentence), and the token
        entropy summed over the sentence (`entropy`, nats). With the CRF these are exact (Viterbi, 2-best and the
        forward algorithm over the marginals); with softmax the tags are independent, so the second best sequence
        changes the one token whose runner-up is closest."""
        results: list = [([], {"best": 0.0, "second": -math.inf, "entropy": 0.0})] * len(sentences)
        crf = self.network.crf
        with torch.no_grad():
            for indices, batch, emissions in self.emission_batches(sentences):
                mask = batch["mask"]
                marginals = self.network.marginals(emissions, mask)
                entropy = (-(marginals * marginals.clamp_min(1e-12).log()).sum(2) * mask).sum(1).tolist()
                if crf is not None:
                    paths, scores = crf.viterbi(emissions, mask)
                    best = (scores - crf.log_partition(emissions, mask)).tolist()
                else:
                    paths = self.network.decode_emissions(emissions, mask)
                    top = marginals.clamp_min(1e-45).log().topk(min(2, marginals.size(2)), dim=2).values
                    best = (top[:, :, 0] * mask).sum(1).tolist()
                for row, (i, path) in enumerate(zip(indices, paths)):
                    n = len(path)
                    if crf is not None:
                        ranked = crf.nbest(emissions[row, :n], 2)
                        second = best[row] - (ranked[0][1] - ranked[1][1]) if len(ranked) > 1 else -math.inf
                    else:
                        gaps = top[row, :n, 1] - top[row, :n, 0] if top.size(2) > 1 else None
                        second = best[row] + float(gaps.max()) if gaps is not None else -math.inf
                    results[i] = (self.tags_of(path), {"best": min(best[row], 0.0), "second": second,
                                                       "entropy": max(entropy[row], 0.0)})
        return results

    def _predict(self, sentences: Sequence[Sentence], confidence: bool, spans: bool = False):
        results: list = [([], [])] * len(sentences)
        for indices, batch, emissions in self.emission_batches(sentences):
            paths = self.network.decode_emissions(emissions, batch["mask"])
            probabilities = self.network.marginals(emissions, batch["mask"]) if confidence else None
            for row, (i, path) in enumerate(zip(indices, paths)):
                chosen = probabilities[row, torch.arange(len(path)), path].tolist() if confidence else []
                results[i] = (self.tags_of(path), chosen)
                if spans:
                    results[i] += (self._span_probs(emissions[row, : len(path)], path, chosen),)
        return results

    def _span_probs(self, emissions: torch.Tensor, path: Sequence[int], chosen: Sequence[float]) -> dict:
        """{(start, end, type): probability} of the entity spans on a best path (ids of the internal scheme)."""
        if self.internal_scheme is not L.Scheme.BIOES or not path:
            return {}
        found = L.to_spans([self.vocab["labels"].items[i] for i in path], L.Scheme.BIOES)
        if self.network.crf is None:  # softmax: the tags are independent given the sentence
            return {(s.start, s.end, s.label): math.prod(chosen[s.start : s.end]) for s in found}
        with torch.no_grad():
            log_probs = self.network.crf.span_log_probs(
                emissions, [[(t, path[t]) for t in range(s.start, s.end)] for s in found]).tolist()
        return {(s.start, s.end, s.label): math.exp(p) for s, p in zip(found, log_probs)}

    def tags_of(self, path: Sequence[int]) -> list[str]:
        return self.encoder.tags_of(path)

    def emission_batches(self, sentences: Sequence[Sentence], batch_tokens: int = 4000, use_context: bool = True
                         ) -> Iterator[tuple[list[int], dict[str, torch.Tensor], torch.Tensor]]:
        """(sentence indices, encoded batch, label scores) for the non-empty sentences, in length-sorted batches.

        Batches come one at a time, except with a fitted context layer: the context of a sentence is the
        network's view of all the others, so every batch is scored before the first is returned.
        """
        self.check_features(sentences)
        weight = self.network.context if use_context else None
        batches = self._network_emissions(sentences, batch_tokens)
        if weight is None or not bool(weight.any()):
            yield from batches
            return
        yield from self.add_context(sentences, list(batches))

    def add_context(self, sentences: Sequence[Sentence], batches: list) -> list:
        """`emission_batches`' batches (indices into `sentences`) with the context layer's scores added; the
        mentions are pooled over all of them."""
        weight = self.network.context
        with torch.no_grad():
            return [(indices, batch, e + inputs @ weight.t())
                    for (indices, batch, e), inputs in zip(batches, self.context_inputs(sentences, batches))]

    def context_inputs(self, sentences: Sequence[Sentence], batches: list) -> list[torch.Tensor]:
        """The context layer's input for each of `emission_batches`' batches, (batch, seq_len, features)."""
        scored = [sentences[i] for indices, _, _ in batches for i in indices]
        emissions = [e[row, : len(sentences[i])].cpu().numpy() for indices, _, e in batches
                     for row, i in enumerate(indices)]
        rows = iter(context.features(scored, emissions, self.context_types, self.config.corpus_mention_count))
        inputs = []
        for indices, _, e in batches:
            padded = torch.zeros(e.shape[:2] + (self.network.context.size(1),), device=e.device)
            for row in range(len(indices)):
                values = torch.from_numpy(next(rows))
                padded[row, : len(values)] = values
            inputs.append(padded)
        return inputs

    def _network_emissions(self, sentences: Sequence[Sentence], batch_tokens: int):
        self.network.eval()
        with torch.no_grad():
            for runs in batched_windows(sentences, self.config.document_window, batch_tokens):
                batch = self.encode(sentences, runs=runs)
                yield [i for run in runs for i in run], batch, self.network.emissions(batch)

    def known(self, token: str) -> bool:
        return self.encoder.known(token)

    def vectors(self, corpora: dict[str, Iterable[Sentence]]) -> dict | None:
        has_vector = self.network.has_vector
        if has_vector is None:
            return None
        trained, words = self.network.words.num_embeddings, self.vocab["words"]
        has_vector = has_vector.cpu().numpy()
        coverage = {}
        for name, sentences in corpora.items():
            ids = np.array(words.ids(normalize_word(t) for s in sentences for t in s.tokens), dtype=np.int64)
            vector = (ids >= trained) | has_vector[np.minimum(ids, trained - 1)]
            unseen = (ids >= trained) | (ids == 1)  # not a training word
            coverage[name] = {"tokens": len(ids), "with_vector": _share(vector.sum(), len(ids)),
                              "unseen": _share(unseen.sum(), len(ids)),
                              "unseen_with_vector": _share((unseen & vector).sum(), unseen.sum())}
        return {"source": self.config.embeddings, "dim": self.config.word_dim,
                "words": int(has_vector.sum()) + self.config.pretrained_words,
                "fine_tuned": self.config.fine_tune_vectors, "coverage": coverage}

    def to_state(self) -> tuple[dict, dict[str, torch.Tensor]]:
        meta = {
            "config": asdict(self.config),
            "vocab": {name: vocab.to_list() for name, vocab in self.vocab.items()},
        }
        return meta, {k: v.detach().cpu() for k, v in self.network.state_dict().items()}

    @classmethod
    def from_state(cls, document: dict, tensors: dict[str, torch.Tensor], device: str = "cpu") -> BiLSTMTagger:
        meta = document["tagger"]
        vocabularies = Vocabulary.from_lists(meta["vocab"])
        config = BiLSTMConfig.from_dict(meta["config"])
        unset = [key for key in (*NETWORK, "word_dim") if getattr(config, key) is None]
        if unset:  # a trained model records what its training resolved
            raise ValueError(f"model.json's tagger config lacks {', '.join(unset)}")
        def build(on: str) -> BiLSTMTagger:
            return cls(document["layer"], L.Scheme(document["scheme"]), document["labels"], document["features"],
                       config, vocabularies, on)
        with torch.device("meta"):  # a size edited in model.json is refused before memory is taken for it
            check_shapes(build("meta").network, tensors, optional={"has_vector"})
        tagger = build(device)
        if tagger.network.has_vector is not None and "has_vector" not in tensors:  # saved before pretrained tables
            tensors = {**tensors, "has_vector": tagger.network.has_vector}
        tagger.network.load_state_dict(tensors)
        return tagger

    @classmethod
    def build(cls, counts: TrainingCounts, layer: str, scheme: L.Scheme, config: BiLSTMConfig,
              features: Sequence[str] = (), device: str = "cpu") -> BiLSTMTagger:
        """A new, untrained tagger with vocabularies from the counts of the training corpus (and the settings that
        depend on its size)."""
        tokens = sum(counts.words.values())
        if config.char_encoder == "auto":
            config = replace(config, char_encoder=char_encoder_for(tokens))
        sized = network_for(tokens, device)
        config = replace(config, **{key: sized[key] for key in sized if getattr(config, key) is None})
        words = Vocabulary.from_counts(counts.words)
        pretrained = None
        if config.embeddings:
            pretrained = vectors.load(config.embeddings)
            if config.word_dim is not None and config.word_dim != pretrained.dim:
                raise DataError(f"[model] word_dim is {config.word_dim}, but the vectors have {pretrained.dim} "
                                "dimensions; leave word_dim out and it follows them", config.embeddings)
            rows = pretrained.by_key(normalize_word)
            extra = [key for key in rows if key not in words]
            words = Vocabulary(words.items[2:] + extra)
            config = replace(config, word_dim=pretrained.dim, pretrained_words=len(extra))
        elif config.word_dim is None:
            config = replace(config, word_dim=WORD_DIM)
        vocabularies = {
            "words": words,
            "chars": Vocabulary.from_counts(counts.chars),
            "labels": Vocabulary(label_order(counts.labels, training_scheme(scheme)), specials=False),
        }
        if scheme is L.Scheme.BMES:
            vocabularies["bigrams"] = Vocabulary.from_counts(counts.bigrams)
        for feature in features:
            vocabularies[f"feature:{feature}"] = Vocabulary.from_counts(counts.features[feature])
        tagger = cls(layer, scheme, sorted(counts.labels), features, config, vocabularies, device)
        if pretrained is not None:
            tagger.set_vectors(pretrained, rows)
        return tagger

    def set_vectors(self, pretrained: vectors.Vectors, rows: dict[str, int]) -> None:
        """Pretrained vectors into the word table: the training words that have one start from it (the others from
        random rows of the vectors' own spread), the other words' go to the frozen table."""
        network, words = self.network, self.vocab["words"]
        trained = network.words.num_embeddings
        matrix = torch.from_numpy(pretrained.matrix)
        own = [(i, rows[word]) for i, word in enumerate(words.items[:trained]) if i > 1 and word in rows]
        with torch.no_grad():
            weight = network.words.weight
            weight.normal_(0.0, float(matrix.std()))
            weight[0] = 0.0
            if own:
                ids, sources = zip(*own)
                weight[list(ids)] = matrix[list(sources)].to(weight.dtype)
                network.has_vector[list(ids)] = True
            if network.pretrained is not None:
                network.pretrained.copy_(matrix[[rows[word] for word in words.items[trained:]]].half())


def _share(part, whole) -> float:
    return round(float(part) / float(whole), 4) if whole else 0.0


@dataclass
class TrainingCounts:
    """One pass over a training corpus (which may be streamed): what the vocabularies and rare-word dropout need."""

    words: Counter  # normalized words
    chars: Counter
    bigrams: Counter  # segmentation only
    labels: set[str]
    features: dict[str, Counter]

    @classmethod
    def of(cls, train: Corpus | StreamedCorpus, layer: str, features: Sequence[str] = ()) -> TrainingCounts:
        missing = [f for f in features if f not in train.layers or f == layer]
        if missing:
            raise DataError(f"--features names no usable input column: {', '.join(missing)}", train.source)
        segmentation = train.schemes[layer] is L.Scheme.BMES
        counts = cls(Counter(), Counter(), Counter(), set(), {feature: Counter() for feature in features})
        for sentence in train:
            counts.words.update(normalize_word(t) for t in sentence.tokens)
            for token in sentence.tokens:
                counts.chars.update(token)
            counts.labels.update(sentence.labels[layer])
            for feature, values in counts.features.items():
                values.update(sentence.labels[feature])
            if segmentation:
                counts.bigrams.update(char_bigrams(sentence.tokens, -1) + char_bigrams(sentence.tokens, 1))
        return counts

    def rare_words(self) -> set[str]:
        """Words seen once: rare-word dropout reads them as unknown now and then."""
        return {w for w, n in self.words.items() if n == 1}


def label_order(seen: set[str], internal: L.Scheme) -> list[str]:
    """Internal labels: every tag the internal scheme can produce for the types seen, so none is unknown later."""
    if internal is L.Scheme.PLAIN:
        return sorted(seen)
    if internal is L.Scheme.BMES:
        return ["B", "M", "E", "S"]
    types = sorted({tag[2:] for tag in seen if tag != "O"})  # every non-O tag of a checked layer is in a span
    return ["O"] + [f"{p}-{t}" for t in types for p in "BIES"]
