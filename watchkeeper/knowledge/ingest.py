"""Files -> knowledge documents: markdown runbooks (YAML or TOML front matter), plain-text notes
(one fact per paragraph) and JSON/YAML cases. Chunks follow headings so a hit lands on the
section that answers, not on a whole runbook."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from watchkeeper.errors import InputError, WatchkeeperError
from watchkeeper.inputs import json_type, parse_json, read_text

MAX_CHUNK = 1500  # characters: long sections are split on paragraphs
SUFFIXES = {".md", ".markdown", ".txt", ".json", ".yaml", ".yml"}


class IngestError(WatchkeeperError):
    """A file cannot be read as knowledge."""


@dataclass
class Chunk:
    heading: str
    text: str


@dataclass
class Document:
    source: str
    type: str  # runbook | note | case
    title: str
    meta: dict[str, Any]
    chunks: list[Chunk]
    body: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def content_hash(self) -> str:
        chunks = [[c.heading, c.text] for c in self.chunks]
        return hashlib.sha256(
            json.dumps([self.title, self.meta, self.body, chunks], sort_keys=True).encode()
        ).hexdigest()


def doc_id(prefix: str, source: str) -> str:
    return f"{prefix}-{hashlib.sha256(source.encode()).hexdigest()[:10]}"


def _load_yaml(text: str, where: str) -> Any:
    """YAML as JSON values: knowledge is stored as JSON, so dates become text and anchors cannot loop."""
    try:
        return json.loads(json.dumps(yaml.safe_load(text), default=str))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise IngestError(f"{where}: not valid YAML: {exc.problem or exc.context}{at}") from None
    except yaml.YAMLError as exc:
        raise IngestError(f"{where}: not valid YAML: {exc}") from None
    except TypeError:  # json.dumps: a key that is a date or a list
        raise IngestError(f"{where}: every key must be text") from None
    except (ValueError, RecursionError):  # an anchor that contains itself; absurd nesting
        raise IngestError(f"{where}: nested too deeply or refers to itself") from None


def _front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    for fence in ("---", "+++"):
        if text.startswith(fence + "\n"):
            end = text.find(f"\n{fence}", len(fence))
            if end == -1:
                raise IngestError(f"{path}: front matter opened with {fence} is never closed")
            raw = text[len(fence) + 1 : end]
            if fence == "---":
                meta = _load_yaml(raw, f"{path}: front matter") or {}
            else:
                try:
                    meta = tomllib.loads(raw)
                except tomllib.TOMLDecodeError as exc:
                    raise IngestError(f"{path}: invalid front matter: {exc}") from None
            if not isinstance(meta, dict):
                raise IngestError(f"{path}: front matter must be a mapping, not {json_type(meta)}")
            return meta, text[end + len(fence) + 1 :].lstrip("\n")
    return {}, text


def _split_long(heading: str, text: str) -> list[Chunk]:
    if len(text) <= MAX_CHUNK:
        return [Chunk(heading, text)]
    out, current = [], ""
    for para in re.split(r"\n\s*\n", text):
        if current and len(current) + len(para) > MAX_CHUNK:
            out.append(Chunk(heading, current.strip()))
            current = ""
        current += para + "\n\n"
    if current.strip():
        out.append(Chunk(heading, current.strip()))
    return out


def _text(raw: dict[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    if _number(value):
        return str(value)
    raise IngestError(f"{where}: {key} must be text, not {json_type(value)}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)  # YAML reads `yes` as true


def _texts(raw: dict[str, Any], keys: tuple[str, ...], where: str) -> list[str]:
    """A list field that may also be written as one value (`service: checkout`); the first key present wins."""
    key = next((k for k in keys if raw.get(k) not in (None, "", [])), keys[0])
    value = raw.get(key)
    items = value if isinstance(value, list) else [] if value is None else [value]
    if not all(isinstance(item, str) or _number(item) for item in items):
        raise IngestError(f"{where}: {key} must be text or a list of texts")
    return [str(item) for item in items]


def _meta(raw: dict[str, Any], where: str) -> dict[str, Any]:
    return {
        "alerts": _texts(raw, ("alerts", "alert", "alertnames"), where),
        "services": _texts(raw, ("services", "service"), where),
        "severity": _text(raw, "severity", where),
        "tags": _texts(raw, ("tags",), where),
    }


def parse_markdown(path: Path, text: str) -> Document | None:
    raw, body = _front_matter(text, path)
    if not body.strip():
        return None  # front matter only: nothing to retrieve
    first_heading = next((m.group(1) for m in re.finditer(r"^#\s+(.+)$", body, re.M)), path.stem)
    title = _text(raw, "title", f"{path}: front matter") or first_heading
    chunks: list[Chunk] = []
    sections = re.split(r"^(#{1,3} .+)$", body, flags=re.M)
    heading, preamble = title, sections[0].strip()
    if preamble:
        chunks += _split_long(title, preamble)
    for i in range(1, len(sections), 2):
        heading = sections[i].lstrip("#").strip()
        text = sections[i + 1].strip()
        if text:
            chunks += _split_long(heading if heading == title else f"{title} > {heading}", text)
    return Document(str(path), "runbook", title, _meta(raw, f"{path}: front matter"), chunks, body)


def parse_note(path: Path, text: str) -> Document | None:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if not paragraphs:
        return None
    title = path.stem.replace("_", " ")
    return Document(str(path), "note", title, _meta({}, str(path)), [Chunk(title, p) for p in paragraphs], text)


def case_title(case: dict[str, Any]) -> str:
    """A case's title: its own, else its root cause, else its symptom (a case may have only one of them)."""
    text = str(case.get("title") or case.get("root_cause") or case.get("symptom") or "case").strip()
    return text.splitlines()[0][:100] if text else "case"


