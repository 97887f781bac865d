"""Tagging text: units of input (raw text split into sentences and tokenized by seqtag.data.tokens), results as
`Tagged` objects, and streams of any size tagged a window at a time (memory stays bounded by the window), in one
process or several.

Input is raw text (tokenized here; characters for a segmentation model), whitespace tokens, or any format of
seqtag.data.formats; output is any writer of seqtag.data.formats, or JSON Lines with spans, offsets and scores.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from seqtag.data import formats
from seqtag.data import labels as L
from seqtag.data.corpus import Sentence
from seqtag.data.formats.spans import joined
from seqtag.data.tokens import (character_spans, characters, sentence_starts, token_spans, tokenize,
                                whitespace_spans, whitespace_tokens)
from seqtag.errors import DataError, SeqtagWarning

MAX_TOKENS = 1000  # longer sentences are tagged in pieces of this many tokens and stitched back
LONG_PIECES = 8  # pieces of an over-long sentence tagged at a time: memory stays bounded on a line of any length
# a text with more tokens is read, tagged and written as several sentences of this many (memory stays bounded on a
# line of any length, split or not); a multiple of LONG_PIECES pieces, so each is tagged as in the whole
LONG_SENTENCE = 12 * LONG_PIECES * MAX_TOKENS
WINDOW_TOKENS = LONG_SENTENCE  # a window of sentences read and tagged together ends at --window sentences or this many
TEXT_INPUTS = ("raw", "tokens")  # tag's inputs besides the formats: raw text is tokenized here


class Span(dict):
    """A labelled span: label, start, end (token indices, end exclusive), text, and char_start/char_end where the
    input was text. A dict, so it is JSON as it is; attributes for reading."""

    __getattr__ = dict.get


@dataclass
class Tagged:
    """One tagged sentence: tokens, one label per token, and what the input and the request added."""

    tokens: list[str]
    labels: list[str]
    scheme: L.Scheme
    offsets: list[tuple[int, int]] | None = None  # character offsets in `text`, where the input was text
    text: str | None = None
    probs: list[float] | None = None  # per-token probability of the label (probs=True)
    nbest: list[tuple[list[str], float]] | None = None  # the n best sequences with their scores (nbest=N)
    nbest_score: str = "prob"
    document: int | None = None
    features: dict | None = None  # input layers the sentence came with (a model's --features)
    where: tuple[int, int] | None = None  # (input line, sentence of that line from 0) where raw text was split
    span_probs: dict | None = None  # (start, end, type) -> the probability of that entity span (probs=True)
    parts: list | None = None  # a text of several sentences: each sentence's Tagged (offsets into the same text)

    @property
    def spans(self) -> list[Span]:
        """Entities (span layers) or words (segmentation); empty for a tag layer such as POS."""
        if self.scheme is L.Scheme.PLAIN or not self.tokens:
            return []
        if self.parts:  # spans never cross a sentence boundary
            shift = [sum(len(part.tokens) for part in self.parts[:i]) for i in range(len(self.parts))]
            return [Span(span, start=span["start"] + at, end=span["end"] + at)
                    for at, part in zip(shift, self.parts) for span in part.spans]
        spans = []
        for span in L.to_spans(self.labels, self.scheme):
            entry = Span(start=span.start, end=span.end, label=span.label,  # the key order tag's jsonl always had
                         text=" ".join(self.tokens[span.start : span.end]))
            if self.offsets is not None:
                first, last = self.offsets[span.start][0], self.offsets[span.end - 1][1]
                entry.update(char_start=first, char_end=last, text=self.text[first:last])
            if (span.start, span.end, span.label) in (self.span_probs or {}):
                entry["prob"] = round(self.span_probs[span.start, span.end, span.label], 6)
            spans.append(entry)
        return spans

    def _repr_html_(self) -> str:
        """How Jupyter shows a result: entities highlighted by type, as `seqtag tag --output-format html` does."""
        from seqtag.runtime import display

        return display.fragment([self])

    def record(self) -> dict:
        """The JSON Lines record `seqtag tag --output-format jsonl` writes."""
        record: dict = {"tokens": self.tokens, "labels": self.labels}
        if self.where is not None:
            record["line"], record["sentence"] = self.where
        if self.probs is not None:
            record["probs"] = [round(p, 6) for p in self.probs]
        if self.offsets is not None:
            record["offsets"] = self.offsets
        if self.scheme is not L.Scheme.PLAIN and self.tokens:
            record["spans"] = self.spans
        if self.nbest is not None:
            record["nbest"] = [{"labels": labels, self.nbest_score: round(p, 6)} for labels, p in self.nbest]
        return record

    def sentence(self, layer: str) -> Sentence:
        """As a corpus sentence, for the format writers: the label layer, and `prob` where probabilities were asked."""
        labels = {layer: tuple(self.labels)}
        if self.probs is not None:
            labels["prob"] = tuple(f"{p:.4f}" for p in self.probs)
        return Sentence(tuple(self.tokens), labels, document=self.document)


# A unit of input: (tokens, offsets or None, text or None, document, input layers, (line, sentence) or None)
Unit = tuple[list[str], list | None, str | None, int | None, dict, tuple[int, int] | None]


def units_from_texts(texts: Iterable[str], segmentation: bool, tokenized: bool = False, paragraphs: bool = False,
                     offsets: bool = True, sentences: bool = False, longest: int | None = LONG_SENTENCE
                     ) -> Iterator[Unit]:
    """Units from texts, each its own document; with `paragraphs`, texts are lines, and the lines between blank
    lines are one document (a BiLSTM with a document window reads them together). With `sentences`, raw text is
    split into sentences (not whitespace tokens, nor characters for a segmenter), each a unit with its offsets into
    the whole text and its (line, sentence) numbers. Without `offsets`, whitespace tokens come without their
    character offsets (only jsonl output writes them; finding them is most of the time spent reading tokens).
    A sentence (or unsplit text) of more than `longest` tokens is cut into units of `longest`, with a warning:
    its tokens are found as they are needed, so memory does not grow with a line's length."""
    if tokenized:
        split, spans_of = (whitespace_tokens if offsets else _tokens_alone), whitespace_spans
    else:
        split, spans_of = (characters, character_spans) if segmentation else (tokenize, token_spans)
    sentences = sentences and not tokenized and not segmentation
    paragraph = 0
    for number, text in enumerate(texts, 1):
        if not sentences or not text.strip():
            for index, (tokens, spans) in enumerate(_cut(text, 0, len(text), split, spans_of, longest, number,
                                                         offsets)):
                paragraph += paragraphs and not tokens
                yield tokens, spans, text, paragraph if paragraphs else None, {}, (number, index) if sentences else None
            continue
        document = paragraph if paragraphs else None
        starts = sentence_starts(text)
        index = 0
        for start, end in zip(starts, [*starts[1:], len(text)]):
            for tokens, spans in _cut(text, start, end, split, spans_of, longest, number, offsets):
                yield tokens, spans, text, document, {}, (number, index)
                index += 1


