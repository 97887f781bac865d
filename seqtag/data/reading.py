"""How corpus files are read: the options every reading command shares (ReadOptions), the bundled sample, and the
records of what a model was trained on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from seqtag.data import formats
from seqtag.data import labels as L
from seqtag.data.corpus import Corpus, StreamedCorpus
from seqtag.data.formats.text import file_sha256
from seqtag.errors import DataError

DATA_DIR = Path(__file__).resolve().parent.parent / "sample"  # package data, so a wheel install has it too
SAMPLE = {  # the bundled NER sample: what `seqtag train` trains with no arguments
    "train": DATA_DIR / "ner" / "train.txt",
    "dev": DATA_DIR / "ner" / "dev.txt",
    "test": DATA_DIR / "ner" / "test.txt",
    "columns": ["word", "pos", "chunk", "ner"],
    "layer": "ner",
}


SCHEMES = tuple(scheme.value for scheme in L.Scheme)
ON_INVALID = ("repair", "error")  # repair invalid sequences (I-X after O) as conlleval reads them, or stop
KEEP_INVALID = "keep"  # evaluate --strict: a system's predictions are scored as they are


def _text(name: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise DataError(f"{name} must be a non-empty string, not {value!r}")
    return value


@dataclass
class ReadOptions:
    """How to read a corpus file (the options shared by every command that reads one)."""

    format: str | None = None  # a name of seqtag.data.formats.FORMATS; None: detected
    columns: list[str] | None = None
    layer: str | None = None
    scheme: str | None = None  # None: detect
    on_invalid: str = "repair"
    stream: bool = False  # training data only: read from disk on every pass, never held in memory

    def __post_init__(self):
        """The same checks for the command line and the Python API, before any file is read."""
        if self.format is not None:
            self.format = formats.get(_text("format", self.format)).name
        if self.columns is not None:
            if isinstance(self.columns, str) or not isinstance(self.columns, (list, tuple)) or not all(
                    isinstance(c, str) and c.strip() for c in self.columns):
                raise DataError(f"columns must be a list of column names, such as ['word', 'pos', 'ner'], not "
                                f"{self.columns!r}")
            self.columns = list(self.columns)
        if self.layer is not None:
            _text("layer", self.layer)
        if self.scheme == "auto":
            self.scheme = None
        if self.scheme is not None and self.scheme not in SCHEMES:
            raise DataError(f"scheme must be one of auto, {', '.join(SCHEMES)}, not {self.scheme!r}")
        if self.on_invalid not in (*ON_INVALID, KEEP_INVALID):
            raise DataError(f"on_invalid must be {' or '.join(ON_INVALID)}, not {self.on_invalid!r}")

    def read(self, path: str | Path, to_scheme: L.Scheme | None = None,
             stream: bool = False) -> tuple[Corpus | StreamedCorpus, str, int]:
        scheme = L.Scheme(self.scheme) if self.scheme else None
        return formats.load_corpus(path, self.format, self.columns, self.layer, scheme, self.on_invalid, to_scheme,
                                   stream)


STDIN = "-"  # `--train -`: the training data from stdin, read once into memory


def file_record(path: str | Path, corpus: Corpus | StreamedCorpus) -> dict:
    """What a model was trained on: name, size, hash, counts."""
    if isinstance(path, Corpus):  # read before (a learning-curve subset): named by its source
        return {"path": path.source, "bytes": None, "sha256": None, "sentences": len(corpus),
                "tokens": corpus.num_tokens()}
    path = Path(path)
    if path.exists():  # absolute, so that --resume finds the data from any directory
        path = path.resolve()
    digest = file_sha256(path) if path.is_file() else None
    return {"path": str(path), "bytes": path.stat().st_size if path.is_file() else None, "sha256": digest,
            "sentences": len(corpus), "tokens": corpus.num_tokens()}


def warn_unseen_labels(corpus: Corpus, layer: str, known: Iterable[str], scheme: L.Scheme,
                       report: Callable[[dict], None]) -> None:
    """Labels (entity types, for span layers) that a dev or test file has and the training data never had: no model
    can predict them, so the user should hear of it before trusting a score."""
    from collections import Counter

    def key(label: str) -> str:  # span layers compare types, so IOB1's B-X is not new beside I-X
        return label[2:] if scheme in L.ENTITY_SCHEMES and label != "O" else label

    seen = {key(label) for label in known}
    unseen = Counter(key(label) for sentence in corpus for label in sentence.labels[layer] if key(label) not in seen)
    if unseen:
        what = "entity type(s)" if scheme in L.ENTITY_SCHEMES else "label(s)"
        listed = ", ".join(f"{label} ({count:,} token(s))" for label, count in unseen.most_common(10))
        more = f" and {len(unseen) - 10} more" if len(unseen) > 10 else ""
        report({"event": "warning", "message": f"{corpus.source}: {len(unseen)} {what} the training data never "
                f"has: {listed}{more}"})


READ_OPTIONS = ("format", "columns", "layer", "scheme", "on_invalid")


def read_gold(document: dict, path: str | Path, read_options: dict) -> Corpus:
    """A gold file read as the model's training data was, its layer the model's. `layer="pos=upos"` maps the file's
    layer `pos` to the model's `upos` (a CoNLL-U model scored on a CoNLL file, or a model whose training file had no
    --columns, so its layer is `col4`)."""
    if not isinstance(path, (str, Path)) or not str(path):
        raise DataError(f"path must be a file path (str or pathlib.Path), not {path!r}")
    unknown = sorted(set(read_options) - set(READ_OPTIONS))
    if unknown:
        raise DataError(f"unknown reading option(s) {', '.join(unknown)}; they are: {', '.join(READ_OPTIONS)}")
    saved = document.get("training", {}).get("read", {})
    read = {"columns": saved.get("columns"), "format": saved.get("format"), "layer": document["layer"],
            **{key: value for key, value in read_options.items() if value is not None}}
    own = document["layer"]
    if not isinstance(read["layer"], str) or not read["layer"]:
        raise DataError(f"layer must be a non-empty string, not {read['layer']!r}")
    file_layer, _, model_layer = read["layer"].partition("=")
    model_layer = model_layer or file_layer  # no "=": the layer named is the model's
    if model_layer != own:  # the gold layer must be the one the model tags, whatever --layer says
        raise DataError(f"the model tags layer {own!r}, not {model_layer!r}: leave the layer out, name the model's, "
                        f"or map the file's layer to it (--layer NAME={own})", path)
    try:
        options = ReadOptions(read["format"], read["columns"], file_layer, read.get("scheme"),
                              read.get("on_invalid", "repair"))
        corpus = options.read(path, L.Scheme(document["scheme"]))[0]
    except DataError as error:
        if file_layer == own and error.message.startswith("no label layer"):
            raise DataError(f"{error.message}; the model tags {own!r}: map one of them to it with --layer NAME={own} "
                            f"(seqtag: layer=\"NAME={own}\")", error.path, error.line) from None
        raise
    return corpus if file_layer == own else corpus.renamed(file_layer, own)
