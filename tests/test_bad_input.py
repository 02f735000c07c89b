"""Bad input gets one clear line and exit 2, never a traceback (issue 10, point 7).

Property-based: every command that takes input is fed malformed input in process through Typer's
CliRunner. Each strategy builds input that is wrong by construction, or checks it is wrong with the
parser or model that defines the format (tomllib, Settings, Report) — never with the command under
test. The whole module is bounded: few examples, each failing before any real work, so it stays well
under 60 s on a busy 2-core host.
"""

from __future__ import annotations

import json
import logging
import os
import re
import string
import subprocess
import tempfile
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner, Result

from tests.helpers import WK
from tests.skills.test_packs import write_pack
from watchkeeper.cli import app
from watchkeeper.config import Settings
from watchkeeper.evidence.report import Action, Finding, Hypothesis, Report, Symptom

FUZZ = settings(
    max_examples=20,
    deadline=None,  # a busy host: bound the examples, not each one's time
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
runner = CliRunner()

# -- what is malformed -------------------------------------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
NOT_OBJECT = JSON.filter(lambda v: not isinstance(v, dict))
NOT_TEXT = JSON.filter(lambda v: not isinstance(v, str))
# Bytes that cannot be UTF-8 wherever they sit: 0xC3 opens a two-byte sequence that "(" cannot continue.
NOT_UTF8 = st.tuples(st.binary(max_size=60), st.binary(max_size=60)).map(lambda t: t[0] + b"\xc3(" + t[1])
HUGE = st.sampled_from(["1" * 5000, "[" * 50_000, '{"a": ' * 50_000, '"' + "x" * 200_000])


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


NOT_JSON = st.text(max_size=60).filter(lambda t: not _is_json(t))


def bad_json_file(shapes: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Random bytes, text that is not JSON, absurd sizes, or JSON of a wrong shape."""
    return st.one_of(
        NOT_UTF8,
        NOT_JSON.map(str.encode),
        HUGE.map(str.encode),
        shapes.map(lambda v: json.dumps(v).encode()),
    )


def assert_one_line(result: Result, code: int = 2) -> None:
    """The command ended on its own terms: the exit code, one line on stderr, no traceback."""
    assert isinstance(result.exception, SystemExit | type(None)), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr


class Scratch:
    """A fresh file or directory per example (examples share the test's tmp_path)."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def dir(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.base))

    def file(self, data: bytes, suffix: str = ".json") -> Path:
        path = self.dir() / f"input{suffix}"
        path.write_bytes(data)
        return path


@pytest.fixture
def scratch(tmp_path: Path) -> Scratch:
    return Scratch(tmp_path)


# -- config: WK_CONFIG names a malformed file ---------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # nan, inf and -inf are TOML too
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


TOML_VALUES = st.recursive(
    st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
SECTIONS = [name for name, field in Settings.model_fields.items() if name not in ("data_dir", "database_url")]


def _field_names() -> list[tuple[str, str]]:
    names = [("", "data_dir"), ("", "database_url")]
    for section in SECTIONS:
        model = Settings.model_fields[section].annotation
        names += [(section, key) for key in model.model_fields]  # type: ignore[union-attr]
    return names


@st.composite
def wrong_field(draw: st.DrawFn) -> bytes:
    """A TOML file that sets one setting (or a whole section) to a value the settings refuse."""
    section, key = draw(st.sampled_from([*_field_names(), *((s, "") for s in SECTIONS)]))
    value = draw(TOML_VALUES)
    data: dict[str, Any] = {section: value} if not key else {key: value} if not section else {section: {key: value}}
    assume(not _settings_accept(data))
    if not key or not section:
        text = f"{section or key} = {_toml(value)}\n"
    else:
        text = f"[{section}]\n{key} = {_toml(value)}\n"
    return text.encode()


def _settings_accept(data: dict[str, Any]) -> bool:
    try:
        Settings(**data)
    except ValidationError:
        return False
    return True


def _not_toml(text: str) -> bool:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return True
    return False


BAD_CONFIG = st.one_of(
    NOT_UTF8,
    st.text(max_size=60).filter(_not_toml).map(str.encode),
    st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12).map(lambda k: f"{k}zz = 1\n".encode()),
    wrong_field(),
)


@FUZZ
@given(config=BAD_CONFIG)
def test_a_malformed_config_file_is_one_line_for_every_command(scratch: Scratch, config: bytes) -> None:
    # No WK_DATA_DIR: the environment would override a data_dir the file sets.
    env = {"WK_CONFIG": str(scratch.file(config, ".toml")), "WK_DATA_DIR": None}
    for command in (["config", "show"], ["skills", "list"], ["investigate", "cpu?"], ["mcp"]):
        result = runner.invoke(app, command, env=env)
        assert_one_line(result)
        assert result.stderr.startswith(f"error: config file {env['WK_CONFIG']}") or "configuration" in result.stderr
    doctor = runner.invoke(app, ["doctor"], env=env)  # doctor reports a broken config as a failed check
    assert doctor.exit_code == 1 and "Traceback" not in doctor.output
    assert doctor.stdout.startswith("FAIL config: ") and len(doctor.stdout.splitlines()) == 1


# -- wk investigate --alert FILE ----------------------------------------------------------------

TEXT_MAP_VALUE = st.none() | st.lists(SCALARS, max_size=2) | st.dictionaries(st.text(max_size=4), SCALARS, max_size=2)
BAD_TEXT_MAP = NOT_OBJECT | st.dictionaries(st.text(max_size=8), TEXT_MAP_VALUE, min_size=1, max_size=3)
GOOD_LABELS = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)
BAD_ALERTS = st.one_of(
    NOT_OBJECT,
    st.dictionaries(st.text(max_size=8).filter(lambda k: k not in ("alerts", "labels")), JSON, max_size=3),
    st.builds(lambda m: {"labels": m}, BAD_TEXT_MAP),
    st.builds(lambda lab, m: {"labels": lab, "annotations": m}, GOOD_LABELS, BAD_TEXT_MAP),
    st.builds(lambda a: {"alerts": a}, NOT_OBJECT.filter(lambda v: v is not None and not isinstance(v, list))),
    st.builds(lambda a: {"alerts": [{"labels": {}}, a]}, NOT_OBJECT),
    st.builds(lambda m: {"alerts": [{"status": "firing", "labels": m}]}, BAD_TEXT_MAP),
    st.just({"alerts": [{"status": "resolved", "labels": {"alertname": "X"}}]}),
)


@FUZZ
@given(alert=bad_json_file(BAD_ALERTS))
def test_a_malformed_alert_is_one_line(scratch: Scratch, alert: bytes) -> None:
    path = scratch.file(alert)
    result = runner.invoke(app, ["investigate", "--alert", str(path)])
    assert_one_line(result)
    assert result.stderr.startswith(f"error: alert {path}")
    stdin = runner.invoke(app, ["investigate", "--alert", "-"], input=alert)
    assert_one_line(stdin)
    assert stdin.stderr.startswith("error: alert on stdin")


# -- wk skills run KEY --params-json / -p --------------------------------------------------------

ARGV_TEXT = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=30)
NOT_AN_N = st.one_of(
    st.integers().filter(lambda n: not 1 <= n <= 100),
    st.floats().filter(lambda f: f != int(f) if f == f and abs(f) != float("inf") else True),
    st.text(alphabet=string.ascii_letters, min_size=1, max_size=10),
    st.lists(SCALARS, max_size=2),
    st.dictionaries(st.text(max_size=4), SCALARS, max_size=2),
    st.none(),
)
POISON = st.one_of(
    st.tuples(st.text(max_size=10).filter(lambda k: k not in ("by", "n", "sample_seconds", "edge")), JSON),
    st.tuples(st.just("by"), JSON.filter(lambda v: v not in ("cpu", "memory"))),
    st.tuples(st.just("n"), NOT_AN_N),
)
BAD_PARAMS_JSON = st.one_of(
    ARGV_TEXT.filter(lambda t: t != "").filter(lambda t: not (_is_json(t) and isinstance(json.loads(t), dict))),
    st.sampled_from(["1" * 5000, "[" * 50_000]),
    st.builds(lambda good, poison: json.dumps({**good, poison[0]: poison[1]}), st.just({"n": 3}), POISON),
)
BAD_PAIRS = st.one_of(
    ARGV_TEXT.filter(lambda t: "=" not in t),  # no name=value at all
    ARGV_TEXT.map(lambda t: "=" + t),  # no name
    st.text(string.ascii_letters, min_size=1, max_size=8)
    .filter(lambda k: k not in ("by", "n", "edge"))
    .map(lambda k: f"{k}=1"),
    st.builds(lambda v: f"by={v}", ARGV_TEXT.filter(lambda v: v not in ("cpu", "memory"))),
    st.builds(lambda v: f"n={v}", st.text(string.ascii_letters, min_size=1, max_size=8) | st.just("9" * 5000)),
)


@FUZZ
@given(params_json=BAD_PARAMS_JSON, pair=BAD_PAIRS)
@example(params_json="1", pair="\x85")  # NEL: a line break to str.splitlines and to some terminals
@example(params_json="1", pair="a\u2028b")  # Unicode's line separator
def test_malformed_params_are_one_line(scratch: Scratch, params_json: str, pair: str) -> None:
    # A fresh data directory per run: each refused call is audited in its own ledger.
    for args in (["--params-json=" + params_json], ["-p", "by=cpu", "--param=" + pair]):
        result = runner.invoke(app, ["skills", "run", "top_processes", *args], env={"WK_DATA_DIR": str(scratch.dir())})
        assert_one_line(result)


# -- wk kb learn --report FILE -----------------------------------------------------------------


def _report() -> dict[str, Any]:
    culprit = {"kind": "process", "name": "burner", "pid": 42}
    return Report(
        id="inv-20260101-000000-abcdef",
        summary="s",
        symptom=Symptom(alertname="HighCpu", labels={"service": "x"}),
        hypotheses=[
            Hypothesis(category="cpu", title="t", confidence=0.8, culprit=culprit, actions=[Action(title="a")])  # type: ignore[arg-type]
        ],
        findings=[Finding(kind="k", severity="warn", message="m")],
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
    ).model_dump(mode="json")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every field of a JSON document, as a path of keys and indexes."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    found = [prefix] if prefix else []
    for key, child in items:
        found += _paths(child, (*prefix, key))
    return found


REPORT_FIELDS = _paths(_report())


@st.composite
def broken_report(draw: st.DrawFn) -> Any:
    """A real report with one field (anywhere in it) replaced or removed, checked against the Report model."""
    report = _report()
    path = draw(st.sampled_from(REPORT_FIELDS))
    parent = report
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON)
    try:
        Report.model_validate(report)
    except ValidationError:
        return report
    assume(False)


