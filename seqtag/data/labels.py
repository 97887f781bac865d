"""Label schemes: parsing, spans, detection, validation, repair and conversion. All functions are pure.

Every span scheme goes through one representation, a list of `Span`s: `to_spans` reads tags the way conlleval
does (an `I-X` after `O` opens a chunk), `from_spans` writes the canonical tags of a scheme, and `convert` is
their composition. A sequence is valid exactly when converting it to its own scheme leaves it unchanged, so
IOB1 -> BIOES -> IOB1 is the identity on every valid IOB1 sequence by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import NamedTuple


class Scheme(StrEnum):
    PLAIN = "plain"  # POS-style tags, no spans
    IOB1 = "iob1"  # CoNLL-2003: B- only between two adjacent chunks of one type
    IOB2 = "iob2"  # BIO: every chunk starts with B-
    BIOES = "bioes"  # IOBES: B-/I-/E- for multi-token chunks, S- for single tokens
    BMES = "bmes"  # word segmentation: B/M/E/S without a type


ENTITY_SCHEMES = (Scheme.IOB1, Scheme.IOB2, Scheme.BIOES)  # typed spans (X of B-X); BMES spans are untyped words
SPAN_SCHEMES = (*ENTITY_SCHEMES, Scheme.BMES)
SEGMENT_TYPE = "W"  # the span type BMES words get, so that segmentation scores like entities


class Span(NamedTuple):
    start: int
    end: int  # exclusive
    label: str


class InvalidTag(ValueError):
    """A tag that does not belong to the scheme at all (e.g. `S-PER` in IOB2): it cannot be repaired."""

    def __init__(self, index: int, tag: str, scheme: Scheme):
        super().__init__(f"label {tag!r} is not a {scheme.value} tag")
        self.index = index
        self.tag = tag


_ALLOWED_PREFIXES = {Scheme.IOB1: "IB", Scheme.IOB2: "IB", Scheme.BIOES: "BIES"}
_BMES_PREFIX = {"B": "B", "M": "I", "E": "E", "S": "S"}
_SPAN_TAG = re.compile(r"^([A-Z])-(.+)$")


def parse_tag(tag: str, scheme: Scheme, index: int = 0) -> tuple[str, str]:
    """Return (prefix, type), with prefix in B/I/E/S, or ("O", "") outside any span. BMES's M reads as I."""
    if scheme is Scheme.BMES:
        if tag not in _BMES_PREFIX:
            raise InvalidTag(index, tag, scheme)
        return _BMES_PREFIX[tag], SEGMENT_TYPE
    if tag == "O":
        return "O", ""
    match = _SPAN_TAG.match(tag)
    if match is None or match.group(1) not in _ALLOWED_PREFIXES[scheme]:
        raise InvalidTag(index, tag, scheme)
    return match.group(1), match.group(2)


def to_spans(tags: Sequence[str], scheme: Scheme) -> list[Span]:
    """Read chunks as conlleval does: a chunk starts at B-/S-, or at I-/E- whose type differs from the open chunk."""
    if scheme is Scheme.PLAIN:
        raise ValueError("plain tags have no spans")
    spans: list[Span] = []
    start, open_type = 0, None
    for i, tag in enumerate(tags):
        prefix, kind = parse_tag(tag, scheme, i)
        if open_type is not None and (prefix in "OBS" or kind != open_type):
            spans.append(Span(start, i, open_type))
            open_type = None
        if prefix != "O" and open_type is None:
            start, open_type = i, kind
        if prefix in "ES":
            spans.append(Span(start, i + 1, open_type))
            open_type = None
    if open_type is not None:
        spans.append(Span(start, len(tags), open_type))
    return spans


def from_spans(spans: Iterable[Span], length: int, scheme: Scheme) -> list[str]:
    """Write the canonical tags of `scheme` for non-overlapping spans."""
    if scheme is Scheme.PLAIN:
        raise ValueError("plain tags have no spans")
    tags = ["O"] * length
    previous: Span | None = None
    for span in sorted(spans):
        size = span.end - span.start
        if scheme is Scheme.BMES:
            inner = ["B"] + ["M"] * (size - 2) + ["E"] if size > 1 else ["S"]
        else:
            if scheme is Scheme.BIOES:
                prefixes = ["B"] + ["I"] * (size - 2) + ["E"] if size > 1 else ["S"]
            elif scheme is Scheme.IOB2:
                prefixes = ["B"] + ["I"] * (size - 1)
            else:  # IOB1: B- only where a chunk directly follows one of the same type
                touching = previous is not None and previous.end == span.start and previous.label == span.label
                prefixes = ["B" if touching else "I"] + ["I"] * (size - 1)
            inner = [f"{p}-{span.label}" for p in prefixes]
        tags[span.start : span.end] = inner
        previous = span
    return tags


