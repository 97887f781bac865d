"""What a document window costs: one training epoch over the first N sentences of a CoNLL-2003 training file, and
tagging a dev file with PyTorch and with onnxruntime, for each window size, in one process (so the ratios compare
like with like). The networks are untrained for the tagging rows: their time does not depend on the weights.

    python benchmarks/document_window.py ../shared/corpora/conll2003/eng.train ../shared/corpora/conll2003/eng.testa
"""

import argparse
import tempfile
import time
from pathlib import Path

import torch

from seqtag.api import read_corpus
from seqtag.models.bilstm import BiLSTMConfig, BiLSTMTagger, TrainingCounts
from seqtag.runtime.export import export
from seqtag.runtime.onnx_tagger import OnnxTagger
from seqtag.models.tagger import save_model
from seqtag.training.loop import EncodedBatches, TrainConfig, _train_epoch, make_optimizer, resolve

COLUMNS = ["word", "pos", "chunk", "ner"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train")
    parser.add_argument("dev")
    parser.add_argument("--sentences", type=int, default=3000, help="training sentences timed for one epoch")
    parser.add_argument("--windows", default="0,64,128,256")
    args = parser.parse_args()
    train = read_corpus(args.train, columns=COLUMNS, layer="ner")
    dev = read_corpus(args.dev, columns=COLUMNS, layer="ner")
    counts = TrainingCounts.of(train, "ner", ())
    base = None
    for window in [int(w) for w in args.windows.split(",")]:
        torch.manual_seed(1)
        tagger = BiLSTMTagger.build(counts, "ner", train.schemes["ner"], BiLSTMConfig(document_window=window))
        config = resolve(TrainConfig(device="cpu"), sum(counts.words.values()), "cpu")
        batches = EncodedBatches(tagger, train.sentences[: args.sentences], counts.rare_words(), config.batch_tokens)
        generators = (torch.Generator().manual_seed(1), torch.Generator().manual_seed(2))
        epoch = _train_epoch(tagger.network, batches, make_optimizer(tagger.network, config), tagger.config, config,
                             generators, False, lambda event: None, 0)["seconds"]
        started = time.perf_counter()
        tagger.predict(dev.sentences)
        torch_s = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as folder:
            save_model(tagger, folder, {"config": {}})
            export(folder, "onnx")
            onnx = OnnxTagger(Path(folder))
            onnx.predict(dev.sentences[:100])  # the session's first run allocates
            started = time.perf_counter()
            onnx.predict(dev.sentences)
            onnx_s = time.perf_counter() - started
        times = (epoch, torch_s, onnx_s)
        base = base or times
        print(f"window {window:4d}: train epoch {epoch:6.2f} s ({epoch / base[0]:.2f}x)  tag PyTorch {torch_s:5.2f} s "
              f"({torch_s / base[1]:.2f}x)  tag onnxruntime {onnx_s:5.2f} s ({onnx_s / base[2]:.2f}x)", flush=True)


if __name__ == "__main__":
    main()
