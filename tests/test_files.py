"""`seqtag tag --input ... --output-dir ...`: many files in, one output each, resumable after a kill at any moment,
a damaged input costing only its own output. Expected outputs come from `seqtag tag` on stdin, file by file."""

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import seqtag
from seqtag.cli import commands as cli
from seqtag.errors import DataError

import contract
from conftest import DATA, write_inputs

RUNNER = CliRunner()
MANIFEST = ".seqtag-manifest.json"


def tagged_on_stdin(model: Path, path: Path, *args: str) -> str:
    result = RUNNER.invoke(cli.app, ["tag", "-m", str(model), *args], input=path.read_bytes())
    assert result.exit_code == 0, result.output
    return result.stdout


def run_files(model: Path, inputs: str, out: Path, *args: str):
    return RUNNER.invoke(cli.app, ["tag", "-m", str(model), "--input", inputs, "--output-dir", str(out), *args])


def test_each_output_is_what_stdin_tagging_gives_and_a_rerun_tags_nothing(hmm_model, tmp_path):
    paths = write_inputs(tmp_path / "in", 5)
    result = run_files(hmm_model, str(tmp_path / "in" / "*.txt"), tmp_path / "out")
    assert result.exit_code == 0, result.output
    for path in paths:
        assert (tmp_path / "out" / path.name).read_text() == tagged_on_stdin(hmm_model, path)
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert sorted(manifest["files"]) == [p.name for p in paths]
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    again = run_files(hmm_model, str(tmp_path / "in" / "*.txt"), tmp_path / "out")
    assert again.exit_code == 0 and "5 already finished" in again.output
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir() if p.name != MANIFEST} == {
        name: t for name, t in before.items() if name != MANIFEST}


def test_a_changed_input_or_other_settings_are_tagged_again(hmm_model, tmp_path):
    paths = write_inputs(tmp_path / "in", 3)
    assert run_files(hmm_model, str(tmp_path / "in" / "*.txt"), tmp_path / "out").exit_code == 0
    paths[1].write_text("Peter went to Paris .\n")
    result = run_files(hmm_model, str(tmp_path / "in" / "*.txt"), tmp_path / "out")
    assert result.exit_code == 0 and "tagged 1 file(s)" in result.output and "2 already finished" in result.output
    assert (tmp_path / "out" / paths[1].name).read_text() == tagged_on_stdin(hmm_model, paths[1])
    result = run_files(hmm_model, str(tmp_path / "in" / "*.txt"), tmp_path / "out", "--output-format", "jsonl")
    assert result.exit_code == 0 and "tagged 3 file(s)" in result.output
    for path in paths:
        assert (tmp_path / "out" / path.name).read_text() == tagged_on_stdin(hmm_model, path, "--output-format",
                                                                            "jsonl")


def test_a_damaged_input_costs_only_its_own_output(hmm_model, tmp_path):
    paths = write_inputs(tmp_path / "in", 4)
    paths[2].write_bytes(b"fine line\nbad \xff byte\n")
    result = run_files(hmm_model, str(tmp_path / "in" / "*.txt"), tmp_path / "out")
    assert result.exit_code == 2
    assert f"{paths[2]}:2: invalid UTF-8" in result.output and "1 input(s) failed (part-002.txt)" in result.output
    assert not (tmp_path / "out" / paths[2].name).exists()
    for path in paths[:2] + paths[3:]:
        assert (tmp_path / "out" / path.name).read_text() == tagged_on_stdin(hmm_model, path)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]  # no partial output left


