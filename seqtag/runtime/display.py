"""Tagged sentences as HTML for people: entities highlighted by type (in the manner of displaCy's entity view), tags
under their words for a tag layer such as POS, words set apart for segmentation.

The same fragment is `seqtag tag --output-format html` (one paragraph per sentence, in a page written as results
come) and the Jupyter display of a `Tagged` result. Styles are inline, so a fragment shows the same anywhere. The
page is a view, not a corpus format: nothing reads it back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from html import escape

# Fixed colours for the usual entity types, so a type looks the same on every page; others get one of EXTRA by name.
COLOURS = {"PER": "#aa9cfc", "PERSON": "#aa9cfc", "LOC": "#ff9561", "GPE": "#feca74", "ORG": "#7aecec",
           "MISC": "#c887fb", "NORP": "#c887fb", "DATE": "#bfe1d9", "TIME": "#bfe1d9", "MONEY": "#e4e7d2",
           "PERCENT": "#e4e7d2", "PRODUCT": "#bfeeb7", "EVENT": "#ffeb80", "WORK_OF_ART": "#f0d0ff"}
EXTRA = ("#ddd5ff", "#ffd5c2", "#c9f2f2", "#e3f4c9", "#ffe7a3", "#f6c9e8", "#d1dcf6", "#e8e8e8")
PAGE_STYLE = "font-family: system-ui, sans-serif; line-height: 2.4; max-width: 60em; margin: 2em auto; padding: 0 1em"
MARK_STYLE = "background: {colour}; padding: 0.25em 0.4em; margin: 0 0.15em; border-radius: 0.35em"
LABEL_STYLE = "font-size: 0.7em; font-weight: bold; margin-left: 0.4em; vertical-align: middle; text-transform: none"


def colour(label: str) -> str:
    """The colour of an entity type: fixed for the usual ones, otherwise chosen by the name (stable across runs)."""
    if label in COLOURS:
        return COLOURS[label]
    return EXTRA[hashlib.sha256(label.encode()).digest()[0] % len(EXTRA)]


def _mark(text: str, label: str, prob: float | None = None) -> str:
    """An entity highlighted, its type beside it; its probability (tag --probs) as a tooltip."""
    title = f' title="{escape(label)} {100 * prob:.1f}%"' if prob is not None else ""
    return (f'<mark class="entity"{title} style="{MARK_STYLE.format(colour=colour(label))}">{escape(text)}'
            f'<span style="{LABEL_STYLE}">{escape(label)}</span></mark>')


def sentence_html(result) -> str:
    """One tagged sentence (a seqtag.runtime.tagging.Tagged) as a paragraph."""
    from seqtag.data import labels as L

    if result.scheme is L.Scheme.PLAIN:  # a tag per word, under it
        words = (f'<span style="display: inline-block; text-align: center; margin: 0 0.3em; line-height: 1.3">'
                 f'{escape(token)}<br><small style="color: #555">{escape(label)}</small></span>'
                 for token, label in zip(result.tokens, result.labels))
        return f'<p class="sentence">{"".join(words)}</p>'
    spans = result.spans
    if result.scheme is L.Scheme.BMES:  # segmentation: words apart, no label to show
        words = (f'<span style="border-bottom: 2px solid #999; margin: 0 0.2em">'
                 f'{escape("".join(result.tokens[s["start"]:s["end"]]))}</span>' for s in spans)
        return f'<p class="sentence">{"".join(words)}</p>'
    parts, done = [], 0
    if result.offsets is not None:  # the sentence's part of the text as given (a line holds several), spaces and all
        done, end = (result.offsets[0][0], result.offsets[-1][1]) if result.offsets else (0, 0)
        for span in spans:
            parts += [escape(result.text[done:span["char_start"]]), _mark(span["text"], span["label"], span.prob)]
            done = span["char_end"]
        parts.append(escape(result.text[done:end]))
    else:
        for span in spans:
            parts += [escape(" ".join(result.tokens[done:span["start"]])),
                      _mark(span["text"], span["label"], span.prob)]
            done = span["end"]
        parts.append(escape(" ".join(result.tokens[done:])))
        parts = [" ".join(part for part in parts if part)]
    return f'<p class="sentence">{"".join(parts)}</p>'


def fragment(results: Iterable) -> str:
    """Several sentences as one block of HTML (the Jupyter display)."""
    return f'<div class="seqtag" style="line-height: 2.4">{chr(10).join(sentence_html(r) for r in results)}</div>'


def page(results: Iterable, title: str = "seqtag tag") -> Iterator[str]:
    """A whole HTML page, written piece by piece as the results come (the head first, then each sentence)."""
    yield (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>\n'
           f'<body style="{PAGE_STYLE}">\n')
    for result in results:
        yield sentence_html(result) + "\n"
    yield "</body></html>\n"
