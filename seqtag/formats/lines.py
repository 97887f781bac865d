"""One-sentence-per-line formats: space-segmented text (Chinese word segmentation, as B/M/E/S characters),
`word/TAG` text, and bare whitespace-separated tokens."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from seqtag import labels as L
from seqtag.corpus import Origin, Sentence
from seqtag.errors import DataError
from seqtag.formats.base import Format, Layout, check_token
from seqtag.formats.text import Lines

SEGMENT_LAYER = "seg"
SLASH_LAYER = "tag"


def split_slash(item: str) -> tuple[str, str] | None:
    word, slash, tag = item.rpartition("/")
    return (word, tag) if slash and word and tag else None


class Segmented(Format):
    name = "segmented"
    summary = "space-segmented text, a sentence per line, read as characters with B/M/E/S labels (layer seg)"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        def sentences() -> Iterator[Sentence]:
            for number, line in enumerate(lines(), 1):
                if words := line.split():
                    chars, tags = L.words_to_tags(words)
                    yield Sentence(tuple(chars), {SEGMENT_LAYER: tuple(tags)}, Origin(path, number, False))

        return (SEGMENT_LAYER,), {SEGMENT_LAYER: L.Scheme.BMES}, sentences

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        """Characters joined into words by a B/M/E/S layer; a corpus of words (CoNLL-U, say) is written as its
        tokens, which are the words."""
        bmes = [layer for layer in (SEGMENT_LAYER, *layers) if layer in sentence.labels
                and set(sentence.labels[layer]) <= {"B", "M", "E", "S"}]
        if not bmes:
            for token in sentence.tokens:
                check_token(token, sentence)
            return " ".join(sentence.tokens) + "\n"
        return " ".join(L.segment_words(sentence.tokens, sentence.labels[bmes[0]])) + "\n"


def _slash_sentences(lines: Iterable[str], path: str) -> Iterator[Sentence]:
    for number, line in enumerate(lines, 1):
        pairs = []
        for item in line.split():
            pair = split_slash(item)
            if pair is None:
                raise DataError(f"expected word/TAG, found {item!r}", path, number)
            pairs.append(pair)
        if pairs:
            words, tags = zip(*pairs)
            yield Sentence(words, {SLASH_LAYER: tags}, Origin(path, number, False))


class Slash(Format):
    name = "slash"
    aliases = ("inline",)  # what `seqtag tag --output-format` called it first
    summary = "word/TAG text, a sentence per line; the tag follows the last slash (more layers: word/A/B)"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        return (SLASH_LAYER,), {}, lambda: _slash_sentences(lines(), path)

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        for token in sentence.tokens:
            check_token(token, sentence)
        columns = [sentence.labels[layer] for layer in layers]
        return " ".join("/".join([token, *(c[j] for c in columns)]) for j, token in enumerate(sentence.tokens)) + "\n"


class Tokens(Format):
    name = "tokens"
    summary = "whitespace-separated tokens, a sentence per line, no labels"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        def sentences() -> Iterator[Sentence]:
            for number, line in enumerate(lines(), 1):
                if tokens := line.split():
                    yield Sentence(tuple(tokens), {}, Origin(path, number, False))

        return (), {}, sentences

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        for token in sentence.tokens:
            check_token(token, sentence)
        return " ".join(sentence.tokens) + "\n"
