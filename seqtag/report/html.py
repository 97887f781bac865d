"""`seqtag report` and `compare --html`: self-contained HTML pages (figures inline as SVG, no script, no network)
that show how training went, where a model errs, and how model kinds compare as the training set grows.

Every figure has a title, labelled axes and a table of its numbers beside it (for screen readers, and so the numbers
can be checked against `seqtag evaluate --json`). Colours are the Okabe-Ito palette, which colour-blind readers can
tell apart: each model keeps one colour across the page, and the outcomes of a span (correct, wrong type, wrong
boundaries, missed) have fixed colours of their own that no model takes. Legends sit beside the plot, never on data.
matplotlib draws the figures; it is an optional extra (`pip install 'seqtag-nlp[report]'`).
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

from seqtag.data import labels as L
from seqtag.data.evaluation import figure_name
from seqtag.errors import DataError
from seqtag.data.vectors import coverage_lines
from seqtag.models.tagger import resolved_config
from seqtag.modeldir import in_sample_warning
from seqtag.report import figures
from seqtag.report.compare import tested_cells

LENGTHS = ((1, 10), (11, 20), (21, 30), (31, 50), (51, None))
WORST = 30  # sentences shown in "worst errors"


# ---------------------------------------------------------------------------------------------------- analysis


IN_SAMPLE = " (in-sample: the dev file its context layer was fitted on)"


def analyse(model_path: Path, gold_path: Path | None = None, read_options: dict | None = None) -> dict:
    """Everything a report shows about one model: its card, training curve, and its errors on a gold file (the
    one given, else the test file it was trained with, else its dev file)."""
    from seqtag import api
    from seqtag.data.bootstrap import sentence_counts
    from seqtag.data.evaluation import score_tagger
    from seqtag.modeldir import read_train_log

    model = api.load(model_path, runtime="torch")  # a report reads a model folder; it does not add a graph to it
    data = model.document.get("training", {}).get("data", {})
    if gold_path is None:
        saved = data.get("test") or data.get("dev")
        if saved is None:
            raise DataError("the model was trained without dev or test data: give --data GOLD", model_path)
        gold_path = Path(saved["path"])
    gold = model.read_gold(gold_path, **(read_options or {}))
    predicted = model.predictor.predict(gold.sentences)
    report = score_tagger(model.predictor, gold, predicted=predicted)
    golds = [list(s.labels[model.layer]) for s in gold.sentences]
    tokens = [list(s.tokens) for s in gold.sentences]
    return {
        "name": str(model_path), "path": str(model_path), "kind": model.kind, "scheme": model.scheme, "gold": str(gold_path),
        "in_sample": in_sample_warning(model.document, gold_path) is not None,  # the dev file it was fitted on
        "document": model.document, "report": report, "curve": read_train_log(model_path, ("epoch", "loss", "dev_score", "best_epoch")),
        "per_label": _per_label(report, golds, predicted, model.scheme),
        "oov": _oov(tokens, golds, predicted, model.predictor.known),
        "confusion": _confusion(golds, predicted, model.scheme),
        "by_length": _by_length(golds, predicted, model.scheme),
        "errors": _worst(tokens, golds, predicted, model.scheme),
        "counts": sentence_counts(golds, predicted, model.scheme),
    }


def _per_label(report: dict, golds, predicted, scheme: L.Scheme) -> list[tuple[str, float, float, float, int]]:
    """(label, precision, recall, f1, support): entity types from the report, or per tag for a tag layer."""
    if "per_type" in report:
        return [(name, row["precision"], row["recall"], row["f1"], row["support"])
                for name, row in report["per_type"].items()]
    gold_counts, pred_counts, correct = Counter(), Counter(), Counter()
    for gold, pred in zip(golds, predicted):
        for g, p in zip(gold, pred):
            gold_counts[g] += 1
            pred_counts[p] += 1
            correct[g] += g == p
    rows = []
    for label, support in gold_counts.most_common():
        precision = correct[label] / pred_counts[label] if pred_counts[label] else 0.0
        recall = correct[label] / support
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append((label, precision, recall, f1, support))
    return rows


def _oov(tokens, golds, predicted, known) -> dict:
    counts = {"in vocabulary": [0, 0], "out of vocabulary": [0, 0]}
    for words, gold, pred in zip(tokens, golds, predicted):
        for word, g, p in zip(words, gold, pred):
            bucket = counts["in vocabulary" if known(word) else "out of vocabulary"]
            bucket[0] += g == p
            bucket[1] += 1
    return {name: (right / total if total else None, total) for name, (right, total) in counts.items()}


def _confusion(golds, predicted, scheme: L.Scheme) -> dict:
    """Tag layers: the most frequent (gold, predicted) confusions. Span layers: per gold type, how its spans fared
    (correct, wrong type, wrong boundaries, missed), which types were taken for which, and spurious spans."""
    if scheme not in L.SPAN_SCHEMES:
        pairs = Counter((g, p) for gold, pred in zip(golds, predicted) for g, p in zip(gold, pred) if g != p)
        return {"pairs": pairs.most_common(20)}
    fate: dict[str, Counter] = {}
    types, spurious = Counter(), 0
    for gold, pred in zip(golds, predicted):
        gold_spans, pred_spans = L.to_spans(gold, scheme), L.to_spans(pred, scheme)
        by_bounds = {(s.start, s.end): s.label for s in pred_spans}
        for span in gold_spans:
            found = by_bounds.get((span.start, span.end))
            if found == span.label:
                outcome = "correct"
            elif found is not None:
                outcome = "wrong type"
                types[(span.label, found)] += 1
            elif any(p.start < span.end and span.start < p.end for p in pred_spans):
                outcome = "wrong boundaries"
            else:
                outcome = "missed"
            fate.setdefault(span.label, Counter())[outcome] += 1
        spurious += sum(not any(g.start < p.end and p.start < g.end for g in gold_spans) for p in pred_spans)
    return {"fate": fate, "types": types.most_common(20), "spurious": spurious}


def _by_length(golds, predicted, scheme: L.Scheme) -> list[tuple[str, int, float | None]]:
    from seqtag.data.evaluation import score

    rows = []
    for low, high in LENGTHS:
        chosen = [i for i, gold in enumerate(golds) if len(gold) >= low and (high is None or len(gold) <= high)]
        name = f"{low}-{high}" if high else f"{low}+"
        if not chosen:
            rows.append((name, 0, None))
            continue
        result = score([golds[i] for i in chosen], [predicted[i] for i in chosen], scheme)
        rows.append((name, len(chosen), result[result["metric"]]))
    return rows


def _worst(tokens, golds, predicted, scheme: L.Scheme) -> list[tuple[int, list[str], list[str], list[str]]]:
    wrong = [(sum(g != p for g, p in zip(gold, pred)), i) for i, (gold, pred) in enumerate(zip(golds, predicted))]
    chosen = sorted((w for w in wrong if w[0]), key=lambda item: (-item[0], item[1]))[:WORST]
    return [(count, tokens[i], golds[i], predicted[i]) for count, i in chosen]


# ---------------------------------------------------------------------------------------------------- page


def build_report(analyses: list[dict], bootstrap: int = 0) -> str:
    """The HTML page for one or more analysed models, each section side by side across models; with `bootstrap`
    resamples, each score's 95% interval and the paired test of the best model against each other one scored on
    the same data."""
    names = figures.short_names([a["path"] for a in analyses])
    for k, (a, name) in enumerate(zip(analyses, names)):
        a["name"], a["colour"] = name, figures.MODEL_COLOURS[k % len(figures.MODEL_COLOURS)]
    if bootstrap:
        _intervals(analyses, bootstrap)
    sections = [
        ("Model card", _cards(analyses)),
        ("Training", _training(analyses)),
        ("Scores per label", _labels(analyses)),
        ("Known and unknown words", _vocabulary(analyses)),
        ("Confusions", "".join(_confusions(a) for a in analyses)),
        ("Score by sentence length", _lengths(analyses)),
        (f"Worst errors (up to {WORST} sentences per model)", ERRORS_KEY + "".join(_errors(a) for a in analyses)),
    ]
    tested = ["95% interval", "against the best"] if bootstrap else []
    summary = figures.table(["model", "kind", "data scored", "metric", "score", *tested],
                     [[a["name"], a["kind"], Path(a["gold"]).name + (IN_SAMPLE if a["in_sample"] else ""),
                       a["report"]["metric"],
                       figures.pct(a["report"][a["report"]["metric"]]), *(tested_cells(a["row"]) if bootstrap else [])]
                      for a in analyses], "Summary")
    figure = _scores(analyses) if bootstrap else ""
    return figures.page(f"seqtag report: {', '.join(names)}", figures.figure(figure, summary) + "".join(
        f'<section><h2>{html.escape(title)}</h2>{body}</section>' for title, body in sections))


def _intervals(analyses: list[dict], samples: int) -> None:
    """Each model's interval, and the paired test of the best against every other model scored on the same file."""
    from seqtag.data.bootstrap import interval, paired

    for a in analyses:
        metric = a["report"]["metric"]
        a["row"] = {"model": a["name"], "score": a["report"][metric],
                    "interval": interval(a["counts"], a["scheme"], samples)}
    for gold in {a["gold"] for a in analyses}:
        same = [a for a in analyses if a["gold"] == gold and len(a["counts"]) == len(analyses[0]["counts"])]
        best = max(same, key=lambda a: a["row"]["score"])
        for a in same:
            if a is not best:
                a["row"]["against_best"] = {"model": best["name"], **paired(best["counts"], a["counts"],
                                                                            a["scheme"], samples)}


