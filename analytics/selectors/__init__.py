"""The one metrics query layer: every endpoint and page reads metrics through here."""
from analytics.selectors.metrics import (FILTERS, Selection, metrics_breakdown, metrics_summary,
                                         metrics_timeseries)

__all__ = ["FILTERS", "Selection", "metrics_breakdown", "metrics_summary", "metrics_timeseries"]
