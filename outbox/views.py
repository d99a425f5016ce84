"""Console Outbox: the mail the local outbox received for the account (owners and admins)."""
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.clickjacking import xframe_options_sameorigin

from accounts.console import AccountConsoleMixin
from accounts.models import Role
from accounts.views import ConsolePage
from outbox.models import OutboxMessage
from outbox.selectors import message_bodies, message_html_inline, message_parts

PAGE_SIZE = 50
# The message's HTML is someone else's markup: no scripts, no plugins, no requests out.
MESSAGE_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"


class OutboxView(ConsolePage):
    template_name = "console/outbox_list.html"
    tab = "outbox"
    title = "Outbox"
    description = "Mail this installation sent for the account, kept by the local outbox."

    def get_context_data(self, **kwargs):
        if not Role.at_least(self.membership.role, Role.ADMIN):
            raise PermissionDenied("The outbox is for owners and admins.")
        context = super().get_context_data(**kwargs)
        messages = OutboxMessage.objects.for_account(self.account).defer("raw")
        context["page"] = Paginator(messages, PAGE_SIZE).get_page(self.request.GET.get("page"))
        context["outbox_enabled"] = settings.OUTBOX_ENABLED
        return context


class OutboxMessageView(ConsolePage):
    template_name = "console/outbox_message.html"
    tab = "outbox"
    title = "Outbox"
    model = OutboxMessage

    def get_context_data(self, **kwargs):
        if not Role.at_least(self.membership.role, Role.ADMIN):
            raise PermissionDenied("The outbox is for owners and admins.")
        context = super().get_context_data(**kwargs)
        message = get_object_or_404(OutboxMessage.objects.for_account(self.account), pk=self.kwargs["pk"])
        text, html = message_bodies(message)
        context.update(message=message, text=text, has_html=bool(html), parts=message_parts(message),
                       title=message.subject or "(no subject)")
        return context


class _MessageContent(AccountConsoleMixin, View):
    model = OutboxMessage

    def message(self):
        if not Role.at_least(self.membership.role, Role.ADMIN):
            raise PermissionDenied("The outbox is for owners and admins.")
        return get_object_or_404(OutboxMessage.objects.for_account(self.account), pk=self.kwargs["pk"])


@method_decorator(xframe_options_sameorigin, name="dispatch")
class OutboxMessageHtmlView(_MessageContent):
    """The HTML body alone, for the sandboxed frame of the message page."""

    def get(self, request, *args, **kwargs):
        html = message_html_inline(self.message())
        if not html:
            raise Http404("This message has no HTML body.")
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = MESSAGE_CSP
        return response


class OutboxMessagePartView(_MessageContent):
    """One part of the message by its Content-ID (the images a report embeds)."""

    def get(self, request, *args, **kwargs):
        part = message_parts(self.message()).get(self.kwargs["cid"])
        if part is None:
            raise Http404("No such part.")
        response = HttpResponse(part.data, content_type=part.content_type)
        response["Content-Security-Policy"] = MESSAGE_CSP
        response["X-Content-Type-Options"] = "nosniff"
        if not part.content_type.startswith("image/"):
            response["Content-Disposition"] = "attachment"
        return response
