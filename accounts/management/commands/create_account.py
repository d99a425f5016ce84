from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import account_create


class Command(BaseCommand):
    help = "Create an account and its owner (idempotent on SLUG)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner", required=True, help="owner's e-mail (also the login)")
        parser.add_argument("--password", default=None)
        parser.add_argument("--timezone", default="UTC")

    def handle(self, slug, name, owner, password, timezone, **options):
        try:
            account, user, created = account_create(
                slug=slug, name=name, owner_email=owner, password=password, timezone_name=timezone
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()))
        verb = "Created" if created else "Account exists:"
        self.stdout.write(f"{verb} account {account.slug} ({account.name}, {account.timezone}); owner {user.email}")
