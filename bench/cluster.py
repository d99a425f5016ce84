"""Drives the cluster bench/cluster.sh builds (run it through that script).

1. ingest alone at full speed (REST, both web hosts): the primary's baseline rate;
2. idle reads: once that is rolled up, dashboard and explorer calls alone, for their latency
   without load;
3. ingest with the dashboard readers: the rate again (target ≥ 0.9 × baseline), read
   latency, and which database served the reads (`modelpulse_read_units_total` of both web hosts);
4. chaos: ingest goes on while the worker host that runs a rollup query is killed (SIGKILL of every
   process in its namespace), then an export is asked for and the host running it is killed;
5. the export must end (succeeded, or failed with its reason), and once the dirty hours are
   rolled up and the replica has caught up: accepted = stored = counted in metrics.
"""
import argparse
import http.client
import json
import re
import statistics
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import psycopg

READS = ["/api/v1/metrics?preset=last_24h", "/api/v1/analytics/overview?preset=last_24h",
         "/api/v1/analytics/production?preset=last_24h", "/api/v1/metrics/timeseries?preset=last_7d",
         "/api/v1/traces?preset=today&page_size=50"]
BATCH = 500
WORKER_HOSTS = {"10.77.0.21": "mpc-wk1", "10.77.0.22": "mpc-wk2", "10.77.0.23": "mpc-wk3"}


def trace(run: str, i: int, now: datetime) -> dict:
    # Live traffic: executed in the last ten minutes, as an application sends it.
    return {"request_id": f"{run}-{i}", "executed_at": (now - timedelta(seconds=(i * 7) % 600)).isoformat(),
            "model": ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"][i % 3], "provider": "openai",
            "feature": ["Chatbot", "Summarizer", "Drafting"][i % 3], "prompt": f"p-{i % 10}",
            "user_id": f"u-{i % 300}", "status": "success" if i % 40 else "failure",
            "response_time_ms": 200.0 + (i * 37) % 3000, "input_tokens": 300 + i % 900, "output_tokens": 100 + i % 400,
            "input": f"question {i}", "output": f"answer {i}"}


