"""The incident workers in a process of their own beside `wk serve`: one Python process runs on one
core at a time, so the manager answers webhooks on one while the assigner, the investigator and the
notifier work on the other. The manager hands the child its settings (pickled on the child's stdin,
which then stays open: its end means the manager is gone, even after a kill -9) and stops it with
SIGTERM; a child that exits on its own is started again. The child reports what /metrics counts as
JSON lines on its stdout: each skill call, and its bus counters every second."""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

from watchkeeper.bus.stats import BusStats, from_json, merged, to_json
from watchkeeper.incidents.runner import Runner

if TYPE_CHECKING:
    from watchkeeper.app import App
    from watchkeeper.server.metrics import Metrics

log = logging.getLogger(__name__)
MODULE = "watchkeeper.incidents.process"
REPORT_EVERY_S = 1.0
FIRST_RESTART_S, LONGEST_RESTART_S = 1.0, 30.0
STEADY_S = 60.0  # a child that ran this long before it exited is restarted at once again next time


class WorkerProcess:
    """What the server's lifespan starts in place of a `Runner` of threads: the same start, stop and
    consumers, with the work done in a child process."""

    def __init__(self, app: App, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics
        self.stopping = threading.Event()
        self._lock = threading.Lock()  # a stop never races a restart
        self._proc: subprocess.Popen[bytes] | None = None
        self._watcher: threading.Thread | None = None
        self._before = BusStats()  # counted by children that exited: counters never go back
        self._heard = False  # the running child has reported since it started

    def consumers(self) -> None:
        Runner(self.app).consumers()

    def start(self) -> None:
        self.consumers()  # declared before the first alert is taken, not when the child gets to it
        with self._lock:
            self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="wk-worker-process", daemon=True)
        self._watcher.start()

    @property
    def up(self) -> bool:
        """The child runs and has reported since it started (its workers are running)."""
        return self._heard and self._proc is not None and self._proc.poll() is None

    def _spawn(self) -> None:
        proc = subprocess.Popen([sys.executable, "-m", MODULE], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdin is not None
        try:
            proc.stdin.write(pickle.dumps(self.app.settings))
            proc.stdin.flush()
        except OSError:  # it died at once: the watcher sees it exit and starts another after a while
            pass
        self._proc, self._heard = proc, False

    def _watch(self) -> None:
        wait = FIRST_RESTART_S
        while True:
            proc, started = self._proc, time.monotonic()
            assert proc is not None and proc.stdout is not None
            last = self._read(proc.stdout)  # until the child exits
            code = proc.wait()
            self._before = merged(self._before, last)
            if self.stopping.is_set():
                return
            wait = FIRST_RESTART_S if time.monotonic() - started >= STEADY_S else wait
            log.error("the incident workers exited with code %s; starting them again in %.0f s", code, wait)
            if self.stopping.wait(wait):
                return
            wait = min(wait * 2, LONGEST_RESTART_S)
            with self._lock:
                if self.stopping.is_set():
                    return
                self._close(proc)
                self._spawn()
            self.metrics.worker_restarts.inc()

    def _read(self, stream: IO[bytes]) -> BusStats:
        last = BusStats()
        for line in stream:
            try:
                said = json.loads(line)
                if "call" in said:
                    skill, status, seconds = said["call"]
                    self.metrics.skill_called(str(skill), str(status), float(seconds))
                elif "bus" in said:
                    last = from_json(said["bus"])
                    self.metrics.worker_bus = merged(self._before, last)
                    self._heard = True
            except (ValueError, TypeError, KeyError):  # not one of ours: a counter missed, nothing more
                continue
        return last

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM: the child lets the work in hand finish within `timeout_s`, or is killed after it."""
        with self._lock:
            self.stopping.set()
            proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout_s + 5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self._close(proc)
        if self._watcher is not None:
            self._watcher.join(5)

    @staticmethod
    def _close(proc: subprocess.Popen[bytes]) -> None:
        if proc.stdin is not None:
            proc.stdin.close()


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the manager decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # a stray print goes to the log, not into the channel
    settings = pickle.load(sys.stdin.buffer)

    def watch_manager() -> None:
        # Until the manager closes its end or dies. On the descriptor, not sys.stdin: a daemon thread
        # blocked in a buffered read holds its lock, and the interpreter aborts on it at exit.
        while os.read(0, 4096):
            pass
        stop.set()

    threading.Thread(target=watch_manager, daemon=True).start()
    lock = threading.Lock()

    def say(what: dict[str, Any]) -> None:
        try:
            with lock:
                channel.write(json.dumps(what) + "\n")
        except OSError:  # the manager is gone
            stop.set()

    from watchkeeper.app import open_app
    from watchkeeper.oplog import log_to_stderr

    log_to_stderr(settings.server.log_level)
    app = open_app(settings)
    app.invoker.observers.append(lambda call: say({"call": [call.key, call.status.value, call.duration_ms / 1000]}))
    runner = Runner(app)
    runner.start()
    # The embedding model and the knowledge index load while the first incident settles, not in its investigation.
    threading.Thread(target=lambda: app.knowledge.search("warm up"), name="wk-warm-up", daemon=True).start()
    try:
        while True:  # the first report says the workers run
            say({"bus": to_json(app.bus.stats())})
            if stop.wait(REPORT_EVERY_S):
                break
    finally:
        runner.stop(settings.server.shutdown_s)
        say({"bus": to_json(app.bus.stats())})
        app.close()


if __name__ == "__main__":
    main()
