"""Where a BiLSTM training step spends its time: epoch seconds of the default NER model at several batch sizes,
then a torch.profiler table of 40 steps (by device time on a GPU, by CPU time otherwise).

    python benchmarks/profile_training.py ../shared/corpora/conll2003/eng.train --device cuda

On one H200 this showed the step launch-bound (at 800 tokens, with the document window, the GPU busy about 4% of the
time), which is why larger batches are what a GPU needs and why the CRF's forward algorithm runs as a parallel scan
there; `--crf scan,loop` times both ways of computing it (on a CPU it is always the loop). See README, Benchmarks.
"""

from __future__ import annotations

import argparse
import time

import torch

from seqtag.models import crf
from seqtag.api import read_corpus
from seqtag.models.bilstm import BiLSTMConfig, BiLSTMTagger, TrainingCounts
from seqtag.training.devices import resolve_device
from seqtag.training.loop import EncodedBatches, TrainConfig, _train_epoch, make_optimizer, resolve, train_bilstm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", help="a CoNLL-2003 style file (word pos chunk ner)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-tokens", default="800,2000,4000", help="padded tokens per batch, comma-separated")
    parser.add_argument("--steps", type=int, default=40, help="steps under the profiler (at the first batch size)")
    parser.add_argument("--crf", default="scan", help="the CRF's forward algorithm off the CPU: scan, loop or both "
                        "(comma-separated); the profile uses the first")
    args = parser.parse_args()
    device = resolve_device(args.device)
    train = read_corpus(args.train, columns=["word", "pos", "chunk", "ner"], layer="ner")
    print(f"{len(train)} sentences, {train.num_tokens()} tokens, {device}", flush=True)
    sizes = [int(b) for b in args.batch_tokens.split(",")]
    modes = args.crf.split(",")
    budget = crf.SCAN_BUDGET
    for batch_tokens in sizes:
        for mode in modes:
            crf.SCAN_BUDGET = budget if mode == "scan" else 0
            config = TrainConfig(max_epochs=2, batch_tokens=batch_tokens, device=device)
            history = train_bilstm(train, None, "ner", BiLSTMConfig(), config).history
            print(f"batch_tokens={batch_tokens} crf={mode}: epochs {', '.join(str(r['seconds']) for r in history)} s; "
                  f"{history[-1]['sentences_per_s']} sentences/s after a warm-up epoch", flush=True)
    crf.SCAN_BUDGET = budget if modes[0] == "scan" else 0

    counts = TrainingCounts.of(train, "ner", ())
    tagger = BiLSTMTagger.build(counts, "ner", train.schemes["ner"], BiLSTMConfig(), (), device)
    config = resolve(TrainConfig(device=device, batch_tokens=sizes[0]), train.num_tokens(), device)
    batches = EncodedBatches(tagger, train.sentences, counts.rare_words(), config.batch_tokens)
    # a random sample of the epoch's batches (they are built in length order, so the first ones are the shortest)
    sample = torch.randperm(len(batches.batches), generator=torch.Generator().manual_seed(0))[: args.steps].tolist()
    batches.batches = [batches.batches[i] for i in sample]
    optimizer = make_optimizer(tagger.network, config)
    generators = (torch.Generator().manual_seed(1), torch.Generator().manual_seed(2))
    gpu = device.startswith("cuda")

    def step(epoch: int) -> None:
        _train_epoch(tagger.network, batches, optimizer, tagger.config, config, generators, gpu and config.amp,
                     lambda event: None, epoch)

    step(0)  # warm-up
    activities = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if gpu else [])
    with torch.profiler.profile(activities=activities) as profile:
        started = time.perf_counter()
        step(1)
        if gpu:
            torch.cuda.synchronize()
    print(f"{args.steps} profiled steps: {time.perf_counter() - started:.2f} s", flush=True)
    sort = "self_cuda_time_total" if gpu else "self_cpu_time_total"
    print(profile.key_averages().table(sort_by=sort, row_limit=25, max_name_column_width=60))
    if gpu:  # where the host's time goes, which is what bounds a launch-bound step
        print(profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=60))


if __name__ == "__main__":
    main()
