"""One exception boundary for Python, generated from the signatures: every public function and Model method, given
any value of the wrong kind for any one parameter (the others valid), returns or raises a seqtag error; never
another exception, and never a change to the files it reads."""

import inspect
import math
from pathlib import Path

import pytest

import seqtag
from seqtag.errors import SeqtagError

import contract
from conftest import DATA

COLUMNS = ["word", "pos", "chunk", "ner"]
# values of every kind a caller might pass by mistake: absent, numbers out of any range, other types, containers
# of the wrong items, empty ones, non-callables and callables
WRONG = [None, 7, -1, 10 ** 12, math.nan, math.inf, True, b"x", bytearray(b"x"), "", "bogus", "\x00", [], [5],
         [b"x"], [None], [[]], (), {}, {"a": 1}, {5}, object(), len, 1.5]


def public_calls(models: Path, tmp: Path):
    """(name, function, the valid arguments it is called with) for every public function and Model method."""
    RAW = tmp / "raw.txt"
    RAW.write_text("EU rejects German call .\nPeter Blackburn\n")
    hmm = seqtag.load(models / "hmm")
    corpus = seqtag.read(DATA / "ner/dev.txt", columns=COLUMNS)
    yield "read", seqtag.read, {"path": DATA / "ner/dev.txt", "columns": COLUMNS}
    yield "write", seqtag.write, {"corpus": corpus, "path": tmp / "out.tsv"}
    yield "load", seqtag.load, {"path": models / "hmm"}
    yield "train", seqtag.train, {"model": "majority", "output": tmp / "trained", "columns": COLUMNS,
                                  "layer": "ner", "overwrite": True}
    yield "Model.tag", hmm.tag, {"text": "EU rejects German call ."}
    yield "Model.tag_lines", hmm.tag_lines, {"lines": ["EU rejects German call ."]}
    yield "Model.evaluate", hmm.evaluate, {"gold": DATA / "ner/test.txt", "columns": COLUMNS}
    yield "Model.read_gold", hmm.read_gold, {"path": DATA / "ner/test.txt", "columns": COLUMNS}
    yield "Model.save", hmm.save, {"path": tmp / "saved", "overwrite": True}
    yield "Model.tag_files", hmm.tag_files, {"inputs": [RAW], "output_dir": tmp / "tagged",
                                              "overwrite": True}
    yield "Model.plan_files", hmm.plan_files, {"inputs": [RAW], "output_dir": tmp / "tagged"}
    try:
        from seqtag import serve
    except ImportError:  # the [serve] extra is not installed: its own test says so
        return
    yield "serve.app", serve.app, {"models": [models / "hmm"]}


def parameters(function, valid: dict):
    """The parameters a caller may pass (not **options: train's settings have their own test, test_settings)."""
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            yield name, parameter.default


def called(function, arguments: dict):
    result = function(**arguments)
    if inspect.isgenerator(result) or hasattr(result, "__next__"):  # a lazy result fails when it is read
        result = list(result)
    return result


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("boundary")
    seqtag.train(model="hmm", output=folder / "hmm", columns=COLUMNS, layer="ner")
    return folder


def test_every_parameter_of_every_public_call_given_any_wrong_value_raises_only_seqtag_errors(models, tmp_path,
                                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a value that is a valid relative path is written
    before = contract.snapshot(models, DATA)
    tried, failures = 0, []
    for name, function, valid in public_calls(models, tmp_path):
        called(function, valid)  # the valid call works
        for parameter, default in parameters(function, valid):
            for value in WRONG:
                if value is default or (value == default and type(value) is type(default)):
                    continue
                tried += 1
                try:
                    called(function, {**valid, parameter: value})
                except SeqtagError as error:
                    if not str(error).strip() or "\n" in str(error):
                        failures.append(f"{name}({parameter}={value!r}): message {str(error)!r}")
                except Exception as error:  # noqa: BLE001 - the point: nothing but a seqtag error
                    failures.append(f"{name}({parameter}={value!r}): {type(error).__name__}: {error}"[:300])
    assert tried >= 1000, tried
    assert not failures, f"{len(failures)} of {tried}:\n" + "\n".join(failures)
    contract.assert_kept(before, contract.snapshot(models, DATA))
