"""Baselines: HMM Viterbi against brute force, normalised probabilities, sample accuracy, save/load."""

import itertools

import numpy as np
import pytest

from seqtag.data import formats
from seqtag.training import fit
from seqtag.data import reading
from seqtag.models.baselines import HMMTagger, MajorityTagger
from seqtag.data.corpus import Sentence
from seqtag.data.evaluation import score_tagger
from seqtag.models.loading import load_model

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
    hmm = HMMTagger.fit(train, None, "pos")
    for tokens in (["The", "stock", "rose"], ["Prices", "fell", "sharply", "."], ["Zorbly", "can", "run"]):
        options = [list(hmm._candidates(w)[0]) for w in tokens]
        best = max(itertools.product(*options), key=lambda tags: path_score(hmm, tokens, tags))
        predicted = [hmm.labels.index(t) for t in hmm._viterbi(tokens)]
        assert path_score(hmm, tokens, predicted) == pytest.approx(path_score(hmm, tokens, best))


def test_hmm_batched_viterbi_finds_each_sentences_best_path(pos_split):
    """All sentences decoded at once (mixed lengths, 1 and 2 tokens included, unknown words) score as high as
    the one-sentence n-best search finds for each."""
    train, test = pos_split
    hmm = HMMTagger.fit(train, None, "pos")
    sentences = [s.tokens for s in test.sentences[:200]] + [("Zorbly",), ("Prices", "Zorbled")]
    assert len({len(tokens) for tokens in sentences}) > 20
    batched = hmm._viterbi_batch(sentences)
    for tokens, labels in zip(sentences, batched):
        (_, score), = hmm._nbest(tokens, 1)
        predicted = [hmm.labels.index(t) for t in labels]
        assert path_score(hmm, tokens, predicted) == pytest.approx(score)


def test_hmm_probabilities_normalise(pos_split):
    train, _ = pos_split
    hmm = HMMTagger.fit(train, None, "pos")
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
    report = score_tagger(cls.fit(train, None, "pos"), test)
    assert report["accuracy"] >= floor


@pytest.mark.parametrize("kind", ["majority", "hmm"])
def test_save_load_round_trip_gives_identical_output(tmp_path, kind):
    read = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    document = fit.train_model(kind, DATA / "ner/train.txt", DATA / "ner/dev.txt", None, read, {},
                               tmp_path / kind)
    assert document["kind"] == kind and "dev" in document["metrics"]
    corpus, _, _ = read.read(DATA / "ner/test.txt")
    loaded = load_model(tmp_path / kind)
    fitted = {"majority": MajorityTagger, "hmm": HMMTagger}[kind].fit(read.read(DATA / "ner/train.txt")[0], None,
                                                                     "ner")
    assert loaded.predict(corpus.sentences) == fitted.predict(corpus.sentences)


def test_perceptron_learns_the_sample_and_round_trips(pos_split, tmp_path):
    from seqtag.models.baselines import PerceptronTagger
    from seqtag.models.tagger import save_model

    train, test = pos_split
    tagger = PerceptronTagger.fit(train, None, "pos")
    assert score_tagger(tagger, test)["accuracy"] >= 0.90
    save_model(tagger, tmp_path / "p", {})
    assert load_model(tmp_path / "p").predict(test.sentences) == tagger.predict(test.sentences)


def test_compare_trains_every_model_on_one_split(tmp_path):
    from typer.testing import CliRunner

    from seqtag.cli.commands import app

    result = CliRunner().invoke(app, [
        "compare", "--train", str(DATA / "ner/train.txt"), "--dev", str(DATA / "ner/dev.txt"),
        "--test", str(DATA / "ner/test.txt"), "--columns", "word,pos,chunk,ner", "--models",
        "majority,hmm,perceptron", "--json", str(tmp_path / "rows.json"), "--markdown", str(tmp_path / "t.md"),
    ])
    assert result.exit_code == 0, result.output
    import json

    rows = json.loads((tmp_path / "rows.json").read_text())["rows"]
    assert [r["model"] for r in rows] == ["majority", "hmm", "perceptron"]
    assert all(r["metric"] == "f1" and set(r["per_type_f1"]) == {"LOC", "MISC", "ORG", "PER"} for r in rows)
    assert rows[0]["score"] < rows[2]["score"]  # the perceptron clears the most-frequent-tag floor
    assert (tmp_path / "t.md").read_text().startswith("<!-- seqtag compare -->\n| model | f1 | F1 LOC |")


def test_baseline_models_load_without_torch_and_refuse_pickled_arrays(tmp_path):
    import subprocess
    import sys

    read = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    fit.train_model("hmm", DATA / "ner/train.txt", None, None, read, {}, tmp_path / "hmm")
    code = (f"import sys; from seqtag.models.loading import load_model; load_model({str(tmp_path / 'hmm')!r}); "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    np.savez(tmp_path / "hmm" / "weights.npz", log_trans=np.array([object()], dtype=object))
    from seqtag.errors import ModelFormatError

    with pytest.raises(ModelFormatError, match="corrupt or unsafe"):
        load_model(tmp_path / "hmm")


def test_hmm_nbest_matches_brute_force(pos_split):
    train, _ = pos_split
    hmm = HMMTagger.fit(train, None, "pos")
    for tokens in (["The", "stock", "rose"], ["Prices", "fell", "sharply", "."], ["Zorbly"]):
        options = [list(hmm._candidates(w)[0]) for w in tokens]
        ranked = sorted(itertools.product(*options), key=lambda tags: -path_score(hmm, tokens, tags))
        ranked = [tags for tags in ranked if np.isfinite(path_score(hmm, tokens, tags))][:4]
        best = hmm.predict_nbest([Sentence(tuple(tokens), {})], 4)[0]
        assert best[0][0] == hmm._viterbi(tokens)
        assert [score for _, score in best] == pytest.approx([path_score(hmm, tokens, t) for t in ranked])
        assert [labels for labels, _ in best] == [[hmm.labels[t] for t in tags] for tags in ranked]
