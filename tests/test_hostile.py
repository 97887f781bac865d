"""The error contract (docs/errors.md) under hostile use, command by command.

Every case asserts the exit code, that the last line on stderr is one `error:` line saying what was wrong (no
traceback, no library warning on the way), and that nothing that existed before changed: every file and folder of
the test's world (corpora, models, a user's own files) is hashed before and after. Cases run in-process through
`seqtag.cli.commands.run`, the function `seqtag` itself calls; signals go to real child processes (test_signals.py).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shlex
import shutil
import sys
from pathlib import Path

import pytest
import torch

from seqtag.cli import commands as cli
from seqtag.training import fit
from seqtag.data import reading

import contract
from conftest import DATA

pytestmark = pytest.mark.slow  # trains models or runs the CLI many times: not in the fast set

NER = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
COLUMNS = "--columns word,pos,chunk,ner --layer ner"


class Payload:
    """A pickle that would run a command when loaded: loading a model must refuse it unrun."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def _lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines(keepends=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    w = tmp_path_factory.mktemp("world")
    data = w / "data"
    data.mkdir()
    for name in ("train", "dev", "test"):
        shutil.copy(DATA / "ner" / f"{name}.txt", data / f"{name}.txt")
    train = _lines(data / "train.txt")
    tagged = [i for i, line in enumerate(train) if line.strip() and line.split()[-1] == "I-PER"]
    junk = list(train)
    junk[tagged[5]] = junk[tagged[5]].rsplit(" ", 1)[0] + " FOO-BAR\n"
    (data / "junk.txt").write_text("".join(junk), "utf-8")
    spers = list(train)
    spers[tagged[7]] = spers[tagged[7]].rsplit(" ", 1)[0] + " S-PER\n"
    (data / "spers.txt").write_text("".join(spers), "utf-8")
    ragged = list(train[:40])
    first_token = next(i for i, line in enumerate(ragged) if line.strip() and not line.startswith("-DOCSTART-"))
    ragged[first_token + 3] = "word NN\n"
    (data / "ragged.txt").write_text("".join(ragged), "utf-8")
    (data / "empty.txt").write_text("", "utf-8")
    (data / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (data / "latin1.txt").write_bytes("EU NNP B-NP I-ORG\nMüller NNP I-NP I-PER\n".encode("latin-1"))
    unseen = _lines(data / "dev.txt")
    dev_tagged = [i for i, line in enumerate(unseen) if line.strip() and line.split()[-1] == "I-LOC"]
    unseen[dev_tagged[0]] = unseen[dev_tagged[0]].rsplit(" ", 1)[0] + " I-FAC\n"
    (data / "unseen_dev.txt").write_text("".join(unseen), "utf-8")
    pred = _lines(data / "test.txt")
    first = next(i for i, line in enumerate(pred) if line.strip() and not line.startswith("-DOCSTART-"))
    pred[first + 2] = "Mistoken " + pred[first + 2].split(" ", 1)[1]
    (data / "pred_tokens.txt").write_text("".join(pred), "utf-8")
    (data / "bad.toml").write_text("[training\nmax_epochs = 3\n", "utf-8")
    (data / "zero.toml").write_text("[training]\nmax_epochs = 0\n", "utf-8")
    (data / "nan.toml").write_text("[training]\nlr = nan\n", "utf-8")
    (data / "dropout.toml").write_text("[model]\ndropout = 2.0\n", "utf-8")
    (data / "section.toml").write_text("[optimiser]\nlr = 0.1\n", "utf-8")

    models = w / "models"
    for kind in ("majority", "hmm"):
        fit.train_model(kind, data / "train.txt", None, None, reading.ReadOptions(**vars(NER)), {},
                        models / kind)
    tiny = {"model": {"hidden": 8, "layers": 1, "word_dim": 16, "char_hidden": 8},
            "training": {"max_epochs": 1, "keep_checkpoint": True}}
    fit.train_model("bilstm", data / "train.txt", None, None, reading.ReadOptions(**vars(NER)), tiny,
                    models / "bilstm")

    def damaged(name: str, source: str = "bilstm") -> Path:
        shutil.copytree(models / source, models / name)
        return models / name

    with open(damaged("pickled") / "weights.pt", "wb") as f:
        pickle.dump({"weight": Payload()}, f)
    truncated = damaged("truncated") / "weights.pt"
    truncated.write_bytes(truncated.read_bytes()[:300])
    (damaged("nojson") / "model.json").unlink()
    (damaged("badjson") / "model.json").write_text("{\"format\": \"seqtag-model\", ", "utf-8")
    for name, change in (("newer", {"format_version": 99}), ("unknown_kind", {"kind": "transformer"})):
        document = json.loads((damaged(name) / "model.json").read_text("utf-8"))
        document.update(change)
        (models / name / "model.json").write_text(json.dumps(document), "utf-8")
    (damaged("not_seqtag") / "model.json").write_text("[1, 2]", "utf-8")
    (damaged("hmm_badnpz", "hmm") / "weights.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with open(damaged("pickled_checkpoint") / "checkpoint.pt", "wb") as f:
        pickle.dump({"epoch": Payload()}, f)
    checkpoint = damaged("truncated_checkpoint") / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:500])
    (damaged("no_checkpoint") / "checkpoint.pt").unlink()
    (damaged("with_notes", "hmm") / "notes.txt").write_text("my notes on this model\n", "utf-8")
    (damaged("bilstm_with_notes") / "notes.txt").write_text("my notes on this run\n", "utf-8")

    mine = w / "mine"  # things a user owns that no seqtag command wrote
    mine.mkdir()
    (mine / "notes.txt").write_text("a user's notes\n", "utf-8")
    (mine / "scores.json").write_text("{\"f1\": 0.9}\n", "utf-8")
    (mine / "table.md").write_text("| my | table |\n", "utf-8")
    (mine / "folder").mkdir()
    (mine / "folder" / "keep.txt").write_text("keep me\n", "utf-8")
    (mine / "serving").mkdir()
    (mine / "serving" / "model.onnx").write_bytes(b"someone else's network")
    (mine / "compare").mkdir()
    shutil.copytree(models / "hmm", mine / "compare" / "majority")  # a hmm where compare would put a majority model
    (mine / "read_only").mkdir()
    return w


