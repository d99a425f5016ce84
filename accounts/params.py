"""Query parameters every API view parses the same way: a 400 naming the field, never a 500.

PostgreSQL's bigint ends at 2**63 - 1; anything larger reaching SQL is a `DataError`, so ids
and page bounds are checked here, before a query is built."""
from rest_framework.exceptions import ValidationError

MAX_ID = 2**63 - 1


def int_param(query, name: str, *, minimum: int = 1, maximum: int = MAX_ID, default: int | None = None,
              what: str = "an integer id") -> int | None:
    """`query[name]` as an int within [minimum, maximum]; `default` when absent."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not minimum <= int(raw) <= maximum:
        raise ValidationError({name: [f"must be {what} from {minimum} to {maximum}"]})
    return int(raw)


def bool_param(query, name: str) -> bool | None:
    """`true`/`1` or `false`/`0`; absent is None."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("1", "true"):
        return True
    if raw.lower() in ("0", "false"):
        return False
    raise ValidationError({name: ["must be true or false"]})


def choice_param(query, name: str, choices) -> str | None:
    value = query.get(name)
    if value is not None and value not in choices:
        raise ValidationError({name: [f"must be one of {', '.join(choices)}"]})
    return value
