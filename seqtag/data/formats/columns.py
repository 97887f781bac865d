"""Column formats: CoNLL (one token per line, columns split by tabs or spaces, `-DOCSTART-` marks documents) and
the canonical TSV that `seqtag preprocess` writes (a header naming the columns and their schemes)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

from seqtag.data import labels as L
from seqtag.data.corpus import Origin, Sentence
from seqtag.errors import DataError
from seqtag.data.formats.base import Format, Layout, bad_labels, bad_tokens, check_tokens, document_marks, first_bad, spaced
from seqtag.data.formats.text import DOCSTART, Lines, sentence_blocks
from seqtag.outputs import CANONICAL_MAGIC



def default_columns(width: int) -> list[str]:
    return ["word"] + [f"col{i}" for i in range(2, width + 1)]


def _fields(line: str, by_tab: bool) -> list[str]:
    return [f.strip() for f in line.strip().split("\t")] if by_tab else line.split()


def read_rows(lines: Iterable[str], path: str, names: list[str], by_tab: bool, token_column: int
              ) -> Iterator[Sentence]:
    for start, block, document in sentence_blocks(lines):
        rows = []
        for offset, line in enumerate(block):
            fields = _fields(line, by_tab)
            if len(fields) != len(names):
                raise DataError(f"expected {len(names)} columns ({' '.join(names)}), found {len(fields)}", path,
                                start + offset)
            rows.append(fields)
        values = list(zip(*rows))
        yield Sentence(tokens=values[token_column],
                       labels={name: values[i] for i, name in enumerate(names) if i != token_column},
                       origin=Origin(path, start, True), document=document)


def render_rows(sentence: Sentence, layers: Sequence[str], new_document: bool, separator: str) -> str:
    """Rows of token and labels, then a blank line; a new document is marked with a -DOCSTART- line first."""
    check_tokens(sentence)
    head = separator.join([DOCSTART, *("-X-" for _ in layers)]) + "\n\n" if new_document else ""
    rows = zip(sentence.tokens, *(sentence.labels[layer] for layer in layers))
    blocks = []  # joined 10,000 rows at a time: a sentence of millions of tokens costs no string per row at once
    while block := list(itertools.islice(rows, 10_000)):
        blocks.append("".join([separator.join(row) + "\n" for row in block]))
    return head + "".join(blocks) + "\n"


def cannot_hold_columns(layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
    found = (bad_tokens(sentences, lambda token: token == DOCSTART) or bad_labels(layers, sentences)
             or document_marks(sentences))
    return f"cannot hold {found} (columns are split at whitespace, and {DOCSTART} marks a document)" if found else None


class Conll(Format):
    name = "conll"
    suffix = ".conll"
    summary = "CoNLL columns: a token per line, then its labels; blank lines between sentences"
    takes_columns = True

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        first = next((line for line in lines() if line.strip() and line.split()[0] != DOCSTART), None)
        if first is None:
            raise DataError("no sentences (only blank or -DOCSTART- lines)", path)
        by_tab = "\t" in first.strip()
        width = len(_fields(first, by_tab))
        names = list(columns) if columns else default_columns(width)
        if len(set(names)) != len(names):
            raise DataError(f"--columns names a column twice: {','.join(names)}")
        token_column = names.index("word") if "word" in names else 0
        layers = tuple(name for i, name in enumerate(names) if i != token_column)
        return layers, {}, lambda: read_rows(lines(), path, names, by_tab, token_column)

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        return cannot_hold_columns(layers, sentences)

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        return render_rows(sentence, layers, new_document, "\t")


class Canonical(Format):
    name = "canonical"
    suffix = ".tsv"
    summary = "seqtag's TSV: CoNLL columns under a header naming the columns and their schemes"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        header = list(itertools.islice(lines(), 1, 3))
        if len(header) < 2 or not header[0].startswith("#columns\t") or not header[1].startswith("#schemes"):
            raise DataError("canonical file without its '#columns' and '#schemes' header lines", path, 2)
        names = header[0].split("\t")[1:]
        if "word" not in names:
            raise DataError("canonical header names no 'word' column", path, 2)
        schemes = {}
        for item in header[1].split("\t")[1:]:
            layer, _, scheme = item.partition("=")
            try:
                schemes[layer] = L.Scheme(scheme)
            except ValueError:
                raise DataError(f"unknown scheme {scheme!r} in header", path, 3) from None
        if len(set(names)) != len(names):
            raise DataError(f"canonical header names a column twice: {','.join(names)}", path, 2)
        token_column = names.index("word")
        layers = tuple(name for name in names if name != "word")

        def body() -> Iterator[str]:  # blanks for the header keep the line numbers true
            return itertools.chain(["", "", ""], itertools.islice(lines(), 3, None))

        return layers, schemes, lambda: read_rows(body(), path, names, True, token_column)

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        name = first_bad(layers, lambda layer: spaced(layer) or layer == "word" or "=" in layer)
        if name:
            return f"cannot hold the layer name {name} (the header lists word and the layers, and layer=scheme)"
        return cannot_hold_columns(layers, sentences)

    def header(self, layers: Sequence[str], schemes: dict[str, L.Scheme]) -> str:
        known = [f"{layer}={schemes[layer].value}" for layer in layers if layer in schemes]
        return (CANONICAL_MAGIC + "\n" + "\t".join(["#columns", "word", *layers]) + "\n"
                + "\t".join(["#schemes", *known]) + "\n")

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        return render_rows(sentence, layers, new_document, "\t")
