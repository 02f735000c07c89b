"""Reports in Chinese without a model: every message used in code has its zh-CN translation, the compiled
catalog is the .po's, a missing message falls back to English, and --lang picks the language per call."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.helpers import Wk
from watchkeeper import i18n
from watchkeeper.evidence.report import Action, Culprit, Hypothesis, Report, Symptom
from watchkeeper.notify.render.document import walk

ROOT = Path(__file__).parents[1]
PO = ROOT / "watchkeeper" / "locale" / "zh_CN" / "LC_MESSAGES" / "watchkeeper.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{(\w+)[^}]*\}")


def used_in_code() -> set[str]:
    """The messages babel.cfg extracts: the code's, and the titles and fix titles of the error signatures."""
    methods = [("**.py", "python"), ("**/signatures/*.yaml", "watchkeeper.evidence.catalogue:extract_messages")]
    found = extract_from_dir(str(ROOT / "watchkeeper"), method_map=methods, keywords=KEYWORDS)
    return {m[2][0] if isinstance(m[2], tuple) else m[2] for m in found}


def catalog() -> dict[str, str]:
    with PO.open("rb") as f:
        po = read_po(f)
    return {
        (m.id[0] if isinstance(m.id, tuple) else m.id): (m.string[0] if isinstance(m.string, tuple) else m.string)
        for m in po
        if m.id
    }


def test_every_message_used_in_code_has_its_chinese_translation() -> None:
    used, zh = used_in_code(), catalog()
    assert len(used) >= 60
    missing = sorted(m for m in used if not zh.get(m))
    assert not missing, f"add zh-CN translations (pybabel extract/update, then compile): {missing}"
    for message in used:
        assert set(PLACEHOLDER.findall(zh[message])) == set(PLACEHOLDER.findall(message)), message


def test_the_shipped_catalog_is_compiled_from_the_po() -> None:
    with PO.open("rb") as f:
        po = read_po(f)
    compiled = io.BytesIO()
    write_mo(compiled, po)
    assert MO.read_bytes() == compiled.getvalue(), "run: pybabel compile -d watchkeeper/locale -D watchkeeper"


def test_a_message_without_a_translation_is_said_in_english() -> None:
    with i18n.speaking("zh-CN"):
        assert i18n._("Root cause") == "根因"
        assert i18n._("a message nobody translated") == "a message nobody translated"
    assert i18n._("Root cause") == "Root cause"


def test_a_chinese_report_reads_in_chinese_in_chat() -> None:
    h = Hypothesis(
        category="cpu",
        title="worker burns CPU",
        confidence=0.9,
        culprit=Culprit(kind="process", name="worker"),
        actions=[
            Action(title="restart worker", skill="restart_service", params={"unit": "worker"}, risk_class="mutating")
        ],
    )
    report = Report(
        id="inv-1", summary="s", symptom=Symptom(question="q"), hypotheses=[h], actions=h.actions,
        started_at=datetime.now(UTC), language="zh-CN",
    )  # fmt: skip
    doc = walk(report)
    assert [s.heading for s in doc.sections] == ["根因", "建议操作"]
    assert "".join(s.text for s in doc.sections[0].items[0].line).endswith("元凶：进程 worker")  # noqa: RUF001 (Chinese)
    english = walk(report.model_copy(update={"language": "en"}))
    assert [s.heading for s in english.sections] == ["Root cause", "Recommended actions"]


def test_lang_picks_the_language_of_one_investigation(tmp_path: Path, log_dir: Path) -> None:
    wk = Wk(tmp_path, log_dir)
    zh = wk("investigate", "--no-llm", "--json", "--lang", "zh-CN", "is anything wrong with this server?")
    assert zh.returncode == 0, zh.stderr
    report = json.loads(zh.stdout)
    assert report["language"] == "zh-CN" and report["summary"].startswith(("最可能的原因", "调用"))
    en = wk("investigate", "--no-llm", "--json", "is anything wrong with this server?")
    assert json.loads(en.stdout)["language"] == "en"
    bad = wk("investigate", "--no-llm", "--lang", "fr", "why?")
    assert bad.returncode == 2 and "--lang 'fr' is not supported: use one of en, zh-CN" in bad.stderr


@pytest.mark.parametrize("locale", ["zh_CN.UTF-8", "en_US.UTF-8"])
def test_the_default_language_follows_the_locale(tmp_path: Path, log_dir: Path, locale: str) -> None:
    wk = Wk(tmp_path, log_dir)
    wk.env = {k: v for k, v in wk.env.items() if k not in ("LC_ALL", "LC_MESSAGES")} | {"LANG": locale}
    done = wk("investigate", "--no-llm", "--json", "is anything wrong with this server?")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["language"] == ("zh-CN" if locale.startswith("zh") else "en")


def test_wk_check_speaks_the_language_asked(tmp_path: Path, log_dir: Path) -> None:
    wk = Wk(tmp_path, log_dir)
    zh = wk("check", "--lang", "zh-CN")
    assert zh.returncode == 0, zh.stderr
    assert "已运行" in zh.stdout and "挂载点" in zh.stdout and "监听端口" in zh.stdout
    assert wk.json("check", "--lang", "zh-CN")["language"] == "zh-CN"
    en = wk("check")
    assert "up " in en.stdout and "mount" in en.stdout
    bad = wk("check", "--lang", "de")
    assert bad.returncode == 2 and "use one of en, zh-CN" in bad.stderr
