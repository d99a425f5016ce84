"""Alert events: the list, and one event with acknowledge / resolve / post-mortem."""
from django.contrib import messages
from django.shortcuts import get_object_or_404

from alerts import models as am
from alerts.services.evaluation import event_acknowledge, event_resolve, event_set_note
from alerts.services.metrics import format_value, metric_unit
from alerts.services.notify import metric_text, scope_text
from alerts.views.base import SEVERITY_TONES, STATUS_TONES, AlertsPage, NoteForm


# -- events ---------------------------------------------------------------------------------

def event_row(event):
    unit = metric_unit(event.metric)
    return {"event": event, "metric": metric_text(event), "value": format_value(event.value, unit),
            "last": format_value(event.last_value, unit), "threshold": format_value(event.threshold, unit),
            "scope": scope_text(event.scope), "tone": STATUS_TONES[event.status],
            "severity_tone": SEVERITY_TONES[event.severity]}


class EventsView(AlertsPage):
    template_name = "console/alerts_events.html"
    tab = "events"
    title = "Alert events"
    description = "Every incident: firing, acknowledged, resolved — with its post-mortem."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", "")
        events = am.AlertEvent.objects.for_account(self.account).select_related("acknowledged_by", "resolved_by")
        if status == "open":
            events = events.filter(status__in=am.OPEN_STATUSES)
        elif status in am.EventStatus.values:
            events = events.filter(status=status)
        context.update(rows=[event_row(e) for e in events[:200]], status=status)
        return context


class EventView(AlertsPage):
    template_name = "console/alerts_event.html"
    tab = "events"
    model = am.AlertEvent

    def get_object(self):
        return get_object_or_404(am.AlertEvent.objects.for_account(self.account)
                                 .select_related("acknowledged_by", "resolved_by", "rule"), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        event = self.get_object()
        context.update(row=event_row(event), event=event, title=event.rule_name,
                       form=kwargs.get("form") or NoteForm(initial={"note": event.note}),
                       deliveries=event.deliveries.filter(purpose=am.DeliveryPurpose.NOTIFICATION)
                       .select_related("channel").order_by("created_at"),
                       actions=event.deliveries.filter(purpose=am.DeliveryPurpose.ACTION)
                       .select_related("channel").order_by("created_at"))
        return context

    def post(self, request, *args, **kwargs):
        event = self.get_object()
        form = NoteForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        note, action = form.cleaned_data["note"], request.POST.get("action")
        calls = {"acknowledge": (lambda: event_acknowledge(self.account, self.actor(), event, note), "Acknowledged."),
                 "resolve": (lambda: event_resolve(self.account, self.actor(), event, note), "Resolved."),
                 "note": (lambda: event_set_note(self.account, self.actor(), event, note), "Saved the note.")}
        if action not in calls:
            form.add_error(None, "Choose acknowledge, resolve or save note.")
            return self.render_to_response(self.get_context_data(form=form))
        done = self.apply(form, calls[action][0])
        if done is None:
            return self.render_to_response(self.get_context_data(form=form))
        messages.success(request, calls[action][1])
        return self.back()
