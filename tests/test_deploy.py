"""The files in deploy/ pass the tools that will read them: systemd-analyze (the unit and its drop-in),
systemd-sysusers, polkit's rule through node, promtool (the scrape config, the alert rules and their
unit tests) and a real Prometheus scraping with the shipped job. No container engine runs here, so the
image is never built: the Containerfile is parsed, and the wheel is built from exactly what it copies."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from tests.conftest import require_binary
from tests.helpers import free_port, http_server, wait_for
from tests.server.conftest import serve_core
from watchkeeper.config import Settings

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
UNIT = SYSTEMD / "watchkeeper.service"
DROP_IN = SYSTEMD / "diagnose-only.conf"
POLKIT_RULE = DEPLOY / "polkit" / "50-watchkeeper.rules"
PROMETHEUS = DEPLOY / "prometheus"
RULES = PROMETHEUS / "watchkeeper-alerts.yml"
CONTAINERFILE = DEPLOY / "Containerfile"
INSTALLED_WK = "/opt/watchkeeper/bin/wk"  # where the unit's install steps put the venv
# The checks of `systemd-analyze security` the unit fails on purpose, each for a reason its comments give.
ACCEPTED_EXPOSURE = {
    "RootDirectory=/RootImage=",  # the host is what it inspects
    "SupplementaryGroups=",  # adm and systemd-journal: the logs without the capabilities
    "AmbientCapabilities=",  # the four below, for another user's processes
    "CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)",
    "CapabilityBoundingSet=~CAP_SYS_PTRACE",
    "CapabilityBoundingSet=~CAP_KILL",
    "CapabilityBoundingSet=~CAP_SYSLOG",
    "ProtectKernelLogs=",  # kernel_log reads the ring buffer
    "ProtectProc=",  # the process skills see every process
    "ProcSubset=",  # and /proc/sys, /proc/net, /proc/locks
    "ProtectHome=",  # read-only, not hidden
    "PrivateUsers=",  # capabilities in a user namespace mean nothing for the host's processes
    "PrivateNetwork=",  # the probes reach whatever the operator points them at
    "IPAddressDeny=",
    "RestrictAddressFamilies=~AF_(INET|INET6)",
    "RestrictAddressFamilies=~AF_UNIX",  # D-Bus for systemctl
    "RestrictAddressFamilies=~AF_NETLINK",  # getaddrinfo
    "DeviceAllow=",  # the read-only RTC that ProtectClock= leaves
}


def defined_metrics() -> set[str]:
    """The names `wk serve`'s /metrics exposes, from its own registry (an alert on a misspelt name would
    never fire). The bus is an empty stand-in: only the families' names are read."""
    from watchkeeper.bus.stats import BusStats
    from watchkeeper.server.metrics import Metrics

    class NoEvents:
        def stats(self) -> BusStats:
            return BusStats()

        def depths(self) -> dict[str, int]:
            return {}

    metrics = Metrics(NoEvents(), dict)  # type: ignore[arg-type]
    metrics.workers_up = lambda: True  # a manager that runs the incident workers
    families = metrics.registry.collect()
    return {f.name + "_total" if f.type == "counter" else f.name for f in families}


def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


# -- systemd ------------------------------------------------------------------------------------------


def directives(text: str) -> list[tuple[str, str]]:
    """The Key=value lines of a unit file in order, repeats kept (systemd adds many of them up)."""
    lines = [line.strip().partition("=") for line in text.splitlines()]
    return [(key, value) for key, sep, value in lines if sep and not key.startswith(("#", ";"))]


def directive(name: str, text: str | None = None) -> list[str]:
    return [value for key, value in directives(UNIT.read_text() if text is None else text) if key == name]


def unit_copy(directory: Path, drop_in: bool = False) -> Path:
    """The unit in `directory`, its ExecStart pointed at the `wk` beside this interpreter: verify requires
    the binary to exist, and /opt/watchkeeper is the target host's layout, not this machine's. Nothing
    else changes. With `drop_in`, diagnose-only.conf beside it, where systemd looks for drop-ins."""
    text = UNIT.read_text()
    wk = Path(sys.executable).parent / "wk"
    assert wk.exists(), f"no wk beside {sys.executable}: install the project into this venv"
    assert directive("ExecStart", text) == [f"{INSTALLED_WK} serve"]
    path = directory / UNIT.name
    path.write_text(text.replace(f"ExecStart={INSTALLED_WK} ", f"ExecStart={wk} "))
    if drop_in:
        (directory / f"{UNIT.name}.d").mkdir()
        shutil.copy(DROP_IN, directory / f"{UNIT.name}.d" / DROP_IN.name)
    return path


