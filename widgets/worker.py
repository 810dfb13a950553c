"""The explorer's one background thread: jobs run one at a time, a new job cancels the one running.

A job is a callable `job(stop)` that checks the `threading.Event` it is given (the engine checks
it between local steps). Between jobs the thread holds no reference to whoever submitted them, so
an explorer dropped without `close()` is garbage-collected, and `weakref.finalize` ends the thread.
"""
from __future__ import annotations

import ctypes
import logging
import sys
import threading
import weakref
from typing import Callable, Optional

log = logging.getLogger(__name__)
Job = Callable[[threading.Event], None]
# glibc's malloc_trim (None elsewhere: macOS, Windows, musl), found once, not at interpreter exit
_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None) if sys.platform.startswith("linux") else None


def return_freed_memory() -> None:
    """Hand the C heap's free pages back to the system. The tensors a run frees stay with the
    allocator, so a closed explorer's memory still counted against the kernel: measured, 70-90
    MB after 30 runs at the tiny preset, returned by this call."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class Worker:
    """One daemon thread and a one-slot queue (the newest job wins).

    Example:
        >>> w = Worker(); w.submit(lambda stop: print("hi")); w.wait(5); w.close()
    """

    def __init__(self, name: str = "dssl-explorer"):
        self.name = name
        self._cv = threading.Condition()
        self._job: Optional[Job] = None
        self._busy = False
        self._stop = threading.Event()
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        self.on_idle: Optional[weakref.WeakMethod] = None  # called (weakly) when the queue empties

    @property
    def busy(self) -> bool:
        with self._cv:
            return self._busy or self._job is not None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, job: Job) -> None:
        """Queue `job`, replacing a queued one and stopping the one running (it ends within a
        local step; `job` starts once it has returned)."""
        with self._cv:
            if self._closed:
                raise RuntimeError("this explorer is closed; build a new one")
            self._job = job
            self._stop.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
            self._cv.notify_all()

    def stop(self) -> None:
        """Stop the job running and drop the one queued."""
        with self._cv:
            self._job = None
            self._stop.set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until idle; True if idle, False on timeout."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._busy and self._job is None, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the job running, drop the queue and end the thread."""
        with self._cv:
            self._closed, self._job = True, None
            self._stop.set()
            self._cv.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._job is not None or self._closed)
                if self._closed:
                    self._busy = False
                    self._cv.notify_all()
                    return
                job, self._job = self._job, None
                self._stop = stop = threading.Event()
                self._busy = True
            try:
                job(stop)
            except Exception:  # a job reports its own errors; this only keeps the thread alive
                log.exception("explorer job failed")
            job = None  # hold nothing of the submitter between jobs
            with self._cv:
                self._busy = self._job is not None
                idle = not self._busy and not self._closed
                self._cv.notify_all()
            callback = self.on_idle() if idle and self.on_idle is not None else None
            if callback is not None:
                callback()
            callback = None
