import signal
import threading

from django.core.management.base import BaseCommand

from outbox.smtp import outbox_controller


class Command(BaseCommand):
    help = "Run the local SMTP outbox: every message it receives is kept for the console's Outbox page."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)

    def handle(self, host, port, **options):
        controller = outbox_controller(host, port)
        controller.start()
        self.stdout.write(f"Outbox listening on smtp://{host}:{port}")
        self.stdout.flush()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        while not stop.wait(1):
            pass
        controller.stop()
