"""The skill API, derived from the registry: the same objects as the CLI, an invocation audited with the
token's user, and every outcome mapped to its HTTP code with one error shape everywhere."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.server.conftest import Served, serve_core
from watchkeeper.skills import derive

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def is_problem(answer: object, status: int) -> dict[str, object]:
    import httpx2

    assert isinstance(answer, httpx2.Response)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = answer.json()
    assert set(body) >= PROBLEM_KEYS and body["status"] == status
    return body


def test_skills_are_the_registry_and_a_call_is_audited_with_its_user(served_on: Served) -> None:
    served = served_on
    listed = served.get("/api/v1/skills", "viewer").json()
    assert listed == [json.loads(json.dumps(derive.summary(s))) for s in served.core.registry.all()]
    assert served.get("/api/v1/skills/path_info", "viewer").json()["key"] == "path_info"
    ran = served.post("/api/v1/skills/path_info/invoke", "operator", json={"params": {"path": "/"}})
    assert ran.status_code == 200, ran.text
    call = ran.json()
    assert call["status"] == "succeeded" and call["result"]["exists"] is True and call["audit_id"]
    rows = served.get("/api/v1/audit", "viewer", params={"user": "operator", "tool": "path_info"}).json()
    assert [(r["id"], r["caller_role"], r["caller_user_id"]) for r in rows] == [(call["audit_id"], "http", "operator")]
    assert served.get("/api/v1/audit/verify", "viewer").json()["ok"] is True


def test_a_call_that_ran_and_failed_is_200_with_its_status(served: Served) -> None:
    missing = served.core.settings.policy.read_allowlist[0] / "gone.log"
    failed = served.post("/api/v1/skills/tail_file/invoke", "operator", json={"params": {"path": str(missing)}})
    assert failed.status_code == 200 and failed.json()["status"] == "failed", failed.text
    assert "gone.log" in failed.json()["error"]


def test_every_outcome_has_its_code_and_shape(served: Served, victim: subprocess.Popen[bytes]) -> None:
    s = served
    unknown = is_problem(s.post("/api/v1/skills/no_such/invoke", "operator", json={}), 404)
    assert "no_such" in str(unknown["detail"])
    edge = is_problem(
        s.post("/api/v1/skills/path_info/invoke", "operator", json={"params": {"path": "/"}, "edge": "far"}), 404
    )
    assert "far" in str(edge["detail"])
    bad = is_problem(s.post("/api/v1/skills/path_info/invoke", "operator", json={"params": {"nope": 1}}), 422)
    assert {e["field"] for e in bad["errors"]} >= {"path", "nope"}  # type: ignore[union-attr]
    refused = is_problem(
        s.post("/api/v1/skills/kill_process/invoke", "admin", json={"params": {"pid": victim.pid}}), 403
    )
    assert refused["rule"] == "approval_required" and refused["invocation"]["audit_id"]  # type: ignore[index]
    assert is_problem(s.get("/api/v1/skills/no_such", "viewer"), 404)
    assert is_problem(s.get("/api/v1/nothing/here", "viewer"), 404)
    assert is_problem(s.post("/api/v1/skills", "admin"), 405)
    with s.client("admin") as client:
        assert "DELETE is not allowed" in str(is_problem(client.delete("/api/v1/audit"), 405)["detail"])
    malformed = is_problem(
        s.post(
            "/api/v1/skills/path_info/invoke",
            "operator",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        ),
        400,
    )
    assert "JSON" in str(malformed["detail"])
    shape = is_problem(s.post("/api/v1/skills/path_info/invoke", "operator", json=["a list"]), 422)
    assert shape["errors"]
    extra = is_problem(s.post("/api/v1/skills/path_info/invoke", "operator", json={"params": {}, "x": 1}), 422)
    assert any(e["field"] == "x" for e in extra["errors"])  # type: ignore[union-attr]
    since = is_problem(s.get("/api/v1/audit", "viewer", params={"since": "yesterday-ish"}), 422)
    assert since["errors"] == [{"field": "since", "error": "not a duration or an ISO timestamp"}]
    limit = is_problem(s.get("/api/v1/audit", "viewer", params={"limit": "many"}), 422)
    assert limit["errors"][0]["field"] == "limit"  # type: ignore[index]


def test_a_body_over_the_limit_is_413_declared_or_streamed(tmp_path: Path, log_dir: Path) -> None:
    with serve_core(tmp_path, log_dir, server={"max_body_bytes": 2048}) as s:
        big = json.dumps({"params": {"path": "/" + "a" * 4096}}).encode()
        is_problem(s.post("/api/v1/skills/path_info/invoke", "operator", content=big), 413)

        streamed = iter([big[:1000], big[1000:]])  # no Content-Length: counted as it arrives
        is_problem(s.post("/api/v1/skills/path_info/invoke", "operator", content=streamed), 413)  # no Content-Length


def test_a_call_that_times_out_is_504(tmp_path: Path, log_dir: Path) -> None:
    # process_table samples for as long as asked, whatever its limit (probe_tcp cuts its own wait to the
    # time left, and on a busy host could answer first).
    with serve_core(tmp_path, log_dir, skills={"timeouts": {"process_table": 0.5}}) as s:
        slow = s.post("/api/v1/skills/process_table/invoke", "operator", json={"params": {"sample_seconds": 3}})
        if slow.status_code == 200:
            pytest.fail(f"process_table answered within its 0.5 s limit: {slow.text}")
        body = is_problem(slow, 504)
        assert body["invocation"]["status"] == "timed_out"  # type: ignore[index]
