"""Secrets in free text: log lines, HTTP bodies, command lines, connection strings, config files.

Speed comes from the shape of the patterns: each starts with a literal (`://`, `bearer`, `ghp_`,
`pass`), which the regex engine finds with a fast substring search instead of trying the pattern
at every position; case-insensitive rules search an ASCII-lower-cased copy with the same indices.
Rules only report the spans of secrets; the text is rebuilt once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from watchkeeper.redact.keys import MASK, is_secret_key, is_secret_value
from watchkeeper.redact.programs import PROGRAM_IN_TEXT, program_secrets

Span = tuple[int, int]
Rule = Callable[[str, str], Iterable[Span]]  # (text, ASCII-lower-cased text) -> spans of secrets


def _secret_span(m: re.Match[str]) -> Span:
    """The span of the group holding the secret: the pattern's only matched group named secret…"""
    name = next(k for k, v in m.groupdict().items() if v is not None and k.startswith("secret"))
    return m.span(name)


def _pattern(
    pattern: str, lower: bool = False, check: Callable[[str, Span], bool] | None = None, flags: int = 0
) -> Rule:
    """A rule from a literal-led pattern with `secret…` groups; `lower`: written for the lower-cased
    text (case-insensitive); `check`: confirms a candidate on the original text."""
    compiled = re.compile(pattern, flags)

    def spans(text: str, lowered: str) -> Iterator[Span]:
        for m in compiled.finditer(lowered if lower else text):
            span = _secret_span(m)
            if check is None or check(text, span):
                yield span

    return spans


_PREFIX_MAX = 12  # the longest way from a token's start to its lead: `github` before `_pat_`


def _in_word(char: str) -> bool:
    return char.isalnum() or char in "_-"


def _shapes(lead: str, shapes: str) -> Rule:
    """Tokens known by their shape (`shapes`, anchored), found by `lead`, a literal inside each: the
    engine jumps from one `lead` to the next, so one scan serves a family of token kinds."""
    finder, whole = re.compile(lead), re.compile(shapes)

    def spans(text: str, lowered: str) -> Iterator[Span]:
        end = 0
        for m in finder.finditer(text):
            if m.start() < end:
                continue
            start, floor = m.start(), max(0, m.start() - _PREFIX_MAX)
            while start > floor and _in_word(text[start - 1]):
                start -= 1
            if start and _in_word(text[start - 1]):
                continue  # further into a word than any prefix reaches: not a token's start
            token = whole.match(text, start)
            if token is not None:
                end = token.end()
                yield token.span()

    return spans


_NOT_A_WORD = re.compile(r"[0-9._~+/=-]")


def _token_like(text: str, span: Span) -> bool:
    """`Bearer <token>` but not `basic authentication`: a credential has a digit, a symbol or inner capitals."""
    token = text[span[0] : span[1]]
    return _NOT_A_WORD.search(token) is not None or any(c.isupper() for c in token[1:])


_PEM = r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
_CHINESE_LABELS = ("密码", "口令", "密钥", "秘钥", "私钥", "令牌", "授权码")

