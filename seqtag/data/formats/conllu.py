"""CoNLL-U (Universal Dependencies): syntactic words with their UPOS and XPOS tags as two layers, and other layers
(an NER layer, say) in the MISC column as layer=label, named by a `# seqtag_layers = ner` line of each sentence;
`# newdoc` starts a document. Treebanks keep their own annotations in MISC too (SpaceAfter=, Entity=, Discourse=...):
only the keys a file names that way are layers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from seqtag.data import labels as L
from seqtag.data.corpus import Origin, Sentence
from seqtag.errors import DataError
from seqtag.data.formats.base import (Format, Layout, bad_labels, bad_tokens, check_tokens, document_marks, first_bad,
                                  spaced)
from seqtag.data.formats.text import Lines, sentence_blocks

LAYERS = ("upos", "xpos")
MISC_LAYERS = "seqtag_layers"  # the sentence comment naming the MISC keys that are label layers
# what Universal Dependencies itself keeps in MISC: never written as a layer
UD_MISC = frozenset({"SpaceAfter", "SpacesAfter", "SpacesBefore", "SpacesInToken", "Translit", "LTranslit", "Gloss",
                     "LGloss", "CorrectForm", "CorrectSpaceAfter", "Lang", "MSeg", "MGloss", "Ref", "Entity",
                     "Bridge", "SplitAnte", "GovRef"})


def _tokenlists(lines: Iterable[str], path: str) -> Iterator[tuple[int, list[str], object]]:
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
        yield start, block, tokenlist


def _words(tokenlist) -> list:
    """Multiword-token ranges (`3-4`) and empty nodes (`5.1`) are not words."""
    return [t for t in tokenlist if isinstance(t["id"], int)]


def _misc_layers(lines: Iterable[str], path: str) -> tuple[str, ...]:
    """The MISC keys the first sentence's `# seqtag_layers` line names: the layers a writer put there. Other MISC
    keys are a treebank's own annotations, however many words carry them."""
    for _, _, tokenlist in _tokenlists(lines, path):
        if _words(tokenlist):
            named = tokenlist.metadata.get(MISC_LAYERS) or ""
            return tuple(dict.fromkeys(name.strip() for name in named.split(",") if name.strip()))
    return ()


def _sentences(lines: Iterable[str], path: str, misc: Sequence[str]) -> Iterator[Sentence]:
    document = None
    for start, block, tokenlist in _tokenlists(lines, path):
        if "newdoc" in tokenlist.metadata or any(line.startswith("# newdoc") for line in block):
            document = 0 if document is None else document + 1
        words = _words(tokenlist)
        if not words:
            continue
        first = start + sum(line.startswith("#") for line in block)
        labels = {layer: tuple(t[layer] or "_" for t in words) for layer in LAYERS}
        for layer in misc:
            misses = [layer not in (t["misc"] or {}) for t in words]
            if any(misses):
                raise DataError(f"no {layer}= in the MISC column, a layer that # {MISC_LAYERS} names", path,
                                first + misses.index(True))
            labels[layer] = tuple("_" if t["misc"][layer] is None else t["misc"][layer] for t in words)  # _ as None
        yield Sentence(tokens=tuple(t["form"] for t in words), labels=labels, origin=Origin(path, first, True),
                       document=document)


class Conllu(Format):
    name = "conllu"
    suffix = ".conllu"
    summary = "CoNLL-U: UPOS and XPOS layers; other layers are written into MISC as layer=label"

    def layout(self, lines: Lines, path: str, columns: Sequence[str] | None = None) -> Layout:
        # upos after xpos, so it is the default target layer (the tag set UD defines), unless MISC holds layers
        misc = _misc_layers(lines(), path)
        return ("xpos", "upos", *misc), {layer: L.Scheme.PLAIN for layer in LAYERS}, \
            lambda: _sentences(lines(), path, misc)

    def cannot_hold(self, layers: Sequence[str], sentences: Sequence[Sentence]) -> str | None:
        others = [layer for layer in layers if layer not in LAYERS]
        name = first_bad(others, lambda name: spaced(name) or any(c in name for c in "=|,") or name in UD_MISC)
        found = (f"the layer name {name}" if name else None) or bad_tokens(sentences) \
            or bad_labels([layer for layer in layers if layer in LAYERS], sentences) \
            or bad_labels(others, sentences, lambda label: "=" in label or "|" in label) or document_marks(sentences)
        return f"cannot hold {found} (fields are split at tabs, MISC holds layer=label|...; # newdoc starts a " \
               "document)" if found else None

    def render(self, sentence: Sentence, layers: Sequence[str], new_document: bool) -> str:
        n = len(sentence)
        upos = sentence.labels.get("upos", ("_",) * n)
        xpos = sentence.labels.get("xpos", ("_",) * n)
        others = [layer for layer in layers if layer not in LAYERS]
        text = "# newdoc\n" if new_document else ""
        if others:
            text += f"# {MISC_LAYERS} = {','.join(others)}\n"
        check_tokens(sentence)
        for j, token in enumerate(sentence.tokens):
            misc = "|".join(f"{layer}={sentence.labels[layer][j]}" for layer in others) or "_"
            text += f"{j + 1}\t{token}\t_\t{upos[j]}\t{xpos[j]}\t_\t_\t_\t_\t{misc}\n"
        return text + "\n"
