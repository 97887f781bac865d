"""Faults: a killed training run, a diverging loss, an unwritable output, a closed pipe, huge lines."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from seqtag.training import fit
from seqtag.data import reading
from seqtag.models.bilstm import Network
from seqtag.data.corpus import Sentence
from seqtag.models.loading import load_model

from conftest import DATA

pytestmark = pytest.mark.slow  # trains models or runs the CLI many times: not in the fast set

SMALL = ["--hidden", "16", "--layers", "1"]


def seqtag(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "seqtag", *map(str, args)], capture_output=True, **kwargs)


def epochs_logged(log) -> int:
    try:
        return len(log.read_text().splitlines())
    except FileNotFoundError:
        return 0


def test_sigkill_during_training_keeps_the_last_good_model_and_resume_continues(tmp_path):
    model = tmp_path / "ner"
    process = subprocess.Popen([sys.executable, "-m", "seqtag", "train", "-o", str(model), "--max-epochs", "40",
                                *SMALL], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = model / "train_log.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and epochs_logged(log) < 2:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(log.read_text().splitlines())
    assert 2 <= done < 40
    load_model(model)  # the directory holds a whole model, whenever the kill came
    resumed = seqtag("train", "-o", model, "--resume", "--max-epochs", str(done + 2))
    assert resumed.returncode == 0, resumed.stderr
    epochs = [json.loads(line)["epoch"] for line in log.read_text().splitlines()]
    assert epochs == list(range(1, done + 3))
    assert [p.name for p in tmp_path.iterdir()] == ["ner"]  # staging folders of the killed run are cleaned up


def test_a_diverging_loss_stops_training_and_keeps_the_best_model(tmp_path, monkeypatch):
    calls = {"n": 0}
    real_loss = Network.loss

    def loss(self, batch):
        calls["n"] += 1
        value = real_loss(self, batch)
        return value * float("nan") if calls["n"] > 30 else value

    monkeypatch.setattr(Network, "loss", loss)
    read = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    config = {"model": {"hidden": 16, "layers": 1}, "training": {"max_epochs": 10, "batch_tokens": 400}}
    document = fit.train_model("bilstm", DATA / "ner/train.txt", DATA / "ner/dev.txt", None, read, config,
                               tmp_path / "m")
    assert document["training"]["stopped"] == "diverged"
    assert 1 <= document["training"]["epochs"] < 10
    load_model(tmp_path / "m")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_gives_a_clear_error_and_no_partial_model(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = seqtag("train", "--model", "majority", "-o", folder / "m")
        assert result.returncode == 2 and b"cannot write the model" in result.stderr
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_tag_into_a_closed_pipe_ends_quietly_and_long_lines_are_stitched(tmp_path):
    read = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    fit.train_model("hmm", DATA / "ner/train.txt", None, None, read, {}, tmp_path / "hmm")
    many = "\n".join(["EU rejects German call"] * 50000) + "\n"
    command = f"{sys.executable} -m seqtag tag -m {tmp_path / 'hmm'} --output-format inline | head -1"
    result = subprocess.run(command, shell=True, input=many.encode(), capture_output=True)
    assert result.stdout.startswith(b"EU/") and b"Traceback" not in result.stderr and result.stderr == b""
    # a line tagged in pieces of 1,000 tokens is written back as one sentence; past 96,000 tokens, as sentences of
    # 96,000 (memory bounded on a line of any length), with a warning
    for words, lines in ((90_000, 1), (100_000, 2)):
        tagged = seqtag("tag", "-m", tmp_path / "hmm", "--input-format", "tokens", "--output-format", "inline",
                        input=(" ".join(["word"] * words) + "\n").encode())
        assert tagged.returncode == 0
        assert len(tagged.stdout.decode().split()) == words and tagged.stdout.count(b"\n") == lines
        assert (b"written as sentences of 96,000" in tagged.stderr) == (lines == 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU to train the model on")
def test_a_gpu_trained_model_loads_on_cpu(tmp_path):
    # weights are saved from CPU copies, so a model trained on CUDA loads and tags where there is none
    read = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    fit.train_model("bilstm", DATA / "ner/train.txt", None, None, read, {"model": {"hidden": 8, "layers": 1},
                    "training": {"max_epochs": 1, "device": "cuda"}}, tmp_path / "m")
    state = torch.load(tmp_path / "m" / "weights.pt", weights_only=True)
    assert all(t.device.type == "cpu" for t in state.values())
    tagger = load_model(tmp_path / "m", "cpu")
    assert tagger.predict([Sentence(("Peter", "went"), {})])[0] and next(tagger.network.parameters()).is_cpu


def test_a_model_missing_its_vocabulary_or_a_size_setting_is_refused(tmp_path):
    read = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    fit.train_model("bilstm", DATA / "ner/train.txt", None, None, read,
                    {"model": {"hidden": 8, "layers": 1}, "training": {"max_epochs": 1}}, tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "model.json").read_text())
    for damage in ("vocab", "layers"):  # layers: a setting the corpus size fills in when training, not when loading
        document = json.loads(json.dumps(saved))
        del (document["tagger"] if damage == "vocab" else document["tagger"]["config"])[damage]
        (tmp_path / "m" / "model.json").write_text(json.dumps(document))
        result = seqtag("tag", "-m", tmp_path / "m", input=b"x\n")
        assert result.returncode == 3 and b"model files do not fit together" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert b"tagger config lacks layers" in result.stderr


def test_several_tag_processes_share_one_model_directory(tmp_path):
    read = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    fit.train_model("hmm", DATA / "ner/train.txt", None, None, read, {}, tmp_path / "hmm")
    text = (DATA / "ner/test.txt").read_bytes()
    command = [sys.executable, "-m", "seqtag", "tag", "-m", str(tmp_path / "hmm"), "--input-format", "conll"]
    processes = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(4)]
    outputs = [p.communicate(text)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes) and len(set(outputs)) == 1 and outputs[0]


def test_a_full_disk_gives_a_clear_error_and_keeps_the_old_model(tmp_path, monkeypatch):
    import errno

    import numpy as np

    from seqtag.errors import DataError
    from seqtag.models.tagger import save_model

    read = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    fit.train_model("hmm", DATA / "ner/train.txt", None, None, read, {}, tmp_path / "hmm")
    before = (tmp_path / "hmm" / "weights.npz").read_bytes()
    tagger = load_model(tmp_path / "hmm")

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", no_space)
    with pytest.raises(DataError, match="cannot write the model: No space left on device"):
        save_model(tagger, tmp_path / "hmm", {})
    assert (tmp_path / "hmm" / "weights.npz").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["hmm"]


def test_tag_with_worker_processes_keeps_input_order(tmp_path):
    read = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    fit.train_model("hmm", DATA / "ner/train.txt", None, None, read, {}, tmp_path / "hmm")
    text = "".join(f"Line {i} : EU rejects German call\n\n" for i in range(3000)).encode()
    args = ["tag", "-m", tmp_path / "hmm", "--window", "100", "--output-format", "inline"]
    one, two = seqtag(*args, input=text), seqtag(*args, "--workers", "2", input=text)
    assert one.returncode == two.returncode == 0
    assert one.stdout == two.stdout and one.stdout.count(b"\n") == 6000
    assert two.stdout.splitlines()[2998].startswith(b"Line/") and b"1499/" in two.stdout.splitlines()[2998]


def test_a_swap_interrupted_between_renames_is_recovered(tmp_path):
    from seqtag.modeldir import read_model_json
    from seqtag.durable import replace_folder

    read = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    fit.train_model("majority", DATA / "ner/train.txt", None, None, read, {}, tmp_path / "m")
    aside = tmp_path / ".m.seqtag-old-x"
    aside.mkdir()
    (aside / ".seqtag-staging").write_text("999999999")  # the marker of a process that is gone
    os.replace(tmp_path / "m", aside / "model")  # a crash after the first rename of the fallback swap
    assert read_model_json(tmp_path / "m")["kind"] == "majority"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    staging = tmp_path / "new"
    staging.mkdir()
    (staging / "model.json").write_text("{}")
    replace_folder(staging, tmp_path / "m")  # the atomic exchange where the system has it
    assert (tmp_path / "m" / "model.json").read_text() == "{}" and not staging.exists()
