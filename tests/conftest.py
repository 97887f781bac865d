from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SHARED = ROOT.parent / "shared" / "corpora"


@pytest.fixture
def shared_corpora() -> Path:
    """The full corpora beside the project; tests that need them skip on a fresh clone."""
    if not SHARED.is_dir():
        pytest.skip("../shared/corpora is not present")
    return SHARED
