"""Models ready to use: the bundled models load and tag everywhere (and reproduce their recorded scores where
../shared is present), the compact form tags as the full model does, and models are found by name."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from test_bilstm import synthetic
from test_vectors import WORDS, fasttext_vec, matrix, train_with, word_vector

import seqtag
from seqtag import bundled, catalog
from seqtag.cli import commands as cli
from seqtag.errors import DataError
from seqtag.runtime.compact import compact
from seqtag.runtime.export import graph_state
from seqtag.models.loading import load_model

BUNDLED = bundled.names()
# a news paragraph written for this test, with the entities a reader finds in it (written before the model ran)
NEWS = ("The European Central Bank kept interest rates unchanged on Thursday, and its president, Christine Lagarde, "
        "said inflation in Germany and France was falling faster than expected. Shares of Siemens rose 3 percent in "
        "Frankfurt after the company won a contract from Deutsche Bahn. In New York, Goldman Sachs analysts said the "
        "Federal Reserve would cut rates in March.",
        {("European Central Bank", "ORG"), ("Christine Lagarde", "PER"), ("Germany", "LOC"), ("France", "LOC"),
         ("Siemens", "ORG"), ("Frankfurt", "LOC"), ("Deutsche Bahn", "ORG"), ("New York", "LOC"),
         ("Goldman Sachs", "ORG"), ("Federal Reserve", "ORG")})


# ---------------------------------------------------------------------------------------------------- bundled models


def test_the_three_models_are_bundled():
    assert set(BUNDLED) == {"en-ner", "en-pos", "zh-seg"}


@pytest.mark.parametrize("name", BUNDLED)
def test_a_bundled_model_loads_by_name_tags_and_carries_its_recipe(name):
    folder = catalog.resolve(name)
    assert folder == bundled.folder(name) and graph_state(folder) == "current"  # its graph is its weights'
    recipe = catalog.recipe(folder)
    assert recipe["name"] == name and recipe["licence"] and recipe["data"] and recipe["commands"]["train"]
    assert set(recipe["scores"]) == {"full", "shipped"}
    assert sum(f.stat().st_size for f in folder.iterdir()) <= 15_000_000  # the size budget of a bundled model
    text = {"en-ner": NEWS[0], "en-pos": "The cat sat on the mat.", "zh-seg": "我们在北京工作。"}[name]
    onnx, torch_ = seqtag.load(name), seqtag.load(name, runtime="torch")  # both runtimes read the shipped form
    assert onnx.choice.runtime == "onnx"
    assert onnx.tag(text).labels == torch_.tag(text).labels


def test_en_ner_finds_the_entities_of_a_news_paragraph():
    if "en-ner" not in BUNDLED:
        pytest.skip("en-ner is not bundled here")
    result = seqtag.load("en-ner").tag(NEWS[0])
    assert {(span.text, span.label) for span in result.spans} == NEWS[1]


@pytest.mark.slow
@pytest.mark.parametrize("name", BUNDLED)
def test_a_bundled_model_reproduces_its_recorded_test_score(name, shared_corpora):
    recipe = catalog.recipe(bundled.folder(name))
    report = seqtag.load(name).evaluate(bundled.RECIPES[name].test_file(shared_corpora))
    recorded = recipe["scores"]["shipped"]
    assert report["sentences"] == recorded["sentences"]
    assert abs(report[report["metric"]] - recorded[recorded["metric"]]) < 1e-4


# ---------------------------------------------------------------------------------------------------- models by name


def test_a_path_that_exists_comes_before_a_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "en-ner").mkdir()
    assert catalog.resolve("en-ner") == tmp_path.joinpath("en-ner").relative_to(tmp_path)
    assert catalog.resolve("some/folder") == Path("some/folder")  # a path: the loader reports it missing


def test_an_unknown_name_lists_the_names_there_are():
    with pytest.raises(DataError, match="no model folder or model named 'nope'; the models by name are: ") as error:
        catalog.resolve("nope")
    assert all(name in str(error.value) for name in BUNDLED)


def test_seqtag_models_lists_bundled_and_local_models(hmm_model, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(hmm_model, tmp_path / "models" / "mine")
    assert cli.run(["models", "--json", "models.json"]) == 0
    listed = {row["name"]: row for row in json.loads((tmp_path / "models.json").read_text())["models"]}
    assert set(BUNDLED) <= set(listed)
    mine = listed[os.path.join("models", "mine")]
    assert mine["source"] == "local" and mine["kind"] == "hmm" and mine["licence"] == "not stated"
    assert mine["size_bytes"] == sum(f.stat().st_size for f in (tmp_path / "models" / "mine").iterdir())
    for name in BUNDLED:
        assert listed[name]["source"] == "bundled" and listed[name]["score"]["value"] > 0.5
    shown = capsys.readouterr().out
    assert all(name in shown for name in BUNDLED) and "licence" in shown


# ---------------------------------------------------------------------------------------------------- compact form


@pytest.fixture(scope="module")
def with_vectors(tmp_path_factory):
    """A tiny NER model with vectors for four words training never saw (london, berlin, 0000, ünïcode)."""
    root = tmp_path_factory.mktemp("compact")
    path = root / "vectors.vec"
    path.write_bytes(fasttext_vec(WORDS, matrix()))
    train_with(root, path, epochs=3, hidden=64)  # its recurrent weights big enough to be stored halved
    return root / "model"


@pytest.mark.slow
def test_the_compact_form_keeps_the_first_pretrained_words_and_tags_as_the_full_model(with_vectors, tmp_path):
    full = load_model(with_vectors)
    shipped = compact(with_vectors, tmp_path / "small", keep_words=2)
    small = load_model(shipped)
    trained = full.network.words.num_embeddings
    assert small.vocab["words"].items == full.vocab["words"].items[:trained + 2]
    assert small.config.pretrained_words == 2
    # kept: the same vector (the frozen table was float16 already); cut: an unknown word now
    assert np.array_equal(word_vector(small, "berlin"), word_vector(full, "berlin"))
    assert full.vocab["words"].id("ünïcode") >= trained and small.vocab["words"].id("ünïcode") == 1
    document = json.loads((shipped / "model.json").read_text())
    assert document["compact"] == {"pretrained_words": 2, "pretrained_words_before": 4, "precision": "float16"}
    weights = torch.load(shipped / "weights.pt", weights_only=True)
    assert weights["rnn.weight_hh_l0"].dtype == torch.float16 and weights["crf.transitions"].dtype == torch.float32
    sentences = synthetic(40, 3).sentences
    assert small.predict(sentences) == full.predict(sentences)


@pytest.mark.slow
def test_the_compact_graph_is_half_size_and_computes_what_pytorch_computes(with_vectors, tmp_path):
    pytest.importorskip("onnxruntime")
    from seqtag.runtime.export import export, input_names
    from seqtag.runtime.onnx_tagger import OnnxTagger

    shipped = compact(with_vectors, tmp_path / "small")
    export(with_vectors, "onnx", tmp_path / "graph")  # the full model's graph, float32 throughout
    assert (shipped / "model.onnx").stat().st_size < 0.6 * (tmp_path / "graph" / "model.onnx").stat().st_size
    small, graph = load_model(shipped), OnnxTagger(shipped)
    small.network.eval()
    sentences = [s for s in synthetic(20, 4).sentences if len(s.tokens) == len(synthetic(20, 4).sentences[0].tokens)]
    arrays = small.encoder.encode(sentences)
    with torch.no_grad():
        expected = small.network.emissions({k: torch.from_numpy(v) for k, v in arrays.items()}).numpy()
    found = graph.session.run(None, {name: arrays[name] for name in input_names(small)})[0]
    assert np.allclose(found, expected, atol=1e-4)
    assert graph.predict(synthetic(40, 3).sentences) == small.predict(synthetic(40, 3).sentences)


# ---------------------------------------------------------------------------------------------------- model packages


@pytest.mark.slow
def test_a_packaged_model_installed_in_a_new_venv_is_found_by_name(hmm_model, tmp_path):
    """package -> pip install of the wheel into a fresh venv (seqtag itself seen through a .pth line) -> tag by name."""
    import subprocess
    import sys
    import sysconfig

    from conftest import ROOT

    pytest.importorskip("setuptools")
    assert cli.run(["package", str(hmm_model), "-o", str(tmp_path / "dist"), "--name", "tiny-hmm", "--version",
                    "0.2.0"]) == 0
    wheel = tmp_path / "dist" / "seqtag_model_tiny_hmm-0.2.0-py3-none-any.whl"
    assert wheel.is_file()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "seqtag-here.pth").write_text(f"{ROOT}\n{sysconfig.get_paths()['purelib']}\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", site,
                    str(wheel)], check=True)
    listed = subprocess.run([python, "-m", "seqtag", "models", "--json", str(tmp_path / "m.json")], cwd=tmp_path,
                            capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads((tmp_path / "m.json").read_text())["models"]}
    assert rows["tiny-hmm"]["source"] == "installed" and rows["tiny-hmm"]["kind"] == "hmm"
    tagged = subprocess.run([python, "-m", "seqtag", "tag", "-m", "tiny-hmm", "--input-format", "tokens"],
                            input="Peter went to Paris .\n", capture_output=True, text=True, cwd=tmp_path)
    expected = seqtag.load(hmm_model).tag("Peter went to Paris .".split()).labels
    assert tagged.returncode == 0 and [line.split("\t")[1] for line in tagged.stdout.split("\n") if line] == expected
    loaded = subprocess.run([python, "-c", "import seqtag; print(seqtag.load('tiny-hmm').kind)"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert loaded.stdout.strip() == "hmm", loaded.stderr
    assert "tiny-hmm" not in catalog.installed()  # only that venv has it
