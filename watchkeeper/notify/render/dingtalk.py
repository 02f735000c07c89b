"""DingTalk robot `markdown` messages: DingTalk's Markdown subset.

DingTalk renders no backticks (so no code spans: identifiers are plain escaped text), and its
mentions ping only people named in the message's `at` object, which comes from the target's own
options (`atMobiles`, `atUserIds`, `isAtAll`), never from the report; an "@" in report text is
already the harmless full-width at sign (see `clean`).
"""

from __future__ import annotations

from typing import Any

from watchkeeper.evidence.report import Report
from watchkeeper.notify.render.document import Style, walk
from watchkeeper.notify.render.markdown import escape_markdown
from watchkeeper.notify.render.markup import Markup
from watchkeeper.notify.render.text import title


class DingTalkMarkup(Markup):
    def escape(self, text: str, line_start: bool) -> str:
        return escape_markdown(text, line_start)

    def styled(self, text: str, style: Style) -> str:
        return {"strong": f"**{text}**", "emphasis": f"*{text}*"}.get(style, text)

    def heading(self, text: str) -> str:
        return f"#### {self.escape(text, False)}"


def at_object(options: dict[str, str]) -> dict[str, Any] | None:
    """The `at` object from the target's options (comma-separated lists), or None when none is set."""
    mobiles = [m for m in options.get("atMobiles", "").split(",") if m]
    users = [u for u in options.get("atUserIds", "").split(",") if u]
    everyone = options.get("isAtAll", "").lower() in ("1", "true", "yes")
    if not (mobiles or users or everyone):
        return None
    return {"atMobiles": mobiles, "atUserIds": users, "isAtAll": everyone}


def payload(report: Report, options: dict[str, str]) -> dict[str, Any]:
    markup = DingTalkMarkup()
    doc = walk(report)
    text = f"### {markup.line(doc.title)}\n\n{markup.body(doc)}"
    at = at_object(options)
    body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": title(report), "text": text}}
    if at:
        # DingTalk shows a mention where its "@mobile" / "@userId" is in the text: ours, from the config.
        names = [*at["atMobiles"], *at["atUserIds"]]
        if names:
            body["markdown"]["text"] += "\n\n" + " ".join(f"@{n}" for n in names)
        body["at"] = at
    return body
