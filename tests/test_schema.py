"""Untrusted JSON checked field by field (seqtag.schema): every field of a model's model.json replaced by a value of
another type or range is either still a working model or refused with exit 3 naming the field; never an internal
error (exit 4), never a non-seqtag exception from Python."""

import contextlib
import copy
import io
import json
import os
import shutil

import pytest

import seqtag
from seqtag.cli import commands as cli
from seqtag.errors import ModelFormatError, SeqtagError
from seqtag.schema import List, Map, Maybe, Number, Record, Whole, problem

from conftest import DATA

WRONG = [None, "x", -1, 10 ** 9, [], {}, 1.5, True, float("nan"), "\x1b[31mred"]


@pytest.mark.parametrize("value, shape, expected", [
    (3, Whole(), None), (True, Whole(), "is true, expected a whole number"),
    (1.5, Whole(), "is 1.5, expected a whole number"),
    (-1, Whole(), "is -1, expected a number from 0"), (float("inf"), Number(), "is inf, expected a finite number"),
    ("x", Number(), "is a string, expected a number"), (None, Maybe(Number()), None),
    ([], List(str, least=1), "has 0 items, expected at least 1"), (["a", 2], List(str), "[1] is 2, expected a string"),
    ({"a": {"b": "x"}}, Record({"a": Record({"b": Number()})}), ".a.b is a string, expected a number"),
    ({}, Record({}, required=("kind",)), "has no 'kind'"),
    ({"k": [1]}, Map(List(str)), "['k'][0] is 1, expected a string"),
    ({"other": "kept"}, Record({"a": int}), None),  # fields a newer seqtag wrote are passed over
])
def test_a_shape_says_where_and_what(value, shape, expected):
    found = problem(value, shape)
    assert found == expected if expected is None else found.startswith(expected), found


def leaves(document: dict, path=()):
    for key, value in document.items():
        if isinstance(value, dict) and value and key != "per_type":
            yield from leaves(value, path + (key,))
        else:
            yield path + (key,)


def edited(model, tmp_path, path, value):
    folder = tmp_path / "edited"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for name in os.listdir(model):
        if name != "model.json":
            os.link(model / name, folder / name)
    document = copy.deepcopy(json.loads((model / "model.json").read_text()))
    inner = document
    for key in path[:-1]:
        inner = inner[key]
    inner[path[-1]] = value
    (folder / "model.json").write_text(json.dumps(document))
    return folder


def check_every_field(model, tmp_path, fields):
    """Load and tag (Python), and `seqtag info`, on the model with each of `fields` given each WRONG value."""
    outcomes = {"ok": 0, "refused": 0}
    for path in fields:
        for value in WRONG:
            folder = edited(model, tmp_path, path, value)
            try:
                seqtag.load(folder, runtime="torch").tag("EU rejects German call in Paris .")
                outcomes["ok"] += 1
            except SeqtagError:
                outcomes["refused"] += 1
            err = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                code = cli.run(["info", str(folder)])
            assert code in (0, 3), (path, value, err.getvalue())
            assert "\x1b" not in err.getvalue()
            if code == 3:
                assert ".".join(path[1:] or path) in err.getvalue() or "model" in err.getvalue(), err.getvalue()
    assert outcomes["refused"] > 0 and outcomes["ok"] > 0  # the edits do reach the checks, and not all refused
    return outcomes


def test_every_field_of_an_hmm_model_json_edited_works_or_is_refused_by_name(hmm_model, tmp_path):
    document = json.loads((hmm_model / "model.json").read_text())
    check_every_field(hmm_model, tmp_path, list(leaves(document)))


@pytest.mark.slow
def test_every_field_of_a_bilstm_model_json_edited_works_or_is_refused_by_name(tmp_path):
    model = tmp_path / "bilstm"
    seqtag.train(model="bilstm", train=DATA / "ner/train.txt", dev=DATA / "ner/dev.txt", output=model,
                 columns=["word", "pos", "chunk", "ner"], layer="ner", max_epochs=1, hidden=16, layers=1)
    document = json.loads((model / "model.json").read_text())
    fields = [p for p in leaves(document) if p[0] in ("tagger", "training", "kind", "labels", "weights", "scheme",
                                                      "layer", "features", "train_words", "format_version")]
    check_every_field(model, tmp_path, fields)
    # sizes the weights do not have are refused before the network is built (it would take gigabytes)
    import resource

    for key, value in (("hidden", 8192), ("char_hidden", 4096), ("layers", 16)):
        folder = edited(model, tmp_path, ("tagger", "config", key), value)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with pytest.raises(ModelFormatError, match="model.json describes .* the weights hold"):
            seqtag.load(folder, runtime="torch")
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200_000  # KB: nothing of their size


