"""Secrets in a process's argv, where the word boundaries are known (psutil gives a list, not a line)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from watchkeeper.redact.batch import redact_texts
from watchkeeper.redact.keys import MASK, is_secret_value
from watchkeeper.redact.programs import program_secrets

_LONG_FLAG = re.compile(r"(--?[A-Za-z][\w.-]*)(?:=(.*))?", re.DOTALL)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """`argv` with secrets masked: `--password x`, `--db-password=x`, a known program's `-pX`, and
    each argument as text (URLs with credentials, key=value, tokens, `sh -c "mysql -pX"`)."""
    out = redact_texts(list(argv))
    for i, offset in program_secrets(argv):
        out[i] = argv[i][:offset] + MASK
    for i, arg in enumerate(argv):
        m = _LONG_FLAG.fullmatch(arg)
        if m is None:
            continue
        name = m[1].lstrip("-")
        if m[2] is not None:
            if is_secret_value(name, m[2]):
                out[i] = f"{m[1]}={MASK}"
        elif i + 1 < len(argv) and not argv[i + 1].startswith("-") and is_secret_value(name, argv[i + 1]):
            out[i + 1] = MASK
    return out
