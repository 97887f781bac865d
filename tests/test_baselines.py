"""Baselines: HMM Viterbi against brute force, normalised probabilities, sample accuracy, save/load."""

import itertools

import numpy as np
import pytest

from seqtag import formats, pipeline
from seqtag.baselines import HMMTagger, MajorityTagger
from seqtag.evaluation import score_tagger
from seqtag.tagger import load_model

from conftest import DATA

CHUNK_COLUMNS = ["word", "pos", "chunk"]


@pytest.fixture(scope="module")
def pos_split():
    train, _, _ = formats.load_corpus(DATA / "chunk/train.txt", columns=CHUNK_COLUMNS, layer="pos")
    test, _, _ = formats.load_corpus(DATA / "chunk/test.txt", columns=CHUNK_COLUMNS, layer="pos")
    return train, test


def path_score(hmm: HMMTagger, tokens, tags) -> float:
    n = len(hmm.labels)
    total, previous2, previous1 = 0.0, n, n
    for word, tag in zip(tokens, tags):
        candidates, logp = hmm._candidates(word)
        if tag not in candidates:
            return -np.inf
        total += hmm.log_trans[previous2, previous1, tag] + logp[list(candidates).index(tag)]
        previous2, previous1 = previous1, tag
    return total


def test_hmm_viterbi_agrees_with_brute_force(pos_split):
    train, _ = pos_split
    hmm = HMMTagger.fit(train, None, "pos", {})
    for tokens in (["The", "stock", "rose"], ["Prices", "fell", "sharply", "."], ["Zorbly", "can", "run"]):
        options = [list(hmm._candidates(w)[0]) for w in tokens]
        best = max(itertools.product(*options), key=lambda tags: path_score(hmm, tokens, tags))
        predicted = [hmm.labels.index(t) for t in hmm._viterbi(tokens)]
        assert path_score(hmm, tokens, predicted) == pytest.approx(path_score(hmm, tokens, best))


def test_hmm_probabilities_normalise(pos_split):
    train, _ = pos_split
    hmm = HMMTagger.fit(train, None, "pos", {})
    transitions = np.exp(hmm.arrays["log_trans"])  # [t1, t2, t3]
    assert np.allclose(transitions.sum(axis=2), 1.0)
    assert sum(hmm.arrays["lambdas"]) == pytest.approx(1.0)
    for kind in ("lower", "upper"):
        assert np.allclose(hmm.arrays[f"suffix_{kind}"].sum(axis=1), 1.0)
    # emissions: sum over words of P(word | tag) is 1 for every tag
    totals = np.zeros(len(hmm.labels))
    np.add.at(totals, hmm.arrays["emit_tags"], np.exp(hmm.arrays["emit_logp"]))
    assert np.allclose(totals, 1.0)


@pytest.mark.parametrize("cls, floor", [(MajorityTagger, 0.80), (HMMTagger, 0.88)])
def test_baselines_reach_a_stated_accuracy_on_the_sample(pos_split, cls, floor):
    train, test = pos_split
    report = score_tagger(cls.fit(train, None, "pos", {}), test)
    assert report["accuracy"] >= floor


@pytest.mark.parametrize("kind", ["majority", "hmm"])
def test_save_load_round_trip_gives_identical_output(tmp_path, kind):
    read = pipeline.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    document = pipeline.train_model(kind, DATA / "ner/train.txt", DATA / "ner/dev.txt", None, read, {},
                                    tmp_path / kind)
    assert document["kind"] == kind and "dev" in document["metrics"]
    corpus, _, _ = read.read(DATA / "ner/test.txt")
    loaded = load_model(tmp_path / kind)
    fitted = {"majority": MajorityTagger, "hmm": HMMTagger}[kind].fit(read.read(DATA / "ner/train.txt")[0], None,
                                                                     "ner", {})
    assert loaded.predict(corpus.sentences) == fitted.predict(corpus.sentences)
