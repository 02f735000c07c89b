"""Feishu / Lark bots: an interactive card (card Markdown) or a `post` of plain `text` tags.

Card Markdown reads `<at …>`, `<font>`, `<a>` and links, so `&`, `<`, `>` and the Markdown
characters in every span are written as HTML entities, Feishu's documented escape in cards. A
post is built of `text` tags only, which Feishu shows as plain text (no `un_escape`).
"""

from __future__ import annotations

from typing import Any

from watchkeeper.evidence.report import Report
from watchkeeper.notify.render.document import Style, walk
from watchkeeper.notify.render.markdown import escape_markdown
from watchkeeper.notify.render.markup import Markup
from watchkeeper.notify.render.text import text, title


def entity(char: str) -> str:
    return f"&#{ord(char)};"


class FeishuMarkup(Markup):
    def escape(self, text: str, line_start: bool) -> str:
        return escape_markdown(text, line_start, entity)

    def styled(self, text: str, style: Style) -> str:
        return {"strong": f"**{text}**", "emphasis": f"*{text}*"}.get(style, text)

    def heading(self, text: str) -> str:
        return f"**{self.escape(text, True)}**"  # card Markdown (JSON 1.0) has no headings


def card(report: Report) -> dict[str, Any]:
    top = report.hypotheses[0] if report.hypotheses else None
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {
                "title": {"tag": "plain_text", "content": title(report)},
                "template": "red" if top and top.confidence >= 0.7 else "orange",
            },
            "elements": [{"tag": "markdown", "content": FeishuMarkup().body(walk(report))}],
        },
    }


def post(report: Report) -> dict[str, Any]:
    lines = [[{"tag": "text", "text": line}] for line in text(report).splitlines()]
    return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": title(report), "content": lines}}}}
