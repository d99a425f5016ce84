"""What each analytics screen shows, built only from the metrics layer (analytics.selectors)."""
