"""The registry: every skill by key. Built-ins register through the same path as packs.

Built-ins are found by scanning `watchkeeper/skills/builtin/`: adding a skill is adding a
file there. A file that fails to import is reported in `load_errors`, not fatal.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import pkgutil
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from watchkeeper.errors import SkillDefinitionError, UnknownSkill
from watchkeeper.skills.base import PREVIEW_ATTR, SKILL_ATTR, Scope, Skill, SkillMeta
from watchkeeper.skills.params import ModelParams

log = logging.getLogger(__name__)


def skill_from_function(fn: Callable[..., Any], source: str = "builtin") -> Skill:
    """Build a Skill from a function decorated with @skill; its params model comes from the signature."""
    meta: SkillMeta | None = getattr(fn, SKILL_ATTR, None)
    if meta is None:
        raise SkillDefinitionError(f"{fn.__qualname__} is not decorated with @skill")
    first = next(iter(inspect.signature(fn).parameters), None)
    try:
        model = typing.get_type_hints(fn).get(first) if first else None
    except NameError as exc:
        raise SkillDefinitionError(f"skill {meta.key}: cannot resolve its annotations ({exc})") from None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise SkillDefinitionError(f"skill {meta.key}: the first parameter must be annotated with a pydantic model")
    params = ModelParams(model, host_scope=meta.scope is Scope.HOST)
    return Skill(meta, params, fn, getattr(fn, PREVIEW_ATTR, None), source)


class Registry:
    def __init__(self) -> None:
        self._skills: dict[str, Skill] = {}
        self.load_errors: list[str] = []

    def add(self, skill: Skill) -> None:
        if skill.key in self._skills:
            other = self._skills[skill.key].source
            raise SkillDefinitionError(f"duplicate skill key {skill.key!r} (from {skill.source}; already from {other})")
        self._skills[skill.key] = skill

    def get(self, key: str) -> Skill:
        try:
            return self._skills[key]
        except KeyError:
            close = difflib.get_close_matches(key, self._skills, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; `wk skills list` shows them all"
            raise UnknownSkill(f"unknown skill {key!r}{hint}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._skills

    def all(self) -> list[Skill]:
        return [self._skills[k] for k in sorted(self._skills)]

    def note(self, message: str) -> None:
        log.warning(message)
        self.load_errors.append(message)

    def add_module(self, module: Any, source: str) -> None:
        for value in vars(module).values():
            if callable(value) and hasattr(value, SKILL_ATTR) and getattr(value, "__module__", None) == module.__name__:
                try:
                    self.add(skill_from_function(value, source))
                except SkillDefinitionError as exc:
                    self.note(str(exc))

    def load_builtins(self, package: str = "watchkeeper.skills.builtin") -> None:
        pkg = importlib.import_module(package)
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
            name = f"{package}.{info.name}"
            try:
                module = importlib.import_module(name)
            except Exception as exc:  # a broken skill file must not take the others down
                self.note(f"skill module {name} failed to import: {exc.__class__.__name__}: {exc}")
                continue
            self.add_module(module, "builtin")

    def load_packs(self, dirs: Iterable[Path]) -> None:
        from watchkeeper.skills.packs import find_packs

        for skill_or_error in find_packs(dirs):
            if isinstance(skill_or_error, str):
                self.note(skill_or_error)
                continue
            try:
                self.add(skill_or_error)
            except SkillDefinitionError as exc:
                self.note(str(exc))
