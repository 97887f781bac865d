"""Paths through the tool that had no test: export and the ONNX runtime through the CLI, BiLSTM segmentation,
input features, pretrained vectors, every cell/encoder/optimizer setting, config precedence, strict scoring."""

import json
import os
import subprocess
import sys

import pytest

import seqtag
from seqtag.cli import commands as cli
from seqtag.data import formats
from seqtag import kinds

from conftest import DATA

pytestmark = pytest.mark.slow  # trains models or runs the CLI many times: not in the fast set

NER = ["word", "pos", "chunk", "ner"]
SMALL = {"hidden": 16, "layers": 1, "max_epochs": 1}


def run(*args) -> int:
    return cli.run([str(a) for a in args])


@pytest.fixture(scope="module")
def ner_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ner") / "model"
    seqtag.train(output=folder, keep_checkpoint=True, **SMALL)
    return folder


def test_export_and_tag_with_the_onnx_runtime_through_the_cli(ner_model, tmp_path):
    pytest.importorskip("onnxruntime")
    assert run("export", "-m", ner_model, "--format", "onnx") == 0
    text = "Peter Blackburn went to Paris .\nEU rejects German call .\n"
    outputs = {}
    for runtime in ("torch", "onnx"):
        (tmp_path / "in.txt").write_text(text)
        with open(tmp_path / "in.txt", "rb") as stdin:
            result = subprocess.run([sys.executable, "-m", "seqtag", "tag", "-m", str(ner_model), "--runtime", runtime,
                                     "--input-format", "tokens"], stdin=stdin, capture_output=True)
        assert result.returncode == 0, result.stderr
        outputs[runtime] = result.stdout
    assert outputs["onnx"] == outputs["torch"] and outputs["torch"].count(b"\n") == 13
    assert run("export", "-m", ner_model, "--format", "torchscript", "-o", tmp_path / "serving") == 0
    assert (tmp_path / "serving" / "model.torchscript.pt").is_file()


def test_a_serving_folder_whose_decoder_scores_changed_is_refused_with_what_to_do(ner_model, tmp_path):
    """A serving folder holds no weights: a graph whose decoder scores were edited or deleted cannot be exported
    again there, and the refusal says so (it said "weights.pt is missing", from the PyTorch fallback)."""
    pytest.importorskip("onnxruntime")
    import numpy as np

    assert run("export", "-m", ner_model, "--format", "onnx", "-o", tmp_path / "serving") == 0
    assert _tag(tmp_path / "serving").returncode == 0
    graph = (tmp_path / "serving" / "model.onnx").read_bytes()
    scores = dict(np.load(tmp_path / "serving" / "decoder.npz"))
    scores["transitions"][:] = np.nan
    np.savez(tmp_path / "serving" / "decoder.npz", **scores)
    for damage in ("edited", "deleted"):
        if damage == "deleted":
            (tmp_path / "serving" / "decoder.npz").unlink()
        done = _tag(tmp_path / "serving")
        assert done.returncode == 3 and done.stdout == b"", damage
        assert b"holds no weights to export it again from: export the model again" in done.stderr, done.stderr
        assert (tmp_path / "serving" / "model.onnx").read_bytes() == graph  # left as it was


def _tag(model, *options, text="Peter Blackburn went to Paris .\nEU rejects German call .\n"):
    return subprocess.run([sys.executable, "-m", "seqtag", "tag", "-m", str(model), "--input-format", "tokens",
                           *options], input=text.encode(), capture_output=True)


