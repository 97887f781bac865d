"""doccano's JSONL for sequence labelling: one object per text, `{"text": "...", "label": [[start, end, "TYPE"],
...]}` (character offsets, end exclusive; older exports name the list "labels", newer ones "entities", a list of
{"start_offset", "end_offset", "label"}). Read as the text's tokens (seqtag's tokenizer, as `seqtag tag` reads raw
text) with the spans as an IOB2 layer `ner`. seqtag writes the tokens joined by spaces, and keeps them in a `tokens`
list beside the text, read back where a file has it (an export without it is tokenized again), so a corpus of any
tokenization goes into doccano to be annotated, and a model's predictions go back for correction (`seqtag tag
--output-format doccano`).

A span must begin and end on token boundaries (whitespace at its edges aside) and may not overlap another: one that
does not is refused with its line, offsets and text, never moved to the nearest token."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from seqtag.data import labels as L
from seqtag.data.corpus import Origin, Sentence
from seqtag.data.formats.base import Format, Layout, json_line
from seqtag.data.formats.spans import LAYER, cannot_hold, char_spans, joined, target_layer, token_labels, trimmed
from seqtag.data.formats.text import Lines
from seqtag.data.tokens import tokenize
from seqtag.errors import DataError


def looks_like(line: str) -> bool:
    """Whether a JSON line is a doccano record (a text with spans) rather than seqtag's token lists."""
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return False
    return isinstance(record, dict) and "text" in record


def _spans(record: dict, path: str, number: int) -> list[tuple[int, int, str]]:
    text = record["text"]
    if "entities" in record:
        found = [(e.get("start_offset"), e.get("end_offset"), e.get("label")) if isinstance(e, dict) else e
                 for e in record["entities"]] if isinstance(record["entities"], list) else None
    else:
        found = record.get("label", record.get("labels", []))
    if not isinstance(found, list):
        raise DataError('expected "label": a list of [start, end, "TYPE"] spans', path, number)
    spans = []
    for span in found:
        if not (isinstance(span, (list, tuple)) and len(span) == 3 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in span[:2]) and isinstance(span[2], str)
                and span[2].strip() and 0 <= span[0] < span[1] <= len(text)):
            raise DataError(f"a span must be [start, end, \"TYPE\"] with 0 <= start < end <= {len(text)} (the text's "
                            f"length), not {span!r}", path, number)
        spans.append((*trimmed(text, span[0], span[1]), span[2].strip()))
    return spans


def _tokens(record: dict, path: str, number: int) -> tuple[list[str], list[tuple[int, int]]]:
    """The tokens seqtag wrote beside the text, where they are there (they must spell it), else the tokenizer's."""
    given = record.get("tokens")
    if given is None:
        return tokenize(record["text"])
    if not isinstance(given, list) or not all(isinstance(t, str) and t and not any(c.isspace() for c in t)
                                               for t in given) or " ".join(given) != record["text"]:
        raise DataError('"tokens" must be the text\'s tokens, non-empty and without spaces, joined by one space',
                        path, number)
    return given, joined(given)[1]


def _sentence(record: dict, path: str, number: int) -> Sentence:
    tokens, offsets = _tokens(record, path, number)
    labels = token_labels(record["text"], offsets, _spans(record, path, number), path, number)
    document = record.get("document")
    return Sentence(tuple(tokens), {LAYER: tuple(labels)}, Origin(path, number, False),
                    document if isinstance(document, int) and not isinstance(document, bool) else None)


def _record(line: str, path: str, number: int) -> dict:
    record = json_line(line, path, number)
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise DataError('expected an object with "text": a string', path, number)
    return record


class Doccano(Format):
    name = "doccano"
    suffix = ".jsonl"
    summary = 'doccano JSONL: {"text": ..., "label": [[start, end, "TYPE"], ...]} per text; read as IOB2 layer ner'

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        def sentences() -> Iterator[Sentence]:
            ids: dict = {}  # record id -> its line: an id twice is a damaged or merged export
            for number, line in enumerate(lines(), 1):
                if line.strip():
                    record = _record(line, path, number)
                    if record.get("id") is not None and ids.setdefault(repr(record["id"]), number) != number:
                        raise DataError(f"the id {record['id']!r} of line {ids[repr(record['id'])]} again: each "
                                        "text is exported once", path, number)
                    sentence = _sentence(record, path, number)
                    if len(sentence):
                        yield sentence

        return (LAYER,), {LAYER: L.Scheme.IOB2}, sentences

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        return cannot_hold(layers, sentences)

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        text, offsets = joined(sentence.tokens)
        layer = target_layer(layers)
        spans = char_spans(sentence.labels[layer], offsets) if layer else []
        record: dict = {"text": text, "label": [list(span) for span in spans], "tokens": list(sentence.tokens)}
        if sentence.document is not None:
            record["document"] = sentence.document
        return json.dumps(record, ensure_ascii=False) + "\n"

    predicts = True

    def predicted(self, text, spans, tokens) -> str:
        record: dict = {"text": text, "label": [[start, end, label] for start, end, label, _ in spans]}
        if tokens is not None:
            record["tokens"] = list(tokens)
        return json.dumps(record, ensure_ascii=False) + "\n"
