"""The search: builders, runners, cost model, strategies, and the ``opforge`` command.

``tune_op(op, target, store, TuneOptions(trials=64))`` tunes one op; ``TuningSession`` and
``Tuner`` / ``TaskScheduler`` are the parts it is made of, each taking its collaborators in.
"""

from .budget import Budget
from .cost_model import CostModel, RandomCostModel, XGBCostModel, make_cost_model
from .measure import Builder, MeasureResult, Runner
from .session import TuneOptions, TuningSession, tune_op
from .store import DBStore, MemoryStore, Store, Task
from .strategies import STRATEGIES, make_strategy
from .task_scheduler import TaskScheduler
from .tuner import TrialEvent, Tuner, TuneResult

__all__ = [
    "STRATEGIES", "Budget", "Builder", "CostModel", "DBStore", "MeasureResult", "MemoryStore", "RandomCostModel", "Runner",
    "Store", "Task", "TaskScheduler", "TrialEvent", "TuneOptions", "TuneResult", "Tuner", "TuningSession", "XGBCostModel",
    "make_cost_model", "make_strategy", "tune_op",
]
