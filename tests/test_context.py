"""The document/corpus context layer: pools what the network said about a word's other mentions, and learns to
use it: a name's type, given away by a cue in one sentence, is carried to its bare mention in another."""

import importlib.util
import json
import random
import string

import numpy as np
import pytest

from seqtag.models import context
from seqtag.training import fit
from seqtag.data import reading
from seqtag.data.corpus import Corpus, Sentence
from seqtag.errors import Interrupted
from seqtag.models.loading import load_model

from test_bilstm import TINY_MODEL, write

pytestmark = pytest.mark.slow  # trains models or runs the CLI many times: not in the fast set


def test_features_pool_the_other_mentions_by_document_and_by_corpus():
    types = np.array([0, 1, 1, 2])  # labels O, B-PER, S-PER, S-LOC -> types O, PER, LOC
    sentences = [Sentence(("Ann", "x"), {}, document=0), Sentence(("ANN",), {}, document=0),
                 Sentence(("ann", "y"), {}, document=1)]
    big = 20.0  # a label score that makes its softmax 1.0 in float32
    emissions = [np.array([[0, big, 0, 0], [big, 0, 0, 0]]), np.array([[0, 0, 0, big]]),
                 np.array([[0, 0, big, 0], [big, 0, 0, 0]])]
    rows = context.features(sentences, emissions, types, corpus_count=True)
    assert [r.shape for r in rows] == [(2, 10), (1, 10), (2, 10)]
    # columns by document, then by corpus: mean (O, PER, LOC) of the other mentions, whether any, log(1 + count)
    one, two = np.log(2), np.log(3)
    np.testing.assert_allclose(rows[0][0], [0, 0, 1, 1, one, 0, .5, .5, 1, two], atol=1e-6)  # Ann: ANN here, ann
    np.testing.assert_allclose(rows[1][0], [0, 1, 0, 1, one, 0, 1, 0, 1, two], atol=1e-6)  # ANN: Ann here, ann
    np.testing.assert_allclose(rows[2][0], [0, 0, 0, 0, 0, 0, .5, .5, 1, two], atol=1e-6)  # ann: alone in doc 1
    np.testing.assert_allclose(rows[0][1], np.zeros(10), atol=1e-6)  # x: no other mention anywhere
    # in input without document marks each sentence is a document; beside marked ones, the unmarked are one
    unmarked = [Sentence(s.tokens, {}) for s in sentences]
    np.testing.assert_allclose(context.features(unmarked, emissions, types, True)[2][0], [0] * 5 + [0, .5, .5, 1, two],
                               atol=1e-6)
    leading = [Sentence(("Ann", "x"), {}), Sentence(("ANN",), {}), sentences[2]]
    np.testing.assert_allclose(context.features(leading, emissions, types, True)[1][0], rows[1][0], atol=1e-6)
    # by default (models saved since it was dropped) the corpus-level count is zero, and the rest as it was
    default = context.features(sentences, emissions, types)
    for row, with_count in zip(default, rows):
        np.testing.assert_allclose(row[:, 9], 0.0)
        np.testing.assert_allclose(row[:, :9], with_count[:, :9], atol=1e-6)


def test_independent_inputs_tagged_together_are_not_pooled():
    """`seqtag serve` tags several requests in one call, each its own scope: no document or corpus pool spans two."""
    types = np.array([0, 1, 2])  # O, S-PER, S-LOC
    big = 20.0
    emissions = [np.array([[0, big, 0], [big, 0, 0]]), np.array([[0, 0, big]])]
    together = [Sentence(("Ann", "x"), {}, document=0, scope=0), Sentence(("ann",), {}, document=0, scope=1)]
    rows = context.features(together, emissions, types, corpus_count=True)
    np.testing.assert_allclose(rows[0][0], np.zeros(10), atol=1e-6)  # Ann: no other mention in its own request
    np.testing.assert_allclose(rows[1][0], np.zeros(10), atol=1e-6)
    one = [Sentence(s.tokens, {}, document=0) for s in together]  # one input: each sees the other
    one_hot_loc, one_hot_per, log2 = [0, 0, 1], [0, 1, 0], np.log(2)
    np.testing.assert_allclose(context.features(one, emissions, types, True)[0][0],
                               [*one_hot_loc, 1, log2, *one_hot_loc, 1, log2], atol=1e-6)
    np.testing.assert_allclose(context.features(one, emissions, types, True)[1][0],
                               [*one_hot_per, 1, log2, *one_hot_per, 1, log2], atol=1e-6)


