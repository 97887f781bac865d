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
from dataclasses import dataclass, replace

import torch

from seqtag.training import checkpoint, context_fit
from seqtag.models.bilstm import BiLSTMConfig, BiLSTMTagger, TrainingCounts
from seqtag.data.corpus import Corpus, Sentence, StreamedCorpus
from seqtag.training.devices import fitting, resolve_device, score_sharded, start_distributed
from seqtag.models.encoding import batched_windows
from seqtag.errors import SeqtagError
from seqtag.data.evaluation import BEFORE_REFIT, CROSS_FITTED, score_tagger
from seqtag.schedule import RESOLVED, ema_for, lr_factor, network_for, schedule_for
from seqtag.settings import RunConfig, TrainConfig
from seqtag.models.tagger import Trained, TrainRun
from seqtag.modeldir import CHECKPOINT_FILE, TRAIN_LOG_FILE


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
    dev_report: dict | None = None  # dev scored held out, where the model was fitted on dev (fit_context, refit)
    init: dict | None = None  # --init: the model started from, and the labels kept, added and dropped


def train_run(train: Corpus | StreamedCorpus, dev: Corpus | None, layer: str, config: RunConfig,
              run: TrainRun) -> Trained:
    """The BiLSTM's trainer (seqtag.kinds): train, saving the best model so far into `run.output` after every epoch
    (with the checkpoint that --resume continues from), or in memory only when there is no output."""
    from seqtag.models.tagger import save_model

    model_config, train_config = config.model, config.training
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

    result = train_bilstm(train, dev, layer, model_config, train_config, config.features, run.on_progress,
                          on_checkpoint if run.output is not None else None, resume)
    refit = None
    if train_config.refit and dev is not None and result.stopped not in ("interrupted", "diverged"):
        result, refit = _refit(result, train, dev, layer, model_config, config.features, run.on_progress)
    training = {"best_epoch": result.best_epoch, "stopped": result.stopped, "epochs": len(result.history),
                "best_dev_score": result.best_score, **{name: getattr(result.config, name) for name in RESOLVED},
                "char_encoder": result.tagger.network.char_encoder}  # these as resolved by corpus size and device
    if held_out is not None:
        training["held_out"] = held_out
    if result.context is not None:  # fitted on dev after training: best_dev_score is from before
        training["context_layer"] = result.context
    if refit is not None:
        training["refit"] = refit
    if result.init is not None:
        training["init"] = result.init
    files = {TRAIN_LOG_FILE: "".join(json.dumps(r) + "\n" for r in result.history)}
    # keep the last state where a run can go on with --resume: a run stopped before its end, or a finished one when
    # asked (not under a finished refit: that state is the first run's, whose vocabulary the refit no longer has).
    # Otherwise it goes: it is twice the model's size, and tagging never reads it
    unfinished = result.stopped in ("interrupted", "max_seconds")
    if last["checkpoint"] is not None and (refit is None or refit.get("interrupted")) and (
            unfinished or train_config.keep_checkpoint):
        files[CHECKPOINT_FILE] = last["checkpoint"]
    interrupted = None
    if result.stopped == "interrupted":
        if not result.history or (run.output is not None and not last["saved"]):
            raise KeyboardInterrupt("before an epoch finished")  # nothing saved: the output is as it was
        if refit is not None and refit.get("interrupted"):
            interrupted = (f"interrupted while refitting on train + dev: kept the model trained on train (best epoch "
                           f"{result.best_epoch})")
        elif result.context and result.context.get("interrupted"):
            interrupted = (f"interrupted while fitting the context layer: kept the trained network (best epoch "
                           f"{result.best_epoch}) without it")
        else:
            interrupted = (f"interrupted during epoch {len(result.history) + 1}: kept the best model so far (epoch "
                           f"{result.best_epoch} of {len(result.history)} finished)"
                           + (f"; seqtag train -o {run.output} --resume continues" if run.output else ""))
    return Trained(result.tagger, files, training, interrupted, result.dev_report)


