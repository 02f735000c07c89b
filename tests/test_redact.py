"""The redactor against its corpus (tests/fixtures/secrets.yaml): every secret form masked, every
look-alike untouched, in free text, in argv and in structures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from watchkeeper.evidence.report import ModelUsage, Report, Symptom
from watchkeeper.redact import MASK, redact, redact_argv, redact_text
from watchkeeper.redact.keys import _SECRET_ENDINGS, _SECRET_WORDS
from watchkeeper.redact.text import STEMS

CORPUS: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (Path(__file__).parent / "fixtures" / "secrets.yaml").read_text(encoding="utf-8")
)


def cases(kind: str) -> Any:
    return pytest.mark.parametrize("case", CORPUS[kind], ids=[c["form"] for c in CORPUS[kind]])


def test_the_corpus_is_as_broad_as_promised() -> None:
    assert len(CORPUS["secret"]) >= 40 and len(CORPUS["keep"]) >= 20
    assert len({c["form"] for c in CORPUS["secret"] + CORPUS["keep"]}) == len(CORPUS["secret"] + CORPUS["keep"])


@cases("secret")
def test_a_secret_vanishes_from_text(case: dict[str, Any]) -> None:
    masked = redact_text(case["text"])
    assert case["secret"] not in masked and MASK in masked
    for context in case.get("stays", []):
        assert context in masked
    assert redact_text(masked) == masked  # idempotent: redacting twice changes nothing


@cases("keep")
def test_a_look_alike_survives(case: dict[str, Any]) -> None:
    assert redact_text(case["text"]) == case["text"]


@cases("argv")
def test_a_secret_vanishes_from_argv(case: dict[str, Any]) -> None:
    masked = redact_argv(case["argv"])
    assert len(masked) == len(case["argv"])
    assert case["secret"] not in " ".join(masked) and MASK in " ".join(masked)
    assert masked[0] == case["argv"][0]  # the program stays recognisable


@cases("keep_argv")
def test_an_argv_look_alike_survives(case: dict[str, Any]) -> None:
    assert redact_argv(case["argv"]) == case["argv"]


def test_the_stems_that_find_keys_in_text_cover_every_secret_word() -> None:
    words = [*_SECRET_ENDINGS, *_SECRET_WORDS, "apikey"]
    assert [w for w in words if not any(stem in w for stem in STEMS)] == []


def test_structures_mask_secret_keys_and_keep_counts() -> None:
    data = {
        "password": "p",
        "nested": [{"api_token": 12345, "note": "dsn mysql://root:rootpw@db/x"}],
        "count": 3,
        "token_count": None,
        "password_file": "/etc/app/password",
        "usage": {"input_tokens": 1234, "output_tokens": 56, "max_tokens": 60000},
    }
    out = redact(data)
    assert out["password"] == MASK and out["nested"][0]["api_token"] == MASK
    assert "rootpw" not in out["nested"][0]["note"]
    assert out["count"] == 3 and out["token_count"] is None and out["password_file"] == "/etc/app/password"
    assert out["usage"] == data["usage"]
    assert data["password"] == "p"  # the input is not changed


def test_token_counts_in_a_report_survive_redaction() -> None:
    report = Report(
        id="inv-1",
        summary="cpu high",
        symptom=Symptom(question="cpu high"),
        started_at=datetime(2026, 11, 22, 1, 0, tzinfo=UTC),
        usage=ModelUsage(model="qwen", requests=3, input_tokens=1234, output_tokens=56),
    )
    usage = redact(report.model_dump(mode="json"))["usage"]
    assert usage["input_tokens"] == 1234 and usage["output_tokens"] == 56


def test_strings_of_a_structure_are_redacted_apart() -> None:
    """One pass over all strings at once must not let a secret or a mask run into the next string."""
    data = ["password=", "hunter2", "-----BEGIN RSA PRIVATE KEY-----", "not a key", "ok\n\x1e\n"]
    assert redact(data) == data
