"""Measuring on devices registered at a TVM RPC tracker (``python -m tvm.exec.rpc_tracker``).

``RpcRunner`` has the local ``Runner``'s interface. Each candidate goes to one local worker
process (never the tuner's own) that asks the tracker for a device of ``key``, uploads the
shared library, loads it there, copies the check's inputs over, compares the first result with
the reference here, then times it there with TVM's ``time_evaluator``. There is one worker per
device registered under ``key`` when the runner starts, so a batch is measured on several
devices at once. A device that disappears mid-run fails the candidates it held (``run_error``)
or leaves them waiting for a free device past the time limit (``timeout``); the run goes on.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .pool import Call, WorkerPool, job_module
from .result import BuildResult, MeasureResult
from .runner import ArgSpec, Check, check_runner_options, cutoff_arg, job_inputs, measure_module, to_measure_result

RPC_RUN_JOB = "autotune.measure.rpc:rpc_run_job"

_ADDRESS = re.compile(r"^\[?([A-Za-z0-9_.:-]+?)\]?:(\d{1,5})$")


@dataclass(frozen=True)
class RpcTracker:
    """Where the tracker listens and which device key to ask it for."""

    host: str
    port: int
    key: str

    @classmethod
    def parse(cls, address: str, key: str) -> "RpcTracker":
        """``RpcTracker.parse("127.0.0.1:9190", "rasp4")``; a malformed address names the expected form."""
        m = _ADDRESS.match(address.strip())
        if not m or not 0 < int(m.group(2)) < 65536:
            raise ValueError(f"--rpc {address!r}: expected HOST:PORT of an RPC tracker, e.g. 127.0.0.1:9190")
        if not key or not key.strip():
            raise ValueError("--rpc needs --rpc-key KEY: the device key the servers registered with (rpc_server --key)")
        return cls(m.group(1), int(m.group(2)), key.strip())

    def __str__(self) -> str:
        return f"{self.host}:{self.port} key {self.key}"


def tracker_devices(tracker: RpcTracker) -> int:
    """How many servers are registered at ``tracker`` under its key (0 where none)."""
    import socket

    from tvm import rpc

    try:  # fail in seconds, not after TVM's minute of retries
        socket.create_connection((tracker.host, tracker.port), timeout=5).close()
        summary = rpc.connect_tracker(tracker.host, tracker.port).summary()
    except (OSError, RuntimeError) as e:
        raise ConnectionError(f"no RPC tracker at {tracker.host}:{tracker.port}: {e}") from None
    # a server registers as "server:KEY"
    return sum(1 for s in summary.get("server_info", []) if str(s.get("key", "")).partition(":")[2] == tracker.key)


def rpc_run_job(
    artifact: str,
    args: list[dict[str, Any]],
    check: dict[str, Any] | None,
    warmup: int,
    repeats: int,
    number: int,
    min_repeat_ms: float,
    tracker_host: str,
    tracker_port: int,
    key: str,
    device: str = "cpu",
    session_timeout_secs: float = 0,
    seed: int = 0,
    cutoff_secs: float | None = None,
) -> dict[str, Any]:
    """Runs in a local worker: measure ``artifact`` on a device the tracker hands out."""
    from tvm import rpc

    remote = rpc.connect_tracker(tracker_host, tracker_port).request(key, priority=1, session_timeout=session_timeout_secs)
    name = os.path.basename(artifact)
    remote.upload(artifact)
    try:
        lib = remote.load_module(name)
        out = measure_module(lib, remote.device(device, 0), args, check, warmup, repeats, number, min_repeat_ms, seed, cutoff_secs)
    finally:
        try:
            remote.remove(name)
        except Exception:  # noqa: BLE001 - the device may be gone; its files with it
            pass
    return out


class RpcRunner:
    """Measures built candidates on the devices registered at an RPC tracker, several at once.

    ``parallelism`` (default: the devices registered under the key now, at least 1) is how many
    candidates are in flight together; the tuner hands over that many per call to ``run``.
    ``timeout_secs`` covers the wait for a free device, the upload and the measurement.
    """

    def __init__(
        self,
        tracker: RpcTracker,
        timeout_secs: float = 60.0,
        warmup: int = 1,
        repeats: int = 5,
        number: int = 0,
        min_repeat_ms: float = 40.0,
        device: str = "cpu",
        parallelism: int | None = None,
        env: Mapping[str, str] | None = None,
        job: str = RPC_RUN_JOB,
    ) -> None:
        check_runner_options(timeout_secs, warmup, repeats, number)
        self.tracker = tracker
        self.parallelism = parallelism or max(1, tracker_devices(tracker))
        self.timeout_secs = timeout_secs
        self.options = {
            "warmup": warmup, "repeats": repeats, "number": number, "min_repeat_ms": min_repeat_ms, "device": device,
            "tracker_host": tracker.host, "tracker_port": tracker.port, "key": tracker.key,
            # the server ends a session that outlives the tuner's time limit, so a dead tuner frees its device
            "session_timeout_secs": timeout_secs,
        }
        self.job = job
        self._pool = WorkerPool(self.parallelism, env, preload=["tvm", job_module(job)])

    def run(
        self, builds: Sequence[BuildResult], args: Sequence[ArgSpec], check: Check | None, cutoff_secs: float | None = None
    ) -> list[MeasureResult]:
        """One MeasureResult per build, in order; the ok builds are measured in parallel (``cutoff_secs`` as in ``Runner``)."""
        arg_dicts, check_dict = job_inputs(args, check)
        ok = [b for b in builds if b.ok]
        job_args = {"args": arg_dicts, "check": check_dict, **self.options, **cutoff_arg(cutoff_secs)}
        calls = [Call(self.job, {"artifact": b.artifact, **job_args}) for b in ok]
        outcomes = iter(self._pool.map(calls, self.timeout_secs))
        results = []
        for b in builds:
            if not b.ok:
                results.append(MeasureResult.failed(b.status, b.error or "build failed", b.trace, b.build_secs))
                continue
            o = next(outcomes)
            results.append(to_measure_result(b, o.value, o.error, self.timeout_secs))
        return results

    def close(self) -> None:
        self._pool.shutdown()

    def __enter__(self) -> "RpcRunner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
