"""`seqtag select`: the uncertainty of each sentence against every label sequence enumerated, the ranking against a
full sort, streaming against one window, and the command's output read back by an annotation format's reader."""

import io
import itertools
import json
import math
import sys

import pytest
import torch

import seqtag
from seqtag.cli import commands as cli
from seqtag.data.corpus import Sentence
from seqtag.runtime.selection import select

pytestmark = pytest.mark.slow  # trains two small models

# each sentence read alone, without the context layer: its scores then do not depend on what is tagged beside it
SMALL = dict(max_epochs=2, hidden=16, layers=1, char_encoder="none", seed=3, document_window=0)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("select")
    (folder / "alone.toml").write_text("[model]\ncontext = false\n")
    return {decoder: seqtag.train(output=folder / decoder, decoder=decoder, config_file=folder / "alone.toml",
                                  **SMALL) for decoder in ("crf", "softmax")}


@pytest.fixture(scope="module")
def pool():
    return [s.tokens for s in seqtag.read(seqtag.SAMPLE["dev"], columns=seqtag.SAMPLE["columns"]).sentences]


def enumerated(tagger, tokens):
    """log P(best), log P(second best) and the summed token entropy, from every label sequence's probability."""
    (_, batch, emissions), = tagger.emission_batches([Sentence(tuple(tokens), {})])
    emissions = emissions[0, : len(tokens)].detach()
    labels = emissions.size(1)
    paths = list(itertools.product(range(labels), repeat=len(tokens)))
    if tagger.network.crf is not None:
        start, transitions, end = (t.detach() for t in tagger.network.crf._scores())
        scores = torch.stack([start[p[0]] + end[p[-1]] + sum(emissions[t, tag] for t, tag in enumerate(p))
                              + sum(transitions[a, b] for a, b in zip(p, p[1:])) for p in paths])
        probs = scores.softmax(0)
    else:
        token = emissions.softmax(1)
        probs = torch.stack([math.prod(token[t, tag] for t, tag in enumerate(p)) for p in paths])
    ranked = probs.sort(descending=True).values
    marginals = torch.zeros(len(tokens), labels)
    for p, weight in zip(paths, probs):
        marginals[torch.arange(len(tokens)), list(p)] += weight
    entropy = float(-(marginals * marginals.clamp_min(1e-12).log()).sum())
    return math.log(ranked[0]), math.log(ranked[1]), entropy


@pytest.mark.parametrize("decoder", ["crf", "softmax"])
def test_each_sentence_s_uncertainty_is_that_of_its_label_sequences_enumerated(models, decoder):
    tagger = models[decoder].predictor
    sentences = [["EU", "rejects", "German"], ["Peter", "Blackburn"], ["Paris", ".", "London"], ["BRUSSELS"]]
    found = tagger.predict_uncertainty([Sentence(tuple(s), {}) for s in sentences])
    for tokens, (labels, got) in zip(sentences, found):
        best, second, entropy = enumerated(tagger, tokens)
        assert len(labels) == len(tokens)
        assert math.isclose(got["best"], best, abs_tol=1e-4), (tokens, got, best)
        assert math.isclose(got["second"], second, abs_tol=1e-4), (tokens, got, second)
        assert math.isclose(got["entropy"], entropy, abs_tol=1e-3), (tokens, got, entropy)


@pytest.mark.parametrize("strategy", ["least-confidence", "margin", "entropy", "mnlp"])
def test_the_chosen_sentences_are_the_most_uncertain_by_the_strategy_s_formula(models, pool, strategy):
    tagger = models["crf"].predictor
    found = tagger.predict_uncertainty([Sentence(tuple(s), {}) for s in pool])
    # log P is monotone in P; kept in logs, as the probabilities of long sentences round to 0
    formula = {"least-confidence": lambda u, n: -u["best"],
               "margin": lambda u, n: -(u["best"] + math.log(1 - math.exp(u["second"] - u["best"]))),
               "entropy": lambda u, n: u["entropy"], "mnlp": lambda u, n: -u["best"] / n}[strategy]
    expected = sorted(range(len(pool)), key=lambda i: -formula(found[i][1], len(pool[i])))
    units = [(list(tokens), None, None, None, {}, (i, 0)) for i, tokens in enumerate(pool)]
    chosen = select(tagger, iter(units), 10, strategy, window=7)  # streamed a window of 7 at a time
    picked = [tagged.where[0] for _, tagged in chosen]
    distinct = list(dict.fromkeys(pool[i] for i in expected))
    assert [pool[i] for i in picked] == distinct[:10]
    assert [score for score, _ in chosen] == sorted((score for score, _ in chosen), reverse=True)
    assert [t.labels for _, t in chosen] == [found[i][0] for i in picked]


def test_random_is_a_seeded_sample_that_skips_what_is_annotated(models, pool):
    units = [(list(tokens), None, None, None, {}, (i, 0)) for i, tokens in enumerate(pool)]
    annotated = pool[:40]
    counts: dict = {}
    first = [t.where[0] for _, t in select(models["crf"].predictor, iter(units), 15, "random", seed=5,
                                            annotated=annotated, window=9, counts=counts)]
    again = [t.where[0] for _, t in select(models["crf"].predictor, iter(units), 15, "random", seed=5,
                                            annotated=annotated, window=100)]
    other = [t.where[0] for _, t in select(models["crf"].predictor, iter(units), 15, "random", seed=6,
                                            annotated=annotated)]
    assert first == again and first != other and len(set(first)) == 15
    assert not {pool[i] for i in first} & set(annotated)
    assert counts["read"] == sum(1 for tokens in pool if tokens) and counts["annotated"] >= 40


def test_the_command_writes_pre_annotations_an_annotation_format_reads_back(models, tmp_path, monkeypatch, capsys):
    text = ("Peter Blackburn met officials of the European Commission in Brussels. The EU rejected the call.\n"
            "Japan beat Syria in Tokyo on Monday.\n\nShares of Apple Inc. rose.\n")
    model = models["crf"].path
    for output_format, count in (("doccano", 3), ("jsonl", 2)):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
        assert cli.run(["select", "-m", str(model), "-n", str(count), "--output-format", output_format]) == 0
        captured = capsys.readouterr()
        assert f"chose {count} of 4 sentences" in captured.err
        written = tmp_path / f"batch.{output_format}"
        written.write_text(captured.out)
        corpus = seqtag.read(written, format=output_format)
        assert len(corpus) == count
    records = [json.loads(line) for line in captured.out.splitlines()]
    scores = [r["uncertainty"] for r in records]
    assert scores == sorted(scores, reverse=True)
    for record in records:  # offsets into the line the sentence came from
        line = text.splitlines()[record["line"] - 1]
        assert [line[a:b] for a, b in record["offsets"]] == record["tokens"]
