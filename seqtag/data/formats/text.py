"""Text input for every reader: UTF-8 decoding with file:line errors, files held in memory or read a line at a time,
stdin, and the blank-line blocks that column formats are made of. CRLF line ends, a UTF-8 BOM and gzipped files
are accepted."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from seqtag.inputs import regular_file
from seqtag.errors import DataError

DOCSTART = "-DOCSTART-"
Lines = Callable[[], Iterator[str]]  # opens the lines afresh on each call


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
    lines = text.removeprefix("\ufeff").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


GZIP_MAGIC = b"\x1f\x8b"


def open_binary(path: str) -> BinaryIO:
    """A corpus file's bytes; a gzipped one (known by its first bytes, whatever its name) decompressed."""
    regular_file(path, folder_hint=" (a brat folder is read with --format brat, a saved Hugging Face dataset with "
                                    "--format hf or --dataset)")
    try:
        file = open(path, "rb")
        if file.read(2) == GZIP_MAGIC:
            file.close()
            return gzip.open(path, "rb")
        file.seek(0)
        return file
    except OSError as e:  # gone or changed since it was checked
        raise DataError(f"cannot read: {e.strerror}", path) from None


def file_sha256(path: str | Path) -> str:
    """A file's SHA-256, read in blocks (a corpus or a weights file may be larger than memory)."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def read_stream_lines(stream: BinaryIO, name: str) -> list[str]:
    """All lines of a byte stream such as stdin, gunzipped where its first bytes say gzip."""
    try:
        data = stream.read()
        if data.startswith(GZIP_MAGIC):
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(unreadable(e), name) from None
    return decode_lines(data, name)


def read_text_lines(path: str | Path) -> list[str]:
    path = str(path)
    with open_binary(path) as file:
        try:
            data = file.read()
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(unreadable(e), path) from None
    return decode_lines(data, path)


def unreadable(error: Exception) -> str:
    if isinstance(error, (EOFError, zlib.error, gzip.BadGzipFile)):  # a gzipped file cut short or damaged
        return f"damaged gzip data ({error or type(error).__name__})"
    return f"cannot read: {error.strerror}"


def decode_stream(stream: Iterable[bytes], source: str, replace: bool = False, empty_error: bool = False
                  ) -> Iterator[str]:
    """Lines of a binary stream (a file, stdin) decoded one at a time: memory stays flat. `replace` puts U+FFFD for
    invalid bytes instead of stopping at them."""
    blank = True
    for number, raw in enumerate(stream, 1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if b"\0" in raw and not replace:
            raise DataError("binary data (a NUL byte), not text", source, number)
        try:
            line = raw.decode("utf-8", errors="replace" if replace else "strict")
        except UnicodeDecodeError as e:
            hint = " (pass --replace-invalid to replace bad bytes)" if source == "<stdin>" else "; the file must be UTF-8"
            raise DataError(f"invalid UTF-8 (byte 0x{raw[e.start]:02x}){hint}", source, number) from None
        blank = blank and not line.strip()
        yield line.removesuffix("\n").removesuffix("\r")
    if blank and empty_error:
        raise DataError("file is empty", source)


def iter_text_lines(path: str | Path) -> Iterator[str]:
    """The lines of a UTF-8 file, read one at a time with the checks of `decode_lines`."""
    with open_binary(str(path)) as file:
        try:
            yield from decode_stream(file, str(path), empty_error=True)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(unreadable(e), str(path)) from None


class Replayable:
    """A one-pass stream of lines (stdin) that a reader may open several times, as it opens a file: the first
    `keep` lines are kept, so peeking at the head (format detection, a header) is free; one full pass follows."""

    def __init__(self, lines: Iterable[str], keep: int = 200):
        self.source, self.head, self.keep = iter(lines), [], keep

    def __call__(self) -> Iterator[str]:
        yield from self.head
        for line in self.source:
            if len(self.head) < self.keep:
                self.head.append(line)
            yield line

    def peek(self) -> list[str]:
        while len(self.head) < self.keep and (line := next(self.source, None)) is not None:
            self.head.append(line)
        return list(self.head)


def sentence_blocks(lines: Iterable[str], skip_comments: bool = False) -> Iterator[tuple[int, list[str], int | None]]:
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
