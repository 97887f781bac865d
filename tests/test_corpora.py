"""The full corpora in ../shared read exactly (skipped on a fresh clone without them)."""

import pytest

from seqtag.data import formats
from seqtag.data.corpus import normalize_layer
from seqtag.data.labels import Scheme

pytestmark = pytest.mark.slow  # trains models or runs the CLI many times: not in the fast set

CONLL2003 = ["word", "pos", "chunk", "ner"]


@pytest.mark.parametrize(
    "name, sentences, tokens",
    [("eng.train", 14041, 203621), ("eng.testa", 3250, 51362), ("eng.testb", 3453, 46435)],
)
def test_conll2003_counts_and_iob1_bioes_identity(shared_corpora, name, sentences, tokens):
    corpus = formats.read_corpus(shared_corpora / "conll2003" / name, "conll", CONLL2003)
    assert (len(corpus), corpus.num_tokens()) == (sentences, tokens)
    bioes, repaired = normalize_layer(corpus, "ner", Scheme.IOB1, "error", Scheme.BIOES)
    back, _ = normalize_layer(bioes, "ner", Scheme.BIOES, "error", Scheme.IOB1)
    assert repaired == 0 and back.sentences == corpus.sentences
    assert bioes.sentences != corpus.sentences


@pytest.mark.parametrize("name, sentences, tokens", [("train.txt", 8936, 211727), ("test.txt", 2012, 47377)])
def test_conll2000_counts(shared_corpora, name, sentences, tokens):
    corpus = formats.read_corpus(shared_corpora / "conll2000" / name, "conll", ["word", "pos", "chunk"])
    assert (len(corpus), corpus.num_tokens()) == (sentences, tokens)


def test_ud_and_pku_counts(shared_corpora):
    dev = formats.read_corpus(shared_corpora / "ud_en_ewt" / "en_ewt-ud-dev.conllu")
    assert (len(dev), dev.num_tokens()) == (2001, 25147)
    gold = formats.read_corpus(shared_corpora / "icwb2" / "pku_test_gold.utf8", "segmented")  # CRLF line ends
    words = sum(len(formats.L.to_spans(s.labels["seg"], Scheme.BMES)) for s in gold.sentences)
    assert (len(gold), words) == (1944, 104372)
    test = formats.read_corpus(shared_corpora / "icwb2" / "pku_split" / "test.utf8", "segmented")
    assert (len(test), test.num_tokens()) == (194, 15155)