def _scores(analyses: list[dict]) -> str:
    """Each model's score as a point with its 95% interval, in the model's colour."""
    plt = figures.pyplot()
    fig, axis = plt.subplots(figsize=(7, 0.45 * len(analyses) + 1.4))
    for k, a in enumerate(analyses):
        value, low, high = (100 * a["row"][key] if key == "score" else 100 * a["row"]["interval"][key]
                            for key in ("score", "low", "high"))
        # (a percentile interval need not hold the full-set value: its arms are never drawn below zero)
        axis.errorbar([value], [k], xerr=[[max(0.0, value - low)], [max(0.0, high - value)]], fmt="o",
                      color=a["colour"], capsize=4)
        axis.annotate(f"{value:.2f} ({low:.2f}-{high:.2f})", (high, k), xytext=(6, 0), textcoords="offset points",
                      va="center", fontsize=8)
    metric = analyses[0]["report"]["metric"]
    axis.set_yticks(range(len(analyses)), [a["name"] for a in analyses])
    axis.invert_yaxis()
    axis.set(title=f"{metric} with its 95% interval", xlabel=f"{metric} score (%)")
    axis.margins(x=0.35, y=0.3)
    return figures.svg(fig, f"{metric} of each model with its 95% bootstrap interval")


def _cards(analyses: list[dict]) -> str:
    blocks = []
    for a in analyses:
        d = a["document"]
        training = d.get("training", {})
        rows = [("kind", d["kind"]), ("layer", f"{d['layer']} ({d['scheme']})"), ("labels", " ".join(d["labels"]))]
        rows += [(f"config {k}", json.dumps(v)) for k, v in resolved_config(d).items()]
        rows += [(f"{role} data", f"{r['path']} ({r['sentences']:,} sentences, {r['tokens']:,} tokens)")
                 for role, r in training.get("data", {}).items()]
        vectors = training.get("vectors")
        if vectors:
            rows.append(("word vectors", f"{vectors['source']}: {vectors['words']:,} words, {vectors['dim']} dimensions"))
            rows += [(f"vectors cover {role}", text) for role, text in coverage_lines(vectors)]
        rows += [(k.replace("_", " "), str(training[k])) for k in ("epochs", "best_epoch", "stopped", "date")
                 if k in training]
        rows += [(f"{figure_name(name, r)} {r['metric']}", figures.pct(r[r["metric"]]))
                 for name, r in d.get("metrics", {}).items()]
        rows.append(("versions", f"seqtag {d['seqtag_version']}, torch {d.get('torch_version')}"))
        blocks.append(figures.table(["", ""], rows, a["name"]))
    return f'<div class="row">{"".join(blocks)}</div>'


