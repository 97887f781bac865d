"""The command-line wiring: exit codes, stdout/stderr split, one-line errors."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import seqtag
from seqtag.cli import commands as cli
from seqtag.cli.commands import app

from conftest import DATA

pytestmark = pytest.mark.slow  # trains models or runs the CLI many times: not in the fast set

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


COMMANDS = ("preprocess", "train", "tag", "evaluate", "compare", "report", "bench", "info", "export")


def test_version_and_help_list_every_command():
    assert run("--version").stdout.startswith("seqtag ")
    result = run("--help")
    for command in COMMANDS:
        assert command in result.stdout


def test_help_does_not_import_torch_or_datasets():
    code = "import sys; from seqtag.cli.commands import app; print('torch' in sys.modules, 'datasets' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split() == [
        "False",
        "False",
    ]


@pytest.mark.parametrize("args", [[name, "--help"] for name in COMMANDS] + [["tag", "--bogus"], ["--debug", "tagg"]])
def test_the_app_built_for_one_command_says_what_the_whole_app_says(args, capsys, monkeypatch):
    """`run` builds only the command it runs (start-up time): the same help, errors and exit codes."""
    from seqtag.cli import app as application

    code = cli.run(args)
    one = capsys.readouterr()
    monkeypatch.setattr(application, "_app_for", lambda argv: app)
    assert cli.run(args) == code
    assert capsys.readouterr() == one
    assert one.out + one.err


def test_preprocess_converts_and_reports(tmp_path):
    result = run(
        "preprocess", DATA / "ner/train.txt", DATA / "ner/dev.txt", "--columns", "word,pos,chunk,ner",
        "--to-scheme", "bioes", "-o", tmp_path / "out/", "--json", tmp_path / "stats.json",
    )
    assert result.exit_code == 0, result.output
    assert "sentences" in result.stdout and "OOV rate" in result.stdout
    stats = json.loads((tmp_path / "stats.json").read_text())["files"]
    assert stats[str(DATA / "ner/train.txt")]["sentences"] == 300
    assert "oov_rate" in stats[str(DATA / "ner/dev.txt")]
    written = (tmp_path / "out" / "train.txt.tsv").read_text()
    assert written.startswith("#seqtag canonical 1\n#columns\tword\tpos\tchunk\tner\n#schemes\tner=bioes\n")
    again = run("preprocess", tmp_path / "out" / "train.txt.tsv", "--json", tmp_path / "again.json")
    assert again.exit_code == 0
    assert json.loads((tmp_path / "again.json").read_text())["files"].popitem()[1]["scheme"] == "bioes"


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
    assert json.loads((tmp_path / "s.json").read_text())["files"][str(path)]["tokens"] == 2


@pytest.fixture(scope="module")
def sample_model(tmp_path_factory):
    """`seqtag train` on the bundled sample, briefly."""
    path = tmp_path_factory.mktemp("models") / "ner"
    result = run("train", "-o", path, "--max-epochs", "2", "--hidden", "32", "--layers", "1")
    assert result.exit_code == 0, result.output
    assert "test: f1" in result.stdout and "epoch   2" in result.stderr
    seqtag.load(path)  # exports the network for onnxruntime (on first use): no test's output depends on its order
    return path


def test_train_writes_a_described_model(sample_model):
    document = json.loads((sample_model / "model.json").read_text())
    assert document["kind"] == "bilstm" and document["layer"] == "ner" and document["scheme"] == "iob1"
    assert document["config"]["model"]["hidden"] == 32 and document["config"]["training"]["max_epochs"] == 2
    assert document["training"]["data"]["train"]["sentences"] == 300
    assert len((sample_model / "train_log.jsonl").read_text().splitlines()) == 2
    assert isinstance(document["training"]["context_layer"]["kept"], bool)  # the held-out check ran
    result = run("info", sample_model)
    assert result.exit_code == 0 and "ner (iob1)" in result.stdout and "sha256" in result.stdout
    assert "best dev score" in result.stdout and "context layer" in result.stdout
    # the sample is small: the settings that follow the corpus size take their small-corpus values
    assert ("batches of 200 padded tokens, learning rate 0.002, at most 2 epochs, a character BiLSTM, a weight average "
            "of decay 0.99") in result.stdout


def test_train_without_dev_holds_out_part_of_the_training_file_when_asked_and_info_says_so(tmp_path):
    args = ["train", "--train", DATA / "ner" / "train.txt", "--columns", "word,pos,chunk,ner", "--max-epochs", "1",
            "--hidden", "16", "--layers", "1"]
    result = run(*args, "--hold-out", "10", "-o", tmp_path / "held")
    assert result.exit_code == 0, result.output
    info = run("info", tmp_path / "held").stdout
    assert "held out of the training data" in info and "every 10th document" in info and "best dev score" in info
    result = run(*args, "-o", tmp_path / "all")  # by default: all of it
    assert result.exit_code == 0, result.output
    info = run("info", tmp_path / "all").stdout
    assert "lowest training loss" in info and "held out" not in info and "best dev score" not in info
    refused = run(*args, "--hold-out", "1", "-o", tmp_path / "none")
    assert refused.exit_code == 2 and "--hold-out" in refused.stderr and not (tmp_path / "none").exists()
    refused = run(*args, "--hold-out", "10", "--stream", "-o", tmp_path / "streamed")  # nothing in memory to hold out
    assert refused.exit_code == 2 and "give --dev" in refused.stderr and not (tmp_path / "streamed").exists()


def test_tag_streams_every_output_format(sample_model):
    text = "EU rejects German call to boycott British lamb .\n\nPeter Blackburn\n"
    conll = run("tag", "-m", sample_model, "--input-format", "tokens", input=text)
    assert conll.exit_code == 0, conll.output
    lines = conll.stdout.split("\n")
    assert [len(line.split("\t")) for line in lines] == [2] * 9 + [1, 1] + [2, 2] + [1, 1]  # empty line kept
    assert lines[9:11] == ["", ""] and lines[11].startswith("Peter\t")
    inline = run("tag", "-m", sample_model, "--output-format", "inline", input=text)
    assert inline.stdout.splitlines()[1] == "" and inline.stdout.splitlines()[2].startswith("Peter/")
    jsonl = run("tag", "-m", sample_model, "--output-format", "jsonl", input="Peter went to Paris.\n")
    record = json.loads(jsonl.stdout)
    assert record["tokens"] == ["Peter", "went", "to", "Paris", "."] and record["offsets"][3] == [14, 19]
    assert run("tag", "-m", sample_model, input="").stdout == ""
    probs = run("tag", "-m", sample_model, "--probs", "--output-format", "jsonl", input="Peter went home\n")
    assert all(0.0 <= p <= 1.0 for p in json.loads(probs.stdout)["probs"])
    nbest = run("tag", "-m", sample_model, "--nbest", "3", "--output-format", "jsonl", input="Peter went home\n")
    record = json.loads(nbest.stdout)
    assert [a["labels"] for a in record["nbest"]][0] == record["labels"] and len(record["nbest"]) == 3
    assert record["nbest"][0]["prob"] >= record["nbest"][1]["prob"] >= record["nbest"][2]["prob"]
    assert run("tag", "-m", sample_model, "--nbest", "3", input="x\n").exit_code == 2


def test_tag_errors(sample_model, tmp_path):
    bad = run("tag", "-m", sample_model, input=b"fine\n\xff\n")
    assert bad.exit_code == 2 and "<stdin>:2: invalid UTF-8" in bad.stderr
    missing = run("tag", "-m", tmp_path / "nope", input="x\n")
    assert missing.exit_code == 3 and "no such model directory" in missing.stderr
    segmented = run("tag", "-m", sample_model, "--output-format", "segmented", input="x\n")
    assert segmented.exit_code == 2


def test_evaluate_table_json_and_gate(sample_model, tmp_path):
    result = run("evaluate", "-m", sample_model, DATA / "ner/test.txt", "--columns", "word,pos,chunk,ner",
                 "--json", tmp_path / "scores.json")
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["metric"] == "f1" and scores["mode"] == "conlleval" and scores["scheme"] == "iob1"
    assert set(scores["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
    gate = run("evaluate", "-m", sample_model, DATA / "ner/test.txt", "--fail-under", "1.01")  # saved columns
    assert gate.exit_code == 1 and "under --fail-under" in gate.stderr


def test_evaluate_prediction_file_without_model(tmp_path):
    gold = tmp_path / "gold.txt"
    gold.write_text("John B-PER\nSmith I-PER\nin O\nParis B-LOC\n")
    pred = tmp_path / "pred.txt"
    pred.write_text("John B-PER\nSmith I-PER\nin O\nParis O\n")
    result = run("evaluate", "--pred", pred, "--gold", gold, "--json", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "s.json").read_text())
    assert (scores["precision"], scores["recall"]) == (1.0, 0.5) and abs(scores["f1"] - 2 / 3) < 1e-9


def test_bench_measures_saved_models(tmp_path):
    from seqtag.training import fit
    from seqtag.data import reading

    read = reading.ReadOptions(columns=["word", "pos", "chunk", "ner"], layer="ner")
    for kind in ("hmm", "majority"):
        fit.train_model(kind, DATA / "ner/train.txt", None, None, read, {}, tmp_path / kind)
    result = run("bench", "-m", tmp_path / "hmm", "-m", tmp_path / "majority", "--no-train",
                 "--json", tmp_path / "bench.json")
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "bench.json").read_text())
    rows = {row["kind"]: row for row in figures["tagging"]}
    ratio = rows["majority"]["tag_end_to_end_tokens_per_s"] / rows["hmm"]["tag_end_to_end_tokens_per_s"]
    assert rows["majority"]["tag_speed_vs_hmm"] == round(ratio, 3) and rows["majority"]["tag_model_tokens_per_s"] > 0
    assert 0 < rows["hmm"]["peak_rss_mb"] < 2000 and figures["hardware"]["cpus"] >= 1
    assert rows["hmm"]["runtime"] == "HMMTagger" and rows["majority"]["runtime"] == "MajorityTagger"
    assert set(rows["hmm"]["stages_s"]) == {"load", "read_tokenize", "model", "format"}
    assert all(seconds >= 0 for seconds in rows["hmm"]["stages_s"].values())


def test_bench_refuses_a_device_that_is_not_here_before_measuring(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    result = run("bench", "--device", "cuda", "--json", tmp_path / "bench.json")
    assert result.exit_code == 2 and "--device cuda: no CUDA device is available here" in result.stderr
    assert not (tmp_path / "bench.json").exists()


BAD_INPUTS = {
    "truncated": (b"EU NNP I-NP I-ORG\nrejects VBZ I-V", "expected 4 columns", 2),
    "tabs mixed with spaces": (b"EU\tNNP\tI-NP\tI-ORG\nrejects VBZ I-VP O\n", "expected 4 columns", 2),
    "binary": (b"\x00\x01\x02garbage", "binary data", 1),
    "invalid utf-8": (b"EU NNP I-NP O\n\xc3\x28 NN I-NP O\n", "invalid UTF-8", 2),
    "zero bytes": (b"", "file is empty", None),
}


def test_evaluate_reads_the_gold_file_before_it_prepares_the_model(tmp_path):
    """A bad gold file is the whole story: no ONNX export into the model directory first (it happens on first use)."""
    seqtag.train(output=tmp_path / "m", hidden=8, layers=1, max_epochs=1)
    before = sorted(p.name for p in (tmp_path / "m").iterdir())
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"EU NNP I-NP I-ORG\nrejects VBZ I-V")
    result = run("evaluate", "-m", tmp_path / "m", bad)
    assert result.exit_code == 2 and result.stderr.strip().count("\n") == 0 and "bad.txt:2:" in result.stderr
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == before
    good = run("evaluate", "-m", tmp_path / "m", DATA / "ner/dev.txt")
    assert good.exit_code == 0 and "f1" in good.stdout
    assert "model.onnx" in {p.name for p in (tmp_path / "m").iterdir()} - set(before)  # exported on first use


@pytest.mark.parametrize("command", ["preprocess", "train", "evaluate"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_every_command_reports_bad_input_as_one_line(tmp_path, sample_model, command, case):
    content, message, line = BAD_INPUTS[case]
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    args = {
        "preprocess": ["preprocess", path, "--format", "conll"],
        "train": ["train", "--model", "majority", "--train", path, "--format", "conll", "-o", tmp_path / "m"],
        "evaluate": ["evaluate", "-m", sample_model, path, "--format", "conll"],
    }[command]
    result = run(*args)
    where = f"bad.txt:{line}: " if line else "bad.txt: "
    assert result.exit_code == 2 and where + message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "m").exists()


def test_gold_labels_the_model_never_saw_are_scored_as_misses(sample_model, tmp_path):
    gold = tmp_path / "gold.txt"
    gold.write_text("Acme NNP I-NP I-FOO\nsells VBZ I-VP O\n")
    result = run("evaluate", "-m", sample_model, gold, "--json", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "s.json").read_text())["per_type"]["FOO"]["recall"] == 0.0


def test_train_config_file_errors_name_the_setting(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text("[model]\nhiden = 10\n")
    result = run("train", "--config", config, "-o", tmp_path / "m")
    assert result.exit_code == 2 and "unknown [model] setting(s): hiden" in result.stderr
    config.write_text("[training]\nmax_epochs = 'ten'\n")
    result = run("train", "--config", config, "-o", tmp_path / "m")
    assert result.exit_code == 2 and "[training] max_epochs takes a whole number, not 'ten'" in result.stderr
    config.write_text("[model]\ndecoder = 'hmm'\n")
    assert "decoder must be one of crf, softmax" in run("train", "--config", config, "-o", tmp_path / "m").stderr


def test_stream_is_refused_for_baselines(tmp_path):
    result = run("train", "--model", "hmm", "--stream", "-o", tmp_path / "m")
    assert result.exit_code == 2 and "--stream is a setting of --model bilstm; --model hmm has no such setting" in result.stderr
    assert not (tmp_path / "m").exists()


def test_train_auto_holds_out_dev_data_and_keeps_to_its_time_budget(tmp_path):
    from seqtag import kinds

    args = ["train", "--model", "auto", "--train", DATA / "ner" / "train.txt", "--columns", "word,pos,chunk,ner",
            "--time-budget", "0.001", "-o", tmp_path / "auto"]
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "auto" / "model.json").read_text())
    selection = document["training"]["selection"]
    assert document["kind"] == selection["chosen"] == kinds.AUTO_CANDIDATES[0]  # the first always trains
    assert ["skipped" in c for c in selection["candidates"]] == [False, True, True]
    assert "held out: every 10th document" in selection["dev"] and "test" not in document["metrics"]
    assert f"--model auto chose {selection['why']}" in result.stderr
    assert "chosen by --model auto" in run("info", tmp_path / "auto").stdout
    # again into the same folder: the kind it would replace is not known yet, so it is refused before training
    again = run(*args)
    assert again.exit_code == 2 and "new or empty folder" in again.stderr
    assert run("train", "--model", "hmm", "--time-budget", "5", "-o", tmp_path / "hmm").exit_code == 2
    assert run("train", "--model", "auto", "--time-budget", "inf", "-o", tmp_path / "inf").exit_code == 2


def test_training_warns_of_a_layer_chosen_by_default_and_of_a_model_that_learned_nothing(tmp_path, capfd):
    train = DATA / "ner/train.txt"
    assert cli.run(["train", "--model", "hmm", "--train", str(train), "-o", str(tmp_path / "hmm")]) == 0
    err = capfd.readouterr().err
    assert "warning: no --layer given: training on the last column, 'col4' (the layers are col2, col3, col4)" in err
    # the dev set's own words, every one labelled O, and one name: the majority baseline tags the dev set all O
    rows = [line.split() for line in (DATA / "ner/dev.txt").read_text().splitlines()]
    dev = "".join(f"{r[0]} {r[3]}\n" if r else "\n" for r in rows if not r or r[0] != "-DOCSTART-")
    (tmp_path / "dev.txt").write_text(dev)
    (tmp_path / "train.txt").write_text("Zork B-PER\n\n" + "".join(f"{r[0]} O\n" if r else "\n" for r in rows
                                                                   if not r or r[0] != "-DOCSTART-"))
    assert cli.run(["train", "--model", "majority", "--train", str(tmp_path / "train.txt"), "--dev",
                    str(tmp_path / "dev.txt"), "--layer", "col2", "-o", str(tmp_path / "m")]) == 0
    err = capfd.readouterr().err
    assert "--layer given" not in err  # named: no warning
    assert "warning: the model scores 0.00 f1 on dev: it learned nothing" in err


def test_evaluate_pred_reads_seqtag_tag_output_beside_a_four_column_gold(sample_model, tmp_path):
    """`tag` writes word and label; `--columns` names the gold's columns, and the two-column prediction is read as
    word and the gold's layer: the score is the model's own `evaluate`."""
    gold = DATA / "ner/test.txt"
    tagged = run("tag", "-m", sample_model, "--input-format", "conll", "--columns", "word,pos,chunk,ner",
                 input=gold.read_text())
    assert tagged.exit_code == 0
    (tmp_path / "system.txt").write_text(tagged.stdout)
    scored = run("evaluate", "--pred", tmp_path / "system.txt", "--gold", gold, "--columns", "word,pos,chunk,ner",
                 "--json", tmp_path / "pred.json")
    assert scored.exit_code == 0, scored.output
    run("evaluate", "-m", sample_model, gold, "--columns", "word,pos,chunk,ner", "--json", tmp_path / "model.json")
    pred, own = (json.loads((tmp_path / name).read_text()) for name in ("pred.json", "model.json"))
    assert pred["f1"] == own["f1"] and pred["per_type"] == own["per_type"]


def test_train_reads_stdin_plain_or_gzipped_like_the_file(tmp_path):
    import gzip

    train = (DATA / "ner/train.txt").read_bytes()

    def seqtag_cli(*args, stdin=b""):
        return subprocess.run([sys.executable, "-m", "seqtag", *map(str, args)], input=stdin, capture_output=True,
                              timeout=120)

    common = ["--model", "hmm", "--columns", "word,pos,chunk,ner", "--layer", "ner"]
    assert seqtag_cli("train", "--train", DATA / "ner/train.txt", *common, "-o", tmp_path / "file").returncode == 0
    for name, data in (("plain", train), ("gz", gzip.compress(train))):
        done = seqtag_cli("train", "--train", "-", *common, "-o", tmp_path / name, stdin=data)
        assert done.returncode == 0, done.stderr
        assert json.loads((tmp_path / name / "model.json").read_text())["training"]["data"]["train"]["path"] == \
            "<stdin>"
    test = (DATA / "ner/test.txt").read_bytes()
    tagged = {name: seqtag_cli("tag", "-m", tmp_path / name, "--input-format", "conll", "--columns",
                               "word,pos,chunk,ner", stdin=test).stdout for name in ("file", "plain", "gz")}
    assert tagged["file"] and tagged["plain"] == tagged["file"] and tagged["gz"] == tagged["file"]
    for extra, message in ((["--stream"], b"--train - reads stdin once; --stream"),
                           (["--model", "auto"], b"--model auto reads the training file once per candidate")):
        done = seqtag_cli("train", "--train", "-", *extra, "-o", tmp_path / "refused", stdin=train)
        assert done.returncode == 2 and message in done.stderr and not (tmp_path / "refused").exists()
    empty = seqtag_cli("train", "--train", "-", *common, "-o", tmp_path / "empty", stdin=b"")
    assert empty.returncode == 2 and empty.stderr.startswith(b"error: <stdin>: ")


def test_evaluate_without_a_gold_file_scores_the_models_own_test_file(sample_model, tmp_path):
    assert run("evaluate", "-m", sample_model, "--json", tmp_path / "own.json").exit_code == 0
    assert run("evaluate", "-m", sample_model, DATA / "ner/test.txt", "--json", tmp_path / "named.json").exit_code == 0
    own, named = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("own", "named"))
    assert own["f1"] == named["f1"] and own["sentences"] == 100
    assert run("evaluate", "--pred", DATA / "ner/test.txt").exit_code == 2  # --pred still needs its --gold


def test_resume_refuses_a_dev_or_train_file_that_changed_since_the_run(tmp_path):
    import shutil

    for name in ("train.txt", "dev.txt"):
        shutil.copy(DATA / "ner" / name, tmp_path / name)
    args = ["--train", tmp_path / "train.txt", "--dev", tmp_path / "dev.txt", "--columns", "word,pos,chunk,ner",
            "--hidden", "8", "--layers", "1", "--char-encoder", "none", "--max-epochs", "1", "--keep-checkpoint",
            "-o", tmp_path / "m"]
    assert run("train", *args).exit_code == 0
    before = (tmp_path / "m" / "model.json").read_bytes()
    for name in ("dev.txt", "train.txt"):
        original = (tmp_path / name).read_text()
        (tmp_path / name).write_text(original + "\nExtra NNP I-NP O\n")  # one sentence more
        resumed = run("train", "-o", tmp_path / "m", "--resume", "--max-epochs", "2")
        assert resumed.exit_code == 2 and f"this {name[:-4]} file is not the one the run was trained with" in \
            resumed.output
        assert (tmp_path / "m" / "model.json").read_bytes() == before
        (tmp_path / name).write_text(original)
    assert run("train", "-o", tmp_path / "m", "--resume", "--max-epochs", "2").exit_code == 0  # the same data again


def test_memory_running_out_is_one_line_saying_so_not_an_internal_error(monkeypatch, capsys):
    from seqtag.cli import app

    for error in (MemoryError(), RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't "
                                              "allocate memory: you tried to allocate 1073741824 bytes"),
                  RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")):
        message, code = app._described(error)
        assert code == 2 and message.startswith("out of memory: ") and "--batch-size" in message
    assert app._described(RuntimeError("a bug"))[1] == 4
