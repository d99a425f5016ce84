"""Column filters (X3): parsing `[and:|or:]column:operator:value` steps and compiling them to SQL.

Several steps are joined by AND or by OR, never both (002): a mix is refused with a 400
that says so. Response times are entered as `m:s:ms`; they compare on whole milliseconds,
as the table shows them (a trace of 1250.4 ms "equals" 0:1:250).
"""
import re
from dataclasses import dataclass

from rest_framework.exceptions import ValidationError

from traces.explorer.columns import FILTER_COLUMNS, OPERATORS, SOURCE_TYPES, STATUSES

MAX_STEPS = 20
MAX_VALUE = 200
DURATION = re.compile(r"^(\d{1,4}):(\d{1,2}):(\d{1,3})$")
FIELD = "filter"


@dataclass(frozen=True)
class Condition:
    column: str
    operator: str
    value: object  # str, or whole milliseconds (int) for response_time

    def as_text(self) -> str:
        value = format_duration(self.value) if self.column == "response_time" else self.value
        return f"{self.column}:{self.operator}:{value}"


def format_duration(ms) -> str:
    """Whole milliseconds as m:ss:mmm, the explorer's response-time notation."""
    ms = int(ms)
    return f"{ms // 60000}:{ms // 1000 % 60:02d}:{ms % 1000:03d}"


def parse_duration(text: str, where: str) -> int:
    match = DURATION.match(text.strip())
    if not match:
        raise _error(where, f"response time must be m:s:ms (minutes:seconds:milliseconds), e.g. 0:1:500, "
                            f"not '{text[:40]}'")
    minutes, seconds, millis = (int(g) for g in match.groups())
    if seconds > 59:
        raise _error(where, f"seconds must be 0–59 in '{text[:40]}'")
    return minutes * 60000 + seconds * 1000 + millis


def _error(where: str, message: str):
    return ValidationError({FIELD: [f"{where}: {message}"]})


def _normalise_listed(column: str, value: str, where: str) -> str:
    lowered = value.strip().lower()
    if column == "status":
        aliases = {"success": "success", "succeeded": "success", "failure": "failure", "failed": "failure"}
        if lowered not in aliases:
            raise _error(where, f"status must be one of {', '.join(STATUSES.values())}, not '{value[:40]}'")
        return aliases[lowered]
    if column == "source_type":
        by_label = {label.lower(): key for key, label in SOURCE_TYPES.items()}
        key = lowered.replace(" ", "_") if lowered.replace(" ", "_") in SOURCE_TYPES else by_label.get(lowered)
        if key is None:
            raise _error(where, f"source type must be one of {', '.join(SOURCE_TYPES.values())}, not '{value[:40]}'")
        return key
    return value


def _parse_step(raw, index: int) -> tuple[str | None, Condition]:
    where = f"step {index + 1}"
    if isinstance(raw, dict):
        join = raw.get("join")
        column, operator, value = raw.get("column"), raw.get("operator"), raw.get("value")
        if not all(isinstance(x, str) for x in (column, operator, value)) or (join is not None and
                                                                              not isinstance(join, str)):
            raise _error(where, "needs string column, operator and value (and optionally join)")
    elif isinstance(raw, str):
        parts = raw.split(":", 1)
        join = None
        if parts[0].lower() in ("and", "or") and len(parts) == 2:
            join, raw = parts[0], parts[1]
        parts = raw.split(":", 2)
        if len(parts) != 3:
            raise _error(where, f"write column:operator:value, not '{raw[:60]}'")
        column, operator, value = parts
    else:
        raise _error(where, "must be a string column:operator:value")
    column, operator = column.strip().lower(), operator.strip().lower()
    if join is not None:
        join = join.strip().lower()
        if join not in ("and", "or"):
            raise _error(where, f"join must be and or or, not '{join[:10]}'")
    spec = FILTER_COLUMNS.get(column)
    if spec is None:
        raise _error(where, f"unknown column '{column[:40]}'; use one of {', '.join(FILTER_COLUMNS)}")
    if operator not in spec["operators"]:
        known = operator in OPERATORS
        raise _error(where, f"{'operator' if known else 'unknown operator'} '{operator[:20]}' "
                            f"{'does not apply to' if known else 'for'} {column}; use "
                            f"{', '.join(spec['operators'])}")
    if "\x00" in value or len(value) > MAX_VALUE:
        raise _error(where, f"value must be at most {MAX_VALUE} characters without NUL")
    if not value.strip():
        raise _error(where, "value is required")
    if column == "response_time":
        parsed = parse_duration(value, where)
    elif spec["input"] == "list" and spec.get("values") and operator != "contains":
        parsed = _normalise_listed(column, value, where)
    else:
        parsed = value.strip()
    return join, Condition(column, operator, parsed)


def parse_conditions(steps) -> tuple[list[Condition], str]:
    """(conditions, "and" | "or") from a list of steps (strings or objects)."""
    if steps is None:
        return [], "and"
    if isinstance(steps, (str, dict)):
        steps = [steps]
    if not isinstance(steps, list):
        raise ValidationError({FIELD: ["must be a list of column:operator:value steps"]})
    if len(steps) > MAX_STEPS:
        raise ValidationError({FIELD: [f"at most {MAX_STEPS} filter steps"]})
    conditions, joins = [], set()
    for index, raw in enumerate(steps):
        join, condition = _parse_step(raw, index)
        if index > 0:
            joins.add(join or "and")
        elif join is not None and len(steps) > 1:
            joins.add(join)
        conditions.append(condition)
    if len(joins) > 1:
        raise ValidationError({FIELD: ["filters are joined by AND or by OR, not both: choose one for every step"]})
    return conditions, (joins.pop() if joins else "and")


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


VERSION_IDS = ("SELECT v.id FROM models_registry_deploymentversion v "
               "WHERE v.account_id = %(account)s AND v.version {op} %({p})s")


def condition_sql(condition: Condition, name: str, params: dict) -> str:
    """SQL for one condition over alias t; its values go into params under names starting with `name`."""
    column, op, value = condition.column, condition.operator, condition.value
    if column == "response_time":
        params[f"{name}_lo"], params[f"{name}_hi"] = value, value + 1
        lo, hi = f"%({name}_lo)s", f"%({name}_hi)s"
        return {
            "eq": f"(t.response_time_ms >= {lo} AND t.response_time_ms < {hi})",
            "ne": f"(t.response_time_ms < {lo} OR t.response_time_ms >= {hi})",
            "gt": f"t.response_time_ms >= {hi}",
            "gte": f"t.response_time_ms >= {lo}",
            "lt": f"t.response_time_ms < {lo}",
            "lte": f"t.response_time_ms < {hi}",
        }[op]
    params[name] = _like(value) if op == "contains" else value
    if column == "version":
        ids = VERSION_IDS.format(op="ILIKE" if op == "contains" else "=", p=name)
        if op == "ne":
            return f"(t.version_id IS NULL OR t.version_id NOT IN ({ids}))"
        return f"t.version_id IN ({ids})"
    sql_column = f"t.{column}"
    return {"eq": f"{sql_column} = %({name})s", "ne": f"{sql_column} <> %({name})s",
            "contains": f"{sql_column} ILIKE %({name})s"}[op]


def conditions_sql(conditions: list[Condition], join: str, params: dict) -> str:
    if not conditions:
        return ""
    parts = [condition_sql(c, f"c{i}", params) for i, c in enumerate(conditions)]
    return "(" + f" {join.upper()} ".join(parts) + ")"
