"""JSON Lines: one object per sentence, `{"tokens": [...], "<layer>": [...], ...}`. Other keys (offsets, spans,
probabilities, as `seqtag tag` writes them) are skipped on reading: only lists of strings, one per token, are
layers."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from seqtag.data.corpus import Origin, Sentence
from seqtag.errors import DataError
from seqtag.data.formats.base import Format, Layout, bad_tokens, first_bad, json_line
from seqtag.data.formats.text import Lines


def _record(line: str, path: str, number: int) -> dict:
    record = json_line(line, path, number)
    tokens = record.get("tokens") if isinstance(record, dict) else None
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t and not any(c.isspace() for c in t)
                                               for t in tokens):
        raise DataError('expected an object with "tokens": a list of non-empty strings without spaces', path,
                        number)
    return record


def _layers(record: dict) -> list[str]:
    n = len(record["tokens"])
    return [key for key, value in record.items() if key != "tokens" and isinstance(value, list)
            and len(value) == n and all(isinstance(v, str) for v in value)]


class Jsonl(Format):
    name = "jsonl"
    suffix = ".jsonl"
    summary = 'JSON Lines: {"tokens": [...], "<layer>": [...]} per sentence'

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        first = next(((n, line) for n, line in enumerate(lines(), 1) if line.strip()), None)
        if first is None:
            raise DataError("no sentences", path)
        layers = tuple(_layers(_record(first[1], path, first[0])))

        def sentences() -> Iterator[Sentence]:
            for number, line in enumerate(lines(), 1):
                if not line.strip():
                    continue
                record = _record(line, path, number)
                missing = [layer for layer in layers if layer not in _layers(record)]
                if missing:
                    raise DataError(f"no {missing[0]!r} list with one label per token, as the first line has", path,
                                    number)
                if record["tokens"]:
                    yield Sentence(tuple(record["tokens"]), {layer: tuple(record[layer]) for layer in layers},
                                   Origin(path, number, False), record.get("document"))

        return layers, {}, sentences

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        name = first_bad(layers, lambda layer: layer in ("tokens", "document"))
        found = (f"a layer named {name}" if name else None) or bad_tokens(sentences)
        return f"cannot hold {found} (tokens and document are its own keys; a token has no whitespace)" \
            if found else None

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        record = {"tokens": list(sentence.tokens), **{layer: list(sentence.labels[layer]) for layer in layers}}
        if sentence.document is not None:
            record["document"] = sentence.document
        return json.dumps(record, ensure_ascii=False) + "\n"
