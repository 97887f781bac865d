"""One-sentence-per-line formats: space-segmented text (Chinese word segmentation, as B/M/E/S characters),
`word/TAG` text, and bare whitespace-separated tokens."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from seqtag.data import labels as L
from seqtag.data.corpus import Origin, Sentence
from seqtag.errors import DataError
from seqtag.data.formats.base import Format, Layout, bad_labels, bad_tokens, check_tokens, document_marks
from seqtag.data.formats.text import DOCSTART, Lines

SEGMENT_LAYER = "seg"
SLASH_LAYER = "tag"


def split_slash(item: str) -> tuple[str, str] | None:
    word, slash, tag = item.rpartition("/")
    return (word, tag) if slash and word and tag else None


def one_per_line(lines: Lines, path: str, parse: Callable[[list[str], int], tuple[tuple, dict]]
                 ) -> Callable[[], Iterator[Sentence]]:
    """The reader of a sentence-per-line format: `parse(items, line number)` turns a line's whitespace-separated
    items into (tokens, labels); blank lines are skipped; a line that is just -DOCSTART- starts a document, as in
    CoNLL files (numbered from 0; None before the first); each sentence remembers its line."""
    def sentences() -> Iterator[Sentence]:
        document = None
        for number, line in enumerate(lines(), 1):
            items = line.split()
            if items == [DOCSTART]:
                document = 0 if document is None else document + 1
            elif items:
                tokens, labels = parse(items, number)
                yield Sentence(tuple(tokens), labels, Origin(path, number, False), document)

    return sentences


def _line(text: str, new_document: bool) -> str:
    return (DOCSTART + "\n" if new_document else "") + text + "\n"


def cannot_hold_lines(sentences: Sequence[Sentence], line_of: Callable[[Sentence], str]) -> str | None:
    """What any sentence-per-line format cannot hold: whitespace in a token, a sentence whose line would read as a
    document mark, a document mark it cannot place."""
    found = bad_tokens(sentences) or next((f"the sentence {line_of(s)!r}" for s in sentences
                                           if line_of(s).strip() == DOCSTART), None) or document_marks(sentences)
    return f"cannot hold {found} (a sentence a line, split at whitespace; a {DOCSTART} line starts a document)" \
        if found else None


def _segment(items: list[str], number: int) -> tuple[tuple, dict]:
    chars, tags = L.words_to_tags(items)
    return tuple(chars), {SEGMENT_LAYER: tuple(tags)}


def _write_tokens(sentence: Sentence, items: Iterable[str], new_document: bool) -> str:
    check_tokens(sentence)
    return _line(" ".join(items), new_document)


def _layers_held(layers: Sequence[str], wanted: str) -> str:
    if not layers:
        return f"holds {wanted}; this corpus has none"
    return (f"holds {wanted}; this corpus has {len(layers)} ({', '.join(layers)}): keep one with --keep-layers "
            f"{layers[-1]} (or another of them; seqtag.write: layers=[{layers[-1]!r}])")


BMES_SENTENCE = re.compile(r"(?:S|BM*E)+")  # words: a single character, or begin, middle..., end


class Segmented(Format):
    name = "segmented"
    summary = "space-segmented text, a sentence per line, read as characters with B/M/E/S labels (layer seg)"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        return (SEGMENT_LAYER,), {SEGMENT_LAYER: L.Scheme.BMES}, one_per_line(lines, path, _segment)

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        """One B/M/E/S layer over single characters, or words without layers (a treebank's, say), written
        space-separated, which `--format segmented` reads back as characters with their B/M/E/S layer."""
        if not layers:
            return cannot_hold_lines(sentences, lambda s: " ".join(s.tokens))
        words = next((s for s in sentences if any(len(token) != 1 for token in s.tokens)), None)
        if words is not None:
            return (f"holds characters with a B/M/E/S layer, and {' '.join(words.tokens)!r} are words: to train a "
                    "segmenter on them, write the words alone (--keep-layers none; seqtag.write: layers=[]), "
                    "which --format segmented reads as characters with their B/M/E/S layer")
        if len(layers) != 1:
            return _layers_held(layers, "one B/M/E/S layer over characters")
        for sentence in sentences:
            tags = sentence.labels[layers[0]]
            if not all(len(tag) == 1 for tag in tags) or not BMES_SENTENCE.fullmatch("".join(tags)):
                return f"holds a B/M/E/S layer; {layers[0]} is not one: {' '.join(tags)!r}"
        return cannot_hold_lines(sentences, lambda s: "".join(s.tokens))

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        """Characters joined into words by the B/M/E/S layer."""
        if not layers:  # a stream of words without labels
            return _write_tokens(sentence, sentence.tokens, new_document)
        return _line(" ".join(L.segment_words(sentence.tokens, sentence.labels[layers[0]])), new_document)


class Slash(Format):
    name = "slash"
    aliases = ("inline",)  # what `seqtag tag --output-format` called it first
    summary = "word/TAG text, a sentence per line; the tag follows the last slash (more layers: word/A/B)"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        def parse(items: list[str], number: int) -> tuple[tuple, dict]:
            pairs = [split_slash(item) for item in items]
            if None in pairs:
                raise DataError(f"expected word/TAG, found {items[pairs.index(None)]!r}", path, number)
            words, tags = zip(*pairs)
            return words, {SLASH_LAYER: tags}

        return (SLASH_LAYER,), {}, one_per_line(lines, path, parse)

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        if len(layers) != 1:
            return _layers_held(layers, "one label layer")
        found = bad_labels(layers, sentences, lambda label: "/" in label)
        if found:
            return f"cannot hold {found} (the tag follows the last slash, and a space ends it)"
        return cannot_hold_lines(sentences, lambda s: " ".join(f"{t}/{v}" for t, v in zip(s.tokens, s.labels[layers[0]])))

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        columns = [sentence.labels[layer] for layer in layers]
        return _write_tokens(sentence, ("/".join([token, *(c[j] for c in columns)])
                                        for j, token in enumerate(sentence.tokens)), new_document)


class Tokens(Format):
    name = "tokens"
    summary = "whitespace-separated tokens, a sentence per line, no labels"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        return (), {}, one_per_line(lines, path, lambda items, number: (items, {}))

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        if layers:
            return f"holds no labels; this corpus has {', '.join(layers)}: keep none with --keep-layers none " \
                   "(seqtag.write: layers=[])"
        return cannot_hold_lines(sentences, lambda s: " ".join(s.tokens))

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        return _write_tokens(sentence, sentence.tokens, new_document)
