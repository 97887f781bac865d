"""Every command block of the README runs as written, on the bundled sample instead of the full corpora.

Commands run in order in one folder, so a block uses the models an earlier one trained. What is changed before a
command runs is listed here: corpus names become the sample files; a training command gets `--max-epochs 1` (its
scores are not the point: the Python example's test checks that the default model finds the entities); and the
commands that need what a test cannot have (an install, a Ray cluster, several GPUs) are skipped with their reason.
"""

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, ROOT

SAMPLE = {"eng.train": "data/ner/train.txt", "eng.testa": "data/ner/dev.txt", "eng.testb": "data/ner/test.txt",
          "train.txt": "data/ner/train.txt", "dev.txt": "data/ner/dev.txt", "test.txt": "data/ner/test.txt",
          "my_ner.txt": "data/ner/train.txt", "my_dev.txt": "data/ner/dev.txt"}
SKIPPED = {  # the start of a command line -> why a test does not run it
    "python3 -m venv": "the install itself (CI runs the test line from nothing; the wheel install is its own test)",
    "pip install": "installs (CI installs the extras the tests need)",
    "ray start": "starts a Ray cluster (tests/test_ray.py runs the engine on a local one)",
    "torchrun": "several processes or GPUs (tests/test_distributed.py runs two ranks)",
    "python -m pytest": "the tests themselves",
    "seqtag serve": "a server that runs until it is stopped (tests/test_serve.py runs it and sends it requests)",
    "curl": "a request to that server (tests/test_serve.py sends them)",
}
TEXT = "Peter Blackburn went to Paris to meet the EU.\nEU rejects German call to boycott British lamb.\n"


def readme_commands() -> list[str]:
    """The README's bash blocks, one command per entry: continued lines joined, comments removed."""
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            command = re.sub(r"(^|\s)#.*", "", command).strip()
            if command:
                commands.append(command)
    return commands


def as_run_here(command: str) -> str | None:
    """The command as the test runs it (see the module's docstring), or None for one it skips."""
    if any(command.startswith(start) for start in SKIPPED) or "--engine ray" in command:
        return None
    for name, sample in SAMPLE.items():
        command = re.sub(rf"(?<![\w/.]){re.escape(name)}\b", sample, command)
    if re.search(r"seqtag (train|compare)( |$)", command) and not re.search(r"--max-epochs|--model (hmm|majority)",
                                                                             command):
        command += " --max-epochs 1"
    return command


def test_the_readme_has_no_command_the_rules_do_not_cover():
    commands = readme_commands()
    assert len(commands) >= 25
    for command in commands:
        assert as_run_here(command) is None or re.match(r"(seqtag |cat |echo )", command), command


@pytest.mark.slow
def test_every_readme_command_block_runs_as_written(tmp_path):
    (tmp_path / "data").symlink_to(DATA)
    (tmp_path / "news.txt").write_text(TEXT)
    (tmp_path / "tokens.txt").write_text("Peter Blackburn went to Paris\nEU rejects German call\n")
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    ran = []
    for command in readme_commands():
        here = as_run_here(command)
        if here is None:
            continue
        done = subprocess.run(["bash", "-o", "pipefail", "-c", here], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)
        gated = "--fail-under" in here and done.returncode == 1 and "is under --fail-under" in done.stderr
        assert done.returncode == 0 or gated, f"{here}\n{done.stderr[-2000:]}"  # a sample model may fail the gate
        assert "Traceback" not in done.stderr, here
        ran.append((here, done.stdout))
    assert len(ran) >= 20  # (the default model's entities are checked by the Python example's test)
    for written in ("models/ner/model.json", "report.html", "both.html", "entities.jsonl", "table.md", "rows.json",
                    "scores.json", "prepared", "serving/model.onnx"):
        assert (tmp_path / written).exists(), written


@pytest.mark.slow
def test_the_readme_python_example_runs_as_written_and_finds_entities(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "data").symlink_to(DATA)
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    assert "PER Peter Blackburn 0 15" in printed.getvalue()  # as the README's comment says
    assert (tmp_path / "models" / "api-ner" / "model.json").is_file()


@pytest.mark.slow
def test_a_wheel_install_runs_the_tour_from_an_empty_folder(tmp_path):
    """Not editable: the wheel holds the samples (package data), so `seqtag train` with no arguments, `tag` and
    `evaluate -m` run where there is no data/ folder. The new venv sees this one's packages (no download), but
    seqtag comes from the wheel."""
    import venv

    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    import site
    import sysconfig

    venv.create(tmp_path / "venv", with_pip=False)
    python = tmp_path / "venv" / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            capture_output=True, text=True).stdout.strip()
    # this venv's packages after the new one's own: a plain path, so the checkout's editable hook is not loaded
    (Path(target) / "dependencies.pth").write_text("\n".join([*site.getsitepackages(),
                                                               sysconfig.get_paths()["purelib"]]) + "\n")
    wheel = next((tmp_path / "dist").glob("seqtag_nlp-*.whl"))
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    (tmp_path / "empty").mkdir()

    def seqtag_here(*args, stdin=None):
        done = subprocess.run([str(python), "-m", "seqtag", *args], cwd=tmp_path / "empty", input=stdin,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = subprocess.run([str(python), "-c", "import seqtag; print(seqtag.__file__)"], cwd=tmp_path / "empty",
                           capture_output=True, text=True).stdout
    assert where.startswith(str(tmp_path / "venv"))  # the wheel's copy, not the editable checkout
    seqtag_here("train", "--model", "hmm")  # the tour with the fast kind: the sample comes from the package
    assert "PER" in seqtag_here("tag", "-m", "models/ner", "--input-format", "tokens",
                                stdin="Peter Blackburn went to Paris to meet the EU .\n")
    assert "test.txt: f1" in seqtag_here("evaluate", "-m", "models/ner")
    # the bundled models come with the wheel: listed, and en-ner tags a news paragraph by name
    listed = seqtag_here("models", "--json", "models.json")
    rows = json.loads((tmp_path / "empty" / "models.json").read_text())["models"]
    assert {row["name"] for row in rows if row["source"] == "bundled"} == {"en-ner", "en-pos", "zh-seg"}, listed
    from test_bundled import NEWS

    tagged = [json.loads(line) for line in seqtag_here("tag", "-m", "en-ner", "--output-format", "jsonl",
                                                         stdin=NEWS[0] + "\n").splitlines()]
    assert {(span["text"], span["label"]) for line in tagged for span in line["spans"]} == NEWS[1]