def _cut(text: str, start: int, end: int, split, spans_of, longest: int | None, number: int, offsets: bool):
    """The (tokens, offsets into `text` or None) of text[start:end], `longest` tokens at a time (one piece, perhaps
    empty, where there are no more); a text too short to hold more is split at once, the usual way."""
    if longest is None or end - start <= longest:
        tokens, spans = split(text[start:end])
        if not offsets or spans is None:
            spans = None
        elif start:
            spans = [(a + start, b + start) for a, b in spans]
        yield tokens, spans
        return
    found = iter(spans_of(text[start:end]) if start or end < len(text) else spans_of(text))
    pieces = 0
    while True:
        spans = [(a + start, b + start) for a, b in islice(found, longest)]
        if pieces and not spans:
            return
        if pieces == 1:
            import warnings

            warnings.warn(SeqtagWarning(f"line {number}: a sentence of more than {longest:,} tokens is tagged and "
                                        f"written as sentences of {longest:,}"))
        yield [text[a:b] for a, b in spans], spans if offsets else None
        pieces += 1
        if len(spans) < longest:
            return


def texts_joined(results: Iterable[Tagged]) -> Iterator[Tagged]:
    """Model.tag's results, one per text: the sentences a text was split into (numbered from 0 in `where`) joined
    into one result, with each in `parts`; a result without `where` (a token list) is its own."""
    group: list[Tagged] = []
    for result in results:
        if group and (result.where is None or result.where[1] == 0):
            yield _joined(group)
            group = []
        group.append(result)
    if group:
        yield _joined(group)


