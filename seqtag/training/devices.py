"""Where BiLSTM training runs: the device, and under torchrun each rank's device, process group and share of the
dev set."""

from __future__ import annotations

import os

import torch

from seqtag.data.corpus import Corpus
from seqtag.errors import DataError
from seqtag.data.evaluation import score_tagger


def distributed_rank() -> tuple[int, int]:
    """(rank, world size): from torchrun's environment, (0, 1) for a plain run."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def placement(device: str, local_rank: int, local_world: int, gpus: int) -> tuple[str, str]:
    """(device, backend) for one torchrun rank: NCCL with a GPU per rank; gloo on CPU, and when the ranks of a node
    outnumber its GPUs (NCCL refuses two ranks on one GPU: "Duplicate GPU detected"), so they share GPUs in turn."""
    if not device.startswith("cuda"):
        return device, "gloo"
    return f"cuda:{local_rank % gpus}", "nccl" if local_world <= gpus else "gloo"


def start_distributed(device: str) -> tuple[int, int, str]:
    """Join torchrun's process group; each rank gets its own GPU where there are enough."""
    import torch.distributed as dist

    rank, world = distributed_rank()
    if world > 1 and not dist.is_initialized():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
        gpus = torch.cuda.device_count() if device.startswith("cuda") else 0
        device, backend = placement(device, local_rank, local_world, gpus)
        if device.startswith("cuda"):
            torch.cuda.set_device(device)
        dist.init_process_group(backend)
    return rank, world, device


def resolve_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DataError(f"--device {name}: no CUDA device is available here")
    if name != "cpu" and not name.startswith("cuda"):
        raise DataError(f"--device must be auto, cpu, cuda or cuda:N, not {name!r}")
    return name


def score_sharded(tagger, dev: Corpus, rank: int, world: int) -> dict:
    """Dev scores; under torchrun each rank tags its share of the sentences and the predictions are gathered."""
    if world == 1:
        return score_tagger(tagger, dev)
    import torch.distributed as dist

    gathered: list = [None] * world
    dist.all_gather_object(gathered, tagger.predict(dev.sentences[rank::world]))
    predicted: list = [None] * len(dev)
    for r, part in enumerate(gathered):
        predicted[r::world] = part
    return score_tagger(tagger, dev, predicted=predicted)
