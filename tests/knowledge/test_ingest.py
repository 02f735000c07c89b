"""Knowledge files of the wrong shape: one error naming the file and the field, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watchkeeper.knowledge.ingest import IngestError, parse_file


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("case.json", json.dumps({"title": {"a": 1}, "symptom": "s"}), "case 1: title must be text, not an object"),
        ("cases.json", json.dumps([{"symptom": "s"}, "x"]), "case 2 must be an object, not a string"),
        ("case.json", json.dumps({"symptom": "s", "fixes": [{"step": 1}]}), "case 1: fixes must be text or a list"),
        ("case.yaml", "symptom: s\nservices: {checkout: 1}\n", "case 1: services must be text or a list of texts"),
        ("case.yaml", "symptom: s\nseverity: [1]\n", "case 1: severity must be text, not an array"),
        ("loop.yaml", "a: &x [*x]\n", "nested too deeply or refers to itself"),
        ("dates.yaml", "2024-01-01: x\n", "every key must be text"),
        ("bad.yaml", "symptom: [unclosed\n", "not valid YAML: "),
        ("list.md", "---\n- a\n---\n# Body\ntext\n", "front matter must be a mapping, not an array"),
        ("title.md", "---\ntitle: [a, b]\n---\n# Body\ntext\n", "front matter: title must be text, not an array"),
        ("latin1.txt", "caf\xe9", "not UTF-8 text (byte 0xe9 at offset 3)"),
    ],
)
def test_a_malformed_knowledge_file_names_itself_and_the_field(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1") if name.endswith(".txt") else text.encode())
    with pytest.raises(IngestError) as raised:
        parse_file(path)
    message = str(raised.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message, message


def test_yaml_values_become_text_the_way_an_operator_wrote_them(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("symptom: disk full\nroot_cause: logs\nseverity: 2024-01-01\nworked: yes\nservices: [1, web]\n")
    [doc] = parse_file(path)
    assert doc.meta["severity"] == "2024-01-01" and doc.meta["services"] == ["1", "web"]
    assert doc.meta["outcomes"]["yes"] == 1, "YAML reads `worked: yes` as true"
    assert doc.title == "logs"
    only_symptom = tmp_path / "symptom.json"
    only_symptom.write_text(json.dumps({"symptom": "checkout 502"}))
    assert parse_file(only_symptom)[0].title == "checkout 502", "no None title"
