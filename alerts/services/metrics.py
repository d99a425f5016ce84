"""What rules, custom metrics and SLAs measure: base metrics from the metrics layer, and safe formulas.

Every value comes from `analytics.selectors.metrics_summary` over a Selection; a few base
metrics are derived from it (requests per minute and cost per hour over the window,
failures by type). Custom metrics are formulas over base metrics, parsed with `ast` and
walked by hand: numbers, base-metric names, + - * / and parentheses. Nothing is ever
passed to eval.
"""
import ast
import operator
from datetime import datetime, timedelta

from analytics.selectors import Selection, metrics_summary

from accounts.errors import ApplicationError

# name -> (label, unit, needs traffic: without requests in the window the value means nothing)
BASE_METRICS = {
    "success_rate": ("Success rate", "percent", True),
    "error_rate": ("Error rate", "percent", True),
    "timeout_rate": ("Timeout rate", "percent", True),
    "p50_latency_ms": ("p50 latency", "ms", True),
    "p90_latency_ms": ("p90 latency", "ms", True),
    "p95_latency_ms": ("p95 latency", "ms", True),
    "p99_latency_ms": ("p99 latency", "ms", True),
    "avg_latency_ms": ("Average latency", "ms", True),
    "max_latency_ms": ("Max latency", "ms", True),
    "avg_ttft_ms": ("Average time to first token", "ms", True),
    "p95_ttft_ms": ("p95 time to first token", "ms", True),
    "requests_per_minute": ("Requests per minute", "count", False),
    "peak_rpm": ("Peak requests per minute", "count", False),
    "total_requests": ("Requests", "count", False),
    "successful_requests": ("Successful requests", "count", False),
    "failed_requests": ("Failed requests", "count", False),
    "cost_per_hour_usd": ("Cost per hour", "usd", False),
    "total_cost_usd": ("Cost", "usd", False),
    "cost_per_request_usd": ("Cost per request", "usd", True),
    "total_tokens": ("Tokens", "count", False),
    "input_tokens": ("Input tokens", "count", False),
    "output_tokens": ("Output tokens", "count", False),
    "total_credits": ("Credits", "count", False),
    "active_users": ("Active users", "count", False),
    "cache_hit_rate": ("Cache hit rate", "percent", True),
    "http_4xx": ("HTTP 4xx responses", "count", False),
    "http_5xx": ("HTTP 5xx responses", "count", False),
    "failures_timeout": ("Timeout failures", "count", False),
    "failures_rate_limit": ("Rate-limit failures", "count", False),
    "failures_llm_error": ("LLM error failures", "count", False),
    "failures_validation": ("Validation failures", "count", False),
    "failures_system": ("System failures", "count", False),
    "failures_network": ("Network failures", "count", False),
    "avg_rating": ("Average rating", "", True),
    "ratings": ("Ratings", "count", False),
    "thumbs_up": ("Thumbs up", "count", False),
    "thumbs_down": ("Thumbs down", "count", False),
    "acceptance_rate": ("Acceptance rate", "percent", True),
    "task_success_rate": ("Task success rate", "percent", True),
}
# Metrics of events that no rule evaluates (budget alerts, D10): name -> (label, unit).
EVENT_METRICS = {
    "budget_spent_usd": ("Spend this month", "usd"),
    "budget_projected_usd": ("Projected month-end spend", "usd"),
}
UNIT_SUFFIX = {"percent": "%", "ms": " ms", "usd": " USD", "count": "", "": ""}


def base_values(summary: dict, window_minutes: float) -> dict:
    """Every base metric from one metrics_summary (missing ones are None)."""
    values = {name: summary.get(name) for name in BASE_METRICS}
    n = summary.get("total_requests") or 0
    values["requests_per_minute"] = n / window_minutes if window_minutes else None
    cost = summary.get("total_cost_usd")
    values["cost_per_hour_usd"] = cost * 60.0 / window_minutes if cost is not None and window_minutes else None
    for kind, count in (summary.get("failures_by_type") or {}).items():
        values[f"failures_{kind}"] = count
    return {k: (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None)
            for k, v in values.items()}


