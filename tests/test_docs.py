"""The README documents every setting and every CLI command: an undocumented one fails here."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import typer
from pydantic import BaseModel

from watchkeeper.cli import app
from watchkeeper.config import Settings

README = (Path(__file__).parents[1] / "README.md").read_text()


def setting_names(model: type[BaseModel], prefix: str = "") -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        kinds = [field.annotation, *typing.get_args(field.annotation)]  # list[Model] counts too
        nested = [k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)]
        if nested:
            names += setting_names(nested[0], f"{prefix}{name}.")
        else:
            names.append(f"{prefix}{name}")
    return names


def test_every_setting_is_in_the_readme() -> None:
    missing = [n for n in setting_names(Settings) if not re.search(rf"\b{re.escape(n.split('.')[-1])}\b", README)]
    assert missing == []


def test_every_command_is_in_the_readme() -> None:
    group = typer.main.get_group(app)
    commands = []
    for name, cmd in group.commands.items():
        subs = getattr(cmd, "commands", None)
        commands += [f"wk {name} {sub}" for sub in subs] if subs else [f"wk {name}"]
    missing = [c for c in commands if c not in README]
    assert missing == [], missing
