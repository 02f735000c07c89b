"""A small external MCP server, written with the official SDK, for the import tests.

    python peer_server.py stdio STARTS_FILE
    python peer_server.py http PORT STARTS_FILE

Each start appends a line to STARTS_FILE, so tests can tell when it was (not) started.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

server = MCPServer("peer", version="1.0.0")


@server.tool(annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True))
def echo(text: str, times: int = 1) -> dict[str, str]:
    """Echo text back, repeated."""
    return {"echo": text * times}


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def wipe_volume(volume: str) -> str:
    """Erase a volume (pretend)."""
    return f"wiped {volume}"


@server.tool()
def leak() -> str:
    """Returns a line with a secret in it."""
    return "connecting with password=hunter2 to postgresql://app:s3cret@db/app"


@server.tool()
def fail_politely() -> str:
    """Always fails as a tool error."""
    raise ValueError("the disk is on fire")


@server.tool()
def sleepy(seconds: float) -> str:
    """Sleeps, then answers."""
    time.sleep(seconds)
    return "awake"


@server.tool()
def crash() -> str:
    """Kills the server process in the middle of the call."""
    os._exit(3)


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    with Path(rest[-1]).open("a") as fh:
        fh.write(f"{mode} {os.getpid()}\n")
    if mode == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(rest[0]))
