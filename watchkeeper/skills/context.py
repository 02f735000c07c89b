"""What a running skill is handed: settings, its target, its deadline and safe helpers.

Skills receive their clients and limits here instead of importing them, so tests and edge
agents pass their own. Subprocesses started through `run` live in their own process group,
which invoke kills whole when the call times out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from watchkeeper.config import Settings
from watchkeeper.errors import Refused, SkillFailed, SkillTimeout

RecentCalls = Callable[[str, timedelta], list[dict[str, Any]]]


class KnowledgeHit(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


class KnowledgeSearch(Protocol):
    """What a skill may ask of the knowledge base the app core holds (one per process, kept warm)."""

    def search(
        self, query: str, service: str | None, type: str | None, alert: str | None, limit: int
    ) -> Sequence[KnowledgeHit]: ...


def no_knowledge() -> KnowledgeSearch:
    raise SkillFailed("no knowledge base in this process")


@dataclass(frozen=True)
class CommandResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    truncated: bool


def _read_bounded(stream: IO[bytes], limit: int, sink: list[bytes], cut: list[bool]) -> None:
    kept = 0
    # Keep reading past the limit (and drop it) so a chatty child never blocks on a full pipe.
    for chunk in iter(lambda: stream.read(65536), b""):
        room = limit - kept
        if room > 0:
            sink.append(chunk[:room])
            kept += min(len(chunk), room)
        if len(chunk) > room:
            cut[0] = True
    stream.close()


class ProcessGroups:
    """The process groups skills started and have not reaped yet, across every call of one invoker.
    With the process itself they are watchkeeper's own: busy because it is looking, never a culprit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[int] = set()

    def add(self, pgid: int) -> None:
        with self._lock:
            self._ids.add(pgid)

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._ids.discard(pgid)

    def owns(self, pid: int) -> bool:
        if pid == os.getpid():
            return True
        with self._lock:
            if not self._ids:
                return False
            ids = set(self._ids)
        try:
            return os.getpgid(pid) in ids
        except ProcessLookupError:
            return False


@dataclass
class SkillContext:
    settings: Settings
    edge: str
    call_id: str
    deadline: float  # time.monotonic() by which the skill must be done
    recent_calls: RecentCalls = field(default=lambda _tool, _window: [])
    cancelled: threading.Event = field(default_factory=threading.Event)
    commands: ProcessGroups = field(default_factory=ProcessGroups)  # shared by the invoker's calls
    knowledge: Callable[[], KnowledgeSearch] = no_knowledge  # opened on first use: most calls never need it
    _groups: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    # -- files -----------------------------------------------------------------------------

    def readable_path(self, path: str) -> Path:
        """Resolve `path` (symlinks, `..`) and refuse it unless it lies inside the read allowlist."""
        if "\x00" in path:
            raise Refused("path contains a NUL byte", rule="path_allowlist")
        if not os.path.isabs(path):
            raise Refused(f"path {path!r} must be absolute", rule="path_allowlist")
        real = Path(os.path.realpath(path))
        for root in self.settings.read_roots:
            real_root = Path(os.path.realpath(root))
            if real == real_root or real_root in real.parents:
                return real
        roots = ", ".join(str(r) for r in self.settings.read_roots)
        shown = f"{path} (resolves to {real})" if str(real) != os.path.normpath(path) else path
        raise Refused(f"{shown} is outside the read allowlist ({roots})", rule="path_allowlist")

    # -- subprocesses ----------------------------------------------------------------------

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = None,
        max_output: int | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Run a command in its own process group, bounded in time and output."""
        if self.cancelled.is_set():
            raise SkillTimeout("the call was cancelled before the command started")
        limit = max_output or self.settings.limits.output_cap_bytes
        wait = min(timeout if timeout is not None else self.remaining(), self.remaining())
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise SkillFailed(f"cannot run {argv[0]}: {exc.strerror}") from None
        with self._lock:
            self._groups.add(proc.pid)
        self.commands.add(proc.pid)
        out: list[bytes] = []
        err: list[bytes] = []
        cut = [False]
        readers = [
            threading.Thread(target=_read_bounded, args=(proc.stdout, limit, out, cut), daemon=True),
            threading.Thread(target=_read_bounded, args=(proc.stderr, 16384, err, [False]), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            if input is not None and proc.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.write(input)
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.close()
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self._kill_group(proc.pid)
            proc.wait()
            raise SkillTimeout(f"{argv[0]} did not finish within {wait:.1f}s; its process group was killed") from None
        finally:
            for reader in readers:
                reader.join(timeout=2)
            with self._lock:
                self._groups.discard(proc.pid)
            self.commands.discard(proc.pid)
        if self.cancelled.is_set():
            raise SkillTimeout("the call timed out while the command ran")
        return CommandResult(
            list(argv),
            proc.returncode,
            b"".join(out).decode(errors="replace"),
            b"".join(err).decode(errors="replace"),
            cut[0],
        )

    @staticmethod
    def _kill_group(pgid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)

    def cancel(self) -> None:
        """Called by invoke on timeout: stop waiting and kill every process group started."""
        self.cancelled.set()
        with self._lock:
            groups = list(self._groups)
        for pgid in groups:
            self._kill_group(pgid)
