"""Fitting the context layer (seqtag.models.context) on dev after the network is trained: each half of dev fitted
and checked on the other, kept only where it helps there, and the cross-fitted predictions that make the dev figure
a held-out one."""

from __future__ import annotations

import torch

from seqtag.data.corpus import Corpus, Sentence
from seqtag.data.evaluation import score_tagger
from seqtag.models.bilstm import BiLSTMTagger


def fit_context(tagger: BiLSTMTagger, dev: Corpus) -> tuple[dict, list[list[str]] | None]:
    """Fit the context layer (seqtag.models.context) on the dev set, with the network frozen, if it earns its place.

    It is first fitted on each half of the dev documents and scored on the other half. Only if it then beats the
    network alone on the held-out halves is it fitted on the whole dev set. Otherwise it stays zero, as on a dev
    set too small to fit it (the bundled sample's: 100 sentences).

    Returns what was measured, for model.json, and, where the layer is kept, the cross-fitted dev predictions: each
    dev sentence tagged with the layer fitted on the other half (in dev's order). A model with the layer fitted
    on all of dev would be scored there on the data it was fitted on; those predictions are its held-out dev
    figure. None where the layer is not kept: the network alone is then what dev scores.

    The frozen network scores the dev set once; every fit and held-out score reads those scores.
    """
    sentences = [s for s in dev if len(s)]
    halves = _halves(sentences)
    held_out = {"with": 0.0, "without": 0.0}
    if not all(halves):  # a dev set of one sentence (or document) cannot check the layer
        return {"kept": False, "held_out_dev_score": held_out}, None
    scored = [_scored_batches(tagger, sentences, half) for half in halves]
    cross_fitted: dict[int, list[str]] = {}
    for fit_on, check_on in ((0, 1), (1, 0)):
        _fit_context(tagger, sentences, scored[fit_on])
        check = Corpus([sentences[i] for i in halves[check_on]], dev.layers, dev.schemes, dev.source)
        for key, batches in (("with", tagger.add_context(sentences, scored[check_on])), ("without", scored[check_on])):
            predicted = {i: tagger.tags_of(path) for indices, batch, e in batches
                         for i, path in zip(indices, tagger.network.decode_emissions(e, batch["mask"]))}
            report = score_tagger(tagger, check, predicted=[predicted[i] for i in halves[check_on]])
            held_out[key] += report[report["metric"]] / 2
            if key == "with":
                cross_fitted.update(predicted)
    kept = held_out["with"] > held_out["without"]
    if kept:
        _fit_context(tagger, sentences, scored[0] + scored[1])
    else:
        with torch.no_grad():
            tagger.network.context.zero_()
    measured = {"kept": kept, "held_out_dev_score": {k: round(v, 4) for k, v in held_out.items()}}
    if not kept:
        return measured, None
    by_sentence = iter(cross_fitted[i] for i in range(len(sentences)))
    return measured, [next(by_sentence) if len(s) else [] for s in dev]


def _halves(sentences: list[Sentence]) -> tuple[list[int], list[int]]:
    """Sentence indices in two halves: alternate documents, so each half keeps its documents whole (alternate
    sentences where there is one document or none)."""
    documents = sorted({s.document for s in sentences}, key=lambda d: (d is None, d))
    if len(documents) > 1:
        first = set(documents[::2])
        return ([i for i, s in enumerate(sentences) if s.document in first],
                [i for i, s in enumerate(sentences) if s.document not in first])
    return list(range(0, len(sentences), 2)), list(range(1, len(sentences), 2))


def _scored_batches(tagger: BiLSTMTagger, sentences: list[Sentence], half: list[int]) -> list:
    """The network's scores for some of `sentences`, as `emission_batches` gives them but with indices into
    `sentences`, and the gold labels in each encoded batch."""
    part = [sentences[i] for i in half]
    batches = []
    for indices, batch, e in tagger.emission_batches(part, use_context=False):
        gold = tagger.encoder.encode([part[j] for j in indices], set())["labels"]
        batches.append(([half[j] for j in indices], {**batch, "labels": torch.from_numpy(gold).to(e.device)}, e))
    return batches


def _fit_context(tagger: BiLSTMTagger, sentences: list[Sentence], batches: list, iterations: int = 100,
                 l2: float = 0.3) -> None:
    """The labels' likelihood (CRF) or cross-entropy (softmax) given the network's scores plus the context
    layer's, maximised by L-BFGS (it is convex in the layer's weights), with an L2 penalty. The mentions are
    pooled over `batches`."""
    network = tagger.network
    weight = network.context
    prepared = [(e, inputs, batch["labels"], batch["mask"])
                for (_, batch, e), inputs in zip(batches, tagger.context_inputs(sentences, batches))]
    count = sum(len(indices) for indices, _, _ in batches)
    with torch.no_grad():
        weight.zero_()
    frozen = [p for p in network.parameters() if p.requires_grad]
    for parameter in frozen:
        parameter.requires_grad_(False)
    weight.requires_grad_(True)
    optimizer = torch.optim.LBFGS([weight], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        total = sum(_context_loss(network, e + inputs @ weight.t(), gold, mask) for e, inputs, gold, mask in prepared)
        # scaled to a per-sentence loss for L-BFGS; the penalty weighs more the fewer the sentences
        total = (total + l2 * weight.pow(2).sum()) / count
        total.backward()
        return total

    try:
        optimizer.step(closure)
    finally:
        weight.requires_grad_(False)
        for parameter in frozen:
            parameter.requires_grad_(True)


def _context_loss(network, emissions: torch.Tensor, gold: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if network.crf is not None:
        return network.crf.nll(emissions, gold, mask)
    return torch.nn.functional.cross_entropy(emissions[mask], gold[mask], reduction="sum")
