"""Paired bootstrap confidence intervals for a main metric (entity F1, accuracy, word F1), and the paired test of
two systems scored on the same sentences (Koehn 2004; Berg-Kirkpatrick et al. 2012).

Each sentence is reduced to the counts its metric is made of (found-and-right, found, in gold; or right and
tokens), so a resample of N sentences costs a sum of counts, not a rescoring. The counts follow the scorer's own
reading (seqtag.data.evaluation): spans as seqeval's conlleval mode finds them in IOB2, or as given in strict mode,
so the metric of the full set equals the one `evaluate` prints.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from seqtag.data import labels as L
from seqtag.errors import DataError

Tags = Sequence[Sequence[str]]
LEVEL = 0.95  # the interval's coverage


def sentence_counts(gold: Tags, predicted: Tags, scheme: L.Scheme, strict: bool = False) -> np.ndarray:
    """Per sentence, (right, found, gold) for span F1, or (right, tokens, tokens) for accuracy: shape (n, 3)."""
    if scheme is L.Scheme.PLAIN:
        return np.array([(sum(a == b for a, b in zip(g, p)), len(g), len(g)) for g, p in zip(gold, predicted)],
                        dtype=np.int64).reshape(-1, 3)
    rows = []
    for g, p in zip(gold, predicted):
        gold_spans, found = _spans(g, scheme, strict), _spans(p, scheme, strict)
        rows.append((len(gold_spans & found), len(found), len(gold_spans)))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def _spans(tags: Sequence[str], scheme: L.Scheme, strict: bool) -> set:
    if scheme is L.Scheme.BMES:
        return {(s.start, s.end) for s in L.to_spans(tags, L.Scheme.BMES)}
    if strict:
        from seqeval.scheme import IOB1, IOB2, IOBES, Entities

        seqeval_scheme = {L.Scheme.IOB1: IOB1, L.Scheme.IOB2: IOB2, L.Scheme.BIOES: IOBES}[scheme]
        return {(e.tag, e.start, e.end) for e in Entities([list(tags)], seqeval_scheme).entities[0]}
    from seqeval.metrics.sequence_labeling import get_entities

    return set(get_entities(L.convert(list(tags), scheme, L.Scheme.IOB2)))


def metric(counts: np.ndarray, scheme: L.Scheme) -> np.ndarray:
    """The main metric of each row of summed counts (..., 3): accuracy, or F1 = 2 right / (found + gold)."""
    right, found, gold = counts[..., 0], counts[..., 1], counts[..., 2]
    if scheme is L.Scheme.PLAIN:
        return np.divide(right, found, out=np.zeros(right.shape), where=found > 0)
    total = found + gold
    return np.divide(2 * right, total, out=np.zeros(right.shape), where=total > 0)


SAMPLES = (100, 100_000)  # a 95% percentile interval needs a hundred resamples; time grows with the number
CHUNK = 500  # resamples drawn at a time: memory stays CHUNK x sentences, whatever the number asked


def resamples(sentences: int, samples: int, seed: int) -> Iterator[np.ndarray]:
    """`samples` resamples of the sentence indices, with replacement, as counts per sentence, CHUNK at a time:
    arrays of (up to CHUNK, n)."""
    rng = np.random.default_rng(seed)
    for start in range(0, samples, CHUNK):
        yield np.stack([np.bincount(rng.integers(0, sentences, sentences), minlength=sentences)
                        for _ in range(min(CHUNK, samples - start))])


def interval(counts: np.ndarray, scheme: L.Scheme, samples: int = 1000, seed: int = 1) -> dict:
    """The metric with its percentile bootstrap interval: {"value", "low", "high", "level", "samples"}."""
    _check(samples, len(counts))
    draws = np.concatenate([metric(weights @ counts, scheme) for weights in resamples(len(counts), samples, seed)])
    low, high = np.quantile(draws, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2])
    return {"value": float(metric(counts.sum(axis=0), scheme)), "low": float(low), "high": float(high),
            "level": LEVEL, "samples": samples}


def paired(counts_a: np.ndarray, counts_b: np.ndarray, scheme: L.Scheme, samples: int = 1000, seed: int = 1) -> dict:
    """System A against system B on the same sentences: the difference A - B with its interval, and the share of
    resamples in which A does not beat B when it does on the full set (or the other way round): the p-value of
    the paired bootstrap test."""
    if counts_a.shape != counts_b.shape:
        raise DataError(f"the two systems were scored on {len(counts_a)} and {len(counts_b)} sentences; a paired "
                        "test needs the same sentences")
    _check(samples, len(counts_a))
    delta = np.concatenate([metric(weights @ counts_a, scheme) - metric(weights @ counts_b, scheme)
                            for weights in resamples(len(counts_a), samples, seed)])
    observed = float(metric(counts_a.sum(axis=0), scheme) - metric(counts_b.sum(axis=0), scheme))
    flipped = float(np.mean(delta <= 0) if observed > 0 else np.mean(delta >= 0))
    low, high = np.quantile(delta, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2])
    return {"difference": observed, "low": float(low), "high": float(high), "p_value": flipped, "level": LEVEL,
            "samples": samples}


def check_samples(samples) -> int:
    """A number of resamples: 0 (none) or from SAMPLES[0] to SAMPLES[1]."""
    low, high = SAMPLES
    if isinstance(samples, bool) or not isinstance(samples, int) or not (samples == 0 or low <= samples <= high):
        raise DataError(f"--bootstrap takes 0 (no interval) or {low:,} to {high:,} resamples (1,000 is usual), not "
                        f"{samples!r}")
    return samples


def _check(samples, sentences: int) -> None:
    if check_samples(samples) == 0:
        raise DataError("--bootstrap 0 asks for no interval")
    if sentences == 0:
        raise DataError("no sentences to resample")
