"""Notifications: the list behind the bell; every role clears its own."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect

from accounts.models import Role
from alerts import models as am
from alerts.services.notify import notifications_for, notifications_mark_read
from alerts.views.base import SEVERITY_TONES, AlertsPage


# -- notifications (the bell) ----------------------------------------------------------------

class NotificationsView(AlertsPage):
    """Every role reads and clears its own notifications."""

    template_name = "console/notifications.html"
    tab = "events"
    title = "Notifications"
    description = "Alerts sent to the console, newest first."
    write_role = Role.VIEWER

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = notifications_for(am.Notification.objects.for_account(self.account), self.request.user.pk)[:100]
        context.update(notifications=rows, severity_tones=SEVERITY_TONES)
        return context

    def post(self, request, *args, **kwargs):
        ids = notifications_for(am.Notification.objects.for_account(self.account), request.user.pk) \
            .filter(read_at__isnull=True).values_list("pk", flat=True)
        count = notifications_mark_read(self.account, request.user, list(ids))
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
        return self.back()


class NotificationOpenView(AlertsPage):
    """Mark one notification read and open its event."""

    model = am.Notification
    write_role = Role.VIEWER
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        notification = get_object_or_404(am.Notification.objects.for_account(self.account), pk=kwargs["pk"])
        notifications_mark_read(self.account, request.user, [notification.pk])
        if notification.event_id:
            return redirect("alerts-event", account_slug=self.account.slug, pk=notification.event_id)
        return redirect("notifications", account_slug=self.account.slug)
