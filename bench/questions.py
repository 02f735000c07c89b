"""Which playbook (symptom family) a question starts, in English and Chinese.

Run from the project root: `.venv/bin/python -m bench.questions`. The questions
(`bench/question_queries.yaml`) are on-call phrasings with the family an SRE would start from. Prints
accuracy per language with the built-in playbooks, beside the same playbooks with their Chinese words
taken out (what an English-only vocabulary gives), run in the same process, and the misses.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from watchkeeper.evidence.gatherers import GATHERERS
from watchkeeper.evidence.playbooks import Playbook, choose, load_playbooks
from watchkeeper.evidence.report import Symptom

QUERIES = Path(__file__).parent / "question_queries.yaml"
CJK = re.compile(r"[\u3400-\u9fff]")


def english_only(books: dict[str, Playbook]) -> dict[str, Playbook]:
    out = {}
    for name, book in books.items():
        words = [w for w in book.match.words if not CJK.search(w)]
        out[name] = book.model_copy(update={"match": book.match.model_copy(update={"words": words})})
    return out


def accuracy(books: dict[str, Playbook], queries: list[dict[str, str]], lang: str) -> tuple[float, list[str]]:
    mine = [q for q in queries if q["lang"] == lang]
    misses = []
    for q in mine:
        got = choose(books, Symptom(question=q["q"])).name
        if got != q["family"]:
            misses.append(f"  {q['q']!r}: {got} (wanted {q['family']})")
    return 1 - len(misses) / len(mine), misses


def main() -> None:
    queries = yaml.safe_load(QUERIES.read_text())
    books = load_playbooks([], set(GATHERERS))
    parts = []
    for lang in ("en", "zh"):
        now, misses = accuracy(books, queries, lang)
        before, _ = accuracy(english_only(books), queries, lang)
        n = sum(q["lang"] == lang for q in queries)
        print(f"{lang}: {n} questions, family right {now:.1%} (English-only words: {before:.1%})")
        print("\n".join(misses))
        parts.append(f"{lang} {now:.1%} (English-only words {before:.1%})")
    print(f"SUMMARY questions -> playbook family: {'; '.join(parts)}")


if __name__ == "__main__":
    main()
