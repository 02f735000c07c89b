"""Skill packs: the shipped example against a real TLS server, and every way a pack can be wrong."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import call, make_settings, require_binary
from tests.helpers import Wk, http_server, pid_alive, wait_for
from watchkeeper.app import App, open_app
from watchkeeper.scenarios.certs import self_signed
from watchkeeper.skills.invoke import Status
from watchkeeper.skills.registry import Registry

EXAMPLES = Path(__file__).parents[2] / "examples" / "skill-packs"


def write_pack(base: Path, name: str, script: str, **spec: Any) -> Path:
    pack = base / name
    pack.mkdir(parents=True)
    manifest = {
        "key": name,
        "name": name,
        "description": f"{name} pack",
        "class": "safe",
        "scope": "manager",
        "category": "test",
        "command": ["run.sh"],
        "params": {"type": "object"},
    }
    manifest.update(spec)
    (pack / "skill.json").write_text(json.dumps(manifest))
    run = pack / "run.sh"
    run.write_text("#!/bin/sh\n" + script)
    run.chmod(run.stat().st_mode | stat.S_IEXEC)
    return pack


@pytest.fixture
def packs(tmp_path: Path) -> Path:
    base = tmp_path / "packs"
    base.mkdir()
    return base


def pack_runtime(tmp_path: Path, log_dir: Path, *dirs: Path) -> App:
    return open_app(make_settings(tmp_path, log_dir, skills={"pack_dirs": [str(d) for d in dirs]}))


def test_example_tls_pack_reads_a_real_certificate(tmp_path: Path, log_dir: Path) -> None:
    require_binary("openssl")
    rt = pack_runtime(tmp_path, log_dir, EXAMPLES)
    assert rt.registry.load_errors == []
    skill = rt.registry.get("tls_cert_expiry")
    assert skill.source.startswith("pack:") and skill.meta.scope.value == "host"
    with http_server(self_signed(tmp_path, days=10)) as url:
        port = int(url.rsplit(":", 1)[1])
        result = call(rt, "tls_cert_expiry", host="127.0.0.1", port=port, servername="localhost")
    assert result.ok, result.error
    assert result.result["days_left"] in (9, 10)
    assert result.result["expiring"] is True
    assert "localhost" in result.result["subject"]
    assert rt.ledger.rows()[-1]["status"] == "succeeded"


def test_example_pack_failure_and_bad_params(tmp_path: Path, log_dir: Path) -> None:
    require_binary("openssl")
    rt = pack_runtime(tmp_path, log_dir, EXAMPLES)
    closed = call(rt, "tls_cert_expiry", host="127.0.0.1", port=1)
    assert closed.status is Status.FAILED and "no TLS certificate could be read" in (closed.error or "")
    bad = call(rt, "tls_cert_expiry", host="127.0.0.1; rm -rf /", port="https")
    assert bad.status is Status.INVALID
    assert {f for f, _ in bad.problems} == {"host", "port"}


def test_pack_runtime_errors_are_precise(tmp_path: Path, log_dir: Path, packs: Path) -> None:
    write_pack(packs, "exits_badly", "echo 'disk on fire' >&2; exit 3")
    write_pack(packs, "prints_garbage", "echo 'this is not json'")
    write_pack(packs, "echoes", "cat")
    rt = pack_runtime(tmp_path, log_dir, packs)
    failed = call(rt, "exits_badly")
    assert failed.status is Status.FAILED and "exited with status 3: disk on fire" in (failed.error or "")
    garbage = call(rt, "prints_garbage")
    assert garbage.status is Status.FAILED and "invalid JSON on stdout" in (garbage.error or "")
    echoed = call(rt, "echoes", anything={"a": 1})
    assert echoed.ok and echoed.result == {"anything": {"a": 1}}


def test_pack_timeout_kills_its_process_group(tmp_path: Path, log_dir: Path, packs: Path) -> None:
    pid_file = tmp_path / "bg.pid"
    write_pack(packs, "hangs", f"sleep 60 & echo $! > {pid_file}; wait", timeout=1)
    rt = pack_runtime(tmp_path, log_dir, packs)
    result = call(rt, "hangs")
    assert result.status is Status.TIMED_OUT
    assert wait_for(lambda: pid_file.exists(), timeout=2)
    assert wait_for(lambda: not pid_alive(int(pid_file.read_text())), timeout=5)


def test_mutating_pack_goes_through_the_gate(tmp_path: Path, log_dir: Path, packs: Path) -> None:
    marker = tmp_path / "ran"
    write_pack(packs, "changes_things", f"touch {marker}; echo '{{}}'", **{"class": "mutating"})
    rt = pack_runtime(tmp_path, log_dir, packs)
    result = call(rt, "changes_things")
    assert result.status is Status.REFUSED and not marker.exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"class": None}, "missing class"),
        ({"class": "risky"}, "class must be safe, mutating or dangerous, not 'risky'"),
        ({"scope": "cluster"}, "scope must be host or manager"),
        ({"params": {"type": "object", "properties": {"x": {"type": "strng"}}}}, "invalid params schema at"),
        ({"params": {"type": "array"}}, "params schema must describe an object"),
        ({"timeout": -5}, "timeout must be a positive number"),
        ({"key": "Bad Key"}, "lower_snake_case"),
        ({"command": []}, "command must be a non-empty list"),
        ({"key": 5}, "key must be a string, not a number"),
        ({"description": ["n"]}, "description must be a string, not an array"),
        ({"params": ["x"]}, "params must be a JSON object, not an array"),
        ({"result_example": "ok"}, "result_example must be a JSON object, not a string"),
        ({"idempotent": "yes"}, "idempotent must be true or false, not a string"),
        ({"timeout": True}, "timeout must be a positive number"),
    ],
)
def test_bad_manifests_are_reported_precisely(packs: Path, spec: dict[str, Any], message: str) -> None:
    cleaned = {k: v for k, v in spec.items() if v is not None}
    pack = write_pack(packs, "broken", "echo '{}'", **cleaned)
    if spec.get("class", "") is None:
        manifest = json.loads((pack / "skill.json").read_text())
        del manifest["class"]
        (pack / "skill.json").write_text(json.dumps(manifest))
    write_pack(packs, "fine", "echo '{}'")
    registry = Registry()
    registry.load_packs([packs])
    assert [s.key for s in registry.all()] == ["fine"]
    assert len(registry.load_errors) == 1 and message in registry.load_errors[0]
    assert "skill.json" in registry.load_errors[0]


def test_unreadable_manifest_and_missing_dir(packs: Path, tmp_path: Path) -> None:
    pack = packs / "notjson"
    pack.mkdir()
    (pack / "skill.json").write_text("{ nope")
    registry = Registry()
    registry.load_packs([packs, tmp_path / "nowhere"])
    assert any("is not valid JSON" in e and "at line 1 column 3" in e for e in registry.load_errors)
    assert any("does not exist" in e for e in registry.load_errors)


@pytest.mark.parametrize(
    ("write", "problem"),
    [
        (lambda m: m.mkdir(), "is a directory, not a file"),
        (lambda m: m.write_bytes(b'{"key": "caf\xe9"}'), "not UTF-8 text (byte 0xe9 at offset 12)"),
        (lambda m: m.write_text("[1, 2]"), "must hold a JSON object, not an array"),
    ],
)
def test_an_unreadable_manifest_is_one_warning(packs: Path, write: Callable[[Path], object], problem: str) -> None:
    (packs / "unreadable").mkdir()
    write(packs / "unreadable" / "skill.json")
    write_pack(packs, "fine", "echo '{}'")
    registry = Registry()
    registry.load_packs([packs])
    assert [s.key for s in registry.all()] == ["fine"]
    assert registry.load_errors == [f"{packs / 'unreadable' / 'skill.json'}: {problem}"]


def test_wk_skills_list_names_a_broken_pack_in_one_line_and_lists_the_rest(
    tmp_path: Path, log_dir: Path, packs: Path
) -> None:
    write_pack(packs, "fine", "echo '{}'")
    broken = write_pack(packs, "broken", "echo '{}'", key=5)
    wk = Wk(tmp_path, log_dir, f'[skills]\npack_dirs = ["{packs}"]\n')
    listed = wk("skills", "list", "--json")
    assert listed.returncode == 0 and "fine" in {s["key"] for s in json.loads(listed.stdout)}
    assert listed.stderr == f"{broken / 'skill.json'}: key must be a string, not a number\n"


def test_non_executable_command(packs: Path) -> None:
    pack = write_pack(packs, "noexec", "echo '{}'")
    (pack / "run.sh").chmod(0o644)
    registry = Registry()
    registry.load_packs([packs])
    assert "is not executable" in registry.load_errors[0]


def test_relative_pack_dirs_resolve_from_where_wk_runs(
    tmp_path: Path, log_dir: Path, packs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pack(packs, "relative", "echo '{\"ran\": true}'")
    monkeypatch.chdir(packs.parent)
    rt = pack_runtime(tmp_path, log_dir, Path(packs.name))
    result = call(rt, "relative")
    assert result.ok and result.result == {"ran": True}
