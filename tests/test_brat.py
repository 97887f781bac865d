"""brat standoff in and out: a folder of .txt and .ann read as tokens with IOB2 labels (other annotations passed
over, sentences joined where an entity crosses them), every kind of bad annotation refused with its file and line,
a folder seqtag wrote read back exactly, and a model's predictions written as a folder brat opens."""

import io
import sys

import pytest

import seqtag
from seqtag.cli import commands as cli
from seqtag.data import formats
from seqtag.errors import DataError

TEXT = "Peter Blackburn went to Paris. The EU rejects it.\nNothing here.\n"
ANN = ("T1\tPER 0 15\tPeter Blackburn\nT2\tLOC 24 29\tParis\nR1\tLives Arg1:T1 Arg2:T2\nA1\tNegated T2\n"
       "T3\tORG 35 37\tEU\n#1\tAnnotatorNotes T1\tchecked\n")


def folder(tmp_path, ann=ANN, text=TEXT, name="news"):
    root = tmp_path / "brat"
    root.mkdir(exist_ok=True)
    (root / f"{name}.txt").write_text(text)
    (root / f"{name}.ann").write_text(ann)
    return root


def test_a_folder_is_read_as_sentences_of_tokens_with_iob2_entities(tmp_path):
    root = folder(tmp_path)
    (root / "empty.txt").write_text("Rome is far.\n")  # no .ann: a document without entities
    corpus = formats.read_corpus(root)  # told apart by its .ann files
    assert [s.tokens for s in corpus] == [("Rome", "is", "far", "."), ("Peter", "Blackburn", "went", "to", "Paris", "."),
                                          ("The", "EU", "rejects", "it", "."), ("Nothing", "here", ".")]
    assert corpus.column("ner")[1:3] == [("B-PER", "I-PER", "O", "O", "B-LOC", "O"), ("O", "B-ORG", "O", "O", "O")]
    assert [s.document for s in corpus] == [0, 1, 1, 1]
    assert len(formats.read_corpus(root / "news.ann", "brat")) == 3  # one document, by either of its files


def test_an_entity_across_a_sentence_boundary_joins_the_sentences(tmp_path):
    text = "He met Mr. Smith. Jones was there.\n"
    start = text.index("Smith")
    corpus = formats.read_corpus(folder(tmp_path, f"T1\tPER {start} {start + 12}\t{text[start:start + 12]}\n", text))
    assert len(corpus) == 1 and "B-PER" in corpus.column("ner")[0]


@pytest.mark.parametrize("ann, message", [
    ("T1\tPER 0 15\tPeter Blackburm\n", "the PER entity 0-15 says 'Peter Blackburm', but the text there is 'Peter Blackburn'"),
    ("T1\tPER 0 5;6 15\tPeter Blackburn\n", "the PER entity 0 5;6 15 is discontinuous"),
    ("T1\tPER 0 15\tPeter Blackburn\nT2\tPER 6 15\tBlackburn\n", "the PER span 6-15 ('Blackburn') overlaps another"),
    ("T1\tPER 1 15\teter Blackburn\n", "the PER span 1-15 ('eter Blackburn') does not begin and end on token boundaries"),
    ("T1\tPER 0 999\tx\n", "the PER entity 0-999 lies outside the text's 63 characters"),
    ("T1 PER 0 15 Peter Blackburn\n", "an entity line is 'T<n><TAB>TYPE START END<TAB>text'"),
])
def test_a_bad_annotation_is_refused_with_its_file_and_line(tmp_path, ann, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        formats.read_corpus(folder(tmp_path, ann))
    assert e.value.path.endswith("news.ann") and e.value.line == ann.count("\n")


def test_a_folder_without_texts_or_a_document_without_its_text_is_refused(tmp_path):
    (tmp_path / "only.ann").write_text(ANN)
    with pytest.raises(DataError, match="there is no .txt here"):
        formats.read_corpus(tmp_path)
    with pytest.raises(DataError, match="only.txt, is not beside it"):
        formats.read_corpus(tmp_path / "only.ann", "brat")


def test_a_model_s_predictions_go_to_brat_and_an_annotated_folder_trains(tmp_path, monkeypatch, capsys):
    root = folder(tmp_path)
    for copy in range(20):
        folder(tmp_path, name=f"news{copy}")
    seqtag.train(root, model="hmm", output=tmp_path / "m")  # format detected from the folder
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(TEXT.encode())))
    assert cli.run(["tag", "-m", str(tmp_path / "m"), "--output-format", "conll"]) == 0
    (tmp_path / "predicted.conll").write_text(capsys.readouterr().out)
    assert cli.run(["preprocess", str(tmp_path / "predicted.conll"), "--columns", "word,ner", "--to-scheme", "iob2",
                    "--to-format", "brat", "-o", str(tmp_path / "for-brat")]) == 0
    ann = (tmp_path / "for-brat" / "doc-0001.ann").read_text().splitlines()
    assert [line.split("\t", 1)[1] for line in ann] == ["PER 0 15\tPeter Blackburn", "LOC 24 29\tParis",
                                                       "ORG 36 38\tEU"]
    back = formats.read_corpus(tmp_path / "for-brat")  # read as written: a sentence a line
    assert back.column("ner") == formats.read_corpus(root).column("ner")[:3]
    assert cli.run(["preprocess", str(tmp_path / "predicted.conll"), "--columns", "word,ner", "--to-scheme", "iob2",
                    "--to-format", "brat", "-o", str(tmp_path / "for-brat")]) == 0  # replaces the folder it wrote
    assert cli.run(["preprocess", str(tmp_path / "predicted.conll"), "--columns", "word,ner", "--to-scheme", "iob2",
                    "--to-format", "brat", "-o", str(root)]) == 0  # a folder of the user's: written into
    assert (root / "news.ann").read_text() == ANN and (root / "predicted.conll.brat" / "doc-0001.ann").is_file()


def test_an_entity_id_twice_is_refused_and_an_empty_document_has_no_sentence(tmp_path):
    with pytest.raises(DataError, match="T1 is already the entity of line 1") as e:
        formats.read_corpus(folder(tmp_path, "T1\tPER 0 15\tPeter Blackburn\nT1\tLOC 24 29\tParis\n"))
    assert e.value.line == 2
    root = folder(tmp_path)
    (root / "blank.txt").write_text("")
    (root / "blank.ann").write_text("")
    assert len(formats.read_corpus(root)) == 3
