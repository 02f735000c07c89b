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

from watchkeeper.errors import WatchkeeperError

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


def _front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    for fence, loader in (("---", yaml.safe_load), ("+++", tomllib.loads)):
        if text.startswith(fence + "\n"):
            end = text.find(f"\n{fence}", len(fence))
            if end == -1:
                raise IngestError(f"{path}: front matter opened with {fence} is never closed")
            try:
                meta = loader(text[len(fence) + 1 : end]) or {}
            except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
                raise IngestError(f"{path}: invalid front matter: {exc}") from None
            if not isinstance(meta, dict):
                raise IngestError(f"{path}: front matter must be a mapping")
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


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _meta(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "alerts": _list(raw.get("alerts") or raw.get("alert") or raw.get("alertnames")),
        "services": _list(raw.get("services") or raw.get("service")),
        "severity": raw.get("severity"),
        "tags": _list(raw.get("tags")),
    }


def parse_markdown(path: Path, text: str) -> Document | None:
    raw, body = _front_matter(text, path)
    if not body.strip():
        return None  # front matter only: nothing to retrieve
    title = str(raw.get("title") or next((m.group(1) for m in re.finditer(r"^#\s+(.+)$", body, re.M)), path.stem))
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
    return Document(str(path), "runbook", title, _meta(raw), chunks, body)


def parse_note(path: Path, text: str) -> Document | None:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if not paragraphs:
        return None
    title = path.stem.replace("_", " ")
    return Document(str(path), "note", title, _meta({}), [Chunk(title, p) for p in paragraphs], text)


def case_title(case: dict[str, Any]) -> str:
    """A case's title: its own, else its root cause, else its symptom (a case may have only one of them)."""
    text = str(case.get("title") or case.get("root_cause") or case.get("symptom") or "case").strip()
    return text.splitlines()[0][:100] if text else "case"


def case_text(case: dict[str, Any]) -> list[Chunk]:
    title = case_title(case)
    parts = [
        ("Symptom", case.get("symptom")),
        ("Findings", "\n".join(_list(case.get("findings")))),
        ("Root cause", case.get("root_cause")),
        ("Fix", "\n".join(_list(case.get("fixes") or case.get("fix")))),
    ]
    return [Chunk(f"{title} > {name}", str(value)) for name, value in parts if value]


def parse_cases(path: Path, text: str) -> list[Document]:
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise IngestError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    items = data if isinstance(data, list) else [data]
    docs = []
    for n, case in enumerate(items):
        if not isinstance(case, dict) or not (case.get("root_cause") or case.get("symptom")):
            raise IngestError(f"{path}: case {n + 1} needs at least a symptom or a root_cause")
        meta = {
            **_meta(case),
            "root_cause": case.get("root_cause"),
            "fixes": _list(case.get("fixes") or case.get("fix")),
            "outcomes": dict.fromkeys(("yes", "partly", "no"), 0),
            "recurrences": 1,
        }
        worked = case.get("worked")
        if worked in meta["outcomes"]:
            meta["outcomes"][worked] += 1
        source = f"{path}#{n + 1}" if len(items) > 1 else str(path)
        docs.append(
            Document(
                source,
                "case",
                case_title(case),
                meta,
                case_text(case),
                json.dumps(case, sort_keys=True, default=str),
            )
        )
    return docs


def parse_file(path: Path) -> list[Document]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: cannot be read: {exc}") from None
    if path.suffix in (".md", ".markdown"):
        doc = parse_markdown(path, text)
    elif path.suffix == ".txt":
        doc = parse_note(path, text)
    else:
        return parse_cases(path, text)
    return [doc] if doc else []


def walk(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.exists():
            found.append(path)
        else:
            raise IngestError(f"{path} does not exist")
    return found
