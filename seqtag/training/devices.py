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


def fitting(build, estimate_config, device: str):
    """`build(device, config)` (a new tagger), refused in one line where its network cannot be trained in the memory
    `device` has free. The network `estimate_config` describes (the settings, its sizes resolved, without pretrained
    rows) is first built on the meta device, which takes no memory: its weights, gradients and Adam's two moments
    are four copies of its parameters (activations come on top)."""
    with torch.device("meta"):
        weights = sum(p.numel() * p.element_size() for p in build("meta", estimate_config).network.parameters())
    free = free_memory(device)
    if free is not None and 4 * weights > free:
        raise DataError(f"the network would have {weights / 1e9:.2f} GB of weights, and training keeps four times "
                        f"that (weights, gradients, Adam's moments); {free / 1e9:.2f} GB is free on {device}: lower "
                        "--hidden or --layers")
    try:
        return build(device, None)
    except (RuntimeError, MemoryError) as error:
        if not isinstance(error, MemoryError) and "alloc" not in str(error).lower():
            raise
        raise DataError("the network's weights do not fit in this machine's memory: lower --hidden or --layers") \
            from None


def free_memory(device: str) -> int | None:
    """Bytes free for this process on `device` (None where it cannot be told): a GPU's free memory; on a CPU the
    system's available memory, within an address-space limit where one is set."""
    if device.startswith("cuda"):
        return torch.cuda.mem_get_info(torch.device(device))[0]
    free = None
    try:
        with open("/proc/meminfo") as info:
            free = next(int(line.split()[1]) * 1024 for line in info if line.startswith("MemAvailable:"))
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit != resource.RLIM_INFINITY:
            with open("/proc/self/statm") as statm:
                used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            free = min(free, limit - used)
    except (OSError, StopIteration, ValueError, ImportError):
        return free
    return free
