"""The BiLSTM training loop: length-bucketed batches under a token budget, Adam or SGD, gradient clipping,
early stopping on the dev score, checkpoints that a resumed run continues from exactly. Reports through callbacks,
never prints.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace

import torch

from seqtag.training import checkpoint
from seqtag.models.bilstm import BiLSTMConfig, BiLSTMTagger, TrainingCounts
from seqtag.data.corpus import Corpus, Sentence, StreamedCorpus
from seqtag.training.devices import resolve_device, score_sharded, start_distributed
from seqtag.models.encoding import batched_windows
from seqtag.errors import SeqtagError
from seqtag.data.evaluation import score_tagger
from seqtag.schedule import RESOLVED, ema_for, lr_factor, schedule_for
from seqtag.settings import TrainConfig
from seqtag.models.tagger import CHECKPOINT_FILE, TRAIN_LOG_FILE, Trained, TrainRun


class TrainingDiverged(SeqtagError):
    exit_code = 1


@dataclass
class TrainResult:
    tagger: BiLSTMTagger
    history: list[dict]
    best_epoch: int
    best_score: float | None
    stopped: str  # "patience" | "max_epochs" | "max_seconds" | "interrupted" | "diverged"
    context: dict | None = None  # what fit_context measured, where the model has a context layer
    config: TrainConfig | None = None  # as trained with: the settings left to corpus size and device resolved
    dev_predicted: list | None = None  # held-out dev predictions where the model was fitted on dev (fit_context)


def resolve_config(config: dict) -> dict:
    """The full configuration, defaults included (so a run can be repeated exactly), checked before data is read."""
    return {"model": asdict(BiLSTMConfig.from_dict(config.get("model", {}))),
            "training": asdict(TrainConfig.from_dict(config.get("training", {}))),
            "features": list(config.get("features", []))}


def train_run(train: Corpus | StreamedCorpus, dev: Corpus | None, layer: str, config: dict, run: TrainRun) -> Trained:
    """The BiLSTM's trainer (seqtag.kinds): train, saving the best model so far into `run.output` after every epoch
    (with the checkpoint that --resume continues from), or in memory only when there is no output."""
    from seqtag.models.tagger import save_model

    model_config = BiLSTMConfig.from_dict(config.get("model", {}))
    train_config = TrainConfig.from_dict(config.get("training", {}))
    train, dev, held_out = _dev_or_held_out(train, dev, train_config.hold_out, run.on_progress)
    resume = None
    if run.resume:
        train_sha = run.info["training"]["data"]["train"]["sha256"]
        resume = checkpoint.load_for_resume(run.output, train_sha, resolve_device(train_config.device))
    last = {"checkpoint": resume[1] if resume else None, "saved": 0}  # until an epoch is saved, nothing changed

    def on_checkpoint(tagger, best, state):
        files = {CHECKPOINT_FILE: state, TRAIN_LOG_FILE: checkpoint.history_of(state)}
        save_model(tagger, run.output, run.info, files, tensors=best)
        last.update(checkpoint=state, saved=last["saved"] + 1)

    result = train_bilstm(train, dev, layer, model_config, train_config, config.get("features", ()), run.on_progress,
                          on_checkpoint if run.output is not None else None, resume)
    training = {"best_epoch": result.best_epoch, "stopped": result.stopped, "epochs": len(result.history),
                "best_dev_score": result.best_score, **{name: getattr(result.config, name) for name in RESOLVED},
                "char_encoder": result.tagger.network.char_encoder}  # these as resolved by corpus size and device
    if held_out is not None:
        training["held_out"] = held_out
    if result.context is not None:  # fitted on dev after training: best_dev_score is from before
        training["context_layer"] = result.context
    files = {TRAIN_LOG_FILE: "".join(json.dumps(r) + "\n" for r in result.history)}
    if last["checkpoint"] is not None:  # keep the last state, so training can go on with --resume
        files[CHECKPOINT_FILE] = last["checkpoint"]
    interrupted = None
    if result.stopped == "interrupted":
        if not result.history or (run.output is not None and not last["saved"]):
            raise KeyboardInterrupt("before an epoch finished")  # nothing saved: the output is as it was
        if result.context and result.context.get("interrupted"):
            interrupted = (f"interrupted while fitting the context layer: kept the trained network (best epoch "
                           f"{result.best_epoch}) without it")
        else:
            interrupted = (f"interrupted during epoch {len(result.history) + 1}: kept the best model so far (epoch "
                           f"{result.best_epoch} of {len(result.history)} finished)"
                           + (f"; seqtag train -o {run.output} --resume continues" if run.output else ""))
    return Trained(result.tagger, files, training, interrupted, result.dev_predicted)


Checkpointer = Callable[[BiLSTMTagger, dict, dict], None]  # (tagger, best weights, checkpoint) -> saves


def train_bilstm(
    train: Corpus | StreamedCorpus,
    dev: Corpus | None,
    layer: str,
    model_config: BiLSTMConfig,
    config: TrainConfig,
    features: Sequence[str] = (),
    on_progress: Callable[[dict], None] | None = None,
    on_checkpoint: Checkpointer | None = None,
    resume: tuple[BiLSTMTagger, dict] | None = None,
) -> TrainResult:
    """Train, calling `on_checkpoint` after every epoch with the best weights so far and the resumable state."""
    rank, world, device = start_distributed(resolve_device(config.device))
    torch.manual_seed(config.seed)
    counts = TrainingCounts.of(train, layer, resume[0].features if resume else features)
    config = resolve(config, sum(counts.words.values()), device)
    if resume is None:
        tagger = BiLSTMTagger.build(counts, layer, train.schemes[layer], model_config, features, device)
    else:
        tagger = resume[0]
    network = tagger.network
    rare = counts.rare_words()
    if isinstance(train, StreamedCorpus):
        batches = StreamedBatches(tagger, train, rare, config.batch_tokens, config.stream_buffer)
    else:
        batches = EncodedBatches(tagger, train.sentences, rare, config.batch_tokens)
    optimizer = make_optimizer(network, config)
    run = checkpoint.Progress(history=[])  # read by the scheduler at each step: a plateau halves the rate
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: lr_factor(e, config.lr_decay, run.history, config.plateau))
    # one generator orders the batches (the same on every rank, which then takes its shard), one drops words
    generator = torch.Generator().manual_seed(config.seed)
    dropout_generator = torch.Generator().manual_seed(config.seed + 1000 * rank)
    trainable = network
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        trainable = DistributedDataParallel(network, device_ids=[device] if device.startswith("cuda") else None)
    generators = (generator, dropout_generator)
    average = WeightAverage(network, config.ema) if config.ema else None
    if resume is not None:
        run = checkpoint.restore(resume[1], network, optimizer, scheduler, generators, device, average)
    autocast = config.amp and device.startswith("cuda")
    progress = on_progress if on_progress is not None and rank == 0 else (lambda event: None)
    stopped = "max_epochs"
    begun = time.perf_counter()
    try:
        for epoch in range(run.epoch, config.max_epochs):
            if _patience_out(run, config):
                stopped = "patience"
                break
            if config.max_seconds and run.history and time.perf_counter() - begun >= config.max_seconds:
                stopped = "max_seconds"
                break
            record = _train_epoch(trainable, batches, optimizer, model_config, config, generators, autocast, progress,
                                  epoch, rank, world, average.update if average else None)
            with average.applied() if average else contextlib.nullcontext():  # scored and kept: the average
                if dev is not None:
                    started = time.perf_counter()
                    report = score_sharded(tagger, dev, rank, world)
                    record["dev"] = report
                    record["dev_score"] = report[report["metric"]]
                    record["dev_seconds"] = round(time.perf_counter() - started, 2)
                else:
                    record["dev_score"] = -record["loss"]  # without dev data, the lowest training loss is best
                if run.best_score is None or record["dev_score"] > run.best_score:
                    run.best = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
                    run.best_score, run.best_epoch, run.bad_epochs = record["dev_score"], epoch + 1, 0
                else:
                    run.bad_epochs += 1
            record["best_epoch"] = run.best_epoch
            run.history.append(record)
            run.epoch = epoch + 1
            scheduler.step()  # after the epoch's dev score, which a plateau reads
            progress({"event": "epoch_end", **record})
            if on_checkpoint is not None and rank == 0:  # only rank 0 writes
                on_checkpoint(tagger, run.best, checkpoint.capture(run, network, optimizer, scheduler, generators,
                                                                   device, config, average))
        else:
            stopped = "patience" if _patience_out(run, config) else "max_epochs"
    except KeyboardInterrupt:
        stopped = "interrupted"
    except TrainingDiverged:
        if run.best is None:
            raise
        stopped = "diverged"
    if run.best is not None:
        network.load_state_dict(run.best)
    context = dev_predicted = None
    if network.context is not None and dev is not None and stopped != "interrupted":
        progress({"event": "note", "message": f"fitting the context layer on {len(dev):,} dev sentences (the network "
                  "is trained; this scores dev with it once, then fits on each half and checks on the other)"})
        started = time.perf_counter()
        try:
            context, dev_predicted = fit_context(tagger, dev)
            verdict = "kept" if context["kept"] else "not kept: it did not beat the network alone on held-out dev"
            progress({"event": "note", "message": f"context layer {verdict} ({time.perf_counter() - started:.0f} s)"})
        except KeyboardInterrupt:  # Ctrl-C while fitting: keep the trained network, without the layer
            with torch.no_grad():
                network.context.zero_()
            context, stopped = {"kept": False, "interrupted": True}, "interrupted"
    return TrainResult(tagger, run.history, run.best_epoch, run.best_score, stopped, context, config, dev_predicted)


def _dev_or_held_out(train, dev, every: int, on_progress) -> tuple:
    """(train, dev, what was held out): with `every` (--hold-out) and no dev data, every `every`-th document or
    sentence is held out, so that early stopping and the context layer see data the network does not train on."""
    if dev is not None or not every:  # (a streamed corpus with --hold-out is refused before it is read: pipeline)
        return train, dev, None
    if len(train) < 2 * every:
        if on_progress is not None:
            on_progress({"event": "warning", "message": f"no dev data, and {len(train)} training sentence(s) are too "
                         f"few to hold out one in {every}: the epoch with the lowest training loss is kept"})
        return train, dev, None
    train, dev = train.hold_out(every)
    return train, dev, {"dev": dev.source, "sentences": len(dev), "tokens": dev.num_tokens()}


def resolve(config: TrainConfig, train_tokens: int, device: str) -> TrainConfig:
    """The settings left to the corpus size and device (None) filled in, each on its own: a
    batch size given with no learning rate keeps the schedule's learning rate."""
    schedule = schedule_for(train_tokens, device)
    return replace(config, batch_tokens=config.batch_tokens or schedule["batch_tokens"],
                   lr=config.lr or schedule["lr"], max_epochs=config.max_epochs or schedule["max_epochs"],
                   ema=ema_for(train_tokens) if config.ema is None else config.ema)