def invoke(argv: list[str], stdin: bytes, monkeypatch, capfd) -> tuple[int, str]:
    if "--workers" in argv:  # worker processes fork: run them from a real process, not from inside pytest
        import subprocess

        result = subprocess.run([sys.executable, "-m", "seqtag", *argv], input=stdin, capture_output=True)
        return result.returncode, result.stderr.decode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    code = cli.run(argv)
    return code, capfd.readouterr().err


EOS = b"EU rejects German call\n"

# (command line with {w} for the world folder, stdin, exit code, what the one error line must say)
CASES = {
    # ------------------------------------------------------------------ preprocess
    "preprocess/missing-file": ("preprocess {w}/data/nope.txt", 2, "nope.txt: no such file"),
    "preprocess/empty-file": ("preprocess {w}/data/empty.txt", 2, "empty.txt: file is empty"),
    "preprocess/binary-file": ("preprocess {w}/data/binary.bin", 2, "binary.bin"),
    "preprocess/latin-1": ("preprocess {w}/data/latin1.txt", 2, "latin1.txt:2: invalid UTF-8"),
    "preprocess/ragged-columns": ("preprocess {w}/data/ragged.txt", 2, "column(s) where line"),
    "preprocess/junk-tag": ("preprocess {w}/data/junk.txt " + COLUMNS, 2, "label 'FOO-BAR' is not a iob1 tag"),
    "preprocess/s-tag-in-iob1": ("preprocess {w}/data/spers.txt " + COLUMNS, 2, "label 'S-PER' is not a iob1 tag"),
    "preprocess/junk-says-detected": ("preprocess {w}/data/junk.txt " + COLUMNS, 2, "reads as iob1 from its other tags"),
    "preprocess/tag-outside-given-scheme": ("preprocess {w}/data/spers.txt --scheme iob2 " + COLUMNS, 2,
                                            "label 'S-PER' is not a iob2 tag"),
    "preprocess/out-over-input": ("preprocess {w}/data/train.txt -o {w}/data/train.txt", 2, "is the input file this command reads"),
    "preprocess/out-over-users-file": ("preprocess {w}/data/train.txt -o {w}/mine/notes.txt", 2,
                                       "not written by seqtag preprocess"),
    "preprocess/json-over-input": ("preprocess {w}/data/train.txt --json {w}/data/dev.txt", 2,
                                   "was not written by seqtag preprocess"),
    "preprocess/json-over-own-input": ("preprocess {w}/data/train.txt --json {w}/data/train.txt", 2,
                                       "is the input file this command reads"),
    "preprocess/json-over-users-json": ("preprocess {w}/data/train.txt --json {w}/mine/scores.json", 2,
                                        "not written by seqtag preprocess"),
    "preprocess/json-is-folder": ("preprocess {w}/data/train.txt --json {w}/mine/folder", 2, "names a folder"),
    "preprocess/out-below-a-file": ("preprocess {w}/data/train.txt -o {w}/mine/notes.txt/x.tsv", 2,
                                    "is a file, not a folder"),
    "preprocess/no-input": ("preprocess", 2, "give corpus files"),
    "preprocess/out-dash": ("preprocess {w}/data/train.txt -o -", 2, "-o - would write a file named '-'"),
    "evaluate/json-dash": ("evaluate -m {w}/models/hmm {w}/data/dev.txt --json -", 2,
                           "--json - would write a file named '-'"),
    "preprocess/unknown-layer": ("preprocess {w}/data/train.txt " + "--columns word,pos,chunk,ner --layer lemma", 2,
                                 "lemma"),
    "preprocess/too-many-columns": ("preprocess {w}/data/train.txt --columns a,b,c,d,e", 2, "columns"),
    "preprocess/bad-format-value": ("preprocess {w}/data/train.txt --format xml", 2, "--format"),
    "preprocess/bad-scheme-value": ("preprocess {w}/data/train.txt --scheme bilou", 2, "--scheme"),
    "preprocess/to-scheme-bmes": ("preprocess {w}/data/train.txt --to-scheme bmes " + COLUMNS, 2, "cannot convert"),
    "preprocess/on-invalid-error": ("preprocess {w}/data/train.txt --scheme iob2 --on-invalid error " + COLUMNS, 2,
                                    "invalid iob2 sequence"),
    "preprocess/folder-as-input": ("preprocess {w}/mine/folder", 2, "folder"),
    # ------------------------------------------------------------------ train: options
    "train/max-epochs-0": ("train --max-epochs 0 -o {w}/out", 2, "--max-epochs"),
    "train/max-epochs-negative": ("train --max-epochs -1 -o {w}/out", 2, "--max-epochs"),
    "train/batch-size-0": ("train --batch-size 0 -o {w}/out", 2, "--batch-size"),
    "train/batch-size-negative": ("train --batch-size -5 -o {w}/out", 2, "--batch-size"),
    "train/hidden-0": ("train --hidden 0 -o {w}/out", 2, "--hidden"),
    "train/layers-0": ("train --layers 0 -o {w}/out", 2, "--layers"),
    "train/lr-0": ("train --lr 0 -o {w}/out", 2, "--lr must be above 0"),
    "train/lr-negative": ("train --lr -0.1 -o {w}/out", 2, "--lr"),
    "train/lr-nan": ("train --lr nan -o {w}/out", 2, "--lr must be a finite number, not nan"),
    "train/lr-inf": ("train --lr inf -o {w}/out", 2, "--lr must be a finite number, not inf"),
    "train/config-nan": ("train --config {w}/data/nan.toml -o {w}/out", 2, "[training] lr must be a finite number"),
    "train/seed-negative": ("train --seed -1 -o {w}/out", 2, "--seed"),
    "train/patience-0": ("train --patience 0 -o {w}/out", 2, "--patience"),
    "train/max-epochs-text": ("train --max-epochs many -o {w}/out", 2, "--max-epochs"),
    "train/unknown-model": ("train --model crf -o {w}/out", 2, "--model"),
    "train/unknown-option": ("train --epochs 3 -o {w}/out", 2, "No such option: --epochs"),
    "train/hmm-with-bilstm-option": ("train --model hmm --hidden 50 -o {w}/out", 2,
                                     "--hidden is a setting of --model bilstm; --model hmm has no such setting"),
    "train/perceptron-with-stream": ("train --model perceptron --stream -o {w}/out", 2, "--stream is a setting of --model bilstm; --model perceptron has no such setting"),
    "train/decoder-value": ("train --decoder maxent --max-epochs 1 -o {w}/out", 2, "--decoder must be one of crf, softmax, not 'maxent'"),
    "train/cell-value": ("train --cell rnn --max-epochs 1 -o {w}/out", 2, "--cell must be one of lstm, gru, not 'rnn'"),
    "train/optimizer-value": ("train --optimizer adagrad --max-epochs 1 -o {w}/out", 2, "--optimizer must be one of adam, sgd, not 'adagrad'"),
    "train/device-value": ("train --device tpu --max-epochs 1 -o {w}/out", 2, "--device must be"),
    "train/config-missing": ("train --config {w}/data/nope.toml -o {w}/out", 2, "nope.toml: no such file"),
    "train/config-invalid-toml": ("train --config {w}/data/bad.toml -o {w}/out", 2, "bad.toml: invalid TOML"),
    "train/config-zero-epochs": ("train --config {w}/data/zero.toml -o {w}/out", 2,
                                 "[training] max_epochs must be at least 1, not 0"),
    "train/config-dropout": ("train --config {w}/data/dropout.toml -o {w}/out", 2, "[model] dropout must be from"),
    "train/config-section": ("train --config {w}/data/section.toml -o {w}/out", 2, "unknown section(s) optimiser"),
    # ------------------------------------------------------------------ train: outputs
    "train/out-is-users-file": ("train --model hmm -o {w}/mine/notes.txt", 2, "exists and is not a folder"),
    "train/out-is-users-folder": ("train --model hmm -o {w}/mine/folder", 2, "holds no seqtag model"),
    "train/out-is-other-kind": ("train --model majority -o {w}/models/hmm", 2,
                                "holds a hmm model; a majority model replaces only a majority model"),
    "train/out-has-users-files": ("train --model hmm -o {w}/models/with_notes", 2, "notes.txt"),
    "train/out-is-train-file": ("train --model hmm --train {w}/data/train.txt " + COLUMNS + " -o {w}/data/train.txt",
                                2, "-o is the input file this command reads"),
    "train/out-holds-train-file": ("train --model hmm --train {w}/data/train.txt " + COLUMNS + " -o {w}/data "
                                   "--overwrite", 2, "-o holds the input file"),
    "train/out-below-a-file": ("train --model hmm -o {w}/mine/notes.txt/model", 2, "is a file, not a folder"),
    "train/out-is-config": ("train --config {w}/data/zero.toml -o {w}/data/zero.toml", 2,
                            "-o is the input file this command reads"),
    # ------------------------------------------------------------------ train: data
    "train/missing-train": ("train --model hmm --train {w}/data/nope.txt -o {w}/out", 2, "nope.txt: no such file"),
    "train/empty-train": ("train --model hmm --train {w}/data/empty.txt -o {w}/out", 2, "empty.txt: file is empty"),
    "train/hmm-junk-names-train": ("train --model hmm --train {w}/data/junk.txt " + COLUMNS + " -o {w}/out", 2,
                                   "junk.txt:"),
    "train/bilstm-junk-dev": ("train --train {w}/data/train.txt --dev {w}/data/junk.txt " + COLUMNS +
                              " --max-epochs 1 -o {w}/out", 2, "junk.txt:"),
    "train/s-tag-test": ("train --model majority --train {w}/data/train.txt --test {w}/data/spers.txt " + COLUMNS +
                         " -o {w}/out", 2, "spers.txt:"),
    "train/missing-feature-column": ("train --train {w}/data/train.txt --columns word,pos,chunk,ner --layer ner "
                                     "--features lemma --max-epochs 1 -o {w}/out", 2, "lemma"),
    "train/missing-embeddings": ("train --embeddings {w}/data/nope.vec --max-epochs 1 -o {w}/out", 2, "nope.vec"),
    "train/binary-config": ("train --config {w}/data/binary.bin --max-epochs 1 -o {w}/out", 2, "not a TOML file"),
    "train/resume-as-another-kind": ("train --resume --model hmm -o {w}/models/bilstm", 2,
                                     "--resume continues the bilstm run saved here; --model hmm"),
    "train/output-current-folder": ("train --model hmm --train {w}/data/train.txt -o .", 2, "is the current folder"),
    "train/output-empty": ("train --model hmm --train {w}/data/train.txt -o ''", 2, "is the current folder"),
    "train/embeddings-binary": ("train --embeddings {w}/data/binary.bin --max-epochs 1 -o {w}/out", 2, "binary.bin"),
    "train/stream-hf-missing": ("train --stream --train {w}/data/nope.txt --max-epochs 1 -o {w}/out", 2, "nope.txt"),
    # ------------------------------------------------------------------ train --resume
    "train/resume-no-model": ("train --resume -o {w}/out", 3, "no such model directory"),
    "train/resume-pickled-checkpoint": ("train --resume -o {w}/models/pickled_checkpoint", 3,
                                        "checkpoint.pt is corrupt or unsafe, refused: it holds pickled objects"),
    "train/resume-truncated-checkpoint": ("train --resume -o {w}/models/truncated_checkpoint", 3,
                                          "checkpoint.pt is corrupt or unsafe, refused: truncated"),
    "train/resume-no-checkpoint": ("train --resume -o {w}/models/no_checkpoint", 3, "no checkpoint.pt to resume from"),
    "train/resume-other-data": ("train --resume --train {w}/data/dev.txt -o {w}/models/bilstm", 2,
                                "--resume with other training data"),
    "train/resume-over-users-notes": ("train --resume --max-epochs 2 -o {w}/models/bilstm_with_notes", 2,
                                      "holds files that are not part of a model (notes.txt)"),
    "train/resume-users-folder": ("train --resume -o {w}/mine/folder", 3, "model.json is missing"),
    # ------------------------------------------------------------------ tag
    "tag/missing-model": ("tag -m {w}/models/nope", 3, "no such model directory"),
    "tag/model-is-file": ("tag -m {w}/mine/notes.txt", 3, "no such model directory"),
    "tag/no-model-json": ("tag -m {w}/models/nojson", 3, "model.json is missing"),
    "tag/broken-model-json": ("tag -m {w}/models/badjson", 3, "model.json is not valid JSON"),
    "tag/newer-format": ("tag -m {w}/models/newer", 3, "model format version 99 is newer"),
    "tag/not-a-seqtag-model": ("tag -m {w}/models/not_seqtag", 3, "not a seqtag model"),
    "tag/unknown-kind": ("tag -m {w}/models/unknown_kind", 3, "unknown model kind 'transformer'"),
    "tag/pickled-weights": ("tag -m {w}/models/pickled", 3, "weights.pt is corrupt or unsafe, refused: it holds pickled"),
    "tag/truncated-weights": ("tag -m {w}/models/truncated", 3, "weights.pt is corrupt or unsafe, refused: truncated"),
    "tag/damaged-npz": ("tag -m {w}/models/hmm_badnpz", 3, "weights.npz is corrupt or unsafe"),
    "tag/nbest-negative": ("tag -m {w}/models/hmm --nbest -2", 2, "--nbest"),
    "tag/window-0": ("tag -m {w}/models/hmm --window 0", 2, "--window"),
    "tag/workers-0": ("tag -m {w}/models/hmm --workers 0", 2, "--workers"),
    "tag/runtime-value": ("tag -m {w}/models/hmm --runtime tensorrt", 2, "--runtime"),
    "tag/input-format-value": ("tag -m {w}/models/hmm --input-format xml", 2, "--input-format"),
    "tag/output-format-value": ("tag -m {w}/models/hmm --output-format xml", 2, "--output-format"),
    "tag/probs-majority": ("tag -m {w}/models/majority --probs", 2, "--probs needs a BiLSTM model"),
    "tag/nbest-majority": ("tag -m {w}/models/majority --nbest 2 --output-format jsonl", 2, "--nbest needs"),
    "tag/segmented-ner": ("tag -m {w}/models/hmm --output-format segmented", 2, "segmented"),
    "tag/onnx-hmm": ("tag -m {w}/models/hmm --runtime onnx", 2, "--runtime onnx runs BiLSTM models"),
    "tag/no-model-option": ("tag", 2, "Missing option '-m'"),
    # ------------------------------------------------------------------ evaluate
    "evaluate/bootstrap-one": ("evaluate -m {w}/models/hmm {w}/data/test.txt --bootstrap 1", 2,
                               "or 100 to 100,000 resamples"),
    "evaluate/bootstrap-a-billion": ("evaluate -m {w}/models/hmm {w}/data/test.txt --bootstrap 1000000000", 2,
                                     "or 100 to 100,000 resamples"),
    "report/bootstrap-one": ("report {w}/models/hmm --bootstrap 1 -o {w}/mine/r.html", 2, "or 100 to 100,000"),
    "compare/bootstrap-one-before-training": ("compare --train {w}/data/train.txt --test {w}/data/test.txt "
                                              "--bootstrap 1 --html {w}/mine/c.html", 2, "or 100 to 100,000"),
    "evaluate/json-over-model-json": ("evaluate -m {w}/models/hmm {w}/data/test.txt --json {w}/models/hmm/model.json",
                                      2, "lies inside the model directory"),
    "evaluate/json-into-model": ("evaluate -m {w}/models/hmm {w}/data/test.txt --json {w}/models/hmm/scores.json",
                                 2, "lies inside the model directory"),
    "evaluate/json-over-gold": ("evaluate -m {w}/models/hmm {w}/data/test.txt --json {w}/data/test.txt", 2,
                                "is the input file this command reads"),
    "evaluate/json-over-users-json": ("evaluate -m {w}/models/hmm {w}/data/test.txt --json {w}/mine/scores.json", 2,
                                      "not written by seqtag evaluate"),
    "evaluate/json-overwrite-still-not-model": ("evaluate -m {w}/models/hmm {w}/data/test.txt --overwrite --json "
                                                "{w}/models/hmm/model.json", 2, "lies inside the model directory"),
    "evaluate/fail-under-too-high": ("evaluate -m {w}/models/hmm {w}/data/test.txt --fail-under 150", 2,
                                     "--fail-under"),
    "evaluate/fail-under-negative": ("evaluate -m {w}/models/hmm {w}/data/test.txt --fail-under -1", 2,
                                     "--fail-under"),
    "evaluate/gate-fails": ("evaluate -m {w}/models/majority {w}/data/test.txt --fail-under 99", 1,
                            "is under --fail-under 99.00"),
    "evaluate/pred-token-mismatch": ("evaluate --pred {w}/data/pred_tokens.txt --gold {w}/data/test.txt " + COLUMNS,
                                     2, "differs from the gold file: 'Mistoken' where"),
    "evaluate/pred-fewer-sentences": ("evaluate --pred {w}/data/dev.txt --gold {w}/data/test.txt " + COLUMNS, 2,
                                      "differs from the gold file"),
    "evaluate/nothing-given": ("evaluate", 2, "give -m MODEL [GOLD]"),
    "evaluate/model-and-pred": ("evaluate -m {w}/models/hmm --pred {w}/data/test.txt {w}/data/test.txt", 2,
                                "give -m MODEL [GOLD], or --pred"),
    "evaluate/missing-gold": ("evaluate -m {w}/models/hmm {w}/data/nope.txt", 2, "nope.txt: no such file"),
    "evaluate/empty-gold": ("evaluate -m {w}/models/hmm {w}/data/empty.txt", 2, "empty.txt: file is empty"),
    "evaluate/junk-gold": ("evaluate -m {w}/models/hmm {w}/data/junk.txt", 2, "junk.txt:"),
    "evaluate/damaged-model": ("evaluate -m {w}/models/truncated {w}/data/test.txt", 3, "weights.pt is corrupt"),
    "evaluate/binary-gold": ("evaluate -m {w}/models/hmm {w}/data/binary.bin", 2, "binary.bin"),
    # ------------------------------------------------------------------ compare
    "compare/unknown-model": ("compare --train {w}/data/train.txt --test {w}/data/test.txt --models hmm,crfsuite", 2,
                              "--models: unknown model(s) crfsuite"),
    "compare/json-over-train": ("compare --train {w}/data/train.txt --test {w}/data/test.txt --models majority "
                                "--json {w}/data/train.txt", 2, "is the input file this command reads"),
    "compare/markdown-over-users-file": ("compare --train {w}/data/train.txt --test {w}/data/test.txt --models "
                                         "majority --markdown {w}/mine/table.md", 2, "not written by seqtag compare"),
    "compare/json-folder": ("compare --train {w}/data/train.txt --test {w}/data/test.txt --models majority --json "
                            "{w}/mine/folder", 2, "names a folder"),
    "compare/out-holds-other-kind": ("compare --train {w}/data/train.txt --test {w}/data/test.txt --models majority "
                                     "-o {w}/mine/compare", 2, "holds a hmm model"),
    "compare/max-epochs-0": ("compare --train {w}/data/train.txt --test {w}/data/test.txt --max-epochs 0", 2,
                             "--max-epochs"),
    "compare/seed-negative": ("compare --train {w}/data/train.txt --test {w}/data/test.txt --seed -3", 2, "--seed"),
    "compare/no-models": ("compare --train {w}/data/train.txt --test {w}/data/test.txt --models ,", 2,
                          "--models names no model"),
    "compare/model-twice": ("compare --train {w}/data/train.txt --test {w}/data/test.txt --models hmm,majority,hmm",
                            2, "--models names hmm more than once"),
    "compare/no-test": ("compare --train {w}/data/train.txt", 2, "Missing option '--test'"),
    "compare/missing-train": ("compare --train {w}/data/nope.txt --test {w}/data/test.txt --models majority", 2,
                              "nope.txt: no such file"),
    "compare/junk-test": ("compare --train {w}/data/train.txt --test {w}/data/junk.txt --models majority " + COLUMNS,
                          2, "junk.txt:"),
    # ------------------------------------------------------------------ info
    "info/missing": ("info {w}/models/nope", 3, "no such model directory"),
    "info/a-file": ("info {w}/mine/notes.txt", 3, "no such model directory"),
    "info/broken-json": ("info {w}/models/badjson", 3, "model.json is not valid JSON"),
    "info/newer-format": ("info {w}/models/newer", 3, "newer than this seqtag reads"),
    "info/not-seqtag": ("info {w}/models/not_seqtag", 3, "not a seqtag model"),
    "info/users-folder": ("info {w}/mine/folder", 3, "model.json is missing"),
    # ------------------------------------------------------------------ models by name, packages
    "info/unknown-name": ("info no-such-model", 2, "no model folder or model named 'no-such-model'"),
    "models/json-is-folder": ("models --json {w}/mine", 2, "--json names a folder"),
    "models/json-over-users-file": ("models --json {w}/mine/notes.txt", 2, "exists and was not written by"),
    "package/unknown-name": ("package no-such-model -o {w}/dist", 2, "no model folder or model named"),
    "package/damaged-model": ("package {w}/models/badjson -o {w}/dist", 3, "model.json is not valid JSON"),
    "package/bad-name": ("package {w}/models/hmm --name Bad_Name -o {w}/dist", 2, "a model's name is lowercase"),
    "package/bundled-name": ("package {w}/models/hmm --name en-ner -o {w}/dist", 2, "is a bundled model's name"),
    "package/bad-version": ("package {w}/models/hmm --name mine --version latest -o {w}/dist", 2,
                            "give a release number"),
    "package/out-is-file": ("package {w}/models/hmm --name mine -o {w}/mine/notes.txt", 2, "-o names a file"),
    "train/init-missing": ("train --init {w}/models/nope -o {w}/out", 3, "no such model directory"),
    "train/init-unknown-name": ("train --init no-such-model -o {w}/out", 2, "no model folder or model named"),
    "train/init-from-hmm": ("train --init {w}/models/hmm -o {w}/out", 2, "is a hmm model"),
    "train/init-hmm-kind": ("train --model hmm --init {w}/models/bilstm -o {w}/out", 2, "has no such setting"),
    "train/init-and-network-setting": ("train --init {w}/models/bilstm --hidden 9 -o {w}/out", 2,
                                       "these differ from its: hidden"),
    "train/init-with-resume": ("train --resume --init {w}/models/bilstm -o {w}/models/bilstm", 2,
                               "--init starts a new run from a model; --resume continues"),
    "serve/unknown-model": ("serve -m no-such-model --port 0", 2, "no model folder or model named"),
    "serve/damaged-model": ("serve -m {w}/models/badjson --port 0", 3, "model.json is not valid JSON"),
    "serve/port-out-of-range": ("serve -m {w}/models/hmm --port 70000", 2, "less than or equal to 65535"),
    "serve/host-not-local": ("serve -m {w}/models/hmm --host 203.0.113.7 --port 0", 2, "cannot listen on"),
    "serve/same-name-twice": ("serve -m {w}/models/hmm -m {w}/mine/../models/hmm --port 0", 2,
                              "two models are named 'hmm'"),
    "serve/replicas-on-the-local-engine": ("serve -m {w}/models/hmm --replicas 2 --port 0", 2,
                                           "--replicas and --address are for --engine ray"),
    "serve/no-replicas": ("serve -m {w}/models/hmm --engine ray --replicas 0 --port 0", 2,
                          "greater than or equal to 1"),
    "serve/ray-damaged-model": ("serve -m {w}/models/badjson --engine ray --port 0", 3,
                                "model.json is not valid JSON"),  # before Ray starts
    "serve/ray-address-silent": ("serve -m {w}/models/hmm --engine ray --address ray://no-such-host.invalid:10001 "
                                 "--port 0", 2, "cannot reach a Ray cluster at ray://no-such-host.invalid:10001: "
                                 "nothing answers there"),
    "serve/ray-host-not-local": ("serve -m {w}/models/hmm --engine ray --host 203.0.113.7 --port 0", 2,
                                 "cannot listen on"),
    # ------------------------------------------------------------------ report
    "report/missing-model": ("report {w}/models/nope -o {w}/r.html", 3, "no such model directory"),
    "report/damaged-model": ("report {w}/models/truncated -o {w}/r.html", 3, "weights.pt is corrupt"),
    "report/out-into-model": ("report {w}/models/hmm -o {w}/models/hmm/model.json", 2,
                              "lies inside the model directory"),
    "report/out-over-gold": ("report {w}/models/hmm --data {w}/data/test.txt -o {w}/data/test.txt", 2,
                             "is the input file this command reads"),
    "report/out-over-users-file": ("report {w}/models/hmm -o {w}/mine/notes.txt", 2, "not written by seqtag report"),
    "report/other-layer": ("report {w}/models/hmm --data {w}/data/test.txt --columns word,pos,chunk,ner --layer chunk "
                           "-o {w}/r.html", 2, "the model tags layer 'ner', not 'chunk'"),
    "report/two-golds-one-model": ("report {w}/models/hmm --data {w}/data/test.txt --data {w}/data/dev.txt -o "
                                   "{w}/r.html", 2, "give one gold file for all models or one per model"),
    "report/junk-gold": ("report {w}/models/hmm --data {w}/data/junk.txt -o {w}/r.html", 2, "junk.txt:"),
    # ------------------------------------------------------------------ bench
    "bench/damaged-model": ("bench -m {w}/models/truncated --no-train", 3, "weights.pt is corrupt"),
    "bench/pickled-model": ("bench -m {w}/models/pickled --no-train", 3, "refused: it holds pickled objects"),
    "bench/missing-model": ("bench -m {w}/models/nope --no-train", 3, "no such model directory"),
    "bench/json-over-model": ("bench -m {w}/models/hmm --no-train --json {w}/models/hmm/model.json", 2,
                              "lies inside the model directory"),
    "bench/json-over-users-json": ("bench -m {w}/models/hmm --no-train --json {w}/mine/scores.json", 2,
                                   "not written by seqtag bench"),
    "bench/json-over-data": ("bench -m {w}/models/hmm --no-train --data {w}/data/test.txt --json {w}/data/test.txt",
                             2, "is the input file this command reads"),
    "bench/missing-data": ("bench -m {w}/models/hmm --no-train --data {w}/data/nope.txt", 2, "nope.txt: no such file"),
    # ------------------------------------------------------------------ export
    "export/out-is-file": ("export -m {w}/models/bilstm --format onnx -o {w}/mine/notes.txt", 2,
                           "exists and is a file"),
    "export/out-holds-users-onnx": ("export -m {w}/models/bilstm --format onnx -o {w}/mine/serving", 2,
                                    "already holds model.onnx"),
    "export/into-other-model": ("export -m {w}/models/bilstm --format onnx -o {w}/models/hmm", 2,
                                "already holds model.json"),
    "export/hmm-model": ("export -m {w}/models/hmm --format onnx -o {w}/export", 2, "only bilstm models can be exported"),
    "export/missing-model": ("export -m {w}/models/nope --format onnx -o {w}/export", 3, "no such model"),
    "export/damaged-model": ("export -m {w}/models/pickled --format onnx -o {w}/export", 3, "refused"),
    "export/format-value": ("export -m {w}/models/bilstm --format tflite", 2, "--format"),
    # ------------------------------------------------------------------ the program itself
    "seqtag/unknown-command": ("frobnicate", 2, "No such command 'frobnicate'"),
    "seqtag/unknown-global-option": ("--verbose info x", 2, "No such option: --verbose"),
}

