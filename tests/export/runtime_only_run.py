"""Run an exported kernel as a machine without TVM's compiler would: ``python runtime_only_run.py LIB OUT.npy IN.npy...``
(or ``run_runtime_only`` from a test).

An import hook hides TVM, opforge's compiler-side packages and PyTorch, so only numpy,
apache-tvm-ffi and ``autotune.export.load`` are used. Prints the warning classes it saw.
"""

import importlib.abc
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HIDDEN = ("tvm", "dsl", "schedules", "tuning_db", "xgboost", "sqlalchemy", "torch")


class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):  # noqa: ANN001, ANN201
        if name.split(".")[0] in HIDDEN:
            raise ImportError(f"{name} is not installed here")
        return None


def main(argv: list[str]) -> None:
    sys.meta_path.insert(0, _Hide())
    from autotune.export import load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kernel = load(argv[1])
        out = kernel(*(np.load(p) for p in argv[3:]))
    np.save(argv[2], out)
    leaked = sorted({m.split(".")[0] for m in sys.modules} & set(HIDDEN))
    assert not leaked, f"imported {leaked}"
    print(" ".join(sorted({w.category.__name__ for w in caught})))


def run_runtime_only(library: Path, tmp_path: Path, inputs: list[Any]) -> tuple[Any, str]:
    """The kernel's output computed in a process without TVM's compiler, and the warnings it printed."""
    paths = []
    for i, x in enumerate(inputs):
        paths.append(str(tmp_path / f"in{i}.npy"))
        np.save(paths[-1], x)
    script = Path(__file__)
    proc = subprocess.run(
        [sys.executable, str(script), str(library), str(tmp_path / "out.npy"), *paths], capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    return np.load(tmp_path / "out.npy"), proc.stdout.strip()


if __name__ == "__main__":
    main(sys.argv)
