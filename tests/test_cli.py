"""The command-line wiring: exit codes, stdout/stderr split, one-line errors."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from seqtag.cli import app

from conftest import DATA

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_version_and_help_list_every_command():
    assert run("--version").stdout.startswith("seqtag ")
    result = run("--help")
    for command in ("preprocess", "train", "tag", "evaluate", "compare", "bench", "info", "export"):
        assert command in result.stdout


def test_help_does_not_import_torch_or_datasets():
    code = "import sys; from seqtag.cli import app; print('torch' in sys.modules, 'datasets' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split() == [
        "False",
        "False",
    ]


def test_preprocess_converts_and_reports(tmp_path):
    result = run(
        "preprocess", DATA / "ner/train.txt", DATA / "ner/dev.txt", "--columns", "word,pos,chunk,ner",
        "--to-scheme", "bioes", "-o", tmp_path / "out/", "--json", tmp_path / "stats.json",
    )
    assert result.exit_code == 0, result.output
    assert "sentences" in result.stdout and "OOV rate" in result.stdout
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats[str(DATA / "ner/train.txt")]["sentences"] == 300
    assert "oov_rate" in stats[str(DATA / "ner/dev.txt")]
    written = (tmp_path / "out" / "train.txt.tsv").read_text()
    assert written.startswith("#seqtag canonical 1\n#columns\tword\tpos\tchunk\tner\n#schemes\tner=bioes\n")
    again = run("preprocess", tmp_path / "out" / "train.txt.tsv", "--json", tmp_path / "again.json")
    assert again.exit_code == 0
    assert json.loads((tmp_path / "again.json").read_text()).popitem()[1]["scheme"] == "bioes"


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (b"EU NNP I-NP I-ORG\nrejects VBZ I-VP\n", [], "bad.txt:2: expected 4 columns"),
        (b"EU NNP O\n\xff bad O\n", [], "bad.txt:2: invalid UTF-8"),
        (b"EU B-ORG\nrejects S-ORG\n", ["--scheme", "iob2"], "bad.txt:2: label 'S-ORG' is not a iob2 tag"),
        (b"EU O\nrejects I-ORG\n", ["--scheme", "iob2", "--on-invalid", "error"], "bad.txt:2: invalid iob2 sequence"),
        (b"", [], "bad.txt: file is empty"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(tmp_path, content, extra, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    result = run("preprocess", path, "--format", "conll", *extra)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_missing_file_and_debug_traceback(tmp_path):
    result = run("preprocess", tmp_path / "nope.txt")
    assert result.exit_code == 2 and "nope.txt: no such file" in result.stderr
    debug = run("--debug", "preprocess", tmp_path / "nope.txt")
    assert debug.exit_code != 0 and debug.exception is not None


def test_crlf_bom_file_is_accepted(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"\xef\xbb\xbfEU NNP I-ORG\r\nrejects VBZ O\r\n")
    result = run("preprocess", path, "--json", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "s.json").read_text())[str(path)]["tokens"] == 2