def convert(tags: Sequence[str], source: Scheme, target: Scheme) -> list[str]:
    """Convert between span schemes (lossless for valid input); invalid input comes out repaired."""
    if source is Scheme.PLAIN and target in (Scheme.IOB1, Scheme.IOB2, Scheme.BIOES) and all(t == "O" for t in tags):
        return list(tags)  # a layer without a single span (read as plain tags) is valid in every span scheme
    if source is Scheme.PLAIN or target is Scheme.PLAIN:
        if source is not target:
            raise ValueError(f"cannot convert {source.value} tags to {target.value}")
        return list(tags)
    if (source is Scheme.BMES) != (target is Scheme.BMES):
        raise ValueError(f"cannot convert {source.value} tags to {target.value}")
    return from_spans(to_spans(tags, source), len(tags), target)


def repair(tags: Sequence[str], scheme: Scheme) -> list[str]:
    """The canonical form of a sequence, with invalid transitions mended the way conlleval reads them."""
    return convert(tags, scheme, scheme)


def first_problem(tags: Sequence[str], scheme: Scheme) -> tuple[int, str] | None:
    """(index, message) for the first invalid tag, or None when the sequence is valid.

    Raises InvalidTag for a tag outside the scheme.
    """
    if scheme is Scheme.PLAIN:
        return None
    fixed = repair(tags, scheme)
    for i, (tag, good) in enumerate(zip(tags, fixed)):
        if tag != good:
            before = f"after {tags[i - 1]!r}" if i else "at the start of a sentence"
            return i, f"invalid {scheme.value} sequence: {tag!r} {before} (the repair reads it as {good!r})"
    return None


def detect(sequences: Iterable[Sequence[str]]) -> Scheme:
    """Guess the scheme of a label layer from its sequences (in one pass, so they may be streamed).

    A layer is a span layer when nearly all (90%) of its tags other than `O` are prefixed `B-`/`I-`/`E-`/`S-`:
    a few junk tags do not demote it to plain tags, they are then reported, with their line, as tags outside the
    scheme. Among the span schemes, BIOES needs E-/S- on at least half of its chunks, so one stray `S-PER` in an
    IOB1 file is an error too, not a change of scheme."""
    counts: dict[str, int] = {}
    opens_with_i = opens_with_b = 0  # chunk-initial I- is IOB1's mark; B- after O/other type is IOB2's
    for seq in sequences:
        previous = "O"
        for tag in seq:
            counts[tag] = counts.get(tag, 0) + 1
            if tag.startswith(("I-", "B-")) and not (previous != "O" and previous[2:] == tag[2:]):
                if tag[0] == "I":
                    opens_with_i += 1
                else:
                    opens_with_b += 1
            previous = tag
    if counts and set(counts) <= set(_BMES_PREFIX):
        return Scheme.BMES
    outside = sum(count for tag, count in counts.items() if tag != "O")
    prefixed = {tag: count for tag, count in counts.items() if _SPAN_TAG.match(tag) and tag[0] in "BIES"}
    if not prefixed or sum(prefixed.values()) < 0.9 * outside:
        return Scheme.PLAIN
    ends = sum(count for tag, count in prefixed.items() if tag[0] in "ES")
    chunks = opens_with_i + opens_with_b + sum(count for tag, count in prefixed.items() if tag[0] == "S")
    if ends >= 0.5 * max(chunks, 1):
        return Scheme.BIOES
    return Scheme.IOB1 if opens_with_i > opens_with_b else Scheme.IOB2


def allowed_transitions(labels: Sequence[str], scheme: Scheme) -> tuple[list[bool], list[list[bool]], list[bool]]:
    """Which labels may start a sentence, follow each label, and end a sentence, so decoders emit only
    canonical sequences. Returns (start[j], transitions[i][j], end[i])."""
    n = len(labels)
    if scheme is Scheme.PLAIN:
        return [True] * n, [[True] * n for _ in range(n)], [True] * n
    parsed = [parse_tag(label, scheme, i) for i, label in enumerate(labels)]

    def may_follow(prev: tuple[str, str] | None, cur: tuple[str, str]) -> bool:
        p_prefix, p_type = prev if prev else ("O", "")
        c_prefix, c_type = cur
        inside = p_prefix in "BI" and scheme in (Scheme.BIOES, Scheme.BMES)  # an open chunk must continue
        if inside:
            return c_prefix in "IE" and c_type == p_type
        if scheme is Scheme.IOB2:
            return c_prefix != "I" or (p_prefix in "BI" and p_type == c_type)
        if scheme is Scheme.IOB1:
            return c_prefix != "B" or (p_prefix in "BI" and p_type == c_type)
        return c_prefix in "OBS"  # BIOES/BMES after O, E or S

    start = [may_follow(None, cur) for cur in parsed]
    transitions = [[may_follow(prev, cur) for cur in parsed] for prev in parsed]
    end = [not (prefix in "BI" and scheme in (Scheme.BIOES, Scheme.BMES)) for prefix, _ in parsed]
    return start, transitions, end


def segment_words(chars: Sequence[str], tags: Sequence[str]) -> list[str]:
    """Join characters into words by their B/M/E/S tags."""
    return ["".join(chars[s.start : s.end]) for s in to_spans(tags, Scheme.BMES)]


def words_to_tags(words: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split words into characters with B/M/E/S tags."""
    chars = [c for word in words for c in word]
    spans, position = [], 0
    for word in words:
        spans.append(Span(position, position + len(word), SEGMENT_TYPE))
        position += len(word)
    return chars, from_spans(spans, len(chars), Scheme.BMES)
