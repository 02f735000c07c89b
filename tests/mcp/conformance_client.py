"""watchkeeper's MCP client as the official conformance suite's client under test.

The suite runs `python conformance_client.py URL` with MCP_CONFORMANCE_SCENARIO set. We do what
a user's watchkeeper does: import the server's tools as skills (a fresh data directory, the
server configured as `conformance`), then, for `tools_call`, run the imported `add_numbers`
through `invoke` like any other skill.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from watchkeeper.app import open_app
from watchkeeper.config import Settings
from watchkeeper.policy.risk import Caller, Role


def main(url: str) -> int:
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "initialize")
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            data_dir=Path(data),
            mcp={"servers": [{"name": "conformance", "url": url, "classes": {"add_numbers": "safe"}}]},
        )
        rt = open_app(settings)
        problems = [e for e in rt.registry.load_errors if "conformance" in e]
        if scenario == "tools_call":
            call = rt.invoker.invoke("conformance_add_numbers", {"a": 2, "b": 3}, Caller(Role.CLI, "conformance"))
            print(call.status.value, call.result or call.error)
            return 0 if call.ok else 1
        print("imported:", [s.key for s in rt.registry.all() if s.source == "mcp:conformance"], problems)
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[-1]))
