#!/usr/bin/env python3
"""Gatehouse beside the servers users would pick instead (`just bench-peers`, issue 23).

    python3 bench/peers.py [--rounds 3] [--seconds 5] [--conns 64] [--no-build]
                           [--markdown bench/results/peers.md] [--json bench/results/peers.json]
                           [--plot bench/results/peers.png]

The same two workloads through wrk against each server, in interleaved rounds (every round
measures every server once, in a rotated order, so the machine's drift hits them alike), and
the median of the rounds:

* client-credentials grants: `POST` to the token endpoint, `client_secret_basic`, a fixed
  form body (bench/fixed.lua);
* introspection (RFC 7662) of tokens that server issued, a different token per request
  (bench/pooled.lua over a pool minted from the server itself by bench/mint.lua).

Servers (pinned: bench/peers/package.json + package-lock.json, bench/peers/requirements.txt):

* Gatehouse, release build, `--synchronous full` (fsync of every grant before the answer),
  the settings of bench/run.py (2 workers, the real 600,000-iteration hash cost), and its
  `/healthz` in the same rounds (the introspection goal is a ratio to it);
* @node-oauth/oauth2-server on Koa (bench/peers/node-oauth2-server.mjs), in-memory model;
* oidc-provider (bench/peers/oidc-provider.mjs), NODE_ENV=production, in-memory adapter;
* Authlib's Flask server (bench/peers/authlib_server.py) on SQLite, gunicorn with 2 workers.

Client secrets: every server checks one in each request; none stretches it (Gatehouse an
HMAC-SHA256, the others a constant-time comparison), so no password hash is in either
workload. `npm ci` and a venv with `pip install -r requirements.txt` are made on first use
(bench/peers/node_modules, bench/peers/.venv). Every server is started here and stopped by its
own PID.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: wrk, processes, data)

PEERS = run.BENCH_DIR / "peers"
VENV = PEERS / ".venv"
FORM = "application/x-www-form-urlencoded"
TOKEN_RE = r'"access_token": ?"([^"]+)"'


def ensure_node() -> None:
    if not (PEERS / "node_modules" / "oidc-provider").exists():
        run.log("npm ci (bench/peers)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEERS, check=True)


def ensure_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        run.log("python venv + pip install -r bench/peers/requirements.txt")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(PEERS / "requirements.txt")],
                       check=True)
    return py


def npm_version(package: str) -> str:
    return json.loads((PEERS / "node_modules" / package / "package.json").read_text())["version"]


def pip_version(py: Path, package: str) -> str:
    return subprocess.run([str(py), "-c", f"import importlib.metadata as m; print(m.version('{package}'))"],
                          check=True, capture_output=True, text=True).stdout.strip()


class Server:
    """One server under test: how to mint its tokens and where its two endpoints are."""

    def __init__(self, key, name, storage, proc, token_path, introspect_path, version):
        self.key, self.name, self.storage = key, name, storage
        self.proc, self.version = proc, version
        self.token_url = proc.url + token_path
        self.introspect_url = proc.url + introspect_path
        self.pool: Path | None = None


def start_all(work: Path, server_bin: Path, py: Path) -> list[Server]:
    node = shutil.which("node") or sys.exit("node is not on PATH")
    cid, secret = run.CLIENT_ID, run.CLIENT_SECRET
    servers: list[Server] = []
    try:
        db = work / "gatehouse.db"
        doc = work / "import.json"
        doc.write_text(json.dumps(run.import_document(0)))
        subprocess.run([str(server_bin), "--database", str(db), "import", str(doc)], check=True,
                       capture_output=True)
        port = run.free_port()
        cores = str(os.cpu_count() or 1)
        gh = run.start("gatehouse", [str(server_bin), "--database", str(db), "serve", "--bind",
                                     f"127.0.0.1:{port}", "--hash-iterations", str(run.REAL_ITERATIONS),
                                     "--hash-threads", cores, "--hash-queue", "256", "--workers", cores,
                                     "--synchronous", "full"], port, "/healthz", work)
        version = subprocess.run([str(server_bin), "--version"], capture_output=True, text=True).stdout.strip()
        servers.append(Server("gatehouse", "Gatehouse", "SQLite (WAL), `--synchronous full`: fsync before every grant's answer",
                              gh, "/oauth2/token", "/oauth2/introspect", version or "gatehouse (this tree)"))

        port = run.free_port()
        p = run.start("node-oauth2-server", [node, str(PEERS / "node-oauth2-server.mjs"), str(port), cid, secret],
                      port, "/healthz", work)
        servers.append(Server("node-oauth2-server", "@node-oauth/oauth2-server (Koa)",
                              "a JavaScript Map in one process: nothing on disk", p, "/token", "/introspect",
                              f"@node-oauth/oauth2-server {npm_version('@node-oauth/oauth2-server')}, "
                              f"koa {npm_version('koa')}"))

        port = run.free_port()
        os.environ["NODE_ENV"] = "production"
        p = run.start("oidc-provider", [node, str(PEERS / "oidc-provider.mjs"), str(port), cid, secret],
                      port, "/.well-known/openid-configuration", work)
        servers.append(Server("oidc-provider", "oidc-provider", "its in-memory adapter (LRU) in one process: nothing on disk",
                              p, "/token", "/token/introspection", f"oidc-provider {npm_version('oidc-provider')}"))

        adb = work / "authlib.db"
        env = dict(os.environ, BENCH_DB=str(adb), BENCH_CLIENT_ID=cid, BENCH_CLIENT_SECRET=secret)
        subprocess.run([str(py), str(PEERS / "authlib_server.py")], env=env, check=True, cwd=PEERS)
        port = run.free_port()
        os.environ["BENCH_DB"] = str(adb)
        p = run.start("authlib", [str(VENV / "bin" / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                                  "--chdir", str(PEERS), "authlib_server:app"], port, "/healthz", work)
        servers.append(Server("authlib", "Authlib + gunicorn (2 workers)",
                              "SQLite (rollback journal, synchronous=FULL): fsync before every grant's answer",
                              p, "/oauth/token", "/oauth/introspect",
                              f"Authlib {pip_version(py, 'authlib')}, Flask {pip_version(py, 'flask')}, "
                              f"gunicorn {pip_version(py, 'gunicorn')}"))
    except BaseException:
        for s in servers:
            s.proc.stop()
        raise
    return servers


def measure(wrk: str, s: Server, what: str, conns: int, secs: float) -> run.Load:
    if what == "grant":
        return run.wrk_fixed(wrk, s.token_url, conns, secs, "grant_type=client_credentials", FORM, auth=run.BASIC)
    if what == "introspect":
        return run.wrk_pooled(wrk, s.introspect_url, conns, secs, s.pool, "token={}", FORM, auth=run.BASIC,
                              urlencode=True)
    return run.run_wrk(wrk, s.proc.url + "/healthz", "get.lua", conns, secs, {})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--pool", type=int, default=20000, help="tokens minted per server for introspection")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--plot", type=Path, help="PNG (matplotlib from the peers' venv)")
    args = ap.parse_args()

    wrk = run.ensure_wrk()
    ensure_node()
    py = ensure_python()
    server_bin, _ = run.build(args.no_build)
    work = Path(tempfile.mkdtemp(prefix="gatehouse-peers-"))
    load_before = os.getloadavg()
    results: dict[str, dict[str, list]] = {}
    loads: list[float] = []
    try:
        servers = start_all(work, server_bin, py)
        try:
            for s in servers:
                s.pool = run.mint(wrk, s.token_url, args.pool, work / f"tokens-{s.key}.txt",
                                  "grant_type=client_credentials", FORM, TOKEN_RE, auth=run.BASIC)
            for r in range(args.rounds):
                order = servers[r % len(servers):] + servers[:r % len(servers)]
                for s in order:
                    kinds = ["grant", "introspect"] + (["healthz"] if s.key == "gatehouse" else [])
                    for what in kinds:
                        ld = measure(wrk, s, what, args.conns, args.seconds)
                        results.setdefault(s.key, {}).setdefault(what, []).append(ld)
                        loads.append(os.getloadavg()[0])
                        run.log(f"round {r + 1} {s.key} {what}: {ld.rps:,.0f}/s p99 {ld.p99_ms:.1f} ms "
                                f"errors {ld.errors} (load average {loads[-1]:.1f})")
        finally:
            for s in servers:
                s.proc.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(key: str, what: str, attr: str) -> float:
        return statistics.median(getattr(x, attr) for x in results[key][what])

    base = {w: med("node-oauth2-server", w, "rps") for w in ("grant", "introspect")}
    rows = []
    for s in servers:
        row = {"key": s.key, "server": s.name, "version": s.version, "storage": s.storage}
        for w in ("grant", "introspect"):
            row[w] = {"rps": med(s.key, w, "rps"), "p99_ms": med(s.key, w, "p99_ms"),
                      "errors": sum(x.errors for x in results[s.key][w]),
                      "rounds": [round(x.rps) for x in results[s.key][w]],
                      "ratio_to_node_oauth2": med(s.key, w, "rps") / base[w]}
        if "healthz" in results.get(s.key, {}):
            row["healthz"] = {"rps": med(s.key, "healthz", "rps"),
                              "rounds": [round(x.rps) for x in results[s.key]["healthz"]]}
        rows.append(row)
    out = {"machine": run.machine(), "rounds": args.rounds, "seconds": args.seconds, "conns": args.conns,
           "loadavg_before": load_before, "loadavg_during": [min(loads), max(loads)],
           "loadavg_after": os.getloadavg(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "rows": rows}
    md = markdown(out)
    print(md)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    if args.markdown:
        args.markdown.write_text(md + "\n")
    if args.plot:
        subprocess.run([str(py), str(run.BENCH_DIR / "peers_plot.py"), "-", str(args.plot)],
                       input=json.dumps(out), text=True, check=True)
        run.log(f"plot written to {args.plot}")


def markdown(out: dict) -> str:
    lines = [f"{out['when']}, {out['machine']}; {out['rounds']} interleaved rounds of {out['seconds']:g} s, "
             f"{out['conns']} connections, wrk on the same cores; medians of the rounds. Load average "
             f"{out['loadavg_before'][0]:.1f} before, {out['loadavg_during'][0]:.1f}-{out['loadavg_during'][1]:.1f} "
             f"during, {out['loadavg_after'][0]:.1f} after.", "",
             "| server | version | storage | grants/s (p99) | x node-oauth2 | introspections/s (p99) | x node-oauth2 | errors |",
             "|---|---|---|---|---|---|---|---|"]
    for r in out["rows"]:
        g, i = r["grant"], r["introspect"]
        lines.append(f"| {r['server']} | {r['version']} | {r['storage']} | {g['rps']:,.0f} ({g['p99_ms']:.1f} ms) | "
                     f"{g['ratio_to_node_oauth2']:.2f} | {i['rps']:,.0f} ({i['p99_ms']:.1f} ms) | "
                     f"{i['ratio_to_node_oauth2']:.2f} | {g['errors'] + i['errors']} |")
    gh = next(r for r in out["rows"] if r["key"] == "gatehouse")
    if "healthz" in gh:
        lines += ["", f"Gatehouse `/healthz` in the same rounds: {gh['healthz']['rps']:,.0f}/s; introspection "
                      f"{gh['introspect']['rps'] / gh['healthz']['rps']:.2f} of it. Per round (grants, "
                      f"introspections, healthz): {gh['grant']['rounds']}, {gh['introspect']['rounds']}, "
                      f"{gh['healthz']['rounds']}."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
