"""Signed alert posts, for senders that cannot send a bearer token: `X-Watchkeeper-Signature: sha256=<hex
HMAC-SHA256 of the raw body>`, or Grafana's own `X-Grafana-Alerting-Signature: <hex>` — over the body,
or over `<timestamp>:<body>` when Grafana is configured to send `X-Grafana-Alerting-Signature-Timestamp`
(Grafana's webhook notifier documents the scheme). The secret is a source's in `[[alerts.sources]]`."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

from watchkeeper.config import AlertSource, resolve_secret
from watchkeeper.errors import ConfigError, WatchkeeperError

WATCHKEEPER = "x-watchkeeper-signature"
GRAFANA = "x-grafana-alerting-signature"
GRAFANA_TIMESTAMP = "x-grafana-alerting-signature-timestamp"
SIGNATURE_HEADERS = (WATCHKEEPER, GRAFANA)
MAX_AGE_S = 300  # a signed timestamp older (or further ahead) than this is a replay, or a clock to fix


class SignatureError(WatchkeeperError):
    """A signed post whose signature is missing, malformed, stale or made with no configured secret."""


def _signed(raw: bytes, headers: Mapping[str, str], now: float) -> tuple[bytes, str]:
    """What was signed and the hex digest the sender claims, from whichever signature header it sent."""
    if (given := headers.get(WATCHKEEPER)) is not None:
        scheme, _, digest = given.strip().partition("=")
        if scheme.lower() != "sha256" or not digest:
            raise SignatureError("X-Watchkeeper-Signature must be sha256=<hex HMAC-SHA256 of the body>")
        return raw, digest
    if (given := headers.get(GRAFANA)) is None:
        raise SignatureError("the post carries no signature header")
    stamp = headers.get(GRAFANA_TIMESTAMP)
    if stamp is None:
        return raw, given
    try:
        fresh = abs(now - int(stamp.strip())) <= MAX_AGE_S
    except ValueError:
        raise SignatureError("X-Grafana-Alerting-Signature-Timestamp must be a Unix time in seconds") from None
    if not fresh:
        raise SignatureError(f"the signature's timestamp is more than {MAX_AGE_S} s away from this server's clock")
    return stamp.strip().encode() + b":" + raw, given


def verify(raw: bytes, headers: Mapping[str, str], sources: Sequence[AlertSource], now: float | None = None) -> str:
    """The name of the source whose secret signed `raw`; SignatureError otherwise. `headers` is looked up
    by lower-case name (Starlette's headers are case-insensitive). ConfigError if a secret cannot be read."""
    signed, digest = _signed(raw, headers, time.time() if now is None else now)
    if not sources:
        raise SignatureError("no alert source is configured to sign posts ([[alerts.sources]])")
    claimed = digest.strip().lower().encode("utf-8", "replace")
    # Every source is tried, none skipped once one matched: the time taken says nothing about which.
    matched = [
        source.name
        for source in sources
        if hmac.compare_digest(hmac.new(_key(source), signed, hashlib.sha256).hexdigest().encode(), claimed)
    ]
    if not matched:
        raise SignatureError("the signature matches no configured alert source")
    return matched[0]


def _key(source: AlertSource) -> bytes:
    """The source's secret; an empty one (`env:` of an unset-to-empty variable) would let anyone sign."""
    secret = resolve_secret(source.secret)
    if not secret.strip():
        raise ConfigError(f"alerts.sources {source.name!r}: its secret is empty, so anyone could sign as it")
    return secret.encode()