def verify(unit: Path) -> str:
    """What systemd-analyze verify objects to. It exits 0 on an unknown directive or a value it cannot
    parse, and only warns: a clean unit is an empty output, not just exit 0."""
    done = run(require_binary("systemd-analyze"), "verify", str(unit))
    return (done.stdout + done.stderr).strip() + (f" (exit {done.returncode})" if done.returncode else "")


def security(unit: Path) -> tuple[float, list[str]]:
    """systemd-analyze security's overall exposure (0 fully sandboxed, 10 not at all) and the checks it
    finds failed (the lines marked ✗)."""
    done = run(require_binary("systemd-analyze"), "security", "--offline=yes", str(unit))
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert found, done.stdout[-500:] + done.stderr
    return float(found.group(1)), [line.split()[1] for line in done.stdout.splitlines() if line.startswith("✗")]


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    assert verify(unit_copy(tmp_path)) == ""


@pytest.mark.parametrize(
    ("pattern", "broken", "complaint"),
    [
        (r"^ProtectSystem=", "ProtectSytem=", "Unknown key 'ProtectSytem'"),
        (r"^NoNewPrivileges=yes", "NoNewPrivileges=perhaps", "Failed to parse boolean value, ignoring: perhaps"),
        (r"^ExecStart=\S+", "ExecStart=/nonexistent/wk", "is not executable"),
    ],
    ids=["misspelt-directive", "bad-value", "missing-binary"],
)
def test_verify_rejects_a_broken_copy(tmp_path: Path, pattern: str, broken: str, complaint: str) -> None:
    unit = unit_copy(tmp_path)
    text, count = re.subn(pattern, broken, unit.read_text(), flags=re.M)
    assert count == 1
    unit.write_text(text)
    assert complaint in verify(unit)


def test_hardening_is_scored_and_the_drop_in_is_stricter(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "strict").mkdir()
    plain, plain_failed = security(unit_copy(tmp_path / "plain"))
    strict_unit = unit_copy(tmp_path / "strict", drop_in=True)
    assert verify(strict_unit) == ""
    strict, strict_failed = security(strict_unit)
    assert set(plain_failed) == ACCEPTED_EXPOSURE  # a lost directive fails one more check
    assert plain <= 3.0
    assert strict < plain
    assert [check for check in strict_failed if check.startswith("CapabilityBoundingSet")] == []
    assert "ProtectHome=" not in strict_failed


def test_unit_runs_as_the_sysusers_user_in_its_state_directory(tmp_path: Path) -> None:
    sysusers = SYSTEMD / "watchkeeper.sysusers"
    (tmp_path / "etc").mkdir()  # an empty root: sysusers writes passwd, group and shadow there
    done = run(require_binary("systemd-sysusers"), f"--root={tmp_path}", str(sysusers))
    assert done.returncode == 0, done.stderr
    users = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc" / "passwd").read_text().splitlines()}
    groups = {line.split(":")[0] for line in (tmp_path / "etc" / "group").read_text().splitlines()}
    [user], [group], [state] = directive("User"), directive("Group"), directive("StateDirectory")
    _, _, uid, _, _, home, shell = users[user]
    assert group in groups
    assert int(uid) < 1000 and shell.endswith("nologin")
    assert home == f"/var/lib/{state}"
    env = dict(value.split("=", 1) for value in directive("Environment"))
    assert env["WK_DATA_DIR"] == home
    assert env["WK_CONFIG"].startswith(f"/etc/{directive('ConfigurationDirectory')[0]}/")


def test_polkit_rule_allows_the_service_user_to_restart_only_the_allowlisted_units(tmp_path: Path) -> None:
    """The rule runs in node with polkit's two globals (addRule, Result): the same ES5 polkit evaluates."""
    [user] = directive("User")
    allowlist = tomllib.loads((DEPLOY / "config.toml").read_text())["policy"]["restart_allowlist"]
    manage = "org.freedesktop.systemd1.manage-units"
    cases = [
        *[{"id": manage, "user": user, "verb": "restart", "unit": unit} for unit in allowlist],
        {"id": manage, "user": user, "verb": "stop", "unit": allowlist[0]},
        {"id": manage, "user": user, "verb": "start", "unit": allowlist[0]},
        {"id": manage, "user": user, "verb": "restart", "unit": "sshd.service"},
        {"id": manage, "user": "nobody", "verb": "restart", "unit": allowlist[0]},
        {"id": "org.freedesktop.login1.reboot", "user": user, "verb": "restart", "unit": allowlist[0]},
    ]
    script = tmp_path / "evaluate.js"
    script.write_text("""
        const fs = require("fs"), vm = require("vm");
        const rules = [];
        globalThis.polkit = {Result: {YES: "yes", NO: "no", NOT_HANDLED: null}, addRule: (r) => rules.push(r)};
        vm.runInThisContext(fs.readFileSync(process.argv[2], "utf8"));
        const answers = JSON.parse(process.argv[3]).map((c) => {
            const action = {id: c.id, lookup: (key) => ({verb: c.verb, unit: c.unit})[key]};
            for (const rule of rules) {
                const result = rule(action, {user: c.user});
                if (result !== null && result !== undefined) return result;
            }
            return null;
        });
        console.log(JSON.stringify(answers));
    """)
    done = run(require_binary("node"), str(script), str(POLKIT_RULE), json.dumps(cases))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["yes"] * len(allowlist) + [None] * 5


