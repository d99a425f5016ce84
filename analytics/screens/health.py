"""Shared judgements: success-rate health bands (003) and traffic trend."""


def success_band(rate: float | None, requests: int) -> str | None:
    """healthy > 95 %, warning 90–95 %, critical < 90 % (seed 003); None without requests."""
    if not requests or rate is None:
        return None
    if rate > 95:
        return "healthy"
    return "warning" if rate >= 90 else "critical"


def trend(first_half: int, second_half: int, tolerance: float = 0.10) -> str:
    """increasing / decreasing / stable: the second half's volume against the first's."""
    if first_half == second_half:
        return "stable"
    if first_half == 0:
        return "increasing"
    change = (second_half - first_half) / first_half
    if change > tolerance:
        return "increasing"
    return "decreasing" if change < -tolerance else "stable"


def change_pct(current, previous):
    if current is None or previous in (None, 0):
        return None
    return round(100.0 * (current - previous) / abs(previous), 2)
