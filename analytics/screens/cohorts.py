"""Cohorts (D6, seed 003): by time (hour, day, week), users (new vs returning), feature, version."""
from rest_framework.exceptions import ValidationError

from analytics.selectors import metrics_breakdown, metrics_timeseries
from analytics.selectors.metrics import _user_pieces_sql
from config.replica_reads import read_connection

BY = ("hour", "day", "week", "users", "feature", "version", "prompt_version")
SHOWN = ("total_requests", "success_rate", "error_rate", "p95_latency_ms", "cost_per_request_usd",
         "total_cost_usd", "active_users")


def _slim(m: dict) -> dict:
    return {k: m[k] for k in SHOWN}


def users_new_returning(sel) -> list[dict]:
    """A user is new when their first local day with a request (ever) falls in the selection;
    returning when they had requests on an earlier day."""
    # The users of daily rows carry counts; raw rows count one each.
    sql, params = _user_pieces_sql(sel, (), extra_users=", user_cost_usd, user_request_count",
                                   extra_raw=", t.cost_usd, 1::bigint")
    first_day = sel.start.astimezone(sel.account.tzinfo).date()
    # Returning: a bit of an earlier day in the user's month bitmaps (UserMonth).
    params.update(first_month=first_day.replace(day=1), earlier_days=(1 << (first_day.day - 1)) - 1)
    with read_connection().cursor() as cursor:
        cursor.execute(
            f"""WITH u AS (SELECT user_id, sum(cost) AS cost, sum(n) AS n FROM ({sql}) AS p(user_id, cost, n)
                           GROUP BY user_id),
                 seen AS (SELECT DISTINCT user_id FROM analytics_usermonth
                          WHERE account_id = %(account)s AND user_id IN (SELECT user_id FROM u)
                            AND (month < %(first_month)s OR (month = %(first_month)s
                                                             AND days & %(earlier_days)s <> 0)))
                SELECT CASE WHEN seen.user_id IS NULL THEN 'new' ELSE 'returning' END,
                       count(*), sum(u.n), coalesce(sum(u.cost), 0)
                FROM u LEFT JOIN seen USING (user_id) GROUP BY 1""", params)
        found = {kind: (users, requests, cost) for kind, users, requests, cost in cursor.fetchall()}
    out = []
    for kind in ("new", "returning"):
        users, requests, cost = found.get(kind, (0, 0, 0))
        out.append({"cohort": kind, "users": users, "requests": int(requests or 0), "cost_usd": float(cost or 0),
                    "queries_per_user": round(int(requests or 0) / users, 4) if users else None,
                    "cost_per_user_usd": round(float(cost or 0) / users, 6) if users else None})
    return out


def cohorts(sel, by: str) -> dict:
    if by not in BY:
        raise ValidationError({"by": [f"must be one of {', '.join(BY)}"]})
    if by in ("hour", "day", "week"):
        points = metrics_timeseries(sel, by)["points"]
        rows = [{"cohort": p["period"], **_slim(p)} for p in points]
    elif by == "users":
        rows = users_new_returning(sel)
    else:
        rows = [{"cohort": r["key"], **_slim(r)} for r in metrics_breakdown(sel, by)]
    return {"by": by, "cohorts": rows}
