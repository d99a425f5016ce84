from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self):
        from accounts import schema  # noqa: F401  (registers the OpenAPI auth schemes)
        from accounts import signin_throttle  # noqa: F401  (records failed and locked-out sign-ins)
