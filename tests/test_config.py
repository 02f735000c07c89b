"""Settings: defaults without a file, TOML, WK_* overrides, secret references, clear errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from watchkeeper.config import load_settings, resolve_secret
from watchkeeper.errors import ConfigError


def test_missing_file_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WK_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/watchkeeper/config.toml
    settings = load_settings()
    assert settings.data_dir == tmp_path / "data"
    assert settings.limits.timeout_s == 30
    assert settings.limits.output_cap_bytes == 65536
    assert settings.policy.kill_denylist == ["sshd"]
    assert settings.db_url == f"sqlite:///{tmp_path / 'data' / 'watchkeeper.db'}"


def test_toml_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[limits]\ntimeout_s = 12\nmax_concurrent = 3\n[policy]\nrestart_allowlist = ["nginx"]\n')
    monkeypatch.setenv("WK_CONFIG", str(cfg))
    monkeypatch.setenv("WK_LIMITS__MAX_CONCURRENT", "5")
    settings = load_settings()
    assert settings.limits.timeout_s == 12
    assert settings.limits.max_concurrent == 5
    assert settings.policy.restart_allowlist == ["nginx"]


def test_invalid_values_name_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[limits]\ntimeout_s = -1\n")
    monkeypatch.setenv("WK_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match=r"limits\.timeout_s"):
        load_settings()


def test_unknown_keys_and_bad_toml_are_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    monkeypatch.setenv("WK_CONFIG", str(cfg))
    cfg.write_text("[limits]\ntimeuot_s = 5\n")
    with pytest.raises(ConfigError, match="timeuot_s"):
        load_settings()
    cfg.write_text("[limits\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_secret_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SECRET", "from-env")
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    assert resolve_secret("env:MY_SECRET") == "from-env"
    assert resolve_secret(f"file:{secret_file}") == "from-file"
    assert resolve_secret("literal") == "literal"
    with pytest.raises(ConfigError, match="NOT_SET"):
        resolve_secret("env:NOT_SET")
    with pytest.raises(ConfigError, match="cannot be read"):
        resolve_secret(f"file:{tmp_path / 'nope'}")


def test_a_config_named_by_wk_config_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "typo.toml"
    monkeypatch.setenv("WK_CONFIG", str(missing))
    with pytest.raises(ConfigError, match=rf"^config file {re.escape(str(missing))} \(from WK_CONFIG\): no such file$"):
        load_settings()
    (tmp_path / "link.toml").symlink_to(missing)  # a dangling link is a missing file too
    monkeypatch.setenv("WK_CONFIG", str(tmp_path / "link.toml"))
    with pytest.raises(ConfigError, match="no such file"):
        load_settings()


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p.mkdir(), "is a directory, not a file"),
        (
            lambda p: p.write_bytes(b"[limits]\ntimeout_s = 5 # \xe9t\xe9\n"),
            r"not UTF-8 text \(byte 0xe9 at offset 25\)",
        ),
    ],
)
def test_an_unreadable_config_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Callable[[Path], object], problem: str
) -> None:
    explicit = tmp_path / "explicit.toml"
    make(explicit)
    monkeypatch.setenv("WK_CONFIG", str(explicit))
    with pytest.raises(ConfigError, match=rf"^config file {re.escape(str(explicit))} \(from WK_CONFIG\): {problem}$"):
        load_settings()
    # At the default path too: only absence means defaults there.
    monkeypatch.delenv("WK_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    default = tmp_path / ".config" / "watchkeeper" / "config.toml"
    default.parent.mkdir(parents=True)
    make(default)
    with pytest.raises(ConfigError, match=rf"^config file {re.escape(str(default))}: {problem}$"):
        load_settings()


def test_a_wk_variable_that_is_not_json_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_SKILLS__PACK_DIRS", "/etc/packs")  # a list must be written as JSON
    with pytest.raises(ConfigError, match=r"a WK_SKILLS\* environment variable is not valid JSON"):
        load_settings()
