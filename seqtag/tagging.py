"""`seqtag tag`: read lines as a stream, tag them in batches, write results in input order.

Memory stays bounded by the batch window whatever the input size: lines are read lazily, tagged a window at a
time, and written before the next window is read.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from seqtag import labels as L
from seqtag.corpus import Sentence
from seqtag.errors import DataError

# PTB-style tokens, as in the CoNLL corpora: contractions split off ("do n't", "John 's"), punctuation alone,
# numbers, dates and hyphenated words kept whole, abbreviations such as U.S. kept with their periods.
_TOKEN = re.compile(
    r"""
    [A-Za-z]+(?=n't\b)            # "do" of "don't"
    | n't\b | '(?:s|re|ve|ll|d|m)\b | 'S\b
    | (?:[A-Za-z]\.){2,}          # U.S.  e.g.
    | \d+(?:[.,:/-]\d+)*          # 1996-08-22  3,000  2.5
    | \w+(?:[-'&]\w+)*            # words, hyphenated words, O'Neill
    | \.\.\. | -- | ``|''
    | \S                          # any other single character
    """,
    re.VERBOSE,
)

MAX_TOKENS = 1000  # longer lines are tagged in pieces of this many tokens and stitched back


def tokenize(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Tokens and their (start, end) character offsets in the line."""
    matches = list(_TOKEN.finditer(text))
    return [m.group() for m in matches], [m.span() for m in matches]


def _whitespace_tokens(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    matches = list(re.finditer(r"\S+", text))
    return [m.group() for m in matches], [m.span() for m in matches]


def _characters(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    spans = [(i, i + 1) for i, c in enumerate(text) if not c.isspace()]
    return [text[a] for a, _ in spans], spans


def decode_stdin(stream: Iterable[bytes], source: str = "<stdin>", replace: bool = False) -> Iterator[str]:
    for number, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8", errors="replace" if replace else "strict")
        except UnicodeDecodeError:
            raise DataError("invalid UTF-8 (pass --replace-invalid to replace bad bytes)", source, number) from None
        if number == 1:
            line = line.removeprefix("\ufeff")
        yield line.rstrip("\r\n")


def load_tagger(model: str | Path, runtime: str = "torch"):
    """A saved model, run by PyTorch (or numpy for the baselines), or by onnxruntime after `seqtag export`."""
    if runtime == "onnx":
        from seqtag.export import OnnxTagger
        from seqtag.tagger import read_model_json

        kind = read_model_json(model).get("kind")
        if kind != "bilstm":
            raise DataError(f"--runtime onnx runs exported BiLSTM models; this is a {kind} model", model)
        return OnnxTagger(Path(model))
    if runtime != "torch":
        raise DataError(f"--runtime must be torch or onnx, not {runtime!r}")
    from seqtag.tagger import load_model

    return load_model(model)


def tag_stream(tagger, lines: Iterable[str], input_format: str = "raw", output_format: str = "conll",
               window: int = 2000, probs: bool = False, nbest: int = 0) -> Iterator[str]:
    """Tagged output, one chunk of text per input sentence (empty input lines stay empty lines)."""
    _check_options(tagger.scheme, output_format, nbest)
    items = iter(lines) if input_format != "conll" else _conll_sentences(lines)
    while chunk := list(islice(items, window)):
        yield from _tag_window(tagger, chunk, input_format, output_format, probs, nbest)


def tag_stream_parallel(model: str | Path, runtime: str, lines: Iterable[str], input_format: str = "raw",
                        output_format: str = "conll", window: int = 2000, probs: bool = False, nbest: int = 0,
                        workers: int = 2) -> Iterator[str]:
    """As tag_stream, with `workers` forked processes tagging whole windows. Output stays in input order, and at
    most `workers` windows are in flight, so memory stays bounded."""
    import multiprocessing

    # Loaded here, before the fork: a bad model fails once with its error, and the workers inherit it loaded.
    tagger = load_tagger(model, runtime)
    _check_options(tagger.scheme, output_format, nbest)
    _worker.update(tagger=tagger, options=(input_format, output_format, probs, nbest))
    items = iter(lines) if input_format != "conll" else _conll_sentences(lines)
    with multiprocessing.get_context("fork").Pool(workers, _one_thread_each) as pool:
        while windows := [w for w in (list(islice(items, window)) for _ in range(workers)) if w]:
            for texts in pool.map(_worker_window, windows):
                yield from texts


_worker: dict = {}


def _one_thread_each() -> None:
    """The processes are the parallelism: one thread per worker."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _worker_window(items: list) -> list[str]:
    return list(_tag_window(_worker["tagger"], items, *_worker["options"]))


def _check_options(scheme: L.Scheme, output_format: str, nbest: int) -> None:
    if output_format == "segmented" and scheme is not L.Scheme.BMES:
        raise DataError("--output-format segmented needs a word segmentation model")
    if nbest and output_format != "jsonl":
        raise DataError("--nbest writes jsonl: add --output-format jsonl")


def _tag_window(tagger, chunk: list, input_format: str, output_format: str, probs: bool,
                nbest: int) -> Iterator[str]:
    """Tag one window of input lines (or CoNLL token lists), long sentences in pieces, and render each."""
    split = _splitter(tagger, input_format)
    units = [split(item) for item in chunk]
    documents = [item[1] for item in chunk] if input_format == "conll" else [None] * len(chunk)
    pieces, owners = [], []  # long sentences are cut into pieces the model can take
    for index, ((tokens, _, _), document) in enumerate(zip(units, documents)):
        for start in range(0, len(tokens), MAX_TOKENS):
            pieces.append(Sentence(tuple(tokens[start : start + MAX_TOKENS]), {}, document=document))
            owners.append(index)
    if probs:
        predicted = tagger.predict_confidence(pieces) if pieces else []
    else:
        predicted = [(labels, None) for labels in tagger.predict(pieces)] if pieces else []
    tags: list[list[str]] = [[] for _ in units]
    confidence: list[list[float] | None] = [[] if probs else None for _ in units]
    for owner, (labels, scores) in zip(owners, predicted):
        tags[owner].extend(labels)
        if probs:
            confidence[owner].extend(scores)
    alternatives = _nbest_by_unit(tagger, units, documents, nbest) if nbest else [None] * len(units)
    for (tokens, offsets, text), labels, scores, best in zip(units, tags, confidence, alternatives):
        yield _render(tokens, offsets, text, labels, scores, best, tagger, output_format)


def _nbest_by_unit(tagger, units, documents, n: int) -> list[list[tuple[list[str], float]]]:
    """n-best sequences for whole sentences (long lines are not cut here: n-best is for inspection)."""
    return tagger.predict_nbest([Sentence(tuple(tokens), {}, document=document)
                                 for (tokens, _, _), document in zip(units, documents)], n)


def _splitter(tagger, input_format: str):
    segmentation = tagger.scheme is L.Scheme.BMES
    if input_format == "raw":
        tokenize_line = _characters if segmentation else tokenize
    elif input_format == "tokens":
        tokenize_line = _whitespace_tokens
    elif input_format == "conll":
        return lambda item: (item[0], None, None)
    else:
        raise DataError(f"unknown --input-format {input_format!r}; expected raw, tokens or conll")

    def split(line: str):
        tokens, offsets = tokenize_line(line)
        return tokens, offsets, line

    return split


def _conll_sentences(lines: Iterable[str]) -> Iterator[tuple[list[str], int | None]]:
    """(tokens, document) from CoNLL column input (first column; gold columns are ignored); documents are the
    `-DOCSTART-` blocks, numbered from 0 (None before the first), for the context layer."""
    tokens: list[str] = []
    document = None
    for line in lines:
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if tokens:
                yield tokens, document
                tokens = []
            if fields:
                document = 0 if document is None else document + 1
            continue
        tokens.append(fields[0])
    if tokens:
        yield tokens, document


def _render(tokens, offsets, text, labels, scores, best, tagger, output_format: str) -> str:
    """One sentence in the output format; `scores` (per-token probabilities) and `best` (n-best sequences) become
    extra fields when given."""
    if output_format == "conll":
        extra = [f"\t{p:.4f}" for p in scores] if scores is not None else [""] * len(tokens)
        return "".join(f"{t}\t{label}{x}\n" for t, label, x in zip(tokens, labels, extra)) + "\n"
    if output_format == "inline":
        extra = [f"/{p:.4f}" for p in scores] if scores is not None else [""] * len(tokens)
        return " ".join(f"{t}/{label}{x}" for t, label, x in zip(tokens, labels, extra)) + "\n"
    if output_format == "segmented":
        return " ".join(L.segment_words(tokens, labels)) + "\n"
    if output_format == "jsonl":
        record = {"tokens": tokens, "labels": labels}
        if scores is not None:
            record["probs"] = [round(p, 6) for p in scores]
        if offsets is not None:
            record["offsets"] = offsets
        if tagger.scheme is not L.Scheme.PLAIN and tokens:
            spans = []
            for span in L.to_spans(labels, tagger.scheme):
                entry = {"start": span.start, "end": span.end, "label": span.label,
                         "text": " ".join(tokens[span.start : span.end])}
                if offsets is not None:
                    entry.update(char_start=offsets[span.start][0], char_end=offsets[span.end - 1][1],
                                 text=text[offsets[span.start][0] : offsets[span.end - 1][1]])
                spans.append(entry)
            record["spans"] = spans
        if best is not None:
            record["nbest"] = [{"labels": sequence, tagger.nbest_score: round(p, 6)} for sequence, p in best]
        return json.dumps(record, ensure_ascii=False) + "\n"
    raise DataError(f"unknown --output-format {output_format!r}; expected conll, inline, jsonl or segmented")
