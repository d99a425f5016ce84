"""Scheduled reports: schedules, preview, send-now."""
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone

from accounts.errors import ApplicationError
from accounts.models import Role
from alerts import models as am
from alerts.views.base import AlertsPage, ChannelForm


# -- reports ----------------------------------------------------------------------------------

class ReportForm(forms.ModelForm):
    recipients_text = forms.CharField(label="Recipients", help_text="E-mail addresses separated by commas.")

    class Meta:
        model = am.ReportSchedule
        fields = ["name", "frequency", "send_hour", "enabled"]
        labels = {"send_hour": "Send at (local hour)"}
        help_texts = {"frequency": "Daily: the day before. Weekly: Monday to Sunday, sent on Monday. Monthly: sent "
                                   "on the 1st.", "send_hour": "0–23, in the account's timezone."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["recipients_text"].initial = ", ".join(self.instance.recipients)
        self.order_fields(["name", "frequency", "recipients_text", "send_hour", "enabled"])

    clean_recipients_text = ChannelForm.clean_recipients_text

    def service_data(self):
        data = {k: v for k, v in self.cleaned_data.items() if k != "recipients_text"}
        data["recipients"] = self.cleaned_data["recipients_text"]
        return data


class ReportsPage(AlertsPage):
    tab = "reports"
    write_role = Role.ADMIN


class ReportsView(ReportsPage):
    template_name = "console/reports_list.html"
    title = "Scheduled reports"
    description = "Daily, weekly and monthly e-mails: key metrics against the previous period, trends, alerts, " \
                  "recommendations."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        schedules = am.ReportSchedule.objects.for_account(self.account)
        context.update(schedules=[{"schedule": sc, "last": sc.runs.order_by("-created_at").first()}
                                  for sc in schedules],
                       runs=am.ReportRun.objects.for_account(self.account).select_related("schedule")[:20],
                       form=kwargs.get("form") or ReportForm())
        return context

    def post(self, request, *args, **kwargs):
        from alerts.services.reports import schedule_create

        form = ReportForm(request.POST)
        if form.is_valid():
            schedule = self.apply(form, lambda: schedule_create(self.account, self.actor(), **form.service_data()))
            if schedule is not None:
                messages.success(request, f"Scheduled “{schedule.name}”.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))


class ReportView(ReportsPage):
    template_name = "console/reports_detail.html"
    model = am.ReportSchedule

    def get_object(self):
        return get_object_or_404(am.ReportSchedule.objects.for_account(self.account), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        from alerts.services.reports import latest_period

        context = super().get_context_data(**kwargs)
        schedule = self.get_object()
        form = kwargs.get("form") or ReportForm(instance=schedule)
        if not self.can_write:
            for field in form.fields.values():
                field.disabled = True
        today = timezone.now().astimezone(self.account.tzinfo).date()
        start, end = latest_period(schedule.frequency, today)
        context.update(schedule=schedule, form=form, title=schedule.name, runs=schedule.runs.all()[:30],
                       period_start=start, period_last=end - timedelta(days=1))
        return context

    def post(self, request, *args, **kwargs):
        from alerts.services.reports import report_send_now, schedule_delete, schedule_update

        schedule = self.get_object()
        action = request.POST.get("action")
        if action == "send":
            run = report_send_now(self.account, self.actor(), schedule)
            if run.status == am.ReportRun.Status.SENT:
                messages.success(request, f"Sent to {', '.join(run.recipients)}.")
            else:
                messages.error(request, f"Could not send: {run.error}")
            return self.back()
        if action == "retry":
            from alerts.services.reports import report_run_retry

            run = get_object_or_404(schedule.runs.filter(account=self.account), pk=request.POST.get("run") or 0)
            try:
                report_run_retry(self.account, self.actor(), run)
                messages.success(request, "Sending again.")
            except ApplicationError as exc:
                messages.error(request, exc.message)
            return self.back()
        if action == "delete":
            schedule_delete(self.account, self.actor(), schedule)
            messages.success(request, f"Deleted the report “{schedule.name}”.")
            return redirect("alerts-reports", account_slug=self.account.slug)
        form = ReportForm(request.POST, instance=am.ReportSchedule.objects.get(pk=schedule.pk))
        if form.is_valid():
            if self.apply(form, lambda: schedule_update(self.account, self.actor(), schedule, **form.service_data())):
                messages.success(request, "Saved the report.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))


class ReportPreviewView(ReportsPage):
    """The e-mail as recipients would see it (charts inline as data: URIs), for the latest complete period."""

    model = am.ReportSchedule

    def get(self, request, *args, **kwargs):
        from alerts.services.reports import report_preview

        schedule = get_object_or_404(am.ReportSchedule.objects.for_account(self.account), pk=kwargs["pk"])
        response = HttpResponse(report_preview(schedule)["html"])
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response
