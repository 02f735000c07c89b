"""Per-target rate limits: chat robots refuse messages past a per-minute quota (DingTalk: 20).

The notifier asks `allow` before sending; a refused message is held and folded into the next one,
sent at `next_free`. Each key (a target) has its own sliding 60-second window; a platform without a
limit (the generic webhook, apprise targets) is never held.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping

from watchkeeper.errors import ConfigError
from watchkeeper.notify.senders import Apprise, sender_for

WINDOW_S = 60.0


def platform_of(target: str) -> str:
    """dingtalk, feishu (lark too), wecom, slack, webhook or other, for a resolved target URL.

    The platform is the sender that would deliver it, so the limit and the delivery never disagree.
    """
    sender = sender_for(target)
    return "other" if isinstance(sender, Apprise) else type(sender).__name__.lower()


class RateLimiter:
    """Sliding-window counts of the messages sent to each key; safe to share between threads."""

    def __init__(self, per_minute: Mapping[str, int]) -> None:
        for platform, limit in per_minute.items():
            if limit < 1:
                raise ConfigError(f"notify.per_minute.{platform}: {limit} would never let a message through")
        self._limits = dict(per_minute)
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        """The key's sending times still inside the window ending at `now` (call with the lock held)."""
        sent = self._sent.setdefault(key, deque())
        while sent and sent[0] <= now - WINDOW_S:
            sent.popleft()
        return sent

    def allow(self, key: str, platform: str, now: float) -> bool:
        """Whether a message to `key` may go at `now`; a message allowed is counted as sent."""
        limit = self._limits.get(platform)
        if limit is None:
            return True
        with self._lock:
            sent = self._recent(key, now)
            if len(sent) >= limit:
                return False
            sent.append(now)
            return True

    def next_free(self, key: str, platform: str, now: float) -> float:
        """When the next message to `key` may go: `now`, or when the oldest message in a full window leaves it."""
        limit = self._limits.get(platform)
        if limit is None:
            return now
        with self._lock:
            sent = self._recent(key, now)
            return now if len(sent) < limit else sent[-limit] + WINDOW_S