def test_onnx_is_the_default_runtime_exported_once_and_stamped(ner_model, tmp_path):
    pytest.importorskip("onnxruntime")
    import shutil

    model = tmp_path / "model"
    shutil.copytree(ner_model, model, ignore=shutil.ignore_patterns("model.onnx", "decoder.npz", "context.npz"))
    def info() -> str:
        shown = subprocess.run([sys.executable, "-m", "seqtag", "info", str(model)], capture_output=True, text=True,
                               env={**os.environ, "COLUMNS": "400"})  # no wrapped cells
        return " ".join(shown.stdout.split())

    assert "once the first `seqtag tag` has exported model.onnx" in info()
    first = _tag(model)
    assert first.returncode == 0 and b"exported the network to" in first.stderr, first.stderr
    assert "tagging runtime │ onnxruntime, model.onnx │" in info()
    assert (model / "model.onnx").is_file()
    again, torch_run = _tag(model), _tag(model, "--runtime", "torch")
    assert again.stderr == b"" and again.stdout == first.stdout == torch_run.stdout
    assert type(seqtag.load(model).predictor).__name__ == "OnnxTagger"
    # a stamped graph of another model.json is seqtag's own and stale: exported again, never run
    other = tmp_path / "other"
    shutil.copytree(model, other)
    document = json.loads((other / "model.json").read_text())
    document["training"]["retrained"] = True
    (other / "model.json").write_text(json.dumps(document))
    redone = _tag(other)
    assert redone.returncode == 0 and b"exported the network to" in redone.stderr
    assert redone.stdout == first.stdout


def test_a_graph_without_a_stamp_is_not_run_beside_weights_and_the_advice_works(ner_model, tmp_path):
    """A model.onnx that no stamp ties to the weights beside it (an older export, or someone's file) is never run in
    their place: auto tags with PyTorch and says why, --runtime onnx refuses, and the refusal's command fixes it."""
    onnx = pytest.importorskip("onnx")
    import shutil

    model = tmp_path / "model"
    shutil.copytree(ner_model, model, ignore=shutil.ignore_patterns("model.onnx", "decoder.npz", "context.npz"))
    expected = _tag(model, "--runtime", "torch").stdout
    assert run("export", "-m", model, "--format", "onnx") == 0
    graph = onnx.load(str(model / "model.onnx"))
    del graph.metadata_props[:]
    onnx.save(graph, str(model / "model.onnx"))
    unstamped = (model / "model.onnx").read_bytes()
    auto = _tag(model)
    assert auto.returncode == 0 and auto.stdout == expected and b"has no stamp" in auto.stderr, auto.stderr
    refused = _tag(model, "--runtime", "onnx")
    assert refused.returncode == 3 and b"has no stamp" in refused.stderr
    assert (model / "model.onnx").read_bytes() == unstamped  # not seqtag's to replace unasked
    advice = refused.stderr.decode().split("`")[1].split()
    assert advice[:2] == ["seqtag", "export"]
    assert run(*advice[1:]) == 0
    again = _tag(model, "--runtime", "onnx")
    assert again.returncode == 0 and again.stdout == expected


