"""Where the public benchmark datasets are: `$WK_DATASETS` (a directory holding `loghub_2k/`,
`runbooks/`, …). The product ships none of them; a benchmark without its dataset says so in one
line and measures what it can without it."""

from __future__ import annotations

import os
from pathlib import Path


def dataset(name: str) -> Path | None:
    """`$WK_DATASETS/name` when it exists; otherwise one line on stdout and None."""
    root = os.environ.get("WK_DATASETS")
    if not root:
        print(f"skipping the {name} dataset: set WK_DATASETS to the directory holding {name}/")
        return None
    path = Path(root).expanduser() / name
    if not path.is_dir():
        print(f"skipping the {name} dataset: {path} does not exist")
        return None
    return path