@pytest.mark.parametrize("case", ["same-name", "foreign-file", "into-inputs", "no-match", "half-options"])
def test_refused_before_anything_is_written(hmm_model, tmp_path, case):
    write_inputs(tmp_path / "in", 2)
    out = tmp_path / "out"
    pattern = str(tmp_path / "in" / "*.txt")
    if case == "same-name":
        write_inputs(tmp_path / "other", 1)
        result = RUNNER.invoke(cli.app, ["tag", "-m", str(hmm_model), "--input", pattern, "--input",
                                         str(tmp_path / "other" / "*.txt"), "--output-dir", str(out)])
        expected = "two inputs would be tagged into one output"
    elif case == "foreign-file":
        out.mkdir()
        (out / "part-001.txt").write_text("my notes\n")
        result = run_files(hmm_model, pattern, out)
        expected = "which seqtag tag did not write there"
    elif case == "into-inputs":
        out = tmp_path / "in"
        result = run_files(hmm_model, pattern, out, "--overwrite")
        expected = "--output-dir holds the input file"
    elif case == "no-match":
        result = run_files(hmm_model, str(tmp_path / "in" / "*.conll"), out)
        expected = "no input file matches this"
    else:
        result = RUNNER.invoke(cli.app, ["tag", "-m", str(hmm_model), "--input", pattern])
        expected = "--input and --output-dir go together"
    assert result.exit_code == 2 and expected in result.output, result.output
    if case == "foreign-file":
        assert sorted(p.name for p in out.iterdir()) == ["part-001.txt"]
        assert (out / "part-001.txt").read_text() == "my notes\n"
    elif case != "into-inputs":
        assert not out.exists()


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_link_among_the_outputs_is_replaced_never_written_through(hmm_model, tmp_path, overwrite):
    """An output name or the manifest that is a link to an input, to the model or to any file: what it points at
    is never written. Without --overwrite the output link is refused; with it, the link itself is replaced."""
    paths = write_inputs(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    (out / paths[0].name).symlink_to(paths[1])
    (out / MANIFEST).symlink_to(hmm_model / "model.json")
    kept = contract.snapshot(tmp_path / "in", hmm_model)
    result = run_files(hmm_model, str(tmp_path / "in" / "*.txt"), out, *overwrite)
    assert contract.snapshot(tmp_path / "in", hmm_model) == kept
    assert f"{out / MANIFEST}: it is a link" in result.output  # a damaged manifest is said once, as what it is
    if not overwrite:
        assert result.exit_code == 2 and "its manifest is damaged" in result.output
        return
    assert result.exit_code == 0, result.output
    for path in paths:
        assert not (out / path.name).is_symlink()
        assert (out / path.name).read_text() == tagged_on_stdin(hmm_model, path)
    assert not (out / MANIFEST).is_symlink() and json.loads((out / MANIFEST).read_text())["files"]


@pytest.mark.parametrize("edit", [
    lambda m: {**m, "files": []}, lambda m: {**m, "started": 5}, lambda m: {**m, "key": "x"},
    lambda m: {**m, "files": {"part-000.txt": "done"}}, lambda m: {**m, "version": 99}, lambda m: [m],
    lambda m: {**m, "files": {name: {**r, "size": "12"} for name, r in m["files"].items()}}])
def test_a_hand_edited_manifest_counts_as_none_with_one_warning(hmm_model, tmp_path, edit):
    paths = write_inputs(tmp_path / "in", 2)
    out = tmp_path / "out"
    assert run_files(hmm_model, str(tmp_path / "in" / "*.txt"), out).exit_code == 0
    (out / MANIFEST).write_text(json.dumps(edit(json.loads((out / MANIFEST).read_text()))))
    refused = run_files(hmm_model, str(tmp_path / "in" / "*.txt"), out)
    assert refused.exit_code == 2 and "its manifest is damaged" in refused.output, refused.output
    assert refused.output.count("counts as none") == 1
    again = run_files(hmm_model, str(tmp_path / "in" / "*.txt"), out, "--overwrite")
    assert again.exit_code == 0 and "tagged 2 file(s)" in again.output, again.output
    for path in paths:
        assert (out / path.name).read_text() == tagged_on_stdin(hmm_model, path)


@pytest.mark.parametrize("case", ["manifest-name", "fifo", "missing"])
def test_inputs_that_cannot_be_tagged_into_a_file_are_refused_before_any_work(hmm_model, tmp_path, case):
    import os

    source = tmp_path / {"manifest-name": MANIFEST, "fifo": "pipe.txt", "missing": "none.txt"}[case]
    if case == "manifest-name":
        source.write_text("EU rejects German call\n")
    elif case == "fifo":
        os.mkfifo(source)
    result = run_files(hmm_model, str(source), tmp_path / "out")
    expected = {"manifest-name": "its output would be the folder's manifest", "fifo": "is a FIFO, not a file",
                "missing": "no such file"}[case]
    assert result.exit_code == 2 and expected in result.output and str(source) in result.output, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_killed_at_random_moments_a_rerun_finishes_with_every_output_complete_and_identical(hmm_model, tmp_path):
    """20 runs, each killed (SIGKILL) at a seeded random moment and started again: every output is then exactly
    what an uninterrupted run writes, and the reruns tagged only what was unfinished."""
    paths = write_inputs(tmp_path / "in", 12, seed=3)
    expected = {p.name: tagged_on_stdin(hmm_model, p) for p in paths}
    command = [sys.executable, "-m", "seqtag", "tag", "-m", str(hmm_model), "--input", str(tmp_path / "in" / "*.txt")]
    rng = random.Random(20261203)
    started = time.perf_counter()
    subprocess.run([*command, "--output-dir", str(tmp_path / "timing")], check=True, capture_output=True)
    whole = time.perf_counter() - started
    for attempt in range(20):
        out = tmp_path / f"out{attempt}"
        process = subprocess.Popen([*command, "--output-dir", str(out)], stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0, whole))
        process.send_signal(signal.SIGKILL)
        process.wait()
        finished_before = set(json.loads((out / MANIFEST).read_text())["files"]) if (out / MANIFEST).exists() else set()
        rerun = subprocess.run([*command, "--output-dir", str(out)], capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        assert f"tagged {len(paths) - len(finished_before)} file(s)" in rerun.stderr
        assert {p.name: p.read_text() for p in out.iterdir() if p.name != MANIFEST} == expected
        assert sorted(json.loads((out / MANIFEST).read_text())["files"]) == sorted(expected)


def test_the_python_api_tags_files_and_checks_its_arguments(hmm_model, tmp_path):
    paths = write_inputs(tmp_path / "in", 2)
    model = seqtag.load(hmm_model)
    done = model.tag_files(tmp_path / "in" / "*.txt", tmp_path / "out")
    assert done["tagged"] == [p.name for p in paths] and not done["failed"] and done["tokens"] > 0
    assert model.tag_files([str(p) for p in paths], tmp_path / "out")["skipped"] == [p.name for p in paths]
    for bad, message in (({"inputs": 3}, "inputs must be a path"), ({"workers": 0}, "workers must be"),
                         ({"output_format": "xml"}, "xml"), ({"overwrite": "yes"}, "overwrite must be")):
        arguments = {"inputs": tmp_path / "in" / "*.txt", "output_dir": tmp_path / "out2", **bad}
        with pytest.raises(DataError, match=message):
            model.tag_files(**arguments)
    assert not (tmp_path / "out2").exists()
    with pytest.raises(DataError, match="save the model first"):
        seqtag.train(model="majority").tag_files(tmp_path / "in" / "*.txt", tmp_path / "out3")


def test_model_tag_works_inside_datasets_map_with_several_processes(hmm_model):
    datasets = pytest.importorskip("datasets")
    model = seqtag.load(hmm_model)
    sentences = [["Peter", "Blackburn", "went", "to", "Paris"], ["EU", "rejects", "German", "call"]] * 6
    data = datasets.Dataset.from_dict({"tokens": sentences})
    tagged = data.map(lambda batch: {"labels": [t.labels for t in model.tag(batch["tokens"])]}, batched=True,
                      batch_size=4, num_proc=2)
    assert tagged["labels"] == [t.labels for t in model.tag(sentences)]


def test_engine_ray_without_the_extra_is_one_line_naming_it(hmm_model, tmp_path, monkeypatch):
    write_inputs(tmp_path / "in", 1)
    monkeypatch.setitem(sys.modules, "ray", None)  # as on a machine without seqtag-nlp[ray]: `import ray` fails
    result = run_files(hmm_model, str(tmp_path / "in" / "*.txt"), tmp_path / "out", "--engine", "ray")
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == ("error: --engine ray needs Ray Data, the project's [ray] extra: "
                                                       "pip install 'seqtag-nlp[ray]'")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "bioes"])
