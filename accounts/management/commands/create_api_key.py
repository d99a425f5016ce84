from django.core.management.base import BaseCommand, CommandError

from accounts.errors import ApplicationError
from accounts.models import Account
from accounts.services import Actor, api_key_create


class Command(BaseCommand):
    help = "Create an API key for an account; the key is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--scopes", default="ingest,read", help="comma-separated: ingest, read")
        parser.add_argument("--name", default="")

    def handle(self, slug, scopes, name, **options):
        account = Account.objects.filter(slug=slug).first()
        if account is None:
            raise CommandError(f"No account with slug '{slug}'.")
        try:
            key, plaintext = api_key_create(
                account, Actor.system(), scopes=[s.strip() for s in scopes.split(",") if s.strip()], name=name
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} {exc.errors}")
        self.stdout.write(f"API key {key.prefix} for {account.slug}, scopes {','.join(key.scopes)} (shown once):")
        self.stdout.write(plaintext)
