"""The redactor masks every kind of secret the issue names, in text and in structures."""

from __future__ import annotations

import pytest

from watchkeeper.redact import MASK, redact, redact_text

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx7\nabc\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("password=hunter2 user=bob", "hunter2"),
        ('{"db_password": "s3cr3t!"}', "s3cr3t!"),
        ("DB_PASSWD: 'quoted pass'", "quoted pass"),
        ("api_key=AbCdEf123456", "AbCdEf123456"),
        ("X-Api-Key: 0123456789abcdef", "0123456789abcdef"),
        ("client_secret=verysecretvalue", "verysecretvalue"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
        ("authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("curl -H 'Authorization: Token abcdef123456'", "abcdef123456"),
        ("connecting to postgresql://app:pa55word@db.internal:5432/app", "pa55word"),
        ("amqp://guest:guest-secret@rabbit:5672/", "guest-secret"),
        ("redis://:onlypassword@cache:6379/0", "onlypassword"),
        ("aws key AKIAIOSFODNN7EXAMPLE in env", "AKIAIOSFODNN7EXAMPLE"),
        ("token ghp_0123456789abcdefghijklmnopqrstuvwxyz", "ghp_0123456789abcdef"),
        ("slack xoxb-123456789012-abcdefghijkl", "xoxb-123456789012"),
        ("openai sk-proj-abcdefghijklmnopqrstuvwx", "sk-proj-abcdefghij"),
        (PEM, "MIIEowIBAAKCAQEAx7"),
    ],
)
def test_secret_is_masked(text: str, secret: str) -> None:
    masked = redact_text(text)
    assert secret not in masked
    assert MASK in masked


def test_ordinary_text_is_untouched() -> None:
    line = "2026-11-22 01:00:00 ERROR upstream timed out (110: Connection timed out) while reading /api/v1"
    assert redact_text(line) == line


def test_structures_mask_secret_keys_and_recurse() -> None:
    data = {
        "password": "p",
        "nested": [{"api_token": 12345, "note": "dsn mysql://root:rootpw@db/x"}],
        "count": 3,
        "token_count": None,
    }
    out = redact(data)
    assert out["password"] == MASK
    assert out["nested"][0]["api_token"] == MASK
    assert "rootpw" not in out["nested"][0]["note"]
    assert out["count"] == 3 and out["token_count"] is None
    assert data["password"] == "p"  # the input is not changed


def test_redaction_is_idempotent() -> None:
    once = redact_text("password=abc Authorization: Bearer abcdefghijk")
    assert redact_text(once) == once
