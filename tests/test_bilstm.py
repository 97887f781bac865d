"""The BiLSTM tagger: learns a tiny task, saves and loads exactly, is repeatable, resumes, never half-writes."""

import json
import os
import random

import numpy as np
import pytest
import torch

import seqtag
from seqtag.data import formats
from seqtag.training import fit
from seqtag.data import reading
from seqtag.data.corpus import Corpus, Sentence
from seqtag.errors import DataError, ModelFormatError
from seqtag.models.tagger import save_model
from seqtag.models.loading import load_model

pytestmark = pytest.mark.slow  # trains models or runs the CLI many times: not in the fast set

TINY_MODEL = {"word_dim": 16, "case_dim": 4, "char_dim": 8, "char_hidden": 8, "hidden": 24, "layers": 1,
              "dropout": 0.1, "rare_word_dropout": 0.0}


def synthetic(n: int, seed: int) -> Corpus:
    """Names after 'mr' are PER (two tokens), 'paris' is LOC: needs context and the CRF's transitions."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(n):
        tokens, tags = [], []
        for _ in range(rng.randint(2, 6)):
            choice = rng.random()
            if choice < 0.25:
                tokens += ["mr", rng.choice(["john", "paul"]), rng.choice(["smith", "jones"])]
                tags += ["O", "B-PER", "I-PER"]
            elif choice < 0.4:
                tokens.append("paris")
                tags.append("B-LOC")
            else:
                tokens.append(rng.choice(["the", "cat", "sat", "on", "a", "mat"]))
                tags.append("O")
        sentences.append(Sentence(tuple(tokens), {"ner": tuple(tags)}))
    return Corpus(sentences, ("ner",), source="synthetic")


def write(corpus: Corpus, path) -> str:
    formats.write_corpus(corpus, path, "conll")
    return str(path)


def train(tmp_path, name="model", epochs=12, decoder="crf", seed=1, resume=False, train_path=None, dev_path=None,
          stream_buffer=None, char_encoder=None, ema=None):
    train_path = train_path or write(synthetic(150, 0), tmp_path / "train.txt")
    dev_path = dev_path or write(synthetic(150, 1), tmp_path / "dev.txt")
    config = {"model": {**TINY_MODEL, "decoder": decoder, **({"char_encoder": char_encoder} if char_encoder else {})},
              "training": {"max_epochs": epochs, "seed": seed, "lr": 0.01, "batch_tokens": 200, "patience": 50,
                           "keep_checkpoint": True}}
    read = reading.ReadOptions(format="conll", columns=["word", "ner"], stream=stream_buffer is not None)
    if stream_buffer is not None:
        config["training"]["stream_buffer"] = stream_buffer
    if ema is not None:
        config["training"]["ema"] = ema
    return fit.train_model("bilstm", train_path, dev_path, None, read, config, tmp_path / name, resume)


@pytest.mark.parametrize("decoder", ["crf", "softmax"])
def test_learns_a_tiny_task_to_100_percent(tmp_path, decoder):
    document = train(tmp_path, decoder=decoder)
    assert document["metrics"]["dev"]["f1"] == 1.0
    tagger = load_model(tmp_path / "model")
    test = synthetic(30, 7)
    assert tagger.predict(test.sentences) == [list(s.labels["ner"]) for s in test.sentences]


def test_save_load_and_batching_give_identical_predictions(tmp_path):
    train(tmp_path, epochs=3)
    tagger = load_model(tmp_path / "model")
    sentences = synthetic(25, 3).sentences + [Sentence(("unseen", "Words", "x" * 80), {})]
    batched = tagger.predict(sentences)
    assert batched == [tagger.predict([s])[0] for s in sentences]
    save_model(tagger, tmp_path / "copy", {"config": {}})
    assert load_model(tmp_path / "copy").predict(sentences) == batched


def test_same_seed_same_weights_and_resume_matches_an_uninterrupted_run(tmp_path):
    train(tmp_path, "a", epochs=4)
    train(tmp_path, "b", epochs=4)
    train(tmp_path, "c", epochs=2)
    log_c = (tmp_path / "c" / "train_log.jsonl").read_text().splitlines()
    assert len(log_c) == 2
    train(tmp_path, "c", epochs=4, resume=True)
    weights = {name: torch.load(tmp_path / name / "checkpoint.pt", weights_only=True)["model"] for name in "abc"}
    for key in weights["a"]:
        assert torch.equal(weights["a"][key], weights["b"][key])
        assert torch.equal(weights["a"][key], weights["c"][key]), key
    log = [json.loads(line) for line in (tmp_path / "c" / "train_log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3, 4]


def test_a_streamed_corpus_trains_like_one_in_memory(tmp_path):
    """With a buffer as large as the corpus, streaming makes the very same batches in the same order; with a small
    buffer the order differs (shuffled within buffers) but the task is still learned."""
    train(tmp_path, "memory", epochs=3)
    train(tmp_path, "stream", epochs=3, stream_buffer=1000)
    weights = {name: torch.load(tmp_path / name / "weights.pt", weights_only=True) for name in ("memory", "stream")}
    assert all(torch.equal(weights["memory"][k], weights["stream"][k]) for k in weights["memory"])
    document = train(tmp_path, "small-buffer", stream_buffer=40)
    assert document["config"]["training"]["stream_buffer"] == 40 and document["training"]["read"]["stream"]
    assert document["training"]["data"]["train"]["sentences"] == 150
    assert document["metrics"]["dev"]["f1"] >= 0.98
    log = [json.loads(line) for line in (tmp_path / "small-buffer" / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["sentences_per_s"] > 0 and len(log) == 12


def test_resuming_from_a_checkpoint_of_an_older_version_is_refused_clearly(tmp_path):
    train(tmp_path, epochs=1)
    checkpoint = torch.load(tmp_path / "model" / "checkpoint.pt", weights_only=True)
    del checkpoint["dropout_generator"]
    torch.save(checkpoint, tmp_path / "model" / "checkpoint.pt")
    with pytest.raises(ModelFormatError, match="lacks dropout_generator"):
        train(tmp_path, epochs=2, resume=True)


def test_a_run_saved_before_weight_averaging_existed_resumes_without_one(tmp_path):
    train(tmp_path, epochs=1, ema=0.0)  # a small corpus: today's default would average
    path = tmp_path / "model" / "model.json"
    document = json.loads(path.read_text())
    del document["config"]["training"]["ema"]  # as saved before the setting existed
    path.write_text(json.dumps(document))
    resumed = seqtag.train(output=tmp_path / "model", resume=True, max_epochs=2)
    assert resumed.document["training"]["ema"] == 0.0 and resumed.document["training"]["epochs"] == 2


@pytest.mark.parametrize("damage", ["lr", "data", "kind"])
def test_resuming_a_run_whose_saved_record_is_damaged_names_model_json_and_changes_nothing(tmp_path, damage):
    train(tmp_path, epochs=1)
    with pytest.raises(DataError, match="max_epochs must be at least 1"):  # the caller's value, not the record's
        seqtag.train(output=tmp_path / "model", resume=True, max_epochs=0)
    path = tmp_path / "model" / "model.json"
    document = json.loads(path.read_text())
    if damage == "lr":
        document["training"]["lr"] = "fast"
    elif damage == "data":
        del document["training"]["data"]
    else:
        document["kind"] = "oracle"
    path.write_text(json.dumps(document))
    before = {p.name: p.read_bytes() for p in (tmp_path / "model").iterdir()}
    # a field of the wrong type is named by the schema check at load; a record missing its parts, by resume
    expected = ("training.lr is a string, expected a number" if damage == "lr"
                else "cannot be resumed: its record is damaged")
    with pytest.raises(ModelFormatError, match=expected) as error:
        seqtag.train(output=tmp_path / "model", resume=True, max_epochs=2)
    assert error.value.path == str(path)
    assert {p.name: p.read_bytes() for p in (tmp_path / "model").iterdir()} == before


def test_an_interrupted_save_leaves_the_previous_model(tmp_path, monkeypatch):
    train(tmp_path, epochs=1)
    before = (tmp_path / "model" / "weights.pt").read_bytes()
    tagger = load_model(tmp_path / "model")
    real_save = torch.save

    def crash(obj, path, *args, **kwargs):
        if str(path).endswith("weights.pt"):
            real_save(obj, path)
            raise KeyboardInterrupt  # killed half-way through writing the new model
        real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(tagger, tmp_path / "model", {"config": {}})
    assert (tmp_path / "model" / "weights.pt").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["dev.txt", "model", "train.txt"]  # no staging folder left
    load_model(tmp_path / "model")


def test_loading_refuses_pickles_newer_formats_and_broken_files(tmp_path):
    train(tmp_path, epochs=1)
    model = tmp_path / "model"
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    weights = (model / "weights.pt").read_bytes()
    torch.save({"x": Payload()}, model / "weights.pt")
    with pytest.raises(ModelFormatError, match="corrupt or unsafe"):
        load_model(model)
    assert not marker.exists()
    (model / "weights.pt").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ModelFormatError, match="corrupt or unsafe"):
        load_model(model)
    (model / "weights.pt").write_bytes(weights)
    document = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps({**document, "format_version": 99}))
    with pytest.raises(ModelFormatError, match="newer than this seqtag reads"):
        load_model(model)
    with pytest.raises(ModelFormatError, match="no such model directory"):
        load_model(tmp_path / "missing")


@pytest.mark.parametrize("decoder, char_encoder", [("crf", "cnn"), ("softmax", "cnn"), ("crf", "lstm")])
def test_onnx_export_gives_the_same_labels(tmp_path, decoder, char_encoder):
    """The character BiLSTM packs sequences in PyTorch and is exported in an unpacked form of the same function."""
    pytest.importorskip("onnxruntime")
    from seqtag.runtime.export import export
    from seqtag.runtime.onnx_tagger import OnnxTagger

    train(tmp_path, epochs=3, decoder=decoder, char_encoder=char_encoder)
    export(tmp_path / "model", "onnx")
    onnx_tagger = OnnxTagger(tmp_path / "model")
    torch_tagger = load_model(tmp_path / "model")
    sentences = synthetic(40, 5).sentences + [Sentence(("Unseen", "mr", "Words", "x" * 80), {})]
    assert onnx_tagger.predict(sentences) == torch_tagger.predict(sentences)


def test_the_encoders_token_cache_changes_no_array(tmp_path, monkeypatch):
    """Ids computed once per token: batches encoded by a warm encoder, and by one whose bounded cache is cleared
    as it fills, equal those of a fresh encoder, position by position (padding zero)."""
    from seqtag.models import encoding
    from seqtag.models.encoding import Encoder, casing, normalize_word

    train(tmp_path, epochs=1)
    document = json.loads((tmp_path / "model" / "model.json").read_text())
    batches = [synthetic(20, seed).sentences + [Sentence(("Unseen", "MR", "x" * 80, "12:30"), {})] for seed in (3, 4)]
    warm, fresh = Encoder.of_model(document), Encoder.of_model(document)
    monkeypatch.setattr(encoding, "CACHE_TOKENS", 5)
    small = Encoder.of_model(document)
    for sentences in batches + batches:
        expected = Encoder.of_model(document).encode(sentences)
        words = Encoder.of_model(document).vocab["words"]
        for i, sentence in enumerate(sentences):  # the ids themselves, computed here without the encoder
            assert expected["words"][i, : len(sentence)].tolist() == [words.id(normalize_word(t)) for t in sentence.tokens]
            assert expected["cases"][i, : len(sentence)].tolist() == [casing(t) for t in sentence.tokens]
        for encoder in (warm, fresh, small):
            arrays = encoder.encode(sentences)
            assert arrays.keys() == expected.keys()
            for name, array in expected.items():
                assert (arrays[name] == array).all(), name
    assert len(small._codes) <= 5 + len({t for s in batches[1] for t in s.tokens})
    lengths = expected["lengths"]
    assert not expected["words"][np.arange(expected["words"].shape[1])[None, :] >= lengths[:, None]].any()


def test_torchscript_export_computes_the_same_emissions(tmp_path):
    from seqtag.runtime.export import TORCHSCRIPT_FILE, export, input_names

    train(tmp_path, epochs=1)
    export(tmp_path / "model", "torchscript", tmp_path / "ts")
    tagger = load_model(tmp_path / "model")
    scripted = torch.jit.load(str(tmp_path / "ts" / TORCHSCRIPT_FILE))
    batch = tagger.encoder.encode(synthetic(5, 9).sentences[:1])
    inputs = [torch.from_numpy(batch[name]) for name in input_names(tagger)]
    with torch.no_grad():
        expected = tagger.network.eval().emissions({k: torch.from_numpy(v) for k, v in batch.items()})
        assert torch.allclose(scripted(*inputs), expected, atol=1e-5)


def test_patience_waits_for_min_updates_on_a_small_corpus():
    import seqtag

    small = {"hidden": 16, "layers": 1, "decoder": "softmax", "max_epochs": 8, "patience": 1}
    hasty = seqtag.train(min_updates=0, **small)
    patient = seqtag.train(**small)  # the default, 300 steps: more than 8 epochs of the bundled sample
    assert hasty.document["training"]["stopped"] == "patience" and hasty.document["training"]["epochs"] < 8
    assert patient.document["training"]["stopped"] == "max_epochs" and patient.document["training"]["epochs"] == 8
    log = [json.loads(line) for line in patient.files["train_log.jsonl"].splitlines()]
    assert len({record["updates"] for record in log}) == 1 and 0 < log[0]["updates"] * 8 < 300


def documents(n: int, seed: int) -> Corpus:
    """Documents whose first sentence names a topic; later sentences mention "zork", a LOC in a document about a
    city and a PER in one about a person: only a neighbouring sentence tells which."""
    rng = random.Random(seed)
    sentences = []
    for document in range(n):
        topic = rng.choice(["city", "person"])
        sentences.append(Sentence(("about", "a", topic), {"ner": ("O", "O", "O")}, document=document))
        for _ in range(rng.randint(1, 3)):
            before = [rng.choice(["we", "saw", "the", "there"]) for _ in range(rng.randint(0, 3))]
            tokens = (*before, "zork", rng.choice(["again", "today"]))
            tags = ("O",) * len(before) + ("B-LOC" if topic == "city" else "B-PER", "O")
            sentences.append(Sentence(tokens, {"ner": tags}, document=document))
    return Corpus(sentences, ("ner",), source="documents")


def test_document_windows_keep_documents_whole_within_the_budget():
    from seqtag.models.encoding import document_windows

    def sentence(n, document):
        return Sentence(("w",) * n, {}, document=document)

    sentences = [sentence(3, 0), sentence(4, 0), sentence(0, 0), sentence(5, 0), sentence(2, 1), sentence(9, 1),
                 sentence(2, None), sentence(2, None), sentence(20, 2)]
    assert document_windows(sentences, 12) == [[0, 1, 3], [4, 5], [6], [7], [8]]
    assert document_windows(sentences, 7) == [[0, 1], [3], [4], [5], [6], [7], [8]]
    assert document_windows(sentences, 0) == [[i] for i in (0, 1, 3, 4, 5, 6, 7, 8)]
    # document 0 of two independent inputs tagged together (`seqtag serve`'s requests): never one window
    two = [Sentence(("w",) * 3, {}, document=0, scope=0), Sentence(("w",) * 3, {}, document=0, scope=1),
           Sentence(("w",) * 3, {}, document=0, scope=1)]
    assert document_windows(two, 12) == [[0], [1, 2]]


def test_a_document_window_lets_the_network_read_the_neighbouring_sentences(tmp_path):
    train_path, dev_path = write(documents(60, 0), tmp_path / "train.txt"), write(documents(40, 1), tmp_path / "dev.txt")
    scores = {}
    for window in (0, 64):
        config = {"model": {**TINY_MODEL, "document_window": window, "context": False},
                  "training": {"max_epochs": 20, "seed": 1, "lr": 0.01, "batch_tokens": 200, "patience": 50}}
        read = reading.ReadOptions(format="conll", columns=["word", "ner"])
        document = fit.train_model("bilstm", train_path, dev_path, None, read, config, tmp_path / str(window))
        scores[window] = document["metrics"]["dev"]["f1"]
    assert scores[64] == 1.0  # the topic is two sentences away at most: a window of 64 tokens holds it
    assert scores[0] < 0.8  # alone, a sentence leaves "zork" a guess between LOC and PER

    # seqtag tag: lines of text between blank lines are a document, and no document mark is written back
    lines = ["about a city", "we saw zork today", "", "about a person", "zork again", "", "zork today"]
    for runtime in ("torch", "auto"):
        output = "".join(seqtag.load(tmp_path / "64", runtime=runtime).tag_lines(lines, "tokens", "conll"))
        tags = [line.split("\t")[1] for line in output.splitlines() if line.startswith("zork")]
        assert tags[:2] == ["B-LOC", "B-PER"] and "DOCSTART" not in output


def test_models_saved_before_the_document_window_read_sentences_alone(tmp_path):
    from seqtag.models.encoding import Encoder

    train(tmp_path, epochs=1)
    path = tmp_path / "model" / "model.json"
    document = json.loads(path.read_text())
    assert document["tagger"]["config"].pop("document_window") == 64  # the default now
    path.write_text(json.dumps(document))
    assert load_model(tmp_path / "model").config.document_window == 0
    assert Encoder.of_model(document).window == 0


def test_onnx_runs_document_windows_as_pytorch_does(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from seqtag.models.encoding import document_windows
    from seqtag.runtime.export import export
    from seqtag.runtime.onnx_tagger import OnnxTagger, _by_length

    config = {"model": {**TINY_MODEL, "document_window": 30}, "training": {"max_epochs": 2, "batch_tokens": 200}}
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    fit.train_model("bilstm", write(documents(30, 0), tmp_path / "train.txt"),
                    write(documents(20, 1), tmp_path / "dev.txt"), None, read, config, tmp_path / "model")
    export(tmp_path / "model", "onnx")
    torch_tagger, onnx_tagger = load_model(tmp_path / "model"), OnnxTagger(tmp_path / "model")
    sentences = documents(25, 5).sentences + [Sentence(("Unseen", "zork"), {}, document=99), Sentence((), {})]
    emissions = onnx_tagger._emissions([s for s in sentences if len(s)])
    for indices, _, expected in torch_tagger.emission_batches([s for s in sentences if len(s)], use_context=False):
        for row, i in enumerate(indices):
            assert torch.allclose(torch.from_numpy(emissions[i]), expected[row, : len(emissions[i])], atol=1e-4)
    assert onnx_tagger.predict(sentences) == torch_tagger.predict(sentences)
    # batches run in threads of their own (OnnxTagger.runs): the same scores, each in its sentence's place
    assert onnx_tagger.runs > 1
    monkeypatch.setattr(OnnxTagger, "runs", 1)
    alone = onnx_tagger._emissions([s for s in sentences if len(s)])
    assert all(np.array_equal(a, b) for a, b in zip(emissions, alone, strict=True))
    # an interruption in one batch drops the batches not yet started instead of running them all first
    monkeypatch.setattr(OnnxTagger, "runs", 2)
    encoded, encode_runs = [], onnx_tagger.encoder.encode_runs

    def interrupted(runs, *args):
        encoded.append(len(runs))
        if len(encoded) == 1:
            raise KeyboardInterrupt
        return encode_runs(runs, *args)

    monkeypatch.setattr(onnx_tagger.encoder, "encode_runs", interrupted)
    scored = [s for s in sentences if len(s)]
    with pytest.raises(KeyboardInterrupt):
        onnx_tagger._emissions(scored)
    groups = _by_length([sum(len(scored[i]) for i in run) for run in document_windows(scored, 30)])
    assert len(groups) > 4 and len(encoded) <= 3


def test_a_weight_average_is_what_is_scored_kept_and_resumed(tmp_path):
    from seqtag.training.loop import WeightAverage

    network = torch.nn.Linear(2, 1)
    average = WeightAverage(network, 0.5, steps=100)  # past the warm-up: the decay itself
    warming = WeightAverage(network, 0.99)
    first = network.weight.detach().clone()
    with torch.no_grad():
        network.weight.fill_(1.0)
    average.update()
    warming.update()
    with average.applied():  # inside: the average, half way from the first weights to the new ones
        assert torch.allclose(network.weight, (first + 1.0) / 2)
    assert torch.all(network.weight == 1.0)  # after: the network's own weights again
    with warming.applied():  # the first step of a run: decay 1/10, not 0.99, so the initial weights fade fast
        assert torch.allclose(network.weight, 0.1 * first + 0.9)

    train(tmp_path, "plain", epochs=3, ema=0.0)
    train_path, dev_path = tmp_path / "train.txt", tmp_path / "dev.txt"
    config = {"model": {**TINY_MODEL, "context": False},
              "training": {"max_epochs": 3, "seed": 1, "lr": 0.01, "batch_tokens": 200, "patience": 50, "ema": 0.9,
                           "keep_checkpoint": True}}
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    averaged = fit.train_model("bilstm", str(train_path), str(dev_path), None, read, config, tmp_path / "ema")
    log = [json.loads(line) for line in (tmp_path / "ema" / "train_log.jsonl").read_text().splitlines()]
    assert averaged["metrics"]["dev"]["f1"] == max(r["dev_score"] for r in log)  # the kept weights are the scored
    plain_weights = torch.load(tmp_path / "plain" / "weights.pt", weights_only=True)
    kept = torch.load(tmp_path / "ema" / "weights.pt", weights_only=True)
    assert not torch.equal(plain_weights["rnn.weight_ih_l0"], kept["rnn.weight_ih_l0"])  # same seed: the average
    # a resumed run continues the average: the same weights as the run that went on without stopping
    fit.train_model("bilstm", str(train_path), str(dev_path), None, read,
                    {**config, "training": {**config["training"], "max_epochs": 2}}, tmp_path / "resumed")
    config["training"]["max_epochs"] = 3
    fit.train_model("bilstm", str(train_path), str(dev_path), None, read, config, tmp_path / "resumed",
                    resume=True)
    assert load_model(tmp_path / "resumed").predict(synthetic(20, 4).sentences) == \
        load_model(tmp_path / "ema").predict(synthetic(20, 4).sentences)
    resumed = torch.load(tmp_path / "resumed" / "weights.pt", weights_only=True)
    assert all(torch.equal(resumed[k], kept[k]) for k in kept)


def test_the_weight_average_is_on_by_default_under_25000_tokens_and_zero_turns_it_off(tmp_path):
    from seqtag.schedule import ema_for

    assert ema_for(24_999) == 0.99 and ema_for(25_000) == 0.0
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    paths = write(synthetic(60, 0), tmp_path / "train.txt"), write(synthetic(30, 1), tmp_path / "dev.txt")
    documents, weights = {}, {}
    for name, training in (("default", {}), ("off", {"ema": 0.0})):
        config = {"model": {**TINY_MODEL, "context": False},
                  "training": {"max_epochs": 2, "batch_tokens": 200, "patience": 50, **training}}
        documents[name] = fit.train_model("bilstm", *paths, None, read, config, tmp_path / name)
        weights[name] = torch.load(tmp_path / name / "weights.pt", weights_only=True)
    assert documents["default"]["training"]["ema"] == 0.99 and documents["off"]["training"]["ema"] == 0.0
    assert documents["default"]["config"]["training"]["ema"] is None  # by size: a resumed run resolves it again
    assert not torch.equal(weights["default"]["rnn.weight_ih_l0"], weights["off"]["rnn.weight_ih_l0"])


def test_a_gpu_trains_a_large_corpus_with_larger_batches_and_a_resumed_run_keeps_its_schedule(tmp_path):
    from seqtag.schedule import schedule_for
    from seqtag.training.loop import TrainConfig, resolve

    cpu = {"batch_tokens": 800, "lr": 0.002, "max_epochs": 30}
    assert schedule_for(199_999, "cuda:0") == schedule_for(199_999, "cpu") == cpu
    assert schedule_for(200_000, "cuda:0") == {"batch_tokens": 4000, "lr": 0.0045, "max_epochs": 60}
    given = resolve(TrainConfig(batch_tokens=1000), 300_000, "cuda")  # what was given stays, the rest is the GPU's
    assert (given.batch_tokens, given.lr, given.max_epochs) == (1000, 0.0045, 60)
    # a run saved as resolved on a GPU and resumed here (a CPU, a tiny corpus) goes on with the GPU's schedule
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    paths = write(synthetic(60, 0), tmp_path / "train.txt"), write(synthetic(30, 1), tmp_path / "dev.txt")
    config = {"model": {**TINY_MODEL, "context": False}, "training": {"max_epochs": 1}}
    document = fit.train_model("bilstm", *paths, None, read, config, tmp_path / "m")
    assert document["config"]["training"]["lr"] is None and document["training"]["lr"] == 0.002
    assert (document["training"]["batch_tokens"], document["training"]["max_epochs"]) == (200, 1)
    saved = json.loads((tmp_path / "m" / "model.json").read_text())
    saved["training"].update(batch_tokens=4000, lr=0.0045)
    (tmp_path / "m" / "model.json").write_text(json.dumps(saved))
    resumed = fit.resumed_run(tmp_path / "m", None, None, None, {"max_epochs": 3})[5]["training"]
    assert (resumed["batch_tokens"], resumed["lr"], resumed["max_epochs"]) == (4000, 0.0045, 3)
    assert resumed["ema"] == 0.99  # as the run resolved it, whatever the size rule says when it is resumed


def test_a_cpu_trains_a_large_corpus_with_a_narrower_network_for_longer_unless_told_otherwise(tmp_path, monkeypatch):
    """The CPU schedule from 200,000 training tokens: 100 hidden units, one layer, 45 epochs and windows of 128
    tokens; a setting given explicitly wins."""
    from seqtag import schedule
    from seqtag.models.bilstm import BiLSTMConfig
    from seqtag.training.loop import TrainConfig, resolve

    small = {"hidden": 200, "layers": 2, "document_window": 64}
    large = {"hidden": 100, "layers": 1, "document_window": 128}
    assert schedule.network_for(199_999, "cpu") == schedule.network_for(10**6, "cuda:0") == small
    assert schedule.network_for(200_000, "cpu") == large
    assert resolve(TrainConfig(), 200_000, "cpu").max_epochs == 45
    assert resolve(TrainConfig(), 10**6, "cuda").max_epochs == 60
    monkeypatch.setattr(schedule, "CPU_SCHEDULE_FROM", 100)  # the synthetic corpus below counts as large
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    paths = write(synthetic(60, 0), tmp_path / "train.txt"), write(synthetic(30, 1), tmp_path / "dev.txt")
    unsized = {key: value for key, value in TINY_MODEL.items() if key not in ("hidden", "layers", "document_window")}
    widths = {}
    for name, given in (("default", {}), ("given", {"hidden": 24, "layers": 2, "document_window": 16})):
        config = {"model": {**unsized, **given, "context": False}, "training": {"max_epochs": 1}}
        fit.train_model("bilstm", *paths, None, read, config, tmp_path / name)
        saved = json.loads((tmp_path / name / "model.json").read_text())
        weights = torch.load(tmp_path / name / "weights.pt", weights_only=True)
        widths[name] = (saved["tagger"]["config"]["hidden"], weights["rnn.weight_hh_l0"].shape[1],
                        saved["tagger"]["config"]["layers"], "rnn.weight_hh_l1" in weights,
                        saved["tagger"]["config"]["document_window"])
    assert widths == {"default": (100, 100, 1, False, 128), "given": (24, 24, 2, True, 16)}
    with pytest.raises(DataError, match="hidden must be from 1 to 8192"):
        BiLSTMConfig.from_dict({"hidden": 0})


def test_max_seconds_stops_between_epochs_after_the_first(tmp_path):
    config = {"model": {**TINY_MODEL}, "training": {"max_epochs": 5, "batch_tokens": 200, "max_seconds": 0.001}}
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    document = fit.train_model("bilstm", write(synthetic(60, 0), tmp_path / "train.txt"),
                               write(synthetic(30, 1), tmp_path / "dev.txt"), None, read, config, tmp_path / "m")
    assert document["training"]["stopped"] == "max_seconds" and document["training"]["epochs"] == 1


@pytest.mark.parametrize("scale, expected", [(1, "lstm"), (1000, "cnn")])
def test_the_default_character_encoder_follows_the_corpus_size(scale, expected):
    """--char-encoder auto: a character BiLSTM under 80,000 training tokens, the CNN from there (README)."""
    from seqtag.models.bilstm import BiLSTMConfig, BiLSTMTagger, TrainingCounts
    from seqtag.data.labels import Scheme

    corpus = Corpus(synthetic(150, 0).sentences, ("ner",), {"ner": Scheme.IOB2})  # ~1,000 tokens, x scale below
    counts = TrainingCounts.of(corpus, "ner")
    counts.words = type(counts.words)({word: n * scale for word, n in counts.words.items()})
    assert (sum(counts.words.values()) < 80_000) == (expected == "lstm")
    tagger = BiLSTMTagger.build(counts, "ner", Scheme.IOB2, BiLSTMConfig(hidden=8, layers=1))
    assert tagger.config.char_encoder == tagger.network.char_encoder == expected


def test_hold_out_takes_every_nth_document_where_there_are_enough_else_every_nth_sentence():
    plain = synthetic(45, 0)
    rest, held = plain.hold_out(10)
    assert held.sentences == [plain.sentences[i] for i in (9, 19, 29, 39)]
    assert rest.sentences == [s for i, s in enumerate(plain.sentences) if i not in (9, 19, 29, 39)]
    assert held.source == "synthetic (held out: every 10th sentence)" and rest.source == "synthetic"
    # 25 documents of 3 sentences: whole documents go, so a held-out sentence keeps its neighbours
    marked = Corpus([Sentence(s.tokens, s.labels, document=i // 3) for i, s in enumerate(synthetic(75, 1))], ("ner",),
                    source="docs")
    rest, held = marked.hold_out(10)
    assert sorted({s.document for s in held}) == [9, 19] and len(held) == 6 and len(rest) == 69
    assert held.source == "docs (held out: every 10th document)"
    # too few documents to hold out whole ones: sentences, as in a file without document marks
    assert marked.hold_out(40)[1].source == "docs (held out: every 40th sentence)"


def test_without_dev_data_hold_out_keeps_part_of_the_training_data_to_choose_the_epoch(tmp_path):
    """With --hold-out 10 the epoch is chosen on sentences the network does not train on; by default (0) it trains on
    all of them and keeps the epoch with the lowest training loss."""
    config = {"model": {**TINY_MODEL},
              "training": {"max_epochs": 3, "seed": 1, "lr": 0.01, "batch_tokens": 200, "hold_out": 10}}
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    train_path = write(synthetic(150, 0), tmp_path / "train.txt")
    events = []
    document = fit.train_model("bilstm", train_path, None, None, read, config, tmp_path / "held",
                               on_progress=events.append)
    held_out = document["training"]["held_out"]
    assert held_out["sentences"] == 15 and held_out["dev"].endswith("(held out: every 10th sentence)")
    assert document["training"]["data"]["train"]["sentences"] == 150  # the file, as read
    log = [json.loads(line) for line in (tmp_path / "held" / "train_log.jsonl").read_text().splitlines()]
    assert all(r["dev"]["metric"] == "f1" and r["dev_score"] == r["dev"]["f1"] for r in log)
    assert document["training"]["best_dev_score"] == max(r["dev_score"] for r in log)
    # an epoch trains on the other 135 sentences alone
    rest, _ = synthetic(150, 0).hold_out(10)
    first_end = next(i for i, e in enumerate(events) if e.get("event") == "epoch_end")
    trained_tokens = sum(e["tokens"] for e in events[:first_end] if e.get("event") == "batch")
    assert trained_tokens == rest.num_tokens() < synthetic(150, 0).num_tokens()

    del config["training"]["hold_out"]  # the default
    document = fit.train_model("bilstm", train_path, None, None, read, config, tmp_path / "all")
    assert "held_out" not in document["training"]
    log = [json.loads(line) for line in (tmp_path / "all" / "train_log.jsonl").read_text().splitlines()]
    assert all("dev" not in r and r["dev_score"] == -r["loss"] for r in log)

    # too small to hold any out: said, and trained on all of it
    small = write(synthetic(15, 0), tmp_path / "small.txt")
    events.clear()
    config["training"]["hold_out"] = 10
    document = fit.train_model("bilstm", small, None, None, read, config, tmp_path / "small",
                               on_progress=events.append)
    assert "held_out" not in document["training"]
    assert any(e.get("event") == "warning" and "too few to hold out" in e["message"] for e in events)


def test_a_plateau_halves_the_learning_rate_and_a_resumed_run_goes_on_at_the_same_rate(tmp_path):
    from seqtag.schedule import lr_factor

    scored = [{"dev": {}, "dev_score": s} for s in (0.1, 0.2, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3)]
    assert lr_factor(8, 0.05, scored, 2) == pytest.approx(0.25 / 1.4)  # halved at the 2nd epoch of each plateau
    assert lr_factor(8, 0.05, scored, 0) == pytest.approx(1 / 1.4)  # off
    assert lr_factor(5, 0.0, [{"dev_score": -1.0}] * 5, 1) == 1.0  # no dev data: nothing to read a plateau from
    read = reading.ReadOptions(format="conll", columns=["word", "ner"])
    paths = write(synthetic(150, 0), tmp_path / "train.txt"), write(synthetic(150, 1), tmp_path / "dev.txt")
    config = {"model": {**TINY_MODEL, "context": False},
              "training": {"max_epochs": 6, "seed": 1, "lr": 0.01, "batch_tokens": 200, "patience": 50, "plateau": 1,
                           "keep_checkpoint": True}}
    fit.train_model("bilstm", *paths, None, read, config, tmp_path / "whole")
    log = [json.loads(line) for line in (tmp_path / "whole" / "train_log.jsonl").read_text().splitlines()]
    best, halvings = None, 0
    for record in log:  # each epoch's rate: the decay, halved once for every epoch before it without a better score
        assert record["lr"] == pytest.approx(0.01 * 0.5**halvings / (1 + 0.05 * (record["epoch"] - 1)))
        halvings += best is not None and record["dev_score"] <= best
        best = record["dev_score"] if best is None else max(best, record["dev_score"])
    assert halvings >= 2  # the tiny task reaches F1 1.0 early: the test saw plateaus
    fit.train_model("bilstm", *paths, None, read, {**config, "training": {**config["training"], "max_epochs": 3}},
                    tmp_path / "resumed")
    fit.train_model("bilstm", *paths, None, read, config, tmp_path / "resumed", resume=True)
    whole, resumed = (torch.load(tmp_path / name / "checkpoint.pt", weights_only=True)["model"]
                      for name in ("whole", "resumed"))
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
