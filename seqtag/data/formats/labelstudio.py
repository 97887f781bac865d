"""Label Studio's JSON for named entities: an array of tasks, each `{"data": {"text": ...}, "annotations":
[{"result": [{"type": "labels", "value": {"start": 0, "end": 5, "labels": ["PER"]}, ...}]}]}` (character offsets,
end exclusive), as Label Studio exports a project and imports tasks.

Reading takes each task's first annotation that was not cancelled, its `labels` results (other kinds of result,
such as relations or choices, are not entities and are passed over), as the text's tokens (seqtag's tokenizer, or
the `tokens` seqtag keeps in the task's data) with an IOB2 layer `ner`. A task without an annotation is not read:
its predictions are a model's guesses, not labels (a file of them only is refused, saying so). A span off the
tokens or over another is refused with its task, offsets and text (seqtag.data.formats.spans).

Writing a corpus gives tasks with annotations (one task a sentence, one per line); `seqtag tag --output-format
labelstudio` gives tasks with predictions on the text as it came, each entity with its probability as `score` where
`--probs` gives one, for Label Studio to import as pre-annotations to correct."""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Sequence

from seqtag.data import labels as L
from seqtag.data.corpus import Origin, Sentence
from seqtag.data.formats.base import Format, Layout
from seqtag.data.formats.spans import LAYER, cannot_hold, char_spans, joined, target_layer, token_labels, trimmed
from seqtag.data.formats.text import Lines
from seqtag.data.tokens import tokenize
from seqtag.errors import DataError

FROM_NAME, TO_NAME = "label", "text"  # the names of Label Studio's NER template: <Labels name="label" toName="text">


def looks_like(lines: Sequence[str]) -> bool:
    """Whether a file's first lines open a JSON array of objects (or one object with "data")."""
    head = "".join(line.strip() for line in lines[:5])
    return head.startswith("[{") or head == "[" or head.startswith('{"data"')


