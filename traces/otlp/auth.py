"""HTTP Basic authentication for OTLP exporters that only speak Basic (the Langfuse SDK).

The password is a ModelPulse API key; the user name is ignored. Langfuse sends
`base64(LANGFUSE_PUBLIC_KEY:LANGFUSE_SECRET_KEY)`, so a team keeps whatever public key it has
(the SDK wants one) and puts an ingest API key in LANGFUSE_SECRET_KEY. Requiring the user
name to match the key's prefix would add a second value to copy and protect nothing: the
key alone authenticates, as with Bearer.
"""
import base64
import binascii

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.authentication import ApiKeyPrincipal
from accounts.services import api_key_authenticate

BASIC_HELP = "Authorization must be 'Basic base64(<any user name>:<API key>)'."


class BasicApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(BASIC_HELP)
        try:
            _, separator, password = base64.b64decode(header[1], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError):
            raise exceptions.AuthenticationFailed(BASIC_HELP)
        key = api_key_authenticate(password) if separator else None
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key (the Basic password).")
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request):
        return 'Basic realm="ModelPulse"'


class BasicApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "traces.otlp.auth.BasicApiKeyAuthentication"
    name = "basicApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic",
                "description": "OTLP exporters that only send Basic (Langfuse): the password is an API key "
                               "with the `ingest` scope; the user name is ignored."}