def test_the_corpus_level_features_do_not_grow_with_the_sentences_tagged_together():
    """A layer fitted on a small dev set must not meet larger values in a large file (docs/experiments.md: it went
    from 69.84 F1 to 28.48 when the corpus-level count was read)."""
    types = np.array([0, 1])
    one = [Sentence(("ann", "said"), {})]
    emissions = [np.array([[0.0, 3.0], [3.0, 0.0]])]
    small = context.features(one * 10, emissions * 10, types)[0]
    large = context.features(one * 1000, emissions * 1000, types)[0]
    np.testing.assert_allclose(small, large, atol=1e-5)  # float32 sums of 10 and 1,000 mentions
    assert context.features(one * 1000, emissions * 1000, types, True)[0][0, -1] > small[0, -1] + 4  # as it was


def test_models_saved_before_the_corpus_count_was_dropped_still_read_it(document_model, tmp_path):
    import shutil

    from seqtag.runtime.export import export
    from seqtag.runtime.onnx_tagger import OnnxTagger

    assert load_model(document_model).config.corpus_mention_count is False
    old = tmp_path / "old"
    shutil.copytree(document_model, old)
    path = old / "model.json"
    document = json.loads(path.read_text())
    del document["tagger"]["config"]["corpus_mention_count"]
    path.write_text(json.dumps(document))
    assert load_model(old).config.corpus_mention_count is True
    if importlib.util.find_spec("onnxruntime"):
        export(old, "onnx", old)
        export(document_model, "onnx", tmp_path / "new")
        assert OnnxTagger(old).corpus_count is True and OnnxTagger(tmp_path / "new").corpus_count is False


def documents(n: int, seed: int) -> Corpus:
    """Each document names a new person or place: with a cue once ("mr X" / "in X"), bare once ("X won")."""
    rng = random.Random(seed)
    sentences = []
    for document in range(n):
        name = "".join(rng.choice(string.ascii_lowercase) for _ in range(7))
        kind = rng.choice(["PER", "LOC"])
        cue = ["mr", name, "spoke"] if kind == "PER" else ["in", name, "today"]
        filler = [rng.choice(["the", "cat", "sat", "on", "a", "mat"]) for _ in range(rng.randint(2, 5))]
        for tokens, tags in ((cue, ["O", f"B-{kind}", "O"]), (filler, ["O"] * len(filler)),
                             ([name, "won"], [f"B-{kind}", "O"])):
            sentences.append(Sentence(tuple(tokens), {"ner": tuple(tags)}, document=document))
    return Corpus(sentences, ("ner",), source="documents")


@pytest.fixture(scope="module")
def document_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("context")
    # sentences read alone: with a document window the network carries the type itself (test_bilstm)
    config = {"model": {**TINY_MODEL, "document_window": 0}, "training": {"max_epochs": 8, "seed": 1, "lr": 0.01, "batch_tokens": 200}}
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    fit.train_model("bilstm", write(documents(150, 0), folder / "train.txt"),
                    write(documents(150, 1), folder / "dev.txt"), None, read, config, folder / "model")
    return folder / "model"


def test_the_context_layer_carries_a_names_type_to_its_bare_mention(document_model):
    tagger = load_model(document_model)
    test = documents(100, 2).sentences
    bare = [i for i, s in enumerate(test) if s.tokens[-1] == "won"]

    def bare_accuracy() -> float:
        predicted = tagger.predict(test)
        return sum(predicted[i] == list(test[i].labels["ner"]) for i in bare) / len(bare)

    with_context = bare_accuracy()
    tagger.network.context.data.zero_()  # the network alone: the bare name's type is a coin toss
    without = bare_accuracy()
    assert with_context >= 0.95 and without <= 0.8, (with_context, without)


