"""A real supervisord started by a test, with its own config and control socket in tmp_path."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import require_binary
from tests.helpers import free_port, wait_for


class Supervisord:
    def __init__(self, conf: Path, port: int, sock: Path, log: Path) -> None:
        self.conf, self.port, self.sock, self.log = conf, port, sock, log


@contextmanager
def running_supervisord(tmp_path: Path, extra: str = "") -> Iterator[Supervisord]:
    """supervisord with `webapp` (an HTTP server on `port`, running) and `broken` (/bin/false, not started),
    and the programs of `extra` (config sections)."""
    exe = require_binary("supervisord")
    require_binary("supervisorctl")
    port = free_port()
    sock = tmp_path / "supervisor.sock"
    conf = tmp_path / "supervisord.conf"
    log = tmp_path / "supervisord.log"
    conf.write_text(f"""
[unix_http_server]
file={sock}

[supervisord]
nodaemon=true
logfile={log}
pidfile={tmp_path / "supervisord.pid"}
childlogdir={tmp_path}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{sock}

[program:webapp]
command={sys.executable} -m http.server {port} --bind 127.0.0.1
startsecs=1
stopsignal=TERM

[program:broken]
command=/bin/false
autostart=false
startsecs=1
startretries=0
{extra}""")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:

        def status() -> str:
            argv = ["supervisorctl", "-c", str(conf), "status", "webapp"]
            return subprocess.run(argv, capture_output=True, text=True).stdout

        assert wait_for(lambda: "RUNNING" in status(), timeout=15), "supervisord did not start webapp"
        yield Supervisord(conf, port, sock, log)
    finally:
        proc.terminate()
        proc.wait(15)
