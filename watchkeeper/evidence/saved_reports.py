"""Reports read back: what `wk investigate --json` printed (one report or a list), or a recorded investigation."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from watchkeeper.errors import WatchkeeperError
from watchkeeper.evidence.investigation import load_recording
from watchkeeper.evidence.report import Report


class ReportInputError(WatchkeeperError):
    """A report file or recording cannot be read as reports."""


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def reports_from_file(path: Path) -> list[Report]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportInputError(f"cannot read the report {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ReportInputError(f"the report {path} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ReportInputError(f"the report {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ReportInputError(f"the report {path} is an empty list")
    reports = []
    for n, item in enumerate(items, start=1):
        try:
            reports.append(Report.model_validate(item))
        except ValidationError as exc:
            which = f"item {n}, " if isinstance(data, list) else ""
            raise ReportInputError(
                f"{path} is not a report from wk investigate --json: {which}{_first_problem(exc)}"
            ) from None
    return reports


def report_from_recording(data_dir: Path, inv_id: str) -> Report:
    data = load_recording(data_dir, inv_id)
    try:
        return Report.model_validate(data.get("report"))
    except ValidationError as exc:
        raise ReportInputError(f"the recording of {inv_id} holds no readable report: {_first_problem(exc)}") from None
