"""Template helpers for the alerts pages and the console's notification bell."""
from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key, "")


@register.inclusion_tag("console/notifications_bell.html", takes_context=True)
def notification_bell(context):
    """Unread notifications of the signed-in member in the account the page shows."""
    request = context.get("request")
    account = context.get("account")
    user = getattr(request, "user", None)
    if account is None or user is None or not user.is_authenticated:
        return {"show": False}
    from alerts.models import Notification
    from alerts.services.notify import notifications_for

    rows = notifications_for(Notification.objects.for_account(account), user.pk)
    unread = rows.filter(read_at__isnull=True)
    return {"show": True, "account": account, "unread": unread.count(), "latest": list(unread[:6]),
            "csrf_token": context.get("csrf_token")}
