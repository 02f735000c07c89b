"""wk version."""

from __future__ import annotations

from watchkeeper import __version__
from watchkeeper.cli.common import out


def version() -> None:
    """Print the watchkeeper version."""
    out.print(f"watchkeeper {__version__}", highlight=False)