class Client:
    def __init__(self, base: str, key: str):
        url = urlparse(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def call(self, method, path, body=None):
        self.conn.request(method, path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()


class Threads:
    """`count` threads running `_worker(n)` from `with` until its end, when `stop_event` (set
    up by the subclass) stops them."""

    count = 0

    def __enter__(self):
        self.started = time.perf_counter()
        self.threads = [threading.Thread(target=self._worker, args=(n,), daemon=True) for n in range(self.count)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for t in self.threads:
            t.join()
        self.elapsed = time.perf_counter() - self.started


class Ingest(Threads):
    """`clients` threads posting batches of new traces round-robin to the web hosts until stopped."""

    def __init__(self, webs, key, clients, run):
        self.webs, self.key, self.clients, self.run = webs, key, clients, run
        self.count = clients
        self.accepted = self.sent = 0
        self.failures: list = []
        self.lock, self.stop_event, self.next = threading.Lock(), threading.Event(), 0

    def _take(self):
        with self.lock:
            start, self.next = self.next, self.next + BATCH
            return start

    def _worker(self, n):
        client = Client(self.webs[n % len(self.webs)], self.key)
        now = datetime.now(timezone.utc)
        while not self.stop_event.is_set():
            start = self._take()
            body = json.dumps({"traces": [trace(self.run, i, now) for i in range(start, start + BATCH)]})
            try:
                status, raw = client.call("POST", "/api/v1/traces/ingest", body)
            except OSError as exc:
                self.failures.append(repr(exc))
                client = Client(self.webs[n % len(self.webs)], self.key)
                continue
            with self.lock:
                self.sent += BATCH
                if status in (200, 207):
                    self.accepted += json.loads(raw)["accepted"]
                else:
                    self.failures.append(status)

    @property
    def rate(self):
        return self.accepted / self.elapsed


class Readers(Threads):
    def __init__(self, webs, key, readers):
        self.webs, self.key, self.readers = webs, key, readers
        self.count = readers
        self.latencies: list[float] = []
        self.errors: list = []
        self.stop_event = threading.Event()

    def _worker(self, n):
        client = Client(self.webs[n % len(self.webs)], self.key)
        i = n
        while not self.stop_event.is_set():
            started = time.perf_counter()
            status, _ = client.call("GET", READS[i % len(READS)])
            self.latencies.append(time.perf_counter() - started)
            if status != 200:
                self.errors.append(status)
            i += 1

    def p(self, q):
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def read_units(webs) -> dict:
    """modelpulse_read_units_total by database, summed over the web hosts."""
    total: dict = {}
    for web in webs:
        url = urlparse(web)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        for database, value in re.findall(r'^modelpulse_read_units_total\{database="([^"]+)"\} ([0-9.e+]+)$', text,
                                          re.M):
            total[database] = total.get(database, 0) + float(value)
    return total


def active_query(dsns, addresses, pattern, timeout):
    """(address, query) of the first active query from one of `addresses` matching `pattern` (ILIKE)."""
    deadline = time.monotonic() + timeout
    conns = [psycopg.connect(dsn, autocommit=True) for dsn in dsns]
    try:
        while time.monotonic() < deadline:
            for conn in conns:
                row = conn.execute(
                    "SELECT host(client_addr), left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity "
                    "WHERE state = 'active' AND host(client_addr) = ANY(%s) AND query ILIKE %s LIMIT 1",
                    [list(addresses), pattern]).fetchone()
                if row:
                    return row
            time.sleep(0.01)
        return None
    finally:
        for conn in conns:
            conn.close()


def drained(primary, replica, timeout):
    """Wait until no hour waits for its rollup and the replica has replayed everything; seconds taken."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline and scalar(primary, "SELECT count(*) FROM traces_dirtybucket"):
        time.sleep(0.5)
    target = scalar(primary, "SELECT pg_current_wal_lsn()::text")
    while time.monotonic() < deadline and not scalar(replica, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                                                     [target]):
        time.sleep(0.2)
    return time.monotonic() - started


def kill_host(namespace):
    pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout.split()
    subprocess.run(["kill", "-9", *pids], check=False)
    return len(pids)


def scalar(dsn, sql, params=()):
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", required=True)
    parser.add_argument("--web", required=True, help="comma-separated base URLs")
    parser.add_argument("--primary", required=True)
    parser.add_argument("--replica", required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    args = parser.parse_args()
    webs = args.web.split(",")
    out = []

    with Ingest(webs, args.key, args.clients, "alone") as alone:
        time.sleep(args.seconds)
    # The reads' baseline: the same data, rolled up, nothing ingesting.
    drained(args.primary, args.replica, 300)
    with Readers(webs, args.key, args.readers) as idle:
        time.sleep(args.seconds / 2)
    units_before = read_units(webs)
    with Ingest(webs, args.key, args.clients, "reads") as loaded, \
            Readers(webs, args.key, args.readers) as busy:
        time.sleep(args.seconds)
    units = {k: v - units_before.get(k, 0) for k, v in read_units(webs).items()}
    out += [f"ingest alone            {alone.rate:9,.0f} traces/s  ({alone.accepted:,} in {alone.elapsed:.1f} s)",
            f"ingest with reads       {loaded.rate:9,.0f} traces/s  {loaded.rate / alone.rate:.2f} × alone  "
            f"(target ≥ 0.9)",
            f"reads p50/p95 idle      {idle.p(0.5):7.1f} / {idle.p(0.95):7.1f} ms  ({len(idle.latencies)} reads)",
            f"reads p50/p95 ingesting {busy.p(0.5):7.1f} / {busy.p(0.95):7.1f} ms  ({len(busy.latencies)} reads, "
            f"{len(busy.errors)} errors); p95 {busy.p(0.95) / idle.p(0.95):.2f} × idle",
            "read units by database  " + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(units.items()))]

    # Chaos: kill a worker host in the middle of a rollup, then the one running an export.
    primary, replica = args.primary, args.replica
    with Ingest(webs, args.key, args.clients, "chaos") as chaos:
        found = active_query([primary], ["10.77.0.21"], "%rollup%", 90) or \
            active_query([primary], ["10.77.0.21"], "%", 30)
        out.append(f"killed mpc-wk1 ({kill_host('mpc-wk1')} processes) during: {found[1] if found else 'no query seen'}")
        status, raw = Client(webs[0], args.key).call("POST", "/api/v1/exports",
                                                       json.dumps({"format": "csv", "filters": {"preset": "all_time"}}))
        assert status == 202, raw
        job = json.loads(raw)["id"]
        running = active_query([replica, primary], ["10.77.0.22", "10.77.0.23"], "%COPY%", 60) or \
            active_query([replica, primary], ["10.77.0.22", "10.77.0.23"], "%row_number()%", 5)
        if running:
            host = WORKER_HOSTS[running[0]]
            out.append(f"killed {host} ({kill_host(host)} processes) during export {job}: {running[1]}")
        else:
            out.append(f"export {job}: no running export query seen; no host killed")
        time.sleep(args.seconds / 2)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        state = scalar(primary, "SELECT status FROM traces_exportjob WHERE id = %s", [job])
        if state in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(1)
    with psycopg.connect(primary, autocommit=True) as conn:
        status, attempts, written, total, error = conn.execute(
            "SELECT status, attempts, rows_written, rows_total, error FROM traces_exportjob WHERE id = %s",
            [job]).fetchone()
    out.append(f"export {job}: {status} after {attempts} run(s), {written:,} of {total:,} rows {error or ''}".rstrip())

    # Nothing lost: every accepted trace is stored, rolled up and counted by the metrics API.
    drained(primary, replica, 300)
    accepted = alone.accepted + loaded.accepted + chaos.accepted
    stored = scalar(primary, "SELECT count(*) FROM traces_trace")
    status, raw = Client(webs[1], args.key).call("GET", "/api/v1/metrics?preset=all_time")
    counted = json.loads(raw)["metrics"]["total_requests"]
    failures = alone.failures + loaded.failures + chaos.failures
    out.append(f"accepted {accepted:,}  stored {stored:,}  counted in metrics {counted:,}  "
               f"{'OK' if accepted == stored == counted else 'MISMATCH'}; failed ingest requests {len(failures)}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
