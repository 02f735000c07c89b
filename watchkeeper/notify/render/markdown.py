"""CommonMark (GitHub) Markdown: `wk investigate --markdown`; its escaping is shared with DingTalk and Feishu."""

from __future__ import annotations

import re
from collections.abc import Callable

from watchkeeper.evidence.report import Report
from watchkeeper.notify.render.document import Style, walk
from watchkeeper.notify.render.markup import Markup

# Significant anywhere in a line: escapes, code, emphasis, links and images ([ ]), HTML and autolinks
# (< >), entities (&), strikethrough (~), table cells (|). "_" only where it can open or close
# emphasis (not inside a word: refund_worker stays readable).
INLINE = re.compile(r"[\\`*\[\]<>&~|]|(?<![^\W_])_|_(?![^\W_])")
# Significant at the start of a line only: headings, list items ("-", "+", "1.", "1)").
LINE_START = re.compile(r"^(\s*)(?:([#+-])|(\d+)([.)]))")


def backslash(char: str) -> str:
    return "\\" + char


def escape_markdown(text: str, line_start: bool, write: Callable[[str], str] = backslash) -> str:
    """Markdown-significant characters made literal, each written by `write` (a backslash escape by default)."""
    text = INLINE.sub(lambda m: write(m.group()), text)
    if line_start:
        text = LINE_START.sub(lambda m: m[1] + (write(m[2]) if m[2] else m[3] + write(m[4])), text)
    return text


class MarkdownMarkup(Markup):
    def escape(self, text: str, line_start: bool) -> str:
        return escape_markdown(text, line_start)

    def styled(self, text: str, style: Style) -> str:
        return {"strong": f"**{text}**", "emphasis": f"_{text}_"}.get(style, text)

    def code(self, text: str, line_start: bool) -> str:
        # A code span shows its content literally; its fence is longer than any run of backticks inside.
        fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
        pad = " " if text.startswith("`") or text.endswith("`") else ""
        return f"{fence}{pad}{text}{pad}{fence}"

    def heading(self, text: str) -> str:
        return f"### {self.escape(text, False)}"


def to_markdown(report: Report, max_findings: int = 8) -> str:
    markup = MarkdownMarkup()
    doc = walk(report, max_findings)
    return f"## {markup.line(doc.title)}\n\n{markup.body(doc)}"
