"""E-mail: an HTML body with every value HTML-escaped; apprise adds the plain-text part it derives from it."""

from __future__ import annotations

import html

from watchkeeper.evidence.report import Report
from watchkeeper.notify.render.document import Document, Item, Section, Style, walk
from watchkeeper.notify.render.markup import Markup


class HtmlMarkup(Markup):
    def escape(self, text: str, line_start: bool) -> str:
        return html.escape(text, quote=True)

    def styled(self, text: str, style: Style) -> str:
        # <samp>, not <code>: apprise turns <code> into a block of its own in the plain-text part.
        tag = {"strong": "b", "emphasis": "i", "code": "samp"}.get(style)
        return f"<{tag}>{text}</{tag}>" if tag else text

    def heading(self, text: str) -> str:
        return f"<h3>{self.escape(text, True)}</h3>"

    def item(self, n: int, item: Item, numbered: bool) -> list[str]:
        details = "".join(f"<li>{self.line(d)}</li>" for d in item.details)
        return [f"<li>{self.line(item.line)}{f'<ul>{details}</ul>' if details else ''}</li>"]

    def section(self, section: Section) -> str:
        tag = "ol" if section.numbered else "ul"
        items = [line for n, i in enumerate(section.items, 1) for line in self.item(n, i, section.numbered)]
        return "\n".join([self.heading(section.heading), f"<{tag}>", *items, f"</{tag}>"])

    def body(self, doc: Document) -> str:
        blocks = [f"<p>{self.line(p)}</p>" for p in doc.paragraphs] + [self.section(s) for s in doc.sections]
        return "\n".join([*blocks, f"<p><small>{self.line(doc.footer)}</small></p>"])


def html_body(report: Report) -> str:
    markup = HtmlMarkup()
    doc = walk(report)
    return f"<html><body>\n<h2>{markup.line(doc.title)}</h2>\n{markup.body(doc)}\n</body></html>"
