"""One-sentence-per-line formats: space-segmented text (Chinese word segmentation, as B/M/E/S characters),
`word/TAG` text, and bare whitespace-separated tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from seqtag import labels as L
from seqtag.corpus import Origin, Sentence
from seqtag.errors import DataError
from seqtag.formats.base import Format, Layout, check_tokens
from seqtag.formats.text import Lines

SEGMENT_LAYER = "seg"
SLASH_LAYER = "tag"


def split_slash(item: str) -> tuple[str, str] | None:
    word, slash, tag = item.rpartition("/")
    return (word, tag) if slash and word and tag else None


def one_per_line(lines: Lines, path: str, parse: Callable[[list[str], int], tuple[tuple, dict]]
                 ) -> Callable[[], Iterator[Sentence]]:
    """The reader of a sentence-per-line format: `parse(items, line number)` turns a line's whitespace-separated
    items into (tokens, labels); blank lines are skipped; each sentence remembers its line."""
    def sentences() -> Iterator[Sentence]:
        for number, line in enumerate(lines(), 1):
            if items := line.split():
                tokens, labels = parse(items, number)
                yield Sentence(tuple(tokens), labels, Origin(path, number, False))

    return sentences


def _segment(items: list[str], number: int) -> tuple[tuple, dict]:
    chars, tags = L.words_to_tags(items)
    return tuple(chars), {SEGMENT_LAYER: tuple(tags)}


def _write_tokens(sentence: Sentence, items: Iterable[str]) -> str:
    check_tokens(sentence)
    return " ".join(items) + "\n"


class Segmented(Format):
    name = "segmented"
    summary = "space-segmented text, a sentence per line, read as characters with B/M/E/S labels (layer seg)"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        return (SEGMENT_LAYER,), {SEGMENT_LAYER: L.Scheme.BMES}, one_per_line(lines, path, _segment)

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        """Characters joined into words by a B/M/E/S layer; a corpus of words (CoNLL-U, say) is written as its
        tokens, which are the words."""
        bmes = [layer for layer in (SEGMENT_LAYER, *layers) if layer in sentence.labels
                and set(sentence.labels[layer]) <= {"B", "M", "E", "S"}]
        if not bmes:
            return _write_tokens(sentence, sentence.tokens)
        return " ".join(L.segment_words(sentence.tokens, sentence.labels[bmes[0]])) + "\n"


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

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        columns = [sentence.labels[layer] for layer in layers]
        return _write_tokens(sentence, ("/".join([token, *(c[j] for c in columns)])
                                        for j, token in enumerate(sentence.tokens)))


class Tokens(Format):
    name = "tokens"
    summary = "whitespace-separated tokens, a sentence per line, no labels"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        return (), {}, one_per_line(lines, path, lambda items, number: (items, {}))

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        return _write_tokens(sentence, sentence.tokens)
