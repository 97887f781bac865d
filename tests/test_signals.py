"""Ctrl-C and SIGTERM at the worst moments, sent to real `seqtag` processes.

A small driver runs the command line with one function wrapped so that the process signals itself on that
function's Nth call: the start of an epoch, the atomic swap of a model directory, a baseline's fit, a tagging
window. So every case hits its moment exactly, however fast or slow the machine is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seqtag.training import fit
from seqtag.data import reading
from seqtag.models.loading import load_model

from conftest import DATA
from contract import snapshot
from test_hostile import NER

pytestmark = pytest.mark.slow  # trains models or runs the CLI many times: not in the fast set

DRIVER = """
import importlib, os, signal, sys
name, target, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
module_name, attribute = target.split(":")
owner = importlib.import_module(module_name)
*path, last = attribute.split(".")
for part in path:
    owner = getattr(owner, part)
real = getattr(owner, last)
calls = [0]

def signalled(*args, **kwargs):
    calls[0] += 1
    if calls[0] == nth:
        os.kill(os.getpid(), getattr(signal, name))
    return real(*args, **kwargs)

setattr(owner, last, staticmethod(signalled) if isinstance(owner, type) else signalled)
from seqtag.cli.commands import main
main(sys.argv[4:])
"""
TINY = ["--hidden", "8", "--layers", "1", "--batch-size", "400"]


def run_signalled(tmp_path: Path, signal: str, target: str, nth: int, *argv, stdin: bytes = b""):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, "utf-8")
    return subprocess.run([sys.executable, str(driver), signal, target, str(nth), *map(str, argv)],
                          input=stdin, capture_output=True, cwd=tmp_path)


@pytest.fixture
def trained(tmp_path) -> Path:
    """A small BiLSTM model that a later run is pointed at: what the user must not lose."""
    config = {"model": {"hidden": 8, "layers": 1}, "training": {"max_epochs": 2, "batch_tokens": 400}}
    fit.train_model("bilstm", DATA / "ner/train.txt", DATA / "ner/dev.txt", None,
                    reading.ReadOptions(**vars(NER)), config, tmp_path / "models" / "ner")
    return tmp_path / "models" / "ner"


@pytest.mark.parametrize("signal, code", [("SIGINT", 130), ("SIGTERM", 143)])
@pytest.mark.parametrize("moment", ["training.loop:_train_epoch", "durable:replace_folder"])
def test_a_signal_before_the_first_epoch_is_saved_leaves_the_old_model_exactly(tmp_path, trained, signal, code,
                                                                                moment):
    before = snapshot(tmp_path / "models")
    result = run_signalled(tmp_path, signal, f"seqtag.{moment}", 1, "train", "-o", trained, "--max-epochs", 5, *TINY)
    assert result.returncode == code, result.stderr
    last = result.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("error: ") and "interrupted before an epoch finished" in last
    assert "left as it was" in last and "saved" not in result.stderr.decode()
    assert snapshot(tmp_path / "models") == before  # weights, checkpoint, log: byte for byte, no leftovers


def test_a_signal_in_a_fresh_run_leaves_nothing_behind(tmp_path):
    result = run_signalled(tmp_path, "SIGINT", "seqtag.training.loop:_train_epoch", 1, "train", "-o", "models/new", *TINY)
    assert result.returncode == 130
    assert "nothing was saved" in result.stderr.decode()
    assert not (tmp_path / "models" / "new").exists()
    assert not list((tmp_path / "models").glob(".new*")) if (tmp_path / "models").exists() else True


def test_a_signal_after_two_epochs_keeps_the_best_and_resume_goes_on(tmp_path):
    output = tmp_path / "m"
    result = run_signalled(tmp_path, "SIGTERM", "seqtag.training.loop:_train_epoch", 3, "train", "-o", output,
                           "--max-epochs", 6, *TINY)
    assert result.returncode == 143, result.stderr
    last = result.stderr.decode().strip().splitlines()[-1]
    assert "interrupted during epoch 3: kept the best model so far" in last and "--resume" in last
    load_model(output)
    assert len((output / "train_log.jsonl").read_text().splitlines()) == 2
    document = json.loads((output / "model.json").read_text())
    assert document["training"]["stopped"] == "interrupted"
    resumed = subprocess.run([sys.executable, "-m", "seqtag", "train", "-o", str(output), "--resume",
                              "--max-epochs", "3"], capture_output=True, cwd=DATA)  # from another directory
    assert resumed.returncode == 0, resumed.stderr
    epochs = [json.loads(line)["epoch"] for line in (output / "train_log.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]


@pytest.mark.parametrize("moment, nth", [("models.baselines:PerceptronTagger.fit", 1), ("training.loop:_train_epoch", 2)])
def test_a_signal_stops_train_auto_whichever_kind_it_trains(tmp_path, moment, nth):
    result = run_signalled(tmp_path, "SIGTERM", f"seqtag.{moment}", nth, "train", "--model", "auto", "-o", "auto",
                           "--max-epochs", 3, *TINY)
    assert result.returncode == 143, result.stderr
    assert "nothing was saved" in result.stderr.decode() and not (tmp_path / "auto").exists()


def test_sigterm_while_a_baseline_trains_leaves_its_old_model(tmp_path):
    fit.train_model("hmm", DATA / "ner/train.txt", None, None, reading.ReadOptions(**vars(NER)), {},
                    tmp_path / "models" / "hmm")
    before = snapshot(tmp_path / "models")
    result = run_signalled(tmp_path, "SIGTERM", "seqtag.models.baselines:HMMTagger.fit", 1, "train", "--model", "hmm",
                           "-o", tmp_path / "models" / "hmm")
    assert result.returncode == 143, result.stderr
    assert "interrupted before training finished; the model already in" in result.stderr.decode()
    assert snapshot(tmp_path / "models") == before


def test_ctrl_c_while_tagging_exits_130_with_one_line(tmp_path):
    fit.train_model("majority", DATA / "ner/train.txt", None, None, reading.ReadOptions(**vars(NER)), {},
                    tmp_path / "maj")
    text = b"EU rejects German call\n" * 50
    result = run_signalled(tmp_path, "SIGINT", "seqtag.runtime.tagging:tag_units", 2, "tag", "-m", tmp_path / "maj",
                           "--window", 10, stdin=text)
    assert result.returncode == 130
    assert result.stderr.decode().strip().splitlines() == ["error: interrupted"]
    assert result.stdout.count(b"\n") >= 10  # the first window was written before the signal
