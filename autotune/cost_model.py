"""Cost models: predict which candidates run fastest, from features of their programs.

``XGBCostModel`` is a gradient-boosted ranker (XGBoost ``rank:pairwise``): only the order of the
candidates matters to the search, and a ranking loss learns order across workloads whose absolute
times differ by orders of magnitude. Each workload is one query group; its label is throughput
relative to the group's best (``best_secs / secs``, 0 for a failed trial). The model is retrained
from scratch on all data after each batch (hundreds of rows: milliseconds), warm-started with
stored records of the same target, and saved in XGBoost's own JSON/UBJ format, never pickled.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np


class CostModel(Protocol):
    """Learns from (features, seconds) per workload; scores new features, higher = faster."""

    @property
    def trained(self) -> bool: ...

    def update(self, group: str, features: np.ndarray, run_secs: Sequence[float]) -> None: ...

    def predict(self, features: np.ndarray) -> np.ndarray: ...


def relative_throughput(run_secs: Sequence[float]) -> np.ndarray:
    """``best / secs`` per trial of one workload, in (0, 1]; failed trials (inf or NaN) get 0."""
    secs = np.asarray(run_secs, dtype=np.float64)
    finite = np.isfinite(secs) & (secs > 0)
    out = np.zeros(secs.shape)
    if finite.any():
        out[finite] = secs[finite].min() / secs[finite]
    return out


class XGBCostModel:
    """XGBoost ranker trained online; ``min_samples`` successful trials before it predicts."""

    def __init__(
        self,
        seed: int = 0,
        num_rounds: int = 60,
        min_samples: int = 8,
        objective: str = "rank:pairwise",
        params: dict | None = None,
    ) -> None:
        if objective not in ("rank:pairwise", "rank:ndcg", "rank:map"):
            raise ValueError(f"objective {objective!r} is not a ranking objective; expected rank:pairwise, rank:ndcg or rank:map")
        self.seed = seed
        self.num_rounds = num_rounds
        self.min_samples = min_samples
        self.params = {
            "objective": objective,
            "eta": 0.2,
            "max_depth": 6,
            "min_child_weight": 1,
            "subsample": 1.0,
            "lambdarank_pair_method": "mean",
            "lambdarank_num_pair_per_sample": 8,
            "nthread": 1,  # the cores belong to the builders and the runner
            "seed": seed,
            **(params or {}),
        }
        self._groups: dict[str, tuple[list[np.ndarray], list[float]]] = {}
        self._booster: Any = None

    @property
    def trained(self) -> bool:
        return self._booster is not None

    @property
    def n_samples(self) -> int:
        return sum(len(s) for _, s in self._groups.values())

    def update(self, group: str, features: np.ndarray, run_secs: Sequence[float]) -> None:
        """Add trials of workload ``group`` and retrain once enough of them succeeded."""
        features = np.asarray(features, dtype=np.float64)
        if len(features) != len(run_secs):
            raise ValueError(f"{len(features)} feature rows for {len(run_secs)} timings")
        if len(features) == 0:
            return
        rows, secs = self._groups.setdefault(group, ([], []))
        rows.extend(features)
        secs.extend(float(s) for s in run_secs)
        self._fit()

    def _fit(self) -> None:
        import xgboost as xgb

        xs, labels, qids = [], [], []
        width = None
        for qid, (rows, secs) in enumerate(self._groups.values()):
            if len(rows) < 2 or not any(math.isfinite(s) for s in secs):
                continue  # a group of one, or of failures only, orders nothing
            width = width or len(rows[0])
            if len(rows[0]) != width:
                raise ValueError(f"feature width {len(rows[0])} differs from {width} of earlier groups")
            xs.append(np.stack(rows))
            labels.append(relative_throughput(secs))
            qids.append(np.full(len(rows), qid))
        n_ok = sum(int((lab > 0).sum()) for lab in labels)
        if n_ok < self.min_samples:
            return
        dtrain = xgb.DMatrix(np.concatenate(xs), label=np.concatenate(labels), qid=np.concatenate(qids))
        self._booster = xgb.train(self.params, dtrain, num_boost_round=self.num_rounds)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """A score per row, higher for faster; zeros while untrained."""
        features = np.asarray(features, dtype=np.float64)
        if self._booster is None or len(features) == 0:
            return np.zeros(len(features))
        import xgboost as xgb

        return self._booster.predict(xgb.DMatrix(features))

    def save(self, path: str | Path) -> None:
        """The booster in XGBoost's format (``.json`` or ``.ubj`` by suffix) and its settings beside it."""
        if self._booster is None:
            raise ValueError("the cost model is untrained; nothing to save")
        path = Path(path)
        if path.suffix not in (".json", ".ubj"):
            raise ValueError(f"model file {path.name!r} must end in .json or .ubj (XGBoost's own formats)")
        self._booster.save_model(str(path))
        meta = {"seed": self.seed, "num_rounds": self.num_rounds, "min_samples": self.min_samples, "params": self.params}
        path.with_name(path.name + ".meta.json").write_text(json.dumps(meta, sort_keys=True))

    @classmethod
    def load(cls, path: str | Path) -> "XGBCostModel":
        """A trained model from ``save``; it keeps learning if updated (on its new data only)."""
        import xgboost as xgb

        path = Path(path)
        meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
        params = dict(meta["params"])
        model = cls(seed=meta["seed"], num_rounds=meta["num_rounds"], min_samples=meta["min_samples"], objective=params.pop("objective"), params=params)
        booster = xgb.Booster()
        booster.load_model(str(path))
        model._booster = booster
        return model


class RandomCostModel:
    """Scores at random: the model-free baseline (random search through the same machinery)."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)

    @property
    def trained(self) -> bool:
        return True

    def update(self, group: str, features: np.ndarray, run_secs: Sequence[float]) -> None:
        pass

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self._rng.random(len(features))


COST_MODELS = {"xgb": XGBCostModel, "random": RandomCostModel}


def make_cost_model(name: str, seed: int = 0) -> CostModel:
    """``"xgb"`` or ``"random"``."""
    if name not in COST_MODELS:
        raise ValueError(f"unknown cost model {name!r}; expected one of {sorted(COST_MODELS)}")
    return COST_MODELS[name](seed=seed)
