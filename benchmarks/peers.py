"""seqtag against its peers, on the same inputs, on this machine, as ratios (run through benchmarks/run.sh).

Tasks: NER on CoNLL-2003 (train eng.train, tag eng.testb four times over) and POS on CoNLL-2000 (train train.txt,
tag test.txt four times over), pre-tokenized, one sentence per line. Every tagger runs as a whole process that reads
the tokens on stdin and writes a token and its label per line, so start-up and input/output count for all alike;
the figure is the median of --runs runs.

Peers: spaCy (a blank English pipeline with its default `ner` or `tagger` component, the CNN tok2vec of its small
models), NLTK's averaged perceptron POS tagger, and sklearn-crfsuite (a CRF over the usual word features). The
BiLSTMs (seqtag's and spaCy's) are trained for --epochs epochs here: tagging speed does not depend on how long a
network was trained, and their accuracies at full training are in the README; the other models train fully.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

TASKS = {
    "ner": {"train": "conll2003/eng.train", "dev": "conll2003/eng.testa", "test": "conll2003/eng.testb",
            "columns": ["word", "pos", "chunk", "ner"]},
    "pos": {"train": "conll2000/train.txt", "dev": None, "test": "conll2000/test.txt",
            "columns": ["word", "pos", "chunk"]},
}


def read_conll(path: Path, columns: list[str], layer: str) -> list[tuple[list[str], list[str]]]:
    sentences, tokens, labels = [], [], []
    for line in path.read_text("utf-8").splitlines() + [""]:
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if tokens:
                sentences.append((tokens, labels))
            tokens, labels = [], []
            continue
        tokens.append(fields[0])
        labels.append(fields[columns.index(layer)])
    return sentences


def iob2(labels: list[str]) -> list[str]:
    """IOB1 (an entity starts with I- unless it follows one of its type) as IOB2, for spaCy and seqeval alike."""
    out, previous = [], "O"
    for label in labels:
        if label.startswith("I-") and previous[2:] != label[2:]:
            label = "B-" + label[2:]
        out.append(label)
        previous = label
    return out


def timed(command: list[str], stdin: Path, runs: int) -> float:
    """Median wall seconds of a whole process reading `stdin`, its output thrown away."""
    seconds = []
    for _ in range(runs):
        with open(stdin, "rb") as source:
            started = time.perf_counter()
            subprocess.run(command, stdin=source, stdout=subprocess.DEVNULL, check=True)
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


# ------------------------------------------------------------------------------------------------ peers' taggers
# Each runs as `python -c CODE MODEL`: tokens on stdin, a sentence per line; `token<TAB>label` lines out.

SPACY_TAG = """
import sys, spacy
from spacy.tokens import Doc
nlp = spacy.load(sys.argv[1])
out = sys.stdout
docs = (Doc(nlp.vocab, words=line.split()) for line in sys.stdin if line.strip())
attribute = "tag_" if "tagger" in nlp.pipe_names else None
for doc in nlp.pipe(docs, batch_size=1000):
    if attribute:
        out.write("".join(t.text + "\\t" + t.tag_ + "\\n" for t in doc) + "\\n")
    else:
        out.write("".join(t.text + "\\t" + (t.ent_iob_ + "-" + t.ent_type_ if t.ent_type_ else "O") + "\\n"
                          for t in doc) + "\\n")
"""

NLTK_TAG = """
import pickle, sys
tagger = pickle.load(open(sys.argv[1], "rb"))
out = sys.stdout
for line in sys.stdin:
    tokens = line.split()
    if tokens:
        out.write("".join(w + "\\t" + t + "\\n" for w, t in tagger.tag(tokens)) + "\\n")
"""

CRF_TAG = """
import pickle, sys
sys.path.insert(0, sys.argv[2])
from peers import crf_features
crf = pickle.load(open(sys.argv[1], "rb"))
out = sys.stdout
sentences = [line.split() for line in sys.stdin if line.strip()]
for start in range(0, len(sentences), 1000):
    chunk = sentences[start:start + 1000]
    for tokens, labels in zip(chunk, crf.predict([crf_features(s) for s in chunk])):
        out.write("".join(w + "\\t" + t + "\\n" for w, t in zip(tokens, labels)) + "\\n")
