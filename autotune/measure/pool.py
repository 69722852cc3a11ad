"""Worker processes with a hard time limit per call, restarted after a crash or a timeout.

Why not ``concurrent.futures.ProcessPoolExecutor`` or TVM's ``PopenPoolExecutor``: the first
cannot stop a hung task and breaks the whole pool when one worker segfaults; the second times
out from a timer thread inside the worker, which never fires while a compiled kernel spins in
C holding the GIL (TVM's FFI does not release it). Here the parent owns the clock: it waits on
the answer pipe with a deadline and kills the worker (and its children) when the deadline
passes or the pipe closes. Requests and answers are JSON lines; nothing is pickled.

A worker imports its ``preload`` modules (TVM, the schedule code) before it says it is ready, and
a call's clock starts only then: interpreter start and a cold ``import tvm`` (seconds on a loaded
machine) are not charged to the first candidate a fresh worker builds or runs.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

logger = logging.getLogger(__name__)


class WorkerError(Exception):
    """The job raised inside the worker; ``str(e)`` is ``"Type: message"``."""

    def __init__(self, message: str, traceback_text: str = "") -> None:
        super().__init__(message)
        self.traceback_text = traceback_text


class WorkerTimeout(Exception):
    """The job did not answer within its time limit; the worker was killed."""


class WorkerCrashed(Exception):
    """The worker died while running the job (segfault, abort, out of memory, exit)."""


@dataclass(frozen=True)
class Call:
    """One job for a worker: ``job`` is ``"package.module:function"``, ``args`` JSON keyword args."""

    job: str
    args: Mapping[str, Any]


def job_module(job: str) -> str:
    """The module of a job named ``"package.module:function"`` (what a worker can preload for it)."""
    return job.partition(":")[0]


@dataclass(frozen=True)
class Outcome:
    """What came back from one call: a JSON value, or the exception that stood in for it."""

    value: Any = None
    error: Exception | None = None


def _signal_name(returncode: int) -> str:
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


#: how long a fresh worker may take to start and import its preload modules
START_TIMEOUT_SECS = 300.0


class Worker:
    """One worker process, started on first use and again after it was killed.

    ``preload``: modules the worker imports before its first call, outside that call's time limit.
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        log_dir: str | None = None,
        preload: Sequence[str] = (),
        start_timeout_secs: float = START_TIMEOUT_SECS,
    ) -> None:
        self._env = dict(env or {})
        self._log_dir = log_dir
        self._preload = list(preload)
        self._start_timeout_secs = start_timeout_secs
        self._proc: subprocess.Popen[bytes] | None = None
        self._writer: Any = None
        self._reader_fd = -1
        self._buffer = b""
        self._log_path: Path | None = None

    def _start(self) -> None:
        main_read, worker_write = os.pipe()
        worker_read, main_write = os.pipe()
        env = dict(os.environ)
        # the worker imports what the parent can import (pytest's rootdir, editable installs)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        env.update(self._env)
        fd, log_name = tempfile.mkstemp(prefix="opforge-worker-", suffix=".log", dir=self._log_dir)
        self._log_path = Path(log_name)
        with os.fdopen(fd, "wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "autotune.measure.worker", str(worker_read), str(worker_write), *self._preload],
                pass_fds=(worker_read, worker_write),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
            )
        os.close(worker_read)
        os.close(worker_write)
        self._writer = os.fdopen(main_write, "w")
        self._reader_fd = main_read
        self._buffer = b""
        self._await_ready()

    def _await_ready(self) -> None:
        """Wait for the worker's first line, sent once its preload modules are imported."""
        try:
            line = self._read_line(time.monotonic() + self._start_timeout_secs)
        except BaseException:
            self.close()
            raise
        if line is None:
            self.close()
            raise WorkerCrashed(f"worker did not start within {self._start_timeout_secs:g} s; killed")
        ready = json.loads(line)
        if not ready.get("ready"):
            self.close()
            raise WorkerCrashed(f"worker could not start: {ready.get('error')}")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def call(self, job: str, args: Mapping[str, Any], timeout_secs: float) -> Any:
        """Run ``job(**args)`` in the worker and return its JSON value.

        Raises WorkerError (the job raised), WorkerTimeout (killed after ``timeout_secs``) or
        WorkerCrashed (the process died, e.g. SIGSEGV).
        """
        if self._proc is None:
            self._start()  # the call's clock starts once the worker is ready
        try:
            self._writer.write(json.dumps({"job": job, "args": dict(args)}) + "\n")
            self._writer.flush()
        except (BrokenPipeError, OSError):
            raise self._crashed() from None
        try:
            return self._answer(timeout_secs)
        except (WorkerError, WorkerTimeout, WorkerCrashed):
            raise
        except BaseException:
            # interrupted while the job runs (Ctrl-C): its late answer must not be read as the next one's
            self.close()
            raise

    def _answer(self, timeout_secs: float) -> Any:
        line = self._read_line(time.monotonic() + timeout_secs)
        if line is None:
            self.close()
            raise WorkerTimeout(f"no answer within {timeout_secs:g} s; worker killed")
        answer = json.loads(line)
        if answer["ok"]:
            return answer["value"]
        raise WorkerError(answer["error"], answer.get("traceback", ""))

    def _read_line(self, deadline: float) -> bytes | None:
        """The worker's next line, or None once ``deadline`` (monotonic) has passed."""
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                ready, _, _ = select.select([self._reader_fd], [], [], left)
                if not ready:
                    continue
                chunk = os.read(self._reader_fd, 1 << 16)
            except (OSError, ValueError):  # closed under us by close() from another thread
                raise WorkerCrashed("worker was stopped") from None
            if not chunk:
                raise self._crashed()
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _crashed(self) -> WorkerCrashed:
        code = None
        if self._proc is not None:
            try:
                code = self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        tail = self._log_tail()
        self.close()
        how = _signal_name(code) if code is not None else "a closed pipe"
        return WorkerCrashed(f"worker died ({how})" + (f": {tail}" if tail else ""))

    def _log_tail(self, max_chars: int = 300) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        text = self._log_path.read_text(errors="replace").strip()
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return " | ".join(lines[-3:])[-max_chars:]

    def close(self) -> None:
        """Kill the process (and anything it started) and forget it; the next call starts afresh."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for f in (self._writer,):
            try:
                f.close()
            except OSError:
                pass
        try:
            os.close(self._reader_fd)
        except OSError:
            pass
        if proc.poll() is None:
            _kill_tree(proc.pid)
            proc.wait()
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None


def _kill_tree(pid: int) -> None:
    try:
        import psutil

        children = psutil.Process(pid).children(recursive=True)
    except Exception:  # noqa: BLE001 - psutil missing or the process already gone
        children = []
    for p in [*children]:
        try:
            p.kill()
        except Exception:  # noqa: BLE001
            pass
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class WorkerPool:
    """``n_workers`` workers running calls in parallel, each call with its own time limit."""

    def __init__(self, n_workers: int, env: Mapping[str, str] | None = None, preload: Sequence[str] = ()) -> None:
        if n_workers < 1:
            raise ValueError(f"n_workers must be at least 1, got {n_workers}")
        self.n_workers = n_workers
        self._idle: queue.SimpleQueue[Worker] = queue.SimpleQueue()
        self._workers = [Worker(env, preload=preload) for _ in range(n_workers)]
        for w in self._workers:
            self._idle.put(w)
        self._threads = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="opforge-pool")

    def _one(self, call: Call, timeout_secs: float) -> Outcome:
        worker = self._idle.get()
        try:
            return Outcome(value=worker.call(call.job, call.args, timeout_secs))
        except (WorkerError, WorkerTimeout, WorkerCrashed) as e:
            return Outcome(error=e)
        finally:
            self._idle.put(worker)

    def map(self, calls: Sequence[Call], timeout_secs: float) -> list[Outcome]:
        """Outcomes of ``calls`` in order; a failed call is an Outcome with ``error`` set."""
        futures = [self._threads.submit(self._one, c, timeout_secs) for c in calls]
        return [f.result() for f in futures]

    def close(self) -> None:
        """Kill every worker; the pool can still be used afterwards (workers restart)."""
        for w in self._workers:
            w.close()

    def shutdown(self) -> None:
        self.close()
        self._threads.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
