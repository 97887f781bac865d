"""The one registry of corpus formats, and reading and writing through it.

FORMATS maps each name to a Format (seqtag.data.formats.base): its reader and its writer. Every command and the Python
API read and write through this table: `--format`, `preprocess --to-format`, `tag --input-format` and
`--output-format`. Adding a format is one class in this package plus one entry here. Readers check their input and
raise DataError naming file and line.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from seqtag.data import labels as L
from seqtag.data.corpus import Corpus, Sentence, StreamedCorpus, normalize_layer
from seqtag.errors import DataError, SeqtagWarning
from seqtag.data.formats.base import Format
from seqtag.data.formats.brat import Brat, is_brat_folder
from seqtag.data.formats.columns import CANONICAL_MAGIC, Canonical, Conll, default_columns
from seqtag.data.formats.conllu import Conllu
from seqtag.data.formats.doccano import Doccano, looks_like as _doccano_record
from seqtag.data.formats.hf import HuggingFace, read_hf, split_name, stream_hf
from seqtag.data.formats.jsonl import Jsonl
from seqtag.data.formats.labelstudio import LabelStudio, looks_like as _label_studio_tasks
from seqtag.data.formats.lines import SEGMENT_LAYER, SLASH_LAYER, Segmented, Slash, Tokens, split_slash
from seqtag.data.formats.text import (DOCSTART, Replayable, decode_stream, iter_text_lines, read_stream_lines,
                                      read_text_lines)
from seqtag.outputs import atomic_output

FORMATS: dict[str, Format] = {f.name: f for f in (Conll(), Conllu(), Segmented(), Slash(), Canonical(), Jsonl(),
                                                   Tokens(), Doccano(), LabelStudio(), Brat(), HuggingFace())}
NAMES = tuple(FORMATS)

__all__ = ["CANONICAL_MAGIC", "DOCSTART", "FORMATS", "SEGMENT_LAYER", "SLASH_LAYER", "default_columns", "detect_format",
           "corpus_from_lines", "get", "iter_text_lines", "load_corpus", "prepare", "read_corpus", "read_hf", "read_lines",
           "read_stdin_corpus", "read_stream_lines", "read_text_lines", "stream_corpus", "write_corpus", "write_sentences"]

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def get(name: str) -> Format:
    for fmt in FORMATS.values():
        if name == fmt.name or name in fmt.aliases:
            return fmt
    raise DataError(f"unknown format {name!r}; expected one of {', '.join(NAMES)}")


def read_corpus(path: str | Path, fmt: str | None = None, columns: Sequence[str] | None = None) -> Corpus:
    """Read a corpus file in any registered format; `fmt` None detects it from the file."""
    path = str(path)
    fmt = fmt or ("brat" if is_brat_folder(path) else None)
    if fmt is not None and not get(fmt).text:
        _ignored_columns(fmt, columns, path)
        return get(fmt).read_path(path)
    return corpus_from_lines(read_text_lines(path), path, fmt, columns)


def _ignored_columns(fmt: str, columns: Sequence[str] | None, path: str) -> None:
    """--columns names a CoNLL file's columns; a format that names its own layers does not read them: say so."""
    if columns is not None and not get(fmt).takes_columns:
        import warnings

        warnings.warn(SeqtagWarning(f"{path}: --columns is for CoNLL columns; this {get(fmt).name} file names its own "
                                    "layers, and the option is not used (--layer NAME=LAYER maps a layer to another "
                                    "name)"), stacklevel=2)


def read_stdin_corpus(fmt: str | None = None, columns: Sequence[str] | None = None) -> Corpus:
    """A corpus piped into stdin (`--train -`), gunzipped where it is gzip, named `<stdin>` in errors."""
    if sys.stdin is None or sys.stdin.isatty():
        raise DataError("--train - reads the training data from stdin, and stdin is a terminal: pipe a corpus in")
    return corpus_from_lines(read_stream_lines(sys.stdin.buffer, "<stdin>"), "<stdin>", fmt, columns)


