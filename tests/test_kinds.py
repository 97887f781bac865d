"""Adding a neural model kind touches its own module and one registry entry: this file is that module (a window
network with its own settings, among them a `hidden` with bounds of its own), and the tests add its entry to
seqtag.kinds.KINDS. Training, the settings' checks, saving, loading and tagging then work through the public API
with nothing else changed."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pytest
import torch

import seqtag
from seqtag import kinds
from seqtag.data.corpus import Corpus
from seqtag.errors import DataError
from seqtag.models.tagger import Tagger, Trained, TrainRun
from seqtag.settings import RunConfig, setting


@dataclass
class WindowSettings:
    """The test kind's own [model] settings."""

    hidden: int = setting(16, "Hidden units of the window network.", flag="--hidden", maximum=64)
    window: int = setting(1, "Words read on each side.", minimum=0, maximum=3)  # a TOML-only setting


class WindowNetwork(torch.nn.Module):
    def __init__(self, words: int, labels: int, settings: WindowSettings):
        super().__init__()
        self.width = 2 * settings.window + 1
        self.embedding = torch.nn.Embedding(words + 1, 8, padding_idx=0)  # 0: padding and unknown words
        self.hidden = torch.nn.Linear(8 * self.width, settings.hidden)
        self.output = torch.nn.Linear(settings.hidden, labels)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # (tokens + 2 * window,) -> (tokens, labels)
        windows = ids.unfold(0, self.width, 1)
        return self.output(torch.tanh(self.hidden(self.embedding(windows).flatten(1))))


class WindowTagger(Tagger):
    kind = "window"

    def __init__(self, layer, scheme, labels, words: list[str], settings: WindowSettings):
        super().__init__(layer, scheme, labels)
        self.words, self.settings = list(words), settings
        self.index = {word: i + 1 for i, word in enumerate(self.words)}
        self.network = WindowNetwork(len(self.words), len(self.labels), settings)

    def ids(self, tokens: list[str]) -> torch.Tensor:
        pad = [0] * self.settings.window
        return torch.tensor(pad + [self.index.get(t, 0) for t in tokens] + pad)

    def predict(self, sentences):
        with torch.no_grad():
            return [[self.labels[i] for i in self.network(self.ids(s.tokens)).argmax(1).tolist()] if len(s) else []
                    for s in sentences]

    def known(self, token: str) -> bool:
        return token in self.index

    def to_state(self):
        return {"words": self.words, "settings": asdict(self.settings)}, self.network.state_dict()

    @classmethod
    def from_state(cls, document, tensors, device="cpu"):
        from seqtag.data.labels import Scheme

        meta = document["tagger"]
        tagger = cls(document["layer"], Scheme(document["scheme"]), document["labels"], meta["words"],
                     WindowSettings(**meta["settings"]))
        tagger.network.load_state_dict(tensors)
        return tagger


def train_window(train: Corpus, dev: Corpus | None, layer: str, config: RunConfig, run: TrainRun) -> Trained:
    torch.manual_seed(config.training.seed)
    labels = sorted({label for sentence in train for label in sentence.labels[layer]})
    tagger = WindowTagger(layer, train.schemes[layer], labels, sorted({t for s in train for t in s.tokens}),
                          config.model)
    optimizer = torch.optim.Adam(tagger.network.parameters(), lr=0.02)
    for _ in range(config.training.max_epochs or 10):
        for sentence in train:
            gold = torch.tensor([labels.index(label) for label in sentence.labels[layer]])
            loss = torch.nn.functional.cross_entropy(tagger.network(tagger.ids(sentence.tokens)), gold)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return Trained(tagger)


WINDOW = kinds.Kind("window", "a window network (the tests' kind)", f"{__name__}:WindowTagger",
                    f"{__name__}:train_window", kinds.flagged(WindowSettings), model_settings=WindowSettings)

PLACES, PEOPLE = ["paris", "london", "rome"], ["anna", "peter", "maria"]


def corpus_file(path, seed: int):
    """Sentences where a word after "to" is a place and a word before "went" a person (IOB2)."""
    import random

    rng = random.Random(seed)
    lines = []
    for _ in range(40):
        person, place = rng.choice(PEOPLE), rng.choice(PLACES)
        lines += [f"{person} B-PER", "went O", "to O", f"{place} B-LOC", ". O", ""]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(kinds.KINDS, "window", WINDOW)


def test_a_kind_declared_in_one_module_trains_saves_loads_and_tags(registered, tmp_path):
    train, dev = corpus_file(tmp_path / "train.txt", 1), corpus_file(tmp_path / "dev.txt", 2)
    model = seqtag.train(train, dev, model="window", output=tmp_path / "m", columns=["word", "ner"], hidden=32,
                         max_epochs=3, seed=2)
    assert model.metrics["dev"]["f1"] == 1.0
    assert model.document["config"]["model"] == {"hidden": 32, "window": 1}  # its own settings, defaults included
    loaded = seqtag.load(tmp_path / "m")
    assert loaded.kind == "window" and loaded.predictor.network.hidden.out_features == 32
    assert loaded.tag(["maria", "went", "to", "rome"]).labels == ["B-PER", "O", "O", "B-LOC"]


def test_the_kind_checks_its_own_settings_by_its_own_bounds(registered, tmp_path):
    train = corpus_file(tmp_path / "train.txt", 1)
    with pytest.raises(DataError, match=r"^hidden must be from 1 to 64, not 100$"):
        seqtag.train(train, model="window", columns=["word", "ner"], hidden=100)
    kinds.check("bilstm", {"hidden": 100}, "flag")  # the BiLSTM's own hidden goes to 8192
    with pytest.raises(DataError, match=r"^--hidden must be from 1 to 64, not 100$"):
        kinds.check("window", {"hidden": 100}, "flag")
    (tmp_path / "window.toml").write_text("[model]\nwindow = 5\n")
    with pytest.raises(DataError, match=r"\[model\] window must be from 0 to 3, not 5"):
        seqtag.train(train, model="window", columns=["word", "ner"], config_file=str(tmp_path / "window.toml"))
    (tmp_path / "bilstm.toml").write_text("[model]\nchar_dim = 5\n")  # another kind's setting
    with pytest.raises(DataError, match=r"unknown \[model\] setting\(s\): char_dim; known: hidden, window"):
        seqtag.train(train, model="window", columns=["word", "ner"], config_file=str(tmp_path / "bilstm.toml"))
    assert kinds.all_options()["hidden"].flag == "--hidden"  # one flag on the command line for both kinds
