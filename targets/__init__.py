"""Where kernels run: the host CPU, CUDA GPUs, and edge boards over TVM RPC."""

from .cuda import has_cuda
from .registry import DESCRIPTIONS, TARGETS, UnknownTargetError, get_target
from .target import Peaks, Target

__all__ = ["DESCRIPTIONS", "TARGETS", "Peaks", "Target", "UnknownTargetError", "get_target", "has_cuda"]
