"""The README documents every setting and every CLI command: an undocumented one fails here."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
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


def test_the_readme_stands_alone() -> None:
    """For someone who has only the project: every link is a web address or a file of the repository
    that exists, and the server install it needs is written out."""
    root = Path(__file__).parents[1]
    targets = re.findall(r"\]\(([^)\s]+)\)", README)
    local = [t.split("#")[0] for t in targets if not t.startswith(("http://", "https://", "mailto:", "#"))]
    outside = [t for t in local if t.startswith("/") or not (root / t).resolve().is_relative_to(root)]
    assert outside == []
    assert [t for t in local if not (root / t).exists()] == []
    assert "../" not in re.sub(r"`[^`]*`", "", README)  # no path out of the project, linked or not
    assert "## Installing `wk` on a server" in README and "pipx install" in README


def test_benchmarks_without_datasets_say_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bench.datasets import dataset

    monkeypatch.delenv("WK_DATASETS", raising=False)
    assert dataset("loghub_2k") is None
    assert (
        capsys.readouterr().out
        == "skipping the loghub_2k dataset: set WK_DATASETS to the directory holding loghub_2k/\n"
    )
    monkeypatch.setenv("WK_DATASETS", str(tmp_path))
    assert dataset("runbooks") is None and "does not exist" in capsys.readouterr().out
    (tmp_path / "runbooks").mkdir()
    assert dataset("runbooks") == tmp_path / "runbooks"
