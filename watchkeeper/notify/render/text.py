"""Plain text: apprise targets other than e-mail, the generic webhook's `text`, Feishu posts."""

from __future__ import annotations

from watchkeeper.evidence.report import Report
from watchkeeper.notify.render.document import title_line, walk
from watchkeeper.notify.render.markup import PLAIN, plain


def title(report: Report) -> str:
    return plain(title_line(report))


def text(report: Report) -> str:
    return PLAIN.body(walk(report))