def test_the_dev_figure_is_scored_on_dev_halves_the_layer_was_not_fitted_on(document_model):
    """The layer is fitted on dev: the dev figure training reports is each half of dev tagged with the layer fitted
    on the other half (alternate documents), scored together, never the whole dev tagged by the layer fitted on it."""
    from seqeval.metrics import f1_score

    from seqtag.data.formats import read_corpus
    from seqtag.training import context_fit as training

    document = json.loads((document_model / "model.json").read_text())
    assert document["training"]["context_layer"]["kept"] is True
    reported = document["metrics"]["dev"]
    assert reported["estimate"] == "cross-fitted"
    assert json.loads((document_model / "metrics.json").read_text())["dev"] == reported
    dev = read_corpus(document_model.parent / "dev.txt", columns=["word", "ner"]).sentences
    halves = [[s for s in dev if s.document % 2 == parity] for parity in (0, 1)]
    gold, predicted = [], []
    for check, fit_on in ((halves[0], halves[1]), (halves[1], halves[0])):
        tagger = load_model(document_model)
        training._fit_context(tagger, fit_on, training._scored_batches(tagger, fit_on, list(range(len(fit_on)))))
        predicted += tagger.predict(check)
        gold += [list(s.labels["ner"]) for s in check]
    assert reported["f1"] == pytest.approx(f1_score(gold, predicted), abs=1e-9)


def test_fit_context_returns_each_dev_half_as_tagged_by_the_layer_fitted_on_the_other(document_model):
    from seqtag.training import context_fit as training

    rng = random.Random(5)
    dev = documents(40, 6)  # with label noise: a third of the bare mentions take the other type
    flip = {"B-PER": "B-LOC", "B-LOC": "B-PER"}
    dev.sentences = [Sentence(s.tokens, {"ner": (flip[s.labels["ner"][0]], "O")}, document=s.document)
                     if s.tokens[-1] == "won" and rng.random() < 0.33 else s for s in dev.sentences]
    measured, cross_fitted = training.fit_context(load_model(document_model), dev)
    assert measured["kept"] is True
    halves = [[s for s in dev.sentences if s.document % 2 == parity] for parity in (0, 1)]
    expected = {}
    for check, fit_on in ((halves[0], halves[1]), (halves[1], halves[0])):
        other = load_model(document_model)
        training._fit_context(other, fit_on, training._scored_batches(other, fit_on, list(range(len(fit_on)))))
        expected.update(zip((id(s) for s in check), other.predict(check)))
    assert cross_fitted == [expected[id(s)] for s in dev.sentences]


def test_the_reported_dev_figure_scores_the_held_out_predictions(tmp_path, monkeypatch):
    """Where the layer is kept, the dev figure comes from fit_context's held-out predictions (here replaced by all
    O: 0 F1), not from the final model's own predictions on dev (which tag this dev set well)."""
    from seqtag.training import context_fit as training

    fit_context = training.fit_context

    def all_outside(tagger, dev):
        measured, predicted = fit_context(tagger, dev)
        return measured, [["O"] * len(labels) for labels in predicted]

    monkeypatch.setattr(training, "fit_context", all_outside)
    config = {"model": {**TINY_MODEL, "document_window": 0}, "training": {"max_epochs": 8, "seed": 1, "lr": 0.01,
                                                                          "batch_tokens": 200}}
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    document = fit.train_model("bilstm", write(documents(150, 0), tmp_path / "train.txt"),
                          write(documents(60, 1), tmp_path / "dev.txt"), None, read, config, tmp_path / "m")
    assert document["training"]["context_layer"]["kept"] is True
    assert document["metrics"]["dev"]["f1"] == 0.0 and document["metrics"]["dev"]["estimate"] == "cross-fitted"
    from seqtag import load

    assert load(tmp_path / "m").evaluate(tmp_path / "dev.txt")["f1"] > 0.9
    from seqtag.api import fitted_on_gold  # and scoring the dev file again says it is in-sample

    assert "is the dev file this model's context layer was fitted on" in fitted_on_gold(tmp_path / "m",
                                                                                        tmp_path / "dev.txt")
    assert fitted_on_gold(tmp_path / "m", tmp_path / "train.txt") is None


