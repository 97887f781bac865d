"""`seqtag preprocess`: check corpora, convert their scheme or format, and count what they hold."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from seqtag.data import formats
from seqtag.data import labels as L
from seqtag.data.reading import ReadOptions
from seqtag.errors import DataError


def preprocess(files: list[Path], dataset: str | None, split: str | None, read: ReadOptions, to_scheme: str | None,
               output: str | Path | None, to_format: str = "canonical", overwrite: bool = False,
               on_progress: Callable[[dict], None] | None = None, keep_layers: list[str] | None = None
               ) -> tuple[list[str], list[dict]]:
    """`seqtag preprocess`: read corpora (files or a Hugging Face dataset), check and convert their target layer,
    write them in `to_format` to `output` (only `keep_layers`, where given), and return (names, statistics); the
    OOV rate of each later file is against the first (the training set). Every corpus is checked to fit the format
    before any is written."""
    from seqtag.data.corpus import statistics, vocabulary

    report = on_progress or (lambda event: None)
    suffix = formats.get(to_format).suffix
    if output is not None and files:  # before reading: the names are known
        _check_outputs(_output_paths(output, [str(f) for f in files], suffix), overwrite, files, to_format)
    if dataset:
        inputs = formats.read_hf(dataset, split)
    elif files:
        inputs = [(str(f), formats.read_corpus(f, read.format, read.columns)) for f in files]
    else:
        raise DataError("give corpus files, or --dataset NAME")
    scheme = L.Scheme(read.scheme) if read.scheme else None
    prepared = []
    for name, corpus in inputs:
        corpus, target, repaired = formats.prepare(corpus, read.layer, scheme, read.on_invalid,
                                                   L.Scheme(to_scheme) if to_scheme else None)
        if repaired:
            report({"event": "warning",
                    "message": f"{corpus.source}: repaired {repaired} invalid sentence(s) as conlleval reads them"})
        prepared.append((name, corpus, target))
    names = [name for name, _, _ in prepared]
    if output is not None:
        destinations = _output_paths(output, names, suffix)
        if dataset:  # named files were checked before reading
            _check_outputs(destinations, overwrite, [], to_format)
        written = [corpus if keep_layers is None else corpus.keep(keep_layers) for _, corpus, _ in prepared]
        for corpus in written:
            formats.check_writable(corpus, to_format)
        for destination, corpus in zip(destinations, written):
            formats.write_corpus(corpus, destination, to_format)
            report({"event": "wrote", "message": f"wrote {destination}"})
    train_vocab = vocabulary(prepared[0][1].sentences) if len(prepared) > 1 else None
    return names, [statistics(corpus, target, train_vocab if i else None)
                   for i, (_, corpus, target) in enumerate(prepared)]


def _check_outputs(destinations: list[Path], overwrite: bool, inputs, to_format: str) -> None:
    from seqtag import outputs

    for destination in destinations:
        outputs.check_file_destination(destination, "preprocess", overwrite, inputs, "-o")
        if destination.is_dir() and formats.get(to_format).text:
            raise DataError(f"is a folder seqtag wrote (a dataset or brat documents); --to-format of that kind "
                            f"replaces it, a {to_format} file does not", destination)
    if len(set(destinations)) < len(destinations):
        raise DataError("two inputs have the same file name and would be written to one file; convert them apart",
                        destinations[0].parent)


def _output_paths(output: str | Path, names: list[str], suffix: str) -> list[Path]:
    """One file for one input (unless `output` is a folder or ends in /), else a file per input in the folder."""
    from seqtag.outputs import DATASET_MARK

    dataset = (Path(output) / DATASET_MARK).is_file()  # a dataset folder seqtag wrote is one output, not a folder
    if len(names) == 1 and (dataset or not Path(output).is_dir()) and not str(output).endswith("/"):
        return [Path(output)]
    output = Path(output)
    stems = [Path(n.replace("[", "_").replace("]", "")).name for n in names]
    return [output / f"{stem}{suffix}" for stem in stems]
