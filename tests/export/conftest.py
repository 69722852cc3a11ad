"""Fixtures of the export tests: a real tuning database (a tiny tune), and a library exported from it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class Tuned:
    url: str
    op: Any
    target: Any


@pytest.fixture(scope="session")
def host1():
    """The host CPU with one core: its fingerprint is this machine's, so no mismatch warning."""
    from targets.cpu import host_cpu

    return host_cpu(1)


@pytest.fixture(scope="session")
def tuned(tmp_path_factory: pytest.TempPathFactory, host1: Any) -> Tuned:
    """matmul 64x64x64 tuned for 6 trials into a SQLite database (real builders and runner)."""
    from autotune.session import TuneOptions, TuningSession
    from autotune.store import DBStore
    from dsl.library import matmul

    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'tune.db'}"
    op = matmul().bind(M=64, N=64, K=64)
    options = TuneOptions(trials=6, seed=0, build_workers=2, repeats=3, min_repeat_ms=5)
    with TuningSession(host1, options) as session:
        store = DBStore.open(url)
        session.tuner(session.prepare(op), store).tune(options.budget())
        store.close()
    return Tuned(url, op, host1)


@pytest.fixture(scope="session")
def exported_dir(tmp_path_factory: pytest.TempPathFactory, tuned: Tuned) -> Path:
    """``matmul.so`` / ``.json`` / ``.h`` exported from the tuned database (shared; copy before editing)."""
    from autotune.export.export import ExportItem, export_library
    from tuning_db import open_db

    out = tmp_path_factory.mktemp("export")
    with open_db(tuned.url) as db:
        export_library([ExportItem("matmul", tuned.op)], tuned.target, db, out)
    return out


@pytest.fixture
def library_copy(exported_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the exported folder, for tests that edit the manifest."""
    dest = tmp_path / "lib"
    shutil.copytree(exported_dir, dest)
    return dest