def metric_label(name: str) -> str:
    return (BASE_METRICS.get(name) or EVENT_METRICS.get(name) or (name,))[0]


def metric_unit(name: str) -> str:
    return (BASE_METRICS.get(name) or EVENT_METRICS.get(name) or ("", ""))[1]


def format_value(value, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "usd":
        return f"${value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1 else f"${value:,.2f}"
    if unit == "ms" and abs(value) >= 100:
        return f"{value:,.0f} ms"
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    return text + UNIT_SUFFIX.get(unit, "")


# -- formulas (L6) ------------------------------------------------------------------------

MAX_FORMULA = 500
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


class FormulaError(ValueError):
    pass


def formula_parse(text: str) -> ast.AST:
    """Parse and check a formula; raise FormulaError with the reason."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("is empty")
    if len(text) > MAX_FORMULA:
        raise FormulaError(f"is longer than {MAX_FORMULA} characters")
    # The seed writes formulas with × and ÷.
    source = text.replace("×", "*").replace("÷", "/").replace("−", "-")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"is not a valid expression (at column {exc.offset or 0})") from None
    depth_check(tree.body, 0)
    return tree.body


def depth_check(node, depth):
    if depth > 40:
        raise FormulaError("is nested too deeply")
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _OPS:
            raise FormulaError("may only use + - * / and parentheses")
        depth_check(node.left, depth + 1)
        depth_check(node.right, depth + 1)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise FormulaError("may only use + - * / and parentheses")
        depth_check(node.operand, depth + 1)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise FormulaError("may only contain numbers and base metric names")
    elif isinstance(node, ast.Name):
        if node.id not in BASE_METRICS:
            raise FormulaError(f"uses '{node.id}', which is not a base metric")
    else:
        raise FormulaError("may only contain numbers, base metric names, + - * / and parentheses")


def formula_names(text: str) -> set:
    return {n.id for n in ast.walk(formula_parse(text)) if isinstance(n, ast.Name)}


def formula_evaluate(text_or_tree, values: dict):
    """The formula's value for these base values; None when a name has no value or a division is by zero."""
    tree = formula_parse(text_or_tree) if isinstance(text_or_tree, str) else text_or_tree

    def walk(node):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            value = values.get(node.id)
            if value is None:
                raise _NoValue()
            return float(value)
        if isinstance(node, ast.UnaryOp):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        left, right = walk(node.left), walk(node.right)
        if isinstance(node.op, ast.Div) and right == 0:
            raise _NoValue()
        return _OPS[type(node.op)](left, right)

    try:
        return walk(tree)
    except _NoValue:
        return None


class _NoValue(Exception):
    pass


def validate_formula(text: str) -> str:
    try:
        formula_parse(text)
    except FormulaError as exc:
        raise ApplicationError(f"The formula {exc}.", {"formula": [str(exc)]}) from None
    return text.strip()


# -- measuring a rule ---------------------------------------------------------------------

class Measurement:
    __slots__ = ("value", "requests", "no_data")

    def __init__(self, value, requests, no_data):
        self.value, self.requests, self.no_data = value, requests, no_data


def measure(account, *, metric: str, custom_metric, filters: dict, start: datetime, end: datetime,
            min_requests: int = 1) -> Measurement:
    """The value of a base or custom metric over [start, end) for the filters, via the metrics layer."""
    sel = Selection(account, start, end, dict(filters))
    uses = formula_names(custom_metric.formula) if custom_metric is not None else {metric}
    # The exact peak costs a per-minute read: asked for only when the rule needs it.
    summary = metrics_summary(sel, peak=True) if "peak_rpm" in uses else metrics_summary(sel)
    window = (end - start) / timedelta(minutes=1)
    values = base_values(summary, window)
    requests = int(values.get("total_requests") or 0)
    if custom_metric is not None:
        value = formula_evaluate(custom_metric.formula, values)
        needs_traffic = True
    else:
        value = values.get(metric)
        needs_traffic = BASE_METRICS[metric][2]
    no_data = value is None or (needs_traffic and requests < max(min_requests, 1)) or \
        (not needs_traffic and min_requests > 1 and requests < min_requests)
    return Measurement(None if no_data else value, requests, no_data)
