"""What a format is: a reader (lines -> layers, schemes and sentences) and a writer (sentences -> text)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import ClassVar

from seqtag import labels as L
from seqtag.corpus import Sentence
from seqtag.errors import DataError
from seqtag.formats.text import Lines

# A reader's answer: the layers and their known schemes (from the file's first lines), and a generator over the
# sentences, so the same code reads a file held in memory and one streamed from disk pass after pass.
Layout = tuple[tuple[str, ...], dict[str, L.Scheme], Callable[[], Iterator[Sentence]]]


class Format:
    """One corpus format. Subclasses set `name` and implement `layout` and `render`; one entry in
    seqtag.formats.FORMATS registers them for every command and the Python API."""

    name: ClassVar[str]
    summary: ClassVar[str]
    text: ClassVar[bool] = True  # read from and written to text lines (the Hugging Face format is not)
    aliases: ClassVar[tuple[str, ...]] = ()
    suffix: ClassVar[str] = ".txt"  # of the files `preprocess -o FOLDER` writes

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        raise NotImplementedError

    def header(self, layers: Sequence[str], schemes: dict[str, L.Scheme]) -> str:
        """What the output starts with (a TSV header); most formats have none."""
        return ""

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        """One sentence as text, with its line end(s). `new_document`: it starts a document of its file."""
        raise NotImplementedError


_SPACE = re.compile(r"\s")  # for str patterns, exactly the characters of str.isspace


def check_tokens(sentence: Sentence) -> None:
    """Every token of the sentence can be written: not empty, no whitespace (one search over the whole sentence;
    the culprit is looked for only when there is one)."""
    if all(sentence.tokens) and not _SPACE.search("".join(sentence.tokens)):
        return
    token = next(t for t in sentence.tokens if not t or _SPACE.search(t))
    where = sentence.origin
    raise DataError(f"token {token!r} is empty or contains whitespace and cannot be written",
                    where.path if where else None, where.line if where else None)
