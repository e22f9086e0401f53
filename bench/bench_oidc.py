"""OpenID Connect provider throughput, as a ratio to a bare FastAPI endpoint in the same run.

    uv run python bench/bench_oidc.py [--seconds 5] [--connections 8] [--only sqlite|postgresql]
                                      [--pg postgresql://postgres@127.0.0.1:5432/postgres]

For each database (a fresh SQLite file, and a fresh PostgreSQL database when a server answers at
--pg) the script builds a small demo city (`build_city(people=2000, enterprises=100)`), registers a
system client and a relying party, mints the tokens the load needs through the real service
functions (a login and an authorization-code exchange per refresh chain), then starts the app under
uvicorn — ONE worker pinned to CPU 0 — and drives it from a separate process pinned to CPU 1:

* `GET /healthz`                  — the bare endpoint (plain FastAPI, no database): the baseline
* `POST /oidc/token` client_credentials  — client auth (SM3), token insert, audit append
* `POST /oidc/token` refresh_token       — rotation: revoke + 2 inserts + RS256 ID token + audit
* `GET /oidc/userinfo`            — token lookup, account, claims, audit append (personal data read)

The load generator is `wrk` (Debian package `wrk`) with Lua scripts; each wrk connection runs its own
refresh chain (each response carries the next refresh token). Without wrk, a Python thread-pool
client (http.client, keep-alive) is used instead and says so: it saturates earlier, so its ratios are
flattering. Only 127.0.0.1 is used; every run is bounded by --seconds per endpoint. Prints figures
and ratios, asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MASTER_KEY = "00112233445566778899aabbccddeeff"
os.environ.setdefault("YIWANG_MASTER_KEY", MASTER_KEY)


import _http  # noqa: E402
from _http import (  # noqa: E402
    HOST,
    WRK_DONE,
    free_port,
    postgres_available,
    run_load_process,
    scratch_postgres,
    server,
)
from yiwang.core.db import Base, Database, load_all_models, make_engine  # noqa: E402

CALLBACK = "https://bench.example.gov.cn/cb"


# ---- databases -----------------------------------------------------------------------------------


@contextmanager
def sqlite_url(tmp: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp / 'bench-oidc.db'}"


@contextmanager
def postgres_url(base: str) -> Iterator[str]:
    with scratch_postgres(base, f"yiwang_bench_oidc_{uuid.uuid4().hex[:8]}") as url:
        yield url


# ---- the city, the clients, the tokens -----------------------------------------------------------


def prepare(url: str, chains: int) -> dict[str, object]:
    """Build the city and mint what the load needs, through the real service functions."""
    from yiwang.core.security import PLATFORM
    from yiwang.demo import build_city
    from yiwang.identity.service import auth
    from yiwang.identity.service import oidc as svc

    load_all_models()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    database = Database(url, engine=engine)
    started = time.perf_counter()
    city = build_city(database, people=2000, enterprises=100)
    built = time.perf_counter() - started
    with database.session() as s:
        system, system_secret = svc.register_client(
            s,
            PLATFORM,
            name="压测系统",
            owner_unit_id=city.departments["dashuju"],
            redirect_uris=[],
            grant_types=["client_credentials"],
            allowed_scopes="licence.verify exchange.call",
        )
        rp, rp_secret = svc.register_client(
            s,
            PLATFORM,
            name="压测单点登录系统",
            owner_unit_id=city.departments["dashuju"],
            redirect_uris=[CALLBACK],
            grant_types=["authorization_code", "refresh_token"],
            allowed_scopes="openid profile phone",
        )
        system_id, rp_id = system.client_id, rp.client_id
    citizen = city.accounts["citizen"]
    login = auth.begin_login(database, username=citizen.username, password=citizen.password)
    assert login.session_token
    issuer = svc.issuer_url(os.environ.get("YIWANG_BASE_URL", "http://127.0.0.1:8000"))
    basic_rp = "Basic " + base64.b64encode(f"{rp_id}:{rp_secret}".encode()).decode()
    grants = []
    for i in range(chains + 1):
        req = svc.check_authorization_request(
            database,
            {
                "response_type": ["code"],
                "client_id": [rp_id],
                "redirect_uri": [CALLBACK],
                "scope": ["openid profile phone"],
                "state": [f"s{i}"],
            },
        )
        code = svc.issue_authorization_code(database, req, login.session_token)
        grants.append(
            svc.token_request(
                database,
                {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
                basic_rp,
                issuer=issuer,
            )
        )
    database.dispose()
    return {
        "build_seconds": built,
        "basic_system": "Basic " + base64.b64encode(f"{system_id}:{system_secret}".encode()).decode(),
        "basic_rp": basic_rp,
        "access_token": grants[0]["access_token"],
        "refresh_tokens": [g["refresh_token"] for g in grants[1:]],
    }


# ---- load: wrk, or a Python fallback -------------------------------------------------------------


def wrk_script(kind: str, ctx: dict[str, object], connections: int) -> str:
    if kind == "bare":
        return 'wrk.method = "GET"\nwrk.path = "/healthz"\n' + WRK_DONE
    if kind == "client_credentials":
        return (
            'wrk.method = "POST"\nwrk.path = "/oidc/token"\n'
            'wrk.body = "grant_type=client_credentials"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
            f'wrk.headers["Authorization"] = "{ctx["basic_system"]}"\n' + WRK_DONE
        )
    if kind == "userinfo":
        return (
            'wrk.method = "GET"\nwrk.path = "/oidc/userinfo"\n'
            f'wrk.headers["Authorization"] = "Bearer {ctx["access_token"]}"\n' + WRK_DONE
        )
    # refresh: one chain per wrk thread (one connection each); every response carries the next token.
    tokens = ctx["refresh_tokens"]
    assert isinstance(tokens, list) and len(tokens) >= connections
    lua_tokens = ", ".join(f'"{t}"' for t in tokens[:connections])
    return (
        f"""