def _tasks(text: str, path: str) -> Iterator[tuple[int, dict, int]]:
    """(task number from 1, task, its line): the array read one task at a time, so an error names its line."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def line(at: int) -> int:
        return bisect.bisect_right(starts, at)

    decoder = json.JSONDecoder()

    def value(at: int):
        try:
            return decoder.raw_decode(text, at)
        except json.JSONDecodeError as e:
            raise DataError(f"invalid JSON: {e.msg}", path, line(e.pos)) from None
        except RecursionError:
            raise DataError("invalid JSON: nested too deeply", path, line(at)) from None

    def skip(at: int) -> int:
        while at < len(text) and text[at].isspace():
            at += 1
        return at

    at = skip(0)
    if text.startswith("{", at):  # one task on its own
        task, end = value(at)
        if skip(end) != len(text):
            raise DataError("expected one JSON array of tasks", path, line(skip(end)))
        yield 1, task, line(at)
        return
    if not text.startswith("[", at):
        raise DataError("expected a JSON array of Label Studio tasks", path, line(at))
    at, number = skip(at + 1), 0
    while not text.startswith("]", at):
        number += 1
        task, end = value(at)
        yield number, task, line(at)
        at = skip(end)
        if text.startswith(",", at):
            at = skip(at + 1)
        elif not text.startswith("]", at):
            raise DataError("expected ',' or ']' after a task", path, line(at))
    if skip(at + 1) != len(text):
        raise DataError("text after the array of tasks", path, line(skip(at + 1)))


def _text(task: dict, where: str, path: str, number: int) -> str:
    data = task.get("data")
    if not isinstance(data, dict):
        raise DataError(f'{where}expected "data": an object holding the text', path, number)
    if isinstance(data.get("text"), str):
        return data["text"]
    texts = [key for key, value in data.items() if isinstance(value, str)]
    if len(texts) != 1:
        raise DataError(f'{where}no "text" in the task\'s data, and not one other text to take '
                        f"({', '.join(map(repr, data)) or 'no keys'})", path, number)
    return data[texts[0]]


def _annotation(task: dict, where: str, path: str, number: int) -> dict | None:
    annotations = task.get("annotations", task.get("completions", []))
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise DataError(f'{where}"annotations" must be a list of objects', path, number)
    return next((a for a in annotations if not a.get("was_cancelled")), None)


def _spans(annotation: dict, text: str, where: str, path: str, number: int) -> list[tuple[int, int, str]]:
    results = annotation.get("result", [])
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise DataError(f'{where}an annotation\'s "result" must be a list of objects', path, number)
    spans = []
    for result in results:
        value = result.get("value")
        if not isinstance(value, dict) or "labels" not in value:
            continue  # a relation, a choice, a text area: not an entity
        start, end, labels = value.get("start"), value.get("end"), value.get("labels")
        if not (isinstance(start, int) and isinstance(end, int) and not isinstance(start, bool)
                and not isinstance(end, bool) and 0 <= start < end <= len(text)):
            raise DataError(f"{where}a region must have whole start < end within the text's {len(text)} "
                            f"characters, not start={start!r}, end={end!r}", path, number)
        if not (isinstance(labels, list) and len(labels) == 1 and isinstance(labels[0], str) and labels[0].strip()):
            raise DataError(f"{where}the region {start}-{end} ({text[start:end]!r}) must have one label, not "
                            f"{labels!r}", path, number)
        spans.append((*trimmed(text, start, end), labels[0].strip()))
    return spans


def _tokens(task: dict, text: str, where: str, path: str, number: int) -> tuple[list[str], list[tuple[int, int]]]:
    given = task["data"].get("tokens")
    if given is None:
        return tokenize(text)
    if not isinstance(given, list) or not all(isinstance(t, str) and t and not any(c.isspace() for c in t)
                                               for t in given) or " ".join(given) != text:
        raise DataError(f'{where}"tokens" must be the text\'s tokens, non-empty and without spaces, joined by one '
                        "space", path, number)
    return given, joined(given)[1]


class LabelStudio(Format):
    name = "labelstudio"
    suffix = ".json"
    summary = ('Label Studio JSON: [{"data": {"text": ...}, "annotations": [{"result": [regions with start, end, '
               'labels]}]}, ...]; read as IOB2 layer ner')
    separator = ",\n"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        def sentences() -> Iterator[Sentence]:
            read = guesses = 0
            ids: dict = {}  # task id -> its number: an id twice is a damaged or merged export
            for number, task, line in _tasks("\n".join(lines()), path):
                where = f"task {number}{_id(task)}: "
                if not isinstance(task, dict):
                    raise DataError(f"{where}expected an object", path, line)
                if task.get("id") is not None and ids.setdefault(repr(task["id"]), number) != number:
                    raise DataError(f"{where}the id of task {ids[repr(task['id'])]} again: each task is exported "
                                    "once", path, line)
                text = _text(task, where, path, line)
                annotation = _annotation(task, where, path, line)
                if annotation is None:
                    guesses += bool(task.get("predictions"))
                    continue
                tokens, offsets = _tokens(task, text, where, path, line)
                labels = token_labels(text, offsets, _spans(annotation, text, where, path, line), path, line, where)
                read += 1
                if tokens:
                    document = task["data"].get("document")
                    yield Sentence(tuple(tokens), {LAYER: tuple(labels)}, Origin(path, line, False),
                                   document if isinstance(document, int) and not isinstance(document, bool) else None)
            if not read and guesses:
                raise DataError(f"no annotated task: {guesses} task(s) hold only a model's predictions, which are not "
                                "read as labels (import them into Label Studio, correct them, and read the export)",
                                path)

        return (LAYER,), {LAYER: L.Scheme.IOB2}, sentences

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        return cannot_hold(layers, sentences)

    def header(self, layers, schemes) -> str:
        return "[\n"

    def footer(self) -> str:
        return "\n]\n"

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        text, offsets = joined(sentence.tokens)
        layer = target_layer(layers)
        spans = char_spans(sentence.labels[layer], offsets) if layer else []
        data: dict = {"text": text, "tokens": list(sentence.tokens)}
        if sentence.document is not None:
            data["document"] = sentence.document
        return json.dumps({"data": data, "annotations": [{"result": regions(text, spans)}]}, ensure_ascii=False)

    predicts = True

    def predicted(self, text, spans, tokens) -> str:
        data: dict = {"text": text} if tokens is None else {"text": text, "tokens": list(tokens)}
        scores = [span[3] for span in spans]
        prediction: dict = {"model_version": "seqtag", "result": regions(text, spans, scores)}
        if spans and None not in scores:
            prediction["score"] = min(scores)  # the least sure entity: Label Studio sorts tasks by it
        return json.dumps({"data": data, "predictions": [prediction]}, ensure_ascii=False)


def regions(text: str, spans: Sequence[tuple], scores: Sequence[float | None] = ()) -> list[dict]:
    """Label Studio result items for character spans (start, end, label), with a score each where given."""
    found = []
    for k, (start, end, label, *_) in enumerate(spans):
        value = {"start": start, "end": end, "text": text[start:end], "labels": [label]}
        item = {"id": f"s{k + 1}", "from_name": FROM_NAME, "to_name": TO_NAME, "type": "labels", "value": value}
        if k < len(scores) and scores[k] is not None:
            item["score"] = scores[k]
        found.append(item)
    return found


def _id(task) -> str:
    return f" (id {task['id']!r})" if isinstance(task, dict) and isinstance(task.get("id"), (int, str)) else ""
