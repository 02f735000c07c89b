from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from watchkeeper.app import App, open_app


@pytest.fixture
def core(tmp_path: Path, log_dir: Path, db_url: str) -> Iterator[App]:
    """The app on each database with default settings (a module may define its own `core` instead)."""
    app = open_app(make_settings(tmp_path, log_dir, database_url=db_url), import_mcp=False)
    try:
        yield app
    finally:
        app.close()
