"""Daemon worker threads for skill calls.

Not concurrent.futures.ThreadPoolExecutor: its threads are joined at interpreter exit, so one
skill stuck past its timeout would keep `wk` from ever exiting. Threads start on demand, up
to `size`, and are reused.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class Workers:
    def __init__(self, size: int, name: str = "skill") -> None:
        self._size, self._name = size, name
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = 0
        self._idle = 0

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            # Reserve an idle worker for this job, or start one: two jobs submitted at once must
            # never both count on the same idle worker (the second would wait for the first).
            if self._idle > 0:
                self._idle -= 1
            elif self._started < self._size:
                self._started += 1
                threading.Thread(target=self._loop, name=f"{self._name}-{self._started}", daemon=True).start()
        self._jobs.put((fn, future))
        return future

    def _loop(self) -> None:
        while True:
            fn, future = self._jobs.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # handed to the caller, who decides
                    future.set_exception(exc)
            with self._lock:
                self._idle += 1
