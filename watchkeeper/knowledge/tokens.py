"""Words for lexical retrieval in Chinese, English and both at once.

English (and any text outside CJK runs) is split the way bm25s splits it — lowercased words of two or
more characters, English stopwords out — so error messages inside a Chinese runbook keep their
tokens. Chinese has no spaces: its runs are segmented by jieba (search mode, which also yields the
shorter words inside long ones: 数据库 gives 数据, 据库 and 数据库). jieba loads its dictionary on the
first Chinese text only, quietly, with its cache in the data directory.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

from bm25s.stopwords import STOPWORDS_EN

CJK = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")
WORD = re.compile(r"(?u)\b\w\w+\b")
STOP_EN = frozenset(STOPWORDS_EN)
# Function words of on-call Chinese: they match every document.
FUNCTION_WORDS = (
    "的 了 是 在 和 有 也 就 都 而 及 与 着 或 一个 没有 我们 你们 他们 这个 那个 怎么 怎么办 什么 为什么 如何 "
    "吗 呢 吧 啊 呀 一直 还是 但是 因为 所以 这 那 个 把 被 让 给 对 从 到 很 会 能 要 又 再 请 问 下 里"
)
STOP_ZH = frozenset(FUNCTION_WORDS.split())

_segmenter: Any = None
_cache_dir: Path | None = None
_lock = threading.Lock()


def use_cache_dir(path: Path) -> None:
    """Where jieba keeps its prefix-dictionary cache (the data directory), instead of /tmp."""
    global _cache_dir
    _cache_dir = path


def _jieba() -> Any:
    global _segmenter
    with _lock:
        if _segmenter is None:
            import jieba  # imported on the first Chinese text: English-only bases never pay for it

            jieba.setLogLevel(logging.WARNING)
            segmenter = jieba.Tokenizer()
            if _cache_dir is not None:
                _cache_dir.mkdir(parents=True, exist_ok=True)
                segmenter.tmp_dir = str(_cache_dir)
            segmenter.initialize()
            _segmenter = segmenter
        return _segmenter


def tokens(text: str) -> list[str]:
    """The words of a text for BM25, in order: Chinese runs segmented, the rest as bm25s splits it."""
    out: list[str] = []
    for n, piece in enumerate(CJK.split(text.lower())):
        if n % 2:  # split() with a group: odd pieces are the CJK runs
            out += [w for w in _jieba().cut_for_search(piece) if w.strip() and w not in STOP_ZH]
        else:
            out += [w for w in WORD.findall(piece) if w not in STOP_EN]
    return out
