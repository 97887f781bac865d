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
from seqtag.data.formats.base import Format, Layout, bad_tokens, json_line
from seqtag.data.formats.text import Lines
from seqtag.data.tokens import tokenize
from seqtag.errors import DataError

LAYER = "ner"


def looks_like(line: str) -> bool:
    """Whether a JSON line is a doccano record (a text with spans) rather than seqtag's token lists."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
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
        start, end, label = span
        start += len(text[start:end]) - len(text[start:end].lstrip())  # whitespace at the edges is not the entity's
        end -= len(text[start:end]) - len(text[start:end].rstrip())
        spans.append((start, end, label.strip()))
    return sorted(spans)


def _tokens(record: dict, path: str, number: int) -> tuple[list[str], list[tuple[int, int]]]:
    """The tokens seqtag wrote beside the text, where they are there (they must spell it), else the tokenizer's."""
    given = record.get("tokens")
    if given is None:
        return tokenize(record["text"])
    if not isinstance(given, list) or not all(isinstance(t, str) and t and not any(c.isspace() for c in t)
                                               for t in given) or " ".join(given) != record["text"]:
        raise DataError('"tokens" must be the text\'s tokens, non-empty and without spaces, joined by one space',
                        path, number)
    return given, _joined(given)[1]


def _joined(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The text seqtag writes for tokens (joined by one space) and each token's offsets in it."""
    offsets, at = [], 0
    for token in tokens:
        offsets.append((at, at + len(token)))
        at += len(token) + 1
    return " ".join(tokens), offsets


def _sentence(record: dict, path: str, number: int) -> Sentence:
    tokens, offsets = _tokens(record, path, number)
    first = {start: i for i, (start, _) in enumerate(offsets)}
    last = {end: i for i, (_, end) in enumerate(offsets)}
    labels = ["O"] * len(tokens)
    for start, end, label in _spans(record, path, number):
        begin, finish = first.get(start), last.get(end)
        if begin is None or finish is None or finish < begin:
            raise DataError(f"the {label} span {start}-{end} ({record['text'][start:end]!r}) does not begin and end "
                            "on token boundaries of seqtag's tokenizer", path, number)
        if any(tag != "O" for tag in labels[begin:finish + 1]):
            raise DataError(f"the {label} span {start}-{end} ({record['text'][start:end]!r}) overlaps another span",
                            path, number)
        labels[begin:finish + 1] = [f"B-{label}"] + [f"I-{label}"] * (finish - begin)
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
            for number, line in enumerate(lines(), 1):
                if line.strip():
                    sentence = _sentence(_record(line, path, number), path, number)
                    if len(sentence):
                        yield sentence

        return (LAYER,), {LAYER: L.Scheme.IOB2}, sentences

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        if list(layers) != [LAYER]:
            return (f"holds one entity layer, read back as {LAYER}; this corpus has {', '.join(layers) or 'none'} "
                    f"(keep one with --keep-layers; name it {LAYER} with --columns)")
        found = bad_tokens(sentences)
        if found:
            return f"cannot hold {found} (the tokens are joined by spaces into the text)"
        for sentence in sentences:
            labels = sentence.labels[LAYER]
            try:
                canonical = L.from_spans(L.to_spans(labels, L.Scheme.IOB2), len(labels), L.Scheme.IOB2)
            except (L.InvalidTag, ValueError):
                canonical = None
            if canonical != list(labels) or any(not label[2:].strip() or label[2:] != label[2:].strip()
                                                for label in labels if label != "O"):
                return f"holds IOB2 entity labels (convert with --to-scheme iob2); {' '.join(labels)!r} are not"
        return None

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        text, offsets = _joined(sentence.tokens)
        layer = LAYER if LAYER in layers else layers[-1] if layers else None  # the entity layer, else the target
        labels = sentence.labels[layer] if layer else ()
        # a model's output may be in any entity scheme: BIOES where it has S- or E- tags, else read as conlleval does
        scheme = L.Scheme.BIOES if any(label[:2] in ("S-", "E-") for label in labels) else L.Scheme.IOB2
        spans = L.to_spans(labels, scheme) if labels else []
        record: dict = {"text": text, "label": [[offsets[s.start][0], offsets[s.end - 1][1], s.label] for s in spans],
                        "tokens": list(sentence.tokens)}
        if sentence.document is not None:
            record["document"] = sentence.document
        return json.dumps(record, ensure_ascii=False) + "\n"