def test_without_a_writable_folder_auto_runs_pytorch_and_onnx_says_why(ner_model, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    import shutil

    from seqtag.runtime import export
    from seqtag.errors import DataError

    model = tmp_path / "model"
    shutil.copytree(ner_model, model, ignore=shutil.ignore_patterns("model.onnx", "decoder.npz", "context.npz"))
    monkeypatch.setattr(export, "writable", lambda folder: False)  # as root, permissions would not stop a write
    before = sorted(p.name for p in model.iterdir())
    assert type(seqtag.load(model).predictor).__name__ == "BiLSTMTagger"
    with pytest.raises(DataError, match="cannot be written"):
        seqtag.load(model, runtime="onnx")
    assert sorted(p.name for p in model.iterdir()) == before


def test_a_network_the_exporter_fails_on_is_a_one_line_error_and_auto_runs_pytorch(ner_model, tmp_path,
                                                                                   monkeypatch, capfd):
    pytest.importorskip("onnxruntime")
    import shutil

    import torch

    from seqtag.errors import DataError

    model = tmp_path / "model"
    shutil.copytree(ner_model, model, ignore=shutil.ignore_patterns("model.onnx", "model.int8.onnx"))

    def failing(*args, **kwargs):
        raise RuntimeError("Unsupported: prim::PackPadded\nTorch IR graph at exception: graph(...)")

    monkeypatch.setattr(torch.onnx, "export", failing)
    with pytest.raises(DataError, match=r"cannot be exported to ONNX \(Unsupported: prim::PackPadded\)") as caught:
        seqtag.load(model, runtime="onnx")
    assert "Torch IR" not in str(caught.value)
    assert type(seqtag.load(model).predictor).__name__ == "BiLSTMTagger"
    assert "Torch IR" not in capfd.readouterr().err
    assert not (model / "model.onnx").exists()


def test_the_int8_runtime_quantizes_once_from_the_float_graph(ner_model, tmp_path):
    pytest.importorskip("onnxruntime")
    import shutil

    model = tmp_path / "model"
    shutil.copytree(ner_model, model, ignore=shutil.ignore_patterns("*.onnx", "decoder.npz", "context.npz"))
    first = _tag(model, "--runtime", "onnx-int8")
    assert first.returncode == 0 and b"model.int8.onnx" in first.stderr, first.stderr
    assert (model / "model.onnx").is_file() and (model / "model.int8.onnx").is_file()
    assert (model / "model.int8.onnx").stat().st_size < (model / "model.onnx").stat().st_size / 2
    again = _tag(model, "--runtime", "onnx-int8")
    assert again.stderr == b"" and again.stdout == first.stdout and first.stdout.count(b"\n") == 13
    loaded = seqtag.load(model, runtime="onnx-int8")
    assert loaded.predictor.graph.name == "model.int8.onnx" and loaded.predictor.stamp is not None


def test_bench_splits_a_bilstm_model_time_into_stages(ner_model, tmp_path):
    pytest.importorskip("onnxruntime")
    from seqtag.report.bench import stage_seconds

    tokens = tmp_path / "tokens.txt"
    tokens.write_text("Peter Blackburn went to Paris .\nEU rejects German call .\n" * 50)
    stages = stage_seconds(ner_model, tokens)
    assert stages.pop("runtime") == "OnnxTagger"
    assert set(stages) == {"load", "read_tokenize", "model", "encode", "network", "decode", "format"}
    assert stages["encode"] + stages["network"] + stages["decode"] <= stages["model"] + 0.01


def test_processes_exporting_at_once_agree_and_leave_one_graph(ner_model, tmp_path):
    pytest.importorskip("onnxruntime")
    import shutil

    model = tmp_path / "model"
    shutil.copytree(ner_model, model, ignore=shutil.ignore_patterns("model.onnx", "decoder.npz", "context.npz"))
    command = [sys.executable, "-m", "seqtag", "tag", "-m", str(model), "--input-format", "tokens"]
    processes = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(3)]
    text = "Peter Blackburn went to Paris .\nEU rejects German call .\n"
    results = [p.communicate(text.encode()) for p in processes]
    assert all(p.returncode == 0 for p in processes), [err for _, err in results]
    assert len({out for out, _ in results}) == 1 and results[0][0] == _tag(model, "--runtime", "torch").stdout
    assert not [p.name for p in model.iterdir() if p.name.startswith(".")]


def test_a_damaged_graph_is_refused_by_onnx_and_left_alone_by_auto(ner_model, tmp_path):
    pytest.importorskip("onnxruntime")
    import shutil

    model = tmp_path / "model"
    shutil.copytree(ner_model, model, ignore=shutil.ignore_patterns("*.onnx", "decoder.npz", "context.npz"))
    (model / "model.onnx").write_bytes(b"\x08\x07garbage" * 100)
    refused = _tag(model, "--runtime", "onnx")
    assert refused.returncode == 3 and b"model.onnx cannot be read by onnxruntime" in refused.stderr
    assert b"Traceback" not in refused.stderr and b"internal error" not in refused.stderr
    fallback = _tag(model)
    assert fallback.returncode == 0 and b"tagging with PyTorch" in fallback.stderr
    assert fallback.stdout == _tag(model, "--runtime", "torch").stdout
    assert (model / "model.onnx").read_bytes() == b"\x08\x07garbage" * 100  # not ours to replace


