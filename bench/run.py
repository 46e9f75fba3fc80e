#!/usr/bin/env python3
"""Gatehouse benchmark (`just bench`). Python 3 standard library only.

Builds release, measures the ceilings (trivial actix-web endpoint, PBKDF2, durable SQLite
inserts), starts the server on a fresh temporary database with generated data, drives it
with wrk (installed from Debian if missing) and prints one markdown table. Every number is
measured in this run on this machine; all load stays on 127.0.0.1 and every step is bounded
in time.

    python3 bench/run.py [--quick] [--scale 1000,1000000] [--json FILE] [--plot FILE]
                         [--postgres | --postgres-only]

--postgres adds SQLite beside PostgreSQL (one replica, and two replicas on one database) at
64 connections for client credentials, refresh, code exchange and introspection, every grant
durable, on a throwaway cluster (initdb + pg_ctl from Debian's postgresql, installed when
missing) that is deleted afterwards.

How tokens are minted: single-use things (refresh tokens, authorization codes) are minted
before the measurement by the real server over HTTP, but started with a cheap hash cost
(1,000 iterations) and `--synchronous normal`, by wrk with bench/mint.lua; the server is then
restarted on the same database with the real settings (600,000 iterations, fsync on every
commit), which also gives the time to ready on an existing database. The scale runs store N
users and N tokens with `gatehouse-bench seed`, which writes them through the server's own
storage crate in large transactions.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-client-secret-0123456789"
OP_USER = "bench-op"  # cheap hash: mints refresh tokens
CODE_USER = "bench-code"  # cheap hash: bench-code-0, -1, ... mint authorization codes
OP_PASSWORD = "bench-op-password"
PW_USER = "bench-pw"  # real cost: the password-grant rows
PW_PASSWORD = "bench-pw-password"
BROKER = "3be9edf1-5491-4d5c-a5c6-423218dfb6cc"
REAL_ITERATIONS = 600_000
MINT_ITERATIONS = 1_000

BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

# Goals of issue 5 (2-core machine).
GOAL_PASSWORD_RATIO = 0.90
GOAL_WRITE_RPS = 5_000
GOAL_WRITE_P99_MS = 20.0
GOAL_WRITE_BASELINE_RATIO = 0.20
GOAL_INTROSPECT_RPS = 20_000
GOAL_SCALE_RATIO = 0.90
GOAL_RSS_MIB = 64.0
GOAL_READY_MS = 200.0


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# setup: wrk, build, processes


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    log("wrk not found: installing it from Debian (apt-get install -y wrk)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(sudo + ["apt-get", "install", "-y", "wrk"], env=env).returncode != 0:
        subprocess.run(sudo + ["apt-get", "update"], env=env, check=True)
        subprocess.run(sudo + ["apt-get", "install", "-y", "wrk"], env=env, check=True)
    path = shutil.which("wrk")
    if not path:
        sys.exit("wrk is still not on PATH after apt-get install")
    return path


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or (ROOT / "target"))


def build(skip: bool) -> tuple[Path, Path]:
    if not skip:
        log("cargo build --release -p gatehouse -p gatehouse-bench")
        subprocess.run(
            ["cargo", "build", "--release", "-p", "gatehouse", "-p", "gatehouse-bench"],
            cwd=ROOT,
            check=True,
        )
    rel = target_dir() / "release"
    server, bench = rel / "gatehouse", rel / "gatehouse-bench"
    for p in (server, bench):
        if not p.exists():
            sys.exit(f"{p} is missing: build first (or drop --no-build)")
    return server, bench


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None,
         timeout: float = 10.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@dataclass
class Proc:
    """A child process we started (and only ever stop by its own pid)."""

    name: str
    popen: subprocess.Popen
    url: str
    log_path: Path
    ready_ms: float = 0.0

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def rss_kib(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) in KiB from /proc."""
        rss = hwm = 0
        try:
            for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        except (OSError, ValueError):
            pass
        return rss, hwm


def start(name: str, argv: list[str], port: int, ready_path: str, workdir: Path,
          timeout: float = 30.0, ready_method: str = "GET") -> Proc:
    log_path = workdir / f"{name}.log"
    logf = open(log_path, "ab")
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, cwd=workdir,
                         env=dict(os.environ, GATEHOUSE_LOG=os.environ.get("GATEHOUSE_LOG", "warn")))
    url = f"http://127.0.0.1:{port}"
    deadline = t0 + timeout
    while True:
        if p.poll() is not None:
            sys.exit(f"{name} exited with {p.returncode} before it was ready; see {log_path}")
        try:
            status, _ = http(ready_method, url + ready_path, b"" if ready_method == "POST" else None,
                             timeout=1.0)
            if 200 <= status < 300:
                break
        except (OSError, urllib.error.URLError):
            pass
        if time.perf_counter() > deadline:
            p.kill()
            sys.exit(f"{name} not ready within {timeout}s; see {log_path}")
        time.sleep(0.002)
    proc = Proc(name, p, url, log_path, (time.perf_counter() - t0) * 1000.0)
    log(f"{name} ready on {url} in {proc.ready_ms:.0f} ms (pid {p.pid})")
    return proc


# ---------------------------------------------------------------------------------------
# wrk


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # HTTP status >= 400 + socket errors (connect, read, write, timeout)
    wrapped: int = 0
    rss_max_kib: int = 0


def wrk_threads(conns: int) -> int:
    return max(1, min(2, conns))


