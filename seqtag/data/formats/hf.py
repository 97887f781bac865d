"""Hugging Face `datasets`: a `save_to_disk` folder, a local json/jsonl/csv/parquet file, or a hub name; written
back as a `save_to_disk` folder (tokens plus one string column per layer)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from seqtag.data.corpus import Corpus, Origin, Sentence, StreamedCorpus
from seqtag.errors import DataError
from seqtag.data.formats.base import Format


DOCUMENT = "document"  # the column of document numbers (int), where the corpus marks documents


def split_name(path: str) -> tuple[str, str]:
    """`NAME_OR_PATH:split` picks a split; the default is train."""
    name, colon, split = path.rpartition(":")
    return (name, split) if colon and not Path(path).exists() else (path, "train")


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


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub's host name resolves, asked once with a short timeout: offline, the hub client
    would otherwise retry again and again, with a warning each time, before it gives up."""
    import socket
    import threading
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    found = []

    def resolve():
        try:
            found.append(bool(socket.getaddrinfo(host, 443)))
        except OSError:
            found.append(False)

    asker = threading.Thread(target=resolve, daemon=True)
    asker.start()
    asker.join(timeout)
    return bool(found and found[0])


def _quiet_hub(offline: bool) -> None:
    """Keep the hub client's retry warnings and notices off the user's terminal (its errors still reach us as
    exceptions); offline, use only the local cache instead of retrying."""
    import logging

    for name in ("huggingface_hub", "datasets", "fsspec"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"  # read when the libraries are imported, and by recent ones per call
        for module, attribute in (("huggingface_hub.constants", "HF_HUB_OFFLINE"), ("datasets.config",
                                                                                      "HF_HUB_OFFLINE")):
            if module in sys.modules:
                setattr(sys.modules[module], attribute, True)


def _load_hf(name_or_path: str, split: str | None, streaming: bool) -> dict:
    path = Path(name_or_path)
    builders = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}
    hub = not path.exists() and path.suffix not in builders
    offline = hub and os.environ.get("HF_HUB_OFFLINE") is None and not hub_reachable()
    _quiet_hub(offline)
    import datasets  # lazy: heavy, and only this reader needs it

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
        cause = "the Hugging Face Hub cannot be reached (offline?) and there is no copy in the local cache: " \
            if offline else ""
        raise DataError(f"cannot load dataset: {cause}{e}", name_or_path) from None
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
                document = row.get(DOCUMENT) if DOCUMENT not in label_columns else None
                yield Sentence(tokens, labels, Origin(source, row_number, False),
                               document if isinstance(document, int) else None)

    return layers, sentences


def _is_sequence(feature) -> bool:
    # `Sequence` in datasets < 4, `List`/`LargeList` since; a plain list in some schemas
    return isinstance(feature, list) or type(feature).__name__ in ("Sequence", "List", "LargeList")


def _classlabel_names(feature) -> list[str] | None:
    import datasets

    inner = feature[0] if isinstance(feature, list) else feature.feature
    return list(inner.names) if isinstance(inner, datasets.ClassLabel) else None


def write_dataset(corpus: Corpus | StreamedCorpus, path: str | Path) -> None:
    """A `save_to_disk` folder, written beside the target and renamed into place; it replaces only a folder that
    seqtag wrote (marked by outputs.DATASET_MARK), whole."""
    import datasets

    from seqtag.data.formats.folders import write_folder

    sentences = list(corpus)  # a streamed corpus too: the dataset is made in memory
    columns = {"tokens": [list(s.tokens) for s in sentences]}
    for layer in corpus.layers:
        columns[layer] = [list(s.labels[layer]) for s in sentences]
    if any(s.document is not None for s in sentences):
        columns[DOCUMENT] = [s.document for s in sentences]

    def fill(staging: Path) -> None:
        datasets.disable_progress_bars()  # the command says what it wrote
        datasets.Dataset.from_dict(columns).save_to_disk(str(staging))

    write_folder(path, fill)


def cannot_hold_dataset(layers, sentences) -> str | None:
    from seqtag.data.formats.base import bad_tokens, first_bad

    name = first_bad(layers, lambda layer: layer in ("tokens", "words", DOCUMENT) or layer.endswith("_tags"))
    found = (f"a layer named {name}" if name else None) or bad_tokens(sentences)
    return f"cannot hold {found} (tokens, words and {DOCUMENT} are its own columns, a _tags suffix is read off, a " \
           "token has no whitespace)" if found else None


class HuggingFace(Format):
    name = "hf"
    suffix = ".hf"  # a folder, named like the files
    summary = "a Hugging Face dataset: save_to_disk folder, json/csv/parquet file or hub name (NAME:split)"
    text = False

    def cannot_hold(self, layers, sentences) -> str | None:
        return cannot_hold_dataset(layers, sentences)

    def read_path(self, path: str) -> Corpus:
        return read_hf(*split_name(path))[0][1]

    def write_path(self, corpus: Corpus, path: str) -> None:
        write_dataset(corpus, path)