STDIN_CASES = {  # cases about what arrives on stdin
    "tag/invalid-utf8": ("tag -m {w}/models/hmm", b"EU rejects\n\xff\xfe German\n", 2, "<stdin>:2: invalid UTF-8"),
    "tag/invalid-utf8-workers": ("tag -m {w}/models/hmm --workers 2", b"a\n\xff\n", 2, "<stdin>:2: invalid UTF-8"),
    "tag/latin1-third-line": ("tag -m {w}/models/hmm --input-format tokens", b"a\nb\n\xe9t\xe9\n", 2,
                              "<stdin>:3: invalid UTF-8"),
    "select/invalid-utf8": ("select -m {w}/models/hmm --strategy random", b"EU rejects\n\xff\n", 2,
                            "<stdin>:2: invalid UTF-8"),
    "select/ranked-by-an-hmm": ("select -m {w}/models/hmm", EOS, 2, "--strategy random works with any"),
    "select/bad-annotated": ("select -m {w}/models/hmm --strategy random --annotated {w}/data/junk.txt", EOS, 2,
                             "label 'FOO-BAR' is not a iob1 tag"),
    "select/missing-annotated": ("select -m {w}/models/hmm --strategy random --annotated {w}/data/nope.txt", EOS, 2,
                                 "nope.txt: no such file"),
    "select/zero-count": ("select -m {w}/models/hmm --strategy random -n 0", EOS, 2, "-n"),
}


