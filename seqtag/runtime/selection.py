"""`seqtag select`: which sentences of an unlabelled pool to annotate next (active learning by uncertainty sampling).

The pool streams through the model a window at a time and only the `count` most uncertain sentences are kept (a
heap), so a pool larger than memory is fine. Each is written with the model's labels as pre-annotations, most
uncertain first, in any output format of `seqtag tag` (doccano and Label Studio import theirs for correction; jsonl
adds each sentence's score).

Strategies (the higher the score, the sooner a sentence is chosen), from the model's sequence probabilities
(`Tagger.predict_uncertainty`):
- least-confidence: the lowest P(best labels) first (Culotta and McCallum 2005), scored as -log P(best);
- margin: the smallest P(best) - P(second best) first (Scheffer et al. 2001), scored as -log of it;
- entropy: the token entropies summed over the sentence (Settles and Craven 2008), which favours long sentences;
- mnlp: -log P(best) / length, the length-normalised form (Shen et al. 2017);
- random: a uniform sample of the pool, the control every strategy is measured against (any model kind).
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from seqtag.errors import DataError
from seqtag.runtime.tagging import MAX_TOKENS, Tagged, Unit, render


def _margin(u: dict, n: int) -> float:
    """-log(P(best) - P(second best)), computed from the logs: the probabilities of a long sentence underflow."""
    if u["second"] >= u["best"]:
        return math.inf
    return -(u["best"] + math.log1p(-math.exp(u["second"] - u["best"])))


# Scores are monotone in the quantity each names, kept in logs where probabilities would round to 0 or 1
STRATEGIES: dict[str, Callable[[dict, int], float] | None] = {
    "least-confidence": lambda u, n: -u["best"],
    "margin": _margin,
    "entropy": lambda u, n: u["entropy"],
    "mnlp": lambda u, n: -u["best"] / n,
    "random": None,
}
DEFAULT_STRATEGY = "mnlp"


def check(predictor, strategy: str, count: int) -> None:
    """Refuse, before the pool is read, a strategy or count that cannot be served."""
    if strategy not in STRATEGIES:
        raise DataError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise DataError(f"count must be a whole number from 1 up, not {count!r}")
    if STRATEGIES[strategy] is not None and not hasattr(predictor, "predict_uncertainty"):
        raise DataError(f"--strategy {strategy} ranks by the model's sequence probabilities (a BiLSTM model); this "
                        f"is a {predictor.kind} model: --strategy random works with any")


def select(predictor, units: Iterable[Unit], count: int, strategy: str = DEFAULT_STRATEGY, seed: int = 1,
           annotated: Iterable[Sequence[str]] = (), window: int = 2000, counts: dict | None = None
           ) -> list[tuple[float, Tagged]]:
    """The `count` most uncertain sentences of `units` with their scores, most uncertain first (ties: pool order).
    Sentences whose tokens are in `annotated`, repeats of a chosen sentence, empty ones and ones over MAX_TOKENS
    tokens are passed over; `counts`, where given, gets how many were read and passed over."""
    check(predictor, strategy, count)
    rank = STRATEGIES[strategy]
    done = {tuple(tokens) for tokens in annotated}
    rng = random.Random(seed)
    counts = {} if counts is None else counts
    counts.update(read=0, annotated=0, repeated=0, long=0)
    kept: list[tuple[float, int, tuple, Tagged]] = []  # a min-heap: the least uncertain of those kept on top
    chosen: set[tuple] = set()
    units = iter(units)
    at = 0
    while window_units := list(islice(units, window)):
        usable = []
        for unit in window_units:
            tokens = tuple(unit[0])
            if not tokens:
                continue
            counts["read"] += 1
            if tokens in done:
                counts["annotated"] += 1
            elif len(tokens) > MAX_TOKENS:
                counts["long"] += 1
            else:
                usable.append(unit)
        for unit, (labels, scores) in zip(usable, _scored(predictor, usable, rank is None)):
            at += 1
            score = rng.random() if rank is None else rank(scores, len(unit[0]))
            tokens = tuple(unit[0])
            if tokens in chosen:
                counts["repeated"] += 1
                continue
            if len(kept) == count and (score, -at) <= kept[0][:2]:
                continue
            words, offsets, text, document, _, where = unit
            entry = (score, -at, tokens, Tagged(list(words), labels, predictor.scheme, offsets, text,
                                                document=document if text is None else None, where=where))
            chosen.add(tokens)
            if len(kept) == count:
                chosen.discard(heapq.heapreplace(kept, entry)[2])
            else:
                heapq.heappush(kept, entry)
    return [(score, tagged) for score, _, _, tagged in sorted(kept, key=lambda e: (-e[0], -e[1]))]


def _scored(predictor, units: Sequence[Unit], plain: bool) -> list[tuple[list[str], dict | None]]:
    from seqtag.data.corpus import Sentence

    sentences = [Sentence(tuple(tokens), layers, document=document) for tokens, _, _, document, layers, _ in units]
    if plain:
        return [(labels, None) for labels in predictor.predict(sentences)]
    return predictor.predict_uncertainty(sentences)


def render_selected(selected: Sequence[tuple[float, Tagged]], layer: str, output_format: str) -> Iterator[str]:
    """The chosen sentences in an output format of `seqtag tag`; jsonl adds each one's `uncertainty`."""
    if output_format == "jsonl":
        return (json.dumps({**tagged.record(), "uncertainty": round(score, 6)}, ensure_ascii=False) + "\n"
                for score, tagged in selected)
    return render([tagged for _, tagged in selected], layer, output_format)


def select_lines(model, lines: Iterable[str], count: int, strategy: str = DEFAULT_STRATEGY, *,
                 input_format: str = "raw", columns: Sequence[str] | None = None, split: bool = True, seed: int = 1,
                 annotated: Iterable[Sequence[str]] = (), window: int = 2000, counts: dict | None = None,
                 output_format: str = "jsonl") -> list[tuple[float, Tagged]]:
    """`seqtag select` on a loaded model (seqtag.Model): the pool as `seqtag tag` reads stdin; what the model or
    `output_format` cannot give is refused before the pool is read."""
    from seqtag.data import labels as L
    from seqtag.runtime.tagging import check_output, units_from_lines

    check(model.predictor, strategy, count)
    check_output(model.predictor, output_format, 0)
    units = units_from_lines(lines, input_format, model.scheme is L.Scheme.BMES, columns, sentences=split)
    return select(model.predictor, units, count, strategy, seed, annotated, window, counts)
