"""Text into tokens with their character offsets, and into sentences: what `seqtag tag` does to raw text, and what
readers of annotation-tool formats (character spans over raw text) align their spans to."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# PTB-style tokens, as in the CoNLL corpora and the Penn Treebank: clitics split off ("do n't", "John 's", "I 'm"),
# punctuation alone, numbers, dates, hyphenated words, URLs and e-mail addresses kept whole, abbreviations such as
# U.S., Mr. and Inc. kept with their periods. Checked against NLTK's Treebank tokenizer in tests/test_tokenizer.py.
_CLITIC = r"'(?:s|re|ve|ll|d|m|S|RE|VE|LL|D|M)\b"  # 's 're 've 'll 'd 'm, split off a word
ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "Prof", "Sr", "Jr", "St", "Mt", "Gen", "Gov", "Sen", "Rep", "Rev", "Lt",
                 "Col", "Capt", "Sgt", "Inc", "Corp", "Co", "Ltd", "Bros", "vs", "etc", "No", "Jan", "Feb", "Mar",
                 "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Ave", "Blvd", "Dept", "Univ",
                 "approx", "est", "fig", "al")
_TOKEN = re.compile(
    rf"""
    (?:https?://|www\.)[^\s<>"]+?(?=[.,;:!?)\]'"]*(?:\s|$))   # URLs, without the punctuation after them
    | [\w.+-]+@[\w-]+(?:\.[\w-]+)+\b   # e-mail addresses
    | [A-Za-z]+(?=n't\b)                # "do" of "don't"
    | (?<![\w'])[Cc]an(?=not\b) | (?<=[Cc]an)not\b  # "can not", as the Treebank splits "cannot"
    | n't\b | {_CLITIC}
    | (?:[A-Za-z]\.){{2,}}              # U.S.  e.g.
    | (?:{"|".join(ABBREVIATIONS)})\.(?=\s+\S) # Mr. Inc. (not at the end of the text: there it ends the sentence)
    | [A-Z]\.(?=\s+[A-Z])                # the initial of John F. Kennedy
    | \d+(?:[.,:]\d+)+                  # 3,000  2.5  10:30
    | \w+(?:(?:[-&/]|(?!{_CLITIC})')\w+)*  # words: hyphenated, and/or, O'Neill, 01-Feb-02
    | \.\.\. | -- | ``|''
    | \S                                # any other single character
    """,
    re.VERBOSE,
)

def tokenize(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Tokens and their (start, end) character offsets in the text. A character is never split from the marks
    that make one symbol with it: combining accents (decomposed "é"), emoji modifiers and joiners, flag pairs."""
    spans = list(token_spans(text))
    return [text[a:b] for a, b in spans], spans


def token_spans(text: str) -> Iterator[tuple[int, int]]:
    """tokenize's offsets, found as they are read (a text of any length, a token at a time)."""
    last = None
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        if last and last[1] == start and _joins(text[last[0]:start], text[start]):
            last = (last[0], end)
            continue
        if last:
            yield last
        last = (start, end)
    if last:
        yield last


def _joins(before: str, first: str) -> bool:
    """Whether a token starting with `first` continues the symbol (or word) that `before` ends."""
    def regional(c: str) -> bool:  # a flag is two regional indicator letters
        return "\U0001F1E6" <= c <= "\U0001F1FF"

    mark = unicodedata.category(first).startswith("M") or first in "\u200d\ufe0f" or \
        "\U0001F3FB" <= first <= "\U0001F3FF"  # combining marks, joiner, emoji presentation, skin tones
    return (mark or before[-1] == "\u200d" or (regional(first) and len(before) == 1 and regional(before))
            or (unicodedata.category(before[-1]).startswith("M") and first.isalnum()))


def characters(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """A segmentation model's tokens: every non-space character."""
    spans = list(character_spans(text))
    return [text[a] for a, _ in spans], spans


def character_spans(text: str) -> Iterator[tuple[int, int]]:
    return ((i, i + 1) for i, c in enumerate(text) if not c.isspace())


def whitespace_tokens(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    matches = list(re.finditer(r"\S+", text))
    return [m.group() for m in matches], [m.span() for m in matches]


def whitespace_spans(text: str) -> Iterator[tuple[int, int]]:
    return (m.span() for m in re.finditer(r"\S+", text))


SPLIT_WINDOW = 100_000  # characters the splitter reads at a time: memory stays bounded on a line of any length
SPLIT_MARGIN = 1_000  # a start this near a window's cut is found again by the next window, with what follows it


def sentence_starts(text: str) -> list[int]:
    """Where each sentence of a text starts (character offsets; the first at 0), by syntok's segmenter (chosen by
    measurement: docs/tagging.md). A sentence runs to the next one's start, so no character is left out. The text
    is read SPLIT_WINDOW characters at a time, each window from the last start found; a sentence longer than a
    window is cut at the window's end."""
    starts, at = [0], 0
    spaces = re.match(r"\s*", text).end()  # before the first sentence, they belong to it: not a sentence of their own
    while True:
        end = min(len(text), at + SPLIT_WINDOW)
        last = end == len(text)
        found = [at + offset for offset in _starts(text[at:end]) if last or at + offset < end - SPLIT_MARGIN]
        new = [start for start in found if start > max(starts[-1], spaces)]
        starts += new
        if last:
            return starts
        at = starts[-1] if new else end
        if not new:
            starts.append(end)


def _starts(text: str) -> list[int]:
    from syntok import segmenter

    return [sentence[0].offset for paragraph in segmenter.analyze(text) for sentence in paragraph
            if sentence and sentence[0].offset < len(text)]