def test_a_graph_taking_other_inputs_is_refused_at_load_not_at_the_first_batch(ner_model, tmp_path):
    pytest.importorskip("onnxruntime")
    import shutil

    import onnx

    model = tmp_path / "model"
    shutil.copytree(ner_model, model, ignore=shutil.ignore_patterns("*.onnx", "decoder.npz", "context.npz"))
    assert _tag(model).returncode == 0  # exports the graph
    graph = onnx.load(model / "model.onnx")  # as another seqtag might have exported it: int32 ids
    next(i for i in graph.graph.input if i.name == "words").type.tensor_type.elem_type = onnx.TensorProto.INT32
    onnx.save(graph, model / "model.onnx")
    edited = (model / "model.onnx").read_bytes()
    refused = _tag(model, "--runtime", "onnx")
    assert refused.returncode == 3, refused.stderr
    assert b"model.onnx does not take the inputs this model gives it (unexpected: words (tensor(int32)))" in (
        refused.stderr)
    fallback = _tag(model)
    assert fallback.returncode == 0 and b"tagging with PyTorch" in fallback.stderr
    assert fallback.stdout == _tag(model, "--runtime", "torch").stdout
    assert (model / "model.onnx").read_bytes() == edited


def test_auto_hands_probabilities_and_nbest_to_pytorch_and_workers_agree(ner_model, tmp_path):
    pytest.importorskip("onnxruntime")
    model = seqtag.load(ner_model)
    assert type(model.predictor).__name__ == "OnnxTagger"
    tagged = model.tag("Peter went to Paris .", probs=True)
    assert type(model.predictor).__name__ == "BiLSTMTagger" and len(tagged.probs) == len(tagged.tokens)
    text = "".join(f"Peter Blackburn went to Paris number {i} .\n" for i in range(300))
    parallel, single = _tag(ner_model, "--workers", "2", text=text), _tag(ner_model, "--runtime", "torch", text=text)
    assert parallel.returncode == 0 and parallel.stdout == single.stdout, parallel.stderr


