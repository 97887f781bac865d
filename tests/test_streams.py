"""Closed standard streams, every combination, on commands that read stdin and commands that do not: a closed stdout
or a closed stdin the command reads is one error line and exit code 2 before any work; a closed stderr only silences
messages; no message ever lands in a file the command opened (the number of a closed stream is not reused)."""

import itertools
import os
import subprocess
import sys

import pytest

import seqtag

from conftest import DATA

pytestmark = pytest.mark.slow

TEXT = b"Peter Blackburn went to Paris .\n"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("streams") / "hmm"
    seqtag.train(model="hmm", output=path)
    return path


def run_closed(args, closed: tuple[int, ...], cwd, stdin: bytes = TEXT):
    def close():
        for number in closed:
            os.close(number)

    return subprocess.run([sys.executable, "-m", "seqtag", *map(str, args)], input=None if 0 in closed else stdin,
                          capture_output=True, preexec_fn=close, cwd=cwd, timeout=120)


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


COMMANDS = {  # args, reads stdin
    "tag": (["tag", "-m", "MODEL", "--input-format", "tokens"], True),
    "info": (["info", "MODEL"], False),
    "train from stdin": (["train", "--train", "-", "--model", "hmm", "--columns", "word,pos,chunk,ner", "-o", "new"],
                         True),
}
CLOSED = [c for n in range(4) for c in itertools.combinations((0, 1, 2), n)]


@pytest.mark.parametrize("closed", CLOSED, ids=[",".join(map(str, c)) or "none" for c in CLOSED])
@pytest.mark.parametrize("name", COMMANDS)
def test_closed_streams(model, tmp_path, name, closed):
    args, reads_stdin = COMMANDS[name]
    args = [str(model) if a == "MODEL" else a for a in args]
    before = snapshot(model)
    stdin = (DATA / "ner/train.txt").read_bytes() if "train" in args else TEXT
    done = run_closed(args, closed, tmp_path, stdin)
    if 1 in closed:
        expected = "stdout is closed"
    elif 0 in closed and reads_stdin:
        expected = "stdin is closed"
    else:
        expected = None
    if expected is None:
        assert done.returncode == 0, done.stderr
        assert done.stdout or (tmp_path / "new" / "model.json").is_file()  # the results, or the model trained
    else:
        assert done.returncode == 2
        assert not (tmp_path / "new").exists()  # refused before any work
        if 2 not in closed:
            assert done.stderr.decode().splitlines() == [done.stderr.decode().splitlines()[0]]
            assert done.stderr.decode().startswith(f"error: {expected}")
    if 2 in closed:
        assert done.stderr == b""
    assert snapshot(model) == before  # nothing written into the model's files, messages included


@pytest.mark.slow
def test_one_long_line_of_raw_text_is_tagged_within_a_fixed_address_space(hmm_model, tmp_path):
    """A 5 MB line of raw text, tagged with its sentences split (the default), as one sentence, or as whitespace
    tokens, within the same address-space limit as one short line: memory does not grow with the line beyond the
    line itself (seqtag.data.tokens splits it a window at a time, a sentence is read LONG_SENTENCE tokens at a
    time, and the model sees a sentence at a time)."""
    import random
    import resource

    limit = 300_000_000  # room for start-up and a window of sentences, not for the line's tokens all at once

    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def tag(path, *options):
        with open(path, "rb") as stdin:
            return subprocess.run([sys.executable, "-m", "seqtag", "tag", "-m", str(hmm_model), *options],
                                  stdin=stdin, capture_output=True, preexec_fn=limited, timeout=300)

    short = tmp_path / "short.txt"
    short.write_text("EU rejects German call .\n")
    if tag(short).returncode != 0:
        pytest.skip(f"start-up alone needs more than {limit:,} bytes of address space here")
    words = [line.split()[0] for line in (DATA / "ner/train.txt").read_text().splitlines()
             if line.strip() and not line.startswith("-DOCSTART-")]
    rng = random.Random(1)
    line = " ".join(rng.choice(words) for _ in range(900_000))
    long = tmp_path / "long.txt"
    long.write_text(line + "\n")
    assert long.stat().st_size > 5_000_000
    done = tag(long)
    assert done.returncode == 0, done.stderr[-300:]
    tokens = [row.split(b"\t")[0] for row in done.stdout.splitlines() if row]
    assert b"".join(tokens).decode() == line.replace(" ", "")  # every character tagged, once, in order
    # the line as one sentence (--no-split), or as whitespace tokens: read, tagged and written 96,000 tokens at a
    # time, each piece a sentence, with one warning; it used to be held whole and ran out of this address space
    for options in (["--no-split"], ["--input-format", "tokens"]):
        whole = tag(long, *options)
        assert whole.returncode == 0, (options, whole.stderr[-300:])
        assert whole.stderr.decode().count("more than 96,000 tokens is tagged and written as sentences") == 1
        sentences = [block.split("\n") for block in whole.stdout.decode().strip("\n").split("\n\n")]
        tokens = [row.split("\t")[0] for rows in sentences for row in rows]
        assert "".join(tokens) == line.replace(" ", "")  # every character tagged, once, in order
        assert options[0] == "--no-split" or tokens == line.split()
        assert len(sentences) == -(-len(tokens) // 96_000) and {len(rows) for rows in sentences[:-1]} == {96_000}