BAD_REPORTS = st.one_of(
    NOT_OBJECT,
    broken_report(),
    st.builds(lambda r: [_report(), r], broken_report()),
)


@settings(FUZZ, max_examples=50)  # cheap: no data directory is opened
@given(report=bad_json_file(BAD_REPORTS))
def test_a_malformed_report_is_one_line(scratch: Scratch, report: bytes) -> None:
    path = scratch.file(report)
    result = runner.invoke(app, ["kb", "learn", "--report", str(path), "--fix", "restart", "--worked", "yes"])
    assert_one_line(result)
    assert result.stderr.startswith(f"error: report {path}")


# -- wk kb add FILE ----------------------------------------------------------------------------

NOT_A_TEXT_LIST = st.one_of(
    st.dictionaries(st.text(max_size=4), SCALARS, min_size=1, max_size=2),
    st.lists(st.none() | st.booleans() | st.lists(SCALARS, max_size=1), min_size=1, max_size=2),
    st.booleans(),
)


@st.composite
def bad_case(draw: st.DrawFn) -> Any:
    case: dict[str, Any] = {"symptom": "checkout 502", "root_cause": "gateway down", "fix": "failover"}
    kind = draw(st.sampled_from(["text", "list", "missing", "item"]))
    if kind == "text":
        case[draw(st.sampled_from(["title", "symptom", "root_cause", "severity"]))] = draw(
            NOT_TEXT.filter(lambda v: v is not None and not (isinstance(v, int | float) and not isinstance(v, bool)))
        )
    elif kind == "list":
        case[draw(st.sampled_from(["findings", "fixes", "fix", "alerts", "services", "tags"]))] = draw(NOT_A_TEXT_LIST)
    elif kind == "missing":
        case = {"fix": "failover", "title": "t"}
    else:
        return [case, draw(NOT_OBJECT)]
    return draw(st.sampled_from([case, [case]]))


