"""doccano's JSONL in and out: spans over raw text read as tokens with IOB2 labels, a model trained on them, and
its predictions written back as a file doccano imports, read back by the same reader."""

import json
import sys

import pytest

import seqtag
from seqtag.cli import commands as cli
from seqtag.data import formats
from seqtag.errors import DataError

TEXTS = [  # as doccano exports them: spans by character offsets, some with a space at an edge
    {"id": 1, "text": "Peter Blackburn went to Paris.", "label": [[0, 15, "PER"], [23, 29, "LOC"]]},
    {"id": 2, "text": "The EU rejects it.", "label": [[4, 6, "ORG"]]},
    {"id": 3, "text": "Nothing here.", "label": []},
]


def export(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_spans_over_text_are_read_as_iob2_tokens(tmp_path):
    corpus = formats.read_corpus(export(tmp_path / "export.jsonl", TEXTS))  # told apart from seqtag's JSON Lines
    assert corpus.layers == ("ner",)
    assert [s.tokens for s in corpus] == [("Peter", "Blackburn", "went", "to", "Paris", "."),
                                          ("The", "EU", "rejects", "it", "."), ("Nothing", "here", ".")]
    assert corpus.column("ner")[:2] == [("B-PER", "I-PER", "O", "O", "B-LOC", "O"), ("O", "B-ORG", "O", "O", "O")]
    newer = [{"text": "The EU rejects it.", "entities": [{"start_offset": 4, "end_offset": 6, "label": "ORG"}]}]
    assert formats.read_corpus(export(tmp_path / "newer.jsonl", newer)).column("ner") == [corpus.column("ner")[1]]


@pytest.mark.parametrize("span, message", [
    ([1, 15, "PER"], "the PER span 1-15 ('eter Blackburn') does not begin and end on token boundaries"),
    ([0, 40, "PER"], "a span must be [start, end, \"TYPE\"] with 0 <= start < end <= 30"),
    ([6, 20, "LOC"], "the LOC span 6-20 ('Blackburn went') overlaps another span"),
])
def test_a_span_off_the_tokens_or_over_another_is_refused_with_its_line(tmp_path, span, message):
    records = [TEXTS[1], {**TEXTS[0], "label": [*TEXTS[0]["label"], span]}]
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")) as e:
        formats.read_corpus(export(tmp_path / "bad.jsonl", records))
    assert e.value.line == 2


def test_a_model_trained_on_an_export_pre_annotates_text_for_doccano(tmp_path, monkeypatch, capsys):
    train = export(tmp_path / "train.jsonl", [{**t, "id": i} for i, t in enumerate(TEXTS * 20)])  # ids once each
    seqtag.train(train, model="hmm", output=tmp_path / "m")
    monkeypatch.setattr(sys, "stdin", _stdin("Peter Blackburn went to Paris.\nThe EU rejects it.\n"))
    assert cli.run(["tag", "-m", str(tmp_path / "m"), "--output-format", "doccano"]) == 0
    written = capsys.readouterr().out
    records = [json.loads(line) for line in written.splitlines()]
    assert [[r["text"][a:b] for a, b, _ in r["label"]] for r in records] == [["Peter Blackburn", "Paris"], ["EU"]]
    back = formats.read_corpus(export(tmp_path / "predicted.jsonl", records))  # what doccano would import
    assert back.column("ner") == formats.read_corpus(train).column("ner")[:2]


def test_a_corpus_doccano_cannot_hold_is_refused_with_the_command_that_converts_it(tmp_path):
    from seqtag.data.corpus import Corpus, Sentence

    two = Corpus([Sentence(("EU", "rejects"), {"pos": ("NNP", "VBZ"), "ner": ("B-ORG", "O")})], ("pos", "ner"))
    with pytest.raises(DataError, match="holds one entity layer, read back as ner; this corpus has pos, ner"):
        formats.write_corpus(two, tmp_path / "out.jsonl", "doccano")
    iob1 = Corpus([Sentence(("EU", "rejects"), {"ner": ("I-ORG", "O")})], ("ner",))
    with pytest.raises(DataError, match=r"holds IOB2 entity labels \(convert with --to-scheme iob2\)"):
        formats.write_corpus(iob1, tmp_path / "out.jsonl", "doccano")
    assert not (tmp_path / "out.jsonl").exists()


def _stdin(text: str):
    import io

    return io.TextIOWrapper(io.BytesIO(text.encode()))


def test_an_id_twice_is_refused_with_both_lines(tmp_path):
    with pytest.raises(DataError, match="the id 1 of line 1 again") as e:
        formats.read_corpus(export(tmp_path / "twice.jsonl", [TEXTS[0], {**TEXTS[1], "id": 1}]))
    assert e.value.line == 2
