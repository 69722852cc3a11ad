import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # cases.py, shared by the correctness tests


@pytest.fixture(scope="session")
def cpu():
    from targets import get_target

    return get_target("cpu")


@pytest.fixture(scope="session")
def cpu1():
    """The host CPU restricted to one core (parallel knobs then have one choice)."""
    from targets import get_target

    return get_target("cpu:1")