BAD_FRONT_MATTER = st.one_of(
    st.text(max_size=40).map(lambda t: f"---\ntitle: x\n{t.replace('---', '')}\n# body\n"),  # never closed
    st.builds(
        lambda v: f"---\ntitle: {json.dumps(v)}\n---\n# Body\ntext\n",
        NOT_TEXT.filter(lambda v: isinstance(v, list | dict | bool)),
    ),
    st.just("---\nkey: [unclosed\n---\n# Body\ntext\n"),
    st.just("---\n- a\n- b\n---\n# Body\ntext\n"),
    st.just("---\n2024-01-01: x\n---\n# Body\ntext\n"),
)
BAD_KNOWLEDGE = st.one_of(
    st.tuples(NOT_UTF8, st.sampled_from([".json", ".yaml", ".md", ".txt"])),
    st.tuples(bad_json_file(bad_case()), st.just(".json")),
    st.tuples(bad_case().map(lambda c: json.dumps(c).encode()), st.just(".yaml")),  # JSON is YAML too
    st.tuples(st.just(b"a: &x [*x]\n"), st.just(".yaml")),
    st.tuples(BAD_FRONT_MATTER.map(str.encode), st.just(".md")),
)


@settings(FUZZ, max_examples=50)  # cheap: no data directory is opened
@given(knowledge=BAD_KNOWLEDGE)
def test_a_malformed_knowledge_file_is_one_line(scratch: Scratch, knowledge: tuple[bytes, str]) -> None:
    path = scratch.file(*knowledge)
    result = runner.invoke(app, ["kb", "add", str(path)])
    assert_one_line(result)
    assert result.stderr.startswith(f"error: {path}")


