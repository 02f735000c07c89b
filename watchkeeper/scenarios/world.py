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


def _listening(pid: int, port: int) -> bool:
    """Whether `pid` listens on `port` in its own network namespace (/proc/PID/net is that namespace's)."""
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False


def _netns_names() -> set[str]:
    done = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return {line.split()[0] for line in done.stdout.splitlines() if line.strip()}


# cgroup v1's blkio throttle of the root group: a rule for one device (the scenario's own loop device).
BLKIO_WRITE_IOPS = Path("/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device")
CGROUP_ROOT = Path("/sys/fs/cgroup")
# Starts a program inside a cgroup: the shell joins it, then execs the program (same pid).
JOIN_CGROUP = 'echo $$ > "$0" && exec "$@"'


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
        self.namespaces: list[str] = []
        self.loops: list[str] = []
        self.throttles: list[str] = []
        self.cgroups: list[Path] = []

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
        netns: str | None = None,
        cgroup: Path | None = None,
    ) -> int:
        """Start a program in its own session; `term_first`: at cleanup it gets SIGTERM first, to reap
        the children it forked, before the whole group is killed; `netns`: inside that network namespace
        of the scenario's (`ip netns exec` execs the program: the pid is the program's); `cgroup`: inside
        that cgroup of the scenario's (see make_cgroup), from its first instruction."""
        argv = [sys.executable, "-m", program, mode, name, *args]
        if log:
            argv += ["--log", str(self.log_path(name))]
        if port is not None:
            argv += ["--port", str(port)]
        return self._start(argv, name, port, wait_port, term_first, netns, cgroup)

    def spawn_command(
        self, argv: list[str], name: str, port: int | None = None, wait_port: bool = True, cgroup: Path | None = None
    ) -> int:
        """Start a real program of the host's (a server binary, a JVM) in its own session, as `spawn`
        does; `name` is what the kernel calls it (its executable's name)."""
        return self._start(argv, name, port, wait_port, False, None, cgroup)

    def _start(
        self,
        argv: list[str],
        name: str,
        port: int | None,
        wait_port: bool,
        term_first: bool,
        netns: str | None,
        cgroup: Path | None,
    ) -> int:
        if port is not None and netns is None:
            self.ports.append(port)
        if netns is not None:
            argv = ["ip", "netns", "exec", netns, *argv]
        if cgroup is not None:
            argv = ["sh", "-c", JOIN_CGROUP, str(cgroup / "cgroup.procs"), *argv]
        proc = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        if term_first:
            self.term_first.append(proc)
        # An alert fires long after a process started: wait until it carries its name, so nothing
        # (psutil caches names) ever sees the interpreter it was a moment before.
        self.wait_until(lambda: _named(proc.pid, name), 15, f"{name} did not start")
        if port is not None and wait_port:
            listening = (lambda: _listening(proc.pid, port)) if netns else (lambda: port_open(port))
            self.wait_until(listening, 15, f"{name} did not open port {port}")
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

    def _run(self, argv: list[str], what: str) -> str:
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise ScenarioError(f"cannot {what} (needs root): {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout.strip()

    def mount_loop(self, size_mb: int, name: str = "data", write_iops: int | None = None) -> Path:
        """An ext4 volume on a loop device of the scenario's own, its image on the scenario's tmpfs;
        `write_iops` throttles that device's writes (a slow or saturated disk): only this device."""
        image = self.mount_tmpfs(size_mb + 8, name=f"{name}-image") / "disk.img"
        with image.open("wb") as fh:
            fh.truncate(size_mb * 2**20)
        device = self._run(["losetup", "--find", "--show", str(image)], "attach a loop device")
        self.loops.append(device)
        self._run(["mkfs.ext4", "-q", "-F", device], f"make a filesystem on {device}")
        target = self.root / "mnt" / name
        target.mkdir(parents=True)
        self._run(["mount", device, str(target)], f"mount {device}")
        self.mounts.append(target)
        if write_iops:
            if not BLKIO_WRITE_IOPS.exists():
                raise ScenarioError(f"cannot throttle {device}: no cgroup v1 blkio throttle here")
            number = Path(f"/sys/block/{Path(device).name}/dev").read_text().strip()
            self.throttles.append(number)
            BLKIO_WRITE_IOPS.write_text(f"{number} {write_iops}\n")
        return target

    def make_netns(self, port_range: tuple[int, int] | None = None, address: str | None = None) -> str:
        """A network namespace of the scenario's own (loopback up; `address` added to it as a /32, a
        non-loopback address to serve on; `port_range`: its own ip_local_port_range); deleted at cleanup."""
        name = f"wk-{self.root.name.rsplit('-', 1)[-1]}-{len(self.namespaces)}"
        self._run(["ip", "netns", "add", name], "create a network namespace")
        self.namespaces.append(name)
        self._run(["ip", "-n", name, "link", "set", "lo", "up"], f"bring up lo in {name}")
        if address:
            self._run(["ip", "-n", name, "addr", "add", f"{address}/32", "dev", "lo"], f"add {address} in {name}")
        if port_range:
            low, high = port_range
            sysctl = ["sysctl", "-q", "-w", f"net.ipv4.ip_local_port_range={low} {high}"]
            self._run(["ip", "netns", "exec", name, *sysctl], f"set the port range in {name}")
        return name

    def make_cgroup(self, controller: str, limits: dict[str, str]) -> Path:
        """A cgroup v1 group of the scenario's own under `controller`'s hierarchy (`pids`: a service's
        TasksMax), with `limits` written to its files; its processes go in with spawn(cgroup=...);
        removed at cleanup, once its processes are gone."""
        hierarchy = CGROUP_ROOT / controller
        if not (hierarchy / "cgroup.procs").exists():
            raise ScenarioError(f"cannot make a cgroup: no cgroup v1 {controller} hierarchy at {hierarchy}")
        group = hierarchy / f"wk-{self.root.name.rsplit('-', 1)[-1]}-{len(self.cgroups)}"
        try:
            group.mkdir()
        except OSError as exc:
            raise ScenarioError(f"cannot make a cgroup (needs root): {exc}") from exc
        self.cgroups.append(group)
        for key, value in limits.items():
            (group / key).write_text(f"{value}\n")
        return group

    @staticmethod
    def _remove_cgroup(group: Path) -> bool:
        with contextlib.suppress(FileNotFoundError):
            try:
                group.rmdir()
            except OSError:
                return False  # busy: a task has not left yet
        return True

    def _loop_left(self, device: str) -> bool:
        backing = Path(f"/sys/block/{Path(device).name}/loop/backing_file")
        with contextlib.suppress(OSError):
            return backing.read_text().strip().startswith(str(self.root))
        return False

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
        for number in self.throttles:
            with contextlib.suppress(OSError):
                BLKIO_WRITE_IOPS.write_text(f"{number} 0\n")
        for mount in reversed(self.mounts):  # a loop volume before the tmpfs holding its image
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        for device in self.loops:
            subprocess.run(["losetup", "-d", device], capture_output=True)
        with contextlib.suppress(ScenarioError):
            self.wait_until(lambda: not any(self._loop_left(d) for d in self.loops), 5, "")
        for name in self.namespaces:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        for group in self.cgroups:
            with contextlib.suppress(ScenarioError):
                self.wait_until(lambda g=group: self._remove_cgroup(g), 5, "")
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
        left += [f"loop device {d} still attached" for d in self.loops if self._loop_left(d)]
        if self.throttles:
            rules = [r.split()[0] for r in BLKIO_WRITE_IOPS.read_text().splitlines() if r.strip()]
            left += [f"blkio throttle on {n} still set" for n in self.throttles if n in rules]
        if self.namespaces:
            left += [f"netns {n} still exists" for n in set(self.namespaces) & _netns_names()]
        left += [f"cgroup {g} still exists" for g in self.cgroups if g.exists()]
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
