"""The real `wk` on a real full filesystem: a mutating skill is refused and its victim lives; safe
skills run; rows no process could save become gap rows of an intact chain."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import SmallDisk, checkpoint_sqlite
from tests.helpers import Wk, pid_alive


def test_kill_process_on_a_full_data_disk_is_refused_and_the_victim_lives(small_disk: SmallDisk) -> None:
    wk = Wk(small_disk.path, small_disk.path)
    wk.env["WK_DATA_DIR"] = str(small_disk.path / "data")
    assert wk("skills", "run", "host_status").returncode == 0
    checkpoint_sqlite(small_disk.path / "data" / "watchkeeper.db")
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        small_disk.fill()
        killed = wk("skills", "run", "kill_process", "-p", f"pid={victim.pid}", "--yes")
        assert killed.returncode == 2, killed.stderr
        assert "ledger_unavailable" in killed.stderr and "No space left on device" in killed.stderr
        assert "Traceback" not in killed.stderr
        assert pid_alive(victim.pid)
        safe = wk("skills", "run", "host_status", "--json")
        assert safe.returncode == 0 and '"hostname"' in safe.stdout  # reads still work on a full disk
        small_disk.free()
        verified = wk("audit", "verify")
        assert verified.returncode == 0 and "ledger intact" in verified.stdout, verified.stderr
        # Two processes ended holding a row each (the refusal, the safe read): two gap rows say so.
        assert verified.stderr.count("audit row(s) of process") == 2, verified.stderr
        rows = wk.json("audit")
        assert [(r["tool_name"], r["status"]) for r in rows] == [
            ("host_status", "succeeded"),
            ("ledger", "gap"),
            ("ledger", "gap"),
        ]
        assert all(r["args_json"].startswith('{"lost_rows":1') for r in rows[1:])
    finally:
        victim.kill()
        victim.wait()