def test_a_wrong_field_names_itself(hmm_model, tmp_path):
    folder = edited(hmm_model, tmp_path, ("training", "data", "train", "tokens"), "many")
    with pytest.raises(ModelFormatError, match=r"training\.data\['train'\]\.tokens is a string, expected a whole"):
        seqtag.load(folder)


@pytest.mark.parametrize("text, expected", [
    ('{"format": "seqtag-model", "format_version": 2, "x": ' + "9" * 5000 + "}", "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
])
def test_json_no_reader_can_hold_is_a_damaged_model_not_a_crash(tmp_path, text, expected):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.json").write_text(text)
    with pytest.raises(ModelFormatError, match=expected):
        seqtag.load(folder)


def test_numbers_beyond_a_float_are_named_not_formatted():
    assert problem(10 ** 400, Number()) == "is a number of more than 40 digits, expected a finite number"
    assert problem(10 ** 400, Whole()).startswith("is a number of more than 40 digits")


LOG_RECORD = {"epoch": 2, "loss": 0.41, "seconds": 1.5, "dev": {"metric": "f1", "f1": 0.62, "precision": 0.6},
              "dev_score": 0.62, "best_epoch": 2}  # as training writes one (tests/test_bilstm.py reads real ones)


@pytest.mark.parametrize("field", ["epoch", "loss", "dev_score", "best_epoch", "dev", "dev.metric"])
@pytest.mark.parametrize("value", WRONG)
def test_a_train_log_field_edited_is_read_or_left_out_with_a_warning_naming_it(tmp_path, field, value):
    """A damaged training log costs the training curve, never the model: the report and train's sparkline read
    records that fit, and a record that does not is named in one warning."""
    from seqtag.errors import SeqtagWarning
    from seqtag.modeldir import read_train_log

    record = copy.deepcopy(LOG_RECORD)
    parent, _, name = field.rpartition(".")
    (record[parent] if parent else record)[name] = value
    (tmp_path / "train_log.jsonl").write_text(json.dumps(LOG_RECORD) + "\n" + json.dumps(record) + "\n")
    with pytest.warns(SeqtagWarning) if problem(value, _expected_shape(field)) else contextlib.nullcontext() as seen:
        records = read_train_log(tmp_path, ("epoch", "loss", "dev_score", "best_epoch"))
    if seen is None:
        assert records == [LOG_RECORD, record]
    else:
        assert records == [] and len(seen) == 1
        assert f"{tmp_path / 'train_log.jsonl'}: line 2: the record" in str(seen[0].message)
        assert field.split(".")[-1] in str(seen[0].message)


def _expected_shape(field: str):
    """What a reader of the report needs of each field, written here apart from seqtag.modeldir."""
    return {"epoch": Whole(1), "loss": Number(), "dev_score": Number(), "best_epoch": Whole(0),
            "dev": Record({"metric": str}, required=("metric",)),
            "dev.metric": str}[field]


def test_a_train_log_that_is_not_a_file_or_too_large_is_left_out_without_blocking(tmp_path, monkeypatch):
    from seqtag import modeldir

    os.mkfifo(tmp_path / "train_log.jsonl")  # opened for reading, it would block until a writer came
    with pytest.warns(UserWarning, match="not a regular file"):
        assert modeldir.read_train_log(tmp_path) == []
    os.remove(tmp_path / "train_log.jsonl")
    (tmp_path / "train_log.jsonl").write_text(json.dumps(LOG_RECORD) + "\n")
    assert modeldir.read_train_log(tmp_path) == [LOG_RECORD]
    monkeypatch.setattr(modeldir, "MAX_TRAIN_LOG", 50)
    with pytest.warns(UserWarning, match="over 50 bytes"):
        assert modeldir.read_train_log(tmp_path) == []
    assert modeldir.read_train_log(tmp_path / "none") == []  # no log: no curve, no warning
