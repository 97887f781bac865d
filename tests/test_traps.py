"""Easy mistakes that used to go silent or confuse: each now works, or says in one line what to type instead."""

import re

import pytest

import seqtag
from seqtag.cli import commands as cli
from seqtag.errors import SeqtagWarning

from conftest import DATA

NER = DATA / "ner"


@pytest.fixture(scope="module")
def without_columns(tmp_path_factory):
    """An HMM trained on the NER sample read without --columns: its layer is the last column's name, col4."""
    folder = tmp_path_factory.mktemp("traps") / "hmm"
    seqtag.train(NER / "train.txt", model="hmm", output=folder)
    return folder


def test_a_model_s_layer_is_mapped_to_a_column_of_another_name(without_columns, capfd):
    as_trained = seqtag.load(without_columns).evaluate(NER / "test.txt")
    assert cli.run(["evaluate", "-m", str(without_columns), str(NER / "test.txt"), "--columns",
                    "word,pos,chunk,ner"]) == 2
    advice = re.search(r"map one of them to it with (--layer NAME=col4)", capfd.readouterr().err).group(1)
    mapped = seqtag.load(without_columns).evaluate(NER / "test.txt", columns=["word", "pos", "chunk", "ner"],
                                                   layer=advice.split()[1].replace("NAME", "ner"))
    assert mapped["f1"] == as_trained["f1"] and mapped["per_type"] == as_trained["per_type"]
    with pytest.raises(seqtag.errors.DataError, match="the model tags layer 'col4', not 'upos'"):
        seqtag.load(without_columns).evaluate(NER / "test.txt", layer="ner=upos")


def test_every_command_that_takes_a_model_takes_it_with_m(without_columns, tmp_path, capsys):
    assert cli.run(["info", "-m", str(without_columns)]) == 0
    assert "hmm" in capsys.readouterr().out
    assert cli.run(["report", "-m", str(without_columns), "--data", str(NER / "test.txt"), "-o",
                    str(tmp_path / "r.html"), "--bootstrap", "0"]) == 0
    assert (tmp_path / "r.html").is_file()
    assert cli.run(["info"]) == 2 and "give one model folder, as an argument or with -m" in capsys.readouterr().err


def test_tag_given_a_file_says_how_to_tag_one(without_columns, capsys):
    assert cli.run(["tag", "-m", str(without_columns), str(NER / "test.txt")]) == 2
    assert "tag reads stdin and writes stdout (seqtag tag -m MODEL < FILE)" in capsys.readouterr().err


def test_columns_given_for_a_format_that_names_its_own_layers_are_warned_about(tmp_path, capfd):
    conllu = DATA / "pos" / "dev.conllu"
    assert cli.run(["preprocess", str(conllu), "--columns", "word,pos"]) == 0
    warned = [line for line in capfd.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warned == [f"warning: {conllu}: --columns is for CoNLL columns; this conllu file names its own layers, "
                      "and the option is not used (--layer NAME=LAYER maps a layer to another name)"]
    assert cli.run(["preprocess", str(NER / "dev.txt"), "--columns", "word,pos,chunk,ner"]) == 0
    assert "warning:" not in capfd.readouterr().err  # CoNLL reads them
    with pytest.warns(SeqtagWarning, match="--columns is for CoNLL columns"):
        seqtag.read(conllu, columns=["word", "pos"])
