"""The language watchkeeper speaks: gettext message catalogs, one per language, edited as `.po` files.

`watchkeeper/locale/<lang>/LC_MESSAGES/watchkeeper.po` holds the translations (`make catalogs` runs
Babel: extract, with the signatures' YAML through `evidence.catalogue.extract_messages`, update and
compile); the compiled `.mo` ships in the package. A message missing
from a catalog is said in English. The language is the caller's (`[report] language`, `--lang`),
held in a context variable so concurrent investigations in one process each speak their own; work
handed to threads carries it (see `Investigation.parallel`).

Messages keep named placeholders (`_("{name} is down").format(name=…)`) so a translation may
reorder them, and untrusted text only ever fills a placeholder.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator

DOMAIN = "watchkeeper"
LOCALES = Path(__file__).parent / "locale"
_language: ContextVar[str] = ContextVar("watchkeeper_language", default="en")


@cache
def catalog(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (zh-CN is looked up as zh_CN); English is the messages themselves."""
    return gettext.translation(DOMAIN, LOCALES, languages=[language.replace("-", "_")], fallback=True)


def _(message: str) -> str:
    """A message in the current language."""
    return catalog(_language.get()).gettext(message)


def N_(message: str) -> str:
    """A message marked for the catalog where it is written, translated where it is said (`_(name)`)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """A message whose form depends on a count (Chinese has one form; English two)."""
    return catalog(_language.get()).ngettext(singular, plural, n)


def language() -> str:
    return _language.get()


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Everything said inside is in `lang` (en or zh-CN)."""
    token = _language.set(lang)
    try:
        yield
    finally:
        _language.reset(token)


PLAIN = "{text}"  # a Phrase of plain text: said as it is, in any language


class Phrase(BaseModel):
    """A catalog message and the values of its placeholders, kept so that it can be said later in the
    reader's language: an incident's timeline is written once, in English, and told to a team in theirs.
    `message` is always one of ours (marked with `N_`); untrusted text only ever goes in `params`."""

    message: str
    params: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        # Plain text (a message queued before phrases existed) is said as it is, never looked up.
        return {"message": PLAIN, "params": {"text": value}} if isinstance(value, str) else value

    @classmethod
    def plain(cls, text: str) -> Phrase:
        return cls.model_validate(text)

    def said(self) -> str:
        """In the current language."""
        return _(self.message).format(**self.params)

    def english(self) -> str:
        return self.message.format(**self.params)
