"""What the HTTP benchmarks share: a scratch PostgreSQL database, the app under uvicorn (one worker
pinned to CPU 0), and wrk — or a Python fallback process — pinned to CPU 1, with its result parsed.

Imported by `bench_oidc.py` and `bench_exchange.py` (run as scripts, so `bench/` is on sys.path).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HOST = "127.0.0.1"

# A Lua `done` hook that prints wrk's summary as one JSON line (parsed by `run_wrk`).
WRK_DONE = """
function done(summary, latency, requests)
  local s = summary.errors
  io.write(string.format('{"requests": %d, "micros": %d, "non2xx": %d, "errors": %d, '
    .. '"p50": %d, "p99": %d}\\n', summary.requests, summary.duration, s.status,
    s.connect + s.read + s.write + s.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


# ---- databases -----------------------------------------------------------------------------------


@contextmanager
def scratch_postgres(base: str, name: str) -> Iterator[str]:
    """A fresh database `name` on the server at `base` (dropped first if left over, and afterwards)."""
    parsed = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_available(base: str) -> bool:
    try:
        engine = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no server here"
        return False


# ---- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def taskset(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


@contextmanager
def server(url: str, port: int, master_key: str) -> Iterator[None]:
    """The app under uvicorn, one worker pinned to CPU 0, until /healthz answers (60 s at most)."""
    env = {**os.environ, "YIWANG_DATABASE_URL": url, "YIWANG_MASTER_KEY": master_key}
    cmd = [
        *taskset(0),
        sys.executable,
        "-m",
        "uvicorn",
        "yiwang.app:create_app",
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("uvicorn did not start")
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- load: wrk, or a Python fallback process -----------------------------------------------------


def run_wrk(script: Path, port: int, seconds: float, threads: int, connections: int) -> dict:
    """Run wrk (pinned to CPU 1) with the Lua `script` (ending in WRK_DONE); its summary with rps, ms."""
    cmd = [
        *taskset(1),
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://{HOST}:{port}/",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    line = next(x for x in reversed(out.splitlines()) if x.startswith("{"))
    got = json.loads(line)
    got["rps"] = got["requests"] / (got["micros"] / 1e6)
    got["p50_ms"], got["p99_ms"] = got["p50"] / 1000, got["p99"] / 1000
    return got


def run_load_process(script: str, payload: dict, seconds: float) -> dict:
    """Run `script --load-process <payload as JSON>` pinned to CPU 1; its last line, parsed as JSON."""
    cmd = [*taskset(1), sys.executable, script, "--load-process", json.dumps(payload)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])
