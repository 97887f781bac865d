"""The Python API keeps the command line's contract: every public function, given a bad value for any argument,
raises a seqtag error (a SeqtagError subclass) with a one-line message, and leaves every file as it was. Every
loaded model saves, tags and evaluates whatever runtime loaded it."""

from pathlib import Path

import pytest

import seqtag
from seqtag.errors import SeqtagError

import contract

pytestmark = pytest.mark.slow  # trains models or runs the CLI many times: not in the fast set

ROOT = Path(__file__).resolve().parent.parent
NER = ROOT / "data/ner"
COLUMNS = ["word", "pos", "chunk", "ner"]

# values that are wrong for nearly every argument: absent, of another type, empty, out of range
WRONG = {"none": None, "int": 7, "negative": -1, "float-nan": float("nan"), "bool": True, "bytes": b"x",
         "dict": {"a": 1}, "empty-str": "", "word": "bogus", "comma-str": "a,b", "list-of-int": [1, 2]}
# which of those an argument takes as valid (so they are no case); a path may be any non-empty string
VALID = {
    "format": {"none"}, "columns": {"none"}, "layer": {"none", "word", "comma-str"}, "scheme": {"none"},
    "on_invalid": set(), "stream": {"bool"}, "to_scheme": {"none"}, "path": {"word", "comma-str"},
    "overwrite": {"bool"}, "layers": {"none"}, "window": {"int"}, "nbest": {"int"}, "probs": {"bool"},
    "tokenized": {"none", "bool"}, "workers": {"int"}, "strict": {"bool"}, "runtime": set(),
    "text": {"word", "comma-str", "empty-str"},
}
# Model.evaluate reads a gold file as the model's training data was read: None there means "as trained"
VALID_IN = {("Model.evaluate", argument): {"none"} for argument in ("format", "columns", "layer", "scheme",
                                                                   "on_invalid")}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    seqtag.train(model="hmm", output=folder / "hmm")
    seqtag.train(hidden=8, layers=1, max_epochs=1, output=folder / "bilstm")
    return folder


def calls(models: Path, tmp: Path):
    """(name, argument, callable taking the bad value) for every public function and argument."""
    corpus = seqtag.read(NER / "dev.txt", columns=COLUMNS)
    hmm = seqtag.load(models / "hmm")
    read = {"format": None, "columns": COLUMNS, "layer": None, "scheme": None, "on_invalid": "repair"}
    for argument in ("format", "columns", "layer", "scheme", "on_invalid", "stream", "to_scheme"):
        yield "read", argument, lambda v, a=argument: seqtag.read(NER / "dev.txt", **{**read, a: v})
    yield "read", "path", lambda v: seqtag.read(v, columns=COLUMNS)
    for argument in ("path", "overwrite", "layers", "format"):
        defaults = {"path": tmp / "out.tsv", "overwrite": False, "layers": None, "format": "canonical"}
        yield "write", argument, lambda v, a=argument, d=defaults: seqtag.write(corpus, **{**d, a: v})
    yield "load", "path", lambda v: seqtag.load(v)
    yield "load", "runtime", lambda v: seqtag.load(models / "hmm", runtime=v)
    for argument in ("window", "nbest", "probs", "tokenized"):
        yield "Model.tag", argument, lambda v, a=argument: hmm.tag("EU rejects German call.", **{a: v})
    yield "Model.tag", "text", lambda v: hmm.tag(v)
    for argument in ("window", "nbest", "probs", "workers", "columns"):
        yield "Model.tag_lines", argument, lambda v, a=argument: "".join(
            hmm.tag_lines(["EU rejects German call."], **{a: v}))
    yield "Model.evaluate", "strict", lambda v: hmm.evaluate(NER / "test.txt", strict=v)
    for argument in ("format", "columns", "layer", "scheme", "on_invalid"):
        yield "Model.evaluate", argument, lambda v, a=argument: hmm.evaluate(NER / "test.txt", **{**read, a: v})
    yield "Model.save", "path", lambda v: hmm.save(v)
    yield "Model.save", "overwrite", lambda v: hmm.save(tmp / "saved", overwrite=v)


def test_every_public_function_refuses_every_wrong_value_with_a_seqtag_error(models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative path that is valid is written here
    before = contract.snapshot(models)
    tried, failures = 0, []
    for name, argument, call in calls(models, tmp_path):
        for label, value in WRONG.items():
            if label in VALID_IN.get((name, argument), VALID[argument]):
                continue
            tried += 1
            try:
                call(value)
            except SeqtagError as error:
                if not str(error).strip() or "\n" in str(error):
                    failures.append(f"{name}({argument}={value!r}): message {str(error)!r}")
            except Exception as error:  # noqa: BLE001 - the point: nothing but a seqtag error
                failures.append(f"{name}({argument}={value!r}): {type(error).__name__}: {error}")
            else:
                failures.append(f"{name}({argument}={value!r}): accepted")
    assert tried >= 200
    assert not failures, "\n".join(failures)
    contract.assert_kept(before, contract.snapshot(models))


def test_a_model_loaded_by_any_runtime_saves_tags_and_evaluates(models, tmp_path):
    expected = seqtag.load(models / "bilstm", runtime="torch").tag(["New", "York", "is", "big"]).labels
    for runtime in ("auto", "torch", "onnx"):
        model = seqtag.load(models / "bilstm", runtime=runtime)
        model.save(tmp_path / runtime)
        again = seqtag.load(tmp_path / runtime, runtime="torch")
        assert again.tag(["New", "York", "is", "big"]).labels == expected
        assert 0.0 <= model.evaluate(NER / "test.txt")["f1"] <= 1.0


def test_a_list_of_strings_is_texts_or_tokens_never_a_guess_between_them(models):
    hmm = seqtag.load(models / "hmm")
    assert hmm.tag(["Paris", "London"]).tokens == ["Paris", "London"]  # no whitespace: one sentence's tokens
    many = hmm.tag(["Peter went home.", "EU rejects it."])  # each holds whitespace: texts
    assert [m.tokens for m in many] == [["Peter", "went", "home", "."], ["EU", "rejects", "it", "."]]
    assert [m.tokens for m in hmm.tag(["Paris", "London"], tokenized=False)] == [["Paris"], ["London"]]
    assert [m.tokens for m in hmm.tag(["Paris", "a b"], tokenized=True)] == [["Paris"], ["a", "b"]]
    for mixed in (["Paris", "Peter went home"], ["New York", "is", "big"]):
        with pytest.raises(SeqtagError, match="mixes both .* say so with tokenized=False"):
            hmm.tag(mixed)


def test_a_corpus_read_as_a_stream_is_written_like_one_in_memory(tmp_path):
    streamed = seqtag.read(NER / "dev.txt", columns=COLUMNS, stream=True)
    seqtag.write(streamed, tmp_path / "streamed.tsv")
    seqtag.write(seqtag.read(NER / "dev.txt", columns=COLUMNS), tmp_path / "memory.tsv")
    assert (tmp_path / "streamed.tsv").read_bytes() == (tmp_path / "memory.tsv").read_bytes()


def test_api_errors_say_how_to_do_it_in_python(models, tmp_path):
    (tmp_path / "mine.tsv").write_text("my notes\n")
    with pytest.raises(SeqtagError, match=r"overwrite=True"):
        seqtag.write(seqtag.read(NER / "dev.txt", columns=COLUMNS), tmp_path / "mine.tsv")