def run_wrk(wrk: str, url: str, script: str, conns: int, seconds: float, env: dict,
            watch: Proc | None = None) -> Load:
    threads = wrk_threads(conns)
    argv = [wrk, "-t", str(threads), "-c", str(conns), "-d", f"{max(1, round(seconds))}s",
            "--timeout", "10s", "-s", str(BENCH_DIR / script), url]
    full_env = dict(os.environ, BENCH_DIR=str(BENCH_DIR), BENCH_THREADS=str(threads), **env)
    p = subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    rss_max = 0
    if watch is not None:
        while p.poll() is None:
            rss_max = max(rss_max, watch.rss_kib()[0])
            time.sleep(0.05)
    out, err = p.communicate(timeout=seconds + 60)
    m = re.search(r"^BENCH_JSON (\{.*\})$", out, re.M)
    if p.returncode != 0 or not m:
        sys.exit(f"wrk failed ({p.returncode}) on {url}:\n{out}\n{err}")
    r = json.loads(m.group(1))
    secs = max(r["duration_us"], 1) / 1e6
    errors = r["status"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
    return Load(rps=r["requests"] / secs, p50_ms=r["p50_us"] / 1000.0, p99_ms=r["p99_us"] / 1000.0,
                requests=r["requests"], errors=errors, wrapped=r["wrapped"], rss_max_kib=rss_max)


def wrk_fixed(wrk, url, conns, seconds, body, ctype, auth=None, accept=None, watch=None) -> Load:
    env = {"BENCH_BODY": body, "BENCH_CONTENT_TYPE": ctype, "BENCH_AUTH": auth or "",
           "BENCH_ACCEPT": accept or ""}
    return run_wrk(wrk, url, "fixed.lua", conns, seconds, env, watch)


def wrk_pooled(wrk, url, conns, seconds, pool: Path, template, ctype, auth=None, accept=None,
               urlencode=False, watch=None) -> Load:
    env = {"BENCH_POOL": str(pool), "BENCH_TEMPLATE": template, "BENCH_CONTENT_TYPE": ctype,
           "BENCH_AUTH": auth or "", "BENCH_ACCEPT": accept or "",
           "BENCH_URLENCODE": "1" if urlencode else "0"}
    return run_wrk(wrk, url, "pooled.lua", conns, seconds, env, watch)


def mint(wrk, url, count: int, out: Path, body, ctype, pattern, auth=None,
         conns: int = 16, max_seconds: float = 300.0, users: Path | None = None) -> Path:
    """Mints at least `count` pool lines into `out` (by wrk with mint.lua). With `users` (a
    file of user names), each request's body is `body` with "{}" replaced by the next user."""
    prefix = out.with_suffix(".part")
    got: list[str] = []
    started = time.monotonic()
    rate = 2000.0
    while len(got) < count:
        if time.monotonic() - started > max_seconds:
            sys.exit(f"minting {out.name}: only {len(got)} of {count} in {max_seconds}s")
        need = count - len(got)
        secs = min(60.0, max(1.0, need / rate * 1.2))
        for f in prefix.parent.glob(prefix.name + ".*"):
            f.unlink()
        env = {"BENCH_BODY": body, "BENCH_CONTENT_TYPE": ctype, "BENCH_AUTH": auth or "",
               "BENCH_ACCEPT": "", "BENCH_MINT_OUT": str(prefix), "BENCH_MINT_PATTERN": pattern,
               "BENCH_POOL": str(users) if users else ""}
        t0 = time.monotonic()
        run_wrk(wrk, url, "mint.lua", conns, secs, env)
        batch: list[str] = []
        for f in sorted(prefix.parent.glob(prefix.name + ".*")):
            batch += [ln for ln in f.read_text().splitlines() if ln]
            f.unlink()
        got += batch
        rate = max(100.0, len(batch) / max(time.monotonic() - t0, 0.1))
    out.write_text("\n".join(got) + "\n")
    log(f"minted {len(got)} into {out.name} ({rate:.0f}/s)")
    return out


def split_pool(pool: Path, parts: int) -> list[Path]:
    lines = [ln for ln in pool.read_text().splitlines() if ln]
    size = len(lines) // parts
    out = []
    for i in range(parts):
        p = pool.with_name(f"{pool.stem}-{i}.txt")
        p.write_text("\n".join(lines[i * size:(i + 1) * size]) + "\n")
        out.append(p)
    return out


# ---------------------------------------------------------------------------------------
# data


def pbkdf2_string(password: str, iterations: int, salt: bytes) -> str:
    """The server's stored form, `pbkdf2-sha256$<iterations>$<salt>$<hash>` (standard base64
    without padding), computed here with hashlib so import hashes nothing."""
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, 32)
    b64 = lambda b: base64.b64encode(b).decode().rstrip("=")  # noqa: E731
    return f"pbkdf2-sha256${iterations}${b64(salt)}${b64(dk)}"