def make_optimizer(network: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        # fused: one kernel per step instead of about ten passes over every parameter; on CPU the dense update of
        # the word embeddings made Adam a fifth of a training step (benchmarks/profile_training.py)
        return torch.optim.Adam(network.parameters(), lr=config.lr, fused=True)
    return torch.optim.SGD(network.parameters(), lr=config.lr, momentum=0.9)


def _patience_out(run: checkpoint.Progress, config: TrainConfig) -> bool:
    """Early stopping: `patience` epochs without a better dev score, once the run has made `min_updates` steps (on
    the bundled sample an epoch is 6 steps, and a softmax BiLSTM still predicts only O after 36 of them)."""
    return run.best_score is not None and run.bad_epochs >= config.patience and run.updates >= config.min_updates


class EncodedBatches:
    """A training corpus in memory, bucketed by length under the token budget and encoded once; every epoch visits
    the batches in a new order, each rank an equal share (DDP's ranks would otherwise wait on each other)."""

    def __init__(self, tagger: BiLSTMTagger, sentences: Sequence[Sentence], rare: set[str], budget: int):
        self.batches = [tagger.encode(sentences, rare, runs)
                        for runs in batched_windows(sentences, tagger.config.document_window, budget)]

    def __len__(self) -> int:
        return len(self.batches)

    def epoch(self, generator: torch.Generator, rank: int = 0, world: int = 1) -> Iterator[dict]:
        order = torch.randperm(len(self.batches), generator=generator).tolist()
        return (self.batches[i] for i in order[rank::world][: len(order) // world])


class StreamedBatches:
    """A training corpus read from disk again every epoch, `buffer` sentences at a time: each buffer is bucketed,
    encoded and visited in a random order, so memory holds one buffer's batches, never the corpus. Shuffling is
    within a buffer: a file sorted by topic or length should be shuffled once on disk."""

    def __init__(self, tagger: BiLSTMTagger, corpus: StreamedCorpus, rare: set[str], budget: int, buffer: int):
        self.tagger, self.corpus, self.rare, self.budget, self.buffer = tagger, corpus, rare, budget, buffer

    def epoch(self, generator: torch.Generator, rank: int = 0, world: int = 1) -> Iterator[dict]:
        sentences = iter(self.corpus)
        while chunk := list(itertools.islice(sentences, self.buffer)):
            yield from EncodedBatches(self.tagger, chunk, self.rare, self.budget).epoch(generator, rank, world)


class WeightAverage:
    """An exponential moving average of the trainable weights (`[training] ema`, the decay per optimizer step).
    The dev set is scored, and the best epoch kept, with the average: it moves less from one epoch to the next
    than the weights themselves, so the kept epoch is less an accident of noise."""

    def __init__(self, network: torch.nn.Module, decay: float, steps: int = 0):
        self.decay, self.steps = decay, steps  # optimizer steps so far (checkpoint.restore sets a resumed run's)
        self.parameters = [p for p in network.parameters() if p.requires_grad]
        self.average = [p.detach().clone() for p in self.parameters]

    def update(self) -> None:
        self.steps += 1  # warm-up (TensorFlow's ExponentialMovingAverage): the initial weights fade fast, not at 1%
        decay = min(self.decay, self.steps / (self.steps + 9))  # per step, in a short run on a tiny corpus
        with torch.no_grad():
            for average, parameter in zip(self.average, self.parameters):
                average.lerp_(parameter, 1.0 - decay)

    @contextlib.contextmanager
    def applied(self):
        """The network holds the average inside the block, its own weights again after it."""
        own = [p.detach().clone() for p in self.parameters]
        self._copy(self.average)
        try:
            yield
        finally:
            self._copy(own)

    def _copy(self, values: list[torch.Tensor]) -> None:
        with torch.no_grad():
            for parameter, value in zip(self.parameters, values):
                parameter.copy_(value)

    def state(self) -> list[torch.Tensor]:
        return [a.detach().cpu().clone() for a in self.average]

    def load(self, state: list[torch.Tensor]) -> None:
        with torch.no_grad():
            for average, value in zip(self.average, state):
                average.copy_(value)


def _train_epoch(network, batches: EncodedBatches | StreamedBatches, optimizer, model_config: BiLSTMConfig,
                 config: TrainConfig, generators: tuple[torch.Generator, torch.Generator], autocast: bool, progress,
                 epoch: int, rank: int = 0, world: int = 1, after_step: Callable[[], None] | None = None) -> dict:
    network.train()
    started = time.perf_counter()
    total_tokens, sentences, updates = 0, 0, 0
    order_generator, dropout_generator = generators
    total = len(batches) // world if isinstance(batches, EncodedBatches) else None  # a stream's is unknown
    progress({"event": "epoch_start", "epoch": epoch + 1, "batches": total, "max_epochs": config.max_epochs})
    summed = torch.zeros((), device=network_device(network))  # summed on the device: no wait on every step
    mean_loss = 0.0
    for step, batch in enumerate(batches.epoch(order_generator, rank, world)):
        drop = torch.rand(batch["words"].shape, generator=dropout_generator) < model_config.rare_word_dropout
        if batch["words"].is_cuda:  # from pinned memory, the copy does not make the host wait for the GPU
            drop = drop.pin_memory().to(batch["words"].device, non_blocking=True)
        batch = {**batch, "words": batch["words"].masked_fill(batch["rare"] & drop, 1)}
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            loss = network(batch)  # Network.forward is its loss, so DistributedDataParallel can wrap it
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), config.clip)
        optimizer.step()
        if after_step is not None:
            after_step()
        updates += 1
        count, tokens = batch["mask"].size(0), int(batch["lengths"].sum())  # sentences (a run holds several)
        summed += loss.detach() * count
        total_tokens += tokens
        sentences += count
        # Reading the loss waits for the GPU, so there it is read every SYNC_EVERY steps: a diverged run is
        # caught a few steps late, and its weights are dropped for the best epoch's all the same.
        if not summed.is_cuda or (step + 1) % SYNC_EVERY == 0:
            mean_loss = _finite(summed.item() / sentences, epoch)
        progress({"event": "batch", "step": step + 1, "loss": mean_loss, "tokens": tokens})
    total_loss = _finite(summed.item(), epoch)
    seconds = time.perf_counter() - started
    return {
        "epoch": epoch + 1,
        "loss": total_loss / max(sentences, 1),
        "seconds": round(seconds, 2),
        "tokens_per_s": round(total_tokens / seconds) if seconds > 0 else math.inf,
        "sentences_per_s": round(sentences / seconds) if seconds > 0 else math.inf,
        "lr": optimizer.param_groups[0]["lr"],
        "updates": updates,  # optimizer steps (of each rank, under torchrun)
        "ranks": world,  # under torchrun, tokens/s and sentences/s are those of one rank
    }


SYNC_EVERY = 25


def _finite(loss: float, epoch: int) -> float:
    if not math.isfinite(loss):
        raise TrainingDiverged(f"the training loss became {loss} in epoch {epoch + 1}; "
                               "lower the learning rate (--lr) or the gradient clip")
    return loss


def network_device(network: torch.nn.Module) -> torch.device:
    return next(network.parameters()).device


def fit_context(tagger: BiLSTMTagger, dev: Corpus) -> tuple[dict, list[list[str]] | None]:
    """Fit the context layer (seqtag.models.context) on the dev set, with the network frozen, if it earns its place.

    It is first fitted on each half of the dev documents and scored on the other half. Only if it then beats the
    network alone on the held-out halves is it fitted on the whole dev set. Otherwise it stays zero, as on a dev
    set too small to fit it (the bundled sample's: 100 sentences).

    Returns what was measured, for model.json, and, where the layer is kept, the cross-fitted dev predictions: each
    dev sentence tagged with the layer fitted on the other half (in dev's order). A model with the layer fitted
    on all of dev would be scored there on the data it was fitted on; those predictions are its held-out dev
    figure. None where the layer is not kept: the network alone is then what dev scores.

    The frozen network scores the dev set once; every fit and held-out score reads those scores.
    """
    sentences = [s for s in dev if len(s)]
    halves = _halves(sentences)
    held_out = {"with": 0.0, "without": 0.0}
    if not all(halves):  # a dev set of one sentence (or document) cannot check the layer
        return {"kept": False, "held_out_dev_score": held_out}, None
    scored = [_scored_batches(tagger, sentences, half) for half in halves]
    cross_fitted: dict[int, list[str]] = {}
    for fit_on, check_on in ((0, 1), (1, 0)):
        _fit_context(tagger, sentences, scored[fit_on])
        check = Corpus([sentences[i] for i in halves[check_on]], dev.layers, dev.schemes, dev.source)
        for key, batches in (("with", tagger.add_context(sentences, scored[check_on])), ("without", scored[check_on])):
            predicted = {i: tagger.tags_of(path) for indices, batch, e in batches
                         for i, path in zip(indices, tagger.network.decode_emissions(e, batch["mask"]))}
            report = score_tagger(tagger, check, predicted=[predicted[i] for i in halves[check_on]])
            held_out[key] += report[report["metric"]] / 2
            if key == "with":
                cross_fitted.update(predicted)
    kept = held_out["with"] > held_out["without"]
    if kept:
        _fit_context(tagger, sentences, scored[0] + scored[1])
    else:
        with torch.no_grad():
            tagger.network.context.zero_()
    measured = {"kept": kept, "held_out_dev_score": {k: round(v, 4) for k, v in held_out.items()}}
    if not kept:
        return measured, None
    by_sentence = iter(cross_fitted[i] for i in range(len(sentences)))
    return measured, [next(by_sentence) if len(s) else [] for s in dev]


def _halves(sentences: list[Sentence]) -> tuple[list[int], list[int]]:
    """Sentence indices in two halves: alternate documents, so each half keeps its documents whole (alternate
    sentences where there is one document or none)."""
    documents = sorted({s.document for s in sentences}, key=lambda d: (d is None, d))
    if len(documents) > 1:
        first = set(documents[::2])
        return ([i for i, s in enumerate(sentences) if s.document in first],
                [i for i, s in enumerate(sentences) if s.document not in first])
    return list(range(0, len(sentences), 2)), list(range(1, len(sentences), 2))


def _scored_batches(tagger: BiLSTMTagger, sentences: list[Sentence], half: list[int]) -> list:
    """The network's scores for some of `sentences`, as `emission_batches` gives them but with indices into
    `sentences`, and the gold labels in each encoded batch."""
    part = [sentences[i] for i in half]
    batches = []
    for indices, batch, e in tagger.emission_batches(part, use_context=False):
        gold = tagger.encoder.encode([part[j] for j in indices], set())["labels"]
        batches.append(([half[j] for j in indices], {**batch, "labels": torch.from_numpy(gold).to(e.device)}, e))
    return batches


def _fit_context(tagger: BiLSTMTagger, sentences: list[Sentence], batches: list, iterations: int = 100,
                 l2: float = 0.3) -> None:
    """The labels' likelihood (CRF) or cross-entropy (softmax) given the network's scores plus the context
    layer's, maximised by L-BFGS (it is convex in the layer's weights), with an L2 penalty. The mentions are
    pooled over `batches`."""
    network = tagger.network
    weight = network.context
    prepared = [(e, inputs, batch["labels"], batch["mask"])
                for (_, batch, e), inputs in zip(batches, tagger.context_inputs(sentences, batches))]
    count = sum(len(indices) for indices, _, _ in batches)
    with torch.no_grad():
        weight.zero_()
    frozen = [p for p in network.parameters() if p.requires_grad]
    for parameter in frozen:
        parameter.requires_grad_(False)
    weight.requires_grad_(True)
    optimizer = torch.optim.LBFGS([weight], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        total = sum(_context_loss(network, e + inputs @ weight.t(), gold, mask) for e, inputs, gold, mask in prepared)
        # scaled to a per-sentence loss for L-BFGS; the penalty weighs more the fewer the sentences
        total = (total + l2 * weight.pow(2).sum()) / count
        total.backward()
        return total

    try:
        optimizer.step(closure)
    finally:
        weight.requires_grad_(False)
        for parameter in frozen:
            parameter.requires_grad_(True)


def _context_loss(network, emissions: torch.Tensor, gold: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if network.crf is not None:
        return network.crf.nll(emissions, gold, mask)
    return torch.nn.functional.cross_entropy(emissions[mask], gold[mask], reduction="sum")
