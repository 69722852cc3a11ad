"""Where kernels run: the host CPU, CUDA GPUs, and edge boards over TVM RPC."""

from .cuda import has_cuda
from .registry import TARGETS, UnknownTargetError, get_target
from .target import Target

__all__ = ["TARGETS", "Target", "UnknownTargetError", "get_target", "has_cuda"]
