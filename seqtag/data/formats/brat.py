"""brat standoff: a folder of documents, each a `NAME.txt` and a `NAME.ann` whose entity lines (`T1<TAB>PER 0
15<TAB>Peter Blackburn`) give a type and character offsets into the text (end exclusive).

Reading takes every `.txt` of the folder (in name order; a missing `.ann` is a document without entities) as one
document: each line split into sentences and tokenized as `seqtag tag` reads raw text, the entities as an IOB2
layer `ner`. A sentence boundary inside an entity joins the two sentences. The other annotations (relations, events,
attributes, notes) are passed over. An entity whose text is not the text at its offsets, a discontinuous one, one off
the token boundaries, one that overlaps another (nested entities) or an unreadable line is refused with its file,
line, offsets and text.

Writing gives `doc-0001.txt` and `.ann` per document (a sentence a line, its tokens joined by spaces), into a new
folder, or one seqtag wrote, replaced whole (brat's `annotation.conf` is the project's own, not written). A folder
seqtag wrote (its mark is inside) is read back the way it was written: a sentence a line, tokens split at spaces."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from seqtag.data import labels as L
from seqtag.data.corpus import Corpus, Origin, Sentence
from seqtag.data.formats.base import Format
from seqtag.data.formats.spans import LAYER, cannot_hold, char_spans, joined, target_layer, token_labels, trimmed
from seqtag.data.formats.text import read_text_lines
from seqtag.data.tokens import sentence_starts, tokenize, whitespace_tokens
from seqtag.errors import DataError

_ENTITY = re.compile(r"^(T\d+)\t(\S+) (\d+) (\d+(?:;\d+ \d+)*)\t(.*)$")


def is_brat_folder(path: str | Path) -> bool:
    path = Path(path)
    return path.is_dir() and any(path.glob("*.ann"))


def documents(path: str | Path) -> list[Path]:
    """The texts of a brat folder (or the one text of NAME.ann / NAME.txt), in name order."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.txt"))
        if not found:
            raise DataError("a brat folder holds NAME.txt and NAME.ann files; there is no .txt here", path)
        return found
    if path.suffix in (".ann", ".txt"):
        text = path.with_suffix(".txt")
        if not text.is_file():
            raise DataError(f"the text of this brat document, {text.name}, is not beside it", path)
        return [text]
    raise DataError("brat is read from a folder of NAME.txt and NAME.ann files (or one of them)", path)


def entities(ann: Path, text: str) -> list[tuple[int, int, str, int]]:
    """(start, end, type, line) of the entities of an .ann file, checked against the text."""
    if not ann.is_file():
        return []
    found, ids = [], {}
    for number, line in enumerate(read_text_lines(ann) if ann.stat().st_size else [], 1):
        if not line.startswith("T"):
            continue  # R, E, A, M, N, #, *: not entities
        match = _ENTITY.match(line)
        if not match:
            raise DataError("an entity line is 'T<n><TAB>TYPE START END<TAB>text'", str(ann), number)
        name, label, start, ends, written = match.groups()
        if ids.setdefault(name, number) != number:
            raise DataError(f"{name} is already the entity of line {ids[name]}", str(ann), number)
        if ";" in ends:
            raise DataError(f"the {label} entity {start} {ends} is discontinuous, which a token layer cannot hold",
                            str(ann), number)
        start, end = int(start), int(ends)
        if not start < end <= len(text):
            raise DataError(f"the {label} entity {start}-{end} lies outside the text's {len(text)} characters",
                            str(ann), number)
        if text[start:end] != written:
            raise DataError(f"the {label} entity {start}-{end} says {written!r}, but the text there is "
                            f"{text[start:end]!r} (is the .txt the one annotated?)", str(ann), number)
        found.append((*trimmed(text, start, end), label, number))
    return found


def read_document(txt: Path, document: int, as_written: bool = False) -> Iterator[Sentence]:
    """The sentences of one document; `as_written`: seqtag wrote it, a sentence a line of tokens split at spaces."""
    text = "\n".join(read_text_lines(txt)) if txt.stat().st_size else ""
    ann = txt.with_suffix(".ann")
    spans = entities(ann, text)
    split = whitespace_tokens if as_written else tokenize
    pieces = []  # (start, end) of each sentence in the text
    at = 0
    for line in text.split("\n"):
        starts = ([0] if as_written else sentence_starts(line)) if line.strip() else []
        pieces += [(at + a, at + b) for a, b in zip(starts, [*starts[1:], len(line)])]
        at += len(line) + 1
    for start, end, label, number in spans:  # a sentence boundary inside an entity is not one
        inside = [i for i, (a, b) in enumerate(pieces) if a < end and start < b]
        if len(inside) > 1:
            pieces[inside[0]:inside[-1] + 1] = [(pieces[inside[0]][0], pieces[inside[-1]][1])]
    for a, b in pieces:
        tokens, offsets = split(text[a:b])
        if not tokens:
            continue
        offsets = [(s + a, e + a) for s, e in offsets]  # in the document, as the .ann gives them
        labels = token_labels(text, offsets, [span for span in spans if a <= span[0] < b], str(ann), None)
        yield Sentence(tuple(tokens), {LAYER: tuple(labels)}, Origin(str(txt), text.count("\n", 0, a) + 1, False),
                       document)


class Brat(Format):
    name = "brat"
    text = False  # a folder of files
    suffix = ".brat"  # a folder, named like the files
    summary = "brat standoff: a folder of NAME.txt and NAME.ann (T lines: TYPE START END); read as IOB2 layer ner"

    def read_path(self, path: str) -> Corpus:
        from seqtag.outputs import DATASET_MARK

        as_written = (Path(path) / DATASET_MARK).is_file()  # a folder seqtag wrote is read as it was written
        sentences = [s for number, txt in enumerate(documents(path)) for s in read_document(txt, number, as_written)]
        return Corpus(sentences, (LAYER,), {LAYER: L.Scheme.IOB2}, str(path))

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        return cannot_hold(layers, sentences)

    def write_path(self, corpus: Corpus, path: str) -> None:
        from seqtag.data.formats.folders import write_folder

        def fill(folder: Path) -> None:
            for number, group in enumerate(_documents(corpus), 1):
                lines, entries, at = [], [], 0
                for sentence in group:
                    text, offsets = joined(sentence.tokens)
                    for start, end, label in char_spans(sentence.labels[target_layer(corpus.layers)], offsets):
                        entries.append(f"T{len(entries) + 1}\t{label} {at + start} {at + end}\t{text[start:end]}\n")
                    lines.append(text)
                    at += len(text) + 1
                (folder / f"doc-{number:04d}.txt").write_text("".join(f"{line}\n" for line in lines), "utf-8")
                (folder / f"doc-{number:04d}.ann").write_text("".join(entries), "utf-8")

        write_folder(path, fill)


def _documents(corpus: Corpus) -> Iterator[list[Sentence]]:
    """The corpus's sentences grouped by document (a corpus without documents is one)."""
    group: list[Sentence] = []
    for sentence in corpus:
        if group and sentence.document != group[-1].document:
            yield group
            group = []
        group.append(sentence)
    if group:
        yield group
