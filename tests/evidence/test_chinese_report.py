"""A live investigation in zh-CN reads in Chinese end to end: the verdict, every hypothesis's title and
explanation, the actions, the findings and what was checked; only names, numbers and what the host
itself wrote (log lines, paths) stay as they are."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from tests.helpers import Wk, free_port
from watchkeeper.evidence.report import Report, Symptom
from watchkeeper.evidence.triage import summarize
from watchkeeper.i18n import speaking

CJK = re.compile(r"[\u4e00-\u9fff]")
# Three English words in a row that are not a name, a path or a quoted log line: an untranslated message.
ENGLISH = re.compile(r"\b[a-z]{2,}(?: [a-z]{2,}){2,}\b")


def english_left(text: str, logged: str) -> list[str]:
    """Runs of English words in `text` that are not words the host itself logged (a log line, templated)."""
    text = re.sub(r"\S*[/:=_.]\S*", "", text)  # paths, URLs, identifiers, key=value
    return [run for run in ENGLISH.findall(text) if run not in logged.lower()]


def test_an_investigation_in_chinese_reads_in_chinese(tmp_path: Path, log_dir: Path) -> None:
    port = free_port()
    line = f"connect() failed (111: Connection refused) while connecting to upstream, upstream: 127.0.0.1:{port}"
    (log_dir / "shop.log").write_text(
        "".join(f"2026-11-28T03:0{i % 10}:00Z ERROR {line}\n" for i in range(30)), encoding="utf-8"
    )
    wk = Wk(tmp_path, log_dir)
    done = wk("investigate", "--no-llm", "--json", "--lang", "zh-CN", f"shop 报错 127.0.0.1:{port} 打不开")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["language"] == "zh-CN" and report["hypotheses"], report["summary"]
    prose = [report["summary"]]
    for h in report["hypotheses"]:
        prose += [h["title"], h["explanation"]]
    prose += [a["title"] for a in report["actions"]] + [a["reason"] for a in report["actions"] if a.get("reason")]
    prose += [f["message"] for f in report["findings"]] + report["checked"] + report["notes"]
    prose += [r["reason"] for r in report["ruled_out"]]
    untranslated = {text: left for text in prose if (left := english_left(text, line))}
    assert not untranslated, untranslated
    assert all(CJK.search(text) for text in prose if text), [t for t in prose if t and not CJK.search(t)]


def test_nothing_found_reads_as_one_chinese_sentence_run() -> None:
    """Two sentences in English are spaced; in Chinese they run on, with no space after the full-width semicolon."""
    report = Report(id="r", summary="", symptom=Symptom(question="慢"), started_at=datetime.now(UTC))
    with speaking("zh-CN"):
        said = summarize(report)
    assert said == "调用 0 次技能后未发现明显异常：无法认定根因；列出 0 条发现供人工查看。", said  # noqa: RUF001
    assert summarize(report).startswith("Nothing abnormal stands out after 0 skill calls: no root cause to name; 0 ")
