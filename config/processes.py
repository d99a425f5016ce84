"""What `manage.py start` leaves running, so `manage.py stop` can end exactly that.

`start` writes <data>/run/start.json with its own pid and its children's (each the leader
of its own process group) and their start times, so a pid reused by another program is
never signalled.
"""
import json
import os
import signal
import time
from pathlib import Path

import psutil


def run_dir(data_dir: Path) -> Path:
    path = data_dir / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_file(data_dir: Path) -> Path:
    return run_dir(data_dir) / "start.json"


def _entry(pid: int) -> dict:
    return {"pid": pid, "created": psutil.Process(pid).create_time()}


def record(data_dir: Path, children: dict) -> None:
    state = {"start": _entry(os.getpid()), "children": {name: _entry(p.pid) for name, p in children.items()}}
    path = state_file(data_dir)
    path.write_text(json.dumps(state, indent=2))


def forget(data_dir: Path) -> None:
    state_file(data_dir).unlink(missing_ok=True)


def recorded(data_dir: Path) -> dict:
    path = data_dir / "run" / "start.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError:
        return {}


def alive(entry: dict) -> psutil.Process | None:
    """The process of a recorded entry if it still runs (same pid and same start time)."""
    try:
        proc = psutil.Process(entry["pid"])
        if abs(proc.create_time() - entry["created"]) > 0.01 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except (psutil.NoSuchProcess, KeyError, TypeError):
        return None


def terminate_group(proc: psutil.Process, timeout: float = 15.0) -> None:
    """SIGTERM the process's group (gunicorn/celery workers with it), SIGKILL what outlives timeout."""
    try:
        pgid = os.getpgid(proc.pid)
        members = [p for p in psutil.process_iter() if _pgid(p) == pgid]
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, psutil.NoSuchProcess):
        return
    _, left = psutil.wait_procs(members, timeout=timeout)
    for p in left:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(left, timeout=5)


def _pgid(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except (ProcessLookupError, psutil.NoSuchProcess):
        return None


def wait_gone(proc: psutil.Process, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.2)
    return False
