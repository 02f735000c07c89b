"""Which names hold secrets: dict keys, `key=value` keys, `--flag` names, environment variables.

A name is split into words (`db_password`, `X-Api-Key`, `keyStorePassword`, `PGPASSWORD`) and read
like an English compound, where the last word says what the thing is: `db_password` is a password,
`password_min_length` is a length, `token_bucket_size` a size, `input_tokens` a count.
"""

from __future__ import annotations

import re
from functools import lru_cache

MASK = "[REDACTED]"

# Separators and camelCase boundaries: `keyStorePassword` -> key, Store, Password.
_WORDS = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")

# A word that ends with one of these is a secret (PGPASSWORD, clientsecret, csrftoken). `tokens`
# does not end with `token` on purpose: plural tokens are counts (input_tokens, max_tokens).
_SECRET_ENDINGS = (
    "password", "passwords", "passwd", "passphrase", "secret", "secrets", "token", "apikey", "accesskey",
    "secretkey", "privatekey", "credential", "credentials", "sessionid", "sessid", "cookie", "storepass", "keypass",
)  # fmt: skip
# Short words that are secrets only as a whole word: `bypass` and `oauth` are not.
_SECRET_WORDS = frozenset({"pass", "pwd", "pw", "auth", "authorization", "sig", "signature", "psk"})
# `key` alone names many things (a skill key, a sort key); these make it a secret.
_KEY_QUALIFIERS = frozenset(
    {"api", "secret", "access", "private", "account", "app", "client", "signing", "encryption", "hmac", "master",
     "shared", "auth", "license"}
)  # fmt: skip
# Words after the secret word that still name the secret itself (password_hash, secret_key_base).
_STILL_SECRET = frozenset(
    {"value", "hash", "b64", "base64", "enc", "encrypted", "plain", "plaintext", "raw", "str", "string", "hex", "base"}
)
# Words before it that make the name a yes/no switch about a secret (--ask-pass, use_password).
_SWITCHES = frozenset(
    {"ask", "no", "prompt", "use", "require", "requires", "skip", "with", "without", "has", "is", "enable", "disable"}
)

# A value that says where a secret is kept, not the secret: env:NAME, file:PATH, or a file path
# (`--password-file /etc/x`, `GOOGLE_APPLICATION_CREDENTIALS=/etc/sa.json`, `PWD=/srv/app`).
_REFERENCE = re.compile(r"env:[A-Za-z_]\w*|file:\S+|(?:~|\.{1,2})?/[\w.+@/-]*")


def _words(name: str) -> list[str]:
    return [w.lower().rstrip("0123456789") for w in _WORDS.split(name) if w]


def _is_secret_word(words: list[str], i: int) -> bool:
    word = words[i]
    if word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS):
        return True
    return word == "key" and i > 0 and words[i - 1] in _KEY_QUALIFIERS


@lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """True when `name` (a key, flag or variable name) holds a secret value."""
    words = _words(name)
    i = len(words) - 1
    while i >= 0 and words[i] in _STILL_SECRET:
        i -= 1
    if i < 0 or not _is_secret_word(words, i):
        return False
    qualifier = i - 2 if words[i] == "key" else i - 1
    return qualifier < 0 or words[qualifier] not in _SWITCHES


def is_reference(value: str) -> bool:
    """True when `value` points at a secret (env:NAME, file:PATH, a path) rather than being one."""
    return _REFERENCE.fullmatch(value) is not None


def is_secret_value(name: str, value: str) -> bool:
    """True when `value`, found under `name`, must be masked."""
    return value != "" and is_secret_key(name) and not is_reference(value)
