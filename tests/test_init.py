"""`train --init MODEL`: a run that starts from a trained BiLSTM's weights and vocabularies, and a model folder
that keeps its resume checkpoint only while the run can go on (or when asked)."""

import json

import pytest
import torch
from test_bilstm import synthetic, train, write

import seqtag
from seqtag import bundled
from seqtag.data import labels as L
from seqtag.data.corpus import Corpus, Sentence
from seqtag.errors import ModelFormatError
from seqtag.models.bilstm import TrainingCounts
from seqtag.training import init

pytestmark = pytest.mark.slow  # trains models


def relabelled(corpus: Corpus, old: str, new: str) -> Corpus:
    """The corpus with entity type `old` renamed `new`: the data drops one label type and adds another."""
    return Corpus([Sentence(s.tokens, {"ner": tuple(t.replace(f"-{old}", f"-{new}") for t in s.labels["ner"])})
                   for s in corpus.sentences], ("ner",), {"ner": L.Scheme.IOB2}, source="relabelled")


def test_the_rows_of_the_labels_the_data_keeps_are_copied_and_new_labels_get_fresh_ones(tmp_path):
    train(tmp_path, "source", epochs=2)
    source = seqtag.load(tmp_path / "source", runtime="torch").predictor
    data = relabelled(synthetic(60, 5), "LOC", "ORG")
    notes = []
    tagger, record = init.adapted(tmp_path / "source", TrainingCounts.of(data, "ner", ()), "ner", L.Scheme.IOB2,
                                  "cpu", notes.append)
    assert record["labels_added"] == ["B-ORG"] and record["labels_dropped"] == ["B-LOC"]
    assert record["labels_kept"] == 3  # O, B-PER, I-PER
    assert "new, with fresh output rows: B-ORG" in notes[0]["message"] and "dropped" in notes[0]["message"]
    old, new = source.vocab["labels"].index, tagger.vocab["labels"].index
    assert "S-ORG" in new and "S-LOC" not in new
    for label in ("O", "B-PER", "E-PER", "S-PER"):
        assert torch.equal(tagger.network.output.weight[new[label]], source.network.output.weight[old[label]])
        assert torch.equal(tagger.network.crf.transitions[new[label], new["O"]],
                           source.network.crf.transitions[old[label], old["O"]])
    for name in ("words.weight", "chars.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0_reverse"):
        assert torch.equal(tagger.network.state_dict()[name], source.network.state_dict()[name]), name
    assert tagger.vocab["words"].items == source.vocab["words"].items


def test_a_run_from_a_model_trains_on_its_new_labels_and_records_where_it_started(tmp_path):
    train(tmp_path, "source", epochs=2)
    write(relabelled(synthetic(80, 6), "LOC", "ORG"), tmp_path / "b.txt")
    model = seqtag.train(str(tmp_path / "b.txt"), output=tmp_path / "b", init=str(tmp_path / "source"),
                         columns=["word", "ner"], max_epochs=4, seed=1, lr=0.01, batch_size=200)
    document = json.loads((tmp_path / "b" / "model.json").read_text())
    assert document["training"]["init"]["labels_added"] == ["B-ORG"]
    assert document["config"]["training"]["init"] == str(tmp_path / "source")
    assert document["config"]["model"]["hidden"] == 24  # the source's network, not the default size
    assert "ORG" in {span.label for span in model.tag("mr john smith went to paris".split()).spans} | {
        span.label for result in model.tag([["paris"], ["the", "paris"]]) for span in result.spans}


def test_a_finished_run_keeps_no_checkpoint_unless_asked(tmp_path):
    common = dict(max_epochs=1, hidden=8, layers=1, char_encoder="none")
    seqtag.train(output=tmp_path / "lean", **common)
    seqtag.train(output=tmp_path / "kept", keep_checkpoint=True, **common)
    assert not (tmp_path / "lean" / "checkpoint.pt").exists() and (tmp_path / "kept" / "checkpoint.pt").is_file()
    with pytest.raises(ModelFormatError, match="--keep-checkpoint"):
        seqtag.train(output=tmp_path / "lean", resume=True, max_epochs=2)
    resumed = seqtag.train(output=tmp_path / "kept", resume=True, max_epochs=2)
    assert resumed.document["training"]["epochs"] == 2


def test_a_run_stopped_by_its_time_limit_keeps_its_checkpoint(tmp_path):
    from seqtag.data import reading
    from seqtag.training import fit

    write(synthetic(40, 0), tmp_path / "train.txt")
    config = {"model": {"hidden": 8, "layers": 1, "char_encoder": "none"},
              "training": {"max_epochs": 5, "batch_tokens": 200, "max_seconds": 0.001}}
    document = fit.train_model("bilstm", tmp_path / "train.txt", None, None,
                               reading.ReadOptions(format="conll", columns=["word", "ner"]), config, tmp_path / "m")
    assert document["training"]["stopped"] == "max_seconds" and (tmp_path / "m" / "checkpoint.pt").is_file()


def test_a_bundled_model_starts_a_run_by_its_name(tmp_path):
    if "en-pos" not in bundled.names():
        pytest.skip("en-pos is not bundled here")
    from conftest import DATA

    model = seqtag.train(str(DATA / "pos" / "train.conllu"), output=tmp_path / "m", init="en-pos", max_epochs=1)
    assert model.document["training"]["init"]["labels_kept"] >= 14  # the sample's UPOS tags are EWT's
    assert model.document["config"]["model"]["embeddings"] == "glove-6b-50d"  # no vectors package needed for it
