"""The names users choose from on the command line and in requests: export formats,
offline analyses, figure formats and axes (kept apart from the code that does them, which
imports much more)."""

from __future__ import annotations

from typing import Literal, get_args

ExportFormat = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)
ANALYSES = ("text", "rouge_l", "chrf")
IMAGE_FORMATS = ("png", "svg")
X_AXES = ("round", "generation")
