from rest_framework import authentication, exceptions

from accounts.services import api_key_authenticate


class ApiKeyPrincipal:
    """request.user for calls made with an API key: authenticated, bound to one account."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, key):
        self.key = key
        self.account = key.account
        self.pk = self.id = None

    def __str__(self):
        return f"key {self.key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <api key>'.")
        try:
            plaintext = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        key = api_key_authenticate(plaintext)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request):
        return self.keyword


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """Console calls: the session cookie, with CSRF enforced on writes."""
