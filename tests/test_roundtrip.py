"""Every format writes what its reader reads back (tokens, every label layer, sentence and document boundaries), or
refuses before writing a byte and names what it cannot hold; so does every conversion between two formats."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqtag.data import formats
from seqtag.data import labels as L
from seqtag.data.corpus import Corpus, Sentence
from seqtag.errors import DataError
from conftest import ROOT

# awkward on purpose: separators of one format or another, the CoNLL document mark, CoNLL-U's empty value
AWKWARD = ["-DOCSTART-", "_", "#", "#x", "a/b", "a=b", "a|b", "1-2", "x\u0301", "🇪🇺", "天"]
TOKENS = st.one_of(st.sampled_from(AWKWARD + ["EU", "Paris", "a"]),
                   st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1,
                           max_size=4).filter(lambda t: not any(c.isspace() for c in t)))
LABELS = st.sampled_from(["O", "B-PER", "I-PER", "NN", "VB"] + AWKWARD)
LAYER_NAMES = st.sampled_from(["pos", "ner", "upos", "xpos", "tag", "seg", "chunk", "misc"])
TEXT_FORMATS = [name for name, fmt in formats.FORMATS.items() if fmt.text]


@st.composite
def corpora(draw, segmentation: bool = False):
    """A random corpus: 1-5 sentences, 0-3 label layers (or one B/M/E/S layer over characters), documents or none."""
    layers = tuple(draw(st.lists(LAYER_NAMES, max_size=3, unique=True)))
    documented = draw(st.booleans())
    sentences, document = [], None
    for i in range(draw(st.integers(1, 5))):
        if documented and (document is None or draw(st.booleans())):
            document = 0 if document is None else document + 1
        if segmentation:
            words = draw(st.lists(st.text("天地人山水", min_size=1, max_size=3), min_size=1, max_size=4))
            chars, tags = L.words_to_tags(words)
            sentences.append(Sentence(tuple(chars), {"seg": tuple(tags)}, document=document))
            continue
        tokens = tuple(draw(st.lists(TOKENS, min_size=1, max_size=5)))
        labels = {layer: tuple(draw(st.lists(LABELS, min_size=len(tokens), max_size=len(tokens)))) for layer in layers}
        sentences.append(Sentence(tokens, labels, document=document))
    return Corpus(sentences, ("seg",) if segmentation else layers)


def boundaries(corpus: Corpus) -> list[tuple[bool, bool]]:
    """Per sentence: whether it lies in a marked document, and whether it starts one (document numbers may differ)."""
    previous = object()
    marks = []
    for sentence in corpus.sentences:
        marks.append((sentence.document is not None, sentence.document != previous))
        previous = sentence.document
    return marks


def read_back(path, fmt: str, layers) -> Corpus:
    return formats.read_corpus(path, fmt, ["word", *layers] if fmt == "conll" else None)


def same_layer(back: Corpus, fmt: str, layers, layer: str) -> str:
    """The layer of `back` that holds `layer` of the corpus written: by position in CoNLL (whose columns carry no
    names), `tag` in word/TAG text, `seg` in segmented text, by name elsewhere."""
    return {"slash": "tag", "segmented": "seg"}.get(fmt, layer)


def check_round_trip(corpus: Corpus, fmt: str, path) -> Corpus | None:
    """Write `corpus` in `fmt` and read it back: equal, or refused with nothing written. The corpus read, or None."""
    try:
        formats.write_corpus(corpus, path, fmt)
    except DataError as error:
        assert not path.exists(), f"{fmt} refused ({error}) after writing"
        assert str(error).strip() and "\n" not in str(error)
        return None
    back = read_back(path, fmt, corpus.layers)
    if fmt == "segmented" and not corpus.layers:  # words are written as segmented text: read back as the same words
        from seqtag.data.labels import segment_words

        assert [tuple(segment_words(s.tokens, s.labels["seg"])) for s in back] == [s.tokens for s in corpus]
        assert boundaries(back) == boundaries(corpus), fmt
        return None  # characters now, not the words: nothing to convert further
    assert [s.tokens for s in back] == [s.tokens for s in corpus], fmt
    for layer in corpus.layers:
        assert back.column(same_layer(back, fmt, corpus.layers, layer)) == corpus.column(layer), (fmt, layer)
    extra = set(back.layers) - {same_layer(back, fmt, corpus.layers, layer) for layer in corpus.layers}
    assert all(label == "_" for layer in extra for s in back for label in s.labels[layer]), (fmt, extra)
    assert boundaries(back) == boundaries(corpus), fmt
    return back


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(corpus=st.one_of(corpora(), corpora(segmentation=True)), pair=st.sampled_from(
    [(a, b) for a in TEXT_FORMATS for b in TEXT_FORMATS]))
def test_every_conversion_round_trips_or_refuses_before_writing(tmp_path_factory, corpus, pair):
    folder = tmp_path_factory.mktemp("pair")
    first, second = pair
    read = check_round_trip(corpus, first, folder / f"a{formats.FORMATS[first].suffix}")
    if read is not None:  # what was read from the first format, converted to the second
        renamed = Corpus([Sentence(s.tokens, {layer: s.labels[same_layer(read, first, corpus.layers, layer)]
                                              for layer in corpus.layers}, document=s.document) for s in read],
                         corpus.layers)
        check_round_trip(renamed, second, folder / f"b{formats.FORMATS[second].suffix}")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(corpus=corpora())
def test_a_hugging_face_folder_round_trips_or_refuses(tmp_path_factory, corpus):
    check_round_trip(corpus, "hf", tmp_path_factory.mktemp("hf") / "data.hf")


PLAIN = Corpus([Sentence(("EU", "rejects", "German", "call"), {"pos": ("NNP", "VBZ", "JJ", "NN"),
                                                              "ner": ("B-ORG", "O", "B-MISC", "O")}, document=0),
                Sentence(("Peter", "Blackburn"), {"pos": ("NNP", "NNP"), "ner": ("B-PER", "I-PER")}, document=1)],
               ("pos", "ner"))
HOLDS = {  # what each format must accept: refusing everything would pass the property above
    "conll": PLAIN, "canonical": PLAIN, "conllu": PLAIN, "jsonl": PLAIN, "hf": PLAIN,
    "slash": Corpus([Sentence(s.tokens, {"tag": s.labels["ner"]}, document=s.document) for s in PLAIN], ("tag",)),
    "tokens": Corpus([Sentence(s.tokens, {}, document=s.document) for s in PLAIN], ()),
    "segmented": Corpus([Sentence(tuple("中国人"), {"seg": ("B", "E", "S")}, document=0)], ("seg",)),
    "doccano": Corpus([Sentence(s.tokens, {"ner": s.labels["ner"]}, document=s.document) for s in PLAIN], ("ner",)),
}
HOLDS["labelstudio"] = HOLDS["brat"] = HOLDS["doccano"]  # the same spans over text, in other tools


@pytest.mark.parametrize("fmt", sorted(formats.FORMATS))
def test_every_format_holds_a_plain_corpus_of_its_kind(tmp_path, fmt):
    assert set(HOLDS) == set(formats.FORMATS)
    assert check_round_trip(HOLDS[fmt], fmt, tmp_path / f"plain{formats.FORMATS[fmt].suffix}") is not None


@pytest.mark.parametrize("fmt, corpus, words", [
    ("slash", PLAIN, "holds one label layer; this corpus has 2 (pos, ner)"),
    ("tokens", PLAIN, "holds no labels; this corpus has pos, ner"),
    ("segmented", PLAIN, "holds characters with a B/M/E/S layer, and 'EU rejects German call' are words"),
    ("segmented", Corpus([Sentence(tuple("中国"), {"seg": ("B", "E"), "pos": ("NN", "NN")})], ("seg", "pos")),
     "holds one B/M/E/S layer over characters; this corpus has 2 (seg, pos)"),
])
def test_a_refusal_names_what_the_format_cannot_hold(tmp_path, fmt, corpus, words):
    with pytest.raises(DataError, match=re.escape(words)):
        formats.write_corpus(corpus, tmp_path / "out.txt", fmt)
    assert not (tmp_path / "out.txt").exists()


SHARED_FILES = [("conll2003/eng.testa", "conll", ["word", "pos", "chunk", "ner"]),
                ("conll2000/test.txt", "conll", ["word", "pos", "chunk"]),
                ("ud_en_ewt/en_ewt-ud-dev.conllu", "conllu", None),
                ("icwb2/pku_split/test.utf8", "segmented", None)]


@pytest.mark.slow
@pytest.mark.parametrize("name, fmt, columns", SHARED_FILES)
def test_the_shared_corpora_convert_through_every_format_that_holds_them(shared_corpora, tmp_path, name, fmt, columns):
    corpus = formats.read_corpus(shared_corpora / name, fmt, columns)
    held = 0
    for target in TEXT_FORMATS:
        held += check_round_trip(corpus, target, tmp_path / f"{target}{formats.FORMATS[target].suffix}") is not None
    assert held >= 3  # the column formats and JSON Lines hold every one of them


def test_converting_to_a_dataset_again_replaces_the_one_seqtag_wrote(tmp_path):
    from seqtag.cli import commands as cli

    train, dev = ROOT / "data/ner/train.txt", ROOT / "data/ner/dev.txt"
    assert cli.run(["preprocess", str(train), "--to-format", "hf", "-o", str(tmp_path) + "/"]) == 0
    target = tmp_path / "train.txt.hf"
    assert cli.run(["preprocess", str(dev), "--to-format", "hf", "-o", str(target)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.txt.hf"]  # replaced, nothing left beside or inside
    assert not any(p.is_dir() for p in target.iterdir())
    assert len(formats.read_corpus(target, "hf")) == 100  # dev's sentences, not train's 300
    assert cli.run(["preprocess", str(dev), "-o", str(target)]) == 2  # a text file never replaces the folder
    foreign = tmp_path / "mine.hf"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="exists"):
        formats.write_corpus(formats.read_corpus(dev, columns=["word", "pos", "chunk", "ner"]), foreign, "hf")
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_preprocess_checks_every_file_against_the_format_before_writing_any(tmp_path):
    from seqtag.cli import commands as cli

    pos = ROOT / "data/pos/train.conllu"  # two layers: word/TAG text holds one
    one_layer = tmp_path / "one.txt"
    one_layer.write_text("EU/B-ORG rejects/O\n")
    assert cli.run(["preprocess", str(one_layer), str(pos), "--to-format", "slash", "-o", str(tmp_path / "out") + "/"]) == 2
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("fmt", ["conll", "tokens", "segmented", "conllu", "jsonl"])
def test_a_first_token_starting_with_a_byte_order_mark_round_trips_or_is_refused(tmp_path, fmt):
    """Readers drop U+FEFF at the start of a file (a byte order mark): a format whose file would begin with the
    first token refuses it; the others keep it (found by the property above)."""
    corpus = Corpus([Sentence(("\ufeff", "_"), {})], ())
    back = check_round_trip(corpus, fmt, tmp_path / f"bom{formats.FORMATS[fmt].suffix}")
    assert (back is None) == (fmt in ("conll", "tokens", "segmented"))