def test_output_scheme_writes_the_same_spans_in_the_scheme_asked_for(hmm_model, tmp_path, scheme):
    from seqeval.metrics.sequence_labeling import get_entities

    paths = write_inputs(tmp_path / "in", 1, lines=200, seed=9)
    default = tagged_on_stdin(hmm_model, paths[0])
    converted = tagged_on_stdin(hmm_model, paths[0], "--output-scheme", scheme)

    def sentences(text):
        return [[line.split("\t")[1] for line in block.splitlines() if line] for block in text.split("\n\n")
                if block.strip()]

    before, after = sentences(default), sentences(converted)
    assert len(before) == len(after) and any("-" in t for s in after for t in s)
    for old, new in zip(before, after):
        # the model's labels are IOB1 (its training data's): seqeval reads IOB1 as conlleval does
        spans = set(get_entities(old))
        if scheme == "bioes":
            assert all(t[0] in "OBIES" for t in new)
            assert all((new[s] == f"S-{k}") == (s == e) for k, s, e in spans)
            assert {(k, s, e) for k, s, e in spans} == {(t[2:], i, next(j for j in range(i, len(new))
                                                                        if new[j][0] in "ES"))
                                                         for i, t in enumerate(new) if t[0] in "BS"}
        else:
            assert set(get_entities(new)) == spans
            if scheme == "iob2":
                assert all(new[s].startswith("B-") for _, s, _ in spans)


