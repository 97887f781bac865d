import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqtag.data import formats
from seqtag.data.corpus import Corpus, Sentence, StreamedCorpus, statistics
from seqtag.errors import DataError
from seqtag.data.labels import Scheme

from conftest import DATA


def write_read(corpus: Corpus, fmt: str, tmp_path, **read_args) -> Corpus:
    path = tmp_path / f"corpus.{fmt}"
    formats.write_corpus(corpus, path, fmt)
    return formats.read_corpus(path, fmt, **read_args)


@pytest.mark.parametrize(
    "path, fmt, columns",
    [
        ("ner/train.txt", "conll", ["word", "pos", "chunk", "ner"]),
        ("chunk/train.txt", "conll", ["word", "pos", "chunk"]),
        ("pos/train.conllu", "conllu", None),
        ("seg/train.txt", "segmented", None),
        ("ner/train.txt", "canonical", ["word", "pos", "chunk", "ner"]),
    ],
)
def test_read_write_read_gives_the_same_corpus(tmp_path, path, fmt, columns):
    source_format = "conll" if fmt == "canonical" else fmt
    corpus = formats.read_corpus(DATA / path, source_format, columns)
    again = write_read(corpus, fmt, tmp_path, columns=columns if fmt == "conll" else None)
    assert again.sentences == corpus.sentences
    assert again.layers == corpus.layers


def test_slash_round_trip_and_last_slash_wins(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("The/DT 1/2/CD //: cat/NN\nRuns/VBZ\n")
    corpus = formats.read_corpus(path)  # detected as slash
    assert corpus.sentences[0].tokens == ("The", "1/2", "/", "cat")
    assert corpus.sentences[0].labels["tag"] == ("DT", "CD", ":", "NN")
    assert write_read(corpus, "slash", tmp_path).sentences == corpus.sentences


def test_canonical_keeps_schemes(tmp_path):
    corpus, layer, _ = formats.load_corpus(DATA / "ner/train.txt", columns=["word", "pos", "chunk", "ner"],
                                           to_scheme=Scheme.BIOES)
    again = write_read(corpus, "canonical", tmp_path)
    assert again.schemes == {"ner": Scheme.BIOES}
    assert any("S-PER" in s.labels["ner"] for s in again.sentences)


def test_conll_counts_docstart_and_formats_are_detected():
    corpus = formats.read_corpus(DATA / "ner/train.txt")
    assert len(corpus) == 300 and corpus.layers == ("col2", "col3", "col4")
    assert all(s.tokens[0] != "-DOCSTART-" for s in corpus.sentences)
    assert len(formats.read_corpus(DATA / "seg/train.txt")) == 300
    assert formats.read_corpus(DATA / "pos/train.conllu").layers == ("xpos", "upos")


def test_conllu_multiword_tokens_and_empty_nodes_are_not_words(tmp_path):
    path = tmp_path / "x.conllu"
    rows = [
        "# text = I don't go",
        "1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_",
        "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_",
        "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_",
        "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_",
        "3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t0:root\t_",
        "4\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_",
    ]
    path.write_text("\n".join(rows) + "\n\n")
    (sentence,) = formats.read_corpus(path).sentences
    assert sentence.tokens == ("I", "do", "n't", "go")
    assert sentence.labels["upos"] == ("PRON", "AUX", "PART", "VERB")
    assert sentence.origin.line == 2


def test_a_treebank_s_own_misc_annotations_are_not_layers(tmp_path):
    """A treebank's MISC keys (as in GUM: Discourse= on every word of a sentence, then a sentence without it) are its
    own annotations, read past; the layers are those a `# seqtag_layers` line names, as seqtag writes them."""
    path = tmp_path / "gum-like.conllu"
    rows = ["# newdoc id = doc1", "# sent_id = 1",
            "1\tKim\tKim\tPROPN\tNNP\t_\t2\tnsubj\t_\tDiscourse=joint:1->2|Entity=(person-1)",
            "2\tleft\tleave\tVERB\tVBD\t_\t0\troot\t_\tDiscourse=joint:1->2|SpaceAfter=No",
            "3\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\tDiscourse=joint:1->2", "",
            "# sent_id = 2", "1\tThen\tthen\tADV\tRB\t_\t2\tadvmod\t_\t_",
            "2\train\train\tNOUN\tNN\t_\t0\troot\t_\tCxn=x", ""]
    path.write_text("\n".join(rows) + "\n")
    corpus = formats.read_corpus(path)
    assert corpus.layers == ("xpos", "upos")
    assert [s.labels["upos"] for s in corpus.sentences] == [("PROPN", "VERB", "PUNCT"), ("ADV", "NOUN")]
    # a layer seqtag writes into MISC is named on each sentence, and read back
    marked = tmp_path / "marked.conllu"
    named = [s.with_layer("ner", labels) for s, labels in zip(corpus.keep(["upos"]), [("B-PER", "O", "O"), ("O", "O")])]
    formats.write_corpus(Corpus(named, ("upos", "ner")), marked, "conllu")
    assert "# seqtag_layers = ner\n" in marked.read_text()
    assert formats.read_corpus(marked).column("ner") == [("B-PER", "O", "O"), ("O", "O")]
    # a sentence that lacks a named layer is refused at its word
    lines = marked.read_text().splitlines()
    lines[-2] = lines[-2].replace("ner=O", "_")
    marked.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="no ner= in the MISC column, a layer that # seqtag_layers names") as e:
        formats.read_corpus(marked)
    assert e.value.line == len(lines) - 1


