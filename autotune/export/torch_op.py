"""PyTorch: an exported kernel as a custom operator, ``torch.ops.opforge.<name>(a, b)``.

``handle = register("out/matmul.so")`` defines the operator through ``torch.library`` with a CPU
implementation that calls the kernel on the tensors' memory (DLPack, no copy) and a fake
implementation giving the output's shape and dtype, so ``torch.compile`` traces it without running
it. The registration lives as long as ``handle``; drop it (or ``handle.close()``) to remove it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .load import Kernel, load


@dataclass
class TorchOp:
    """A registered operator: ``op`` is ``torch.ops.<namespace>.<name>``; ``library`` keeps it registered."""

    qualname: str
    op: Any
    kernel: Kernel
    library: Any

    def __call__(self, *args: Any) -> Any:
        return self.op(*args)

    def close(self) -> None:
        """Remove the operator from PyTorch's registry."""
        self.library._destroy()


def schema(kernel: Kernel) -> str:
    """``(Tensor A, Tensor B) -> Tensor``: the operator's schema from the manifest's arguments."""
    ins = ", ".join(f"Tensor {a.name}" for a in kernel.inputs)
    outs = kernel.info.outputs
    ret = "Tensor" if len(outs) == 1 else "(" + ", ".join("Tensor" for _ in outs) + ")"
    return f"({ins}) -> {ret}"


def register(kernel: Kernel | str | os.PathLike[str], name: str | None = None, namespace: str = "opforge", kernel_name: str | None = None) -> TorchOp:
    """Register an exported kernel (a loaded :class:`Kernel` or a library path) as ``torch.ops.<namespace>.<name>``.

    ``name`` defaults to the kernel's name; registering a name twice is an error (close the first).
    """
    import torch

    if not isinstance(kernel, Kernel):
        kernel = load(kernel, kernel_name)
    if kernel.manifest.target.device != "cpu":
        raise ValueError(f"{kernel.name} runs on {kernel.manifest.target.device}; the PyTorch operator is registered for CPU kernels only")
    name = name or kernel.name
    qualname = f"{namespace}::{name}"
    info = kernel.info
    dtypes = {a.name: getattr(torch, a.dtype) for a in info.args}

    def check(inputs: tuple[Any, ...]) -> None:
        for x, a in zip(inputs, kernel.inputs):
            if tuple(x.shape) != a.shape or x.dtype != dtypes[a.name]:
                raise ValueError(
                    f"{qualname}: {a.name} is {x.dtype} {tuple(x.shape)}, the kernel takes {dtypes[a.name]} {a.shape}"
                )

    def fake(*inputs: Any) -> Any:
        check(inputs)
        outs = [inputs[0].new_empty(a.shape, dtype=dtypes[a.name]) for a in info.outputs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def cpu(*inputs: Any) -> Any:
        check(inputs)
        # torch.empty is 64-byte aligned and dense, as the kernel assumes
        outs = [torch.empty(a.shape, dtype=dtypes[a.name]) for a in info.outputs]
        kernel(*(x.contiguous() for x in inputs), *outs)
        return outs[0] if len(outs) == 1 else tuple(outs)

    lib = torch.library.Library(namespace, "FRAGMENT")
    try:
        lib.define(f"{name}{schema(kernel)}")
    except RuntimeError as e:
        raise ValueError(f"torch.ops.{namespace}.{name} is already registered; close() the first or pass another name ({e})") from None
    lib.impl(name, cpu, "CPU")
    torch.library.register_fake(qualname, fake, lib=lib)
    return TorchOp(qualname, getattr(getattr(torch.ops, namespace), name), kernel, lib)