def check(case, argv: str, stdin: bytes, code: int, message: str, world: Path, monkeypatch, capfd):
    before = contract.snapshot(world)
    monkeypatch.chdir(world / "mine")
    got, err = invoke(shlex.split(argv.format(w=world)), stdin, monkeypatch, capfd)
    lines = err.strip().splitlines()
    assert got == code, f"{case}: exit {got}, wanted {code}\n{err}"
    assert lines and lines[-1].startswith("error: ") and message in lines[-1], f"{case}: {err}"
    assert sum(line.startswith("error:") for line in lines) == 1, err
    assert "Traceback" not in err and "Warning" not in err, err
    contract.assert_kept(before, contract.snapshot(world), what=case)  # a refused command changes nothing
    assert not (world / "mine" / "PWNED").exists() and not Path("PWNED").exists()


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_case(case, world, monkeypatch, capfd):
    argv, code, message = CASES[case]
    check(case, argv, EOS, code, message, world, monkeypatch, capfd)


@pytest.mark.parametrize("case", sorted(STDIN_CASES))
def test_hostile_stdin(case, world, monkeypatch, capfd):
    argv, stdin, code, message = STDIN_CASES[case]
    check(case, argv, stdin, code, message, world, monkeypatch, capfd)


def test_the_catalogue_covers_every_command():
    commands = {case.split("/")[0] for case in [*CASES, *STDIN_CASES]}
    registered = {command.name or command.callback.__name__ for command in cli.app.registered_commands}
    assert len(registered) >= 9 and commands >= registered, registered - commands
    assert len(CASES) + len(STDIN_CASES) >= 100


