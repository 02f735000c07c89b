"""The package works installed from a built wheel, run from anywhere: migrations and data ship inside."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_built_wheel_installs_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("watchkeeper-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True)
    (tmp_path / "empty.toml").touch()
    env = {**os.environ, "WK_DATA_DIR": str(tmp_path / "data"), "WK_CONFIG": str(tmp_path / "empty.toml")}

    def wk(*args: str) -> subprocess.CompletedProcess[str]:
        # Run from an unrelated directory so nothing can come from the checkout.
        return subprocess.run(
            [str(venv / "bin" / "wk"), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    listed = wk("skills", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 27
    check = wk("check", "--json")
    assert check.returncode == 0, check.stderr
    assert "verdict" in json.loads(check.stdout)
    # The compiled message catalogs ship in the wheel: a report in Chinese from the installed package.
    zh = wk("investigate", "--no-llm", "--lang", "zh-CN", "is anything wrong with this server?")
    assert zh.returncode == 0, zh.stderr
    assert "次技能调用" in zh.stdout and "复现：wk investigate --replay" in zh.stdout  # noqa: RUF001 (Chinese)
    verify = wk("audit", "verify")
    assert verify.returncode == 0 and "rows verified" in verify.stdout
    module = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import watchkeeper; print(watchkeeper.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in module.stdout