def _training(analyses: list[dict]) -> str:
    curved = [a for a in analyses if a["curve"]]
    flat = [a["name"] for a in analyses if not a["curve"]]
    note = (f"<p>{html.escape(', '.join(flat))}: no training curve (only BiLSTM training logs each epoch).</p>"
            if flat else "")
    if not curved:
        return note
    plt = figures.pyplot()
    fig, (loss_axis, dev_axis) = plt.subplots(1, 2, figsize=(10, 3.6))
    rows = []
    for a in curved:
        colour = a["colour"]
        epochs = [r["epoch"] for r in a["curve"]]
        loss_axis.plot(epochs, [r["loss"] for r in a["curve"]], marker="o", color=colour, label=a["name"])
        scores = [100 * r["dev_score"] if "dev" in r else None for r in a["curve"]]
        if any(s is not None for s in scores):
            dev_axis.plot(epochs, scores, marker="o", color=colour, label=a["name"])
        best = a["curve"][-1]["best_epoch"]
        for axis in (loss_axis, dev_axis):
            axis.axvline(best, color=colour, linestyle="--", linewidth=1)
        rows += [[a["name"], r["epoch"], f"{r['loss']:.3f}", figures.pct(r.get("dev_score") if "dev" in r else None),
                  "kept" if r["epoch"] == best else ""] for r in a["curve"]]
    from matplotlib.ticker import MaxNLocator

    for axis in (loss_axis, dev_axis):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_axis.set(title="Training loss per epoch", xlabel="epoch", ylabel="loss (mean per sentence)")
    dev_axis.set(title="Dev score per epoch (dashed: the epoch kept)", xlabel="epoch", ylabel="dev score (%)")
    figures.legend(dev_axis)
    svg = figures.svg(fig, "training loss and dev score per epoch; dashed lines mark the epoch kept")
    return note + figures.figure(svg, figures.table(["model", "epoch", "loss", "dev score (%)", ""], rows, "Training curve"))


