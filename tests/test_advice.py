"""Every refusal that advises an option leads to a command that works: each case is refused, the option its message
names is taken from the message (not written tmp_path), added to the command, and the command is run again, until it
succeeds (a refusal may lead to another, each with its own advice)."""

import re
import shutil
import subprocess
import sys

import pytest

from conftest import DATA

pytestmark = pytest.mark.slow
NER = DATA / "ner"
COLUMNS = ["--columns", "word,pos,chunk,ner"]
# the advice, as refusals give it: an option (with its value where the message names one)
ADVICE = re.compile(r"(?:pass|with|add|use|give|keep it with|keep one with|keep none with) "
                    r"(--[a-z-]+(?: (?!to\b|or\b|GOLD\b)[\w=-]+)?)")


def run(args: list[str], cwd, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "seqtag", *args], cwd=cwd, input=stdin, capture_output=True,
                          timeout=300)


def follow(args: list[str], cwd, stdin: bytes | None = None, values: dict | None = None) -> list[str]:
    """Run, take the advice of each refusal, run again; the options added, in order. `values` gives a value to an
    advised option whose message leaves it to the user (--dev: which file)."""
    taken = []
    for _ in range(4):
        done = run(args, cwd, stdin)
        if done.returncode == 0:
            return taken
        message = done.stderr.decode().strip().splitlines()[-1]
        assert done.returncode == 2 and message.startswith("error: "), message
        found = ADVICE.search(message)
        assert found, f"no advice in: {message}"
        option = found.group(1).split()
        if len(option) == 1 and option[0] in (values or {}):
            option.append(values[option[0]])
        if option[0] in args and len(option) == 2:  # another value for an option given: it replaces it
            at = args.index(option[0])
            assert args[at + 1] != option[1], f"advised {' '.join(option)} again: {message}"
            args = [*args[:at], *option, *args[at + 2:]]
        else:
            assert option[0] not in args, f"advised {option[0]} again: {message}"
            args = [*args, *option]
        taken.append(" ".join(option))
    raise AssertionError(f"still refused after {taken}")


def test_overwrite_a_users_file(tmp_path):
    (tmp_path / "out.tsv").write_text("mine\n")
    assert follow(["preprocess", str(NER / "test.txt"), *COLUMNS, "-o", "out.tsv"], tmp_path) == ["--overwrite"]
    assert (tmp_path / "out.tsv").read_text().startswith("#seqtag canonical")


def test_overwrite_a_users_file_among_tagged_outputs(tmp_path, hmm_model):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "test.txt").write_text("mine\n")
    assert follow(["tag", "-m", str(hmm_model), "--input", str(NER / "test.txt"), "--output-dir", "o",
                   "--input-format", "conll", *COLUMNS], tmp_path) == ["--overwrite"]


@pytest.mark.parametrize("to_format, advice", [
    ("slash", ["--keep-layers ner"]),
    ("tokens", ["--keep-layers none"]),
    ("doccano", ["--keep-layers ner", "--to-scheme iob2"]),  # one refusal, then the next
    ("labelstudio", ["--keep-layers ner", "--to-scheme iob2"]),
])
def test_a_format_that_holds_less_keeps_what_it_holds(tmp_path, to_format, advice):
    output = "x.json" if to_format == "labelstudio" else "x.txt"
    assert follow(["preprocess", str(NER / "test.txt"), *COLUMNS, "--to-format", to_format, "-o", output],
                  tmp_path) == advice
    assert (tmp_path / output).stat().st_size > 0


def test_nbest_asks_for_jsonl(tmp_path, hmm_model):
    assert follow(["tag", "-m", str(hmm_model), "--nbest", "2"], tmp_path, b"Peter went to Paris .\n") == \
        ["--output-format jsonl"]


def test_invalid_bytes_on_stdin_are_replaced_when_asked(tmp_path, hmm_model):
    assert follow(["tag", "-m", str(hmm_model)], tmp_path, b"\xff\xfePeter went to Paris .\n") == ["--replace-invalid"]


def test_an_invalid_sequence_is_repaired_when_asked(tmp_path):
    (tmp_path / "bad.txt").write_text("Peter\tB-PER\nwent\tO\n\n")  # BIOES: a one-word entity is S-
    assert follow(["preprocess", "bad.txt", "--columns", "word,ner", "--scheme", "bioes", "--on-invalid", "error",
                   "-o", "out.tsv"], tmp_path) == ["--on-invalid repair"]


def test_a_report_of_a_model_without_dev_or_test_data_is_given_gold(tmp_path):
    assert run(["train", "--model", "hmm", "--train", str(NER / "train.txt"), *COLUMNS, "--layer", "ner", "-o", "h"],
               tmp_path).returncode == 0
    assert follow(["report", "h", "-o", "r.html"], tmp_path, values={"--data": str(NER / "test.txt")}) == \
        [f"--data {NER / 'test.txt'}"]


def test_streamed_training_is_given_dev_data(tmp_path):
    shutil.copy(NER / "train.txt", tmp_path / "train.txt")
    dev = str(NER / "dev.txt")
    assert follow(["train", "--train", "train.txt", *COLUMNS, "--layer", "ner", "--stream", "--model", "bilstm",
                   "--max-epochs", "1", "--hold-out", "5", "-o", "m"], tmp_path, values={"--dev": dev}) == \
        [f"--dev {dev}"]
