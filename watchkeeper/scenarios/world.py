"""A scenario's private world: a temporary directory, its processes, mounts and ports, and the
proof that all of it is gone afterwards."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from watchkeeper.config import Settings
from watchkeeper.errors import WatchkeeperError


class ScenarioError(WatchkeeperError):
    """A scenario could not set up its fault (for instance no permission to mount a tmpfs)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _named(pid: int, name: str) -> bool:
    try:
        return psutil.Process(pid).name() == name[:15]
    except psutil.NoSuchProcess:
        return False


class World:
    def __init__(self, name: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"wk-scenario-{name}-"))
        self.log_root = self.root / "log"
        self.log_root.mkdir()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.mounts: list[Path] = []
        self.ports: list[int] = []
        self.term_first: list[subprocess.Popen[bytes]] = []

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.root / "data",
            policy={"read_allowlist": [str(self.log_root)]},
            triage={"sample_seconds": 3.0},
        )

    def log_path(self, service: str) -> Path:
        return self.log_root / service / f"{service}.log"

    def backfill(self, service: str, lines: list[str], minutes: float = 10) -> None:
        """History before the fault: the lines spread over the last `minutes`, ending 2 minutes ago."""
        path = self.log_path(service)
        path.parent.mkdir(parents=True, exist_ok=True)
        start = datetime.now(UTC) - timedelta(minutes=minutes)
        step = (minutes - 2) * 60 / max(len(lines), 1)
        with path.open("a") as fh:
            for i, line in enumerate(lines):
                stamp = (start + timedelta(seconds=i * step)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                fh.write(f"{stamp} {line}\n")

    def spawn(
        self,
        mode: str,
        name: str,
        *args: str,
        port: int | None = None,
        log: bool = True,
        program: str = "watchkeeper.scenarios.programs",
        wait_port: bool = True,
        term_first: bool = False,
    ) -> int:
        """Start a program in its own session; `term_first`: at cleanup it gets SIGTERM first, to reap
        the children it forked, before the whole group is killed."""
        argv = [sys.executable, "-m", program, mode, name, *args]
        if log:
            argv += ["--log", str(self.log_path(name))]
        if port is not None:
            argv += ["--port", str(port)]
            self.ports.append(port)
        proc = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        if term_first:
            self.term_first.append(proc)
        # An alert fires long after a process started: wait until it carries its name, so nothing
        # (psutil caches names) ever sees the interpreter it was a moment before.
        self.wait_until(lambda: _named(proc.pid, name), 15, f"{name} did not start")
        if port is not None and wait_port:
            self.wait_until(lambda: port_open(port), 15, f"{name} did not open port {port}")
        return proc.pid

    def stop(self, pid: int, sig: int = signal.SIGKILL) -> None:
        os.killpg(pid, sig)
        for proc in self.procs:
            if proc.pid == pid:
                proc.wait(10)

    @staticmethod
    def wait_until(predicate: Any, seconds: float, error: str) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() > deadline:
                raise ScenarioError(error)
            time.sleep(0.1)

    def mount_tmpfs(self, size_mb: int, name: str = "data", options: str = "") -> Path:
        target = self.root / "mnt" / name
        target.mkdir(parents=True)
        opts = ",".join(o for o in (f"size={size_mb}m", options) if o)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(target)], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise ScenarioError(f"cannot mount a tmpfs for the disk scenario (needs root): {done.stderr.strip()}")
        self.mounts.append(target)
        return target

    def cleanup(self) -> list[str]:
        """Stop everything, unmount, delete; return what was left behind (empty when clean)."""
        for proc in self.term_first:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
                    os.kill(proc.pid, signal.SIGCONT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(3)
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        for mount in self.mounts:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        return self.leftovers()

    def leftovers(self) -> list[str]:
        left = [
            f"process {p.pid} still runs"
            for p in self.procs
            if psutil.pid_exists(p.pid) and psutil.Process(p.pid).status() != psutil.STATUS_ZOMBIE
        ]
        groups = {p.pid for p in self.procs}
        for p in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if p.pid not in groups and os.getpgid(p.pid) in groups and p.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"process {p.pid} ({p.name()}) of group {os.getpgid(p.pid)} still runs")
        mounted = Path("/proc/mounts").read_text()
        left += [f"{m} still mounted" for m in self.mounts if f" {m} " in mounted]
        left += [f"port {p} still open" for p in self.ports if port_open(p)]
        if self.root.exists():
            left.append(f"{self.root} still exists")
        return left


def alert_payload(
    labels: dict[str, str], annotations: dict[str, str] | None = None, age_s: float = 30
) -> dict[str, Any]:
    """An Alertmanager 0.25 webhook payload (version 4) with one firing alert."""
    starts = (datetime.now(UTC) - timedelta(seconds=age_s)).isoformat().replace("+00:00", "Z")
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": annotations or {},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16],
    }
    return {
        "version": "4",
        "receiver": "watchkeeper",
        "status": "firing",
        "alerts": [alert],
        "groupLabels": {"alertname": labels["alertname"]},
        "commonLabels": labels,
        "commonAnnotations": annotations or {},
        "externalURL": "http://alertmanager:9093",
        "groupKey": f'{{}}:{{alertname="{labels["alertname"]}"}}',
        "truncatedAlerts": 0,
    }
