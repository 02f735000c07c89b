"""WeCom (企业微信) group-robot messages: a `markdown` message, and a `text` one that mentions people.

WeCom's markdown takes headings, bold, links, quotes and `<font color=…>`: report text is escaped
(`<` included, so no font tag or `<@userid>` mention can come from it). A markdown message cannot
mention by mobile number, so the people to ping — only from the target's own options
(`mentioned_list`, `mentioned_mobile_list`), never from the report — get a short `text` message
with WeCom's own mention lists. Limits: 4096 bytes of markdown content, 2048 of text, in UTF-8.
"""

from __future__ import annotations

from typing import Any

from watchkeeper.evidence.report import Report
from watchkeeper.notify.render.document import Style, walk
from watchkeeper.notify.render.markdown import escape_markdown
from watchkeeper.notify.render.markup import Markup
from watchkeeper.notify.render.text import title

MARKDOWN_BYTES = 4096
TEXT_BYTES = 2048


class WeComMarkup(Markup):
    def escape(self, text: str, line_start: bool) -> str:
        return escape_markdown(text, line_start)

    def styled(self, text: str, style: Style) -> str:
        return {"strong": f"**{text}**"}.get(style, text)

    def heading(self, text: str) -> str:
        return f"### {self.escape(text, False)}"


def fit(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8, cut on a character and ending in "…" when cut."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore").rstrip() + "…"


def payload(report: Report) -> dict[str, Any]:
    markup = WeComMarkup()
    doc = walk(report)
    content = f"## {markup.line(doc.title)}\n\n{markup.body(doc)}"
    return {"msgtype": "markdown", "markdown": {"content": fit(content, MARKDOWN_BYTES)}}


def mentions(report: Report, options: dict[str, str]) -> dict[str, Any] | None:
    """The `text` message that pings the configured people ("@all" for everyone), or None."""
    users = [u for u in options.get("mentioned_list", "").split(",") if u]
    mobiles = [m for m in options.get("mentioned_mobile_list", "").split(",") if m]
    if not (users or mobiles):
        return None
    text: dict[str, Any] = {"content": fit(title(report), TEXT_BYTES)}
    if users:
        text["mentioned_list"] = users
    if mobiles:
        text["mentioned_mobile_list"] = mobiles
    return {"msgtype": "text", "text": text}