def test_crlf_and_bom_are_read_silently(tmp_path):
    original = (DATA / "ner/train.txt").read_bytes()
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"\xef\xbb\xbf" + original.replace(b"\n", b"\r\n"))
    assert formats.read_corpus(path).sentences == formats.read_corpus(DATA / "ner/train.txt").sentences


@pytest.mark.parametrize(
    "content, line, message",
    [
        (b"EU NNP I-NP I-ORG\nrejects VBZ I-VP\n", 2, "expected 4 columns (word col2 col3 col4), found 3"),
        (b"EU NNP O\n\xff\xfe bad O\n", 2, "invalid UTF-8"),
        (b"EU NNP O\nbin\x00ary x O\n", 2, "binary data"),
        (b"The/DT cat\n", 1, "expected word/TAG, found 'cat'"),
    ],
)
def test_bad_input_names_file_line_and_problem(tmp_path, content, line, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DataError) as e:
        formats.read_corpus(path, "slash" if b"/" in content else "conll")
    assert e.value.line == line and e.value.path == str(path) and message in e.value.message


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(DataError, match="file is empty"):
        formats.read_corpus(tmp_path / "empty.txt", "conll")
    with pytest.raises(DataError, match="no such file"):
        formats.read_corpus(tmp_path / "missing.txt", "conll")


def test_invalid_sequences_are_repaired_or_rejected(tmp_path):
    path = tmp_path / "bio.txt"
    path.write_text("EU B-ORG\nrejects O\nGerman I-MISC\n\nPeter B-PER\n")
    corpus, layer, repaired = formats.load_corpus(path, scheme=Scheme.IOB2)
    assert repaired == 1 and corpus.sentences[0].labels[layer] == ("B-ORG", "O", "B-MISC")
    with pytest.raises(DataError) as e:
        formats.load_corpus(path, scheme=Scheme.IOB2, on_invalid="error")
    assert e.value.line == 3 and "'I-MISC' after 'O'" in e.value.message
    path.write_text("EU B-ORG\nrejects X-ORG\n")
    with pytest.raises(DataError) as e:
        formats.load_corpus(path, scheme=Scheme.IOB2)
    assert e.value.line == 2 and "'X-ORG' is not a iob2 tag" in e.value.message


def test_hugging_face_dataset_from_disk_and_json(tmp_path):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B-PER", "I-PER"])),
        }
    )
    data = datasets.Dataset.from_dict(
        {"tokens": [["John", "Smith", "runs"], ["Hi"]], "ner_tags": [[1, 2, 0], [0]]}, features=features
    )
    datasets.DatasetDict({"train": data, "test": data}).save_to_disk(str(tmp_path / "ds"))
    splits = formats.read_hf(str(tmp_path / "ds"), None)
    assert [name for name, _ in splits] == ["train", "test"]
    corpus = splits[0][1]
    assert corpus.layers == ("ner",)
    assert corpus.sentences[0].labels["ner"] == ("B-PER", "I-PER", "O")
    assert formats.read_corpus(f"{tmp_path / 'ds'}:test", "hf").sentences == corpus.sentences
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"tokens": ["a", "b"], "pos": ["DT", "NN"]}\n')
    assert formats.read_corpus(jsonl, "hf").sentences[0].labels == {"pos": ("DT", "NN")}
    # streamed: the Arrow folder memory-mapped, the json file through an IterableDataset (streaming=True)
    streamed = formats.stream_corpus(f"{tmp_path / 'ds'}:test", "hf")
    assert streamed.layers == ("ner",) and list(streamed) == corpus.sentences
    streamed = formats.stream_corpus(jsonl, "hf")
    assert streamed.layers == ("pos",) and [s.labels for s in streamed] == [{"pos": ("DT", "NN")}]


