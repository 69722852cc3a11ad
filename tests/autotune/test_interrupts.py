"""Ctrl-C held off a critical section, then delivered."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from autotune.interrupts import sigint_deferred


def test_sigint_in_the_body_is_delivered_after_the_body_finishes(python_sigint):
    done = []
    with pytest.raises(KeyboardInterrupt):
        with sigint_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("rest of the body")
    assert done == ["rest of the body"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_no_sigint_leaves_the_handler_as_it_was(python_sigint):
    with sigint_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_outside_the_main_thread_the_body_just_runs(python_sigint):
    seen = []

    def body():
        with sigint_deferred():
            seen.append(signal.getsignal(signal.SIGINT))

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert seen == [signal.default_int_handler]