def test_every_command_runs_inside_the_one_error_handler():
    for command in cli.app.registered_commands:
        assert getattr(command.callback, "reports_errors", False), command.callback.__name__


# ---------------------------------------------------------------------------------------------------- readers
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from seqtag.data import formats  # noqa: E402
from seqtag.errors import DataError  # noqa: E402

# bytes that look like corpora often enough to reach past the first checks: lines, columns, tags, CJK, tabs, BOMs
PIECES = [b"EU", b" ", b"\t", b"\n", b"\r\n", b"B-PER", b"I-ORG", b"S-LOC", b"O", b"NN", b"/", b"#", b"-DOCSTART-",
          b"1", b"_", "\u4e2d\u6587".encode(), b"\xff", b"\x00", b"\xef\xbb\xbf", b"-", b"#seqtag canonical 1\n"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=300), st.lists(st.sampled_from(PIECES), max_size=60).map(b"".join)),
       st.sampled_from([None, "conll", "conllu", "segmented", "slash", "canonical"]))
def test_readers_on_random_bytes_raise_only_clear_errors(tmp_path, data, fmt):
    path = tmp_path / "random.txt"
    path.write_bytes(data)
    try:
        corpus, layer, _ = formats.load_corpus(path, fmt)
    except DataError as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e)
    else:
        assert corpus.sentences and layer in corpus.layers


