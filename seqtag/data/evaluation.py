"""One scorer for every tagger: entity P/R/F1 (seqeval), tag accuracy, or segmentation word P/R/F1.

Span tasks are scored by seqeval in its default mode, which follows conlleval: both sides are first read the way
conlleval reads them (an `I-X` after `O` opens a chunk) and written as IOB2. `strict=True` uses seqeval's strict
mode on the tags as given instead, where ill-formed chunks count as errors.
"""

from __future__ import annotations

import warnings

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from seqtag.data import labels as L
from seqtag.errors import DataError

if TYPE_CHECKING:
    from seqtag.data.corpus import Corpus
    from seqtag.data.reading import ReadOptions

Tags = Sequence[Sequence[str]]
# A model fitted on its dev set after training (the context layer) is scored there with each half of dev predicted
# by a fit on the other half: report["estimate"] says so (training.context_fit).
CROSS_FITTED = "cross-fitted"
# A model refitted on train + dev (--refit) keeps the dev figure of the run before, which had not learned from dev.
BEFORE_REFIT = "before refit"
_SHOWN = {CROSS_FITTED: "held-out halves", BEFORE_REFIT: "before the refit on train + dev"}


def figure_name(name: str, report: dict) -> str:
    """How a stored figure is named where it is shown: "dev" says how it was held out, where it says."""
    estimate = report.get("estimate")
    return f"{name} ({_SHOWN[estimate]})" if estimate in _SHOWN else name


def main_metric(scheme: L.Scheme) -> str:
    return "accuracy" if scheme is L.Scheme.PLAIN else "f1"


def score(
    gold: Tags,
    predicted: Tags,
    scheme: L.Scheme,
    tokens: Tags | None = None,
    known: Callable[[str], bool] | None = None,
    strict: bool = False,
    bootstrap: int = 0,
) -> dict:
    """Scores as fractions in [0, 1]; `known` (was a token/word seen in training) adds out-of-vocabulary scores;
    `bootstrap` resamples of the sentences add the main metric's 95% interval (seqtag.data.bootstrap)."""
    if len(gold) != len(predicted):
        raise DataError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    for i, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise DataError(f"sentence {i + 1}: {len(g)} gold labels but {len(p)} predicted")
    report = {"scheme": scheme.value, "sentences": len(gold), "tokens": sum(len(g) for g in gold)}
    report["metric"] = main_metric(scheme)
    pairs = [(a, b) for g, p in zip(gold, predicted) for a, b in zip(g, p)]
    report["accuracy"] = sum(a == b for a, b in pairs) / len(pairs) if pairs else 0.0
    if known is not None and tokens is not None and scheme is not L.Scheme.BMES:
        unknown = [a == b for sent, g, p in zip(tokens, gold, predicted) for t, a, b in zip(sent, g, p) if not known(t)]
        report["oov_tokens"] = len(unknown)
        report["oov_accuracy"] = sum(unknown) / len(unknown) if unknown else None
    if scheme is L.Scheme.BMES:
        report.update(_segmentation(gold, predicted, tokens, known))
    elif scheme is not L.Scheme.PLAIN:
        report.update(_entities(gold, predicted, scheme, strict))
    if bootstrap:
        from seqtag.data import bootstrap as resampling

        counts = resampling.sentence_counts(gold, predicted, scheme, strict)
        report["interval"] = resampling.interval(counts, scheme, bootstrap)
    return report


def _entities(gold: Tags, predicted: Tags, scheme: L.Scheme, strict: bool) -> dict:
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB1, IOB2, IOBES

    if strict:
        seqeval_scheme = {L.Scheme.IOB1: IOB1, L.Scheme.IOB2: IOB2, L.Scheme.BIOES: IOBES}[scheme]
        y_true, y_pred = [list(g) for g in gold], [list(p) for p in predicted]
        kwargs = {"mode": "strict", "scheme": seqeval_scheme}
    else:
        y_true = [L.convert(g, scheme, L.Scheme.IOB2) for g in gold]
        y_pred = [L.convert(p, scheme, L.Scheme.IOB2) for p in predicted]
        kwargs = {}
    with warnings.catch_warnings():  # with no span at all, seqeval averages an empty list (numpy warns, gives NaN)
        warnings.simplefilter("ignore", RuntimeWarning)
        table = classification_report(y_true, y_pred, output_dict=True, zero_division=0, **kwargs)
    averages = {"micro avg", "macro avg", "weighted avg"}
    per_type = {
        name: {"precision": float(v["precision"]), "recall": float(v["recall"]), "f1": float(v["f1-score"]),
               "support": int(v["support"])}
        for name, v in sorted(table.items())
        if name not in averages
    }
    micro = table.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
    macro = table.get("macro avg", {"f1-score": 0.0})
    return {
        "mode": "strict" if strict else "conlleval",
        "precision": float(micro["precision"]),
        "recall": float(micro["recall"]),
        "f1": float(micro["f1-score"]),
        "macro_f1": float(macro["f1-score"]) if per_type else 0.0,  # not NaN, which JSON cannot hold
        "per_type": per_type,
    }


