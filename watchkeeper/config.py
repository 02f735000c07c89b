"""One settings object: TOML file at $WK_CONFIG (or ~/.config/watchkeeper/config.toml),
overridden by WK_* environment variables (nested with `__`, e.g. WK_LIMITS__TIMEOUT_S=10).

A missing file at the default path means defaults; a file named by WK_CONFIG must exist and be
readable. Secrets may be written as `env:NAME` or `file:/path` and are resolved with
`resolve_secret` where they are used.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from watchkeeper.errors import ConfigError, InputError
from watchkeeper.inputs import read_text

log = logging.getLogger(__name__)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuditSettings(_Section):
    key: str | None = Field(
        None,
        description="HMAC key of the ledger's hash chain (literal, env:NAME or file:PATH). "
        "Default: a random key generated once in <data_dir>/ledger.key.",
    )


class PolicySettings(_Section):
    read_allowlist: list[Path] = Field(
        default_factory=lambda: [Path("/var/log")],
        description="Directories file skills may read; watchkeeper's own log directory is always added.",
    )
    kill_denylist: list[str] = Field(
        default_factory=lambda: ["sshd"], description="Process names kill_process never signals."
    )
    restart_allowlist: list[str] = Field(
        default_factory=list, description="Units restart_service may restart ('*' allows any)."
    )
    restart_rate_limit: int = Field(3, ge=1, description="Restarts of one unit allowed per window.")
    restart_rate_window_s: int = Field(600, ge=1)


class LimitsSettings(_Section):
    timeout_s: float = Field(30.0, gt=0, description="Default time limit of one skill call.")
    output_cap_bytes: int = Field(65536, ge=1024, description="Largest result kept, as JSON bytes.")
    max_concurrent: int = Field(8, ge=1, description="Skill calls allowed to run at once.")


class SkillsSettings(_Section):
    pack_dirs: list[Path] = Field(default_factory=list, description="Directories holding skill packs.")
    timeouts: dict[str, float] = Field(default_factory=dict, description="Per-skill time limits, by key.")


class ServicesSettings(_Section):
    manager: Literal["auto", "systemd", "supervisor", "sysv"] = "auto"
    supervisor_config: Path | None = Field(
        None, description="supervisord.conf for supervisorctl; default: the system one."
    )


class LogsSettings(_Section):
    journal_directory: Path | None = Field(
        None, description="Read the journal from this directory instead of the system journal."
    )


RiskName = Literal["safe", "mutating", "dangerous"]


class ServiceInfo(_Section):
    """Where a service's own evidence is, when the conventions (/var/log/<name>/, its unit) do not find it."""

    logs: list[Path] = Field(default_factory=list, description="Its log files.")
    url: str | None = Field(None, description="An endpoint to probe.")
    unit: str | None = Field(None, description="Its systemd unit / supervisord program, if named otherwise.")
    aliases: list[str] = Field(
        default_factory=list, description="Other names people use for it in a question, e.g. 支付服务."
    )
    depends_on: list[str] = Field(
        default_factory=list,
        description="Services it needs (e.g. orders-db): their alerts are the cause its own alerts join.",
    )


class NotifyRoute(_Section):
    """Incidents whose fields match every `match` entry (severity, status, service, or an alert
    label) go to `targets`; updates of one incident reach a target at most every `min_interval_s`."""

    match: dict[str, str] = Field(default_factory=dict, description='e.g. {severity = "critical"}; empty: all.')
    targets: list[str] = Field(..., min_length=1, description="Target URLs as in notify.urls (env:/file: allowed).")
    min_interval_s: float = Field(300, ge=0, le=86400, description="Least time between two updates of one incident.")

    @field_validator("match")
    @classmethod
    def _patterns_compile(cls, match: dict[str, str]) -> dict[str, str]:
        for name, want in match.items():
            if want.startswith("~"):
                try:
                    re.compile(want[1:])
                except re.error as exc:
                    raise ValueError(f"match.{name}: {want[1:]!r} is not a regular expression ({exc})") from None
        return match


class NotifySettings(_Section):
    urls: list[str] = Field(
        default_factory=list,
        description="Where reports go (dingtalk+https://…, wecom+…, feishu+…, slack+…, https://…, "
        "or any apprise URL); each may be env:NAME or file:PATH since they hold tokens.",
    )
    retries: int = Field(3, ge=1, le=10, description="Attempts per target.")
    backoff_s: float = Field(1.0, ge=0, le=60, description="First retry delay; doubles each attempt.")
    timeout_s: float = Field(10.0, gt=0, le=120, description="Time limit of one delivery attempt.")
    routes: list[NotifyRoute] = Field(
        default_factory=list,
        description="Where incident messages go, first match wins; none: every incident to notify.urls.",
    )
    per_minute: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: {"dingtalk": 20, "feishu": 100, "wecom": 20, "slack": 60},
        description="Messages per minute each platform takes from one robot; the rest is folded into the next.",
    )


