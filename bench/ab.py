#!/usr/bin/env python3
"""A/B two Gatehouse binaries in one run (issue 23): client-credentials and refresh grants,
introspection and `/healthz` at 64 connections, @node-oauth/oauth2-server's grants beside
them, interleaved rounds in a rotated order, medians; optional `perf record` of each binary
under the grant load.

    python3 bench/ab.py --a /tmp/gatehouse-before --b target/release/gatehouse --rounds 3 --perf DIR

Ratios are what to read on a shared machine: every row of one round ran within seconds of the
others. Every server is started here and stopped by its PID.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402
import run  # noqa: E402

FORM = "application/x-www-form-urlencoded"
V1 = "/api/v1/auth/token"


def serve(binary: Path, name: str, work: Path) -> run.Proc:
    """The server on its own database. The cheap hash cost of bench/run.py's minting: no
    measured workload hashes a password (client secrets are an HMAC), and at the real cost
    every password grant that mints a refresh token would verify 600,000 iterations (the
    first login upgrades the cheap stored hash to the configured cost)."""
    db = work / f"{name}.db"
    doc = work / "import.json"
    doc.write_text(json.dumps(run.import_document(0)))
    subprocess.run([str(binary), "--database", str(db), "import", str(doc)], check=True, capture_output=True)
    port = run.free_port()
    cores = str(os.cpu_count() or 1)
    return run.start(name, [str(binary), "--database", str(db), "serve", "--bind", f"127.0.0.1:{port}",
                            "--hash-iterations", str(run.MINT_ITERATIONS), "--hash-threads", cores,
                            "--hash-queue", "256", "--workers", cores, "--synchronous", "full"],
                     port, "/healthz", work)


def measure(wrk: str, url: str, what: str, pools: dict, conns: int, secs: float, r: int,
            token_path: str = "/oauth2/token") -> run.Load:
    if what == "grant":
        return run.wrk_fixed(wrk, url + token_path, conns, secs, "grant_type=client_credentials", FORM,
                             auth=run.BASIC)
    if what == "refresh":
        return run.wrk_pooled(wrk, url + V1, conns, secs, pools["refresh"][r],
                              '{"grant_type":"refresh_token","refresh_token":"{}"}', "application/json",
                              auth=run.BASIC)
    if what == "introspect":
        return run.wrk_pooled(wrk, url + "/oauth2/introspect", conns, secs, pools["access"], "token={}", FORM,
                              auth=run.BASIC, urlencode=True)
    return run.run_wrk(wrk, url + "/healthz", "get.lua", conns, secs, {})


def profile(proc: run.Proc, wrk: str, out: Path, secs: float, what: str, pools: dict) -> None:
    """`perf record -g` of the server over `secs` of one workload (refresh: the pool kept for it)."""
    data = out.with_suffix(".data")
    rec = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-o", str(data), "-p", str(proc.popen.pid),
                            "--", "sleep", str(secs)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ld = measure(wrk, proc.url, what, pools, 64, secs + 1, len(pools["refresh"]) - 1)
    rec.wait()
    run.log(f"profile {out.stem}: {ld.rps:,.0f}/s p99 {ld.p99_ms:.1f} ms (load average {os.getloadavg()[0]:.1f})")
    with open(out, "w") as f:
        subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--stdio", "--sort", "dso,sym",
                        "--percent-limit", "0.7", "-g", "none"], stdout=f, stderr=subprocess.DEVNULL)
    data.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", type=Path, required=True, help="the binary before")
    ap.add_argument("--b", type=Path, help="the binary after (without it: A alone, e.g. --rounds 0 --perf DIR)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--refresh-rate", type=int, default=9000,
                    help="refresh tokens minted per second of a refresh run (more than it can spend)")
    ap.add_argument("--no-node", action="store_true", help="without @node-oauth/oauth2-server")
    ap.add_argument("--perf", type=Path, help="write perf reports of each binary's grants here")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    wrk = run.ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="gatehouse-ab-"))
    whats = ["grant", "refresh", "introspect", "healthz"]
    results: dict[str, dict[str, list[run.Load]]] = {}
    loads = [os.getloadavg()[0]]
    procs: dict[str, run.Proc] = {}
    try:
        sides = ("a", "b") if args.b else ("a",)
        procs["a"] = serve(args.a, "a", work)
        if args.b:
            procs["b"] = serve(args.b, "b", work)
        if not args.no_node:
            peers.ensure_node()
            node = shutil.which("node") or sys.exit("node is not on PATH")
            port = run.free_port()
            procs["node"] = run.start("node-oauth2-server", [node, str(peers.PEERS / "node-oauth2-server.mjs"),
                                                             str(port), run.CLIENT_ID, run.CLIENT_SECRET],
                                      port, "/healthz", work)
        pools: dict[str, dict] = {}
        per_run = int(args.seconds * args.refresh_rate) + 500
        profiled = 1 if args.perf else 0
        for key in sides:
            url = procs[key].url
            refresh = run.mint(wrk, url + V1, per_run * (args.rounds + profiled), work / f"refresh-{key}.txt",
                               f"grant_type=password&username={run.OP_USER}&password={run.OP_PASSWORD}", FORM,
                               r'"refresh_token":"([^"]+)"', auth=run.BASIC, conns=64)
            access = run.mint(wrk, url + "/oauth2/token", 20000, work / f"access-{key}.txt",
                              "grant_type=client_credentials", FORM, r'"access_token":"([^"]+)"', auth=run.BASIC)
            pools[key] = {"refresh": run.split_pool(refresh, args.rounds + profiled), "access": access}
        for r in range(args.rounds):
            keys = [k for k in (*sides, "node") if k in procs]
            order = keys[r % len(keys):] + keys[:r % len(keys)]
            for key in order:
                for what in (["grant"] if key == "node" else whats):
                    ld = measure(wrk, procs[key].url, what, pools.get(key, {}), args.conns, args.seconds, r,
                                 "/token" if key == "node" else "/oauth2/token")
                    results.setdefault(key, {}).setdefault(what, []).append(ld)
                    loads.append(os.getloadavg()[0])
                    run.log(f"round {r + 1} {key} {what}: {ld.rps:,.0f}/s p99 {ld.p99_ms:.1f} ms "
                            f"errors {ld.errors} (load average {loads[-1]:.1f})")
        if args.perf:
            args.perf.mkdir(parents=True, exist_ok=True)
            for key in sides:
                for what in ("grant", "refresh", "introspect"):
                    profile(procs[key], wrk, args.perf / f"{what}-{key}.txt", 6, what, pools[key])
    finally:
        for p in procs.values():
            p.stop()
        shutil.rmtree(work, ignore_errors=True)

    def med(key: str, what: str, attr: str = "rps") -> float:
        return statistics.median(getattr(x, attr) for x in results[key][what])

    if not args.b or not args.rounds:
        return
    print(f"\nload average {min(loads):.1f}-{max(loads):.1f}; medians of {args.rounds} rounds, {args.seconds:g} s, "
          f"{args.conns} connections\n")
    print("| row | A (before) | B (after) | B/A |")
    print("|---|---|---|---|")
    for what in whats:
        a, b = med("a", what), med("b", what)
        print(f"| {what} | {a:,.0f}/s (p99 {med('a', what, 'p99_ms'):.1f} ms) | "
              f"{b:,.0f}/s (p99 {med('b', what, 'p99_ms'):.1f} ms) | {b / a:.2f} |")
    for key in ("a", "b"):
        print(f"| {key}: introspection / healthz | {med(key, 'introspect') / med(key, 'healthz'):.2f} | | |")
    if "node" in results:
        n = med("node", "grant")
        print(f"| node-oauth2 grants | {n:,.0f}/s (p99 {med('node', 'grant', 'p99_ms'):.1f} ms) | "
              f"A {med('a', 'grant') / n:.2f}x | B {med('b', 'grant') / n:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps({k: {w: [vars(x) for x in v] for w, v in d.items()}
                                         for k, d in results.items()}, indent=1))


if __name__ == "__main__":
    main()
