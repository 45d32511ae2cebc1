"""Publication figures of runs and studies, drawn one way: one style, a colour-blind-safe
palette, replicate-level interval bands inside each metric's valid range, gaps where data is
missing, a caption naming n and the interval; written as SVG and 300 dpi PNG."""

from service.figures.exported import redraw
from service.figures.files import image_bytes, save
from service.figures.run_figure import drift_figure
from service.figures.study_figure import study_figure

__all__ = ["drift_figure", "image_bytes", "redraw", "save", "study_figure"]
