"""The MCP client config the README gives works as written, started the way a GUI client starts it:
an absolute command, only the env the block names, and no virtualenv on the PATH."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from tests.helpers import WK

README = (Path(__file__).parents[2] / "README.md").read_text()


def readme_block() -> dict[str, Any]:
    section = README[README.index("Add watchkeeper to an MCP client") :]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block is not None
    config: dict[str, Any] = json.loads(block.group(1))["mcpServers"]["watchkeeper"]
    return config


def test_the_readme_mcp_client_config_starts_and_lists_tools(tmp_path: Path) -> None:
    config = readme_block()
    assert Path(config["command"]).is_absolute() and config["command"].endswith("/bin/wk")
    assert set(config["env"]) == {"WK_CONFIG", "WK_DATA_DIR"}
    (tmp_path / "config.toml").write_text(f'[policy]\nread_allowlist = ["{tmp_path}"]\n')
    # The block's paths, moved into this test's directory; nothing else from this shell.
    env = {"WK_CONFIG": str(tmp_path / "config.toml"), "WK_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    seen: dict[str, Any] = {}

    async def session() -> None:
        async with Client(StdioServerParameters(command=WK, args=config["args"], env=env)) as client:
            seen["tools"] = [t.name for t in (await client.list_tools()).tools]
            seen["call"] = await client.call_tool("host_status", {})

    anyio.run(session)
    assert "host_status" in seen["tools"] and not seen["call"].is_error
    assert (tmp_path / "data" / "watchkeeper.db").exists()  # the calls landed in the named data directory
