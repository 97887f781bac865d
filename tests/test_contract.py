"""Random trees and random command sequences under the shared contract checker (tests/contract.py): links to inputs,
to the model and to files nobody declared, FIFOs, users' files under seqtag's names, damaged manifests; then
`tag --input`, `preprocess`, `train` and `evaluate`, with and without --overwrite. After every command: nothing
outside its declared outputs changed, a failed command changed nothing (many-file tagging aside: its failures cost
their own outputs), no exit was an internal error, none hung, and no temporary file of seqtag's stayed."""

import os
import shutil
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

import seqtag
from seqtag.cli import commands as cli

import contract
from conftest import DATA

COLUMNS = "word,pos,chunk,ner"
# where a hostile user plants things: the outputs' names and what lies beside them
PLACES = ["out", "out/a.txt", "out/.seqtag-manifest.json", "res.json", "conv.tsv", "model", "model/model.json",
          ".model.seqtag-tmp-1-x", ".model.tmp-x", ".conv.tsv.seqtag-tmp-1", "in/c.txt"]
TARGETS = ["data/train.txt", "data/dev.txt", "in/a.txt", "models/hmm", "models/hmm/model.json",
           "outside/precious.txt", "nowhere"]
# a FIFO is planted only where no command opens it for writing (a FIFO named as -o is a stream a user chose)
FIFO_PLACES = ["out/a.txt", "out/.seqtag-manifest.json", "model/model.json", ".model.seqtag-tmp-1-x", "in/c.txt"]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang("a command ran for 60 s")


class Tree(RuleBasedStateMachine):
    model: Path  # set by the test: a trained HMM to copy into each tree
    steps = 0  # rules run (plants and commands), over every example
    commands = 0  # commands run under the contract, over every example
    refused = 0  # of which ended in an error
    @initialize()
    def make_tree(self):
        import tempfile

        self.root = Path(tempfile.mkdtemp(prefix="contract-"))
        for name in ("data", "in", "models", "outside"):
            (self.root / name).mkdir()
        shutil.copy(DATA / "ner/dev.txt", self.root / "data/train.txt")
        shutil.copy(DATA / "ner/test.txt", self.root / "data/dev.txt")
        (self.root / "in/a.txt").write_text("EU rejects German call .\n")
        (self.root / "in/b.txt").write_text("Peter Blackburn went to Paris .\n")
        shutil.copytree(self.model, self.root / "models/hmm")
        (self.root / "outside/precious.txt").write_text("nobody declared me\n")

    def teardown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def _free(self, place: str) -> Path | None:
        path = self.root / place
        if path.exists() or path.is_symlink() or path.parent.is_symlink() or (
                path.parent.exists() and not path.parent.is_dir()):
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    @rule(place=st.sampled_from(PLACES), points_to=st.sampled_from(TARGETS))
    def plant_link(self, place, points_to):
        path = self._free(place)
        if path is not None:
            path.symlink_to(self.root / points_to)

    @rule(place=st.sampled_from(FIFO_PLACES))
    def plant_fifo(self, place):
        path = self._free(place)
        if path is not None:
            os.mkfifo(path)

    @rule(place=st.sampled_from(PLACES), content=st.sampled_from([b"my notes\n", b"{not json", b"", b"\xff\xfe"]))
    def plant_file(self, place, content):
        path = self._free(place)
        if path is not None:
            if place in ("out", "model"):
                path.mkdir()
                path = path / "mine.txt"
            path.write_bytes(content)

    @rule(content=st.sampled_from(['{"version": 1}', "[]", '{"written_by": "seqtag tag", "version": 1, "key": {}, '
                                   '"files": {"a.txt": 5}, "started": []}', "\x00"]))
    def damage_manifest(self, content):
        manifest = self.root / "out/.seqtag-manifest.json"
        if (self.root / "out").is_dir() and not manifest.is_symlink() and (manifest.is_file() or not manifest.exists()):
            manifest.write_text(content)

    @rule(place=st.sampled_from(PLACES))
    def remove(self, place):
        path = self.root / place
        if path.is_symlink() or path.is_file() or (path.exists() and not path.is_dir()):
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)

    def _run(self, argv: list[str], declared: list[str], partial: bool = False):
        """Run one command under the contract; `declared`: its outputs (a link among them: its target too)."""
        outputs = [self.root / d for d in declared]
        outputs += [Path(os.path.realpath(p)) for p in outputs if p.is_symlink()]
        before = contract.snapshot(self.root)
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(60)
        try:
            code = cli.run([str(a) for a in argv])
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        after = contract.snapshot(self.root)
        assert code in (0, 2, 3), f"{argv}: exit {code}"
        contract.assert_kept(before, after, outputs if code == 0 or partial else (), what=" ".join(map(str, argv)))
        leftovers = [p for p in contract.changed(before, after) if "seqtag-tmp" in p and p in after]
        assert not leftovers, f"{argv} left {leftovers}"
        Tree.commands += 1
        Tree.refused += code != 0

    @rule(overwrite=st.booleans())
    def tag_files(self, overwrite):
        self._run(["tag", "-m", self.root / "models/hmm", "--input", str(self.root / "in/*.txt"), "--output-dir",
                   self.root / "out", *(["--overwrite"] if overwrite else [])], ["out"], partial=True)

    @rule(overwrite=st.booleans())
    def preprocess(self, overwrite):
        self._run(["preprocess", self.root / "data/train.txt", "--columns", COLUMNS, "-o", self.root / "conv.tsv",
                   *(["--overwrite"] if overwrite else [])], ["conv.tsv"])

    @rule(overwrite=st.booleans())
    def train(self, overwrite):
        self._run(["train", "--model", "majority", "--train", self.root / "data/train.txt", "--columns", COLUMNS,
                   "--layer", "ner", "-o", self.root / "model", *(["--overwrite"] if overwrite else [])], ["model"])

    @rule()
    def evaluate(self):
        self._run(["evaluate", "-m", self.root / "models/hmm", self.root / "data/dev.txt", "--columns", COLUMNS,
                   "--json", self.root / "res.json"], ["res.json"])

    @invariant()
    def the_model_and_the_data_are_untouched(self):
        Tree.steps += 1  # an invariant is checked after every step
        if hasattr(self, "root"):
            assert (self.root / "outside/precious.txt").read_text() == "nobody declared me\n"


@pytest.fixture(scope="module")
def hmm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("contract") / "hmm"
    seqtag.train(model="hmm", train=DATA / "ner/train.txt", columns=COLUMNS.split(","), layer="ner", output=folder)
    return folder


def run_machine(hmm, examples: int, steps: int) -> tuple[int, int]:
    """(steps, commands run, commands refused) over `examples` trees of up to `steps` steps each."""
    Tree.model, Tree.steps, Tree.commands, Tree.refused = hmm, 0, 0, 0
    run_state_machine_as_test(Tree, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    return Tree.steps, Tree.commands, Tree.refused


def test_random_trees_and_commands_keep_the_contract(hmm, capsys):
    steps, commands, refused = run_machine(hmm, examples=10, steps=15)
    assert commands >= 30 and 0 < refused < commands  # both outcomes reached


@pytest.mark.slow
def test_a_thousand_steps_keep_the_contract(hmm, capsys):
    steps, commands, refused = run_machine(hmm, examples=50, steps=25)
    assert steps >= 1000 and commands >= 400 and 0 < refused < commands
