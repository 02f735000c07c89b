"""Skill packs: a directory with `skill.json` and an executable, so operators add skills without Python.

skill.json: key, name, description, class, scope, category, idempotent, params (JSON Schema),
command (a list; a relative first element is resolved inside the pack), timeout (seconds),
result_example. Params go to the command as JSON on stdin; it prints its result as JSON on stdout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from watchkeeper.errors import InputError, SkillDefinitionError, SkillFailed
from watchkeeper.inputs import json_type, read_json
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, Skill, SkillMeta
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.params import SchemaParams

REQUIRED = ("key", "name", "description", "class", "scope", "category", "command")
TEXT = ("key", "name", "description", "class", "scope", "category")


def _command(spec: Any, pack_dir: Path, owner: str) -> list[str]:
    argv = [spec] if isinstance(spec, str) else spec
    if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
        raise SkillDefinitionError(f"{owner}: command must be a non-empty list of strings")
    exe = pack_dir / argv[0]
    if not os.path.isabs(argv[0]) and exe.exists():
        if not os.access(exe, os.X_OK):
            raise SkillDefinitionError(f"{owner}: {exe} is not executable (chmod +x it)")
        argv = [str(exe), *argv[1:]]
    return argv


def _meta(spec: dict[str, Any], risk: RiskClass, scope: Scope, timeout: float | None) -> SkillMeta:
    return SkillMeta(
        key=spec["key"],
        name=spec["name"],
        description=spec["description"],
        risk=risk,
        scope=scope,
        category=spec["category"],
        result_example=spec.get("result_example", {}),
        idempotent=spec.get("idempotent", False),
        timeout_s=float(timeout) if timeout else None,
    )


def _check_types(spec: dict[str, Any], owner: str) -> None:
    for name in TEXT:
        if not isinstance(spec[name], str):
            raise SkillDefinitionError(f"{owner}: {name} must be a string, not {json_type(spec[name])}")
    for name in ("params", "result_example"):
        if not isinstance(spec.get(name, {}), dict):
            raise SkillDefinitionError(f"{owner}: {name} must be a JSON object, not {json_type(spec[name])}")
    if not isinstance(spec.get("idempotent", False), bool):
        raise SkillDefinitionError(f"{owner}: idempotent must be true or false, not {json_type(spec['idempotent'])}")


def load_pack(pack_dir: Path) -> Skill:
    """Read one pack; every problem raises SkillDefinitionError naming the file and field."""
    manifest = pack_dir / "skill.json"
    owner = str(manifest)
    try:
        spec = read_json(manifest, owner)
    except InputError as exc:
        raise SkillDefinitionError(str(exc)) from None
    if not isinstance(spec, dict):
        raise SkillDefinitionError(f"{owner}: must hold a JSON object, not {json_type(spec)}")
    missing = [f for f in REQUIRED if f not in spec]
    if missing:
        raise SkillDefinitionError(f"{owner}: missing {', '.join(missing)}")
    _check_types(spec, owner)
    try:
        risk = RiskClass(spec["class"])
    except ValueError:
        raise SkillDefinitionError(
            f"{owner}: class must be safe, mutating or dangerous, not {spec['class']!r}"
        ) from None
    try:
        scope = Scope(spec["scope"])
    except ValueError:
        raise SkillDefinitionError(f"{owner}: scope must be host or manager, not {spec['scope']!r}") from None
    timeout = spec.get("timeout")
    if timeout is not None and not (isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0):
        raise SkillDefinitionError(f"{owner}: timeout must be a positive number of seconds")
    try:
        meta = _meta(spec, risk, scope, timeout)
    except SkillDefinitionError as exc:
        raise SkillDefinitionError(f"{owner}: {exc}") from None
    params = SchemaParams(spec.get("params", {"type": "object"}), scope is Scope.HOST, owner)
    argv = _command(spec["command"], pack_dir, owner)

    def run(values: dict[str, Any], ctx: SkillContext) -> Any:
        done = ctx.run(argv, input=json.dumps(values).encode(), cwd=pack_dir)
        if done.returncode != 0:
            tail = done.stderr.strip()[-2000:] or "(no stderr)"
            raise SkillFailed(f"pack {meta.key} exited with status {done.returncode}: {tail}")
        if done.truncated:
            raise SkillFailed(f"pack {meta.key} printed more than the output cap; its result was not parsed")
        try:
            return json.loads(done.stdout)
        except json.JSONDecodeError as exc:
            head = done.stdout.strip()[:200]
            raise SkillFailed(f"pack {meta.key} printed invalid JSON on stdout ({exc.msg}): {head!r}") from None

    return Skill(meta, params, run, None, source=f"pack:{pack_dir}")


def find_packs(dirs: Iterable[Path]) -> Iterator[Skill | str]:
    """Each pack under `dirs` (a pack dir itself, or a dir of packs), or an error message for it."""
    for base in dirs:
        base = Path(base).expanduser().resolve()
        if not base.is_dir():
            yield f"skill pack directory {base} does not exist"
            continue
        try:
            candidates = [base] if (base / "skill.json").exists() else sorted(p for p in base.iterdir() if p.is_dir())
        except OSError as exc:
            yield f"skill pack directory {base} cannot be read: {exc.strerror}"
            continue
        for pack_dir in candidates:
            if not (pack_dir / "skill.json").exists():
                continue
            try:
                yield load_pack(pack_dir)
            except SkillDefinitionError as exc:
                yield str(exc)
            except Exception as exc:  # a broken pack must not take the others (or the command) down
                detail = next(iter(str(exc).splitlines()), "")
                yield f"{pack_dir / 'skill.json'}: cannot be loaded ({type(exc).__name__}: {detail})"