def _segmentation(gold: Tags, predicted: Tags, chars: Tags | None, known: Callable[[str], bool] | None) -> dict:
    """Word precision/recall/F1 as the SIGHAN scorer counts them: a word is right when both its ends are."""
    correct = gold_words = predicted_words = 0
    oov_total = oov_found = 0
    for i, (g, p) in enumerate(zip(gold, predicted)):
        gold_spans = set(L.to_spans(g, L.Scheme.BMES))
        pred_spans = set(L.to_spans(p, L.Scheme.BMES))
        correct += len(gold_spans & pred_spans)
        gold_words += len(gold_spans)
        predicted_words += len(pred_spans)
        if known is not None and chars is not None:
            for span in gold_spans:
                if not known("".join(chars[i][span.start : span.end])):
                    oov_total += 1
                    oov_found += span in pred_spans
    precision = correct / predicted_words if predicted_words else 0.0
    recall = correct / gold_words if gold_words else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result = {"mode": "words", "precision": precision, "recall": recall, "f1": f1, "words": gold_words}
    if known is not None and chars is not None:
        result["oov_words"] = oov_total
        result["oov_recall"] = oov_found / oov_total if oov_total else None
    return result


def score_tagger(tagger, corpus, strict: bool = False, predicted: Tags | None = None, bootstrap: int = 0) -> dict:
    """Predict a corpus with any Tagger (unless given its predictions) and score it against the corpus's own
    labels, in the tagger's scheme."""
    predicted = tagger.predict(corpus.sentences) if predicted is None else predicted
    gold = corpus.column(tagger.layer)
    tokens = [s.tokens for s in corpus.sentences]
    if tagger.scheme is L.Scheme.BMES:  # out-of-vocabulary means words, not characters
        known = tagger.train_words.__contains__ if tagger.train_words else None
    else:
        known = tagger.known
    return score(gold, predicted, tagger.scheme, tokens, known, strict, bootstrap)


def evaluate_files(pred_path: str | Path, gold_path: str | Path, read: ReadOptions, strict: bool = False,
                   bootstrap: int = 0) -> dict:
    """Score a system's output file against a gold file, without a model."""
    from seqtag.data.reading import KEEP_INVALID, ReadOptions

    gold, layer, _ = read.read(gold_path)
    scheme = gold.schemes[layer]
    columns = read.columns
    if columns and len(columns) > 2 and _first_fields(pred_path) == 2:  # `seqtag tag`'s own output: word, label
        columns = ["word", layer]
    pred_read = ReadOptions(read.format, columns, layer if columns else read.layer, read.scheme,
                            KEEP_INVALID if strict else "repair")
    pred, pred_layer, _ = pred_read.read(pred_path, scheme)
    _check_aligned(pred, gold)
    return score(gold.column(layer), pred.column(pred_layer), scheme, strict=strict, bootstrap=bootstrap)


def _first_fields(path: str | Path) -> int:
    """How many columns the first token line of a column file has (0 when it has none in its first lines)."""
    from seqtag.data.formats.text import open_binary

    with open_binary(str(path)) as file:
        for _, line in zip(range(1000), file):
            fields = line.split()
            if fields and not line.startswith((b"#", b"-DOCSTART-")):
                return len(fields)
    return 0


def _check_aligned(pred: Corpus, gold: Corpus) -> None:
    """A prediction file must hold the gold file's tokens, sentence by sentence: say where it first does not."""
    for number, (p, g) in enumerate(zip(pred.sentences, gold.sentences), 1):
        if p.tokens != g.tokens:
            i = next((i for i, (a, b) in enumerate(zip(p.tokens, g.tokens)) if a != b), min(len(p), len(g)))
            mine = repr(p.tokens[i]) if i < len(p) else "the end of the sentence"
            theirs = repr(g.tokens[i]) if i < len(g) else "the end of the sentence"
            gold_line = f":{g.origin.line_of(i)}" if g.origin else ""
            raise DataError(f"sentence {number} differs from the gold file: {mine} where {gold.source}{gold_line} "
                            f"has {theirs}", pred.source, p.origin.line_of(min(i, len(p) - 1)) if p.origin else None)
    if len(pred) != len(gold):
        raise DataError(f"{len(pred):,} sentences where the gold file {gold.source} has {len(gold):,}", pred.source)
