"""Feedback (I3): replace on resend; kept before its trace exists, joined by request_id."""
from django.db import connection, transaction

from traces.services.validation import FeedbackIn, ItemError, convert_item, utcnow

UPSERT_SQL = """
WITH up AS (
    INSERT INTO traces_feedback (account_id, request_id, rating, thumbs, accepted, edited, regenerated,
                                 task_success, comment, updated_at)
    VALUES (%(account)s, %(request_id)s, %(rating)s, %(thumbs)s, %(accepted)s, %(edited)s, %(regenerated)s,
            %(task_success)s, %(comment)s, now())
    ON CONFLICT (account_id, request_id) DO UPDATE SET
        rating = EXCLUDED.rating, thumbs = EXCLUDED.thumbs, accepted = EXCLUDED.accepted,
        edited = EXCLUDED.edited, regenerated = EXCLUDED.regenerated, task_success = EXCLUDED.task_success,
        comment = EXCLUDED.comment, updated_at = now()
    RETURNING (xmax = 0) AS created
)
SELECT created FROM up
"""
# A trace that already exists has its hour recomputed with the new feedback.
DIRTY_SQL = """
INSERT INTO traces_dirtybucket (account_id, hour_start, marked_at, first_at)
SELECT account_id, date_trunc('hour', executed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now(), executed_at
FROM traces_trace WHERE account_id = %(account)s AND request_id = %(request_id)s
ON CONFLICT (account_id, hour_start) DO UPDATE SET marked_at = EXCLUDED.marked_at,
    first_at = LEAST(coalesce(traces_dirtybucket.first_at, traces_dirtybucket.hour_start), EXCLUDED.first_at)
"""


def feedback_record(account, data) -> tuple[dict, bool]:
    """Store feedback; returns (stored fields, created). Raises ItemError for bad input."""
    value = convert_item(data, utcnow(), struct=FeedbackIn)
    params = {
        "account": account.pk, "request_id": value.request_id, "rating": value.rating,
        "thumbs": value.thumbs or "", "accepted": value.accepted, "edited": value.edited,
        "regenerated": value.regenerated, "task_success": value.task_success, "comment": value.comment,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(UPSERT_SQL, params)
        created = cursor.fetchone()[0]
        cursor.execute(DIRTY_SQL, params)
    params.pop("account")
    return params, created
