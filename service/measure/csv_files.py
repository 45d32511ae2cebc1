"""Rows of dicts as CSV: the one writer behind every table driftlab exports."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any


def dump_csv(rows: Iterable[dict[str, Any]], out: IO[str], columns: Iterable[str]) -> None:
    """`rows` as CSV with a header of `columns`, in that order."""
    writer = csv.DictWriter(out, fieldnames=list(columns))
    writer.writeheader()
    writer.writerows(rows)


def write_csv(rows: Iterable[dict[str, Any]], path: Path, columns: Iterable[str]) -> Path:
    """`rows` as a CSV file at `path` (see `dump_csv`); returns `path`."""
    with path.open("w", newline="", encoding="utf-8") as out:
        dump_csv(rows, out, columns)
    return path
