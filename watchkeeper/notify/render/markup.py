"""How a medium writes the neutral document: the shared layout, with hooks for what each medium does its own way."""

from __future__ import annotations

from watchkeeper.notify.render.document import Document, Item, Line, Section, Span, Style


class Markup:
    """Plain text: no markup, nothing to escape (the walk already cleaned untrusted words).

    A medium overrides `escape` (every span goes through it, ours included), `styled`, and the
    markers; the layout — paragraphs, sections of items with details, the footer — is shared.
    """

    item_marker = "- "
    detail_marker = "   - "

    def escape(self, text: str, line_start: bool) -> str:
        """`text` made literal in this medium; `line_start` when nothing precedes it on its line."""
        return text

    def styled(self, text: str, style: Style) -> str:
        """Already escaped `text` in `style`."""
        return text

    def code(self, text: str, line_start: bool) -> str:
        """Raw `text` as an identifier or a verbatim excerpt."""
        return self.styled(self.escape(text, line_start), "code")

    def span(self, span: Span, line_start: bool = False) -> str:
        if not span.text:
            return ""
        if span.style == "code":
            return self.code(span.text, line_start)
        text = self.escape(span.text, line_start)
        return text if span.style == "plain" else self.styled(text, span.style)

    def line(self, line: Line) -> str:
        return "".join(self.span(s, i == 0) for i, s in enumerate(line))

    def heading(self, text: str) -> str:
        return self.span(Span(text + ":"), line_start=True)

    def marker(self, n: int, numbered: bool) -> str:
        return f"{n}. " if numbered else self.item_marker

    def item(self, n: int, item: Item, numbered: bool) -> list[str]:
        return [self.marker(n, numbered) + self.line(item.line)] + [
            self.detail_marker + self.line(d) for d in item.details
        ]

    def section(self, section: Section) -> str:
        lines = [self.heading(section.heading)]
        for n, item in enumerate(section.items, start=1):
            lines += self.item(n, item, section.numbered)
        return "\n".join(lines)

    def body(self, doc: Document) -> str:
        """Everything but the title (which goes in a subject, header or heading of its own)."""
        blocks = [self.line(p) for p in doc.paragraphs] + [self.section(s) for s in doc.sections]
        return "\n\n".join([*blocks, self.line(doc.footer)])


PLAIN = Markup()


def plain(line: Line) -> str:
    """A line as plain text: for titles, subjects, headers and plain-text fields."""
    return PLAIN.line(line)
