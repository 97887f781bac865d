"""Fault injection: every command that writes is SIGKILLed at each named write point it passes
(seqtag.durable.WRITE_POINTS), then what it was writing is checked: a model folder loads, tags, resumes and is
retrained; a file is either the old one or a complete new one; running the command again succeeds and leaves no
temporary file behind."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

import seqtag
from seqtag.durable import KILL_AT, WRITE_POINTS

from conftest import DATA

pytestmark = pytest.mark.slow

NER = ["--columns", "word,pos,chunk,ner", "--layer", "ner"]
TINY = ["--hidden", "8", "--layers", "1", "--char-encoder", "none"]
TEXT = "Peter Blackburn went to Paris .\nEU rejects German call .\n"


def seqtag_cli(cwd, *args, kill_at=None, stdin=TEXT):
    env = {k: v for k, v in os.environ.items() if k != KILL_AT}
    if kill_at:
        env[KILL_AT] = kill_at
    return subprocess.run([sys.executable, "-m", "seqtag", *map(str, args)], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def hidden(folder) -> list[str]:
    """Temporary or moved-aside entries a write leaves while under way (none may stay once a run succeeds)."""
    return sorted(p.name for p in folder.rglob(".*") if "tmp" in p.name or "-old-" in p.name or "quantiz" in p.name)


def tags(cwd, model) -> str:
    done = seqtag_cli(cwd, "tag", "-m", model, "--input-format", "tokens")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    seqtag.train(model="hmm", output=folder / "hmm")
    seqtag.train(output=folder / "bilstm", hidden=8, layers=1, char_encoder="none", max_epochs=1)
    for derived in ("model.onnx", "model.int8.onnx", "decoder.npz", "context.npz"):
        (folder / "bilstm" / derived).unlink(missing_ok=True)
    return folder


def check_model(cwd, model):
    """The folder holds a whole model (the old one or a new one): its model.json reads, and it tags."""
    assert json.loads((cwd / model / "model.json").read_text())["kind"]
    assert tags(cwd, model).count("\n") == 13  # 6 and 5 tokens, each sentence and a blank line


# (name, write points it passes, set up (cwd, models), command, check after the kill (cwd))
SCENARIOS = [
    ("train a new model", ["folder.staged"],
     lambda cwd, m: None,
     ["train", "--model", "hmm", *NER, "-o", "m"],
     lambda cwd: (cwd / "m").exists() and check_model(cwd, "m")),
    ("train over a model", ["folder.staged", "folder.swapped"],
     lambda cwd, m: shutil.copytree(m / "hmm", cwd / "m"),
     ["train", "--model", "hmm", *NER, "--train", DATA / "ner/dev.txt", "-o", "m"],
     lambda cwd: check_model(cwd, "m")),
    ("train a BiLSTM, killed at its second epoch's save", ["folder.swapped:1"],
     lambda cwd, m: None,
     ["train", "--train", DATA / "ner/dev.txt", *NER, *TINY, "--max-epochs", "2", "--keep-checkpoint", "-o", "m"],
     lambda cwd: check_model(cwd, "m") or _resumes(cwd)),
    ("tag: the first export", ["export.written:1", "export.written:2"],
     lambda cwd, m: shutil.copytree(m / "bilstm", cwd / "m"),
     ["tag", "-m", "m", "--input-format", "tokens"],
     lambda cwd: check_model(cwd, "m")),
    ("tag: the int8 graph", ["int8.quantized"],
     lambda cwd, m: shutil.copytree(m / "bilstm", cwd / "m"),
     ["tag", "-m", "m", "--input-format", "tokens", "--runtime", "onnx-int8"],
     lambda cwd: check_model(cwd, "m")),
    ("export to a serving folder", ["export.written:2"],
     lambda cwd, m: shutil.copytree(m / "bilstm", cwd / "m"),
     ["export", "-m", "m", "--format", "onnx", "-o", "serving"],
     lambda cwd: check_model(cwd, "m")),
    ("preprocess over its own file", ["file.written"],
     lambda cwd, m: seqtag_cli(cwd, "preprocess", DATA / "ner/dev.txt", *NER, "-o", "out.tsv"),
     ["preprocess", DATA / "ner/train.txt", *NER, "-o", "out.tsv"],
     lambda cwd: len(seqtag.read(cwd / "out.tsv")) in (100, 300)),  # dev's sentences, or train's
    ("preprocess to a dataset folder over its own", ["folder.staged", "folder.swapped"],
     lambda cwd, m: seqtag_cli(cwd, "preprocess", DATA / "ner/dev.txt", *NER, "--to-format", "hf", "-o", "ds"),
     ["preprocess", DATA / "ner/train.txt", *NER, "--to-format", "hf", "-o", "ds"],
     lambda cwd: len(seqtag.read(cwd / "ds", format="hf")) in (100, 300)),
    ("compare's three reports", ["file.written:1", "file.written:3"],
     lambda cwd, m: None,
     ["compare", "--train", DATA / "ner/train.txt", "--test", DATA / "ner/test.txt", *NER, "--models",
      "majority,hmm", "--json", "rows.json", "--markdown", "table.md", "--html", "page.html"],
     lambda cwd: [json.loads((cwd / "rows.json").read_text())] if (cwd / "rows.json").exists() else None),
    ("report", ["file.written"],
     lambda cwd, m: None,
     ["report", "MODELS/hmm", "-o", "r.html"],
     lambda cwd: not (cwd / "r.html").exists() or (cwd / "r.html").read_text().rstrip().endswith("</html>")),
    ("evaluate --json", ["file.written"],
     lambda cwd, m: None,
     ["evaluate", "-m", "MODELS/hmm", "--json", "e.json"],
     lambda cwd: not (cwd / "e.json").exists() or json.loads((cwd / "e.json").read_text())["f1"] >= 0),
    ("tag files into a folder", ["file.written:1", "file.written:2"],
     lambda cwd, m: [(cwd / f"{i}.txt").write_text(TEXT) for i in range(3)],
     ["tag", "-m", "MODELS/hmm", "--input", "*.txt", "--output-dir", "out"],
     lambda cwd: [(cwd / "out" / f"{i}.txt").read_text() for i in range(3) if (cwd / "out" / f"{i}.txt").exists()]),
]
CASES = [(name, point) for name, points, *_ in SCENARIOS for point in points]


def _resumes(cwd):
    done = seqtag_cli(cwd, "train", "-o", "m", "--resume", "--max-epochs", "3")
    assert done.returncode == 0, done.stderr


def test_every_write_point_is_killed_in_some_command():
    assert {point.partition(":")[0] for _, point in CASES} == set(WRITE_POINTS)


@pytest.mark.parametrize("name, point", CASES, ids=[f"{n}@{p}" for n, p in CASES])
def test_a_kill_at_a_write_point_leaves_everything_usable(models, tmp_path, name, point):
    _, _, setup, command, check = next(s for s in SCENARIOS if s[0] == name)
    command = [str(a).replace("MODELS", str(models)) for a in command]
    setup(tmp_path, models)
    killed = seqtag_cli(tmp_path, *command, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-2000:])
    check(tmp_path)  # what the killed run was writing: old, or complete and usable
    again = seqtag_cli(tmp_path, *command)
    assert again.returncode == 0, again.stderr[-2000:]
    check(tmp_path)
    assert hidden(tmp_path) == []  # the run after the kill cleaned up after it
