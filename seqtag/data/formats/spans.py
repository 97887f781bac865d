"""Character spans over a text, as annotation tools keep them (doccano, Label Studio), and seqtag's tokens with an
IOB2 layer: the alignment both ways, shared by those formats.

A span must begin and end on token boundaries (whitespace at its edges is not the entity's) and may not overlap
another: one that does not is refused with where it is, its offsets and its text, never moved to the nearest token."""

from __future__ import annotations

from collections.abc import Sequence

from seqtag.data import labels as L
from seqtag.data.corpus import Sentence
from seqtag.data.formats.base import bad_tokens
from seqtag.errors import DataError

LAYER = "ner"  # the layer the spans are read into


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the whitespace at its edges."""
    piece = text[start:end]
    return start + len(piece) - len(piece.lstrip()), end - (len(piece) - len(piece.rstrip()))


def joined(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The text seqtag writes for tokens (joined by one space) and each token's offsets in it."""
    offsets, at = [], 0
    for token in tokens:
        offsets.append((at, at + len(token)))
        at += len(token) + 1
    return " ".join(tokens), offsets


def token_labels(text: str, offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int, str]], path: str,
                 line: int | None, where: str = "") -> list[str]:
    """IOB2 labels of the tokens at `offsets` from character spans (start, end, label, and the span's own line where
    it has one; trimmed, in any order); `where` says which record of the file in errors (`line` where the file has
    one per record)."""
    first = {start: i for i, (start, _) in enumerate(offsets)}
    last = {end: i for i, (_, end) in enumerate(offsets)}
    labels = ["O"] * len(offsets)
    for start, end, label, *own in sorted(spans):
        line = own[0] if own else line
        begin, finish = first.get(start), last.get(end)
        if begin is None or finish is None or finish < begin:
            raise DataError(f"{where}the {label} span {start}-{end} ({text[start:end]!r}) does not begin and end on "
                            "token boundaries of seqtag's tokenizer", path, line)
        if any(tag != "O" for tag in labels[begin:finish + 1]):
            raise DataError(f"{where}the {label} span {start}-{end} ({text[start:end]!r}) overlaps another span",
                            path, line)
        labels[begin:finish + 1] = [f"B-{label}"] + [f"I-{label}"] * (finish - begin)
    return labels


def char_spans(labels: Sequence[str], offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """The entity spans of labels in any entity scheme (BIOES where there are S- or E- tags, else read as conlleval
    reads IOB), as character offsets."""
    scheme = L.Scheme.BIOES if any(label[:2] in ("S-", "E-") for label in labels) else L.Scheme.IOB2
    return [(offsets[s.start][0], offsets[s.end - 1][1], s.label) for s in L.to_spans(labels, scheme)] if labels \
        else []


def cannot_hold(layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
    """What of a corpus a span format cannot write: it holds one IOB2 entity layer of tokens without spaces."""
    if list(layers) != [LAYER]:
        keep = f"keep it with --keep-layers {LAYER}" if LAYER in layers else \
            f"name the entity layer {LAYER} with --columns, and keep it with --keep-layers {LAYER}"
        return (f"holds one entity layer, read back as {LAYER}; this corpus has {', '.join(layers) or 'none'} "
                f"({keep})")
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


def target_layer(layers: Sequence[str]) -> str | None:
    """The layer a writer renders: the entity layer, else the target (a model's output is the last)."""
    return LAYER if LAYER in layers else layers[-1] if layers else None
