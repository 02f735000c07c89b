"""Slack: Block Kit with `mrkdwn` (not GitHub Markdown: `*bold*`, no headings).

Slack reads `&`, `<` and `>` as its control characters (`<!channel>`, `<@U…>`, `<url|label>`), so
they are written `&amp;` `&lt;` `&gt;` in every mrkdwn field; `verbatim` turns off Slack's own
parsing of URLs, channel names and mentions in our sections. The header is `plain_text`, which
Slack shows literally (escaping it would show the entities).
"""

from __future__ import annotations

import re
from typing import Any

from watchkeeper.evidence.report import Report
from watchkeeper.notify.render.document import Document, Style, walk
from watchkeeper.notify.render.markup import Markup, plain

SECTION_LIMIT = 3000  # Slack's limit on a section's text
HEADER_LIMIT = 150  # and on a header's
MODIFIER_GRAVE = "\u02cb"  # looks like a backtick, ends no code span
ENTITY = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape_slack(text: str) -> str:
    return re.sub("[&<>]", lambda m: ENTITY[m.group()], text)


class SlackMarkup(Markup):
    item_marker = "• "
    detail_marker = "      ◦ "

    def escape(self, text: str, line_start: bool) -> str:
        return escape_slack(text)

    def styled(self, text: str, style: Style) -> str:
        # Slack has no escape for its formatting characters; a backtick would end the code span early.
        marks = {"strong": "*", "emphasis": "_", "code": "`"}
        mark = marks.get(style, "")
        return f"{mark}{text.replace('`', MODIFIER_GRAVE) if style == 'code' else text}{mark}"

    def heading(self, text: str) -> str:
        return f"*{self.escape(text, True)}*"


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, never ending inside an entity."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    amp = head.rfind("&")
    if amp >= 0 and ";" not in head[amp:]:
        head = head[:amp]
    return head + "…"


def sections(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` characters, each cut at a line boundary."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        line = cut(line, limit)  # one overlong line is cut, the others stay whole
        if current and len(current) + 1 + len(line) > limit:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    pieces.append(current)
    return [p.strip("\n") for p in pieces if p.strip()]


def payload(report: Report) -> dict[str, Any]:
    markup = SlackMarkup()
    doc: Document = walk(report)
    title = markup.line(doc.title)
    summary = " ".join(markup.line(p) for p in doc.paragraphs[:1])
    return {
        # The notification text (and the fallback where blocks cannot show): parsed as mrkdwn too.
        "text": cut(f"{title}: {summary}", SECTION_LIMIT),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": cut(plain(doc.title), HEADER_LIMIT)}},
            *(
                {"type": "section", "text": {"type": "mrkdwn", "text": piece, "verbatim": True}}
                for piece in sections(markup.body(doc))
            ),
        ],
    }
