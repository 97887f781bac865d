"""Paired bootstrap intervals: the full-set value is seqeval's own score, and the interval is what rescoring each
resample with seqtag's scorer (seqeval) gives, resample by resample; the paired test is checked the same way."""

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqtag.data import bootstrap, evaluation
from seqtag.data import labels as L
from seqtag.errors import DataError

TYPES = ["PER", "LOC", "ORG"]


def random_tags(rng: random.Random, scheme: L.Scheme, n: int) -> list[str]:
    if scheme is L.Scheme.PLAIN:
        return [rng.choice(["NN", "VB", "DT"]) for _ in range(n)]
    prefixes = {L.Scheme.IOB1: "IB", L.Scheme.IOB2: "IB", L.Scheme.BIOES: "BIES", L.Scheme.BMES: "BMES"}[scheme]
    if scheme is L.Scheme.BMES:
        return [rng.choice(prefixes) for _ in range(n)]
    return [rng.choice(["O", "O"] + [f"{p}-{t}" for p in prefixes for t in TYPES]) for _ in range(n)]


def corpus(seed: int, scheme: L.Scheme, sentences: int = 40):
    rng = random.Random(seed)
    lengths = [rng.randint(1, 12) for _ in range(sentences)]
    gold = [random_tags(rng, scheme, n) for n in lengths]
    # a system that gets most labels right
    predicted = [[g if rng.random() < 0.8 else t for g, t in zip(sent, random_tags(rng, scheme, len(sent)))]
                 for sent in gold]
    return gold, predicted


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), scheme=st.sampled_from([L.Scheme.IOB1, L.Scheme.IOB2, L.Scheme.BIOES,
                                                            L.Scheme.PLAIN, L.Scheme.BMES]),
       strict=st.booleans())
def test_the_full_set_value_is_the_scorer_s(seed, scheme, strict):
    strict = strict and scheme in (L.Scheme.IOB1, L.Scheme.IOB2, L.Scheme.BIOES)
    gold, predicted = corpus(seed, scheme)
    counts = bootstrap.sentence_counts(gold, predicted, scheme, strict)
    expected = evaluation.score(gold, predicted, scheme, strict=strict)[evaluation.main_metric(scheme)]
    assert float(bootstrap.metric(counts.sum(axis=0), scheme)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("scheme", [L.Scheme.IOB1, L.Scheme.PLAIN])
def test_the_interval_is_the_quantiles_of_rescored_resamples(scheme):
    gold, predicted = corpus(7, scheme, sentences=30)
    counts = bootstrap.sentence_counts(gold, predicted, scheme)
    result = bootstrap.interval(counts, scheme, samples=100, seed=5)
    weights = np.concatenate(list(bootstrap.resamples(len(gold), 100, 5)))  # the same draws, rescored the slow way
    metric = evaluation.main_metric(scheme)
    rescored = []
    for row in weights:
        picked = [i for i, times in enumerate(row) for _ in range(times)]
        rescored.append(evaluation.score([gold[i] for i in picked], [predicted[i] for i in picked], scheme)[metric])
    assert result["low"] == pytest.approx(np.quantile(rescored, 0.025), abs=1e-9)
    assert result["high"] == pytest.approx(np.quantile(rescored, 0.975), abs=1e-9)
    assert result["low"] <= result["value"] <= result["high"]


def test_the_paired_test_tells_a_better_system_from_itself():
    gold, good = corpus(3, L.Scheme.IOB2, sentences=200)
    rng = random.Random(4)
    worse = [[t if rng.random() < 0.85 else "O" for t in sent] for sent in good]  # the good one, with losses
    a = bootstrap.sentence_counts(gold, good, L.Scheme.IOB2)
    b = bootstrap.sentence_counts(gold, worse, L.Scheme.IOB2)
    better = bootstrap.paired(a, b, L.Scheme.IOB2, samples=500)
    assert better["difference"] > 0 and better["p_value"] < 0.05 and better["low"] > 0
    same = bootstrap.paired(a, a, L.Scheme.IOB2, samples=200)
    assert same["difference"] == 0 and same["p_value"] == 1.0
    with pytest.raises(DataError, match="same sentences"):
        bootstrap.paired(a, a[:-1], L.Scheme.IOB2)
    with pytest.raises(DataError, match="--bootstrap 0 asks for no interval"):
        bootstrap.interval(a, L.Scheme.IOB2, samples=0)


def test_evaluate_prints_and_writes_the_interval(tmp_path):
    import json

    from typer.testing import CliRunner

    from seqtag.cli import commands as cli

    from conftest import DATA

    gold = DATA / "ner" / "test.txt"
    lines = gold.read_text().splitlines()
    rng = random.Random(2)
    noisy = [" ".join(line.split()[:-1] + ["O"]) if line.strip() and rng.random() < 0.2 else line for line in lines]
    (tmp_path / "pred.txt").write_text("\n".join(noisy) + "\n")
    result = CliRunner().invoke(cli.app, ["evaluate", "--pred", str(tmp_path / "pred.txt"), "--gold", str(gold),
                                          "--columns", "word,pos,chunk,ner", "--bootstrap", "200",
                                          "--json", str(tmp_path / "scores.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "scores.json").read_text())
    found = report["interval"]
    assert found["value"] == pytest.approx(report["f1"]) and found["low"] < report["f1"] < found["high"]
    assert f"f1 {100 * report['f1']:.2f} (95% interval {100 * found['low']:.2f}-{100 * found['high']:.2f}, 200 " \
           "resamples)" in result.output


def test_compare_gives_each_row_its_interval_and_the_paired_test_against_the_best():
    from seqtag.report.compare import compare_models, comparison_cells
    from seqtag.data.reading import ReadOptions

    from conftest import DATA

    read = ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    rows = compare_models(["majority", "hmm"], DATA / "ner/train.txt", None, DATA / "ner/test.txt", read, {},
                          bootstrap=300)
    best, other = sorted(rows, key=lambda r: -r["score"])
    assert "against_best" not in best and other["against_best"]["model"] == best["model"]
    # the difference is that of the scores seqeval gave each row
    assert other["against_best"]["difference"] == pytest.approx(best["score"] - other["score"], abs=1e-12)
    for row in rows:
        assert row["interval"]["value"] == pytest.approx(row["score"]) and row["interval"]["samples"] == 300
    header, cells = comparison_cells(rows)
    assert header[2:4] == ["95% interval", "against the best"]
    assert cells[rows.index(best)][3] == "best"


def test_resamples_are_drawn_a_chunk_at_a_time_and_their_number_is_bounded(monkeypatch):
    gold, predicted = corpus(2, L.Scheme.IOB2, sentences=40)
    counts = bootstrap.sentence_counts(gold, predicted, L.Scheme.IOB2)
    whole = bootstrap.interval(counts, L.Scheme.IOB2, samples=300, seed=3)
    monkeypatch.setattr(bootstrap, "CHUNK", 7)  # memory is CHUNK x sentences; the draws are the same
    assert max(len(chunk) for chunk in bootstrap.resamples(len(counts), 300, 3)) == 7
    assert bootstrap.interval(counts, L.Scheme.IOB2, samples=300, seed=3) == whole
    for wrong in (1, 99, 100_001, 10**9, True, 2.5):
        with pytest.raises(DataError, match="takes 0 \\(no interval\\) or 100 to 100,000 resamples"):
            bootstrap.check_samples(wrong)
