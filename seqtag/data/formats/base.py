"""What a format is: a reader (lines -> layers, schemes and sentences) and a writer (sentences -> text)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import ClassVar

from seqtag.data import labels as L
from seqtag.data.corpus import Corpus, Sentence
from seqtag.errors import DataError
from seqtag.data.formats.text import Lines

# A reader's answer: the layers and their known schemes (from the file's first lines), and a generator over the
# sentences, so the same code reads a file held in memory and one streamed from disk pass after pass.
Layout = tuple[tuple[str, ...], dict[str, L.Scheme], Callable[[], Iterator[Sentence]]]


class Format:
    """One corpus format. Subclasses set `name` and implement `layout` and `render`; one entry in
    seqtag.data.formats.FORMATS registers them for every command and the Python API."""

    name: ClassVar[str]
    summary: ClassVar[str]
    text: ClassVar[bool] = True  # read from and written to text lines (the Hugging Face format is not)
    takes_columns: ClassVar[bool] = False  # reads --columns (CoNLL); every other format names its own layers
    aliases: ClassVar[tuple[str, ...]] = ()
    suffix: ClassVar[str] = ".txt"  # of the files `preprocess -o FOLDER` writes

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        raise NotImplementedError

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        """What of a corpus this format cannot write so that its reader reads it back exactly (tokens, every label
        layer, sentence and document boundaries), said in a few words; None if it can. Checked before writing."""
        return None

    def header(self, layers: Sequence[str], schemes: dict[str, L.Scheme]) -> str:
        """What the output starts with (a TSV header); most formats have none."""
        return ""

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        """One sentence as text, with its line end(s). `new_document`: it starts a document of its file."""
        raise NotImplementedError

    # A format that is not text lines (`text` False) reads and writes a path of its own: a folder, a dataset name
    def read_path(self, path: str) -> Corpus:
        raise NotImplementedError

    def write_path(self, corpus: Corpus, path: str) -> None:
        raise NotImplementedError

    # An annotation tool's format: a model's entities over the text as it came, for the tool to import as
    # pre-annotations (`seqtag tag --output-format`), rather than the labels of a corpus
    predicts: ClassVar[bool] = False

    def predicted(self, text: str, spans: Sequence[tuple[int, int, str, float | None]],
                  tokens: Sequence[str] | None) -> str:
        """One text with its predicted spans (start, end, label, probability or None); `tokens` where the text was
        made by joining them (they are kept so the tokens read back are the ones tagged)."""
        raise NotImplementedError

    # A format whose sentences are items of one document (a JSON array): what goes between two and after the last
    separator: ClassVar[str] = ""

    def footer(self) -> str:
        return ""


_SPACE = re.compile(r"\s")  # for str patterns, exactly the characters of str.isspace


def first_bad(values, bad) -> str | None:
    """The first value (token, label, layer name) for which bad(value), shown, or None."""
    return next((repr(value) for value in values if bad(value)), None)


def spaced(value: str) -> bool:
    return not value or bool(_SPACE.search(value))


def bad_tokens(sentences: Sequence[Sentence], also=lambda token: False) -> str | None:
    found = first_bad((t for s in sentences for t in s.tokens), lambda t: spaced(t) or also(t))
    return f"the token {found}" if found else None


def bad_labels(layers: Sequence[str], sentences: Sequence[Sentence], also=lambda label: False) -> str | None:
    for layer in layers:
        found = first_bad((v for s in sentences for v in s.labels[layer]), lambda v: spaced(v) or also(v))
        if found:
            return f"the {layer} label {found}"
    return None


def document_marks(sentences: Sequence[Sentence]) -> str | None:
    """Formats that mark where a document starts (and none before the first mark) cannot hold a sentence outside
    any document after one inside a document."""
    inside = False
    for number, sentence in enumerate(sentences, 1):
        if sentence.document is not None:
            inside = True
        elif inside:
            return f"sentence {number}, outside any document after a document began"
    return None


def check_tokens(sentence: Sentence) -> None:
    """Every token of the sentence can be written: not empty, no whitespace (one search over the whole sentence;
    the culprit is looked for only when there is one)."""
    if all(sentence.tokens) and not _SPACE.search("".join(sentence.tokens)):
        return
    token = next(t for t in sentence.tokens if not t or _SPACE.search(t))
    where = sentence.origin
    raise DataError(f"token {token!r} is empty or contains whitespace and cannot be written",
                    where.path if where else None, where.line if where else None)


def json_line(line: str, path: str, number: int):
    """One line of a JSON Lines file, parsed; invalid JSON is an error at its line and column."""
    import json

    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        raise DataError(f"invalid JSON: {e.msg} (column {e.colno})", path, number) from None
    except RecursionError:
        raise DataError("invalid JSON: nested too deeply", path, number) from None
