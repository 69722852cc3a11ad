"""One module per chart; each takes report values and returns a matplotlib Figure (Agg, no pyplot)."""

from .curves import tuning_curves
from .failures import failures_chart
from .figure import size_px, to_data_uri
from .int8 import int8_chart
from .roofline import roofline_chart

__all__ = ["failures_chart", "int8_chart", "roofline_chart", "size_px", "to_data_uri", "tuning_curves"]
