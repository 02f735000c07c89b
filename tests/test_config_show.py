"""`wk config show` masks every literal secret of the real config file and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import Wk
from watchkeeper.config_view import masked_url

CONFIG = """
[audit]
key = "AuditKey-1"

[llm]
base_url = "http://127.0.0.1:8080/v1"
model = "local"
api_key = "LlmKey-2"
max_tokens = 50000
reply_tokens = 900

[notify]
urls = [
  "dingtalk+https://oapi.dingtalk.com/robot/send?access_token=DingTok-3",
  "slack://TSlack-4/BSlack-5/XSlack-6/#ops",
  "env:WK_TEST_HOOK",
]

[observability]
prometheus_url = "http://127.0.0.1:9090"
headers = { "X-Scope-OrgID" = "OrgHeader-7", Authorization = "env:PROM_AUTH" }

[mcp]
token = "McpTok-8"

[[mcp.servers]]
name = "gh"
command = "npx"
args = ["-y", "server-github", "--token", "GhArg-9"]
env = { GITHUB_TOKEN = "GhEnv-10", DEBUG = "1" }
"""
SECRETS = ["AuditKey", "LlmKey", "DingTok", "TSlack", "BSlack", "XSlack", "OrgHeader", "McpTok", "GhArg", "GhEnv"]


def test_config_show_masks_literal_secrets_and_keeps_token_limits(tmp_path: Path, log_dir: Path) -> None:
    wk = Wk(tmp_path, log_dir, CONFIG)
    done = wk("config", "show", "--json")
    assert done.returncode == 0, done.stderr
    assert [s for s in SECRETS if s in done.stdout] == []
    view = json.loads(done.stdout)
    assert view["llm"]["max_tokens"] == 50000 and view["llm"]["reply_tokens"] == 900
    assert view["audit"]["key"] == view["llm"]["api_key"] == view["mcp"]["token"] == "[REDACTED]"
    assert view["notify"]["urls"] == [
        "dingtalk+https://oapi.dingtalk.com:443/…",  # as notifications show it: where it goes, no token
        "slack://…",
        "env:WK_TEST_HOOK",  # a reference says where the secret is, and is shown
    ]
    assert view["observability"]["headers"] == {"X-Scope-OrgID": "[REDACTED]", "Authorization": "env:PROM_AUTH"}
    server = view["mcp"]["servers"][0]
    assert [server["command"], *server["args"]] == ["npx", "-y", "server-github", "--token", "[REDACTED]"]
    assert server["env"] == {"GITHUB_TOKEN": "[REDACTED]", "DEBUG": "1"}
    human = wk("config", "show")
    assert human.returncode == 0 and [s for s in SECRETS if s in human.stdout] == []


def test_a_notification_url_keeps_only_where_it_goes() -> None:
    assert masked_url("https://user:pw@hooks.example.com:8443/services/T1/B2/X3") == "https://hooks.example.com:8443/…"
    assert masked_url("https://hooks.example.com") == "https://hooks.example.com:443"
    assert masked_url("tgram://123456:AAbbCC/987") == "tgram://…"
    assert masked_url("file:/etc/watchkeeper/slack.url") == "file:/etc/watchkeeper/slack.url"
