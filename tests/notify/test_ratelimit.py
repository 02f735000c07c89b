"""Per-target rate limits: each platform's quota over a sliding minute, and the platform of a target."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from watchkeeper.config import NotifySettings
from watchkeeper.errors import ConfigError
from watchkeeper.notify.ratelimit import RateLimiter, platform_of

ROBOT = "dingtalk+https://oapi.dingtalk.com/robot/send?access_token=T1"


@pytest.mark.parametrize(
    ("target", "platform"),
    [
        (ROBOT, "dingtalk"),
        ("feishu+https://open.feishu.cn/open-apis/bot/v2/hook/ID?secret=S", "feishu"),
        ("lark+https://open.larksuite.com/open-apis/bot/v2/hook/ID", "feishu"),
        ("wecom+https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K", "wecom"),
        ("slack+https://hooks.slack.com/services/T/B/X", "slack"),
        ("https://hooks.example.com/wk", "webhook"),
        ("webhook+http://127.0.0.1:9000/wk", "webhook"),
        ("tgram://123:token/-100", "other"),
        ("mailto://ops@example.com", "other"),
    ],
)
def test_the_platform_of_a_target_is_its_scheme(target: str, platform: str) -> None:
    assert platform_of(target) == platform


def test_dingtalk_takes_twenty_a_minute_then_refuses_until_the_first_leaves_the_window() -> None:
    limiter = RateLimiter(NotifySettings().per_minute)
    assert all(limiter.allow(ROBOT, "dingtalk", 1000.0 + i) for i in range(20))
    assert not limiter.allow(ROBOT, "dingtalk", 1019.5)
    assert limiter.next_free(ROBOT, "dingtalk", 1019.5) == 1060.0, "when the message sent at 1000 is a minute old"
    assert not limiter.allow(ROBOT, "dingtalk", 1059.9)
    assert limiter.allow(ROBOT, "dingtalk", 1060.0), "the window slid past the first message"
    assert not limiter.allow(ROBOT, "dingtalk", 1060.0)
    assert limiter.next_free(ROBOT, "dingtalk", 1060.0) == 1061.0


def test_next_free_is_now_while_the_window_has_room() -> None:
    limiter = RateLimiter({"dingtalk": 20})
    assert limiter.next_free(ROBOT, "dingtalk", 5.0) == 5.0
    for i in range(19):
        limiter.allow(ROBOT, "dingtalk", 5.0 + i)
    assert limiter.next_free(ROBOT, "dingtalk", 30.0) == 30.0
    assert limiter.next_free(ROBOT, "dingtalk", 30.0) == 30.0, "asking is not sending"


def test_each_target_has_its_own_window() -> None:
    limiter = RateLimiter({"dingtalk": 2})
    assert limiter.allow("robot-a", "dingtalk", 0.0) and limiter.allow("robot-a", "dingtalk", 0.0)
    assert not limiter.allow("robot-a", "dingtalk", 1.0)
    assert limiter.allow("robot-b", "dingtalk", 1.0)


def test_a_platform_without_a_limit_is_never_held() -> None:
    limiter = RateLimiter({"dingtalk": 20})
    assert all(limiter.allow("https://hooks.example.com/wk", "webhook", 0.0) for _ in range(500))
    assert limiter.next_free("https://hooks.example.com/wk", "webhook", 7.0) == 7.0


def test_concurrent_senders_never_pass_the_limit() -> None:
    limiter = RateLimiter({"dingtalk": 20})
    start = threading.Barrier(8)

    def burst(_: int) -> int:
        start.wait()
        return sum(limiter.allow(ROBOT, "dingtalk", 0.0) for _ in range(50))

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(burst, range(8))) == 20


def test_a_limit_below_one_is_refused_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"^notify\.per_minute\.wecom: 0 would never let a message through$"):
        RateLimiter({"dingtalk": 20, "wecom": 0})