def test_onnx_runtime_applies_the_context_layer_too(document_model, tmp_path):
    pytest.importorskip("onnxruntime")
    from seqtag.runtime.export import export
    from seqtag.runtime.onnx_tagger import OnnxTagger

    export(document_model, "onnx", tmp_path)
    test = documents(60, 3).sentences
    assert OnnxTagger(tmp_path).predict(test) == load_model(document_model).predict(test)


def test_a_model_saved_before_the_context_layer_still_loads(tmp_path):
    """Format version 1 models have no `context` setting and no context weights."""
    config = {"model": {**TINY_MODEL, "context": False}, "training": {"max_epochs": 1, "batch_tokens": 200}}
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    fit.train_model("bilstm", write(documents(20, 0), tmp_path / "train.txt"),
                    write(documents(20, 1), tmp_path / "dev.txt"), None, read, config, tmp_path / "model")
    test = documents(10, 2).sentences
    expected = load_model(tmp_path / "model").predict(test)
    path = tmp_path / "model" / "model.json"
    document = json.loads(path.read_text())
    del document["tagger"]["config"]["context"]
    document["format_version"] = 1
    path.write_text(json.dumps(document))
    tagger = load_model(tmp_path / "model")
    assert tagger.network.context is None and tagger.predict(test) == expected


def test_tag_reads_document_marks_from_conll_input(document_model, tmp_path):
    from seqtag import load
    from seqtag.data.formats import read_corpus

    path = write(documents(40, 4), tmp_path / "test.txt")
    tagger = load_model(document_model)
    lines = open(path, encoding="utf-8").read().splitlines()
    output = "".join(load(document_model).tag_lines(lines, input_format="conll", output_format="conll"))
    (tmp_path / "tagged.txt").write_text(output)
    written = read_corpus(tmp_path / "tagged.txt", columns=["word", "ner"])
    tagged = [list(s.labels["ner"]) for s in written.sentences]
    corpus = read_corpus(path, columns=["word", "ner"])
    assert [s.document for s in written.sentences] == [s.document for s in corpus.sentences]  # marks kept
    assert {s.document for s in corpus.sentences} == set(range(40))
    assert tagged == tagger.predict(corpus.sentences)
    assert tagged == [list(s.labels["ner"]) for s in corpus.sentences]  # the bare names included


def test_a_one_sentence_dev_set_leaves_the_layer_zero(tmp_path):
    # sentences read alone: with a document window the network carries the type itself (test_bilstm)
    config = {"model": {**TINY_MODEL, "document_window": 0}, "training": {"max_epochs": 1, "batch_tokens": 200}}
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    dev = documents(1, 1)
    dev.sentences = dev.sentences[:1]
    document = fit.train_model("bilstm", write(documents(20, 0), tmp_path / "train.txt"),
                               write(dev, tmp_path / "dev.txt"), None, read, config, tmp_path / "model")
    assert document["training"]["context_layer"]["kept"] is False
    assert not load_model(tmp_path / "model").network.context.any()
    assert "estimate" not in document["metrics"]["dev"]  # the network alone: dev is scored as it is


def test_ctrl_c_while_fitting_keeps_the_trained_network(tmp_path, monkeypatch):
    from seqtag.training import context_fit as training

    def interrupted(tagger, dev):
        tagger.network.context.data.fill_(1.0)  # half-fitted weights must not survive
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "fit_context", interrupted)
    # sentences read alone: with a document window the network carries the type itself (test_bilstm)
    config = {"model": {**TINY_MODEL, "document_window": 0}, "training": {"max_epochs": 2, "batch_tokens": 200}}
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    with pytest.raises(Interrupted, match="interrupted while fitting the context layer: kept the trained network"):
        fit.train_model("bilstm", write(documents(20, 0), tmp_path / "train.txt"),
                        write(documents(20, 1), tmp_path / "dev.txt"), None, read, config, tmp_path / "model")
    document = json.loads((tmp_path / "model" / "model.json").read_text())
    assert document["training"]["stopped"] == "interrupted" and document["training"]["epochs"] == 2
    assert document["training"]["context_layer"] == {"kept": False, "interrupted": True}
    assert not load_model(tmp_path / "model").network.context.any()