def code_users(count: int) -> list[str]:
    """Enough users to mint `count` authorization codes: since issue 19 a user holds at most
    16 live codes (`max_auth_codes_per_user`), so the codes are spread over users that each
    get at most 12 (the rest is headroom for wrk's last requests of a round)."""
    return [f"{CODE_USER}-{i}" for i in range(count // 12 + 16)]


def import_document(extra_users: int, code_minters: list[str] | None = None) -> dict:
    users = [
        {"user_name": OP_USER, "password_hash": pbkdf2_string(OP_PASSWORD, MINT_ITERATIONS, b"bench-op-salt-01"),
         "operator": True, "editor": True},
        {"user_name": PW_USER, "password_hash": pbkdf2_string(PW_PASSWORD, REAL_ITERATIONS, b"bench-pw-salt-01")},
    ]
    if code_minters:
        minter = pbkdf2_string(OP_PASSWORD, MINT_ITERATIONS, b"bench-cd-salt-01")
        users += [{"user_name": u, "password_hash": minter, "operator": True, "editor": True}
                  for u in code_minters]
    if extra_users:
        cheap = pbkdf2_string("unused-password", MINT_ITERATIONS, b"bench-xx-salt-01")
        users += [{"user_name": f"bench-user-{i}", "password_hash": cheap} for i in range(extra_users)]
    return {
        "brokers": [{"id": BROKER, "name": "Bench Broker"}],
        "clients": [{
            "client_id": CLIENT_ID, "secret": CLIENT_SECRET,
            "grants": ["password", "refresh_token", "client_credentials", "authorization_code", "onetime"],
            "scope": "openid profile", "redirect_url": "https://app.example/callback", "broker_id": BROKER,
        }],
        "users": users,
    }


# ---------------------------------------------------------------------------------------
# rows and goals


@dataclass
class Row:
    endpoint: str
    media: str
    conns: int | str
    load: Load | None = None
    ceiling: str = ""
    ratio: float | None = None
    extra_ratio: str = ""
    goal: str = ""
    value: str = ""  # rows that are not a load (RSS, ready time)
    key: str = ""
    single_use: bool = False  # pool of single-use items: reuse would be an error

    def cells(self) -> list[str]:
        if self.load is None:
            return [self.endpoint, self.media, str(self.conns), self.value, "", "", "",
                    "", self.goal]
        ld = self.load
        ratio = f"{self.ratio * 100:.1f}% of {self.ceiling}" if self.ratio is not None else ""
        if self.extra_ratio:
            ratio = f"{ratio}; {self.extra_ratio}" if ratio else self.extra_ratio
        errs = str(ld.errors) + (f" (single-use pool ran out {ld.wrapped}x)" if ld.wrapped and self.single_use else "")
        return [self.endpoint, self.media, str(self.conns), f"{ld.rps:,.0f}", f"{ld.p50_ms:.2f} ms",
                f"{ld.p99_ms:.2f} ms", errs, ratio, self.goal]


def verdict(ok: bool, miss: str) -> str:
    return "met" if ok else f"**missed**: {miss}"


def goal_min(value: float, target: float, unit: str, fmt: str = "{:,.0f}") -> tuple[bool, str]:
    ok = value >= target
    short = (1 - value / target) * 100 if target else 0
    return ok, f"{fmt.format(value)}{unit} vs >= {fmt.format(target)}{unit} ({short:.0f}% short)"


def goal_max(value: float, target: float, unit: str, fmt: str = "{:.1f}") -> tuple[bool, str]:
    ok = value <= target
    over = (value / target - 1) * 100 if target else 0
    return ok, f"{fmt.format(value)}{unit} vs < {fmt.format(target)}{unit} ({over:.0f}% over)"


def combine(*checks: tuple[bool, str]) -> str:
    misses = [m for ok, m in checks if not ok]
    return "met" if not misses else "**missed**: " + "; ".join(misses)


def markdown(rows: list[Row]) -> str:
    head = ["endpoint", "media type", "conns", "requests/s", "p50", "p99", "errors",
            "ratio to ceiling", "goal"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r.cells()) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# plot (optional: SVG written with the standard library)


def svg_plot(series: dict[str, list[tuple[int, float]]], path: Path) -> None:
    w, h, ml, mr, mt, mb = 760, 440, 70, 230, 30, 50
    pw, ph = w - ml - mr, h - mt - mb
    xs = sorted({c for pts in series.values() for c, _ in pts})
    ymax = max((v for pts in series.values() for _, v in pts), default=1.0) * 1.1 or 1.0
    import math
    lx = lambda c: ml + (math.log2(c) - math.log2(xs[0])) / max(math.log2(xs[-1]) - math.log2(xs[0]), 1) * pw  # noqa: E731
    ly = lambda v: mt + ph - (math.log10(max(v, 1)) / math.log10(ymax)) * ph  # noqa: E731
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{ml}" y="18" font-size="14">Gatehouse: requests/s against concurrency (log-log)</text>',
           f'<line x1="{ml}" y1="{mt + ph}" x2="{ml + pw}" y2="{mt + ph}" stroke="black"/>',
           f'<line x1="{ml}" y1="{mt}" x2="{ml}" y2="{mt + ph}" stroke="black"/>']
    for c in xs:
        out.append(f'<text x="{lx(c):.1f}" y="{mt + ph + 18}" text-anchor="middle">{c}</text>')
    out.append(f'<text x="{ml + pw / 2}" y="{h - 10}" text-anchor="middle">connections</text>')
    decade = 1
    while decade <= ymax:
        y = ly(decade)
        out.append(f'<line x1="{ml}" y1="{y:.1f}" x2="{ml + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{ml - 6}" y="{y + 4:.1f}" text-anchor="end">{decade:,}</text>')
        decade *= 10
    for i, (name, pts) in enumerate(series.items()):
        col = colors[i % len(colors)]
        pts = sorted(pts)
        d = " ".join(f"{lx(c):.1f},{ly(v):.1f}" for c, v in pts)
        out.append(f'<polyline fill="none" stroke="{col}" stroke-width="2" points="{d}"/>')
        for c, v in pts:
            out.append(f'<circle cx="{lx(c):.1f}" cy="{ly(v):.1f}" r="3" fill="{col}"/>')
        out.append(f'<rect x="{ml + pw + 15}" y="{mt + i * 20}" width="12" height="3" fill="{col}"/>')
        out.append(f'<text x="{ml + pw + 32}" y="{mt + i * 20 + 5}">{name}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


# ---------------------------------------------------------------------------------------
# the run


@dataclass
class Config:
    quick: bool
    seconds: float
    concurrencies: list[int]
    password_concurrencies: list[int]
    scale: list[int]
    workers: int
    hash_threads: int
    keep: bool
    pg_endpoints: tuple = ("client_credentials", "refresh", "code", "introspect")
    results: dict = field(default_factory=dict)


def bench_main(cfg: Config, wrk: str, server_bin: Path, bench_bin: Path, work: Path) -> tuple[list[Row], dict]:
    rows: list[Row] = []
    series: dict[str, list[tuple[int, float]]] = {}
    secs = cfg.seconds
    cores = os.cpu_count() or 1

    # --- ceilings -----------------------------------------------------------------------
    log(f"PBKDF2 ceiling at {REAL_ITERATIONS} iterations")
    pb = json.loads(subprocess.run([str(bench_bin), "pbkdf2", "--iterations", str(REAL_ITERATIONS),
                                    "--samples", "3" if cfg.quick else "5"],
                                   check=True, capture_output=True, text=True).stdout)
    sq = {}
    for sync in ("full", "normal"):
        log(f"SQLite single-row commits, synchronous={sync}")
        sq[sync] = json.loads(subprocess.run(
            [str(bench_bin), "sqlite-inserts", "--synchronous", sync, "--seconds", str(min(secs, 5)),
             "--dir", str(work)], check=True, capture_output=True, text=True).stdout)
    sqlite_full = sq["full"]["commits_per_second"]

    port = free_port()
    base = start("baseline", [str(bench_bin), "baseline-server", "--bind", f"127.0.0.1:{port}",
                              "--workers", str(cfg.workers)], port, "/echo", work, ready_method="POST")
    baseline: dict[int, float] = {}
    try:
        for c in cfg.concurrencies:
            ld = wrk_fixed(wrk, base.url + "/echo", c, secs, '{"ping":1}', "application/json")
            baseline[c] = ld.rps
            rows.append(Row("baseline `POST /echo` (actix-web, serde_json)", "json", c, ld,
                            key=f"baseline/{c}"))
            series.setdefault("baseline /echo", []).append((c, ld.rps))
    finally:
        base.stop()
    for c in [c for c in cfg.password_concurrencies if c not in baseline]:
        baseline[c] = max(baseline.values())

    def vs_baseline(c: int) -> float:
        return baseline.get(c) or max(baseline.values())

    # --- database, import, mint -----------------------------------------------------------
    db = work / "bench.db"
    doc = work / "import.json"
    n_write_runs = len(cfg.concurrencies) + 1  # + the isolation run
    pool_per_run = int(secs * max(3000.0, 1.5 * sq["normal"]["commits_per_second"] / 4)) + 500
    minters = code_users(pool_per_run * len(cfg.concurrencies))
    (work / "code-users.txt").write_text("\n".join(minters) + "\n")
    doc.write_text(json.dumps(import_document(0, minters)))
    subprocess.run([str(server_bin), "--database", str(db), "import", str(doc)], check=True,
                   capture_output=True)
    port = free_port()
    mint_srv = start("gatehouse-mint", [str(server_bin), "--database", str(db), "serve", "--bind",
                                        f"127.0.0.1:{port}", "--hash-iterations", str(MINT_ITERATIONS),
                                        "--hash-threads", str(cfg.hash_threads), "--hash-queue", "1024",
                                        "--workers", str(cfg.workers), "--synchronous", "normal",
                                        "--code-lifetime", "3600"], port, "/healthz", work)
    try:
        refresh_pool = mint(wrk, mint_srv.url + "/api/v1/auth/token", pool_per_run * n_write_runs,
                            work / "refresh.txt",
                            f"grant_type=password&username={OP_USER}&password={OP_PASSWORD}",
                            "application/x-www-form-urlencoded", r'"refresh_token":"([^"]+)"', auth=BASIC)
        code_pool = mint(wrk, mint_srv.url + "/admin/login/auth_code", pool_per_run * len(cfg.concurrencies),
                         work / "codes.txt",
                         f"ClientId={CLIENT_ID}&ClientSecret={CLIENT_SECRET}&Username={{}}&Password={OP_PASSWORD}",
                         "application/x-www-form-urlencoded", r'"AuthCode":"([^"]+)"',
                         users=work / "code-users.txt")
        access_pool = mint(wrk, mint_srv.url + "/api/v1/auth/token", 20000, work / "access.txt",
                           "grant_type=client_credentials", "application/x-www-form-urlencoded",
                           r'"access_token":"([^"]+)"', auth=BASIC)
    finally:
        mint_srv.stop()
    refresh_pools = split_pool(refresh_pool, n_write_runs)
    code_pools = split_pool(code_pool, len(cfg.concurrencies))

    # --- the real server: ready time on an existing database ------------------------------
    def serve_real(dbpath: Path, name: str) -> Proc:
        p = free_port()
        return start(name, [str(server_bin), "--database", str(dbpath), "serve", "--bind", f"127.0.0.1:{p}",
                            "--hash-iterations", str(REAL_ITERATIONS), "--hash-threads", str(cfg.hash_threads),
                            "--hash-queue", "256", "--workers", str(cfg.workers), "--synchronous", "full"],
                     p, "/healthz", work)

    srv = serve_real(db, "gatehouse")
    ready_ms = srv.ready_ms
    form = "application/x-www-form-urlencoded"
    try:
        # password grants (PBKDF2 at the real cost)
        for c in cfg.password_concurrencies:
            ld = wrk_fixed(wrk, srv.url + "/token", c, max(secs, 4),
                           f"grant_type=password&userName={PW_USER}&password={PW_PASSWORD}", form)
            # One request at a time can keep only one core hashing: the ceiling at
            # concurrency c is min(c, cores) / t.
            usable = min(c, int(pb["cores"]))
            ceiling = usable / pb["seconds_per_hash"]
            ratio = ld.rps / ceiling
            checks = [(ratio >= GOAL_PASSWORD_RATIO,
                       f"{ratio * 100:.0f}% of the PBKDF2 ceiling on {usable} core(s) vs >= {GOAL_PASSWORD_RATIO * 100:.0f}%")]
            if c == 1:
                hash_ms = pb["seconds_per_hash"] * 1000
                checks.append((ld.p50_ms <= hash_ms + 2.0,
                               f"p50 {ld.p50_ms:.1f} ms vs one hash {hash_ms:.1f} ms + 2 ms"))
            rows.append(Row("katana `/token` password", "form", c, ld,
                            f"PBKDF2 {ceiling:.1f}/s on {usable} core(s)", ratio,
                            goal=combine(*checks), key=f"password/{c}"))
            series.setdefault("password (katana)", []).append((c, ld.rps))

        def write_goal(c: int, ld: Load) -> str:
            if c != max(cfg.concurrencies):
                return ""
            return combine(goal_min(ld.rps, GOAL_WRITE_RPS, "/s"),
                           goal_max(ld.p99_ms, GOAL_WRITE_P99_MS, " ms p99"),
                           (ld.rps / vs_baseline(c) >= GOAL_WRITE_BASELINE_RATIO,
                            f"{ld.rps / vs_baseline(c) * 100:.0f}% of baseline vs >= 20%"))

        def write_row(name, media, c, ld, key, single_use=False):
            rows.append(Row(name, media, c, ld, f"baseline {vs_baseline(c):,.0f}/s", ld.rps / vs_baseline(c),
                            f"{ld.rps / sqlite_full * 100:.0f}% of SQLite fsync commits {sqlite_full:,.0f}/s",
                            write_goal(c, ld), key=key, single_use=single_use))
            series.setdefault(name.replace("`", ""), []).append((c, ld.rps))

        for i, c in enumerate(cfg.concurrencies):
            ld = wrk_pooled(wrk, srv.url + "/api/v1/auth/token", c, secs, refresh_pools[i],
                            '{"grant_type":"refresh_token","refresh_token":"{}"}', "application/json", auth=BASIC)
            write_row("v1 refresh_token", "json", c, ld, f"refresh/{c}", single_use=True)
        for c in cfg.concurrencies:
            ld = wrk_fixed(wrk, srv.url + "/api/v1/auth/token", c, secs, "grant_type=client_credentials", form,
                           auth=BASIC)
            write_row("v1 client_credentials", "form", c, ld, f"cc-form/{c}")
        xml_cc = ('<TokenRequest xmlns="http://schemas.datacontract.org/2004/07/IO.Swagger.Models">'
                  f'<client_id>{CLIENT_ID}</client_id><client_secret>{CLIENT_SECRET}</client_secret>'
                  '<grant_type>client_credentials</grant_type></TokenRequest>')
        for c in [max(cfg.concurrencies)]:
            ld = wrk_fixed(wrk, srv.url + "/api/v1/auth/token", c, secs, xml_cc, "application/xml",
                           accept="application/xml")
            write_row("v1 client_credentials", "xml", c, ld, f"cc-xml/{c}")
        for i, c in enumerate(cfg.concurrencies):
            ld = wrk_pooled(wrk, srv.url + "/admin/login/token", c, secs, code_pools[i],
                            f'{{"ClientId":"{CLIENT_ID}","ClientSecret":"{CLIENT_SECRET}","AuthCode":"{{}}"}}',
                            "application/json")
            write_row("otc `/admin/login/token` code exchange", "json", c, ld, f"code/{c}", single_use=True)
        intro_best = 0.0
        for c in cfg.concurrencies:
            ld = wrk_pooled(wrk, srv.url + "/oauth2/introspect", c, secs, access_pool, "token={}", form,
                            auth=BASIC, urlencode=True)
            intro_best = max(intro_best, ld.rps)
            goal = ""
            if c == max(cfg.concurrencies):
                goal = combine(goal_min(intro_best, GOAL_INTROSPECT_RPS, "/s (best)"))
            rows.append(Row("`/oauth2/introspect`", "form", c, ld, f"baseline {vs_baseline(c):,.0f}/s",
                            ld.rps / vs_baseline(c), goal=goal, key=f"introspect/{c}"))
            series.setdefault("introspect", []).append((c, ld.rps))

        # isolation: refresh while password grants flood the hash pool
        log("isolation: refresh at 16 connections during a password flood at 64")
        flood = subprocess.Popen(
            [wrk, "-t", "1", "-c", "64", "-d", f"{round(secs) + 4}s", "--timeout", "10s", "-s",
             str(BENCH_DIR / "fixed.lua"), srv.url + "/token"],
            env=dict(os.environ, BENCH_DIR=str(BENCH_DIR), BENCH_THREADS="1", BENCH_CONTENT_TYPE=form,
                     BENCH_BODY=f"grant_type=password&userName={PW_USER}&password={PW_PASSWORD}"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(2)
            ld = wrk_pooled(wrk, srv.url + "/api/v1/auth/token", 16, secs, refresh_pools[-1],
                            '{"grant_type":"refresh_token","refresh_token":"{}"}', "application/json", auth=BASIC)
        finally:
            fout, _ = flood.communicate(timeout=secs + 60)
        fm = re.search(r"^BENCH_JSON (\{.*\})$", fout, re.M)
        flood_note = ""
        if fm:
            fj = json.loads(fm.group(1))
            flood_note = (f"during {fj['requests'] / max(fj['duration_us'], 1) * 1e6:.1f} password grants/s "
                          f"({fj['status']} answered >= 400, i.e. 503 from the full hash queue)")
        rows.append(Row("v1 refresh_token under password flood", "json", 16, ld, extra_ratio=flood_note,
                        goal=combine(goal_max(ld.p99_ms, GOAL_WRITE_P99_MS, " ms p99")), key="isolation",
                        single_use=True))

        # memory at 256 connections
        log("RSS at 256 connections (introspection)")
        ld = wrk_pooled(wrk, srv.url + "/oauth2/introspect", 256, secs, access_pool, "token={}", form,
                        auth=BASIC, urlencode=True, watch=srv)
        rows.append(Row("`/oauth2/introspect`", "form", 256, ld, f"baseline {vs_baseline(max(baseline)):,.0f}/s",
                        ld.rps / vs_baseline(max(baseline)), key="introspect/256"))
        _, hwm = srv.rss_kib()
        rss_mib = ld.rss_max_kib / 1024
        rows.append(Row("server resident set (max VmRSS during the 256-connection run)", "", 256,
                        value=f"{rss_mib:.1f} MiB (VmHWM {hwm / 1024:.1f} MiB)",
                        goal=combine(goal_max(rss_mib, GOAL_RSS_MIB, " MiB")), key="rss"))
    finally:
        srv.stop()
    rows.append(Row("time to ready on an existing database (spawn to first 200 from /healthz)", "", "-",
                    value=f"{ready_ms:.0f} ms", goal=combine(goal_max(ready_ms, GOAL_READY_MS, " ms", "{:.0f}")),
                    key="ready"))

    # --- scale ------------------------------------------------------------------------------
    scale_rates: dict[str, dict[int, float]] = {}
    for n in cfg.scale:
        sdir = work / f"scale-{n}"
        sdir.mkdir()
        sdb = sdir / "bench.db"
        sdoc = sdir / "import.json"
        sdoc.write_text(json.dumps(import_document(0)))
        subprocess.run([str(server_bin), "--database", str(sdb), "import", str(sdoc)], check=True,
                       capture_output=True)
        log(f"scale {n:,}: seeding {n:,} users and {n:,} tokens")
        t0 = time.monotonic()
        subprocess.run([str(bench_bin), "seed", "--database", str(sdb), "--users", str(n), "--tokens", str(n),
                        "--client", CLIENT_ID, "--sample-out", str(sdir / "tokens.txt"), "--sample", "50000"],
                       check=True)
        log(f"scale {n:,}: seeded in {time.monotonic() - t0:.1f} s")
        srv = serve_real(sdb, f"gatehouse-{n}")
        c = max(cfg.concurrencies)
        try:
            ld_i = wrk_pooled(wrk, srv.url + "/oauth2/introspect", c, secs, sdir / "tokens.txt", "token={}", form,
                              auth=BASIC, urlencode=True)
            ld_c = wrk_fixed(wrk, srv.url + "/api/v1/auth/token", c, secs, "grant_type=client_credentials", form,
                             auth=BASIC)
        finally:
            srv.stop()
        for name, ld in (("introspect", ld_i), ("client_credentials", ld_c)):
            scale_rates.setdefault(name, {})[n] = ld.rps
            rows.append(Row(f"scale {n:,} tokens+users: {'`/oauth2/introspect`' if name == 'introspect' else 'v1 client_credentials'}",
                            "form", c, ld, key=f"scale/{n}/{name}"))
    if len(cfg.scale) >= 2:
        lo, hi = min(cfg.scale), max(cfg.scale)
        for r in rows:
            if r.key.startswith(f"scale/{hi}/"):
                name = r.key.split("/")[2]
                ratio = scale_rates[name][hi] / scale_rates[name][lo]
                r.ceiling, r.ratio = f"the rate at {lo:,}", ratio
                r.goal = verdict(ratio >= GOAL_SCALE_RATIO, f"{ratio * 100:.0f}% of the rate at {lo:,} vs >= 90%")

    results = {"pbkdf2": pb, "sqlite": sq, "baseline": baseline, "ready_ms": ready_ms, "series": series,
               "rows": [{"key": r.key, "cells": r.cells()} for r in rows], "cores": cores}
    return rows, results


# ---------------------------------------------------------------------------------------
# PostgreSQL: a throwaway durable cluster, one and two replicas


def ensure_postgres() -> Path:
    """The newest /usr/lib/postgresql/*/bin (Debian's postgresql, installed when missing)."""
    def find() -> Path | None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
        return bins[-1].parent if bins else None
    found = find()
    if found:
        return found
    log("PostgreSQL not found: installing Debian's postgresql (apt-get install -y postgresql)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(sudo + ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"], env=env).returncode != 0:
        subprocess.run(sudo + ["apt-get", "update"], env=env, check=True)
        subprocess.run(sudo + ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"], env=env, check=True)
    found = find()
    if not found:
        sys.exit("initdb is still missing after apt-get install postgresql")
    return found


class PgCluster:
    """initdb + pg_ctl into a temporary directory, on a free loopback port, durable
    (fsync=on, synchronous_commit=on: PostgreSQL's defaults). As root it runs as Debian's
    `postgres` system user. Stopped and deleted by stop()."""

    USER = "gatehouse"

    def __init__(self, bin_dir: Path):
        import pwd
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="gatehouse-bench-pg-"))
        self.password = base64.b32encode(os.urandom(10)).decode().lower()
        self.run_as = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "postgres"], check=True)
                pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.run_as = "postgres"
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, pwd.getpwnam("postgres").pw_gid)
        self.port = free_port()
        data = self.dir / "data"
        self._tool("initdb", "-D", str(data), "-U", self.USER, "-A", "scram-sha-256", "-E", "UTF8",
                   "--locale=C", f"--pwfile={pwfile}")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                "-c shared_buffers=256MB -c fsync=on -c synchronous_commit=on")
        self._tool("pg_ctl", "-D", str(data), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o", opts, "start")
        log(f"PostgreSQL {self.bin.parent.name} cluster on 127.0.0.1:{self.port} in {self.dir}")

    def _tool(self, name: str, *args: str) -> None:
        argv = [str(self.bin / name), *args]
        if self.run_as:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        subprocess.run(argv, check=True, capture_output=True)

    def url(self, db: str) -> str:
        return f"postgres://{self.USER}:{self.password}@127.0.0.1:{self.port}/{db}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        r = subprocess.run([str(self.bin / "psql"), "-X", "-q", "-t", "-A", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", self.USER, "-d", db, "-c", sql],
                           env=dict(os.environ, PGPASSWORD=self.password), check=True, capture_output=True, text=True)
        return r.stdout.strip()

    def create(self, db: str) -> str:
        self.psql(f"CREATE DATABASE {db}")
        return self.url(db)

    def commit_rate(self, seconds: float, work: Path) -> float:
        """Durable single-row commits per second by one client (pgbench): the PostgreSQL
        counterpart of the SQLite fsync ceiling."""
        self.psql("CREATE TABLE IF NOT EXISTS commits (id bigserial PRIMARY KEY, v bytea)")
        script = work / "commit.sql"
        script.write_text("INSERT INTO commits (v) VALUES ('\\x00');\n")
        r = subprocess.run([str(self.bin / "pgbench"), "-n", "-c", "1", "-T", str(max(1, round(seconds))),
                            "-f", str(script), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.USER,
                            "postgres"], env=dict(os.environ, PGPASSWORD=self.password),
                           check=True, capture_output=True, text=True)
        m = re.search(r"tps = ([0-9.]+)", r.stdout)
        return float(m.group(1)) if m else 0.0

    def stop(self) -> None:
        try:
            self._tool("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def wrk_both(loads: list) -> Load:
    """Runs several wrk loads at once (callables), sums the rates, keeps the worst p99."""
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(len(loads)) as ex:
        results = list(ex.map(lambda f: f(), loads))
    return Load(rps=sum(r.rps for r in results), p50_ms=max(r.p50_ms for r in results),
                p99_ms=max(r.p99_ms for r in results), requests=sum(r.requests for r in results),
                errors=sum(r.errors for r in results), wrapped=sum(r.wrapped for r in results))


def postgres_main(cfg: Config, wrk: str, server_bin: Path, work: Path) -> tuple[list[Row], dict]:
    """SQLite and PostgreSQL side by side on the four write/read endpoints at 64 connections:
    SQLite (one process), PostgreSQL with one replica, PostgreSQL with two replicas (two
    processes on the same database, the 64 connections split between them), each grant
    durable (SQLite synchronous=FULL, PostgreSQL synchronous_commit=on)."""
    rows: list[Row] = []
    secs = cfg.seconds
    c = 64
    form = "application/x-www-form-urlencoded"
    pg = PgCluster(ensure_postgres())
    procs: list[Proc] = []
    try:
        pg_commits = pg.commit_rate(min(secs, 5), work)
        log(f"PostgreSQL durable single-row commits (pgbench, 1 client): {pg_commits:,.0f}/s")
        doc = work / "pg-import.json"
        per_run = int(secs * 4000) + 500
        minters = code_users(per_run * 2)
        (work / "pg-code-users.txt").write_text("\n".join(minters) + "\n")
        doc.write_text(json.dumps(import_document(0, minters)))
        targets = {"sqlite": str(work / "cmp.db"), "postgres": pg.create("bench")}
        for name, database in targets.items():
            subprocess.run([str(server_bin), "--database", database, "import", str(doc)], check=True,
                           capture_output=True)

        def serve(database: str, name: str, sync: str, iterations: int, workers: int) -> Proc:
            p = free_port()
            proc = start(name, [str(server_bin), "--database", database, "serve", "--bind", f"127.0.0.1:{p}",
                                "--hash-iterations", str(iterations), "--hash-threads", str(cfg.hash_threads),
                                "--hash-queue", "1024", "--workers", str(workers), "--synchronous", sync,
                                "--code-lifetime", "3600", "--database-pool-size", "16"], p, "/healthz", work)
            procs.append(proc)
            return proc

        # Single-use pools, minted per backend (one pool per measured run).
        runs = ["sqlite", "pg1", "pg2"]
        pools: dict[str, dict[str, Path]] = {}
        for name, database in targets.items():
            m = serve(database, f"mint-{name}", "normal", MINT_ITERATIONS, cfg.workers)
            n_runs = 1 if name == "sqlite" else 2
            # A pool not measured is one placeholder line (nothing minted for it). Codes are
            # minted by many users (`code_users`: at most 16 live codes per user since issue 19).
            refresh = codes = access = work / "unused.txt"
            refresh.write_text("unused\n")
            if "refresh" in cfg.pg_endpoints:
                refresh = mint(wrk, m.url + "/api/v1/auth/token", per_run * n_runs, work / f"refresh-{name}.txt",
                               f"grant_type=password&username={OP_USER}&password={OP_PASSWORD}", form,
                               r'"refresh_token":"([^"]+)"', auth=BASIC)
            if "code" in cfg.pg_endpoints:
                codes = mint(wrk, m.url + "/admin/login/auth_code", per_run * n_runs, work / f"codes-{name}.txt",
                             f"ClientId={CLIENT_ID}&ClientSecret={CLIENT_SECRET}&Username={{}}&Password={OP_PASSWORD}",
                             form, r'"AuthCode":"([^"]+)"', users=work / "pg-code-users.txt")
            if "introspect" in cfg.pg_endpoints:
                access = mint(wrk, m.url + "/api/v1/auth/token", 20000, work / f"access-{name}.txt",
                              "grant_type=client_credentials", form, r'"access_token":"([^"]+)"', auth=BASIC)
            m.stop()
            procs.remove(m)
            if name == "sqlite":
                pools["sqlite"] = {"refresh": refresh, "codes": codes, "access": access}
            else:
                r1, r2 = split_pool(refresh, 2)
                c1, c2 = split_pool(codes, 2)
                pools["pg1"] = {"refresh": r1, "codes": c1, "access": access}
                pools["pg2"] = {"refresh": r2, "codes": c2, "access": access}

        keys = [k for k in ["client_credentials", "refresh", "code", "introspect"] if k in cfg.pg_endpoints]

        def measure(servers: list[Proc], run: str, key: str) -> Load:
            share = c // len(servers)
            pool = pools[run]
            halves = {k: (split_pool(v, len(servers)) if len(servers) > 1 else [v]) for k, v in pool.items()}
            if key == "client_credentials":
                return wrk_both([
                    (lambda s=s: wrk_fixed(wrk, s.url + "/api/v1/auth/token", share, secs,
                                           "grant_type=client_credentials", form, auth=BASIC)) for s in servers])
            if key == "refresh":
                return wrk_both([
                    (lambda s=s, i=i: wrk_pooled(wrk, s.url + "/api/v1/auth/token", share, secs,
                                                 halves["refresh"][i],
                                                 '{"grant_type":"refresh_token","refresh_token":"{}"}',
                                                 "application/json", auth=BASIC)) for i, s in enumerate(servers)])
            if key == "code":
                return wrk_both([
                    (lambda s=s, i=i: wrk_pooled(wrk, s.url + "/admin/login/token", share, secs, halves["codes"][i],
                                                 f'{{"ClientId":"{CLIENT_ID}","ClientSecret":"{CLIENT_SECRET}","AuthCode":"{{}}"}}',
                                                 "application/json")) for i, s in enumerate(servers)])
            return wrk_both([
                (lambda s=s: wrk_pooled(wrk, s.url + "/oauth2/introspect", share, secs, pool["access"], "token={}",
                                        form, auth=BASIC, urlencode=True)) for s in servers])

        # SQLite and one PostgreSQL replica measured endpoint by endpoint, one right after the
        # other (both servers up, the one not measured idle): on a machine shared with other
        # work the two rows of an endpoint see nearly the same load, so their ratio means
        # something even when the absolute rates move.
        measured: dict[str, dict[str, Load]] = {run: {} for run in runs}
        s = serve(targets["sqlite"], "gatehouse-sqlite", "full", REAL_ITERATIONS, cfg.workers)
        one = serve(targets["postgres"], "gatehouse-pg", "full", REAL_ITERATIONS, cfg.workers)
        for key in keys:
            measured["sqlite"][key] = measure([s], "sqlite", key)
            measured["pg1"][key] = measure([one], "pg1", key)
            log(f"{key}: SQLite {measured['sqlite'][key].rps:,.0f}/s, PostgreSQL {measured['pg1'][key].rps:,.0f}/s "
                f"(load average {os.getloadavg()[0]:.1f})")
        s.stop()
        procs.remove(s)
        two = serve(targets["postgres"], "gatehouse-pg-2", "full", REAL_ITERATIONS, cfg.workers)
        for key in keys:
            measured["pg2"][key] = measure([one, two], "pg2", key)
    finally:
        for p in procs:
            p.stop()
        pg.stop()

    names = {"client_credentials": ("v1 client_credentials", "form", 0.5),
             "refresh": ("v1 refresh_token", "json", None),
             "code": ("otc `/admin/login/token` code exchange", "json", None),
             "introspect": ("`/oauth2/introspect`", "form", 0.7)}
    labels = {"sqlite": "SQLite, 1 process", "pg1": "PostgreSQL, 1 replica", "pg2": "PostgreSQL, 2 replicas"}
    for key, (endpoint, media, goal_ratio) in names.items():
        if key not in measured["sqlite"]:
            continue
        base = measured["sqlite"][key].rps
        for run in runs:
            ld = measured[run][key]
            goal = ""
            if run != "sqlite" and goal_ratio is not None:
                ratio = ld.rps / base
                goal = verdict(ratio >= goal_ratio,
                               f"{ratio * 100:.0f}% of SQLite vs >= {goal_ratio * 100:.0f}%")
            rows.append(Row(f"{labels[run]}: {endpoint}", media, c, ld,
                            "SQLite" if run != "sqlite" else "", ld.rps / base if run != "sqlite" else None,
                            goal=goal, key=f"db/{run}/{key}",
                            single_use=key in ("refresh", "code")))
    return rows, {"pg_commits_per_second": pg_commits,
                  "db_rows": [{"key": r.key, "cells": r.cells()} for r in rows]}


def machine() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kib = 0
    return f"{os.cpu_count()} CPUs ({model}), {mem_kib / 1024 / 1024:.1f} GiB RAM, Linux {os.uname().release}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short run: 3 s per point, concurrencies 1 and 64")
    ap.add_argument("--seconds", type=float, help="seconds per measured point (default 10, quick 3)")
    ap.add_argument("--scale", default="", help="comma-separated stored token/user counts, e.g. 1000,1000000")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="server and baseline workers")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--plot", type=Path, help="write a throughput-vs-concurrency plot (.svg)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--postgres", action="store_true",
                    help="also compare SQLite with PostgreSQL (1 and 2 replicas) on a throwaway cluster")
    ap.add_argument("--postgres-only", action="store_true",
                    help="only the SQLite/PostgreSQL comparison (skips the other rows)")
    ap.add_argument("--pg-endpoints", default="client_credentials,refresh,code,introspect",
                    help="the endpoints of the SQLite/PostgreSQL comparison (comma-separated subset of "
                         "client_credentials, refresh, code, introspect); each pool minted only when measured")
    args = ap.parse_args()
    pg_endpoints = tuple(k.strip() for k in args.pg_endpoints.split(",") if k.strip())
    if not pg_endpoints or any(k not in ("client_credentials", "refresh", "code", "introspect") for k in pg_endpoints):
        sys.exit(f"--pg-endpoints: expected a subset of client_credentials,refresh,code,introspect, got {args.pg_endpoints!r}")

    try:
        scale = [int(x.replace("_", "")) for x in args.scale.split(",") if x.strip()]
    except ValueError:
        sys.exit(f"--scale: expected comma-separated counts, got {args.scale!r}")
    if any(n < 1 or n > 10_000_000 for n in scale):
        sys.exit("--scale: counts must be in 1..10,000,000")
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    if not (0.5 <= seconds <= 120):
        sys.exit("--seconds must be in 0.5..120")
    cfg = Config(quick=args.quick, seconds=seconds,
                 concurrencies=[1, 64] if args.quick else [1, 16, 64],
                 password_concurrencies=[1, 4] if args.quick else [1, 2, 4, 16],
                 scale=scale, workers=max(1, args.workers), hash_threads=os.cpu_count() or 1, keep=args.keep,
                 pg_endpoints=pg_endpoints)

    wrk = ensure_wrk()
    server_bin, bench_bin = build(args.no_build)
    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    log(f"work directory {work}")
    t0 = time.monotonic()
    load_before = os.getloadavg()
    try:
        if args.postgres_only:
            rows, results = [], {"pbkdf2": None, "sqlite": None, "series": {}}
        else:
            rows, results = bench_main(cfg, wrk, server_bin, bench_bin, work)
        if args.postgres or args.postgres_only:
            db_rows, db_results = postgres_main(cfg, wrk, server_bin, work)
            rows += db_rows
            results.update(db_results)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["machine"] = machine()
    results["command"] = " ".join(["python3", "bench/run.py"] + sys.argv[1:])
    results["seconds_per_point"] = seconds
    results["wall_seconds"] = time.monotonic() - t0
    results["loadavg_before"], results["loadavg_after"] = load_before, os.getloadavg()
    pb, sq = results["pbkdf2"], results["sqlite"]
    print(f"Machine: {results['machine']}")
    if "pg_commits_per_second" in results:
        print(f"PostgreSQL durable single-row commits (pgbench, one client, synchronous_commit=on): "
              f"{results['pg_commits_per_second']:,.0f}/s")
    if pb and sq:
        print(f"Ceilings: PBKDF2-SHA256 {pb['iterations']:,} iterations {pb['seconds_per_hash'] * 1000:.1f} ms/hash, "
              f"{pb['cores']} cores -> {pb['hashes_per_second']:.1f} hashes/s; SQLite WAL single-row commits "
              f"{sq['full']['commits_per_second']:,.0f}/s (synchronous=full), "
              f"{sq['normal']['commits_per_second']:,.0f}/s (normal)")
    print(f"{seconds:g} s per point; errors = HTTP status >= 400 + socket errors; wall time "
          f"{results['wall_seconds']:.0f} s; load average (1 min) {load_before[0]:.1f} before, "
          f"{results['loadavg_after'][0]:.1f} after (other processes compete for the same cores above "
          f"{os.cpu_count()})\n")
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.plot:
        svg_plot({k: v for k, v in results["series"].items() if len(v) > 1}, args.plot)
        log(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
