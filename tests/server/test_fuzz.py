"""The OpenAPI document fuzzed with schemathesis, as an admin: valid and invalid requests to every
operation (≤ 25 examples each), and not one answer is a 5xx — but the documented 504 of a skill that ran
past its time limit, kept short here so a probe of whatever address is drawn cannot hold the run."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.server.conftest import serve_core
from watchkeeper.app import LOCAL_SOURCES, build_registry
from watchkeeper.config import Settings


def timed_out(answer: Any) -> bool:
    """The documented 504: a skill that ran past its (here short) time limit, as an audited invocation."""
    if answer.status_code != 504:
        return False
    body = answer.json()
    return bool(body.get("invocation", {}).get("status") == "timed_out" and body["invocation"].get("audit_id"))


def test_no_fuzzed_request_gets_a_5xx(tmp_path: Path, log_dir: Path) -> None:
    # Short time limits: a probe of whatever address the fuzzer draws must not hold the run.
    keys = [s.key for s in build_registry(Settings(data_dir=tmp_path / "keys"), LOCAL_SOURCES).all()]
    with serve_core(tmp_path, log_dir, skills={"timeouts": dict.fromkeys(keys, 2.0)}) as served:
        schema = schemathesis.openapi.from_dict(served.get("/openapi.json", "admin").json())
        headers = {"Authorization": f"Bearer {served.tokens['admin']}"}
        failures: list[str] = []
        calls: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= len(keys) + 6
        for operation in operations:
            for mode, examples in ((GenerationMode.POSITIVE, 15), (GenerationMode.NEGATIVE, 10)):

                @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(mode))
                def call(case: schemathesis.Case) -> None:
                    calls.append(case.method)
                    answer = case.call(base_url=served.url, headers=headers, timeout=30)
                    if answer.status_code >= 500 and not timed_out(answer):
                        failures.append(f"{case.method} {case.formatted_path} {case.body!r}: {answer.status_code}")

                with contextlib.suppress(Unsatisfiable):  # an operation without params has no invalid input
                    call()
        assert not failures, "\n".join(failures[:20])
        assert len(calls) >= 15 * len(operations)