def _joined(parts: list[Tagged]) -> Tagged:
    for part in parts:
        part.where = None  # line numbers are the command line's; a Python text has none
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    offsets = [o for p in parts for o in p.offsets] if all(p.offsets is not None for p in parts) else None
    probs = [x for p in parts for x in p.probs] if all(p.probs is not None for p in parts) else None
    return Tagged([t for p in parts for t in p.tokens], [label for p in parts for label in p.labels], first.scheme,
                  offsets, first.text, probs, nbest_score=first.nbest_score, parts=parts)


def _tokens_alone(text: str) -> tuple[list[str], None]:
    return text.split(), None


def units_from_lines(lines: Iterable[str], input_format: str, segmentation: bool,
                     columns: Sequence[str] | None = None, offsets: bool = True, source: str = "<stdin>",
                     sentences: bool = False) -> Iterator[Unit]:
    """Units from stdin lines: raw text split into sentences where `sentences` says so, else a line a sentence, and
    whitespace tokens a line a sentence (an empty line stays an empty output sentence, and ends a paragraph: a
    document); any other format as its reader reads it (documents and input columns kept)."""
    if input_format in TEXT_INPUTS:
        return units_from_texts(lines, segmentation, input_format == "tokens", paragraphs=True, offsets=offsets,
                                sentences=sentences)
    _, sentences = formats.read_lines(lines, source, input_format, columns)
    return ((list(s.tokens), None, None, s.document, s.labels, None) for s in sentences)


def in_scheme(results: Iterable[Tagged], scheme: L.Scheme) -> Iterator[Tagged]:
    """The results with their labels (and n-best sequences) written in another entity scheme: `tag
    --output-scheme`. A span is the same span in every scheme, so spans, text and scores do not change."""
    for result in results:
        if result.scheme is not scheme:
            result.labels = L.convert(result.labels, result.scheme, scheme)
            if result.nbest:
                result.nbest = [(L.convert(labels, result.scheme, scheme), score) for labels, score in result.nbest]
            result.scheme = scheme
        yield result


def above(results: Iterable[Tagged], threshold: float, keep_probs: bool) -> Iterator[Tagged]:
    """`tag --min-prob`: a span whose least sure token has a probability under `threshold` is written as O (the
    probabilities come from the model's marginals; dropped afterwards unless asked for)."""
    for result in results:
        for span in L.to_spans(result.labels, result.scheme):
            if min(result.probs[span.start : span.end]) < threshold:
                result.labels[span.start : span.end] = ["O"] * (span.end - span.start)
        if not keep_probs:
            result.probs = result.span_probs = None
        yield result


def check_probability(min_prob) -> None:
    """A `min_prob`: None, or a probability."""
    if min_prob is not None and (isinstance(min_prob, bool) or not isinstance(min_prob, (int, float))
                                 or not 0 <= min_prob <= 1):
        raise DataError(f"min_prob must be a probability from 0 to 1, not {min_prob!r:.60}")


def check_min_prob(min_prob, model_scheme: L.Scheme, kind: str) -> None:
    """`--min-prob` (and the API's and the server's min_prob): a probability, for a model whose labels are entity
    spans and that gives probabilities."""
    from seqtag import kinds

    check_probability(min_prob)
    if min_prob is None:
        return
    if model_scheme not in L.ENTITY_SCHEMES:
        raise DataError(f"--min-prob drops entity spans; this model's labels are {model_scheme.value}")
    if "probs" not in kinds.KINDS[kind].capabilities:
        raise DataError(f"--min-prob needs a model that gives probabilities (BiLSTM); this is a {kind} model")


def scheme_named(name, option: str = "output scheme") -> L.Scheme | None:
    """The entity scheme an `--output-scheme NAME` names (None for None); `option` is what errors call it."""
    choices = [s.value for s in L.ENTITY_SCHEMES]
    if name is not None and name not in choices:
        raise DataError(f"{option} must be one of {', '.join(choices)}, not {name!r:.60}")
    return None if name is None else L.Scheme(name)


def output_scheme(name: str | None, model_scheme: L.Scheme) -> L.Scheme | None:
    """The scheme `--output-scheme NAME` asks for, checked against the model's: entity schemes convert among
    themselves; POS tags and segmentation labels have no other scheme."""
    scheme = scheme_named(name)
    if scheme is not None and model_scheme not in L.ENTITY_SCHEMES:
        raise DataError(f"--output-scheme converts entity labels; this model's labels are {model_scheme.value}")
    return scheme


