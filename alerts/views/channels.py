"""Channels, their deliveries and failures, retry."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect

from accounts.errors import ApplicationError
from alerts import models as am
from alerts.services import rules as rule_services
from alerts.services.delivery import delivery_retry
from alerts.views.base import DELIVERY_TONES, AlertsPage, ChannelForm


# -- channels -------------------------------------------------------------------------------

class ChannelsView(AlertsPage):
    template_name = "console/alerts_channels.html"
    tab = "channels"
    title = "Channels"
    description = "Where alerts go: the console, e-mail, signed webhooks, Slack and PagerDuty."

    def get_context_data(self, **kwargs):
        rule_services.alerts_ensure_defaults(self.account)
        context = super().get_context_data(**kwargs)
        channels = list(am.Channel.objects.for_account(self.account))
        failed = am.Delivery.objects.for_account(self.account).filter(status=am.DeliveryStatus.FAILED)
        counts = {}
        for channel_id in failed.values_list("channel_id", flat=True):
            counts[channel_id] = counts.get(channel_id, 0) + 1
        context.update(channels=[{"channel": c, "failed": counts.get(c.pk, 0),
                                  "rules": c.rules.count()} for c in channels],
                       failures=failed.select_related("channel", "event")[:20],
                       form=kwargs.get("form") or ChannelForm(),
                       new_secret=self.request.session.pop("alerts_new_secret", None))
        return context

    def post(self, request, *args, **kwargs):
        form = ChannelForm(request.POST)
        if form.is_valid():
            channel = self.apply(form, lambda: rule_services.channel_create(self.account, self.actor(),
                                                                            **form.service_data()))
            if channel is not None:
                if channel.secret:
                    request.session["alerts_new_secret"] = {"name": channel.name, "secret": channel.secret}
                messages.success(request, f"Added the channel “{channel.name}”.")
                return self.back()
        return self.render_to_response(self.get_context_data(form=form))


class ChannelView(AlertsPage):
    template_name = "console/alerts_channel.html"
    tab = "channels"
    model = am.Channel

    def get_object(self):
        return get_object_or_404(am.Channel.objects.for_account(self.account), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        channel = self.get_object()
        form = kwargs.get("form") or ChannelForm(instance=channel)
        if not self.can_write:
            for field in form.fields.values():
                field.disabled = True
        deliveries = channel.deliveries.select_related("event").order_by("-created_at")[:50]
        context.update(channel=channel, form=form, title=channel.name, deliveries=deliveries,
                       delivery_tones=DELIVERY_TONES,
                       new_secret=self.request.session.pop("alerts_new_secret", None))
        return context

    def post(self, request, *args, **kwargs):
        channel = self.get_object()
        if request.POST.get("action") == "rotate":
            channel = rule_services.channel_rotate_secret(self.account, self.actor(), channel)
            request.session["alerts_new_secret"] = {"name": channel.name, "secret": channel.secret}
            messages.success(request, "A new secret signs every webhook from now on.")
            return self.back()
        form = ChannelForm(request.POST, instance=am.Channel.objects.get(pk=channel.pk))
        if form.is_valid():
            data = form.service_data()
            data.pop("kind", None)
            if self.apply(form, lambda: rule_services.channel_update(self.account, self.actor(), channel, **data)):
                messages.success(request, "Saved the channel.")
                return redirect("alerts-channels", account_slug=self.account.slug)
        return self.render_to_response(self.get_context_data(form=form))


class ChannelDeleteView(AlertsPage):
    model = am.Channel
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        channel = get_object_or_404(am.Channel.objects.for_account(self.account), pk=kwargs["pk"])
        rule_services.channel_delete(self.account, self.actor(), channel)
        messages.success(request, f"Deleted the channel “{channel.name}”.")
        return redirect("alerts-channels", account_slug=self.account.slug)


class DeliveryRetryView(AlertsPage):
    model = am.Delivery
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        delivery = get_object_or_404(am.Delivery.objects.for_account(self.account), pk=kwargs["pk"])
        try:
            delivery_retry(self.account, self.actor(), delivery)
            messages.success(request, "Sending again.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        if delivery.channel_id is None:
            return redirect("alerts-channels", account_slug=self.account.slug)
        return redirect("alerts-channel", account_slug=self.account.slug, pk=delivery.channel_id)