def test_config_example_loads_and_the_drop_in_empties_the_restart_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_CONFIG", str(DEPLOY / "config.toml"))
    settings = Settings()
    assert settings.policy.restart_allowlist == ["nginx.service"]
    for name, value in (v.split("=", 1) for v in directive("Environment", DROP_IN.read_text())):
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.policy.restart_allowlist == []
    assert settings.observability.prometheus_url == "http://127.0.0.1:9090"  # the rest of the file still applies


# -- Prometheus ---------------------------------------------------------------------------------------


def prometheus_dir(tmp_path: Path, token: str | None = "wk_example-token\n") -> Path:
    """deploy/prometheus as installed: with the token file the scrape job reads (as `wk tokens create >`
    writes it, newline included)."""
    shutil.copytree(PROMETHEUS, tmp_path / "prometheus")
    if token is not None:
        (tmp_path / "prometheus" / "watchkeeper.token").write_text(token)
    return tmp_path / "prometheus"


def test_scrape_config_passes_promtool(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    done = run(promtool, "check", "config", "prometheus.yml", cwd=prometheus_dir(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 1 rule files found" in done.stdout


def test_promtool_refuses_the_scrape_config_without_its_token_file(tmp_path: Path) -> None:
    done = run(require_binary("promtool"), "check", "config", "prometheus.yml", cwd=prometheus_dir(tmp_path, None))
    assert done.returncode != 0
    assert "watchkeeper.token" in done.stdout + done.stderr


def test_alert_rules_pass_promtool_and_use_only_watchkeeper_metrics() -> None:
    done = run(require_binary("promtool"), "check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    used = set(re.findall(r"\bwatchkeeper_[a-z_]+", RULES.read_text()))
    histogram_parts = ("_bucket", "_sum", "_count")
    assert {m.removesuffix(next((s for s in histogram_parts if m.endswith(s)), "")) for m in used} <= defined_metrics()


def test_every_alert_has_a_promtool_unit_test(tmp_path: Path) -> None:
    alerts = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((PROMETHEUS / "watchkeeper-alerts.test.yml").read_text())["tests"]
    firing = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert firing == alerts
    done = run(require_binary("promtool"), "test", "rules", "watchkeeper-alerts.test.yml", cwd=PROMETHEUS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_fail_on_a_wrong_expectation(tmp_path: Path) -> None:
    directory = prometheus_dir(tmp_path)
    tests = directory / "watchkeeper-alerts.test.yml"
    tests.write_text(tests.read_text().replace("severity: critical", "severity: page", 1))
    done = run(require_binary("promtool"), "test", "rules", tests.name, cwd=directory)
    assert done.returncode != 0
    assert "WatchkeeperDown" in done.stdout + done.stderr


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return list(json.loads(resp.read())["data"]["result"])
    except OSError:
        return []


def test_prometheus_scrapes_the_real_manager_with_a_viewer_token_and_loads_the_rules(
    tmp_path: Path, log_dir: Path
) -> None:
    """The shipped job run by a real Prometheus against a real `wk serve` app, its interval shortened: the
    token file (as `wk tokens create >` writes it, newline included) arrives as a viewer's bearer token."""
    with serve_core(tmp_path, log_dir) as served:
        directory = prometheus_dir(tmp_path, token=served.tokens["viewer"] + "\n")
        config = yaml.safe_load((directory / "prometheus.yml").read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        [job] = [job for job in config["scrape_configs"] if job["job_name"] == "watchkeeper"]
        job["static_configs"] = [{"targets": [served.url.removeprefix("http://")]}]
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        proc = subprocess.Popen(
            [
                require_binary("prometheus"),
                f"--config.file={directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        prometheus = f"http://127.0.0.1:{port}"
        try:
            assert wait_for(lambda: query(prometheus, 'up{job="watchkeeper"} == 1'), timeout=60)
            assert wait_for(lambda: query(prometheus, 'watchkeeper_http_requests_total{route="/metrics",code="200"}'))
            assert query(prometheus, "watchkeeper_events_published_total")
            with urllib.request.urlopen(f"{prometheus}/api/v1/rules", timeout=5) as resp:
                groups = json.loads(resp.read())["data"]["groups"]
        finally:
            proc.terminate()
            proc.wait(15)
    assert [group["name"] for group in groups] == ["watchkeeper"]
    assert len(groups[0]["rules"]) == len(yaml.safe_load(RULES.read_text())["groups"][0]["rules"])


# -- Containerfile ------------------------------------------------------------------------------------


def instructions() -> list[dict[str, Any]]:
    """The Containerfile's instructions, comments left out."""
    structure = DockerfileParser(fileobj=io.BytesIO(CONTAINERFILE.read_bytes())).structure
    return [item for item in structure if item["instruction"] != "COMMENT"]


def stages() -> list[list[dict[str, Any]]]:
    """The instructions from each FROM to the next."""
    parsed: list[list[dict[str, Any]]] = []
    for item in instructions():
        if item["instruction"] == "FROM":
            parsed.append([])
        if parsed:
            parsed[-1].append(item)
    return parsed


def values(stage: list[dict[str, Any]], instruction: str) -> list[str]:
    return [str(item["value"]) for item in stage if item["instruction"] == instruction]


def test_containerfile_runs_wk_serve_as_a_non_root_user() -> None:
    *_, final = stages()
    [user] = values(final, "USER")
    uid = user.split(":")[0]
    assert uid not in ("root", "0")
    assert any(f"--uid {uid} " in cmd for cmd in values(final, "RUN")), "USER names a user the image never creates"
    assert json.loads(values(final, "ENTRYPOINT")[-1]) == ["wk"]
    assert "wk" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert json.loads(values(final, "CMD")[-1]) == ["serve", "--host", "0.0.0.0"]
    assert values(final, "EXPOSE") == ["8765"]


def test_containerfile_keeps_data_in_a_volume_and_no_secret_in_its_environment() -> None:
    parser = DockerfileParser(fileobj=io.BytesIO(CONTAINERFILE.read_bytes()))
    env = parser.envs
    assert env["WK_SERVER__ALLOW_PLAIN_HTTP"] == "true"
    *_, final = stages()
    assert json.loads(values(final, "VOLUME")[-1]) == [env["WK_DATA_DIR"]]
    names = [
        name
        for value in values(instructions(), "ENV") + values(instructions(), "ARG")
        for name in re.findall(r"(\w+)=", value)
    ]
    assert names and not [n for n in names if re.search(r"TOKEN|SECRET|PASSW|CREDENTIAL|KEY", n, re.I)]


def test_containerfile_healthcheck_asks_healthz_and_fails_on_an_error_status(tmp_path: Path, log_dir: Path) -> None:
    *_, final = stages()
    [healthcheck] = values(final, "HEALTHCHECK")
    _, _, command = healthcheck.partition(" CMD ")
    argv = json.loads(command)
    assert argv[0] == "/opt/watchkeeper/bin/python"
    script = argv[-1]
    assert "http://127.0.0.1:8765/healthz" in script

    def probe(url: str) -> int:
        done = run(sys.executable, *argv[1:-1], script.replace("http://127.0.0.1:8765/healthz", url))
        return done.returncode

    with serve_core(tmp_path, log_dir) as served:
        assert probe(f"{served.url}/healthz") == 0  # the real manager
    with http_server() as base:
        assert probe(f"{base}/down/healthz") == 1  # a stand-in answers 503 there
    assert probe(f"http://127.0.0.1:{free_port()}/healthz") == 1  # nothing listening


def test_containerfile_copies_all_the_wheel_needs_and_nothing_else(tmp_path: Path) -> None:
    build, *_ = stages()
    copies = [v.split() for v in values(build, "COPY")]
    sources = [src for *srcs, _dest in copies for src in srcs]
    assert sorted(sources) == ["README.md", "pyproject.toml", "watchkeeper"]
    ignore = (DEPLOY / "Containerfile.dockerignore").read_text().splitlines()
    assert "*" in ignore and sorted(line[1:] for line in ignore if line.startswith("!")) == sorted(sources)
    stage = tmp_path / "stage"  # the build stage's file system, as far as the COPYs fill it
    for *srcs, dest in copies:
        for src in srcs:
            target = stage / dest.lstrip("/") / (src if dest.endswith("/") else "")
            if (ROOT / src).is_dir():
                shutil.copytree(ROOT / src, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / src, target)
    assert '"/src[postgres]"' in values(build, "RUN")[0]
    assert "postgres" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    dist = tmp_path / "dist"
    done = run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(stage / "src"))
    assert done.returncode == 0, done.stderr[-2000:]
    [wheel] = dist.glob("watchkeeper-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        entry_points = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        assert "wk = watchkeeper.cli:main" in archive.read(entry_points).decode()