class ObservabilitySettings(_Section):
    prometheus_url: str | None = Field(None, description="Prometheus base URL, e.g. http://127.0.0.1:9090.")
    alertmanager_url: str | None = Field(None, description="Alertmanager base URL, e.g. http://127.0.0.1:9093.")
    loki_url: str | None = Field(None, description="Grafana Loki base URL, e.g. http://127.0.0.1:3100.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP headers for these backends (values may be env:/file:)."
    )
    timeout_s: float = Field(15.0, gt=0, le=120, description="Time limit of one backend request.")


class TriageSettings(_Section):
    playbook_dirs: list[Path] = Field(default_factory=list, description="Extra playbook directories (YAML).")
    signature_dirs: list[Path] = Field(
        default_factory=list, description="Extra error-signature directories (YAML), replacing built-ins by name."
    )
    services: dict[str, ServiceInfo] = Field(default_factory=dict, description="Per-service evidence locations.")
    sample_seconds: float = Field(3.0, ge=0.5, le=60, description="Window for growth samples (memory, files).")


Language = Literal["en", "zh-CN"]
LANGUAGES: tuple[str, ...] = Language.__args__  # type: ignore[attr-defined]


def locale_language() -> Language:
    """Chinese when the locale says so (LC_ALL, LC_MESSAGES, LANG: zh_CN.UTF-8, zh_TW…), else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh-CN" if value.lower().startswith("zh") else "en"
    return "en"


LANGUAGE_NAMES: dict[str, str] = {"en": "English", "zh-CN": "Simplified Chinese (简体中文)"}
CHINESE_NAMES = {"chinese", "中文", "简体中文", "zh", "zh-cn", "zh_cn", "simplified chinese", "mandarin"}
_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


class ReportSettings(_Section):
    language: Language = Field(
        default_factory=locale_language,
        description="Language of reports, chat messages and the starter runbooks: en or zh-CN (default: the "
        "locale's, when it is Chinese).",
    )


class McpServerConfig(_Section):
    """An external MCP server whose tools are imported as skills."""

    name: str = Field(..., pattern=r"^[a-z][a-z0-9_]{0,30}$", description="Prefix of its imported skill keys.")
    command: str | None = Field(None, description="stdio: the command that starts the server.")
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment (values may be env:/file:).")
    cwd: Path | None = None
    url: str | None = Field(None, description="Streamable HTTP: the server's MCP endpoint.")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers (values may be env:/file:).")
    trust_annotations: bool = Field(False, description="Treat tools it marks readOnlyHint as safe.")
    classes: dict[str, RiskName] = Field(default_factory=dict, description="Risk class per tool name.")
    timeout_s: float | None = Field(None, gt=0, description="Time limit of one call to its tools.")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError(f"MCP server {self.name!r} needs exactly one of command (stdio) or url (HTTP)")
        return self


class McpSettings(_Section):
    expose: list[RiskName] = Field(
        default_factory=lambda: list[RiskName](["safe"]),
        description="Risk classes the MCP server lists (and lets callers try).",
    )
    host: str = Field("127.0.0.1", description="Address `wk mcp --http` binds to.")
    port: int = Field(8766, ge=1, le=65535, description="Port of `wk mcp --http` (`wk serve` mounts MCP at /mcp).")
    token: str | None = Field(
        None,
        description="Bearer token clients of `wk mcp --http` must send (literal, env:NAME, file:PATH); "
        "under `wk serve`, /mcp takes API tokens instead.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host headers accepted besides loopback (DNS-rebinding protection); under `wk serve`, for the "
        "whole app.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list, description="Origins accepted besides loopback; under `wk serve`, for the whole app."
    )
    refresh_s: int = Field(3600, ge=0, description="Age after which cached tool lists of servers are fetched again.")
    servers: list[McpServerConfig] = Field(default_factory=list)


class AlertSource(_Section):
    """A sender that signs its posts instead of sending a token: header
    `X-Watchkeeper-Signature: sha256=<hex HMAC-SHA256 of the body>` (or Grafana's own signature)."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    secret: str = Field(..., min_length=1, description="The shared secret (literal, env:NAME or file:PATH).")
    require_timestamp: bool = Field(
        False, description="Accept only posts that sign their Unix time with the body: no replay after 5 min."
    )


class AlertsSettings(_Section):
    group_by: list[str] = Field(
        default_factory=list,
        description="Labels whose equal values put alerts in one incident (beside the sender's own groupKey).",
    )
    use_group_key: bool = Field(True, description="Alerts Alertmanager sent in one group share an incident.")
    sources: list[AlertSource] = Field(default_factory=list, description="Senders that sign instead of a token.")


class IncidentsSettings(_Section):
    settle_s: float = Field(10, ge=0, le=600, description="Wait after an incident opens before investigating it.")
    window_s: float = Field(1800, gt=0, description="Alerts on one target within this window share an incident.")
    resolve_grace_s: float = Field(300, ge=0, description="An incident resolves this long after its last alert did.")
    reopen_window_s: float = Field(3600, ge=0, description="An alert firing again this soon reopens its incident.")
    investigation_timeout_s: float = Field(120, gt=0, le=3600, description="Time limit of one investigation.")
    dependent_targets: int = Field(5, ge=0, le=50, description="Dependent targets one investigation looks at.")
    investigators: int = Field(
        2, ge=1, le=8, description="Investigations run at once: one slow incident does not hold up the others."
    )
    lease_s: float = Field(
        30, ge=1, le=600, description="After a crash, an investigation is taken over once this long passes unheard."
    )
    workers: bool = Field(
        True, description="Process alerts, investigations and messages here (false: this manager only receives)."
    )


class ServerSettings(_Section):
    """`wk serve`: the manager's HTTP API, /mcp, health and metrics."""

    host: str = Field("127.0.0.1", description="Address `wk serve` binds to.")
    port: int = Field(8765, ge=1, le=65535)
    tls_cert: Path | None = Field(None, description="PEM certificate (chain) for HTTPS.")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert.")
    allow_plain_http: bool = Field(
        False, description="Serve plain HTTP beyond loopback (only behind a reverse proxy that terminates TLS)."
    )
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Larger request bodies are refused (413).")
    shutdown_s: float = Field(20, gt=0, le=300, description="How long SIGTERM waits for requests in flight.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="The manager's log on stderr: info tells each incident opened, diagnosed, resolved, told."
    )

    @model_validator(mode="after")
    def _cert_and_key(self) -> ServerSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("server.tls_cert and server.tls_key go together: set both or neither")
        return self


LlmPreset = Literal["openai", "deepseek", "ollama", "vllm", "llamacpp"]

# Where each well-known server listens by default and a model it usually serves.
LLM_PRESETS: dict[str, tuple[str, str]] = {
    "openai": ("https://api.openai.com/v1", "gpt-4o-mini"),
    "deepseek": ("https://api.deepseek.com/v1", "deepseek-chat"),
    "ollama": ("http://127.0.0.1:11434/v1", "qwen2.5:7b-instruct"),
    "vllm": ("http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-7B-Instruct"),
    "llamacpp": ("http://127.0.0.1:8080/v1", "local"),
}


class LlmSettings(_Section):
    """An OpenAI-compatible model. Unset (no base_url and no preset): investigations use triage only."""

    preset: LlmPreset | None = Field(None, description="Fills base_url and model for a well-known server.")
    base_url: str | None = Field(None, description="Chat Completions base URL, e.g. http://127.0.0.1:8080/v1.")
    model: str | None = Field(None, description="Model name the server knows.")
    api_key: str | None = Field(None, description="API key (literal, env:NAME or file:PATH); local servers need none.")
    language: str | None = Field(
        None, description="Retired: set [report] language. Read as its value when set (Chinese means zh-CN)."
    )
    max_requests: int = Field(8, ge=1, le=100, description="Model requests one investigation may make.")
    max_tokens: int = Field(60000, ge=1000, description="Tokens (in + out) one investigation may use.")
    wall_s: float = Field(180.0, gt=0, description="Wall time one investigation may take with the model.")
    request_timeout_s: float = Field(120.0, gt=0, description="Time limit of one model request.")
    tool_result_bytes: int = Field(4000, ge=500, description="Largest tool result shown to the model.")
    temperature: float = Field(0.1, ge=0, le=2)
    reply_tokens: int = Field(1024, ge=64, description="Largest reply one model request may generate.")
    tools: list[str] = Field(
        default_factory=list,
        description="Skill keys offered to the model (default: every skill); a short list fits a small context.",
    )
    multi_agent: bool = Field(
        False, description="Coordinator + specialist roles (off: not yet measured better with a real model)."
    )

    @property
    def writes_in(self) -> str:
        """The language the model is told to write in (the settings fill it from [report] language)."""
        return self.language or "English"

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @property
    def resolved(self) -> tuple[str, str] | None:
        """(base_url, model) when a model is configured, else None."""
        preset = LLM_PRESETS.get(self.preset or "")
        base_url = self.base_url or (preset[0] if preset else None)
        model = self.model or (preset[1] if preset else None)
        return (base_url, model) if base_url and model else None


class _LlmEnv(PydanticBaseSettingsSource):
    """WK_LLM_BASE_URL, WK_LLM_MODEL and WK_LLM_API_KEY: the flat names every OpenAI-style tool documents."""

    NAMES: ClassVar[dict[str, str]] = {
        "WK_LLM_BASE_URL": "base_url",
        "WK_LLM_MODEL": "model",
        "WK_LLM_API_KEY": "api_key",
    }

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {key: os.environ[name] for name, key in self.NAMES.items() if os.environ.get(name)}
        return {"llm": found} if found else {}


def default_config_path() -> Path:
    env = os.environ.get("WK_CONFIG")
    return Path(env) if env else Path.home() / ".config" / "watchkeeper" / "config.toml"


def read_config_file() -> dict[str, Any] | None:
    """The config file's tables, or None when there is no file at the default path.

    A file named by WK_CONFIG must exist: silently running on defaults would hide a typo in the
    path. Whatever is there at either path must be a readable UTF-8 TOML file.
    """
    path = default_config_path()
    explicit = bool(os.environ.get("WK_CONFIG"))
    if not explicit and not path.exists() and not path.is_symlink():
        return None
    try:
        text = read_text(path, f"config file {path}{' (from WK_CONFIG)' if explicit else ''}")
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


class _ConfigFile(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return read_config_file() or {}


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "watchkeeper"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WK_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite at <data_dir>/watchkeeper.db.")
    audit: AuditSettings = Field(default_factory=AuditSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    skills: SkillsSettings = Field(default_factory=SkillsSettings)
    services: ServicesSettings = Field(default_factory=ServicesSettings)
    logs: LogsSettings = Field(default_factory=LogsSettings)
    mcp: McpSettings = Field(default_factory=McpSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    triage: TriageSettings = Field(default_factory=TriageSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    incidents: IncidentsSettings = Field(default_factory=IncidentsSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _LlmEnv(settings_cls),
            _ConfigFile(settings_cls),
        )

    @model_validator(mode="after")
    def _retired_llm_language(self) -> Settings:
        """`llm.language` gave the model's language; `[report] language` gives everyone's now. An old config
        keeps working: its value is read as the report language (unless that is set too), with one warning."""
        old = self.llm.language
        if old is not None and old not in LANGUAGE_NAMES.values():
            mapped: Language = "zh-CN" if old.strip().lower() in CHINESE_NAMES else "en"
            if "language" in self.report.model_fields_set:
                _warn_once("llm.language is retired and ignored: [report] language is set")
            else:
                self.report.language = mapped
                _warn_once(
                    f'llm.language is retired: set [report] language = "{mapped}" instead ({old!r} was read as '
                    f"{mapped})"
                )
        self.llm.language = LANGUAGE_NAMES[self.report.language]  # what the model is told to write in
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'watchkeeper.db'}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def read_roots(self) -> list[Path]:
        return [*self.policy.read_allowlist, self.log_dir]


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning every problem into one ConfigError that names the field."""
    path = default_config_path()
    try:
        return Settings(**overrides)
    except SettingsError as exc:  # a WK_* variable of a list or table setting that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        names = f"WK_{field.group(1).upper()}*" if field else "WK_*"
        raise ConfigError(
            f"invalid configuration: a {names} environment variable is not valid JSON (lists and tables are JSON)"
        ) from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"invalid configuration ({path}, WK_* environment): {problems}") from exc


def resolve_secret(value: str) -> str:
    """Resolve `env:NAME` / `file:PATH` references; anything else is the secret itself."""
    if value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ConfigError(f"secret refers to environment variable {name}, which is not set")
        return os.environ[name]
    if value.startswith("file:"):
        path = Path(value[5:]).expanduser()
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"secret file {path} cannot be read: {exc.strerror}") from exc
    return value