def tag_units(predictor, units: Sequence[Unit], probs: bool = False, nbest: int = 0,
              scopes: Sequence[int] | None = None) -> list[Tagged]:
    """Tag one window of units; long sentences go through the model in pieces. `scopes`, one per unit, tells
    independent inputs apart (`seqtag serve`'s requests): each is tagged as if alone, in the same runtime call."""
    pieces, owners = [], []
    for index, (tokens, _, _, document, layers, _) in enumerate(units):
        scope = None if scopes is None else scopes[index]
        for start in range(0, len(tokens), MAX_TOKENS):
            cut = {name: values[start : start + MAX_TOKENS] for name, values in layers.items()}
            pieces.append(Sentence(tuple(tokens[start : start + MAX_TOKENS]), cut, document=document, scope=scope))
            owners.append(index)
    predicted: list = [None] * len(pieces)
    with_spans = probs and hasattr(predictor, "predict_span_confidence")  # each entity's probability too
    for group in _groups(pieces, owners, units):  # bounded memory, however long one input line is
        sentences = [pieces[i] for i in group]
        if with_spans:
            found = predictor.predict_span_confidence(sentences)
        else:
            found = predictor.predict_confidence(sentences) if probs else \
                [(labels, None) for labels in predictor.predict(sentences)]
        for i, result in zip(group, found):
            predicted[i] = result
    # a paragraph of text is a document for the model, but there is no document mark to write back
    results = [Tagged(list(tokens), [], predictor.scheme, offsets, text, [] if probs else None,
                      nbest_score=predictor.nbest_score, document=document if text is None else None, where=where)
               for tokens, offsets, text, document, _, where in units]
    for owner, (labels, scores, *spans) in zip(owners, predicted):
        if spans:  # the pieces of a long sentence: their spans shifted to the sentence's token indices
            shift = len(results[owner].labels)
            results[owner].span_probs = {**(results[owner].span_probs or {}),
                                         **{(a + shift, b + shift, t): p for (a, b, t), p in spans[0].items()}}
        results[owner].labels.extend(labels)
        if probs:
            results[owner].probs.extend(scores)
    if nbest:  # whole sentences (n-best is for inspection)
        whole = [Sentence(tuple(unit[0]), unit[4], document=unit[3], scope=None if scopes is None else scopes[i])
                 for i, unit in enumerate(units)]
        for result, best in zip(results, predictor.predict_nbest(whole, nbest)):
            result.nbest = best
    return results


def _groups(pieces: list[Sentence], owners: list[int], units: Sequence[Unit]) -> Iterator[list[int]]:
    """Which pieces go through the model together: every sentence of the window at once (the context layer pools
    mentions across them), and the pieces of an over-long sentence LONG_PIECES at a time after them."""
    whole = [i for i, owner in enumerate(owners) if len(units[owner][0]) <= MAX_TOKENS]
    if whole:
        yield whole
    cut = [i for i, owner in enumerate(owners) if len(units[owner][0]) > MAX_TOKENS]
    for start in range(0, len(cut), LONG_PIECES):
        yield cut[start : start + LONG_PIECES]


def tag_stream(predictor, units: Iterable[Unit], window: int = 2000, probs: bool = False, nbest: int = 0
               ) -> Iterator[Tagged]:
    """Tagged results in input order, `window` sentences read and tagged at a time."""
    for chunk in windows(units, window):
        yield from tag_units(predictor, chunk, probs, nbest)


def windows(units: Iterable[Unit], window: int) -> Iterator[list[Unit]]:
    """The units, `window` at a time, a window ending sooner where it holds WINDOW_TOKENS tokens."""
    chunk, tokens = [], 0
    for unit in units:
        chunk.append(unit)
        tokens += len(unit[0])
        if len(chunk) >= window or tokens >= WINDOW_TOKENS:
            yield chunk
            chunk, tokens = [], 0
    if chunk:
        yield chunk