# -- skill packs named by skills.pack_dirs ------------------------------------------------------

PACK_FIELDS = ["key", "name", "description", "class", "scope", "category", "command"]
BAD_MANIFEST_FIELD = st.one_of(
    st.tuples(st.sampled_from(PACK_FIELDS[:6]), NOT_TEXT),
    st.tuples(st.just("key"), st.text(max_size=12).filter(lambda k: not re.fullmatch(r"[a-z][a-z0-9_]{1,62}", k))),
    st.tuples(st.just("key"), st.just("fine")),  # a duplicate
    st.tuples(st.sampled_from(["name", "description"]), st.text(" \t", max_size=3)),
    st.tuples(st.just("class"), st.text(max_size=10).filter(lambda c: c not in ("safe", "mutating", "dangerous"))),
    st.tuples(st.just("scope"), st.text(max_size=10).filter(lambda c: c not in ("host", "manager"))),
    st.tuples(
        st.just("command"),
        NOT_OBJECT.filter(
            lambda v: not (isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(a, str) for a in v)))
        ),
    ),
    st.tuples(st.just("params"), NOT_OBJECT),
    st.tuples(st.just("params"), st.just({"type": "object", "properties": 5})),
    st.tuples(st.just("params"), st.just({"type": "array"})),
    st.tuples(st.just("params"), st.just({"$schema": [1]})),
    st.tuples(
        st.just("timeout"), NOT_OBJECT.filter(lambda t: t is not None and not (type(t) in (int, float) and t > 0))
    ),
    st.tuples(st.just("idempotent"), NOT_OBJECT.filter(lambda v: not isinstance(v, bool))),
    st.tuples(st.just("result_example"), NOT_OBJECT),
)


