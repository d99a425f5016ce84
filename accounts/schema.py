"""The OpenAPI schema: the two ways to authenticate, and the error answers every operation lists."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from accounts.scoping import AccountScopedAPIView, AccountScopedViewSet


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An account API key: `Authorization: Bearer mp_xxxxxxxx_…`. "
                           "Scope `read` for reads, `ingest` for ingestion.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.CsrfSessionAuthentication"
    name = "consoleSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The console's session (CSRF-protected); choose the account with the X-Account header.",
        }


class ErrorSerializer(serializers.Serializer):
    """Every error under /api/: a message, and per field the reasons (empty when no field is at fault)."""

    message = serializers.CharField()
    errors = serializers.DictField()


# Why each code can answer any account-scoped operation, whatever the view does itself.
SCOPED_ERRORS = {
    "400": "Invalid input: `errors` names each field and its reason (a session in several accounts must "
           "also choose one with the X-Account header).",
    "401": "No credentials, or an invalid or revoked API key.",
    "403": "The API key lacks the scope (console-only operations refuse every key), or the member's role "
           "is too low.",
    "404": "No such object in this account, or no such account (X-Account).",
}


class ModelPulseAutoSchema(AutoSchema):
    """The default schema class: besides what a view declares, every operation lists the error
    answers the shared layers give (authentication, account scoping, validation, rate limits), so
    the schema never omits a code the API can answer."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response" or not isinstance(self.view, (AccountScopedAPIView, AccountScopedViewSet)):
            return responses
        codes = dict(SCOPED_ERRORS)
        if self.method in ("POST", "PUT", "PATCH"):
            codes["415"] = "The body's Content-Type is not one this operation reads."
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes["409"] = "The object's state does not allow this (e.g. in use, already done)."
        if getattr(self.view, "rate_limited", False) or self.view.get_throttles():
            codes["429"] = "Rate limited; wait for the seconds in Retry-After."
        if getattr(self.view, "retries_dropped_connection", False):
            codes["503"] = "The database connection dropped twice; nothing was stored. Retry after Retry-After."
        for code, description in codes.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code)
        return responses