def corpus_from_lines(lines: list[str], path: str, fmt: str | None = None, columns: Sequence[str] | None = None
                      ) -> Corpus:
    """A corpus from lines already read (a file's, or stdin's for `--train -`), named `path` in errors."""
    if fmt is not None and not get(fmt).text:
        raise DataError(f"the {fmt} format is read from its files (--format {fmt} --train PATH), not from stdin", path)
    fmt = fmt or detect_format(path, lines)
    _ignored_columns(fmt, columns, path)
    layers, schemes, sentences = get(fmt).layout(lambda: iter(lines), path, columns)
    corpus = Corpus(list(sentences()), layers, schemes, path)
    if not corpus.sentences and fmt == "conllu":
        raise DataError("no sentences in CoNLL-U file", path)
    return corpus


def stream_corpus(path: str | Path, fmt: str | None = None, columns: Sequence[str] | None = None) -> StreamedCorpus:
    """Like `read_corpus`, but the sentences stay on disk and are read again on every pass over the result.
    Hugging Face data streams from its memory-mapped Arrow files (or with `streaming=True` from the hub)."""
    path = str(path)
    fmt = fmt or ("brat" if is_brat_folder(path) else None)
    if fmt == "hf":
        return stream_hf(*split_name(path))
    if fmt is not None and not get(fmt).text:  # a folder of documents: read at once
        corpus = get(fmt).read_path(path)
        return StreamedCorpus(lambda: iter(corpus.sentences), corpus.layers, corpus.schemes, path)
    fmt = fmt or detect_format(path, list(itertools.islice(iter_text_lines(path), 200)))
    _ignored_columns(fmt, columns, path)
    layers, schemes, sentences = get(fmt).layout(lambda: iter_text_lines(path), path, columns)
    return StreamedCorpus(sentences, layers, schemes, path)


def read_lines(lines: Iterable[str], source: str, fmt: str | None = None, columns: Sequence[str] | None = None
               ) -> tuple[tuple[str, ...], Iterator[Sentence]]:
    """Sentences from a one-pass stream of lines (stdin), read as they come: (layers, sentences)."""
    replayable = Replayable(lines)
    head = replayable.peek()
    if not any(line.strip() for line in head) and len(head) < replayable.keep:
        return (), iter(())  # empty input: nothing to read, nothing to write
    fmt = fmt or detect_format(source, head)
    if not get(fmt).text:
        raise DataError(f"the {fmt} format is read from files, not from a stream")
    layers, _, sentences = get(fmt).layout(replayable, source, columns)
    return layers, sentences()


def load_corpus(path: str | Path, fmt: str | None = None, columns: Sequence[str] | None = None,
                layer: str | None = None, scheme: L.Scheme | None = None, on_invalid: str = "repair",
                to_scheme: L.Scheme | None = None, stream: bool = False) -> tuple[Corpus | StreamedCorpus, str, int]:
    """Read a corpus (or open it as a stream) and check its target layer: returns (corpus, target layer, sentences
    repaired)."""
    corpus = stream_corpus(path, fmt, columns) if stream else read_corpus(path, fmt, columns)
    return prepare(corpus, layer, scheme, on_invalid, to_scheme)


def prepare(corpus: Corpus | StreamedCorpus, layer: str | None = None, scheme: L.Scheme | None = None,
            on_invalid: str = "repair", to_scheme: L.Scheme | None = None) -> tuple[Corpus | StreamedCorpus, str, int]:
    if isinstance(corpus, Corpus) and not corpus.sentences:
        raise DataError("no sentences", corpus.source)
    target = corpus.resolve_layer(layer)
    corpus, repaired = normalize_layer(corpus, target, scheme, on_invalid, to_scheme)
    if not len(corpus):  # a stream is counted by the check above
        raise DataError("no sentences", corpus.source)
    return corpus, target, repaired


