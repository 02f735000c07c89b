"""One exception tree for the package: catch at the level you care about."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """`KeyError: 'x'`: the exception's class and the first line of what it says, for a one-line report."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


class WatchkeeperError(Exception):
    """Root of every error watchkeeper raises on purpose."""


class ConfigError(WatchkeeperError):
    """The configuration is invalid or a referenced secret cannot be read."""


class StoreError(WatchkeeperError):
    """The database cannot be reached or written."""


class LedgerUnavailable(StoreError):
    """The audit ledger cannot be written right now (full disk, database down)."""


class SkillError(WatchkeeperError):
    """Base of the errors about defining or running a skill."""


class SkillDefinitionError(SkillError):
    """A skill or skill pack is declared wrongly and cannot be registered."""


class UnknownSkill(SkillError):
    """No skill with that key is registered."""


class InvalidParams(SkillError):
    """Params failed validation; `problems` names each bad field and why."""

    def __init__(self, key: str, problems: list[tuple[str, str]]) -> None:
        self.key = key
        self.problems = problems
        detail = "; ".join(f"{field}: {why}" for field, why in problems)
        super().__init__(f"invalid params for {key}: {detail}")


class Refused(SkillError):
    """The gate or a policy refused the call; `rule` names what refused it."""

    def __init__(self, message: str, rule: str) -> None:
        self.rule = rule
        super().__init__(message)


class SkillFailed(SkillError):
    """The skill ran and failed; the message is meant for the caller to read."""


class SkillTimeout(SkillError):
    """The skill did not finish within its time limit."""


class InputError(WatchkeeperError):
    """A file or value a person handed to watchkeeper cannot be used; the message names it and the problem."""