def _grouped_bars(title: str, xlabel: str, ylabel: str, categories: list[str], series: list[tuple[dict, list[float | None]]],
                  description: str) -> str:
    """One bar per category and model (in the model's colour), each with its value written on it."""
    plt = figures.pyplot()
    fig, axis = plt.subplots(figsize=(max(6, 0.6 * len(categories) * len(series) + 2), 3.6))
    width = 0.8 / max(len(series), 1)
    for k, (a, values) in enumerate(series):
        bars = axis.bar([i + k * width for i in range(len(categories))], [100 * (v or 0) for v in values], width,
                        label=a["name"], color=a["colour"])
        axis.bar_label(bars, ["-" if v is None else f"{100 * v:.1f}" for v in values], fontsize=7, padding=1,
                       rotation=90 if len(categories) * len(series) > 12 else 0)
    axis.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(categories))], categories,
                    rotation=45 if len(categories) > 8 else 0, ha="right" if len(categories) > 8 else "center")
    axis.set(title=title, xlabel=xlabel, ylabel=ylabel)
    figures.fit(axis, [100 * v for _, values in series for v in values if v is not None])
    if len(series) > 1:
        figures.legend(axis)
    return figures.svg(fig, description)


def _labels(analyses: list[dict]) -> str:
    spans = "per_type" in analyses[0]["report"]
    what = "entity type" if spans else "tag"
    categories = [row[0] for row in analyses[0]["per_label"]][:45]
    series = []
    for a in analyses:
        by_label = {row[0]: row for row in a["per_label"]}
        series.append((a, [by_label[c][3] if c in by_label else None for c in categories]))
    svg = _grouped_bars(f"F1 per {what}", what, "F1 score (%)", categories, series, f"F1 per {what} and model")
    rows = [[a["name"], label, figures.pct(p), figures.pct(r), figures.pct(f), f"{n:,}"] for a in analyses for label, p, r, f, n in
            a["per_label"]]
    return figures.figure(svg, figures.table(["model", what, "precision", "recall", "f1", "support"], rows, f"Scores per {what}"))


def _vocabulary(analyses: list[dict]) -> str:
    categories = ["in vocabulary", "out of vocabulary"]
    series = [(a, [a["oov"][c][0] for c in categories]) for a in analyses]
    svg = _grouped_bars("Token accuracy on words seen and not seen in training", "words", "token accuracy (%)",
                        categories,
                        series, "token accuracy on in-vocabulary and out-of-vocabulary words")
    rows = [[a["name"], c, figures.pct(a["oov"][c][0]), f"{a['oov'][c][1]:,}"] for a in analyses for c in categories]
    return figures.figure(svg, figures.table(["model", "words", "token accuracy (%)", "tokens"], rows, "In and out of vocabulary"))