def _refit(first: TrainResult, train: Corpus, dev: Corpus, layer: str, model_config: BiLSTMConfig,
           features: Sequence[str], on_progress) -> tuple[TrainResult, dict]:
    """--refit: a new network trained on train + dev for the epochs dev chose in `first` (keeping the epoch of lowest
    training loss, nearly always the last), with `first`'s settings as
    resolved by the training corpus's size (so the architecture and schedule are the ones dev judged), and `first`'s
    context layer, fitted on dev while dev was unseen (one fitted now would learn from a network that trained on
    it). The dev figure is `first`'s, as it was: each dev sentence as `first` tagged it before anything learned it.

    Returns (the result to keep, what model.json records); `first` where the refit is interrupted."""
    progress = on_progress or (lambda event: None)
    epochs = first.best_epoch
    # scored by the first tagger, whose vocabulary says which dev words are unseen
    dev_report = {**(first.dev_report or score_tagger(first.tagger, dev)), "estimate": BEFORE_REFIT}
    sized = first.tagger.config
    model_config = replace(model_config, **{key: getattr(sized, key)
                                            for key in ("char_encoder", "layers", "hidden", "document_window")})
    config = replace(first.config, max_epochs=epochs, patience=epochs + 1, refit=False)
    joined = train.joined(dev)
    progress({"event": "note", "message": f"refitting on train + dev ({len(joined):,} sentences) for {epochs} "
              f"epoch(s), the number dev chose"})
    result = train_bilstm(joined, None, layer, model_config, config, features, on_progress)
    if result.stopped == "interrupted":  # Ctrl-C: the first run's model is kept, and --resume refits again
        return replace(first, stopped="interrupted"), {"interrupted": True, "epochs": epochs}
    network, fitted = result.tagger.network.context, first.tagger.network.context
    same_labels = result.tagger.vocab["labels"].items == first.tagger.vocab["labels"].items  # dev may add a type
    if network is not None and fitted is not None and same_labels:
        with torch.no_grad():
            network.copy_(fitted)
    record = {"epochs": epochs, "sentences": len(joined), "tokens": joined.num_tokens(),
              "final_loss": result.history[-1]["loss"] if result.history else None}
    return replace(result, history=first.history, best_epoch=first.best_epoch, best_score=first.best_score,
                   stopped=first.stopped, context=first.context, config=first.config,
                   dev_report=dev_report), record


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
    started_from = None
    if resume is not None:
        tagger = resume[0]
    elif config.init:
        from seqtag.training import init

        tagger, started_from = init.adapted(config.init, counts, layer, train.schemes[layer], device,
                                            on_progress or (lambda event: None))
    else:
        sizes = {k: v for k, v in network_for(sum(counts.words.values()), device).items()
                 if getattr(model_config, k, None) is None}  # what build resolves: the estimate's network is it
        tagger = fitting(lambda on, estimated: BiLSTMTagger.build(counts, layer, train.schemes[layer], estimated or
                                                                  model_config, features, on),
                         replace(model_config, embeddings=None, **sizes), device)
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
    context = dev_report = None
    if network.context is not None and dev is not None and stopped != "interrupted":
        progress({"event": "note", "message": f"fitting the context layer on {len(dev):,} dev sentences (the network "
                  "is trained; this scores dev with it once, then fits on each half and checks on the other)"})
        started = time.perf_counter()
        try:
            context, dev_predicted = context_fit.fit_context(tagger, dev)
            if dev_predicted is not None:
                dev_report = {**score_tagger(tagger, dev, predicted=dev_predicted), "estimate": CROSS_FITTED}
            verdict = "kept" if context["kept"] else "not kept: it did not beat the network alone on held-out dev"
            progress({"event": "note", "message": f"context layer {verdict} ({time.perf_counter() - started:.0f} s)"})
        except KeyboardInterrupt:  # Ctrl-C while fitting: keep the trained network, without the layer
            with torch.no_grad():
                network.context.zero_()
            context, stopped = {"kept": False, "interrupted": True}, "interrupted"
    return TrainResult(tagger, run.history, run.best_epoch, run.best_score, stopped, context, config, dev_report,
                       started_from)


def _dev_or_held_out(train, dev, every: int, on_progress) -> tuple:
    """(train, dev, what was held out): with `every` (--hold-out) and no dev data, every `every`-th document or
    sentence is held out, so that early stopping and the context layer see data the network does not train on."""
    if dev is not None or not every:  # (a streamed corpus with --hold-out is refused before it is read: training.fit)
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
