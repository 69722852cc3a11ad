"""The measurement worker process: reads JSON requests, calls a named job, answers in JSON.

Started by :class:`autotune.measure.pool.Worker` as ``python -m autotune.measure.worker FD_IN FD_OUT
[MODULE ...]``: it imports the modules, answers one ready line, then serves requests.
Requests and answers are single JSON lines on two private pipes, so a kernel or a compiler that
writes to stdout cannot corrupt the protocol (fd 1 is pointed at stderr). Nothing is unpickled:
a request names its job as ``"module:function"`` and carries JSON arguments only.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any, Callable


def resolve(path: str) -> Callable[..., Any]:
    """The function named ``"package.module:function"``."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"job {path!r} is not of the form 'package.module:function'")
    fn = importlib.import_module(module_name)
    for part in attr.split("."):
        fn = getattr(fn, part)
    if not callable(fn):
        raise TypeError(f"job {path!r} is not callable")
    return fn  # type: ignore[return-value]


def serve(reader: Any, writer: Any) -> None:
    """Answer requests until the parent closes the pipe."""
    for line in reader:
        request = json.loads(line)
        try:
            value = resolve(request["job"])(**request["args"])
            answer: dict[str, Any] = {"ok": True, "value": value}
        except Exception as e:  # noqa: BLE001 - every job failure is data for the parent
            answer = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        writer.write(json.dumps(answer) + "\n")
        writer.flush()


def ready_line(modules: list[str]) -> dict[str, Any]:
    """Import ``modules``; the first line the worker sends (``ready`` false names the import that failed)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - the parent reports it as a worker that could not start
            return {"ready": False, "error": f"import {name}: {type(e).__name__}: {e}"}
    return {"ready": True}


def _exit_with_parent(parent_pid: int) -> None:
    # a worker must not outlive a tuner killed with SIGKILL while it was busy
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)


def main(argv: list[str]) -> None:
    fd_in, fd_out = int(argv[1]), int(argv[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the tuner's to handle, not ours
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    os.dup2(2, 1)  # stray prints of jobs go to stderr, never into the answer pipe
    sys.stdout = sys.stderr
    with os.fdopen(fd_in, "r") as reader, os.fdopen(fd_out, "w") as writer:
        writer.write(json.dumps(ready_line(argv[3:])) + "\n")
        writer.flush()
        serve(reader, writer)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except (KeyboardInterrupt, BrokenPipeError):
        pass