def _confusions(a: dict) -> str:
    confusion = a["confusion"]
    if "pairs" in confusion:
        rows = [[gold, pred, f"{n:,}"] for (gold, pred), n in confusion["pairs"]]
        table = figures.table(["gold tag", "predicted tag", "tokens"], rows, f"{a['name']}: most frequent tag confusions")
        return figures.figure(_tag_matrix(a["name"], confusion["pairs"]), table) if rows else table
    outcomes = list(figures.OUTCOME_COLOURS)
    types = sorted(confusion["fate"])
    plt = figures.pyplot()
    fig, axis = plt.subplots(figsize=(max(5, 0.8 * len(types) + 2), 3.6))
    bottom = [0] * len(types)
    for outcome, colour in figures.OUTCOME_COLOURS.items():
        values = [confusion["fate"][t][outcome] for t in types]
        axis.bar(types, values, bottom=bottom, label=outcome, color=colour, edgecolor="white", linewidth=0.5)
        bottom = [b + v for b, v in zip(bottom, values)]
    axis.set(title=f"What became of each gold span: {a['name']}", xlabel="gold type", ylabel="gold spans")
    axis.bar_label(axis.containers[-1], [f"{b:,}" for b in bottom], fontsize=7, padding=1)  # spans per type
    figures.legend(axis)
    svg = figures.svg(fig, f"outcome of the gold spans of each type for {a['name']}")
    rows = [[t, *(f"{confusion['fate'][t][o]:,}" for o in outcomes)] for t in types]
    table = figures.table(["gold type", *outcomes], rows, f"{a['name']}: gold spans (spurious predicted spans: "
                   f"{confusion['spurious']:,})")
    swapped = figures.table(["gold type", "predicted as", "spans"], [[g, p, n] for (g, p), n in confusion["types"]],
                     f"{a['name']}: type confusions (same boundaries)")
    return figures.figure(svg, table + swapped)


def _tag_matrix(name: str, pairs: list[tuple[tuple[str, str], int]]) -> str:
    """The confusions among the tags most often involved in one (at most 15, so 45 PTB tags stay readable)."""
    involvement = Counter()
    for (gold, pred), n in pairs:
        involvement[gold] += n
        involvement[pred] += n
    tags = sorted(t for t, _ in involvement.most_common(15))
    counts = dict(pairs)
    matrix = [[counts.get((g, p), 0) for p in tags] for g in tags]
    plt = figures.pyplot()
    fig, axis = plt.subplots(figsize=(0.45 * len(tags) + 2.5, 0.45 * len(tags) + 2))
    axis.imshow(matrix, cmap="Blues")
    for i, row in enumerate(matrix):
        for j, n in enumerate(row):
            if n:
                axis.text(j, i, str(n), ha="center", va="center", fontsize=7,
                          color="white" if n > max(map(max, matrix)) / 2 else "black")
    axis.set_xticks(range(len(tags)), tags, rotation=90)
    axis.set_yticks(range(len(tags)), tags)
    axis.set(title=f"Tag confusions: {name}", xlabel="predicted tag", ylabel="gold tag")
    return figures.svg(fig, f"matrix of the most frequent tag confusions for {name}")


def _lengths(analyses: list[dict]) -> str:
    categories = [row[0] for row in analyses[0]["by_length"]]
    metric = analyses[0]["report"]["metric"]
    series = [(a, [row[2] for row in a["by_length"]]) for a in analyses]
    svg = _grouped_bars(f"{metric} by sentence length", "sentence length (tokens)", f"{metric} (percent)", categories,
                        series,
                        f"{metric} by sentence length in tokens")
    rows = [[a["name"], name, f"{n:,}", figures.pct(value)] for a in analyses for name, n, value in a["by_length"]]
    return figures.figure(svg, figures.table(["model", "length (tokens)", "sentences", f"{metric} (%)"], rows,
                               "Score by sentence length"))


def _marked(tokens: list[str], tags: list[str], scheme: L.Scheme, other: list[str]) -> str:
    """A sentence with its spans (span layers) or its tags (tag layers) marked; what differs from `other` stands
    out."""
    if scheme not in L.ENTITY_SCHEMES:
        return " ".join(html.escape(t) + (f'<sub class="{"bad" if tag != o else ""}">{html.escape(tag)}</sub>')
                        for t, tag, o in zip(tokens, tags, other))
    pieces, i = [], 0
    theirs = {(s.start, s.end, s.label) for s in L.to_spans(other, scheme)}
    for span in L.to_spans(tags, scheme):
        pieces += [html.escape(t) for t in tokens[i:span.start]]
        wrong = "" if (span.start, span.end, span.label) in theirs else " bad"
        text = html.escape(" ".join(tokens[span.start:span.end]))
        pieces.append(f'<mark class="span{wrong}">{text}<sub>{html.escape(span.label)}</sub></mark>')
        i = span.end
    pieces += [html.escape(t) for t in tokens[i:]]
    return " ".join(pieces)


