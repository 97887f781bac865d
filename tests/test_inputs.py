"""Inputs that are not files (a FIFO, a device, a folder) are refused before they are read, so no command blocks on
one; strings from a model folder reach the terminal with their control sequences escaped."""

import json
import os
import shutil
import subprocess
import sys

import pytest

SEQTAG = [sys.executable, "-m", "seqtag"]


def run(*args, cwd=None):
    return subprocess.run([*SEQTAG, *map(str, args)], capture_output=True, timeout=120, cwd=cwd, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def fifo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fifo")
    os.mkfifo(folder / "pipe")
    return folder / "pipe"


@pytest.mark.parametrize("args, code, message", [
    (["preprocess", "{fifo}"], 2, "{fifo}: is a FIFO, not a file"),
    (["preprocess", "/dev/zero"], 2, "/dev/zero: is a device, not a file"),
    (["evaluate", "-m", "en-pos", "{fifo}"], 2, "{fifo}: is a FIFO, not a file"),
    (["train", "--config", "{fifo}"], 2, "{fifo}: is a FIFO, not a file"),
    (["train", "--embeddings", "{fifo}", "--max-epochs", "1"], 2, "{fifo}: is a FIFO, not a file"),
    (["preprocess", "{folder}"], 2, "{folder}: is a folder, expected a file (a brat folder is read with --format brat"),
])
def test_an_input_that_is_not_a_file_is_refused_at_once(fifo, tmp_path, args, code, message):
    values = {"fifo": fifo, "folder": tmp_path}
    result = run(*(arg.format(**values) for arg in args), cwd=tmp_path)
    err = result.stderr.decode()
    assert result.returncode == code and f"error: {message.format(**values)}" in err, err


def test_a_fifo_as_model_json_is_a_damaged_model_not_a_hang(tmp_path):
    from seqtag.catalog import resolve

    model = tmp_path / "m"
    shutil.copytree(resolve("en-pos"), model)
    (model / "model.json").unlink()
    os.mkfifo(model / "model.json")
    for command in (["info", model], ["tag", "-m", model]):
        result = run(*command)
        assert result.returncode == 3 and "model.json: is a FIFO" in result.stderr.decode()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["weights.pt", "model.onnx", "decoder.npz", "checkpoint.pt", "context.npz"])
@pytest.mark.parametrize("command", [["tag", "-m", "{m}"], ["export", "-m", "{m}", "--format", "onnx", "-o", "{x}"],
                                     ["train", "--resume", "-o", "{m}"]])
def test_a_fifo_or_device_among_a_model_s_files_is_a_damaged_model_not_a_hang(tmp_path, name, command):
    """Each file a load, an export or a resume reads: opened, a FIFO would block the command until a writer came."""
    from seqtag.catalog import resolve

    model = tmp_path / "m"
    shutil.copytree(resolve("en-ner"), model)
    (model / name).unlink(missing_ok=True)
    if name == "context.npz":
        os.symlink("/dev/zero", model / name)
    else:
        os.mkfifo(model / name)
    result = run(*(arg.format(m=model, x=tmp_path / "x") for arg in command))
    kind = "a device" if name == "context.npz" else "a FIFO"
    assert result.returncode == 3 and f"{name}: is {kind}, not a file" in result.stderr.decode(), result.stderr


def test_info_escapes_the_terminal_s_control_sequences_from_a_model_folder(tmp_path):
    from seqtag.catalog import resolve

    model = tmp_path / "m"
    shutil.copytree(resolve("en-pos"), model)
    document = json.loads((model / "model.json").read_text())
    document["labels"][-1] = "X\x1b]0;PWNED\x07\x1b[2J[bold]"
    (model / "model.json").write_text(json.dumps(document))
    result = run("info", model)
    out = result.stdout.decode()
    assert result.returncode == 0 and "\x1b" not in out and "\x07" not in out
    assert "X\\x1b]0;PWNED\\x07\\x1b[2J[bold]" in out  # escaped, and not read as markup
