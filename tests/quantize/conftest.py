"""Fixtures of the quantize tests; helpers live in quantize_cases.py (imported by name)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # quantize_cases.py


@pytest.fixture(scope="session")
def cpu():
    from targets import get_target

    return get_target("cpu")
