"""A TVM RPC tracker and servers on loopback, as real processes, for the remote-measurement tests.

Every process starts in its own session (process group) so that killing a "device" kills the
server and the worker process it forked, as pulling a board's plug would; ``Fleet.close`` ends
them all. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Sequence


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen, timeout_secs: float) -> None:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_secs} s")


def registered(tracker_port: int, key: str) -> int:
    from autotune.measure.rpc import RpcTracker, tracker_devices

    return tracker_devices(RpcTracker("127.0.0.1", tracker_port, key))


@dataclass
class Fleet:
    """A tracker and the servers registered at it (``servers``: Popen per device)."""

    tracker_port: int
    tracker: subprocess.Popen
    servers: list[subprocess.Popen] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.tracker_port}"

    def add_server(self, key: str, command: Sequence[str] | None = None) -> subprocess.Popen:
        """Start one RPC server registered under ``key`` (``command``: another launcher, e.g. an emulated board)."""
        port = free_port()
        argv = list(command or [sys.executable, "-m", "tvm.exec.rpc_server"])
        argv += ["--host", "127.0.0.1", "--port", str(port), "--port-end", str(port + 1), "--tracker", self.address, "--key", key]
        proc = subprocess.Popen(argv, env=self.env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.servers.append(proc)
        return proc

    def wait_registered(self, key: str, n: int, timeout_secs: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_secs
        while registered(self.tracker_port, key) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} servers under {key!r} did not register within {timeout_secs} s")
            time.sleep(0.3)

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        """Kill a process and everything in its group (a server and the session processes it forked)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def close(self) -> None:
        for p in [*self.servers, self.tracker]:
            self.kill(p)


def start_fleet(timeout_secs: float = 30.0) -> Fleet:
    """A tracker on a free loopback port, servers to be added with ``Fleet.add_server``."""
    port = free_port()
    env = {**os.environ, "TVM_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tvm.exec.rpc_tracker", "--host", "127.0.0.1", "--port", str(port), "--port-end", str(port + 1)],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _wait_listening(port, proc, timeout_secs)
    return Fleet(port, proc, env=env)