@pytest.mark.parametrize(
    "path, fmt, columns",
    [
        ("ner/train.txt", None, ["word", "pos", "chunk", "ner"]),
        ("pos/train.conllu", None, None),
        ("seg/train.txt", "segmented", None),
    ],
)
def test_a_streamed_corpus_reads_the_same_sentences_on_every_pass(tmp_path, path, fmt, columns):
    in_memory, layer, _ = formats.load_corpus(DATA / path, fmt, columns)
    streamed, streamed_layer, _ = formats.load_corpus(DATA / path, fmt, columns, stream=True)
    assert isinstance(streamed, StreamedCorpus) and streamed_layer == layer
    assert (streamed.layers, streamed.schemes) == (in_memory.layers, in_memory.schemes)
    assert list(streamed) == in_memory.sentences == list(streamed)
    assert (len(streamed), streamed.num_tokens()) == (len(in_memory), in_memory.num_tokens())
    for fmt_out in ("canonical", "slash"):  # the other line formats, through their writers
        formats.write_corpus(in_memory if fmt_out == "canonical" else in_memory.keep([layer]), tmp_path / fmt_out,
                             fmt_out)
        assert list(formats.stream_corpus(tmp_path / fmt_out, fmt_out)) == formats.read_corpus(
            tmp_path / fmt_out, fmt_out).sentences


def test_a_streamed_corpus_converts_schemes_and_names_bad_lines(tmp_path):
    streamed, _, _ = formats.load_corpus(DATA / "ner/train.txt", None, ["word", "pos", "chunk", "ner"],
                                         to_scheme=Scheme.BIOES, stream=True)
    in_memory, _, _ = formats.load_corpus(DATA / "ner/train.txt", None, ["word", "pos", "chunk", "ner"],
                                          to_scheme=Scheme.BIOES)
    assert streamed.schemes["ner"] is Scheme.BIOES and list(streamed) == in_memory.sentences
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"John B-PER\nruns O\n\nMary \xff-PER\n")
    with pytest.raises(DataError, match="invalid UTF-8") as error:
        formats.load_corpus(bad, "conll", stream=True)
    assert (error.value.path, error.value.line) == (str(bad), 4)
    bad.write_text("John B-PER\nruns O\n\nMary B-PER extra\n")
    with pytest.raises(DataError, match="expected 2 columns") as error:
        formats.load_corpus(bad, "conll", stream=True)
    assert error.value.line == 4


def test_statistics():
    corpus, layer, _ = formats.load_corpus(DATA / "ner/dev.txt")
    stats = statistics(corpus, layer, train_vocab={"the", "."})
    assert stats["sentences"] == 100 and stats["tokens"] == 1350
    assert sum(stats["length_histogram"].values()) == 100
    assert sum(stats["labels"].values()) == 1350
    assert 0.5 < stats["oov_rate"] < 1.0


tokens = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=5)
tags = st.sampled_from(["O", "B-PER", "I-PER", "NN", "#", "-"])


@st.composite
def corpora(draw):
    sentences = []
    for _ in range(draw(st.integers(1, 4))):
        words = draw(st.lists(tokens.filter(lambda t: not any(c.isspace() for c in t)), min_size=1, max_size=6))
        if words[0] == formats.DOCSTART or words[0].startswith("\ufeff"):  # a mark; a BOM (refused: test_roundtrip)
            words[0] = "x"
        labels = draw(st.lists(tags, min_size=len(words), max_size=len(words)))
        sentences.append(Sentence(tuple(words), {"pos": tuple(labels), "ner": tuple(reversed(labels))}))
    return Corpus(sentences, ("pos", "ner"))


@settings(max_examples=60, deadline=None)
@given(corpora())
def test_random_corpora_survive_canonical_and_conll_round_trips(tmp_path_factory, corpus):
    tmp_path = tmp_path_factory.mktemp("rt")
    assert write_read(corpus, "canonical", tmp_path).sentences == corpus.sentences
    assert write_read(corpus, "conll", tmp_path, columns=["word", "pos", "ner"]).sentences == corpus.sentences


def test_a_hub_dataset_offline_is_one_line_without_the_hub_clients_retries(tmp_path):
    """The hub's host cannot be resolved (an .invalid name never resolves): one error line, no retry warnings."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_ENDPOINT": "https://hub.seqtag-test.invalid", "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_OFFLINE", None)
    done = subprocess.run([sys.executable, "-m", "seqtag", "preprocess", "--format", "hf", "--dataset",
                           "someone/no-such-corpus"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Retry" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: someone/no-such-corpus: cannot load dataset: the Hugging Face Hub cannot "
                                  "be reached")


@pytest.mark.parametrize("fmt, text", [
    ("jsonl", "[" * 100_000 + "]" * 100_000), ("jsonl", '{"tokens": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    ("doccano", '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    ("labelstudio", "[" + '{"data": ' * 50_000 + "1" + "}" * 50_000 + "]"),
])
def test_json_nested_too_deeply_is_an_error_at_its_line(tmp_path, fmt, text):
    path = tmp_path / "deep.json"
    path.write_text("\n" + text + "\n")
    with pytest.raises(DataError, match=r"deep\.json:2: invalid JSON: nested too deeply"):
        formats.read_corpus(path, fmt)
