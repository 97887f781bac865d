"""Readers and writers for the corpus formats users have, and the canonical TSV every command reads.

Formats: CoNLL columns, CoNLL-U, space-segmented text (as B/M/E/S characters), `word/TAG` text, Hugging Face
`datasets`, and `canonical` (a TSV with a header naming its columns and schemes). Readers check their input and
raise DataError naming file and line; CRLF line ends and a UTF-8 BOM are accepted silently.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from seqtag import labels as L
from seqtag.corpus import Corpus, Origin, Sentence, StreamedCorpus, normalize_layer
from seqtag.errors import DataError
from seqtag.outputs import atomic_output

FORMATS = ("conll", "conllu", "segmented", "slash", "canonical", "hf")
CANONICAL_MAGIC = "#seqtag canonical 1"
DOCSTART = "-DOCSTART-"
SEGMENT_LAYER = "seg"
SLASH_LAYER = "tag"
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


# ---------------------------------------------------------------------------------------------------- text input


def decode_lines(data: bytes, path: str) -> list[str]:
    """Decode UTF-8 into lines without their line ends; a BOM and CRLF are accepted, NUL bytes are not."""
    if not data.strip():
        raise DataError("file is empty", path)
    nul = data.find(b"\0")
    if nul >= 0:
        raise DataError("binary data (a NUL byte), not a text corpus", path, data.count(b"\n", 0, nul) + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(f"invalid UTF-8 (byte 0x{data[e.start]:02x}); the file must be UTF-8", path, line) from None
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _open_binary(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise DataError("no such file", path) from None
    except IsADirectoryError:
        raise DataError("is a directory, expected a file (use --dataset for a saved Hugging Face dataset)", path) from None
    except OSError as e:
        raise DataError(f"cannot read: {e.strerror}", path) from None


def read_text_lines(path: str | Path) -> list[str]:
    path = str(path)
    with _open_binary(path) as file:
        try:
            data = file.read()
        except OSError as e:
            raise DataError(f"cannot read: {e.strerror}", path) from None
    return decode_lines(data, path)


def iter_text_lines(path: str | Path) -> Iterator[str]:
    """The lines of a UTF-8 file, read one at a time with the checks of `decode_lines`: memory stays flat."""
    path = str(path)
    with _open_binary(path) as file:
        blank = True
        for number, raw in enumerate(file, 1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if b"\0" in raw:
                raise DataError("binary data (a NUL byte), not a text corpus", path, number)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"invalid UTF-8 (byte 0x{raw[e.start]:02x}); the file must be UTF-8", path,
                                number) from None
            blank = blank and not line.strip()
            yield line.removesuffix("\n").removesuffix("\r")
        if blank:
            raise DataError("file is empty", path)


# ---------------------------------------------------------------------------------------------------- readers

# A reader turns lines into sentences. Each one is split into what it knows before the sentences (the layers and
# their schemes, from the file's first lines) and a generator over the sentences, so the same code reads a file
# held in memory (`read_corpus`) and one streamed from disk pass after pass (`stream_corpus`).
Lines = Callable[[], Iterator[str]]  # opens the lines afresh on each call
Layout = tuple[tuple[str, ...], dict[str, L.Scheme], Callable[[], Iterator[Sentence]]]


def read_corpus(
    path: str | Path,
    fmt: str | None = None,
    columns: Sequence[str] | None = None,
) -> Corpus:
    """Read a corpus file in any supported format; `fmt` None detects it from the file."""
    path = str(path)
    if fmt == "hf":  # `NAME_OR_PATH:split` picks a split; the default is train
        name, split = _hf_name_split(path)
        return read_hf(name, split)[0][1]
    lines = read_text_lines(path)
    fmt = fmt or detect_format(path, lines)
    layers, schemes, sentences = _layout(path, fmt, columns, lambda: iter(lines))
    corpus = Corpus(list(sentences()), layers, schemes, path)
    if not corpus.sentences and fmt == "conllu":
        raise DataError("no sentences in CoNLL-U file", path)
    return corpus


def stream_corpus(
    path: str | Path,
    fmt: str | None = None,
    columns: Sequence[str] | None = None,
) -> StreamedCorpus:
    """Like `read_corpus`, but the sentences stay on disk and are read again on every pass over the result.

    Hugging Face data streams from its memory-mapped Arrow files (or with `streaming=True` from the hub).
    """
    path = str(path)
    if fmt == "hf":
        name, split = _hf_name_split(path)
        return stream_hf(name, split)
    fmt = fmt or detect_format(path, list(itertools.islice(iter_text_lines(path), 200)))
    layers, schemes, sentences = _layout(path, fmt, columns, lambda: iter_text_lines(path))
    return StreamedCorpus(sentences, layers, schemes, path)


def _hf_name_split(path: str) -> tuple[str, str]:
    name, colon, split = path.rpartition(":")
    return (name, split) if colon and not Path(path).exists() else (path, "train")


def _layout(path: str, fmt: str, columns: Sequence[str] | None, lines: Lines) -> Layout:
    if fmt == "conll":
        return _conll_layout(lines, path, columns)
    if fmt == "conllu":
        # upos last, so it is the default target layer (the tag set UD defines)
        return ("xpos", "upos"), {layer: L.Scheme.PLAIN for layer in CONLLU_LAYERS}, lambda: _conllu(lines(), path)
    if fmt == "segmented":
        return (SEGMENT_LAYER,), {SEGMENT_LAYER: L.Scheme.BMES}, lambda: _segmented(lines(), path)
    if fmt == "slash":
        return (SLASH_LAYER,), {}, lambda: _slash(lines(), path)
    if fmt == "canonical":
        return _canonical_layout(lines, path)
    raise DataError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def load_corpus(
    path: str | Path,
    fmt: str | None = None,
    columns: Sequence[str] | None = None,
    layer: str | None = None,
    scheme: L.Scheme | None = None,
    on_invalid: str = "repair",
    to_scheme: L.Scheme | None = None,
    stream: bool = False,
) -> tuple[Corpus | StreamedCorpus, str, int]:
    """Read a corpus (or open it as a stream) and check its target layer: returns (corpus, target layer, sentences
    repaired)."""
    corpus = stream_corpus(path, fmt, columns) if stream else read_corpus(path, fmt, columns)
    return prepare(corpus, layer, scheme, on_invalid, to_scheme)


def prepare(
    corpus: Corpus | StreamedCorpus,
    layer: str | None = None,
    scheme: L.Scheme | None = None,
    on_invalid: str = "repair",
    to_scheme: L.Scheme | None = None,
) -> tuple[Corpus | StreamedCorpus, str, int]:
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
    if data and all("\t" in line and len(line.split("\t")) == 10 for line in data):
        return "conllu"
    items = [item for line in sample for item in line.split()]
    if items and all(_split_slash(item) is not None for item in items):
        return "slash"
    widths = {len(line.split()) for line in sample}
    has_cjk = any(_CJK.search(line) for line in sample)
    has_blank_lines = len(sample) < len(lines[:200])
    if len(widths) == 1 and 2 <= min(widths) <= 20 and (has_blank_lines or not has_cjk):
        return "conll"  # a constant number of columns (and blank lines between sentences)
    if has_cjk:
        return "segmented"
    numbered = [(n, len(line.split())) for n, line in enumerate(lines[:200], 1) if line.strip()]
    if len(widths) > 1 and numbered and numbered[0][1] >= 2:  # columns, but their number changes
        first = numbered[0]
        line, width = next(item for item in numbered if item[1] != first[1])
        raise DataError(f"{width} column(s) where line {first[0]} has {first[1]}: a CoNLL file keeps one number of "
                        "columns (or pass --format conll|conllu|segmented|slash|canonical)", path, line)
    raise DataError("cannot tell the format of this file; pass --format conll|conllu|segmented|slash|canonical", path)


def _sentence_blocks(lines: Iterable[str], skip_comments: bool = False) -> Iterator[tuple[int, list[str], int | None]]:
    """Blank-line separated blocks as (first line number, lines, document); CoNLL `-DOCSTART-` lines break blocks
    too and start a new document (numbered from 0; None before the first)."""
    block: list[str] = []
    start, document = 0, None
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        docstart = bool(stripped) and stripped.split()[0] == DOCSTART
        if not stripped or docstart or (skip_comments and stripped.startswith("#")):
            if block:
                yield start, block, document
                block = []
            if docstart:
                document = 0 if document is None else document + 1
            continue
        if not block:
            start = number
        block.append(line)
    if block:
        yield start, block, document


def default_columns(width: int) -> list[str]:
    return ["word"] + [f"col{i}" for i in range(2, width + 1)]


def _conll_layout(lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
    """CoNLL column file: one token per line, columns separated by tabs (if the first line has one) or spaces."""
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
    return layers, {}, lambda: _conll(lines(), path, names, by_tab, token_column)


def _conll(lines: Iterable[str], path: str, names: list[str], by_tab: bool, token_column: int) -> Iterator[Sentence]:
    for start, block, document in _sentence_blocks(lines):
        rows = []
        for offset, line in enumerate(block):
            fields = _fields(line, by_tab)
            if len(fields) != len(names):
                raise DataError(
                    f"expected {len(names)} columns ({' '.join(names)}), found {len(fields)}", path, start + offset
                )
            rows.append(fields)
        values = list(zip(*rows))
        yield Sentence(
            tokens=values[token_column],
            labels={name: values[i] for i, name in enumerate(names) if i != token_column},
            origin=Origin(path, start, True),
            document=document,
        )


def _fields(line: str, by_tab: bool) -> list[str]:
    return [f.strip() for f in line.strip().split("\t")] if by_tab else line.split()


CONLLU_LAYERS = ("upos", "xpos")


def _conllu(lines: Iterable[str], path: str) -> Iterator[Sentence]:
    """CoNLL-U: syntactic words only; multiword-token ranges (`3-4`) and empty nodes (`5.1`) are not tokens."""
    import conllu  # lazy: only this reader needs it

    for start, block, _ in _sentence_blocks(lines):
        for offset, line in enumerate(block):
            if not line.startswith("#") and len(line.split("\t")) != 10:
                found = len(line.split("\t"))
                raise DataError(f"expected 10 tab-separated CoNLL-U fields, found {found}", path, start + offset)
        try:
            (tokenlist,) = conllu.parse("\n".join(block) + "\n\n")
        except (conllu.exceptions.ParseException, ValueError) as e:
            raise DataError(f"CoNLL-U: {e}", path, start) from None
        words = [t for t in tokenlist if isinstance(t["id"], int)]
        if words:
            yield Sentence(
                tokens=tuple(t["form"] for t in words),
                labels={layer: tuple(t[layer] or "_" for t in words) for layer in CONLLU_LAYERS},
                origin=Origin(path, start + _comment_lines(block), True),
            )


def _comment_lines(block: Sequence[str]) -> int:
    return sum(line.startswith("#") for line in block)


def _segmented(lines: Iterable[str], path: str) -> Iterator[Sentence]:
    """Space-segmented text, one sentence per line, as characters with B/M/E/S labels in layer `seg`."""
    for number, line in enumerate(lines, 1):
        words = line.split()
        if words:
            chars, tags = L.words_to_tags(words)
            yield Sentence(tuple(chars), {SEGMENT_LAYER: tuple(tags)}, Origin(path, number, False))


def _split_slash(item: str) -> tuple[str, str] | None:
    word, slash, tag = item.rpartition("/")
    return (word, tag) if slash and word and tag else None


def _slash(lines: Iterable[str], path: str) -> Iterator[Sentence]:
    """`word/TAG word/TAG ...`, one sentence per line; the tag follows the last slash."""
    for number, line in enumerate(lines, 1):
        pairs = []
        for item in line.split():
            pair = _split_slash(item)
            if pair is None:
                raise DataError(f"expected word/TAG, found {item!r}", path, number)
            pairs.append(pair)
        if pairs:
            words, tags = zip(*pairs)
            yield Sentence(words, {SLASH_LAYER: tags}, Origin(path, number, False))


def _canonical_layout(lines: Lines, path: str) -> Layout:
    """The canonical TSV written by `seqtag preprocess`: three header lines (magic, columns, schemes), then rows."""
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

    return layers, schemes, lambda: _conll(body(), path, names, True, token_column)


def read_hf(name_or_path: str, split: str | None = "train") -> list[tuple[str, Corpus]]:
    """A Hugging Face dataset: a folder from `save_to_disk`, a local json/jsonl/csv/parquet file, or a hub name.

    Returns (split, corpus) for the split asked for, or for every split when `split` is None. Tokens come from the
    `tokens` (or `words`) column; every other column with one label per token becomes a layer, named without a
    `_tags` suffix (`ner_tags` -> `ner`), with ClassLabel ids mapped to their names.
    """
    splits = _load_hf(name_or_path, split, streaming=False)
    result = []
    for name in [split] if split else splits:
        source = f"{name_or_path}[{name}]"
        layers, sentences = _hf_layout(splits[name], source)
        result.append((name, Corpus(list(sentences()), layers, source=source)))
    return result


def stream_hf(name_or_path: str, split: str = "train") -> StreamedCorpus:
    """One split of a Hugging Face dataset, streamed: a `save_to_disk` folder is read from its memory-mapped Arrow
    files, local json/csv/parquet files and hub datasets with `streaming=True`."""
    data = _load_hf(name_or_path, split, streaming=True)[split]
    source = f"{name_or_path}[{split}]"
    layers, sentences = _hf_layout(data, source)
    return StreamedCorpus(sentences, layers, {}, source)


def _load_hf(name_or_path: str, split: str | None, streaming: bool) -> dict:
    import datasets  # lazy: heavy, and only this reader needs it

    path = Path(name_or_path)
    builders = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}
    try:
        if path.is_dir():
            data = datasets.load_from_disk(str(path))  # memory-mapped: iterating it does not load it
        elif path.suffix in builders and path.is_file():
            data = datasets.load_dataset(builders[path.suffix], data_files=str(path), streaming=streaming)
        elif path.suffix in builders:
            raise DataError("no such file", name_or_path)
        else:
            data = datasets.load_dataset(name_or_path, streaming=streaming)
    except DataError:
        raise
    except Exception as e:  # datasets raises many types (network, missing config, bad files)
        raise DataError(f"cannot load dataset: {e}", name_or_path) from None
    if not isinstance(data, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        data = {split or "train": data}
    if split is not None and split not in data:
        raise DataError(f"no split {split!r}; splits are: {', '.join(data)}", name_or_path)
    return data


def _hf_layout(data, source: str) -> tuple[tuple[str, ...], Callable[[], Iterator[Sentence]]]:
    features = data.features  # None for a streamed dataset whose schema shows only in its rows
    first = None
    if features is None:
        first = next(iter(data), None)
        if first is None:
            raise DataError("no rows", source)
    columns = list(features) if features is not None else list(first)
    token_column = next((c for c in ("tokens", "words") if c in columns), None)
    if token_column is None:
        raise DataError(f"no 'tokens' column; columns are: {', '.join(columns)}", source)
    label_columns = [c for c in columns if c != token_column
                     and (_is_sequence(features[c]) if features is not None else isinstance(first[c], list))]
    names = {c: _classlabel_names(features[c]) if features is not None else None for c in label_columns}
    layers = tuple(c.removesuffix("_tags") for c in label_columns)

    def sentences() -> Iterator[Sentence]:
        for row_number, row in enumerate(data, 1):
            tokens = tuple(str(t) for t in row[token_column])
            labels = {}
            for column, layer in zip(label_columns, layers):
                values = row[column]
                if len(values) != len(tokens):
                    raise DataError(f"{column} has {len(values)} labels for {len(tokens)} tokens", source, row_number)
                labels[layer] = tuple(names[column][v] if names[column] else str(v) for v in values)
            if any(not t or any(c.isspace() for c in t) for t in tokens):
                raise DataError("a token is empty or contains whitespace", source, row_number)
            if tokens:
                yield Sentence(tokens, labels, Origin(source, row_number, False))

    return layers, sentences


def _is_sequence(feature) -> bool:
    # `Sequence` in datasets < 4, `List`/`LargeList` since; a plain list in some schemas
    return isinstance(feature, list) or type(feature).__name__ in ("Sequence", "List", "LargeList")


def _classlabel_names(feature) -> list[str] | None:
    import datasets

    inner = feature[0] if isinstance(feature, list) else feature.feature
    return list(inner.names) if isinstance(inner, datasets.ClassLabel) else None


# ---------------------------------------------------------------------------------------------------- writers


def write_corpus(corpus: Corpus, path: str | Path, fmt: str = "canonical") -> None:
    """Write atomically: a temporary file beside the target, then a rename, so a crash leaves no partial file."""
    writers = {
        "canonical": write_canonical,
        "conll": write_conll,
        "conllu": write_conllu,
        "segmented": write_segmented,
        "slash": write_slash,
    }
    if fmt not in writers:
        raise DataError(f"cannot write format {fmt!r}; expected one of {', '.join(writers)}")
    with atomic_output(path) as out:
        writers[fmt](corpus, out)


def _check_token(token: str, sentence: Sentence) -> None:
    if not token or any(c.isspace() for c in token):
        where = sentence.origin
        raise DataError(
            f"token {token!r} is empty or contains whitespace and cannot be written",
            where.path if where else None,
            where.line if where else None,
        )


def write_canonical(corpus: Corpus, out: TextIO) -> None:
    out.write(CANONICAL_MAGIC + "\n")
    out.write("\t".join(["#columns", "word", *corpus.layers]) + "\n")
    schemes = [f"{layer}={corpus.schemes[layer].value}" for layer in corpus.layers if layer in corpus.schemes]
    out.write("\t".join(["#schemes", *schemes]) + "\n")
    _write_rows(corpus, out, "\t")


def write_conll(corpus: Corpus, out: TextIO) -> None:
    _write_rows(corpus, out, " ")


def _write_rows(corpus: Corpus, out: TextIO, separator: str) -> None:
    document = None
    for i, sentence in enumerate(corpus.sentences):
        if i:
            out.write("\n")
        if sentence.document is not None and sentence.document != document:  # keep the document marks
            out.write(separator.join([DOCSTART, *("-X-" for _ in corpus.layers)]) + "\n\n")
            document = sentence.document
        columns = [sentence.labels[layer] for layer in corpus.layers]
        for j, token in enumerate(sentence.tokens):
            _check_token(token, sentence)
            out.write(separator.join([token, *(column[j] for column in columns)]) + "\n")


def write_conllu(corpus: Corpus, out: TextIO) -> None:
    for sentence in corpus.sentences:
        upos = sentence.labels.get("upos", ("_",) * len(sentence))
        xpos = sentence.labels.get("xpos", ("_",) * len(sentence))
        for j, token in enumerate(sentence.tokens, 1):
            _check_token(token, sentence)
            out.write(f"{j}\t{token}\t_\t{upos[j - 1]}\t{xpos[j - 1]}\t_\t_\t_\t_\t_\n")
        out.write("\n")


def write_segmented(corpus: Corpus, out: TextIO) -> None:
    layer = SEGMENT_LAYER if SEGMENT_LAYER in corpus.layers else corpus.resolve_layer(None)
    for sentence in corpus.sentences:
        out.write(" ".join(L.segment_words(sentence.tokens, sentence.labels[layer])) + "\n")


def write_slash(corpus: Corpus, out: TextIO) -> None:
    layer = corpus.resolve_layer(None)
    for sentence in corpus.sentences:
        for token in sentence.tokens:
            _check_token(token, sentence)
        out.write(" ".join(f"{w}/{t}" for w, t in zip(sentence.tokens, sentence.labels[layer])) + "\n")
