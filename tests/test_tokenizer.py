"""The raw-text tokenizer follows the Penn Treebank's conventions (as the CoNLL corpora do): checked on cases with
known Treebank tokens, on generated text for its offsets, and against NLTK's Treebank tokenizer, the reference
implementation, on the raw text of UD English EWT (the sample here, the whole dev and test sets in ../shared)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqtag.data.tokens import tokenize

from conftest import DATA, SHARED

TREEBANK = [  # text, its Treebank tokens
    ("U.S. State Department's spokesman said", ["U.S.", "State", "Department", "'s", "spokesman", "said"]),
    ("Mr. Smith's car isn't here.", ["Mr.", "Smith", "'s", "car", "is", "n't", "here", "."]),
    ("I'm sure it's what they'll do, and we've won't.", ["I", "'m", "sure", "it", "'s", "what", "they", "'ll", "do",
                                                        ",", "and", "we", "'ve", "wo", "n't", "."]),
    ("We cannot pay $3,000 or 2.5% on 1996-08-22.", ["We", "can", "not", "pay", "$", "3,000", "or", "2.5", "%", "on",
                                                   "1996-08-22", "."]),
    ("Acme Inc. and John F. Kennedy (JFK) met.", ["Acme", "Inc.", "and", "John", "F.", "Kennedy", "(", "JFK", ")",
                                                   "met", "."]),
    ("See www.bbc.co.uk/news, or write to joe@example.com.", ["See", "www.bbc.co.uk/news", ",", "or", "write", "to",
                                                               "joe@example.com", "."]),
    ("A well-known and/or O'Neill-style plan...", ["A", "well-known", "and/or", "O'Neill-style", "plan", "..."]),
]


SYMBOLS = [  # a character and the marks that make one symbol with it stay one token
    ("Cafe\u0301 Zoe\u0308 in Sa\u0303o Paulo.", ["Cafe\u0301", "Zoe\u0308", "in", "Sa\u0303o", "Paulo", "."]),
    ("We \U0001F1EB\U0001F1F7\U0001F1E9\U0001F1EA love it", ["We", "\U0001F1EB\U0001F1F7", "\U0001F1E9\U0001F1EA",
                                                              "love", "it"]),
    ("Thanks \U0001F44D\U0001F3FD and \U0001F468\u200d\U0001F469\u200d\U0001F467!",
     ["Thanks", "\U0001F44D\U0001F3FD", "and", "\U0001F468\u200d\U0001F469\u200d\U0001F467", "!"]),
]


@pytest.mark.parametrize("text, tokens", TREEBANK + SYMBOLS)
def test_treebank_conventions(text, tokens):
    assert tokenize(text)[0] == tokens


@given(st.text(alphabet=st.sampled_from(list("ab.,'-/ @:nt'sU$1 \t\u0301\u200d\U0001F1EB\U0001F3FD")), max_size=40))
def test_tokens_are_the_text_at_their_offsets_and_cover_every_non_space(text):
    tokens, offsets = tokenize(text)
    assert [text[a:b] for a, b in offsets] == tokens
    assert all(a < b for a, b in offsets) and all(b <= c for (_, b), (c, _) in zip(offsets, offsets[1:]))
    assert "".join(tokens) == "".join(text.split())
    assert not any(text[a] in "\u0301\U0001F3FD" and a and not text[a - 1].isspace() for a, _ in offsets)


def raw_texts(paths) -> list[str]:
    return [line[len("# text = "):].rstrip("\n") for path in paths for line in open(path, encoding="utf-8")
            if line.startswith("# text = ")]


def agreement(texts: list[str]) -> float:
    """The share of texts that NLTK's Treebank tokenizer splits exactly as seqtag does (its `` and '' read as ")."""
    nltk = pytest.importorskip("nltk.tokenize")
    reference = nltk.TreebankWordTokenizer()
    quotes = {"``": '"', "''": '"'}
    same = sum(tokenize(text)[0] == [quotes.get(t, t) for t in reference.tokenize(text)] for text in texts)
    return same / len(texts)


def test_agrees_with_nltk_on_the_sample_raw_text():
    texts = raw_texts(sorted((DATA / "pos").glob("*.conllu")))
    assert len(texts) == 500
    assert agreement(texts) >= 0.95  # 95.6% when written


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "ud_en_ewt").is_dir(), reason="needs ../shared/corpora")
def test_agrees_with_nltk_on_ewt_dev_and_test_raw_text():
    texts = raw_texts(sorted((SHARED / "ud_en_ewt").glob("*.conllu")))
    assert len(texts) == 4078
    assert agreement(texts) >= 0.90  # 90.9% when written; most of the rest: NLTK leaves a period inside a line
    # on its word ("end. Next") and splits URLs and e-mail addresses at ":" and "@"