ERRORS_KEY = ('<p class="count">Each sentence twice: the gold labels, then the model\'s. <mark class="span">span'
              '<sub>TYPE</sub></mark> is in both; <mark class="span bad">span<sub>TYPE</sub></mark> is in this line '
              'only; a tag in <sub class="bad">this colour</sub> differs from the other line\'s.</p>')


def _errors(a: dict) -> str:
    if not a["errors"]:
        return f"<p>{html.escape(a['name'])}: no errors on {html.escape(a['gold'])}.</p>"
    items = "".join(f'<li><span class="count">{n} token(s) wrong</span><div>gold: {_marked(t, g, a["scheme"], p)}'
                    f'</div><div>predicted: {_marked(t, p, a["scheme"], g)}</div></li>' for n, t, g, p in a["errors"])
    return f'<h3>{html.escape(a["name"])}</h3><ol class="errors">{items}</ol>'


# ---------------------------------------------------------------------------------------------------- compare


def comparison_page(rows: list[dict], title: str) -> str:
    """`compare --html`: the scores side by side, or with a learning curve, score against training tokens."""
    from seqtag.report.compare import comparison_cells

    header, cells = comparison_cells(rows)
    table = figures.table(header, cells, "Every point, with training time and tagging speed")
    return figures.page(title, figures.figure(comparison_figure(rows), table))


def comparison_figure(rows: list[dict]) -> str:
    """The figure of `compare` rows as SVG: test score per model (with intervals where the rows have them), or,
    for a learning curve, test score against training tokens."""
    curve = bool(rows) and "fraction" in rows[0]
    metric = rows[0]["metric"] if rows else "score"
    plt = figures.pyplot()
    fig, axis = plt.subplots(figsize=(7, 4))
    models = list(dict.fromkeys(r["model"] for r in rows))
    colours = {model: figures.MODEL_COLOURS[k % len(figures.MODEL_COLOURS)] for k, model in enumerate(models)}
    if curve:
        from matplotlib.ticker import FuncFormatter

        for model in models:
            points = [r for r in rows if r["model"] == model]
            axis.plot([r["train_tokens"] for r in points], [100 * r["score"] for r in points], marker="o",
                      color=colours[model], label=model)
        axis.set(xscale="log", title=f"Test {metric} against training set size", xlabel="training tokens (log scale)",
                 ylabel=f"test {metric} (%)")
        plain = FuncFormatter(lambda x, _: f"{x:,.0f}")
        axis.xaxis.set_major_formatter(plain)
        axis.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}" if f"{x:.0e}"[0] in "25" else ""))
        figures.legend(axis)
    else:
        scores = [100 * r["score"] for r in rows]
        if "interval" in rows[0]:  # points with their intervals: a bar would start at an arbitrary axis floor
            lows, highs = ([100 * r["interval"][k] for r in rows] for k in ("low", "high"))
            for k, (model, value, low, high) in enumerate(zip(models, scores, lows, highs)):
                axis.errorbar([k], [value], yerr=[[value - low], [high - value]], fmt="o", color=colours[model],
                              capsize=5)
                axis.annotate(f"{value:.2f}", (k, value), xytext=(8, 0), textcoords="offset points", va="center")
            axis.set_xticks(range(len(models)), models)
            axis.margins(x=0.3)
            figures.fit(axis, lows + highs)
        else:
            bars = axis.bar(models, scores, color=[colours[m] for m in models])
            axis.bar_label(bars, [f"{v:.2f}" for v in scores], fontsize=8, padding=2)
            figures.fit(axis, scores)
        axis.set(title=f"Test {metric} per model" + (" with 95% intervals" if "interval" in rows[0] else ""),
                 xlabel="model", ylabel=f"test {metric} (%)")
    return figures.svg(fig, f"test {metric} " + ("against training tokens per model" if curve else "per model"))


def write_comparison(path: Path, rows: list[dict], title: str) -> None:
    from seqtag.outputs import atomic_output, mark

    page = comparison_page(rows, title)
    with atomic_output(path) as f:
        f.write(page.replace("\n", f"\n<!-- {mark('compare')} -->\n", 1))  # after the doctype


def write_report(path: Path, analyses: list[dict], bootstrap: int = 0) -> None:
    from seqtag.outputs import atomic_output, mark

    page = build_report(analyses, bootstrap)
    with atomic_output(path) as f:
        f.write(page.replace("\n", f"\n<!-- {mark('report')} -->\n", 1))  # after the doctype