"""


def crf_features(tokens: list[str]) -> list[dict]:
    """The usual CRF word features (as in sklearn-crfsuite's CoNLL tutorial): the word's shape and affixes, and
    its neighbours'."""
    def word(w: str, prefix: str) -> dict:
        return {prefix + "lower": w.lower(), prefix + "suffix3": w[-3:], prefix + "suffix2": w[-2:],
                prefix + "upper": w.isupper(), prefix + "title": w.istitle(), prefix + "digit": w.isdigit()}
    features = []
    for i, w in enumerate(tokens):
        f = {"bias": 1.0, **word(w, "")}
        f.update(word(tokens[i - 1], "-1:") if i > 0 else {"BOS": True})
        f.update(word(tokens[i + 1], "+1:") if i + 1 < len(tokens) else {"EOS": True})
        features.append(f)
    return features


# ----------------------------------------------------------------------------------------------- training peers

def train_spacy(task: str, train, folder: Path, epochs: int) -> float:
    """A blank English pipeline with spaCy's default ner or tagger; returns training sentences per second."""
    import spacy
    from spacy.tokens import Doc
    from spacy.training import Example
    from spacy.util import minibatch

    nlp = spacy.blank("en")
    nlp.add_pipe("ner" if task == "ner" else "tagger")
    examples = []
    for tokens, labels in train:
        doc = Doc(nlp.vocab, words=tokens)
        gold = {"entities": spacy.training.iob_to_biluo(iob2(labels))} if task == "ner" else {"tags": labels}
        examples.append(Example.from_dict(doc, gold))
    optimizer = nlp.initialize(lambda: examples)
    random.seed(1)
    started = time.perf_counter()
    for _ in range(epochs):
        random.shuffle(examples)
        for batch in minibatch(examples, size=32):
            nlp.update(batch, sgd=optimizer, drop=0.1)
    rate = epochs * len(examples) / (time.perf_counter() - started)
    nlp.to_disk(folder)
    return rate


def train_nltk(train, path: Path, iterations: int = 5) -> float:
    from nltk.tag.perceptron import PerceptronTagger

    tagger = PerceptronTagger(load=False)
    started = time.perf_counter()
    tagger.train([list(zip(tokens, labels)) for tokens, labels in train], nr_iter=iterations)
    rate = iterations * len(train) / (time.perf_counter() - started)
    path.write_bytes(pickle.dumps(tagger))
    return rate


def train_crf(train, path: Path, iterations: int = 100) -> float:
    import sklearn_crfsuite

    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.1, max_iterations=iterations)
    started = time.perf_counter()
    crf.fit([crf_features(tokens) for tokens, _ in train], [labels for _, labels in train])
    done = len(crf.training_log_.iterations) if crf.training_log_ else iterations  # L-BFGS may stop early
    rate = done * len(train) / (time.perf_counter() - started)  # sentences per second per iteration
    path.write_bytes(pickle.dumps(crf))
    return rate


# --------------------------------------------------------------------------------------------------- the run

def score(task: str, command: list[str], test, work: Path) -> float:
    """Accuracy (POS) or seqeval F1 (NER, IOB2 on both sides) of a tagger's output on the test sentences."""
    tokens_file = work / f"{task}-test-once.txt"
    tokens_file.write_text("".join(" ".join(t) + "\n" for t, _ in test), "utf-8")
    with open(tokens_file, "rb") as source:
        output = subprocess.run(command, stdin=source, capture_output=True, check=True).stdout.decode()
    predicted = [[row.split("\t")[1] for row in block.splitlines()] for block in output.strip("\n").split("\n\n")]
    gold = [labels for _, labels in test]
    if task == "pos":
        pairs = [(p, g) for ps, gs in zip(predicted, gold) for p, g in zip(ps, gs)]
        return 100 * sum(p == g for p, g in pairs) / len(pairs)
    from seqeval.metrics import f1_score

    return 100 * f1_score([iob2(g) for g in gold], [iob2(p) for p in predicted])


