"""Reads of alert events for the dashboards (D12: alerts on Production and as a widget)."""
from django.db.models import Q
from django.urls import reverse

from alerts.models import OPEN_STATUSES, AlertEvent
from alerts.services.notify import metric_text, scope_text
from analytics.selectors import FILTERS

EVENTS_LIMIT = 50


def _scope_matches(filters: dict) -> Q:
    """An event concerns the selection unless its scope names another value of a filtered
    dimension: an event on prompt A shows for "all prompts" and for prompt A, not for prompt B;
    an event on all traffic shows for every selection."""
    q = Q()
    for name in FILTERS:
        value = filters.get(name)
        if value not in (None, ""):
            q &= ~Q(scope__has_key=name) | Q(**{f"scope__{name}": value})
    return q


def alert_events_for_selection(account, start, end, filters: dict, limit: int = 10) -> dict:
    """Events of the selection open at some instant of [start, end), latest first, with how many
    of them are still open now."""
    limit = max(1, min(int(limit), EVENTS_LIMIT))
    qs = (AlertEvent.objects.for_account(account).filter(fired_at__lt=end)
          .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start)).filter(_scope_matches(filters)))
    rows = list(qs.order_by("-fired_at", "-id")[:limit])
    return {
        "total": qs.count(),
        "open": qs.filter(status__in=OPEN_STATUSES).count(),
        "events": [{"id": e.pk, "rule": e.rule_name, "metric": metric_text(e), "severity": e.severity,
                    "status": e.status, "scope": e.scope, "scope_text": scope_text(e.scope), "value": e.value,
                    "threshold": e.threshold, "operator": e.operator, "fired_at": e.fired_at,
                    "resolved_at": e.resolved_at,
                    "url": reverse("alerts-event", kwargs={"account_slug": account.slug, "pk": e.pk})} for e in rows],
    }
