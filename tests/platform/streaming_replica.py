"""A real streaming replica of the test run's PostgreSQL: `pg_basebackup -R -X stream` into
a temporary directory, started with pg_ctl on a free port of 127.0.0.1.

The replica copies the whole cluster, so it holds the run's own test database; what the
tests commit on the primary reaches it by streaming. As root, PostgreSQL refuses to run,
so the copy is made and run by the `postgres` system user (as config/embedded.py does for
the embedded server).

The primary must accept replication connections from 127.0.0.1. When it does not, and
its pg_hba.conf is on this machine, one `host replication all 127.0.0.1/32 trust` line is
added and the configuration reloaded — no restart — and left there for the next run (it
grants nothing the existing `host all all 127.0.0.1/32 trust` does not). Otherwise the
tests that need the replica are skipped with the reason.
"""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

HBA_LINE = "host replication all 127.0.0.1/32 trust  # ModelPulse tests: streaming replica fixture\n"
# Settings a hot standby must hold at least at the primary's value, or it refuses to start.
STANDBY_MINIMUMS = ("max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions",
                    "max_locks_per_transaction")


class ReplicaUnavailable(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> str | None:
    return "postgres" if os.geteuid() == 0 else None


class StreamingReplica:
    def __init__(self, primary: dict):
        """primary: psycopg connect keywords of the primary (host, port, user, dbname)."""
        self.primary = primary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="modelpulse-replica-"))
        self.data = self.dir / "data"
        user = _run_as()
        if user:
            entry = pwd.getpwnam(user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self.dir.chmod(0o700)
        with self.connect_primary() as conn:
            version = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
            self.minimums = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in STANDBY_MINIMUMS}
            self.hba_file = conn.execute("SHOW hba_file").fetchone()[0]
            if conn.execute("SHOW wal_level").fetchone()[0] == "minimal":
                raise ReplicaUnavailable("the primary runs with wal_level=minimal (changing it needs a restart)")
        self.bin = Path(f"/usr/lib/postgresql/{version}/bin")
        if not (self.bin / "pg_basebackup").exists():
            found = shutil.which("pg_basebackup")
            if not found:
                raise ReplicaUnavailable(f"no PostgreSQL {version} client binaries")
            self.bin = Path(found).parent

    def connect_primary(self, **extra):
        return psycopg.connect(**{**self.primary, **extra}, autocommit=True)

    def connect(self, dbname=None):
        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.primary.get("user") or "postgres",
                               dbname=dbname or self.primary.get("dbname") or "postgres", autocommit=True)

    def _pg(self, tool, *args, check=True, timeout=180):
        return subprocess.run([str(self.bin / tool), *map(str, args)], user=_run_as(), cwd=self.dir,
                              capture_output=True, text=True, check=check, timeout=timeout)

    def _basebackup(self):
        return self._pg("pg_basebackup", "-h", self.primary["host"], "-p", self.primary["port"],
                        "-U", self.primary.get("user") or "postgres", "-D", self.data, "-R", "-X", "stream",
                        "-c", "fast", "--no-sync", check=False)

    def _allow_replication(self):
        hba = Path(self.hba_file)
        if self.primary["host"] not in ("127.0.0.1", "localhost") or not hba.exists() or not os.access(hba, os.W_OK):
            raise ReplicaUnavailable(f"the primary refuses replication connections and {hba} is not ours to edit")
        if HBA_LINE not in hba.read_text():
            with hba.open("a") as f:
                f.write(HBA_LINE)
        with self.connect_primary() as conn:
            conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)

    def start(self):
        made = self._basebackup()
        if made.returncode and "pg_hba.conf" in made.stderr:
            shutil.rmtree(self.data, ignore_errors=True)
            self._allow_replication()
            made = self._basebackup()
        if made.returncode:
            raise ReplicaUnavailable(f"pg_basebackup failed: {made.stderr.strip()}")
        # Debian keeps the primary's configuration outside its data directory: the copy gets
        # its own. fsync off: a test replica that crashes is thrown away anyway.
        settings = {"port": self.port, "listen_addresses": "'127.0.0.1'", "unix_socket_directories": f"'{self.dir}'",
                    "hot_standby": "on", "fsync": "off", "shared_buffers": "'32MB'", "logging_collector": "off",
                    **self.minimums}
        self._write("postgresql.conf", "".join(f"{k} = {v}\n" for k, v in settings.items()))
        self._write("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n")
        self._write("pg_ident.conf", "")
        self._pg("pg_ctl", "-D", self.data, "-l", self.dir / "replica.log", "-w", "-t", "120", "start")
        return self

    def _write(self, name, text):
        path = self.data / name
        path.write_text(text)
        if _run_as():
            entry = pwd.getpwnam(_run_as())
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- during the tests ----------------------------------------------------------------

    def catch_up(self, timeout=15.0):
        """Wait until the replica has replayed everything the primary has written so far."""
        with self.connect_primary() as conn:
            target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.connect() as conn:
            while not conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the replica did not replay up to {target} in {timeout} s")
                time.sleep(0.02)

    def pause_replay(self):
        with self.connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self):
        with self.connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
