import atexit
import json
import logging
import queue
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone

log = logging.getLogger("modelpulse_client")

_STOP = object()
RETRY_STATUSES = {429, 500, 502, 503, 504}


class Client:
    def __init__(self, base_url: str, api_key: str, *, batch_size: int = 500, flush_interval: float = 2.0,
                 max_queue: int = 10_000, max_retries: int = 5, timeout: float = 10.0, backoff_base: float = 0.5,
                 backoff_max: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.batch_size = max(1, min(batch_size, 1000))
        self.flush_interval = flush_interval
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._stats = {"queued": 0, "sent": 0, "duplicates": 0, "rejected": 0, "dropped": 0, "failed": 0}
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="modelpulse-client", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # -- the application's side: never blocks, never raises ---------------------------

    def log_request(self, **fields) -> str:
        """Queue one trace (API fields); fills request_id and executed_at. Returns the request_id."""
        fields.setdefault("request_id", uuid.uuid4().hex)
        fields.setdefault("executed_at", datetime.now(timezone.utc).isoformat())
        self._put(("trace", fields))
        return fields["request_id"]

    def log_feedback(self, request_id: str, **fields) -> None:
        self._put(("feedback", {"request_id": request_id, **fields}))

    @contextmanager
    def track(self, **fields):
        """Time a model call; a raised exception is logged as a failure and re-raised."""
        started = time.perf_counter()
        record = dict(fields)
        try:
            yield record
        except BaseException:
            record.setdefault("status", "failure")
            record.setdefault("error_type", "system")
            raise
        finally:
            record.setdefault("status", "success")
            record["response_time_ms"] = (time.perf_counter() - started) * 1000.0
            self.log_request(**record)

    def stats(self) -> dict:
        with self._lock:
            return dict(self._stats)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything queued so far was sent (or given up). True when done in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 5.0) -> None:
        if self._closed:
            return
        self._closed = True
        self.flush(timeout)
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            pass
        self._thread.join(timeout=0.5)

    def _put(self, entry):
        try:
            if self._closed:
                raise queue.Full
            self._queue.put_nowait(entry)
            self._count("queued")
        except queue.Full:
            self._count("dropped")
        except Exception:  # never let telemetry break the caller
            self._count("dropped")

    def _count(self, name, n=1):
        with self._lock:
            self._stats[name] += n

    # -- the background thread -------------------------------------------------------

    def _run(self):
        while True:
            try:
                entry = self._queue.get()
            except Exception:
                continue
            if entry is _STOP:
                self._queue.task_done()
                return
            traces, taken = [], [entry]
            deadline = time.monotonic() + self.flush_interval
            while len(taken) < self.batch_size:
                try:
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is _STOP:
                    self._queue.put_nowait(_STOP)
                    self._queue.task_done()
                    break
                taken.append(nxt)
            try:
                for kind, payload in taken:
                    if kind == "trace":
                        traces.append(payload)
                    else:
                        self._send("/api/v1/feedback", payload, 1)
                if traces:
                    self._send("/api/v1/traces/ingest", {"traces": traces}, len(traces))
            except Exception:
                log.exception("modelpulse client: unexpected error; %d item(s) lost", len(taken))
                self._count("failed", len(taken))
            finally:
                for _ in taken:
                    self._queue.task_done()

    def _send(self, path, body, count):
        data = json.dumps(body, default=str).encode()
        for attempt in range(self.max_retries + 1):
            status, payload, retry_after = self._post(path, data)
            if status in (200, 201, 207):
                if path.endswith("/ingest"):
                    self._count("sent", payload.get("accepted", 0))
                    self._count("duplicates", payload.get("duplicates", 0))
                    if payload.get("errors"):
                        self._count("rejected", len(payload["errors"]))
                        log.warning("modelpulse: %d trace(s) rejected, first: %s", len(payload["errors"]),
                                    payload["errors"][0])
                else:
                    self._count("sent")
                return
            if status is not None and status not in RETRY_STATUSES:
                log.warning("modelpulse: %s answered %s; giving up on %d item(s)", path, status, count)
                self._count("failed", count)
                return
            if attempt == self.max_retries:
                break
            delay = min(self.backoff_max, self.backoff_base * (2 ** attempt)) * random.uniform(0.5, 1.0)
            if retry_after is not None:
                delay = max(delay, retry_after)
            time.sleep(delay)
        log.warning("modelpulse: giving up on %d item(s) after %d attempts", count, self.max_retries + 1)
        self._count("failed", count)

    def _post(self, path, data):
        request = urllib.request.Request(self.base_url + path, data=data, method="POST", headers={
            "Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json",
            "User-Agent": "modelpulse-client/1.0"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, _json(response.read()), None
        except urllib.error.HTTPError as exc:
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            try:
                retry_after = float(retry_after) if retry_after is not None else None
            except ValueError:
                retry_after = None
            return exc.code, _json(exc.read()), retry_after
        except (urllib.error.URLError, OSError, TimeoutError):
            return None, {}, None


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {}