def detect_format(path: str, lines: Sequence[str]) -> str:
    """Tell the format from the file name and its first lines; ask for --format when it is ambiguous."""
    if lines and lines[0].startswith(CANONICAL_MAGIC):
        return "canonical"
    if path.endswith(".conllu"):
        return "conllu"
    sample = [line for line in lines[:200] if line.strip()]
    data = [line for line in sample if not line.startswith("#")]
    if path.endswith(".json") or _label_studio_tasks(data):
        return "labelstudio"
    if path.endswith(".jsonl") or (data and all(line.lstrip().startswith("{") for line in data)):
        return "doccano" if data and _doccano_record(data[0]) else "jsonl"  # a text with spans, or token lists
    if data and all("\t" in line and len(line.split("\t")) == 10 for line in data):
        return "conllu"
    items = [item for line in sample for item in line.split()]
    if items and all(split_slash(item) is not None for item in items):
        return "slash"
    widths = {len(line.split()) for line in sample}
    has_cjk = any(_CJK.search(line) for line in sample)
    has_blank_lines = len(sample) < len(lines[:200])
    if len(widths) == 1 and 2 <= min(widths) <= 20 and (has_blank_lines or not has_cjk):
        return "conll"  # a constant number of columns (and blank lines between sentences)
    if has_cjk:
        return "segmented"
    choices = "|".join(name for name, f in FORMATS.items() if f.text)
    numbered = [(n, len(line.split())) for n, line in enumerate(lines[:200], 1) if line.strip()]
    if len(widths) > 1 and numbered and numbered[0][1] >= 2:  # columns, but their number changes
        first = numbered[0]
        line, width = next(item for item in numbered if item[1] != first[1])
        raise DataError(f"{width} column(s) where line {first[0]} has {first[1]}: a CoNLL file keeps one number of "
                        f"columns (or pass --format {choices})", path, line)
    raise DataError(f"cannot tell the format of this file; pass --format {choices}", path)


def write_sentences(sentences: Iterable[Sentence], layers: Sequence[str], schemes: dict[str, L.Scheme], fmt: str
                    ) -> Iterator[str]:
    """The text of sentences in a format, piece by piece (for streams); documents marked where they change."""
    writer = get(fmt)
    if not writer.text:
        raise DataError(f"the {fmt} format is written to a folder, not to a stream")
    yield writer.header(layers, schemes)
    document, between = None, ""
    for sentence in sentences:
        new_document = sentence.document is not None and sentence.document != document
        document = sentence.document
        yield between + writer.render(sentence, layers, new_document)
        between = writer.separator
    yield writer.footer()


def check_writable(corpus: Corpus, fmt: str) -> None:
    """Refuse, before anything is written, a corpus the format cannot write so that its reader reads it back
    exactly: tokens, every label layer, sentence and document boundaries."""
    writer = get(fmt)
    empty = next((number for number, s in enumerate(corpus, 1) if not len(s)), None)  # a stream is read again
    reason = f"cannot hold an empty sentence (sentence {empty})" if empty else writer.cannot_hold(
        corpus.layers, corpus)
    if reason:
        raise DataError(f"the {writer.name} format {reason}", corpus.source)


def write_corpus(corpus: Corpus | StreamedCorpus, path: str | Path, fmt: str = "canonical") -> None:
    """Write atomically: a temporary file beside the target, then a rename, so a crash leaves no partial file.
    A corpus the format cannot hold is refused first (check_writable)."""
    check_writable(corpus, fmt)
    if not get(fmt).text:
        return get(fmt).write_path(corpus, str(path))
    if Path(path).is_dir():
        raise DataError(f"is a folder; a {get(fmt).name} corpus is written to a file", path)
    with atomic_output(path) as out:
        write_text(corpus, out, fmt)


def write_text(corpus: Corpus | StreamedCorpus, out: TextIO, fmt: str) -> None:
    started = False
    for piece in write_sentences(corpus, corpus.layers, corpus.schemes, fmt):
        if not started and piece.startswith("\ufeff"):  # read back, it would be dropped as a byte order mark
            raise DataError(f"the {get(fmt).name} format cannot begin a file with U+FEFF (the first token starts "
                            "with it, and readers drop it as a byte order mark)", corpus.source)
        started = started or bool(piece)
        out.write(piece)


def decode_stdin(stream: Iterable[bytes], replace: bool = False) -> Iterator[str]:
    return decode_stream(stream, "<stdin>", replace)
