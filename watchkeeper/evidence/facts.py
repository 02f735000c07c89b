"""The kinds of fact the evidence engine finds, one model each, so a rule reads fields the type checker
knows (`of(inv, Zombies)` gives findings whose `data.count` is an int). A fact keeps the rest of the
skill's row as extra fields: the report's JSON shows everything that was read.

A new kind of fact is a class here with its `KIND`; `finding(fact, …)` files it under that kind."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer


class Fact(BaseModel):
    """What a finding shows; `role` says whose it is (the alert's target, an upstream, a dependency)."""

    model_config = ConfigDict(extra="allow")
    KIND: ClassVar[str] = "fact"

    role: str | None = None

    @model_serializer(mode="wrap")
    def _without_nones(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


# The host's own readings (the same thresholds as `wk check`).
class CpuReading(Fact):
    KIND = "cpu"


class LoadReading(Fact):
    KIND = "load"


class MemoryReading(Fact):
    KIND = "memory"


class SwapReading(Fact):
    KIND = "swap"


class DiskUsage(Fact):
    KIND = "disk"
    mount: str
    percent: float | None = None


class Inodes(Fact):
    KIND = "inodes"
    mount: str
    inodes_percent: float
    most_entries: dict[str, Any] | None = None  # the directory holding most of them, when looked for


class DeletedOpen(Fact):
    KIND = "deleted_open"
    mount: str
    deleted_open_bytes: int


class TmpfsUsage(Fact):
    """A RAM-backed filesystem holding files: memory that no process's RSS shows."""

    KIND = "tmpfs_usage"
    mount: str
    used_bytes: int


class DiskFillForecast(Fact):
    KIND = "disk_fill_forecast"
    seconds: float
    r2: float


class FileSize(Fact):
    """A file on the mount in question, with what it grew while sampled and who writes it."""

    mount: str
    bytes: int
    grew_bytes: int = 0
    writer: dict[str, Any] | None = None
    forecast: str | None = None
    # Set when the file is one of many its directory accumulates (leftovers nobody deletes).
    directory: str | None = None
    directory_bytes: int | None = None
    directory_entries: int | None = None


class LargestFile(FileSize):
    KIND = "largest_file"


class FileGrowth(FileSize):
    KIND = "file_growth"


# Processes.
class ProcessRow(Fact):
    """One process of `top_processes` or `process_table`."""

    name: str | None = None
    pid: int | None = None


class ProcessCpu(ProcessRow):
    KIND = "process_cpu"
    cpu_percent: float | None = None
    started_at: str | None = None
    detail: dict[str, Any] | None = None  # process_detail of the hottest, when read


class ProcessMemoryTop(ProcessRow):
    KIND = "process_memory_top"
    rss_bytes: int = 0


class ProcessMemoryGrowth(Fact):
    KIND = "process_memory_growth"
    bytes_per_s: float
    r2: float


class ProcessStopped(ProcessRow):
    KIND = "process_stopped"


class ProcessUninterruptible(ProcessRow):
    KIND = "process_uninterruptible"


class ProcessThreads(ProcessRow):
    KIND = "process_threads"
    threads: int


class ProcessFds(ProcessRow):
    KIND = "process_fds"
    fds: int
    fd_limit: int


class Zombies(Fact):
    KIND = "zombies"
    count: int
    parent: str | None = None
    ppid: int


class CommandCpu(Fact):
    KIND = "command_cpu"
    name: str
    count: int
    cpu_percent: float


class CommandMemory(Fact):
    KIND = "command_memory"
    name: str
    count: int
    rss_bytes: int


class ChildrenCpu(Fact):
    KIND = "children_cpu"
    parent: str | None = None
    ppid: int
    children_cpu_percent: float


class KernelEvent(Fact):
    process: str | None = None
    pid: int | None = None
    line: str = ""
    at: str | None = None


class OomKill(KernelEvent):
    KIND = "oom_kill"


class KernelIoError(KernelEvent):
    KIND = "kernel_io_error"


class KernelSegfault(KernelEvent):
    KIND = "kernel_segfault"


class KernelHungTask(KernelEvent):
    KIND = "kernel_hung_task"


# Endpoints and services.
class PortNotListening(Fact):
    KIND = "port_not_listening"
    port: int


class BoundElsewhere(Fact):
    """The port the symptom probes has a listener on this host, bound to another address than the one
    probed (a service listening on loopback only while clients use the host's address)."""

    KIND = "bound_elsewhere"
    port: int
    probed: str
    addresses: list[str]
    process: str | None = None
    pid: int | None = None


class CloseWait(Fact):
    """A process holding many connections its peers already closed: it never closes its side."""

    KIND = "close_wait"
    process: str
    pid: int | None = None
    count: int


class PortClosed(Fact):
    KIND = "port_closed"
    host: str | None = None
    port: int | None = None
    error: str | None = None


class HostUnresolved(Fact):
    """A probed name this host cannot resolve: nothing is learned of the service behind it."""

    KIND = "host_unresolved"
    host: str
    port: int | None = None
    error: str | None = None


class HttpUnreachable(Fact):
    KIND = "http_unreachable"
    error: str | None = None


class HttpError(Fact):
    KIND = "http_error"
    status: int
    body: str = ""


class HttpSlow(Fact):
    KIND = "http_slow"
    latency_ms: float


class Certificate(Fact):
    days_to_expiry: float | None = None
    not_after: str | None = None
    verify_error: str | None = None


class TlsExpiry(Certificate):
    KIND = "tls_expiry"
    days_to_expiry: float


class TlsInvalid(Certificate):
    KIND = "tls_invalid"


class UnitFailed(Fact):
    """A service its manager says failed, is down when it should run, or keeps restarting."""

    KIND = "unit_failed"
    unit: str
    state: str
    restarts: int | None = None
    last_exit: str | None = None


class UnitRestarting(UnitFailed):
    KIND = "unit_restarting"


class ServiceNotRunning(Fact):
    KIND = "service_not_running"
    state: str
    manager: str
    detail: str | None = None


# Logs, metrics and changes.
class LogErrors(Fact):
    """One template of a service's log, with what the follow-ups need from it."""

    KIND = "log_errors"
    service: str
    path: str
    template: str
    count: int
    novel: bool
    example: str
    words: list[str] = []
    signatures: list[str] = []  # the catalogue's entries that recognise the line
    addresses: list[tuple[str, int]] = []
    urls: list[str] = []
    baseline_lines: int = 0
    recent_lines: int = 0
    port: int | None = None  # set when an address in it leads to a local listener


class JournalErrors(Fact):
    KIND = "journal_errors"
    example: str


class ClockSkew(Fact):
    KIND = "clock_skew"
    ahead_s: float


class MetricShift(Fact):
    KIND = "metric_shift"
    query: str


class MetricForecast(Fact):
    KIND = "metric_forecast"
    seconds: float
    query: str


class RecentChange(Fact):
    KIND = "recent_change"
    path: str
    ago_s: float
    service: str | None = None


class PackageChange(Fact):
    KIND = "package_change"
    package: str
    action: str
    to: str | None = None
    at: str | None = None


class Checked(Fact):
    """What the follow-up of an error checked, shown beside the error it followed."""

    KIND = "lead"
