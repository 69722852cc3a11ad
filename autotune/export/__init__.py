"""Export tuned kernels into runtimes: a shared library with a manifest and a C header, Python, PyTorch, Relax.

``export_library(items, target, db, out_dir)`` compiles the best record of each op (``opforge
export`` on the command line); ``load(path)`` gives a kernel callable on numpy arrays or any DLPack
tensor and needs only ``apache-tvm-ffi`` and numpy; ``torch_op.register`` makes it
``torch.ops.opforge.<name>``; ``relax`` compiles Relax models with opforge's database applied.
Importing this package imports neither TVM's compiler nor PyTorch.
"""

from .load import ArgumentError, FingerprintWarning, Kernel, Library, SerialFallbackWarning, load, load_library, read_manifest
from .manifest import ArgInfo, KernelInfo, Manifest, Measured, TargetEntry

__all__ = [
    "ArgInfo", "ArgumentError", "FingerprintWarning", "Kernel", "KernelInfo", "Library", "Manifest", "Measured",
    "SerialFallbackWarning", "TargetEntry", "load", "load_library", "read_manifest",
]