def tag_stream_parallel(predictor, units: Iterable[Unit], window: int = 2000, probs: bool = False, nbest: int = 0,
                        workers: int = 2) -> Iterator[Tagged]:
    """As tag_stream, with `workers` forked processes tagging whole windows. Output stays in input order, and at
    most `workers` windows are in flight, so memory stays bounded. The predictor is loaded before the fork: a bad
    model fails once, and the workers inherit it loaded."""
    import multiprocessing

    _worker.update(predictor=predictor, options=(probs, nbest))
    units = iter(units)
    predictor.before_fork()
    with _quiet_children():
        pool = multiprocessing.get_context("fork").Pool(workers, _one_thread_each)
    with pool:
        chunks = windows(units, window)
        while group := list(islice(chunks, workers)):
            for results in pool.map(_worker_window, group):
                yield from results


_worker: dict = {}


class _quiet_children:
    """Fork with SIGTERM at its default and SIGINT ignored, so a worker stopped before its initializer has run
    (an input error right after the pool starts) ends quietly instead of through the parent's handlers."""

    def __enter__(self):
        import signal
        import threading

        self.saved = None
        if threading.current_thread() is threading.main_thread():
            self.saved = (signal.signal(signal.SIGTERM, signal.SIG_DFL), signal.signal(signal.SIGINT, signal.SIG_IGN))

    def __exit__(self, *exc):
        import signal

        if self.saved is not None:
            signal.signal(signal.SIGTERM, self.saved[0])
            signal.signal(signal.SIGINT, self.saved[1])


def _one_thread_each() -> None:
    """The processes are the parallelism: one thread per worker. A worker leaves signals to the parent: Ctrl-C
    reaches the parent, which stops the pool, and the pool's SIGTERM ends a worker quietly (not through the
    parent's handler, which would print a traceback)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _worker_window(units: list) -> list[Tagged]:
    return tag_units(_worker["predictor"], units, *_worker["options"])


VIEWS = ("html",)  # output formats for people, written but never read back (not corpus formats)
# outputs that show the text as given, and so need character offsets: views, and the annotation tools' formats
OFFSET_FORMATS = ("jsonl", "html", *(name for name, fmt in formats.FORMATS.items() if fmt.predicts))


def check_output(predictor, output_format: str, nbest: int) -> None:
    """Refuse, before reading input, what the model or the format cannot give."""
    if output_format != "jsonl" and output_format not in VIEWS:
        formats.get(output_format)
    if output_format == "segmented" and predictor.scheme is not L.Scheme.BMES:
        raise DataError("--output-format segmented needs a word segmentation model")
    if output_format not in VIEWS and output_format != "jsonl" and formats.get(output_format).predicts \
            and predictor.scheme not in L.ENTITY_SCHEMES:
        raise DataError(f"--output-format {output_format} writes entity spans; this model's labels are "
                        f"{predictor.scheme.value}")
    if nbest and output_format != "jsonl":
        raise DataError("--nbest writes jsonl: add --output-format jsonl")


def render(results: Iterable[Tagged], layer: str, output_format: str) -> Iterator[str]:
    """Tagged results as text: JSON Lines with spans, offsets and scores, or any writer of seqtag.data.formats (its
    `prob` column holding the probabilities, where asked)."""
    if output_format == "jsonl":
        return (json.dumps(result.record(), ensure_ascii=False) + "\n" for result in results)
    if output_format == "html":
        from seqtag.runtime import display

        return display.page(results)
    if formats.get(output_format).predicts:
        return _predictions(results, formats.get(output_format))
    results = iter(results)
    first = next(results, None)
    if first is None:
        return iter(())
    layers = [layer] + (["prob"] if first.probs is not None else [])
    sentences = (result.sentence(layer) for result in _chain(first, results))
    return formats.write_sentences(sentences, layers, {}, output_format)


def _predictions(results: Iterable[Tagged], writer) -> Iterator[str]:
    """An annotation tool's pre-annotations: each sentence's text as it came (cut from its line), its entities."""
    yield writer.header((), {})
    between = ""
    for result in results:
        if result.text is not None and result.offsets:
            cut, end = result.offsets[0][0], result.offsets[-1][1]
            text, tokens = result.text[cut:end], None
        else:
            (text, offsets), cut, tokens = joined(result.tokens), 0, result.tokens
            result = Tagged(result.tokens, result.labels, result.scheme, offsets, text, span_probs=result.span_probs)
        spans = [(s.char_start - cut, s.char_end - cut, s.label, s.get("prob")) for s in result.spans]
        yield between + writer.predicted(text, spans, tokens)
        between = writer.separator
    yield writer.footer()


def _chain(first, rest):
    yield first
    yield from rest
