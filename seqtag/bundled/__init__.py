"""The models shipped inside the distribution, one folder each (NAME/), and the recipe each was built by.

The folders are artifacts of benchmarks/build_models.py, which trains each recipe below on ../shared/corpora,
makes its shipped form and writes recipe.json (commands, data hashes, versions, scores, sizes) beside model.json.
Finding a model by name (bundled, installed as a package, or a path): seqtag.catalog.

May import: nothing of seqtag (plain data: the catalog and the build script read it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Recipe:
    name: str
    task: str
    description: str
    data: str  # what it was trained on
    licence: str  # the terms of the data (and vectors) it was trained on
    train: tuple[str, ...]  # `seqtag train` arguments; {C} is the corpora folder
    test: str  # the test file, under the corpora folder
    # pretrained words kept beyond the training words (None: no vectors), chosen on dev by docs/models.md's rule
    vocabulary_cut: int | None = None

    def train_args(self, corpora: Path) -> list[str]:
        return [arg.replace("{C}", str(corpora)) for arg in self.train]

    def test_file(self, corpora: Path) -> Path:
        return corpora / self.test


RECIPES = {recipe.name: recipe for recipe in (
    Recipe(
        "en-ner", "named entities (PER, LOC, ORG, MISC)",
        "English named entities: BiLSTM-CRF with GloVe 6B 50d vectors",
        "CoNLL-2003 English (Reuters RCV1 news, 1996-97): eng.train, eng.testa for early stopping",
        "CoNLL-2003 data: Reuters text, research use only; GloVe vectors: PDDL 1.0",
        ("--train", "{C}/conll2003/eng.train", "--dev", "{C}/conll2003/eng.testa", "--test", "{C}/conll2003/eng.testb",
         "--columns", "word,pos,chunk,ner", "--layer", "ner", "--embeddings", "glove-6b-50d", "--seed", "1"),
        "conll2003/eng.testb", vocabulary_cut=50_000),
    Recipe(
        "en-pos", "universal part-of-speech tags (UPOS)",
        "English UPOS tagging: BiLSTM-CRF with GloVe 6B 50d vectors",
        "UD English EWT 2.16 (web text: blogs, reviews, email, answers): train, dev for early stopping",
        "UD English EWT: CC BY-SA 4.0; GloVe vectors: PDDL 1.0",
        ("--train", "{C}/ud_en_ewt/en_ewt-ud-train.conllu.gz", "--dev", "{C}/ud_en_ewt/en_ewt-ud-dev.conllu",
         "--test", "{C}/ud_en_ewt/en_ewt-ud-test.conllu", "--embeddings", "glove-6b-50d", "--seed", "1"),
        "ud_en_ewt/en_ewt-ud-test.conllu", vocabulary_cut=10_000),
    Recipe(
        "zh-seg", "Chinese word segmentation",
        "Chinese word segmentation: BiLSTM-CRF over characters and bigrams",
        "SIGHAN 2005 PKU gold, 9 lines in 10 (icwb2/pku_split: a tenth of PKU's training data in size)",
        "SIGHAN 2005 bakeoff data (icwb2-data): free for research use",
        ("--train", "{C}/icwb2/pku_split/train.utf8", "--test", "{C}/icwb2/pku_split/test.utf8",
         "--format", "segmented", "--seed", "1"),
        "icwb2/pku_split/test.utf8"),
)}


def folder(name: str) -> Path:
    return HERE / name


def names() -> list[str]:
    """The bundled models present in this installation."""
    return [name for name in RECIPES if (folder(name) / "model.json").exists()]
