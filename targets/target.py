"""What a target is: the TVM target dictionary, hardware facts and a fingerprint.

A ``Target`` is plain data; it crosses into schedules (vector width, core count, GPU limits),
autotune (how to build and run) and tuning_db (canonical description and fingerprint).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """One place kernels run.

    ``kind`` is ``"cpu"``, ``"cuda"`` or an edge name; ``tvm`` is the TVM target dictionary
    (JSON-able); ``features`` the detected ISA features; ``vector_bits`` the SIMD width used
    for vectorized loops; ``cores`` the threads a kernel may use.
    """

    name: str
    kind: str
    tvm: dict[str, Any]
    features: tuple[str, ...] = ()
    vector_bits: int = 128
    cores: int = 1
    hardware: dict[str, Any] = field(default_factory=dict)
    host: dict[str, Any] | None = None

    def __hash__(self) -> int:
        return hash(self.canonical())

    @property
    def is_gpu(self) -> bool:
        return self.kind == "cuda"

    def vector_lanes(self, dtype_bits: int) -> int:
        """Lanes of one SIMD register for elements of ``dtype_bits`` bits."""
        return max(1, self.vector_bits // dtype_bits)

    def canonical(self) -> str:
        """A stable JSON text of the TVM target: the target's identity in the database."""
        return json.dumps({"name": self.name, "tvm": self.tvm}, sort_keys=True, separators=(",", ":"))

    def fingerprint(self) -> str:
        """A short hash of the hardware facts (CPU model and flags, GPU name and SM, driver)."""
        text = json.dumps(self.hardware, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def tvm_target(self) -> Any:
        """The ``tvm.target.Target`` this target compiles for."""
        import tvm

        if self.host is not None:
            return tvm.target.Target(self.tvm, host=self.host)
        return tvm.target.Target(self.tvm)
