"""Tool calls written as text by small models, in the shapes they really write them."""

from __future__ import annotations

import pytest

from watchkeeper.agent.salvage import TextToolCall, tool_calls_in_text

TOOLS = {"disk_usage", "host_status", "submit_report"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '```json\n{"name": "disk_usage", "arguments": {"path": "/"}}\n```',
            [TextToolCall("disk_usage", {"path": "/"})],
        ),
        ('<tool_call>\n{"name": "host_status", "arguments": {}}\n</tool_call>', [TextToolCall("host_status", {})]),
        (
            '{"name": "disk_usage", "arguments": "{\\"path\\": \\"/var\\"}"}',
            [TextToolCall("disk_usage", {"path": "/var"})],
        ),
        ('{"function": {"name": "host_status", "arguments": "{}"}}', [TextToolCall("host_status", {})]),
        ('{"tool_calls": [{"name": "host_status", "parameters": {}}]}', [TextToolCall("host_status", {})]),
        (
            '{"name": "disk_usage", "arguments": {"path": "/"}}. The disk on / is full, the evidence shows ...',
            [TextToolCall("disk_usage", {"path": "/"})],
        ),
        ('Let me check. {"name": "host_status", "arguments": {}} then', [TextToolCall("host_status", {})]),
        (
            '{"summary": "disk full", "confidence": 0.7}',
            [TextToolCall("submit_report", {"summary": "disk full", "confidence": 0.7})],
        ),
        ('{"name": "rm_rf", "arguments": {}}', []),  # not an offered tool
        ("The disk is full; delete old logs.", []),
        ('```json\n{"name": "disk_usage", "arguments": {"path": \n```', []),  # cut off mid-call
    ],
)
def test_text_tool_calls(text: str, expected: list[TextToolCall]) -> None:
    assert tool_calls_in_text(text, TOOLS, "submit_report") == expected