# ---------------------------------------------------------------------------------------------------- what does work
def test_labels_unseen_in_training_are_named_and_counted(world, tmp_path, monkeypatch, capfd):
    code, err = invoke(["train", "--model", "majority", "--train", f"{world}/data/train.txt", "--dev",
                        f"{world}/data/unseen_dev.txt", *COLUMNS.split(), "-o", str(tmp_path / "m")], b"",
                       monkeypatch, capfd)
    assert code == 0, err
    assert "warning: " in err and "unseen_dev.txt: 1 entity type(s) the training data never has: FAC (1 token(s))" in err


@pytest.mark.parametrize("threshold, reading, code", [("0.2", "fraction: 20.00%", 0), ("20", "percentage: 20.00%", 0),
                                                      ("99", "percentage: 99.00%", 1)])
def test_fail_under_reads_fractions_and_percentages(world, threshold, reading, code, monkeypatch, capfd):
    got, err = invoke(["evaluate", "-m", f"{world}/models/hmm", f"{world}/data/test.txt", "--fail-under", threshold],
                      b"", monkeypatch, capfd)
    assert got == code and f"--fail-under {threshold} read as a {reading}" in err


def test_a_report_replaces_its_own_earlier_report_and_overwrite_replaces_a_users_file(world, tmp_path, monkeypatch,
                                                                                      capfd):
    scores = tmp_path / "scores.json"
    argv = ["evaluate", "-m", f"{world}/models/hmm", f"{world}/data/test.txt", "--json", str(scores)]
    assert invoke(argv, b"", monkeypatch, capfd)[0] == 0
    assert invoke(argv, b"", monkeypatch, capfd)[0] == 0  # its own output: replaced without asking
    scores.write_text("{\"mine\": true}\n")
    assert invoke(argv, b"", monkeypatch, capfd)[0] == 2
    assert invoke([*argv, "--overwrite"], b"", monkeypatch, capfd)[0] == 0
    assert json.loads(scores.read_text())["written_by"] == "seqtag evaluate"


def test_a_model_is_replaced_by_a_model_of_its_kind_and_paths_are_stored_absolute(world, tmp_path, monkeypatch,
                                                                                   capfd):
    monkeypatch.chdir(world)
    argv = ["train", "--model", "hmm", "--train", "data/train.txt", *COLUMNS.split(), "-o", str(tmp_path / "m")]
    assert invoke(argv, b"", monkeypatch, capfd)[0] == 0
    assert invoke(argv, b"", monkeypatch, capfd)[0] == 0
    stored = json.loads((tmp_path / "m" / "model.json").read_text())["training"]["data"]["train"]["path"]
    assert stored == str(world / "data" / "train.txt")
    code, _ = invoke(["info", str(tmp_path / "m")], b"", monkeypatch, capfd)
    assert code == 0


def test_help_is_plain_text(monkeypatch, capfd):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = capfd.readouterr().out
    assert "<bool>" not in help_text and "TOML file: [model], [training]." in help_text
