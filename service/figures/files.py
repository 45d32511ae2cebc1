"""Figures to files and bytes: PNG at 300 dpi and SVG, without timestamps (the same data
gives the same file)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from service.measure.choices import IMAGE_FORMATS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 300
_METADATA = {"png": {"Software": None}, "svg": {"Date": None}}


def image_bytes(figure: Figure, image_format: str) -> bytes:
    """The figure as `image_format` (png or svg) bytes."""
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"image format must be one of {IMAGE_FORMATS}, got {image_format!r}")
    image = io.BytesIO()
    figure.savefig(image, format=image_format, dpi=DPI, metadata=_METADATA[image_format])
    return image.getvalue()


def save(figure: Figure, path: Path, formats: Iterable[str] = IMAGE_FORMATS) -> list[Path]:
    """Write the figure beside `path` once per format (path's suffix replaced); returns the
    files written, `path` itself first when its suffix is one of the formats."""
    ordered = sorted(set(formats), key=lambda f: (f != path.suffix.lstrip("."), f))
    written = []
    for image_format in ordered:
        target = path.with_suffix(f".{image_format}")
        target.write_bytes(image_bytes(figure, image_format))
        written.append(target)
    return written
