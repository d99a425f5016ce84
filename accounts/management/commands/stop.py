"""`manage.py stop`: end what `manage.py start` runs from this data folder.

Web, worker, beat and the outbox (through the start process, or directly when it is gone),
then the embedded Redis and PostgreSQL — the latter with the pg_ctl of the build that made
its data folder, as the user it runs as (pg_ctl refuses to run as root).
"""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from config import embedded, processes


class Command(BaseCommand):
    help = "Stop web, worker, beat, outbox and the embedded PostgreSQL and Redis started by `manage.py start`."

    def handle(self, **options):
        data_dir = Path(settings.DATA_DIR)
        state = processes.recorded(data_dir)
        start = processes.alive(state["start"]) if state.get("start") else None
        if start is not None:
            self.stdout.write(f"Stopping ModelPulse (pid {start.pid}) …")
            start.terminate()  # it stops its children itself
            if not processes.wait_gone(start, 40):
                start.kill()
        for name, entry in (state.get("children") or {}).items():
            proc = processes.alive(entry)
            if proc is not None:
                self.stdout.write(f"Stopping {name} (pid {proc.pid}) …")
                processes.terminate_group(proc)
        processes.forget(data_dir)
        if settings.EMBEDDED_REDIS and embedded.stop_redis(data_dir):
            self.stdout.write("Stopped the embedded Redis.")
        if settings.EMBEDDED_DATABASE:
            from django.db import connections

            connections.close_all()
            if embedded.stop_postgres(data_dir):
                self.stdout.write("Stopped the embedded PostgreSQL.")
        self.stdout.write(self.style.SUCCESS("ModelPulse is stopped."))
