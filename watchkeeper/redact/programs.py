"""Program-specific password flags: `mysql -pS3cr3t`, `redis-cli -a hunter2`, `curl -u user:pass`.

A short flag means a password only for the program that defines it (`-p` is a port to ssh and
redis-cli), so these rules apply after a token naming the program: argv[0], an interpreter's
script (`bash /opt/mysql.sh`, `java -jar redis-cli.jar`) or a wrapped command (`sudo mysql`,
`docker exec db mysql`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from watchkeeper.redact.keys import is_reference


@dataclass(frozen=True)
class Flag:
    """A flag whose value is a password: `-pVALUE` (glued) and/or `-p VALUE` (the next argument)."""

    name: str
    glued: bool = True
    next: bool = True
    keep_before: str | None = None  # `curl -u user:pass` masks only what follows the first ':'

    @property
    def glue(self) -> str:
        return f"{self.name}=" if self.name.startswith("--") else self.name


def _programs(names: str, *flags: Flag) -> dict[str, tuple[Flag, ...]]:
    return dict.fromkeys(names.split(), flags)


PROGRAMS: dict[str, tuple[Flag, ...]] = {
    # `-p` alone makes the MySQL clients prompt; the next argument is then a database name.
    **_programs(
        "mysql mysqldump mysqladmin mysqlimport mysqlcheck mysqlshow mysqlslap mysqlpump mysqlbinlog mariadb "
        "mariadb-dump mariadb-admin mariadb-import mariadb-check mariadb-show mariadb-slap mariadb-binlog",
        Flag("-p", next=False),
    ),
    **_programs("7z 7za 7zr 7zz", Flag("-p", next=False)),
    **_programs("redis-cli keydb-cli valkey-cli", Flag("-a")),
    **_programs(
        "sshpass rabbitmqadmin mydumper myloader mongo mongosh mongodump mongorestore mongoexport mongoimport "
        "mongostat mongotop mongofiles",
        Flag("-p"),
    ),
    **_programs(
        "ldapsearch ldapmodify ldapadd ldapdelete ldapwhoami ldappasswd ldapcompare ldapmodrdn ldapexop", Flag("-w")
    ),
    **_programs("sqlcmd bcp mosquitto_pub mosquitto_sub mosquitto_rr zip unzip zipcloak", Flag("-P")),
    "openssl": (Flag("-k"),),
    "curl": tuple(Flag(n, keep_before=":") for n in ("-u", "--user", "-U", "--proxy-user")),
    **_programs("smbclient rpcclient smbget", Flag("-U", keep_before="%"), Flag("--user", keep_before="%")),
    "lftp": (Flag("-u", keep_before=","),),
}

_SCRIPT_SUFFIX = re.compile(r"\.(?:sh|bash|py|pl|rb|js|mjs|jar|exe)$")
# Whether a line of text names a known program at all (then its words are read as argv).
PROGRAM_IN_TEXT = re.compile(
    r"(?<![\w.-])(?P<program>" + "|".join(re.escape(n) for n in sorted(PROGRAMS, key=len, reverse=True)) + r")"
    r"(?:\.\w+)?(?=[ \t])"
)


def program_flags(word: str) -> tuple[Flag, ...] | None:
    """The password flags of the program `word` names (a path or a script counts), if it is one we know."""
    if word in PROGRAMS:
        return PROGRAMS[word]
    if word.startswith("-") or ("/" not in word and "." not in word):
        return None
    return PROGRAMS.get(_SCRIPT_SUFFIX.sub("", word.rsplit("/", 1)[-1]))


def _secret_from(flag: Flag, value: str) -> int | None:
    """Where the secret starts in `value`, or None when it holds none (`user` without `:pass`, env:NAME)."""
    if flag.keep_before is not None:
        cut = value.find(flag.keep_before)
        return cut + 1 if 0 <= cut < len(value) - 1 else None
    return None if value == "" or is_reference(value) else 0


def program_secrets(words: Sequence[str]) -> Iterator[tuple[int, int]]:
    """(word index, offset) of each password a known program's flag gives in `words` (an argv, or
    the words of a shell command); the password runs from the offset to the end of its word. A
    program's flags count from the word naming it to the next program named."""
    flags: tuple[Flag, ...] = ()
    value_of: Flag | None = None  # the flag whose value is this word
    for i, word in enumerate(words):
        if value_of is not None:
            start = _secret_from(value_of, word)
            if start is not None:
                yield i, start
            value_of = None
            continue
        named = program_flags(word)
        if named is not None:
            flags = named
            continue
        for flag in flags:
            if flag.next and word == flag.name:
                value_of = flag
                break
            if flag.glued and word.startswith(flag.glue) and len(word) > len(flag.glue):
                start = _secret_from(flag, word[len(flag.glue) :])
                if start is not None:
                    yield i, len(flag.glue) + start
                break
