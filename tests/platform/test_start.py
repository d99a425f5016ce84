"""P1, as a newcomer does it: a fresh clone, the README's run command on a free port, a report
sent with "send now" found in the outbox, /metrics read, and `manage.py stop` leaving nothing."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]
README_RUN = re.compile(r"^python3 -m venv \.venv && \.venv/bin/pip install -r requirements\.txt && "
                        r"(?P<run>\.venv/bin/python manage\.py start)$", re.M)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(pid):
    try:
        proc = psutil.Process(pid)
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _data_processes(data: Path):
    """Every process whose command line or working files point into the clone's data folder."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if str(data) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_newcomer_runs_the_readme_and_stops_cleanly():
    # A short path: the embedded servers' unix sockets live under the data folder.
    home = Path(tempfile.mkdtemp(prefix="mp-", dir="/tmp"))
    home.chmod(0o755)  # as root the embedded PostgreSQL runs as its own user, which must reach the folder
    repo = home / "r"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True)
    # The venv the README creates would hold exactly requirements.txt: reuse this run's.
    (repo / ".venv").symlink_to(Path(sys.prefix))
    run = README_RUN.search((repo / "README.md").read_text())
    assert run, "README's run command changed"
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "EMAIL_URL",
                        "EMAIL_HOST", "MODELPULSE_DATA_DIR", "PROMETHEUS_MULTIPROC_DIR")}
    env["PORT"] = str(port)
    data = repo / ".data"
    log = open(home / "start.log", "w+")
    proc = subprocess.Popen(run["run"].split() + ["--no-demo-traffic"], cwd=repo, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    stopped = False
    try:
        for _ in range(240):
            try:
                if requests.get(f"{base}/readyz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or busy migrating
                pass
            assert proc.poll() is None, (home / "start.log").read_text()
            time.sleep(0.5)
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "ok"
        key = (data / "demo_api_key").read_text().strip()
        assert key in (home / "start.log").read_text()
        assert requests.get(f"{base}/api/v1/account", timeout=5).status_code == 401
        account = requests.get(f"{base}/api/v1/account", headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert account.json()["slug"] == "demo" and account.json()["timezone"] == "Asia/Kolkata"
        names = " ".join(" ".join(c.cmdline()) for c in _tree(proc.pid))
        assert all(n in names for n in ("gunicorn", "worker", "beat", "outbox_smtp"))
        # One worker consuming every named queue (an operator splits them across hosts instead).
        assert "-Q rollups,exports,alerts,deliveries,reports,maintenance" in names
        assert (data / "run" / "gunicorn.ctl").exists()  # the control socket is the installation's own

        # Sign in as the printed owner and send the demo's weekly report now.
        session = requests.Session()
        login = session.get(f"{base}/login/", timeout=5)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)[1]
        session.post(f"{base}/login/", data={"csrfmiddlewaretoken": token, "username": "demo@modelpulse.local",
                                             "password": (data / "demo_password").read_text().strip()},
                     headers={"Referer": f"{base}/login/"}, timeout=10)
        api = {"X-CSRFToken": session.cookies["csrftoken"], "X-Account": "demo", "Referer": base}
        schedules = session.get(f"{base}/api/v1/report-schedules", headers=api, timeout=10).json()
        weekly = next(s for s in schedules.get("results", schedules) if s["name"] == "Weekly summary")
        sent = session.post(f"{base}/api/v1/report-schedules/{weekly['id']}/send-now", headers=api, timeout=60)
        assert sent.status_code in (200, 201), sent.text
        assert sent.json()["status"] == "sent", sent.json()
        outbox = requests.get(f"{base}/api/v1/outbox", headers={"Authorization": f"Bearer {key}"}, timeout=5).json()
        assert outbox["results"][0]["subject"] == sent.json()["subject"]
        assert outbox["results"][0]["recipients"] == ["demo@modelpulse.local"]
        page = session.get(f"{base}/a/demo/settings/outbox/", timeout=10)
        assert sent.json()["subject"] in page.text

        metrics = requests.get(f"{base}/metrics", timeout=10)
        assert metrics.status_code == 200 and "modelpulse_http_request_duration_seconds" in metrics.text
        assert "modelpulse_database_up 1.0" in metrics.text and "modelpulse_redis_up 1.0" in metrics.text

        watched = _tree(proc.pid)
        stop = subprocess.run([".venv/bin/python", "manage.py", "stop"], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=120)
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert "Stopped the embedded PostgreSQL" in stop.stdout and "Stopped the embedded Redis" in stop.stdout
        proc.wait(timeout=30)
        stopped = True
        _, alive = psutil.wait_procs(watched, timeout=15)
        assert not alive, [p.pid for p in alive]
        assert not _data_processes(data), [p.info["cmdline"] for p in _data_processes(data)]
        assert not (data / "run" / "start.json").exists()
    finally:
        if not stopped:
            subprocess.run([".venv/bin/python", "manage.py", "stop"], cwd=repo, env=env, timeout=120,
                           capture_output=True)
        log.close()
    shutil.rmtree(home, ignore_errors=True)
