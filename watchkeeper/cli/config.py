"""wk config: the effective configuration."""

from __future__ import annotations

import typer

from watchkeeper.cli.common import JsonFlag, emit_json, fail, out
from watchkeeper.errors import ConfigError

config_app = typer.Typer(no_args_is_help=True, help="Show the effective configuration.")


@config_app.command("show")
def config_show(as_json: JsonFlag = False) -> None:
    """The effective settings (file + WK_* environment + defaults), secrets masked."""
    from watchkeeper.config import default_config_path, load_settings, read_config_file
    from watchkeeper.config_view import settings_view

    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc))
    path = default_config_path()
    view = {"config_file": str(path), "config_file_read": read_config_file() is not None, **settings_view(settings)}
    if as_json:
        emit_json(view)
    else:
        out.print_json(data=view)