local tokens = {{ {lua_tokens} }}
local n = 0
function setup(thread)
  n = n + 1
  thread:set("rt", tokens[n])
end
local headers = {{}}
headers["Content-Type"] = "application/x-www-form-urlencoded"
headers["Authorization"] = "{ctx["basic_rp"]}"
function request()
  return wrk.format("POST", "/oidc/token", headers, "grant_type=refresh_token&refresh_token=" .. rt)
end
function response(status, hdrs, body)
  if status == 200 then
    local next_rt = string.match(body, '"refresh_token":"([^"]+)"')
    if next_rt then rt = next_rt end
  end
end
"""
        + WRK_DONE
    )


def run_wrk(
    kind: str, port: int, ctx: dict[str, object], seconds: float, connections: int, tmp: Path
) -> dict:
    script = tmp / f"{kind}.lua"
    script.write_text(wrk_script(kind, ctx, connections))
    return _http.run_wrk(script, port, seconds, connections, connections)


def run_python(kind: str, port: int, ctx: dict[str, object], seconds: float, connections: int) -> dict:
    """Fallback load: `connections` threads, keep-alive, bounded by time and by 200 000 requests."""
    lock = threading.Lock()
    stats = {"requests": 0, "non2xx": 0, "errors": 0}
    latencies: list[float] = []
    tokens = list(ctx["refresh_tokens"]) if kind == "refresh" else []  # type: ignore[arg-type]
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        rt = tokens[index] if tokens else ""
        mine: list[float] = []
        while time.monotonic() < deadline and stats["requests"] < 200_000:
            if kind == "bare":
                method, path, body, headers = "GET", "/healthz", None, {}
            elif kind == "userinfo":
                method, path, body = "GET", "/oidc/userinfo", None
                headers = {"Authorization": f"Bearer {ctx['access_token']}"}
            else:
                method, path = "POST", "/oidc/token"
                body = "grant_type=client_credentials" if kind == "client_credentials" else (
                    f"grant_type=refresh_token&refresh_token={rt}"
                )  # fmt: skip
                auth = ctx["basic_system"] if kind == "client_credentials" else ctx["basic_rp"]
                headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": str(auth)}
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                ok = 200 <= resp.status < 300
                if ok and kind == "refresh":
                    rt = json.loads(data)["refresh_token"]
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                with lock:
                    stats["errors"] += 1
                continue
            mine.append(time.perf_counter() - t0)
            with lock:
                stats["requests"] += 1
                stats["non2xx"] += 0 if ok else 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return {**stats, "rps": stats["requests"] / elapsed, "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


def python_load_main() -> None:
    """Entry point of the fallback load process (its own process, pinned to CPU 1)."""
    args = json.loads(sys.argv[2])
    got = run_python(args["kind"], args["port"], args["ctx"], args["seconds"], args["connections"])
    print(json.dumps(got))


def run_python_process(
    kind: str, port: int, ctx: dict[str, object], seconds: float, connections: int
) -> dict:
    payload = {"kind": kind, "port": port, "ctx": ctx, "seconds": seconds, "connections": connections}
    return run_load_process(__file__, payload, seconds)


# ---- main ----------------------------------------------------------------------------------------

KINDS = (
    ("bare", "GET /healthz (bare FastAPI)"),
    ("client_credentials", "POST /oidc/token client_credentials"),
    ("refresh", "POST /oidc/token refresh_token"),
    ("userinfo", "GET /oidc/userinfo"),
)


def bench_one(label: str, url: str, args: argparse.Namespace, tmp: Path) -> None:
    ctx = prepare(url, args.connections)
    port = free_port()
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    print(f"\n{label}: demo city (2 000 people, 100 enterprises) built in {ctx['build_seconds']:.1f} s")
    print(
        f"  uvicorn 1 worker on CPU 0; load from {'wrk' if use_wrk else 'Python threads'} on CPU 1, "
        f"{args.connections} connections, {args.seconds:g} s per endpoint"
    )
    print(f"  {'endpoint':<40}{'req/s':>10}{'ratio':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'errors':>8}")
    base = None
    with server(url, port, MASTER_KEY):
        for kind, name in KINDS:
            if use_wrk:
                got = run_wrk(kind, port, ctx, args.seconds, args.connections, tmp)
            else:
                got = run_python_process(kind, port, ctx, args.seconds, args.connections)
            base = base or got["rps"]
            ratio = got["rps"] / base if base else 0.0
            print(
                f"  {name:<40}{got['rps']:>10,.0f}{ratio:>9.2f}{got['p50_ms']:>9.1f}{got['p99_ms']:>9.1f}"
                f"{got['non2xx']:>9}{got['errors']:>8}"
            )


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--load-process":
        python_load_main()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="load time per endpoint (default 5)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), default=None)
    parser.add_argument(
        "--pg", default=os.environ.get("YIWANG_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument(
        "--python-load", action="store_true", help="use the Python load generator even if wrk exists"
    )
    args = parser.parse_args()
    args.seconds = min(max(args.seconds, 1.0), 60.0)
    args.connections = min(max(args.connections, 1), 64)
    print(f"bench_oidc: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="yiwang-bench-oidc-") as tmp_name:
        tmp = Path(tmp_name)
        if args.only in (None, "sqlite"):
            with sqlite_url(tmp) as url:
                bench_one("SQLite (WAL)", url, args, tmp)
        if args.only in (None, "postgresql"):
            if postgres_available(args.pg):
                with postgres_url(args.pg) as url:
                    bench_one("PostgreSQL", url, args, tmp)
            else:
                print(f"\nPostgreSQL: no server at {args.pg}; skipped")


if __name__ == "__main__":
    main()
