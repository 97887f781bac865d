"""Does `--init` help? CoNLL-2000 POS (PTB tags) trained on 1%, 5%, 10% and 25% of its training data, from scratch,
from scratch with the GloVe vectors en-pos has, and from en-pos (UPOS on EWT: every output row is new, the encoder
and vocabulary are en-pos's); test.txt scored once per model.

    python benchmarks/init_curve.py [--corpora DIR] [--work DIR] [--seed 1] [--fractions 0.01,0.05,0.1,0.25]

The subsets are prefixes of one shuffled order of train.txt (the seed's), so a larger one holds the smaller.
No dev set in any arm: each keeps the epoch of lowest training loss, as seqtag does without dev data.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARMS = {"scratch": [], "scratch + GloVe": ["--embeddings", "glove-6b-50d"], "--init en-pos": ["--init", "en-pos"]}


def sentences(path: Path) -> list[str]:
    return [block for block in path.read_text("utf-8").split("\n\n") if block.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "init_curve")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fractions", default="0.01,0.05,0.1,0.25")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    train = sentences(args.corpora / "conll2000" / "train.txt")
    random.Random(args.seed).shuffle(train)
    test = args.corpora / "conll2000" / "test.txt"
    for fraction in (float(f) for f in args.fractions.split(",")):
        subset = args.work / f"train-{fraction:g}.txt"
        subset.write_text("\n\n".join(train[:round(fraction * len(train))]) + "\n", "utf-8")
        for arm, extra in ARMS.items():
            output = args.work / f"{arm.replace(' ', '').replace('+', '-').strip('-')}-{fraction:g}"
            started = time.perf_counter()
            subprocess.run(["seqtag", "train", "--train", str(subset), "--test", str(test), "--columns",
                            "word,pos,chunk", "--layer", "pos", "--seed", str(args.seed), "-o", str(output),
                            "--overwrite", *extra], check=True, capture_output=True)
            metrics = json.loads((output / "model.json").read_text("utf-8"))["metrics"]["test"]
            print(json.dumps({"fraction": fraction, "sentences": round(fraction * len(train)), "arm": arm,
                              "test_accuracy": round(100 * metrics["accuracy"], 2),
                              "test_oov_accuracy": round(100 * metrics["oov_accuracy"], 2),
                              "seconds": round(time.perf_counter() - started)}), flush=True)


if __name__ == "__main__":
    main()