def test_worker_processes_on_the_onnx_runtime_never_hang(ner_model):
    # a worker opening its own onnxruntime session beside the parent's live one hung about one run in four
    pytest.importorskip("onnxruntime")
    text = "".join(f"Peter Blackburn went to Paris number {i} .\n" for i in range(300))
    command = [sys.executable, "-m", "seqtag", "tag", "-m", str(ner_model), "--input-format", "tokens",
               "--workers", "2"]
    outputs = set()
    for _ in range(6):
        try:
            done = subprocess.run(command, input=text.encode(), capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("seqtag tag --workers 2 hung")
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1 and outputs == {_tag(ner_model, "--runtime", "torch", text=text).stdout}


def test_bilstm_segmentation_and_segmented_output(tmp_path):
    model = seqtag.train(DATA / "seg/train.txt", DATA / "seg/dev.txt", hidden=16, layers=1, max_epochs=2)
    assert model.scheme.value == "bmes" and model.metrics["dev"]["metric"] == "f1"
    lines = "".join(model.tag_lines(["中国人民", ""], "raw", "segmented")).split("\n")
    assert len(lines) == 3 and lines[1:] == ["", ""] and "".join(lines[0].split()) == "中国人民"
    assert model.tag("中国人民").spans and all(s.label == "W" for s in model.tag("中国人民").spans)


def test_input_features_are_read_from_the_training_columns_and_from_tag_input(tmp_path):
    model = seqtag.train(columns=NER, features="pos", **SMALL)
    assert model.predictor.features == ("pos",) and model.document["config"]["features"] == ["pos"]
    conll = (DATA / "ner/test.txt").read_text().splitlines()[:40]
    tagged = list(model.tag_lines(conll, "conll", "conll", columns=NER))
    assert tagged and all(len(row.split("\t")) == 2 for row in "".join(tagged).splitlines() if row)
    with pytest.raises(seqtag.errors.DataError, match="reads input column 'pos'"):
        model.tag(["Peter", "went"])


def test_pretrained_embeddings_initialise_the_word_vectors(tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("peter " + " ".join(["0.5"] * 100) + "\nparis " + " ".join(["-0.25"] * 100) + "\n")
    model = seqtag.train(embeddings=vectors, hidden=16, layers=1, max_epochs=1)
    assert model.document["config"]["model"]["embeddings"] == str(vectors.resolve())
    untrained = seqtag.train(embeddings=vectors, hidden=16, layers=1, max_epochs=1, lr=1e-12)
    words = untrained.predictor.vocab["words"]
    row = untrained.predictor.network.state_dict()["words.weight"][words.ids(["peter"])[0]]
    assert abs(float(row.mean()) - 0.5) < 1e-3  # with lr ~0 the loaded vector is still there


@pytest.mark.parametrize("settings", [{"cell": "gru"}, {"char_encoder": "cnn"}, {"char_encoder": "none"},
                                      {"optimizer": "sgd", "lr": 0.05}, {"decoder": "softmax"}])
def test_every_bilstm_setting_trains_saves_and_reloads(settings, tmp_path):
    model = seqtag.train(output=tmp_path / "m", **{**SMALL, **settings})
    saved = json.loads((tmp_path / "m" / "model.json").read_text())
    key = "training" if "optimizer" in settings else "model"
    for name, value in settings.items():
        assert saved["config"][key if name != "lr" else "training"][name] == value
    sentences = [["Peter", "Blackburn", "went", "to", "Paris"]]
    assert seqtag.load(tmp_path / "m").tag(sentences)[0].labels == model.tag(sentences)[0].labels


def test_config_precedence_defaults_then_file_then_flags(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text("[model]\nhidden = 12\nlayers = 1\n[training]\nmax_epochs = 1\npatience = 3\n")
    assert run("train", "--config", config, "--hidden", 10, "-o", tmp_path / "m") == 0
    saved = json.loads((tmp_path / "m" / "model.json").read_text())["config"]
    assert saved["model"]["hidden"] == 10  # the flag beats the file
    assert saved["model"]["layers"] == 1 and saved["training"]["patience"] == 3  # the file beats the defaults
    assert saved["model"]["char_encoder"] == "auto"  # a default, resolved by corpus size:
    tagger = json.loads((tmp_path / "m" / "model.json").read_text())["tagger"]["config"]
    assert tagger["char_encoder"] == "lstm"  # the bundled sample is under 80,000 tokens


def test_evaluate_strict_mode_through_the_cli(tmp_path):
    gold = tmp_path / "gold.txt"
    gold.write_text("John B-PER\nSmith I-PER\nin O\nParis B-LOC\n")
    pred = tmp_path / "pred.txt"
    pred.write_text("John I-PER\nSmith I-PER\nin O\nParis B-LOC\n")  # an ill-formed start of the PER chunk
    scores = {}
    for mode in ("default", "strict"):
        extra = ["--strict"] if mode == "strict" else []
        assert run("evaluate", "--pred", pred, "--gold", gold, "--scheme", "iob2", "--json",
                   tmp_path / f"{mode}.json", *extra) == 0
        scores[mode] = json.loads((tmp_path / f"{mode}.json").read_text())
    # conlleval counts John Smith as a PER chunk; strict mode does not, so it finds one of two entities
    assert scores["default"]["f1"] == 1.0 and scores["strict"]["recall"] == 0.5 and scores["strict"]["precision"] == 1
    assert scores["strict"]["mode"] == "strict"


def test_tag_reads_and_writes_every_text_format(ner_model, tmp_path):
    model = seqtag.load(ner_model)
    corpus = formats.read_corpus(DATA / "ner/test.txt", columns=NER)
    expected = [t.labels for t in model.tag([list(s.tokens) for s in corpus.sentences[:20]])]
    for name, fmt in formats.FORMATS.items():
        if not fmt.text or name == "segmented":
            continue
        written = "".join(formats.write_sentences(corpus.sentences[:20], corpus.layers if name != "slash" else
                                                  ["ner"], corpus.schemes, name))
        columns = NER if name == "conll" else None
        out = "".join(model.tag_lines(written.splitlines(), name, name, columns=columns))
        if name == "labelstudio":  # predictions, which Label Studio turns into the annotations of its export
            out = out.replace('"predictions"', '"annotations"')
        (tmp_path / f"out.{name}").write_text(out)
        back = formats.read_corpus(tmp_path / f"out.{name}", name, ["word", "ner"] if name == "conll" else None)
        layer = {"conllu": "upos", "slash": "tag", "tokens": None, "jsonl": "labels"}.get(name, "ner")
        assert [list(s.tokens) for s in back.sentences] == [list(s.tokens) for s in corpus.sentences[:20]], name
        if layer and name != "conllu":
            assert [list(labels) for labels in back.column(layer)] == expected, name


def test_every_kind_takes_a_seed_so_one_command_line_fits_all(tmp_path):
    for kind in kinds.KINDS:
        assert kinds.KINDS[kind].option("seed") is not None, kind
    assert run("train", "--model", "hmm", "--seed", 3, "-o", tmp_path / "hmm") == 0


@pytest.mark.parametrize("input_format", ["raw", "tokens", "conll", "conllu", "jsonl"])
def test_empty_input_gives_empty_output_in_every_input_format(ner_model, input_format):
    assert "".join(seqtag.load(ner_model).tag_lines(["", ""], input_format, "conll")) in ("", "\n\n")
    assert "".join(seqtag.load(ner_model).tag_lines([], input_format, "jsonl")) == ""


def test_a_write_killed_mid_export_neither_blocks_the_folder_nor_stays(ner_model, tmp_path):
    """A SIGKILL while the first `tag` exports the graph leaves `.model.onnx.seqtag-tmp-PID`: the next export removes it,
    and `train -o` and `--resume` take the folder as the model it is (the file is seqtag's own), not as a user's."""
    import shutil
    import subprocess

    model = tmp_path / "model"
    shutil.copytree(ner_model, model)
    (model / "model.onnx").unlink(missing_ok=True)
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process id that no longer runs
    leftover = model / f".model.onnx.seqtag-tmp-{dead.pid}"
    leftover.write_bytes(b"half a graph")
    assert run("train", "-o", model, "--resume", "--max-epochs", SMALL["max_epochs"] + 1) == 0
    assert not leftover.exists()  # replaced with the folder
    leftover.write_bytes(b"half a graph")
    assert run("export", "-m", model, "--format", "onnx") == 0
    assert not leftover.exists() and (model / "model.onnx").is_file()


def test_a_graph_is_tied_to_the_weights_and_scores_beside_it(ner_model, tmp_path):
    """Replaced weights, or decoder scores deleted or damaged: the graph is stale, exported again from what is
    there now, and tags as PyTorch does with those weights."""
    pytest.importorskip("onnxruntime")
    import shutil

    other = tmp_path / "other"
    seqtag.train(output=other, seed=7, **SMALL)  # the same network shape, other weights
    model = tmp_path / "model"
    shutil.copytree(ner_model, model)
    assert _tag(model).returncode == 0  # exported and current
    damages = [("weights", lambda: shutil.copy2(other / "weights.pt", model / "weights.pt")),
               ("deleted decoder", lambda: (model / "decoder.npz").unlink()),
               ("damaged decoder", lambda: (model / "decoder.npz").write_bytes(b"not an npz archive"))]
    for what, damage in damages:
        damage()
        onnx = _tag(model)
        assert onnx.returncode == 0 and b"exported the network" in onnx.stderr, (what, onnx.stderr)
        assert onnx.stdout == _tag(model, "--runtime", "torch").stdout, what
        assert b"exported" not in _tag(model).stderr  # current again