def seqtag_train(seqtag: str, task: str, kind: str, files: dict, folder: Path, epochs: int,
                 embeddings: str | None = None) -> float | None:
    command = [seqtag, "train", "--model", kind, "--train", str(files["train"]), "--columns",
               ",".join(TASKS[task]["columns"]), "--layer", task, "-o", str(folder), "--overwrite"]
    if files["dev"]:
        command += ["--dev", str(files["dev"])]
    if kind == "bilstm":
        command += ["--max-epochs", str(epochs)] + (["--embeddings", embeddings] if embeddings else [])
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kind != "bilstm":
        return None
    log = (folder / "train_log.jsonl").read_text().splitlines()
    return statistics.median(json.loads(line)["sentences_per_s"] for line in log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seqtag", required=True, help="the seqtag command to measure")
    parser.add_argument("--corpora", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "corpora")
    parser.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / ".work")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1, help="training epochs of the BiLSTMs (speed, not accuracy)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--tasks", default=",".join(TASKS), help="which of ner,pos to run")
    parser.add_argument("--embeddings", help="seqtag's BiLSTM trained with these vectors (e.g. glove-6b-50d)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    here, python = str(Path(__file__).resolve().parent), sys.executable
    rows = []
    for task, spec in ((t, TASKS[t]) for t in args.tasks.split(",")):
        files = {k: (args.corpora / spec[k]) if spec[k] else None for k in ("train", "dev", "test")}
        if not files["train"].exists():
            sys.exit(f"benchmarks/peers.py: {files['train']} is missing (--corpora names the corpora folder)")
        train = read_conll(files["train"], spec["columns"], task)
        test = read_conll(files["test"], spec["columns"], task)
        tokens_file = args.work / f"{task}-test-x4.txt"
        tokens_file.write_text("".join(" ".join(t) + "\n" for t, _ in test) * 4, "utf-8")
        tokens = 4 * sum(len(t) for t, _ in test)
        taggers = []  # (tool, tag command, train sentences/s, fully trained)
        for kind in ("hmm", "bilstm"):
            folder = args.work / f"seqtag-{task}-{kind}"
            print(f"[{task}] training seqtag {kind}", file=sys.stderr, flush=True)
            rate = seqtag_train(args.seqtag, task, kind, files, folder, args.epochs, args.embeddings)
            command = [args.seqtag, "tag", "-m", str(folder), "--input-format", "tokens"]
            subprocess.run(command, input=b"warm up\n", capture_output=True, check=True)  # a BiLSTM's first export
            taggers.append((f"seqtag {kind}", command, rate, kind != "bilstm"))
        print(f"[{task}] training spaCy", file=sys.stderr, flush=True)
        rate = train_spacy(task, train, args.work / f"spacy-{task}", args.epochs)
        taggers.append(("spaCy " + ("ner" if task == "ner" else "tagger"),
                        [python, "-c", SPACY_TAG, str(args.work / f"spacy-{task}")], rate, False))
        if task == "pos":
            print(f"[{task}] training NLTK", file=sys.stderr, flush=True)
            rate = train_nltk(train, args.work / "nltk-pos.pickle")
            taggers.append(("NLTK perceptron", [python, "-c", NLTK_TAG, str(args.work / "nltk-pos.pickle")], rate, True))
        print(f"[{task}] training sklearn-crfsuite", file=sys.stderr, flush=True)
        rate = train_crf(train, args.work / f"crf-{task}.pickle")
        taggers.append(("sklearn-crfsuite", [python, "-c", CRF_TAG, str(args.work / f"crf-{task}.pickle"), here],
                        rate, True))
        for tool, command, rate, full in taggers:
            print(f"[{task}] tagging with {tool}", file=sys.stderr, flush=True)
            seconds = timed(command, tokens_file, args.runs)
            rows.append({"task": task, "tool": tool, "tag_seconds": round(seconds, 2),
                         "tag_tokens_per_s": round(tokens / seconds), "train_sentences_per_s": rate and round(rate),
                         "test_score": round(score(task, command, test, args.work), 2), "fully_trained": full})
    for task in args.tasks.split(","):
        best = max(r["tag_tokens_per_s"] for r in rows if r["task"] == task and r["tool"] == "seqtag bilstm")
        for row in (r for r in rows if r["task"] == task):
            row["seqtag_bilstm_speed_ratio"] = round(best / row["tag_tokens_per_s"], 2)
    versions = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                "seqtag": subprocess.run([args.seqtag, "--version"], capture_output=True, text=True).stdout.strip()}
    from importlib.metadata import version

    for name in ("spacy", "nltk", "sklearn-crfsuite", "python-crfsuite"):
        versions[name] = version(name)
    print(f"\n{versions}\n")
    print("| task | tool | tag tokens/s (whole process) | seqtag BiLSTM is x times as fast | training sentences/s "
          "(per epoch or iteration) | test score |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        trained = "" if r["fully_trained"] else f" ({args.epochs} epoch)"
        print(f"| {r['task']} | {r['tool']} | {r['tag_tokens_per_s']:,} | {r['seqtag_bilstm_speed_ratio']} | "
              f"{r['train_sentences_per_s'] or '-'} | {r['test_score']}{trained} |")
    if args.json:
        args.json.write_text(json.dumps({"versions": versions, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
