"""Schedule spaces: knobs derived by rules from a program's block structure, configs, and applying them.

``space_for(op, target)`` gives a Space of independent knobs; ``apply(op, config, target)`` the
``tvm.s_tir.Schedule`` a Config describes, deterministically; ``apply_with_trace`` also the TVM
trace (JSON text) that is stored beside the config.
"""

from .api import apply, apply_with_trace, program_of, show_scheduled, space_for
from .config import Config, Value
from .errors import ScheduleError
from .space import Knob, Space

__all__ = [
    "Config", "Knob", "ScheduleError", "Space", "Value",
    "apply", "apply_with_trace", "program_of", "show_scheduled", "space_for",
]
