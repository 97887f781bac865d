import os
from pathlib import Path

import pytest

# Under pytest-xdist (README's test command runs `-n 3`), each worker gets its share of the cores: torch's and
# onnxruntime's threads of two workers on two cores would otherwise fight over them. Set before anything imports
# torch; the commands the tests start inherit it.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _workers = int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _workers)))

# test_ray.py starts Ray clusters and test_serve_ray.py Ray Serve; two Rays at once on one host compete for Ray's
# fixed ports (the dashboard's among them), and Serve's proxy may then refuse connections. Under `--dist loadfile`
# both files go to one worker, one after the other.
RAY_FILES = {"tests/test_ray.py", "tests/test_serve_ray.py"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class RayFilesTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return "ray" if scope in RAY_FILES else scope

    return RayFilesTogether(config, log)


ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SHARED = ROOT.parent / "shared" / "corpora"


@pytest.fixture
def shared_corpora() -> Path:
    """The full corpora beside the project; tests that need them skip on a fresh clone."""
    if not SHARED.is_dir():
        pytest.skip("../shared/corpora is not present")
    return SHARED


@pytest.fixture(scope="module")
def hmm_model(tmp_path_factory) -> Path:
    """The HMM trained on the bundled sample: the quickest model to tag files with."""
    import seqtag

    folder = tmp_path_factory.mktemp("model") / "hmm"
    seqtag.train(model="hmm", output=folder)
    return folder


def write_inputs(folder: Path, count: int, lines: int = 40, seed: int = 0) -> list[Path]:
    """`count` raw-text files of random words of the sample, some lines empty (paragraph ends)."""
    import random

    words = [line.split()[0] for line in (DATA / "ner/test.txt").read_text().splitlines() if line.strip()]
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        text = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 25))) if rng.random() > 0.1 else ""
                for _ in range(lines)]
        paths.append(folder / f"part-{i:03d}.txt")
        paths[-1].write_text("\n".join(text) + "\n")
    return paths
