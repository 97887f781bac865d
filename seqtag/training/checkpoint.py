"""The BiLSTM's training checkpoint: everything `seqtag train --resume` needs to continue a run exactly.

One plain dict of tensors, numbers and JSON strings, saved as `checkpoint.pt` beside the model and read with
`torch.load(weights_only=True)`, so resuming runs no code from the file. This module is the only one that knows its
keys.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from seqtag.errors import DataError, ModelFormatError
from seqtag.modeldir import CHECKPOINT_FILE

KEYS = {"epoch", "model", "optimizer", "scheduler", "generator", "dropout_generator", "torch_rng", "best",
        "best_score", "best_epoch", "bad_epochs", "history"}


@dataclass
class Progress:
    """Where a run stands between epochs: what a checkpoint restores besides the optimizer and the generators."""

    epoch: int = 0  # epochs finished
    best: dict | None = None  # the best weights so far
    best_score: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0
    history: list | None = None

    @property
    def updates(self) -> int:
        """Optimizer steps made so far (of this rank, under torchrun)."""
        return sum(record.get("updates", 0) for record in self.history or [])


def capture(progress: Progress, network, optimizer, scheduler, generators, device: str, train_config,
            average=None) -> dict:
    """The checkpoint after an epoch (with the weight average, training.WeightAverage, where there is one)."""
    generator, dropout_generator = generators
    return {
        "epoch": progress.epoch,
        "model": {k: v.detach().cpu().clone() for k, v in network.state_dict().items()},
        "optimizer": copy.deepcopy(optimizer.state_dict()),
        "scheduler": scheduler.state_dict(),
        "generator": generator.get_state(),
        "dropout_generator": dropout_generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state(device) if device.startswith("cuda") else None,
        "best": progress.best,
        "best_score": progress.best_score,
        "best_epoch": progress.best_epoch,
        "bad_epochs": progress.bad_epochs,
        "history": json.dumps(progress.history or []),
        "train_config": json.dumps(asdict(train_config)),
        "weight_average": average.state() if average is not None else None,
    }


def restore(state: dict, network, optimizer, scheduler, generators, device: str, average=None) -> Progress:
    """Put a checkpoint's state back into a fresh run's objects; returns where the run stood."""
    generator, dropout_generator = generators
    network.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    generator.set_state(state["generator"])
    dropout_generator.set_state(state["dropout_generator"])
    torch.set_rng_state(state["torch_rng"])
    if device.startswith("cuda") and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(state["cuda_rng"], device)
    if average is not None:
        if state.get("weight_average") is None:  # the average restarts from the weights as they are
            raise DataError("--resume with a weight average the checkpoint's run did not keep")
        average.load(state["weight_average"])
    progress = Progress(state["epoch"], state["best"], state["best_score"], state["best_epoch"], state["bad_epochs"],
                        json.loads(state["history"]))
    if average is not None:  # its warm-up goes on from the steps already made
        average.steps = progress.updates
    return progress


def history_of(state: dict) -> str:
    """The training log (one JSON line per epoch) a checkpoint carries."""
    return "".join(json.dumps(record) + "\n" for record in json.loads(state["history"]))


def load_for_resume(output: Path, train_sha256: str | None, device: str):
    """(tagger, checkpoint) from a model directory to resume, after checking that it can be resumed with this
    training data."""
    from seqtag.models.bilstm import BiLSTMTagger
    from seqtag.models.tagger import load_tensors
    from seqtag.modeldir import read_model_json

    document = read_model_json(output)
    if not (output / CHECKPOINT_FILE).is_file():
        stopped = document.get("training", {}).get("stopped") if isinstance(document.get("training"), dict) else None
        finished = f"; the run finished ({stopped}) and its checkpoint was not kept: train with --keep-checkpoint " \
                   "to extend a run later" if stopped in ("patience", "max_epochs") else ""
        raise ModelFormatError(f"no {CHECKPOINT_FILE} to resume from{finished}", output)
    state = load_tensors(output / CHECKPOINT_FILE)
    missing = sorted(KEYS - set(state))
    if missing:
        raise ModelFormatError(f"lacks {', '.join(missing)} (written by an older seqtag); train again without "
                               "--resume", output / CHECKPOINT_FILE)
    if document["training"]["data"]["train"]["sha256"] != train_sha256:
        raise DataError("--resume with other training data than the checkpoint was trained on", output)
    try:
        tagger = BiLSTMTagger.from_state(document, state["model"], device)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        raise ModelFormatError(f"{CHECKPOINT_FILE} does not fit model.json: {type(e).__name__}: {e}", output) from None
    return tagger, state
