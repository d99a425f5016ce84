import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from accounts.models import Account
from analytics.rollups import rollup_process_dirty
from traces.demo import generate


class Command(BaseCommand):
    help = "Generate realistic demo traffic for an account through the ingestion service."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--per-day", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--end", default=None, help="RFC 3339 end of the traffic (default: now)")

    def handle(self, slug, days, per_day, seed, end, **options):
        account = Account.objects.filter(slug=slug).first()
        if account is None:
            raise CommandError(f"No account with slug '{slug}'.")
        if days < 1 or per_day < 1:
            raise CommandError("--days and --per-day must be positive.")
        end_at = None
        if end:
            end_at = parse_datetime(end)
            if end_at is None or end_at.tzinfo is None:
                raise CommandError("--end must be an RFC 3339 timestamp with an offset.")
        started = time.monotonic()
        accepted, duplicates, errors = generate(account, days=days, per_day=per_day, seed=seed, end=end_at)
        self.stdout.write(f"Demo traffic for {slug}: {accepted} traces stored, {duplicates} duplicates, "
                          f"{errors} rejected, in {time.monotonic() - started:.1f} s")
        # Build the rollups now rather than on the worker's next minute, so the dashboards
        # are complete the moment the console opens.
        started, hours = time.monotonic(), 0
        while processed := rollup_process_dirty(limit=2000):
            hours += processed
        self.stdout.write(f"Rollups built for {hours} dirty hours in {time.monotonic() - started:.1f} s")
