"""A module that takes ``OPFORGE_TEST_IMPORT_SECS`` seconds to import, as a cold ``import tvm`` does on a loaded machine."""

from __future__ import annotations

import os
import time

time.sleep(float(os.environ.get("OPFORGE_TEST_IMPORT_SECS", "0")))


def hello() -> str:
    return "hello"
