"""`manage.py start`: the whole product on one machine until Ctrl-C or `manage.py stop`.

Embedded PostgreSQL/Redis when DATABASE_URL/REDIS_URL are unset, then migrate, make
sure the demo account, its owner and an API key exist, and run gunicorn, a Celery
worker and Celery beat as children — plus the local SMTP outbox when no mail server is
configured (EMAIL_URL/EMAIL_HOST unset). One child dying stops the others.
"""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from config import embedded, processes

DEMO_SLUG = "demo"
DEMO_OWNER = "demo@modelpulse.local"


class Command(BaseCommand):
    help = "Run web server, Celery worker and beat (embedded PostgreSQL/Redis unless configured)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-demo-traffic", action="store_true",
                            help="skip loading 30 days of demo traffic on the first start")
        parser.add_argument("--no-demo", action="store_true",
                            help="no demo traffic at all: neither the 30 days nor the live traffic")

    def handle(self, host, port, no_demo_traffic, no_demo, **options):
        data_dir = Path(settings.DATA_DIR)
        data_dir.mkdir(parents=True, exist_ok=True)
        running = processes.recorded(data_dir).get("start")
        if running and processes.alive(running):
            self.stderr.write(f"ModelPulse is already running from {data_dir} (pid {running['pid']}); "
                              "`manage.py stop` ends it.")
            sys.exit(1)
        if settings.EMBEDDED_DATABASE:
            self.stdout.write(f"Starting embedded PostgreSQL in {embedded.pg_dir(data_dir)} …")
            embedded.ensure_postgres(data_dir)
        if settings.EMBEDDED_REDIS:
            self.stdout.write(f"Starting embedded Redis in {embedded.redis_dir(data_dir)} …")
            embedded.ensure_redis(data_dir)

        call_command("migrate", interactive=False, verbosity=0)
        password, key = self._bootstrap(data_dir)
        if not (no_demo_traffic or no_demo):
            self._demo_traffic(data_dir)
        self._demo_setup()
        self.live_demo = settings.DEMO_LIVE and not no_demo
        self.outbox_port = self._free_port() if self._outbox_wanted() else None

        self._banner(host, port, password, key)
        self._run_children(host, port, data_dir)

    def _bootstrap(self, data_dir: Path):
        from accounts.models import ApiKey
        from accounts.services import Actor, account_create, api_key_create

        password_file = data_dir / "demo_password"
        key_file = data_dir / "demo_api_key"
        if not password_file.exists():
            password_file.write_text(secrets.token_urlsafe(12))
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        account, _, _ = account_create(
            slug=DEMO_SLUG, name="Demo", owner_email=DEMO_OWNER, password=password, timezone_name="Asia/Kolkata"
        )
        # The demo owner runs this installation: staff, so /admin/ opens with the printed login.
        owner = account.memberships.get(user__email=DEMO_OWNER).user
        if not (owner.is_staff and owner.is_superuser):
            owner.is_staff = owner.is_superuser = True
            owner.save(update_fields=["is_staff", "is_superuser"])
        # The demo key's plaintext is kept in the data folder (0600) so restarts print the
        # same key; the database only has its hash, as for every key.
        key = key_file.read_text().strip() if key_file.exists() else ""
        if not key or not ApiKey.objects.for_account(account).filter(prefix=key[:11], revoked_at=None).exists():
            _, key = api_key_create(account, Actor.system(), scopes=["ingest", "read"], name="demo")
            key_file.write_text(key)
            key_file.chmod(0o600)
        return password, key

    @staticmethod
    def _outbox_wanted() -> bool:
        return not (os.environ.get("EMAIL_URL") or os.environ.get("EMAIL_HOST"))

    @staticmethod
    def _free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def _demo_setup(self):
        """Alert rules, an SLA, a weekly report, a custom metric and a dashboard for the demo."""
        from accounts.models import Account
        from traces.demo_setup import demo_operate_setup

        demo_operate_setup(Account.objects.get(slug=DEMO_SLUG))

    def _demo_traffic(self, data_dir: Path):
        marker = data_dir / "demo_traffic_loaded"
        if marker.exists() or "demo_traffic" not in get_commands():
            return
        self.stdout.write("Loading 30 days of demo traffic (first start only) …")
        call_command("demo_traffic", DEMO_SLUG, "--days", "30")
        marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))

    def _banner(self, host, port, password, key):
        url = f"http://{host}:{port}"
        self.stdout.write(self.style.SUCCESS("\nModelPulse is starting.\n"))
        self.stdout.write(
            f"  Console   {url}/\n"
            f"  Login     {DEMO_OWNER}\n"
            f"  Password  {password}\n"
            f"  API key   {key}\n"
            f"  API docs  {url}/api/docs\n"
            f"  Try       curl -H 'Authorization: Bearer {key}' {url}/api/v1/account\n"
            f"  Admin     {url}/admin/ (the demo owner is staff)\n"
            f"  Mail      {self._mail_line(url)}\n"
            f"  Data      {settings.DATA_DIR}\n"
            "  Stop      Ctrl-C, or `manage.py stop` from another terminal\n"
        )
        self.stdout.flush()

    def _mail_line(self, url):
        if self.outbox_port:
            return f"kept by the local outbox: {url}/a/{DEMO_SLUG}/settings/outbox/"
        return "sent through EMAIL_URL / EMAIL_HOST"

    def _child_env(self, data_dir: Path):
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        env["MODELPULSE_DEMO_LIVE"] = "true" if self.live_demo else "false"
        if self.outbox_port:
            env["EMAIL_URL"] = f"smtp://127.0.0.1:{self.outbox_port}"
            env["MODELPULSE_OUTBOX"] = "true"
        # Gunicorn workers count requests in files here; cleared on each start (metrics restart at zero).
        metrics_dir = processes.run_dir(data_dir) / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        return env

    def _run_children(self, host, port, data_dir: Path):
        python = sys.executable
        run = processes.run_dir(data_dir)
        commands = {
            "web": [python, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{host}:{port}",
                    "--workers", "2", "--threads", "4", "--access-logfile", "-",
                    "--control-socket", str(run / "gunicorn.ctl"), "--pid", str(run / "gunicorn.pid")],
            # One worker for every queue; larger installs run workers per queue (docs/deployment.md).
            "worker": [python, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "2",
                       "-Q", ",".join(settings.JOB_QUEUES)],
            "beat": [python, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                     "--schedule", str(data_dir / "celerybeat-schedule")],
        }
        if self.outbox_port:
            # First, so the product never sends before the outbox listens.
            commands = {"outbox": [python, "manage.py", "outbox_smtp", "--port", str(self.outbox_port)], **commands}
        env = self._child_env(data_dir)
        children = {}
        for name, cmd in commands.items():
            proc = subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            children[name] = proc
            threading.Thread(target=self._forward, args=(name, proc), daemon=True).start()
            if name == "outbox":
                self._wait_for_outbox(proc)
        processes.record(data_dir, children)

        stopping = threading.Event()

        def stop(signum=None, frame=None):
            stopping.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping.is_set():
            for name, proc in children.items():
                if proc.poll() is not None:
                    self.stderr.write(f"[{name}] exited with {proc.returncode}; stopping the others")
                    exit_code = proc.returncode or 1
                    stopping.set()
                    break
            stopping.wait(0.5)
        self._stop_children(children)
        processes.forget(data_dir)
        if exit_code:
            sys.exit(exit_code)

    def _wait_for_outbox(self, proc):
        for _ in range(100):
            if embedded.tcp_answers("127.0.0.1", self.outbox_port) or proc.poll() is not None:
                return
            time.sleep(0.1)

    def _stop_children(self, children):
        for proc in children.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.stdout.write("Stopped web, worker, beat and outbox. Embedded PostgreSQL/Redis keep running for the "
                          "next start; `manage.py stop` stops them too.")

    def _forward(self, name, proc):
        for line in iter(proc.stdout.readline, b""):
            sys.stdout.write(f"[{name}] {line.decode(errors='replace')}")
            sys.stdout.flush()
