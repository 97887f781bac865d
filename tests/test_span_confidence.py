"""Each entity span's probability: with the CRF, the constrained forward pass against every label sequence the CRF
allows, enumerated; through `tag --probs`, a span is never surer than its least sure token."""

import itertools
import json
import math
import sys

import pytest
import torch

from seqtag.cli import commands as cli
from seqtag.data import labels as L
from seqtag.models.crf import CRF

pytestmark = pytest.mark.slow  # trains a model

TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "S-LOC"]


@pytest.mark.parametrize("seed", range(5))
def test_a_span_s_probability_is_the_mass_of_the_sequences_that_hold_it(seed):
    torch.manual_seed(seed)
    crf = CRF(len(TAGS), L.allowed_transitions(TAGS, L.Scheme.BIOES))
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    steps = 4
    emissions = torch.randn(steps, len(TAGS))
    start, transitions, end = crf._scores()

    def score(path):  # what the CRF gives one sequence, its disallowed moves included as their penalty
        total = start[path[0]] + end[path[-1]] + sum(emissions[t, tag] for t, tag in enumerate(path))
        return total + sum(transitions[a, b] for a, b in zip(path, path[1:]))

    every = list(itertools.product(range(len(TAGS)), repeat=steps))
    weights = torch.stack([score(path) for path in every]).softmax(0).tolist()
    spans = [[(1, TAGS.index("B-PER")), (2, TAGS.index("E-PER"))], [(0, TAGS.index("S-LOC"))],
             [(1, TAGS.index("B-PER")), (2, TAGS.index("I-PER")), (3, TAGS.index("E-PER"))]]
    got = crf.span_log_probs(emissions, spans).exp().tolist()
    for constraint, probability in zip(spans, got):
        expected = sum(w for path, w in zip(every, weights) if all(path[t] == tag for t, tag in constraint))
        assert math.isclose(probability, expected, rel_tol=1e-4, abs_tol=1e-6), (constraint, probability, expected)


def test_tag_gives_each_entity_a_probability_no_higher_than_its_tokens(tmp_path, monkeypatch, capsys):
    import io

    import seqtag

    seqtag.train(output=tmp_path / "m", max_epochs=6, hidden=32, layers=1, char_encoder="none")
    text = "Peter Blackburn went to Paris to meet the EU .\nEU rejects German call to boycott British lamb .\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert cli.run(["tag", "-m", str(tmp_path / "m"), "--input-format", "tokens", "--output-format", "jsonl",
                    "--probs"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    spans = [(span, record["probs"][span["start"]:span["end"]]) for record in records for span in record["spans"]]
    assert spans and all(0 < span["prob"] <= min(probs) + 1e-4 for span, probs in spans)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert cli.run(["tag", "-m", str(tmp_path / "m"), "--input-format", "tokens", "--output-format", "jsonl"]) == 0
    assert all("prob" not in span for line in capsys.readouterr().out.splitlines()
               for span in json.loads(line).get("spans", []))
