"""Secrets on real processes' command lines never leave watchkeeper: process_detail and top_processes
mask them in the result and in the audit row, with the program known by argv[0] or by the script an
interpreter runs."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from subprocess import Popen

import pytest

from tests.conftest import call
from tests.helpers import python_child, ready_process
from watchkeeper.app import App
from watchkeeper.redact import MASK

PYTHON = os.path.realpath(sys.executable)
SLEEPER = "import time; print('ready', flush=True); time.sleep(120)"
Launch = Callable[[Path], AbstractContextManager[Popen[bytes]]]


def named(directory: Path, name: str) -> str:
    """A Python interpreter whose file is called `name`, as a client binary would be."""
    link = directory / name
    link.symlink_to(PYTHON)
    return str(link)


def script(directory: Path, name: str, body: str) -> str:
    path = directory / name
    path.write_text(body)
    return str(path)


# (what the case shows, how to start the process, the secrets it carries, what must stay readable)
CASES: list[tuple[str, Launch, list[str], list[str]]] = [
    (
        "generic flags, a password with blanks",
        lambda d: python_child("", "--password", "correct horse battery staple", "--db-password=DbPw-1", "-p", "80"),
        ["horse", "battery", "DbPw-1"],
        ["--password", "--db-password=", "-p 80"],
    ),
    (
        "mysql by argv[0]",
        lambda d: ready_process([named(d, "mysql"), "-c", SLEEPER, "-uroot", "-pS3cr3t-2", "app_db"]),
        ["S3cr3t-2"],
        ["-uroot", "app_db"],
    ),
    (
        "redis-cli by argv[0]",
        lambda d: ready_process([named(d, "redis-cli"), "-c", SLEEPER, "-h", "127.0.0.1", "-a", "RedisPw-3", "ping"]),
        ["RedisPw-3"],
        ["-h 127.0.0.1", "ping"],
    ),
    (
        "a python script named redis-cli.py",
        lambda d: ready_process([PYTHON, script(d, "redis-cli.py", SLEEPER), "-a", "RedisPw-4"]),
        ["RedisPw-4"],
        ["redis-cli.py -a"],
    ),
    (
        "a bash script named mysqldump",
        lambda d: ready_process(["bash", script(d, "mysqldump", "echo ready; read -r _\n"), "-uroot", "-pDumpPw-5"]),
        ["DumpPw-5"],
        ["-uroot"],
    ),
    (
        "a shell command string",
        lambda d: ready_process(["sh", "-c", "echo ready; read -r _; mysqldump -uroot -pDumpPw-6 shop | gzip"]),
        ["DumpPw-6"],
        ["shop | gzip"],
    ),
]


@pytest.mark.parametrize(("launch", "secrets", "stays"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_process_detail_masks_the_secrets_of_a_real_command_line(
    rt: App, tmp_path: Path, launch: Launch, secrets: list[str], stays: list[str]
) -> None:
    with launch(tmp_path) as proc:
        result = call(rt, "process_detail", pid=proc.pid)
    assert result.ok, result.error
    shown = result.result["cmdline"]
    assert MASK in shown and all(s in shown for s in stays), shown
    row = rt.ledger.rows()[-1]
    for text in (json.dumps(result.result), str(row["result_json"])):
        assert not [s for s in secrets if s in text]


def test_top_processes_masks_a_secret_of_a_big_process(rt: App, tmp_path: Path) -> None:
    hog = "b = bytearray(600 * 1024 * 1024)\nb[::4096] = b'x' * len(b[::4096])\n" + SLEEPER
    with ready_process([named(tmp_path, "mysql"), "-c", hog, "-uroot", "-pBigPw-7", "--password", "BigPw-8"]) as proc:
        result = call(rt, "top_processes", by="memory", n=5)
    mine = [p for p in result.result["processes"] if p["pid"] == proc.pid]
    assert mine and mine[0]["name"] == "mysql"
    assert "-p[REDACTED]" in mine[0]["cmdline"] and "--password [REDACTED]" in mine[0]["cmdline"]
    for text in (json.dumps(result.result), str(rt.ledger.rows()[-1]["result_json"])):
        assert "BigPw" not in text
