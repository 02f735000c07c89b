"""DingTalk robot `markdown` messages: DingTalk's Markdown subset.

DingTalk renders no backticks (so no code spans: identifiers are plain escaped text), and its
mentions ping only people named in the message's `at` object, which comes from the target's own
options (`at_mobiles`, `at_user_ids`, `at_all`; the older `atMobiles`, `atUserIds`, `isAtAll` too),
never from the report; an "@" in report text is already the harmless full-width at sign (see
`clean`). A robot with keyword security drops a message without its keyword: the target's
`keyword` option goes in every message's title and text.
"""

from __future__ import annotations

from typing import Any

from watchkeeper.evidence.report import Report
from watchkeeper.notify.render.clean import clean
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


def _option(options: dict[str, str], name: str, older: str) -> str:
    return options.get(name) or options.get(older) or ""


def at_object(options: dict[str, str]) -> dict[str, Any] | None:
    """The `at` object from the target's options (comma-separated lists), or None when none is set."""
    mobiles = [m for m in _option(options, "at_mobiles", "atMobiles").split(",") if m]
    users = [u for u in _option(options, "at_user_ids", "atUserIds").split(",") if u]
    everyone = _option(options, "at_all", "isAtAll").lower() in ("1", "true", "yes")
    if not (mobiles or users or everyone):
        return None
    return {"atMobiles": mobiles, "atUserIds": users, "isAtAll": everyone}


def payload(report: Report, options: dict[str, str]) -> dict[str, Any]:
    markup = DingTalkMarkup()
    doc = walk(report)
    text = f"### {markup.line(doc.title)}\n\n{markup.body(doc)}"
    heading = title(report)
    keyword = clean(options.get("keyword", ""), 40)
    if keyword:  # the operator's word, from the config: DingTalk matches it as written, so it is not escaped
        heading = f"{keyword} {heading}"
        text = f"{keyword}\n\n{text}"
    at = at_object(options)
    body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": heading, "text": text}}
    if at:
        # DingTalk shows a mention where its "@mobile" / "@userId" is in the text: ours, from the config.
        names = [*at["atMobiles"], *at["atUserIds"]]
        if names:
            body["markdown"]["text"] += "\n\n" + " ".join(f"@{n}" for n in names)
        body["at"] = at
    return body
