"""Fault-injection scenarios: each starts what it needs, injects a real fault, raises the alert an
operator would get, and is scored on the report. One file per scenario; adding a file adds one."""
