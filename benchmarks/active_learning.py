"""Active learning on CoNLL-2003 NER, measured: each strategy of `seqtag select` against random sampling.

For each seed: a random seed set of 1% of eng.train's sentences; a model trained on it; then, per strategy, the
sentences chosen by the last model's ranking (seqtag.runtime.selection.select, the same code as `seqtag select`)
are added with their gold labels until 2%, 4%, 7% and 10% of the training sentences, retraining from scratch at each
point. Every model is scored once on eng.testb. The pool is the rest of eng.train; gold labels play the annotator.

The recipe is the same for every strategy and point, and cheaper than the default, for 63 trainings on 2 cores:
GloVe 6B 50d, the character CNN, each sentence alone (--document-window 0: chosen sentences have no neighbours),
at most 20 epochs, early stopping on a fixed random 500 sentences of eng.testa, no context layer (fitting it on dev
takes minutes a model).

    python benchmarks/active_learning.py --out results.jsonl     # resumable: points already in the file are kept
    python benchmarks/active_learning.py --out results.jsonl --draw docs/active_learning.png
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "conll2003"
COLUMNS = ["word", "pos", "chunk", "ner"]
POINTS = (0.01, 0.02, 0.04, 0.07, 0.10)
STRATEGIES = ("random", "least-confidence", "margin", "entropy", "mnlp")
RECIPE = {"embeddings": "glove-6b-50d", "char_encoder": "cnn", "document_window": 0, "max_epochs": 20}
NO_CONTEXT = "[model]\ncontext = false\n"  # a TOML-only setting
DEV_SENTENCES = 500


def write(sentences, path: Path, layers, schemes) -> None:
    import seqtag
    from seqtag.data.corpus import Corpus

    seqtag.write(Corpus([replace(s, document=None) for s in sentences], layers, schemes), path, format="conll",
                 overwrite=True)


def run(out: Path, seeds: list[int], strategies: list[str]) -> None:
    import seqtag
    from seqtag.runtime.selection import select

    train = seqtag.read(CORPORA / "eng.train", columns=COLUMNS)
    dev = seqtag.read(CORPORA / "eng.testa", columns=COLUMNS)
    test = seqtag.read(CORPORA / "eng.testb", columns=COLUMNS)
    pool = train.sentences
    done = {(r["seed"], r["strategy"], r["point"]) for r in map(json.loads, out.open())} if out.exists() else set()
    work = Path(tempfile.mkdtemp(prefix="active-learning-"))
    write(random.Random(0).sample(dev.sentences, DEV_SENTENCES), work / "dev.txt", dev.layers, dev.schemes)
    (work / "recipe.toml").write_text(NO_CONTEXT)

    def fit(seed: int, chosen: list[int], strategy: str, point: float):
        write([pool[i] for i in chosen], work / "train.txt", train.layers, train.schemes)
        started = time.perf_counter()
        model = seqtag.train(work / "train.txt", work / "dev.txt", columns=COLUMNS, layer="ner", seed=seed,
                             config_file=work / "recipe.toml", **RECIPE)
        seconds = time.perf_counter() - started
        if (seed, strategy, point) not in done:
            f1 = model.evaluate(test)["f1"]
            record = {"seed": seed, "strategy": strategy, "point": point, "sentences": len(chosen),
                      "tokens": sum(len(pool[i]) for i in chosen), "test_f1": round(100 * f1, 2),
                      "train_seconds": round(seconds, 1)}
            with out.open("a") as file:
                file.write(json.dumps(record) + "\n")
            print(json.dumps(record), flush=True)
        return model

    for seed in seeds:
        first = random.Random(seed).sample(range(len(pool)), round(POINTS[0] * len(pool)))
        start_model = None
        for strategy in strategies:
            if all((seed, strategy, p) in done for p in POINTS):
                continue
            chosen = list(first)
            start_model = start_model or fit(seed, chosen, "seed set", POINTS[0])
            model = start_model
            for point in POINTS[1:]:
                units = ((list(pool[i].tokens), None, None, None, {}, (i, 0)) for i in range(len(pool)))
                picked = select(model.predictor, units, round(point * len(pool)) - len(chosen), strategy, seed,
                                annotated=[pool[i].tokens for i in chosen])
                chosen += [tagged.where[0] for _, tagged in picked]
                model = fit(seed, chosen, strategy, point)


def draw(out: Path, figure: Path) -> None:
    """Test F1 against the sentences chosen and against the tokens they hold (what annotating them costs)."""
    import statistics

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in out.open()]
    fig, (by_sentences, by_tokens) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for strategy in STRATEGIES:
        found = {p: [r for r in records if r["point"] == p and r["strategy"] in (strategy, "seed set")
                     and (p == POINTS[0]) == (r["strategy"] == "seed set")] for p in POINTS}
        points = [p for p in POINTS if found[p]]
        f1 = [[r["test_f1"] for r in found[p]] for p in points]
        means = [statistics.mean(v) for v in f1]
        spreads = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in f1]
        tokens = [statistics.mean(r["tokens"] for r in found[p]) for p in points]
        for p, mean, spread, values, count in zip(points, means, spreads, f1, tokens):
            print(f"{strategy:17} {100 * p:4.0f}%  F1 {mean:.2f} ± {spread:.2f}  tokens {count:,.0f}  "
                  f"(seeds: {len(values)})")
        style = {"marker": "o", "capsize": 3, "label": strategy, "linestyle": "--" if strategy == "random" else "-"}
        by_sentences.errorbar([100 * p for p in points], means, yerr=spreads, **style)
        by_tokens.errorbar(tokens, means, yerr=spreads, **style)
    by_sentences.set_xlabel("training sentences chosen (% of eng.train's 14,041)")
    by_tokens.set_xlabel("tokens in the chosen sentences (what annotating costs)")
    by_sentences.set_ylabel("eng.testb F1 (mean and sd over seeds)")
    by_tokens.legend(frameon=False, loc="lower right")
    for ax in (by_sentences, by_tokens):
        ax.grid(alpha=0.3)
    fig.suptitle("Active learning on CoNLL-2003 NER: each strategy of seqtag select against random")
    fig.tight_layout()
    fig.savefig(figure, dpi=110)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--draw", type=Path, help="draw the curves from --out into this image instead of running")
    arguments = parser.parse_args()
    if arguments.draw:
        draw(arguments.out, arguments.draw)
    else:
        run(arguments.out, arguments.seeds, arguments.strategies)
