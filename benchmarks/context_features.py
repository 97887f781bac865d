"""The context layer's features, chosen on dev alone: a trained NER model's network is frozen, the layer refitted
per feature variant on one half of the dev documents and scored on the other (both ways, averaged), the scored half
tagged whole or in chunks of sentences, as `seqtag tag` pools one window at a time.

    python benchmarks/context_features.py models/ner ../shared/corpora/conll2003/eng.testa

The table of variants in docs/experiments.md (The context layer) comes from this script.
"""

from __future__ import annotations

import argparse

import numpy as np

from seqtag.models import context
from seqtag.api import read_corpus
from seqtag.data.corpus import Corpus
from seqtag.data.evaluation import score_tagger
from seqtag.models.loading import load_model
from seqtag.training.loop import _fit_context, _halves, _scored_batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a BiLSTM NER model directory with a context layer")
    parser.add_argument("dev", help="its dev file (CoNLL-2003 columns: word pos chunk ner)")
    parser.add_argument("--chunks", default="200,20", help="chunk sizes in sentences, comma-separated")
    args = parser.parse_args()
    tagger = load_model(args.model)
    dev = read_corpus(args.dev, columns=["word", "pos", "chunk", "ner"], layer="ner")
    sentences = [s for s in dev if len(s)]
    halves = _halves(sentences)
    types = int(tagger.context_types.max()) + 1
    document_count, corpus_count = types + 1, 2 * types + 3  # columns: (mean, has, count) by document, by corpus
    variants = {"mean + has-other + both counts": [], "without either count": [document_count, corpus_count],
                "count within the document only": [corpus_count], "count over all sentences only": [document_count]}
    sizes = [None] + [int(k) for k in args.chunks.split(",")]
    batches = {k: [[_scored_batches(tagger, sentences, h)] if k is None else
                   [_scored_batches(tagger, sentences, h[i:i + k]) for i in range(0, len(h), k)] for h in halves]
               for k in sizes}

    def score(half: int, size, with_layer: bool) -> float:
        predicted = {}
        for part in batches[size][half]:
            for indices, batch, e in tagger.add_context(sentences, part) if with_layer else part:
                for i, path in zip(indices, tagger.network.decode_emissions(e, batch["mask"])):
                    predicted[i] = tagger.tags_of(path)
        check = Corpus([sentences[i] for i in halves[half]], dev.layers, dev.schemes, dev.source)
        report = score_tagger(tagger, check, predicted=[predicted[i] for i in halves[half]])
        return report[report["metric"]]

    names = ["whole" if k is None else f"chunks of {k}" for k in sizes]
    print(f"{'dev halves, ' + dev.layers[-1] + ' F1':34s}" + "".join(f"{n:>16s}" for n in names))
    alone = [np.mean([score(h, k, False) for h in (0, 1)]) for k in sizes]
    print(f"{'network alone':34s}" + "".join(f"{100 * v:16.2f}" for v in alone), flush=True)
    original = context.features
    for name, zeroed in variants.items():
        def features(*arguments, zeroed=zeroed):
            rows = original(*arguments[:3], True)  # every column, then the variant's zeroed
            for row in rows:
                row[:, zeroed] = 0.0
            return rows

        context.features = features
        scores = {k: [] for k in sizes}
        for fit_on, check_on in ((0, 1), (1, 0)):
            _fit_context(tagger, sentences, batches[None][fit_on][0])
            for k in sizes:
                scores[k].append(score(check_on, k, True))
        print(f"{name:34s}" + "".join(f"{100 * np.mean(scores[k]):16.2f}" for k in sizes), flush=True)
    context.features = original


if __name__ == "__main__":
    main()