@st.composite
def bad_manifest(draw: st.DrawFn) -> bytes:
    manifest: dict[str, Any] = {
        "key": "broken", "name": "b", "description": "d", "class": "safe", "scope": "manager",
        "category": "test", "command": ["run.sh"],
    }  # fmt: skip
    if draw(st.booleans()):
        del manifest[draw(st.sampled_from(PACK_FIELDS))]
    else:
        field, value = draw(BAD_MANIFEST_FIELD)
        manifest[field] = value
    return json.dumps(manifest).encode()


@FUZZ
@given(
    manifest=st.one_of(
        NOT_UTF8, NOT_JSON.map(str.encode), bad_manifest(), NOT_OBJECT.map(lambda v: json.dumps(v).encode())
    )
)
def test_a_broken_skill_pack_is_one_warning_and_the_rest_load(
    scratch: Scratch, caplog: pytest.LogCaptureFixture, manifest: bytes
) -> None:
    packs = scratch.dir()
    write_pack(packs, "fine", "echo '{}'")
    broken = write_pack(packs, "zz_broken", "echo '{}'")
    (broken / "skill.json").write_bytes(manifest)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        result = runner.invoke(
            app, ["skills", "list", "--json"], env={"WK_SKILLS__PACK_DIRS": json.dumps([str(packs)])}
        )
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert "fine" in {s["key"] for s in json.loads(result.stdout)}
    warnings = [r.getMessage() for r in caplog.records if "zz_broken" in r.getMessage()]
    assert len(warnings) == 1 and "\n" not in warnings[0], warnings


# -- the real binary, and what no input check foresaw ------------------------------------------


def test_the_real_wk_says_one_line_about_an_unreadable_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.mkdir()  # a directory where the file should be (root reads a chmod 000 file, so no mode test)
    env = {**os.environ, "WK_CONFIG": str(config), "WK_DATA_DIR": str(tmp_path / "data")}
    problem = f"config file {config} (from WK_CONFIG): is a directory, not a file"

    def wk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [WK, *args], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )

    for args in (["mcp"], ["config", "show"]):  # `wk mcp` writes into an IDE's log: one line there too
        done = wk(*args)
        assert (done.returncode, done.stderr, done.stdout) == (2, f"error: {problem}\n", "")
    doctor = wk("doctor")
    assert doctor.returncode == 1 and "Traceback" not in doctor.stdout + doctor.stderr
    assert problem in doctor.stdout and not doctor.stdout.startswith("ok")


def test_config_show_says_whether_a_file_was_read(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[limits]\ntimeout_s = 12\n")
    read = runner.invoke(app, ["config", "show", "--json"], env={"WK_CONFIG": str(tmp_path / "config.toml")})
    assert json.loads(read.stdout)["config_file_read"] is True
    default = runner.invoke(app, ["config", "show", "--json"], env={"WK_CONFIG": None, "HOME": str(tmp_path / "h")})
    view = json.loads(default.stdout)
    assert view["config_file_read"] is False and view["config_file"].startswith(str(tmp_path / "h"))


def test_an_unexpected_error_is_one_line_and_wk_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:  # stands in for a bug no input check foresaw
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("watchkeeper.scenarios.runner.all_scenarios", broken)
    result = runner.invoke(app, ["scenario", "list"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr == "error: unexpected RuntimeError: boom (run again with WK_DEBUG=1 for the traceback)\n"
    debug = runner.invoke(app, ["scenario", "list"], env={"WK_DEBUG": "1"})
    assert isinstance(debug.exception, RuntimeError)