def case_text(case: dict[str, Any]) -> list[Chunk]:
    """Chunks of a case: text title, symptom and root_cause; lists of text findings and fixes."""
    title = case_title(case)
    parts = [
        ("Symptom", case.get("symptom")),
        ("Findings", "\n".join(case.get("findings") or [])),
        ("Root cause", case.get("root_cause")),
        ("Fix", "\n".join(case.get("fixes") or [])),
    ]
    return [Chunk(f"{title} > {name}", str(value)) for name, value in parts if value]


def parse_cases(path: Path, text: str) -> list[Document]:
    if path.suffix == ".json":
        try:
            data = parse_json(text, str(path))
        except InputError as exc:
            raise IngestError(str(exc)) from None
    else:
        data = _load_yaml(text, str(path))
    items = data if isinstance(data, list) else [data]
    docs = []
    for n, raw in enumerate(items):
        where = f"{path}: case {n + 1}"
        if not isinstance(raw, dict):
            raise IngestError(f"{where} must be an object, not {json_type(raw)}")
        case = {
            "title": _text(raw, "title", where),
            "symptom": _text(raw, "symptom", where),
            "root_cause": _text(raw, "root_cause", where),
            "findings": _texts(raw, ("findings",), where),
            "fixes": _texts(raw, ("fixes", "fix"), where),
        }
        if not (case["root_cause"] or case["symptom"]):
            raise IngestError(f"{where} needs at least a symptom or a root_cause")
        meta = {
            **_meta(raw, where),
            "root_cause": case["root_cause"],
            "fixes": case["fixes"],
            "outcomes": dict.fromkeys(("yes", "partly", "no"), 0),
            "recurrences": 1,
        }
        worked = raw.get("worked")
        if isinstance(worked, bool):  # YAML reads `worked: yes` as true
            worked = "yes" if worked else "no"
        if isinstance(worked, str) and worked in meta["outcomes"]:
            meta["outcomes"][worked] += 1
        source = f"{path}#{n + 1}" if len(items) > 1 else str(path)
        body = json.dumps(raw, sort_keys=True, default=str)
        docs.append(Document(source, "case", case_title(case), meta, case_text(case), body))
    return docs


def parse_file(path: Path) -> list[Document]:
    try:
        text = read_text(path, str(path))
    except InputError as exc:
        raise IngestError(str(exc)) from None
    if path.suffix in (".md", ".markdown"):
        doc = parse_markdown(path, text)
    elif path.suffix == ".txt":
        doc = parse_note(path, text)
    else:
        return parse_cases(path, text)
    return [doc] if doc else []


def parse_paths(paths: list[Path]) -> list[tuple[str, list[Document] | IngestError]]:
    """Each file under `paths` with its documents, or the error saying why it cannot be knowledge."""
    parsed: list[tuple[str, list[Document] | IngestError]] = []
    for path in walk(paths):
        try:
            parsed.append((str(path), parse_file(path)))
        except IngestError as exc:
            parsed.append((str(path), exc))
    return parsed


def walk(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.exists():
            found.append(path)
        else:
            raise IngestError(f"{path}: no such file or directory")
    return found