RULES: tuple[Rule, ...] = (
    # PEM private keys (RSA, EC, OpenSSH, PKCS#8, PGP): the body; a cut block to the end of the text.
    _pattern(rf"{_PEM}(?P<secret>.*?)(?:{_PEM.replace('BEGIN', 'END')}|\Z)", flags=re.DOTALL),
    # Authorization / Proxy-Authorization headers: the scheme and the credentials.
    _pattern(r"""authorization["']?[ \t]*[:=][ \t]*["']?(?P<secret>(?:[\w-]+[ \t]+)?[^\s"',;]+)""", lower=True),
    _pattern(r"bearer[ \t]+(?P<secret>[a-z0-9._~+/=-]{8,})", lower=True, check=_token_like),
    _pattern(r"basic[ \t]+(?P<secret>[a-z0-9._~+/=-]{8,})", lower=True, check=_token_like),
    # Cookie and Set-Cookie headers: every cookie of the header (`cookie=x` is a key=value below).
    _pattern(r"""cookie(?<![\w.]cookie)["']?[ \t]*:[ \t]*(?:"(?P<secret>[^"\n]*)"|(?P<secret2>[^\r\n"']+))""", True),
    # After `://`: credentials in URLs and DSNs (scheme://user:password@host, the user stays), and
    # chat webhooks whose URL is the credential.
    _pattern(
        r"://(?:[^\s:/@]*:(?P<secret>[^\s/]+)@"
        r"|hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret2>[\w/-]+)"
        r"|(?:[\w-]+\.)?discord(?:app)?\.com/api/webhooks/\d+/(?P<secret3>[\w-]+)"
        r"|[\w.-]+/open-apis/bot/v2/hook/(?P<secret4>[\w-]+)"
        r"|[\w.-]*webhook\.office\.com/webhookb2/(?P<secret5>[^\s\"'<>]+)"
        r"|qyapi\.weixin\.qq\.com/cgi-bin/webhook/send\?key=(?P<secret6>[\w-]+))",
        lower=True,
    ),
    # openssl's -pass pass:secret (env:VAR and file:PATH say where the secret is, and stay).
    _pattern(r"pass:(?<![\w-]pass:)(?P<secret>[^\s\"']+)", lower=True),
    # Token shapes that need no key name: AWS access keys, GitHub, GitLab, Slack, OpenAI, Stripe,
    # Google API keys, JWTs, npm, Hugging Face, PyPI, SendGrid.
    _shapes(
        r"_[A-Za-z0-9_]{15}",
        r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"
        r"|whsec_[A-Za-z0-9]{20,}|npm_[A-Za-z0-9]{36}|hf_[A-Za-z0-9]{30,}",
    ),
    _shapes(
        r"-[A-Za-z0-9_-]{10}",
        r"sk-[A-Za-z0-9_-]{20,}|xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}|pypi-AgE[\w-]{50,}"
        r"|gl(?:pat|dt|rt|ptt|cbt|imt|oas|soat|ffct)-[\w-]{20,}",
    ),
    _shapes(r"A(?:KIA|SIA|Iza)", r"A(?:KIA|SIA)[0-9A-Z]{16}(?![0-9A-Za-z])|AIza[0-9A-Za-z_-]{35}"),
    _shapes(r"eyJ", r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"),
    _shapes(r"SG\.", r"SG\.[\w-]{22}\.[\w-]{43}"),
)
# Chinese labels: 密码=…, 口令:…, 密钥=… and with full-width ':' and '=' (\uff1a, \uff1d); the value
# ends at a blank or a (full-width) comma, full stop or semicolon. 密码长度 (password length) is no label.
# Skipped for ASCII text.
CHINESE_RULES: tuple[Rule, ...] = tuple(
    _pattern(rf"{label}[ \t]*[:=\uff1a\uff1d][ \t]*(?P<secret>[^\s,;\uff0c\u3002\uff1b\u3001]+)")
    for label in _CHINESE_LABELS
)

# Key names: every secret word of keys.is_secret_key contains one of these stems (a test checks).
STEMS = ("pass", "pw", "secret", "token", "key", "auth", "credential", "sess", "cookie", "sig", "psk")
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")
_BLANK = re.compile(r"[\s\"']")


def _keyed_patterns() -> tuple[re.Pattern[str], ...]:
    """A stem and the rest of a name followed by its separator (`=`, `:` or a full-width colon; an
    unquoted key needs a blank or a quote after ':', so `pam_unix(passwd:chauthtok)` has no key).
    Stems sharing a first letter are searched together: the engine jumps from one `p` to the next
    and tries `ass`, `w`, `sk` there, one scan for three. Names are bounded and the value is read
    only for a secret name, so no text costs more than a pass per pattern."""
    leads: dict[str, list[str]] = {}
    for stem in STEMS:
        leads.setdefault(stem[0], []).append(stem[1:])
    return tuple(
        re.compile(
            rf"""(?P<name>{first}(?:{"|".join(rests)})[a-z0-9_.-]{{0,{_NAME_MAX}}}+)"""
            r"""["']?[ \t]*(?:=|\uff1a|(?<=["']):|:(?=[ \t"']))[ \t]*"""
        )
        for first, rests in leads.items()
    )


_NAME_MAX = 64
_KEYED = _keyed_patterns()
_VALUE = re.compile(r"""(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|(?P<value>[^\s,;&"']+))""")
# A flag and a blank: --password hunter2, -storepass x (with '=' it is a key above).
_FLAG = re.compile(r"-(?<![\w./-]-)-?[a-z][a-z0-9_.-]{0,64}+[ \t]+(?=[^\s-])")
# `&`, `,` and `;` separate key=value pairs, not a flag's words: a flag's value ends at a blank.
_FLAG_VALUE = re.compile(r"""(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|(?P<value>[^\s"']+))""")


def _name_start(lower: str, end: int) -> int | None:
    """Where the name ending at `end` starts; None for a path (/etc/passwd:) or an endless word."""
    start = end
    while start and lower[start - 1] in _KEY_CHARS:
        start -= 1
        if end - start > _NAME_MAX:
            return None
    return None if start and lower[start - 1] == "/" else start


def _value_span(m: re.Match[str]) -> Span:
    return m.span("dq") if m["dq"] is not None else m.span("sq") if m["sq"] is not None else m.span("value")


def _keyed_spans(text: str, lower: str) -> Iterator[Span]:
    """Values of secret names: key=value, "key": "value", --flag=value, -Dkey=value, --flag value."""
    seen: set[int] = set()
    for pattern in _KEYED:
        pos = 0
        while (m := pattern.search(lower, pos)) is not None:
            pos = m.end()
            start = _name_start(lower, m.start())
            if start is None or start in seen:
                continue
            seen.add(start)
            name = text[start : m.end("name")]
            if not is_secret_key(name.lstrip("-")):  # most names a stem finds are not secret
                continue
            value = _VALUE.match(text, m.end())
            if value is None:
                continue
            a, b = _value_span(value)
            if name.startswith("-") and value["value"] is not None:
                blank = _BLANK.search(text, b)  # --password=Tr0ub4dor&3x: a flag's value ends at a blank
                b = blank.start() if blank else len(text)
            if is_secret_value(name.lstrip("-"), text[a:b]):
                yield a, b
            pos = max(pos, b)
    for m in _FLAG.finditer(lower):
        name = m[0].rstrip(" \t").lstrip("-")
        if is_secret_key(name) and (value := _FLAG_VALUE.match(text, m.end())) is not None:
            a, b = _value_span(value)
            if is_secret_value(name, text[a:b]):
                yield a, b


def _program_spans(text: str) -> Iterator[Span]:
    """Password flags of known programs in command lines (`mysql -uroot -pS3cr3t`, `redis-cli -a x`):
    the words of each shell command that names one, read as argv."""
    segment_end = -1
    for hit in re.finditer(r" -(?=[-A-Za-z])", text):
        if hit.start() < segment_end:
            continue
        begin = max(text.rfind(c, 0, hit.start()) for c in "\n;|&") + 1
        segment_end = min([e for e in (text.find(c, hit.start()) for c in "\n;|&") if e >= 0], default=len(text))
        if PROGRAM_IN_TEXT.search(text, begin, segment_end) is None:
            continue
        words = list(re.finditer(r"[^\s\"']+", text[begin:segment_end]))
        for i, offset in program_secrets([w[0] for w in words]):
            yield begin + words[i].start() + offset, begin + words[i].end()


def ascii_lower(text: str) -> str:
    """`text` with A-Z lower-cased and nothing else changed, so indices stay valid (str.lower may not)."""
    return text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


# A short text (a small result, an error line) is first searched once for every literal a rule
# starts with or a key name contains, instead of once per rule: most hold none of them.
_SHORT = 512
_TRIGGERS = (*STEMS, "bearer", "basic", "://", " -", "eyj", "sg.", "akia", "asia", "aiza", "gh", "gl", "xox", "xapp-")
_ANY_TRIGGER = re.compile("|".join(map(re.escape, (*_TRIGGERS, "sk-", "k_", "whsec_", "npm_", "hf_", "pypi-"))))


def secret_spans(text: str) -> list[Span]:
    lower = ascii_lower(text)
    if len(text) < _SHORT and text.isascii() and _ANY_TRIGGER.search(lower) is None:
        return []
    spans = list(_keyed_spans(text, lower))
    for rule in RULES if text.isascii() else RULES + CHINESE_RULES:
        spans += rule(text, lower)
    if " -" in text:
        spans += _program_spans(text)
    return spans


def redact_text(text: str) -> str:
    """Return `text` with every recognised secret replaced by the mask."""
    merged: list[list[int]] = []
    for start, end in sorted(secret_spans(text)):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:  # overlapping or touching secrets become one mask
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if not merged:
        return text
    out, last = [], 0
    for start, end in merged:
        out += [text[last:start], MASK]
        last = end
    return "".join(out) + text[last:]
