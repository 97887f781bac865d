"""Sentence splitters compared: boundary precision, recall and F1 against gold sentences, and speed. Paragraphs
come from UD English EWT (`.conllu`: rebuilt from the treebank's `# newdoc`, `# newpar` and `# text` lines, a
paragraph's sentences joined by one space) and from the Wall Street Journal sentences of CoNLL-2000 (any other
file: tokens detokenized by PTB rules, five sentences a paragraph). The paragraph's own end is not counted: every
splitter gets it for free.

    python benchmarks/sentence_split.py ../shared/corpora/ud_en_ewt/en_ewt-ud-dev.conllu ../shared/corpora/conll2000/test.txt

Needs the candidates installed (pip install syntok pysbd blingfire); one that is missing is left out.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from pathlib import Path


def paragraphs(path: Path) -> list[tuple[str, set[int]]]:
    """(paragraph text, the character offsets where its sentences end, but the last)."""
    opener = gzip.open if path.suffix == ".gz" else open
    found, texts = [], []

    def close():
        if texts:
            text, ends, at = "", set(), 0
            for sentence in texts:
                text += ("" if not text else " ") + sentence
                ends.add(len(text))
            ends.discard(len(text))
            found.append((text, ends))
        texts.clear()

    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith(("# newdoc", "# newpar")):
                close()
            elif line.startswith("# text = "):
                texts.append(line[len("# text = "):].rstrip("\n").strip())
    close()
    return found


def detokenize(tokens: list[str]) -> str:
    """Penn Treebank tokens back to text: no space before punctuation and clitics, none inside quotes/brackets."""
    text, quotes = "", 0
    for token in tokens:
        token = {"-LRB-": "(", "-RRB-": ")", "-LCB-": "{", "-RCB-": "}", "``": '"', "''": '"'}.get(token, token)
        glue_left = token in {".", ",", ":", ";", "?", "!", "%", ")", "}", "n't"} or token.startswith("'") or (
            token == '"' and quotes % 2 == 1)
        if token == '"':
            quotes += 1
        glue_right = text.endswith(("(", "{", "$", "#")) or (text.endswith('"') and quotes % 2 == 1 and token != '"')
        text += token if not text or glue_left or glue_right else " " + token
    return text


def conll_paragraphs(path: Path, size: int = 5) -> list[tuple[str, set[int]]]:
    sentences, tokens = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            tokens.append(line.split()[0])
        elif tokens:
            sentences.append(detokenize(tokens))
            tokens = []
    if tokens:
        sentences.append(detokenize(tokens))
    found = []
    for i in range(0, len(sentences), size):
        text, ends = "", set()
        for sentence in sentences[i:i + size]:
            text += ("" if not text else " ") + sentence
            ends.add(len(text))
        ends.discard(len(text))
        found.append((text, ends))
    return found


def syntok_ends(text: str) -> list[int]:
    from syntok import segmenter

    ends = []
    for paragraph in segmenter.analyze(text):
        for sentence in paragraph:
            last = sentence[-1]
            ends.append(last.offset + len(last.value))
    return ends


def pysbd_ends(text: str, segmenter=[]) -> list[int]:
    if not segmenter:
        import pysbd

        segmenter.append(pysbd.Segmenter(language="en", clean=False, char_span=True))
    return [span.end - (len(span.sent) - len(span.sent.rstrip())) for span in segmenter[0].segment(text)]


def blingfire_ends(text: str) -> list[int]:
    import blingfire

    _, offsets = blingfire.text_to_sentences_and_offsets(text)
    return [end for _, end in offsets]


RULE = re.compile(r"[.!?]['\")\]]*(?=\s+[\"'(\[]?[A-Z0-9])")


def rule_ends(text: str) -> list[int]:
    """The naive rule: a sentence ends after . ! or ? (and closing quotes) before a space and a capital or digit."""
    return [m.end() for m in RULE.finditer(text)]


SPLITTERS = {"syntok": syntok_ends, "pysbd": pysbd_ends, "blingfire": blingfire_ends, "rule": rule_ends}


def score(splitter, data) -> dict:
    true = predicted = correct = 0
    started = time.perf_counter()
    characters = 0
    for text, gold in data:
        ends = {end for end in splitter(text) if end < len(text.rstrip())}
        characters += len(text)
        true += len(gold)
        predicted += len(ends)
        correct += len(ends & gold)
    seconds = time.perf_counter() - started
    p = correct / predicted if predicted else 0.0
    r = correct / true if true else 0.0
    return {"precision": round(100 * p, 2), "recall": round(100 * r, 2),
            "f1": round(200 * p * r / (p + r), 2) if p + r else 0.0, "boundaries": true,
            "chars_per_s": round(characters / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args()
    for path in args.files:
        data = paragraphs(path) if ".conllu" in path.name else conll_paragraphs(path)
        for name, splitter in SPLITTERS.items():
            try:
                splitter("Warm up. Twice.")
            except ImportError:
                continue
            print(json.dumps({"file": path.name, "paragraphs": len(data), "splitter": name, **score(splitter, data)}))


if __name__ == "__main__":
    main()
