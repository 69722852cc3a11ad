"""Features of a candidate for the cost model: TVM's per-store features of the scheduled program.

Which and why: ``ProgramFeatures`` applies the Config to the lowered op (in this process: applying
a schedule runs no kernel) and extracts TVM MetaSchedule's ``PerStoreFeature`` vectors, 164 numbers
per buffer store (loop extents and kinds around it, arithmetic counts, bytes touched per buffer
and their reuse, arithmetic-intensity curve). They describe the *program*, not the knobs, so one
model learns across workloads: records of other ops on the same target warm-start it, which
Config-knob vectors (different knobs per op) cannot do. A program has a varying number of stores,
so the per-store rows are pooled into a fixed vector: mean and max over stores plus the count.
Extraction is C++ on every core: about 1 ms per candidate for matmul, plus 3 ms to apply the
Config; results are cached by Config. Guarded reads (a padded conv2d's) make TVM's extractor 3x
slower, so a Config that keeps its bounds tests (pad knobs at ``guard``) is described through the
guard-free twin (``dsl.lower(op, guards=False)``: the same loops, stores and reads, no bounds
tests): such a padded conv2d candidate costs 9.6 ms in a batch instead of 15.9 (7 ms of it
applying the Config). A Config that copies the padding out has no test left in its inner loops
and is described as it is. A large batch is described in the build
workers, idle while candidates are scored, a chunk each: 8.6 -> 5.7 ms per conv2d candidate on
2 cores (applying a Config is Python, one core per process). Even so, describing the ~570
candidates of one evolutionary batch took longer than building and running it, so the search
describes only the shortlist (~56) that a screen picks: a second model over ``ConfigFeatures``.

``ConfigFeatures`` (``space.encode``) is that screen's input, and the fallback for spaces that
cannot be applied here (tests with fake spaces, a target with no TVM lowering on this machine).
``program_keys`` turns feature rows into program identities, so the search never measures one
program twice under two Configs.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
from collections import OrderedDict
from typing import Any, Callable, Protocol, Sequence

import numpy as np

logger = logging.getLogger(__name__)

PER_STORE_LENGTH = 164
#: mean and max over stores of each per-store feature, then the number of stores
PROGRAM_FEATURE_LENGTH = 2 * PER_STORE_LENGTH + 1


class FeatureExtractor(Protocol):
    """Configs to a 2-D float array, one row per Config (NaN rows for configs that fail to apply)."""

    def __call__(self, configs: Sequence[Any]) -> np.ndarray: ...


class ConfigFeatures:
    """The Space's own numeric encoding of each Config (a NaN row for a Config outside the space,
    e.g. a stored trial of an older space)."""

    def __init__(self, space: Any) -> None:
        self.space = space
        self._width = len(space.encode(space.default()))

    def __call__(self, configs: Sequence[Any]) -> np.ndarray:
        rows = np.full((len(configs), self._width), np.nan)
        for i, c in enumerate(configs):
            if self.space.is_valid(c):
                rows[i] = self.space.encode(c)
        return rows


def program_keys(features: FeatureExtractor) -> Callable[[Sequence[Any]], list[bytes | None]]:
    """A key per Config from its feature row, None where it has none (a NaN row): Configs whose
    programs the features cannot tell apart share one, as do the Configs that differ only in a knob
    the rules ignore (a fused epilogue's own parallel, vector and unroll knobs)."""

    def keys(configs: Sequence[Any]) -> list[bytes | None]:
        rows = features(configs)
        return [row.tobytes() if np.isfinite(row).all() else None for row in rows]

    return keys


def _tune_context(mod: Any, target: Any, threads: int) -> Any:
    """A bare MetaSchedule TuneContext: its Python constructor imports tvm.s_tir.tensor_intrin
    (30-45 s) that feature extraction does not need, so the FFI constructor is called directly.
    ``threads``: how many threads extract features of a batch of candidates in parallel."""
    from tvm.s_tir.meta_schedule import TuneContext, _ffi_api

    ctx = TuneContext.__new__(TuneContext)
    ctx.__init_handle_by_constructor__(_ffi_api.TuneContext, mod, target, None, None, "main", threads, 0, None)
    return ctx


def _apply_to(apply: Callable[[Any, Any, Any], Any], func: Any, target: Any, config: Any) -> Any:
    return apply(func, config, target)


def pool_stores(per_store: np.ndarray) -> np.ndarray:
    """Fixed-length vector of a program from its per-store rows: mean, max, number of stores."""
    if per_store.size == 0:
        return np.zeros(PROGRAM_FEATURE_LENGTH)
    return np.concatenate([per_store.mean(axis=0), per_store.max(axis=0), [float(per_store.shape[0])]])


class ProgramFeatures:
    """Per-store features of ``apply(func, config, target)`` for each Config, cached by Config JSON.

    ``apply`` is ``(func, config, target) -> tvm.s_tir.Schedule`` (by default ``schedules.applier``'s,
    which analyses the program once for all Configs); a Config it rejects gets a NaN row, which the
    model treats as missing values. ``twin``: a program described in ``func``'s place (its
    guard-free twin, never built); a Config the twin rejects is described by ``func`` itself.
    ``workers``: a ``WorkerPool`` (the builders', idle while candidates are scored) that describes
    large batches in parallel, a chunk per worker; a chunk a worker fails is described here.
    """

    def __init__(
        self, func: Any, target: Any, apply: Callable[[Any, Any, Any], Any] | None = None, cache_size: int = 20000, twin: Any = None,
        workers: Any = None, threads: int | None = None,
    ) -> None:
        import tvm
        from tvm.s_tir.meta_schedule.arg_info import ArgInfo
        from tvm.s_tir.meta_schedule.feature_extractor import PerStoreFeature

        from schedules.padding import twin_config

        programs = ([twin] if twin is not None else []) + [func]
        if apply is None:
            from schedules.api import applier

            applies: list[Callable[[Any], Any]] = [applier(f, target) for f in programs]
        else:
            applies = [functools.partial(_apply_to, apply, f, target) for f in programs]
        # (apply, the Config it takes for a Config of func, None: not this one); the twin stands only
        # for a Config that keeps its bounds tests: one that copies the padding out has none left
        self._applies: list[tuple[Callable[[Any], Any], Callable[[Any], Any]]] = list(
            zip(applies, ([_or_none(twin_config)] if twin is not None else []) + [lambda c: c])
        )
        self.func = func
        self.target = target
        # only the default apply can be named to a worker: a custom one is a Python callable
        self._workers = workers if apply is None else None
        self._job_args = _job_args(func, twin, target) if self._workers is not None else None
        self._args_info = ArgInfo.from_prim_func(func)
        # candidates are scored while no kernel is built or run, so extraction may use every core here
        cores = threads or max(1, len(os.sched_getaffinity(0)))
        self._ctx = _tune_context(tvm.IRModule({"main": func}), target.tvm_target(), cores)
        self._extractor = PerStoreFeature()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def __call__(self, configs: Sequence[Any]) -> np.ndarray:
        if not configs:
            return np.zeros((0, PROGRAM_FEATURE_LENGTH))
        keys = [c.to_json() for c in configs]
        todo = {key: c for key, c in zip(keys, configs) if key not in self._cache}
        if todo:
            for key, row in zip(todo, self._describe(list(todo.values()))):
                self._cache[key] = row
        out = np.stack([self._cache[key] for key in keys])
        for key in keys:
            self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return out

    def _describe(self, configs: list[Any]) -> np.ndarray:
        n_workers = getattr(self._workers, "n_workers", 0)
        if n_workers < 2 or len(configs) < WORKER_MIN_CHUNK * 2:
            return self.describe_here(configs)
        from .measure.pool import Call

        n = min(n_workers, len(configs) // WORKER_MIN_CHUNK)
        chunks = [list(part) for part in np.array_split(np.arange(len(configs)), n)]
        calls = [Call(FEATURES_JOB, {**self._job_args, "configs": [configs[i].to_json() for i in idx]}) for idx in chunks]
        rows = np.empty((len(configs), PROGRAM_FEATURE_LENGTH))
        timeout = WORKER_TIMEOUT_SECS + WORKER_SECS_PER_CONFIG * max(len(idx) for idx in chunks)
        for idx, outcome in zip(chunks, self._workers.map(calls, timeout)):
            if outcome.error is None:
                rows[idx] = decode_rows(outcome.value, len(idx))
            else:  # a crashed or slow worker costs time, not features
                logger.info("feature worker failed (%s); describing %d candidates here", outcome.error, len(idx))
                rows[idx] = self.describe_here([configs[i] for i in idx])
        return rows

    def describe_here(self, configs: Sequence[Any]) -> np.ndarray:
        """Rows of ``configs`` computed in this process (no cache)."""
        from tvm.s_tir.meta_schedule.search_strategy import MeasureCandidate

        rows = np.full((len(configs), PROGRAM_FEATURE_LENGTH), np.nan)  # a config that cannot be applied: a missing row
        todo: list[tuple[int, Any]] = []
        for i, c in enumerate(configs):
            sch = self._schedule(c)
            if sch is not None:
                todo.append((i, MeasureCandidate(sch, self._args_info)))
        if todo:
            feats = self._extractor.extract_from(self._ctx, [cand for _, cand in todo])
            for (i, _), f in zip(todo, feats):
                rows[i] = pool_stores(f.numpy())
        return rows

    def _schedule(self, config: Any) -> Any | None:
        for apply, config_for in self._applies:
            try:
                mine = config_for(config)
                if mine is not None:
                    return apply(mine)
            except Exception:  # noqa: BLE001 - the twin may reject what func takes (e.g. a tensorized layout)
                continue
        return None


def _or_none(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` for a schedules Config; None (not convertible) for anything else (a test's fake)."""
    return lambda c: convert(c) if hasattr(c, "items") else None


#: the job a worker runs to describe a chunk of candidates, and the chunk sizes worth sending
FEATURES_JOB = "autotune.features:features_job"
WORKER_MIN_CHUNK = 16
WORKER_TIMEOUT_SECS = 30.0
WORKER_SECS_PER_CONFIG = 0.5


def _job_args(func: Any, twin: Any, target: Any) -> dict[str, Any]:
    from .measure.builder import module_json, target_to_json

    return {"func_json": module_json(func), "twin_json": module_json(twin) if twin is not None else None, "target_json": target_to_json(target)}


def features_job(func_json: str, twin_json: str | None, target_json: str, configs: list[str]) -> str:
    """Runs in a worker: the rows of ``configs`` (Config JSON), as base64 of little-endian float64."""
    from schedules.config import Config

    extractor = _worker_extractor(func_json, twin_json, target_json)
    return encode_rows(extractor.describe_here([Config.from_json(c) for c in configs]))


@functools.lru_cache(maxsize=4)
def _worker_extractor(func_json: str, twin_json: str | None, target_json: str) -> "ProgramFeatures":
    """One extractor per program in a worker process, kept across calls (its analysis costs more than a chunk)."""
    import tvm

    from .measure.builder import target_from_json

    func = tvm.ir.load_json(func_json)["main"]
    twin = tvm.ir.load_json(twin_json)["main"] if twin_json is not None else None
    return ProgramFeatures(func, target_from_json(target_json), cache_size=0, twin=twin, threads=1)


def encode_rows(rows: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(rows, dtype="<f8").tobytes()).decode("ascii")


def decode_rows(text: str, n: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f8").reshape(n, PROGRAM_FEATURE_LENGTH)
