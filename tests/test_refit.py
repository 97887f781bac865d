"""--refit: dev chooses the epochs, then a new network learns from train + dev for that many, and the dev figure
stays the one measured before dev was learned from."""

import json

import pytest

from seqtag.errors import DataError, Interrupted
from seqtag.models.loading import load_model
from seqtag.training import fit
from seqtag.data import reading

from test_bilstm import TINY_MODEL, write
from test_context import documents

pytestmark = pytest.mark.slow  # trains models: not in the fast set

READ = reading.ReadOptions(format="conll", columns=["word", "ner"])


def trained(folder, refit: bool, dev="dev.txt"):
    config = {"model": {**TINY_MODEL, "document_window": 0},
              "training": {"max_epochs": 6, "seed": 1, "lr": 0.01, "batch_tokens": 200, "refit": refit,
                           "keep_checkpoint": True}}
    return fit.train_model("bilstm", folder.parent / "train.txt", folder.parent / dev if dev else None, None,
                           READ, config, folder)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("refit")
    write(documents(60, 0), root / "train.txt")
    write(documents(60, 1), root / "dev.txt")
    return {name: trained(root / name, refit) for name, refit in (("plain", False), ("refit", True))}, root


def test_refit_trains_on_train_and_dev_for_the_epochs_dev_chose(runs):
    documents_, root = runs
    plain, refit = documents_["plain"], documents_["refit"]
    best = plain["training"]["best_epoch"]
    assert refit["training"]["best_epoch"] == best  # the first run is the same run
    assert refit["training"]["refit"]["epochs"] == best
    assert refit["training"]["refit"]["sentences"] == plain["training"]["data"]["train"]["sentences"] + \
        plain["training"]["data"]["dev"]["sentences"]
    # the names of the dev documents (seven random letters each) are known to the refitted model only
    dev_names = {s.tokens[1] for s in documents(60, 1).sentences if s.tokens[0] in ("mr", "in")}
    assert not any(load_model(root / "plain").known(name) for name in dev_names)
    assert all(load_model(root / "refit").known(name) for name in dev_names)


def test_a_finished_refit_keeps_no_checkpoint_of_the_first_run(runs):
    """Even with --keep-checkpoint: that state is the first run's, whose vocabulary the refit no longer has."""
    _, root = runs
    assert (root / "plain" / "checkpoint.pt").is_file() and not (root / "refit" / "checkpoint.pt").exists()


def test_the_refitted_models_dev_figure_is_the_first_runs(runs):
    documents_, _ = runs
    plain, refit = documents_["plain"]["metrics"]["dev"], documents_["refit"]["metrics"]["dev"]
    assert refit["estimate"] == "before refit"
    assert {k: v for k, v in refit.items() if k != "estimate"} == {k: v for k, v in plain.items() if k != "estimate"}
    assert json.loads((runs[1] / "refit" / "metrics.json").read_text())["dev"] == refit


def test_refit_needs_dev_data_in_memory(tmp_path):
    write(documents(5, 0), tmp_path / "train.txt")
    with pytest.raises(DataError, match="--refit trains again on train \\+ dev .*give --dev"):
        trained(tmp_path / "m", True, dev=None)
    assert not (tmp_path / "m").exists()


def test_ctrl_c_while_refitting_keeps_the_first_runs_model_and_its_checkpoint(tmp_path, monkeypatch):
    from seqtag.training import loop

    train_bilstm = loop.train_bilstm

    def interrupted_refit(train, dev, *args):
        if dev is not None:
            return train_bilstm(train, dev, *args)

        def ctrl_c(event):
            if event.get("event") == "epoch_end":
                raise KeyboardInterrupt

        return train_bilstm(train, dev, *args[:4], ctrl_c, *args[5:])

    monkeypatch.setattr(loop, "train_bilstm", interrupted_refit)
    write(documents(20, 0), tmp_path / "train.txt")
    write(documents(20, 1), tmp_path / "dev.txt")
    with pytest.raises(Interrupted, match="interrupted while refitting on train \\+ dev: kept the model trained on"):
        trained(tmp_path / "m", True)
    document = json.loads((tmp_path / "m" / "model.json").read_text())
    assert document["training"]["refit"]["interrupted"] is True
    dev_names = {s.tokens[1] for s in documents(20, 1).sentences if s.tokens[0] in ("mr", "in")}
    assert not any(load_model(tmp_path / "m").known(name) for name in dev_names)  # the first run's model
    assert (tmp_path / "m" / "checkpoint.pt").is_file()  # --resume refits again