@pytest.mark.parametrize("sample, options", [("ner/train.txt", {"columns": ["word", "pos", "chunk", "ner"]}),
                                             ("pos/train.conllu", {}), ("seg/train.txt", {"format": "segmented"})])
def test_a_gzipped_corpus_reads_as_the_plain_one_and_a_damaged_one_is_named(tmp_path, sample, options):
    import gzip

    plain = DATA / sample
    zipped = tmp_path / "corpus.gz"  # known by its bytes, whatever its name
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    expected = seqtag.read(plain, **options)
    found = seqtag.read(zipped, **options)
    assert [s.tokens for s in found.sentences] == [s.tokens for s in expected.sentences]
    assert [s.labels for s in found.sentences] == [s.labels for s in expected.sentences]
    cut = tmp_path / "cut"
    cut.write_bytes(zipped.read_bytes()[: len(zipped.read_bytes()) // 2])
    with pytest.raises(DataError, match="damaged gzip data") as error:
        seqtag.read(cut, **options)
    assert error.value.path == str(cut)


def test_a_gzipped_input_is_tagged_into_a_plain_output_without_gz(hmm_model, tmp_path):
    import gzip

    paths = write_inputs(tmp_path / "plain", 1)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "part-000.txt.gz").write_bytes(gzip.compress(paths[0].read_bytes()))
    assert run_files(hmm_model, str(tmp_path / "in" / "*.gz"), tmp_path / "out").exit_code == 0
    assert (tmp_path / "out" / "part-000.txt").read_text() == tagged_on_stdin(hmm_model, paths[0])


@pytest.mark.slow
def test_min_prob_writes_as_o_exactly_the_spans_with_a_less_probable_token(tmp_path):
    import json

    folder = tmp_path / "bilstm"
    seqtag.train(output=folder, hidden=32, layers=1, max_epochs=8)
    text = DATA / "ner" / "train.txt"  # where even a briefly trained model finds spans
    tokens = "\n".join(" ".join(block.split()[0::4]) for block in text.read_text().split("\n\n") if block.strip())
    (tmp_path / "tokens.txt").write_text(tokens + "\n")
    plain = [json.loads(line) for line in tagged_on_stdin(folder, tmp_path / "tokens.txt", "--input-format",
                                                          "tokens", "--output-format", "jsonl", "--probs").splitlines()]
    assert any(record["spans"] for record in plain)
    for threshold in (0.0, 0.5, 0.8, 1.0):
        kept = [json.loads(line) for line in tagged_on_stdin(folder, tmp_path / "tokens.txt", "--input-format",
                                                             "tokens", "--output-format", "jsonl", "--probs",
                                                             "--min-prob", str(threshold)).splitlines()]
        for before, after in zip(plain, kept, strict=True):
            expected = list(before["labels"])
            for span in before["spans"]:
                if min(before["probs"][span["start"] : span["end"]]) < threshold:
                    expected[span["start"] : span["end"]] = ["O"] * (span["end"] - span["start"])
            assert after["labels"] == expected and after["probs"] == before["probs"]
    without_probs = tagged_on_stdin(folder, tmp_path / "tokens.txt", "--input-format", "tokens", "--min-prob", "0.5")
    assert all(len(line.split("\t")) == 2 for line in without_probs.splitlines() if line)  # probs only when asked
