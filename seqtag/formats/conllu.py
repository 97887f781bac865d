"""CoNLL-U (Universal Dependencies): syntactic words with their UPOS and XPOS tags as two layers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from seqtag import labels as L
from seqtag.corpus import Origin, Sentence
from seqtag.errors import DataError
from seqtag.formats.base import Format, Layout, check_tokens
from seqtag.formats.text import Lines, sentence_blocks

LAYERS = ("upos", "xpos")


def _sentences(lines: Iterable[str], path: str) -> Iterator[Sentence]:
    """Multiword-token ranges (`3-4`) and empty nodes (`5.1`) are not tokens."""
    import conllu  # lazy: only this reader needs it

    for start, block, _ in sentence_blocks(lines):
        for offset, line in enumerate(block):
            if not line.startswith("#") and len(line.split("\t")) != 10:
                found = len(line.split("\t"))
                raise DataError(f"expected 10 tab-separated CoNLL-U fields, found {found}", path, start + offset)
        try:
            (tokenlist,) = conllu.parse("\n".join(block) + "\n\n")
        except (conllu.exceptions.ParseException, ValueError) as e:
            raise DataError(f"CoNLL-U: {e}", path, start) from None
        words = [t for t in tokenlist if isinstance(t["id"], int)]
        if words:
            yield Sentence(tokens=tuple(t["form"] for t in words),
                           labels={layer: tuple(t[layer] or "_" for t in words) for layer in LAYERS},
                           origin=Origin(path, start + sum(line.startswith("#") for line in block), True))


class Conllu(Format):
    name = "conllu"
    suffix = ".conllu"
    summary = "CoNLL-U: UPOS and XPOS layers; other layers are written into MISC as layer=label"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        # upos last, so it is the default target layer (the tag set UD defines)
        return ("xpos", "upos"), {layer: L.Scheme.PLAIN for layer in LAYERS}, lambda: _sentences(lines(), path)

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        n = len(sentence)
        upos = sentence.labels.get("upos", ("_",) * n)
        xpos = sentence.labels.get("xpos", ("_",) * n)
        others = [layer for layer in layers if layer not in LAYERS]
        text = "# newdoc\n" if new_document else ""
        check_tokens(sentence)
        for j, token in enumerate(sentence.tokens):
            misc = "|".join(f"{layer}={sentence.labels[layer][j]}" for layer in others) or "_"
            text += f"{j + 1}\t{token}\t_\t{upos[j]}\t{xpos[j]}\t_\t_\t_\t_\t{misc}\n"
        return text + "\n"
