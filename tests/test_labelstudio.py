"""Label Studio's JSON in and out: an export's regions read as tokens with IOB2 labels, errors naming the task and
its line, a model trained on an export, and its predictions written as tasks Label Studio imports; the loop closed
the way Label Studio closes it (a prediction accepted becomes the annotation of the export)."""

import io
import json
import sys

import pytest

import seqtag
from seqtag.cli import commands as cli
from seqtag.data import formats
from seqtag.errors import DataError


def region(start, end, label, text):
    return {"id": f"r{start}", "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}}


def task(number, text, spans, **extra):
    """A task as Label Studio exports it (one annotation; ids, timestamps and a relation beside the regions)."""
    result = [region(a, b, label, text) for a, b, label in spans]
    result.append({"type": "relation", "from_id": "x", "to_id": "y", "direction": "right"})
    return {"id": number, "data": {"text": text}, "annotations": [
        {"id": 100 + number, "completed_by": 1, "was_cancelled": False, "result": result,
         "created_at": "2026-12-01T10:00:00Z"}], "predictions": [], **extra}


TASKS = [task(1, "Peter Blackburn went to Paris.", [(0, 15, "PER"), (23, 29, "LOC")]),
         task(2, "The EU rejects it.", [(4, 7, "ORG")]),  # the space after EU is not the entity's
         task(3, "Nothing here.", [])]


def export(path, tasks, indent=None):
    path.write_text(json.dumps(tasks, indent=indent))
    return path


@pytest.mark.parametrize("indent", [None, 2])  # Label Studio writes one line; people pretty-print
def test_an_export_s_regions_are_read_as_iob2_tokens(tmp_path, indent):
    corpus = formats.read_corpus(export(tmp_path / "project.json", TASKS, indent))
    assert corpus.layers == ("ner",)
    assert [s.tokens for s in corpus] == [("Peter", "Blackburn", "went", "to", "Paris", "."),
                                          ("The", "EU", "rejects", "it", "."), ("Nothing", "here", ".")]
    assert corpus.column("ner")[:2] == [("B-PER", "I-PER", "O", "O", "B-LOC", "O"), ("O", "B-ORG", "O", "O", "O")]
    renamed = tmp_path / "export.txt"  # told apart by its content, not only by .json
    renamed.write_text((tmp_path / "project.json").read_text())
    assert formats.detect_format(str(renamed), renamed.read_text().splitlines()) == "labelstudio"


def test_cancelled_and_unannotated_tasks_are_not_read_as_labels(tmp_path):
    cancelled = task(4, "Paris again.", [(0, 5, "LOC")])
    cancelled["annotations"][0]["was_cancelled"] = True
    unannotated = {"id": 5, "data": {"text": "Rome."}, "annotations": [],
                   "predictions": [{"result": [region(0, 4, "LOC", "Rome.")]}]}
    corpus = formats.read_corpus(export(tmp_path / "p.json", [TASKS[0], cancelled, unannotated]))
    assert [s.tokens for s in corpus] == [("Peter", "Blackburn", "went", "to", "Paris", ".")]
    with pytest.raises(DataError, match="no annotated task: 1 task\\(s\\) hold only a model's predictions"):
        formats.read_corpus(export(tmp_path / "q.json", [unannotated]))


@pytest.mark.parametrize("change, message", [
    (lambda t: t["annotations"][0]["result"].append(region(1, 15, "PER", t["data"]["text"])),
     "task 2 \\(id 1\\): the PER span 1-15 \\('eter Blackburn'\\) does not begin and end on token boundaries"),
    (lambda t: t["annotations"][0]["result"].append(region(6, 20, "LOC", t["data"]["text"])),
     "task 2 \\(id 1\\): the LOC span 6-20 \\('Blackburn went'\\) overlaps another span"),
    (lambda t: t["annotations"][0]["result"][0]["value"].update(end=99),
     "task 2 \\(id 1\\): a region must have whole start < end within the text's 30 characters"),
    (lambda t: t["annotations"][0]["result"][0]["value"].update(labels=["PER", "ORG"]),
     "task 2 \\(id 1\\): the region 0-15 \\('Peter Blackburn'\\) must have one label"),
    (lambda t: t.update(data={"url": "x", "title": "y"}), "task 2 \\(id 1\\): no \"text\" in the task's data"),
])
def test_a_bad_task_is_refused_with_its_number_id_and_line(tmp_path, change, message):
    bad = json.loads(json.dumps(TASKS[0]))
    change(bad)
    path = tmp_path / "bad.json"
    path.write_text("[\n" + json.dumps(TASKS[1]) + ",\n" + json.dumps(bad) + "\n]\n")
    with pytest.raises(DataError, match=message) as e:
        formats.read_corpus(path)
    assert e.value.line == 3


@pytest.mark.parametrize("text, line", [("[\n{\"data\": {\"text\": \"a\"}},\n{\"data\": \n", 3),
                                        ("[{\"data\": {\"text\": \"a\"}} {}]", 1), ("[]]", 1),
                                        ("[" * 100000 + "]" * 100000, 1)])
def test_invalid_json_is_refused_with_its_line(tmp_path, text, line):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(DataError) as e:
        formats.read_corpus(path, "labelstudio")
    assert e.value.line == line


def test_predictions_go_to_label_studio_and_come_back_as_the_export(tmp_path, monkeypatch, capsys):
    train = export(tmp_path / "train.json", [{**t, "id": i} for i, t in enumerate(TASKS * 20)])  # ids once each
    seqtag.train(train, model="hmm", output=tmp_path / "m")
    text = "Peter Blackburn went to Paris. The EU rejects it.\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert cli.run(["tag", "-m", str(tmp_path / "m"), "--output-format", "labelstudio"]) == 0
    tasks = json.loads(capsys.readouterr().out)  # one JSON array, as Label Studio imports it
    assert [t["data"]["text"] for t in tasks] == ["Peter Blackburn went to Paris.", "The EU rejects it."]
    found = [[(r["value"]["text"], r["value"]["labels"]) for r in t["predictions"][0]["result"]] for t in tasks]
    assert found == [[("Peter Blackburn", ["PER"]), ("Paris", ["LOC"])], [("EU", ["ORG"])]]
    for number, t in enumerate(tasks, 1):  # accepted in Label Studio: the prediction becomes the annotation
        t.update(id=number, annotations=[{"id": number, "result": t["predictions"][0]["result"]}])
    back = formats.read_corpus(export(tmp_path / "export.json", tasks))
    assert back.column("ner") == formats.read_corpus(train).column("ner")[:2]


def test_a_model_without_entities_cannot_write_annotation_tool_formats(tmp_path, monkeypatch):
    seqtag.train(seqtag.SAMPLE["train"], model="majority", output=tmp_path / "pos", columns=["word", "pos",
                 "chunk", "ner"], layer="pos")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"EU rejects it.\n")))
    assert cli.run(["tag", "-m", str(tmp_path / "pos"), "--output-format", "labelstudio"]) == 2


def test_a_task_id_twice_or_an_empty_text_is_handled(tmp_path):
    twice = [TASKS[0], {**TASKS[1], "id": 1}]
    with pytest.raises(DataError, match="task 2 \\(id 1\\): the id of task 1 again") as e:
        formats.read_corpus(export(tmp_path / "twice.json", twice))
    assert e.value.line == 1
    empty = task(4, "", [])
    assert len(formats.read_corpus(export(tmp_path / "empty.json", [TASKS[1], empty]))) == 1  # nothing to read in it
