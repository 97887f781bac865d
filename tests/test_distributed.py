"""`seqtag train` under torchrun: two CPU ranks with gloo write one normal model directory."""

import json
import os
import socket
import subprocess
import sys

import pytest

from seqtag.data.corpus import Sentence
from seqtag.training.devices import placement
from seqtag.models.loading import load_model

pytestmark = pytest.mark.slow  # trains models or runs the CLI many times: not in the fast set


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("stream", [False, True], ids=["in-memory", "streamed"])
def test_torchrun_two_cpu_ranks_write_one_model(tmp_path, stream):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={free_port()}",
               "-m", "seqtag", "train", "-o", str(tmp_path / "m"), "--max-epochs", "2", "--hidden", "16",
               "--layers", "1", "--device", "cpu"] + (["--stream"] if stream else [])
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("test: f1") == 1  # rank 0 alone reports and writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    log = [json.loads(line) for line in (tmp_path / "m" / "train_log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2] and all(r["ranks"] == 2 for r in log)
    tagger = load_model(tmp_path / "m")
    assert len(tagger.predict([Sentence(("Peter", "went", "to", "Paris"), {})])[0]) == 4


def test_ranks_get_their_own_gpu_with_nccl_or_share_gpus_with_gloo():
    assert placement("cpu", 1, 2, 0) == ("cpu", "gloo")
    assert [placement("cuda", r, 4, 4) for r in range(4)] == [(f"cuda:{r}", "nccl") for r in range(4)]
    # two ranks on one GPU (the 1-against-2-ranks benchmark): NCCL would refuse the duplicate device
    assert [placement("cuda", r, 2, 1) for r in range(2)] == [("cuda:0", "gloo"), ("cuda:0", "gloo")]
