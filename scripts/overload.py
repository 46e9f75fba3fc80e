#!/usr/bin/env python3
"""Overload run: floods password grants (real PBKDF2 cost, 600,000 iterations by default)
far beyond the hash pool, and checks that the excess gets a prompt 503 with Retry-After while
refresh-token grants and introspection (no password hash) keep answering 200.

Usage: scripts/overload.py [--binary PATH] [--clients 64] [--seconds 20] [--iterations 600000]
       [--hash-threads N] [--hash-queue N]
Prints a JSON summary; exits 1 when a check fails. Traffic stays on 127.0.0.1."""
import argparse
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ghlib  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=ghlib.DEFAULT_BINARY)
    ap.add_argument("--clients", type=int, default=64, help="concurrent password-grant clients")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--iterations", type=int, default=600_000)
    ap.add_argument("--hash-threads", type=int, default=2)
    ap.add_argument("--hash-queue", type=int, default=8)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="gatehouse-overload-")
    db = os.path.join(tmp, "gatehouse.db")
    port = ghlib.free_port()
    server = ghlib.Server(args.binary, db, port, [
        "--hash-iterations", str(args.iterations),
        "--hash-threads", str(args.hash_threads),
        "--hash-queue", str(args.hash_queue),
    ])
    try:
        # A session with a refresh token for the prober, before the flood.
        status, _, body = ghlib.form(port, "/api/v1/auth/token", {
            "grant_type": "password", "username": "bob", "password": "bob-password-1"}, basic=True)
        assert status == 200, body
        first = json.loads(body)
        access, refresh = first["access_token"], first["refresh_token"]

        stop = time.monotonic() + args.seconds
        lock = threading.Lock()
        flood = {"200": 0, "503": 0, "other": 0, "errors": 0, "503_without_retry_after": 0}
        lat503, lat200 = [], []
        probe = {"introspect": [], "refresh": [], "failures": []}

        def flooder():
            while time.monotonic() < stop:
                t0 = time.monotonic()
                try:
                    status, headers, _ = ghlib.form(port, "/token", {
                        "grant_type": "password", "userName": "alice",
                        "password": "alice-password-1"}, timeout=60)
                except OSError:
                    with lock:
                        flood["errors"] += 1
                    continue
                took = time.monotonic() - t0
                with lock:
                    if status == 200:
                        flood["200"] += 1
                        lat200.append(took)
                    elif status == 503:
                        flood["503"] += 1
                        lat503.append(took)
                        if "retry-after" not in headers:
                            flood["503_without_retry_after"] += 1
                    else:
                        flood["other"] += 1
                if status == 503:
                    time.sleep(0.005)

        def prober():
            nonlocal refresh, access
            time.sleep(1.0)  # let the flood fill the pool first
            while time.monotonic() < stop - 0.5:
                t0 = time.monotonic()
                try:
                    status, info = ghlib.introspect(port, access, timeout=30)
                    probe["introspect"].append(time.monotonic() - t0)
                    if status != 200 or not info.get("active"):
                        probe["failures"].append(("introspect", status))
                    t0 = time.monotonic()
                    status, _, body = ghlib.form(port, "/api/v1/auth/token", {
                        "grant_type": "refresh_token", "refresh_token": refresh}, basic=True, timeout=30)
                    probe["refresh"].append(time.monotonic() - t0)
                    if status == 200:
                        got = json.loads(body)
                        access, refresh = got["access_token"], got["refresh_token"]
                    else:
                        probe["failures"].append(("refresh", status))
                except OSError as e:
                    probe["failures"].append(("error", str(e)))
                time.sleep(0.1)

        threads = [threading.Thread(target=flooder) for _ in range(args.clients)]
        threads.append(threading.Thread(target=prober))
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        def ms(values, p):
            v = ghlib.percentile(values, p)
            return None if v is None else round(v * 1000, 1)

        status, _, metrics = ghlib.call(port, "GET", "/metrics")
        rejected = [l for l in metrics.decode().splitlines() if l.startswith("gatehouse_hash_rejected_total")]
        summary = {
            "iterations": args.iterations, "hash_threads": args.hash_threads,
            "hash_queue": args.hash_queue, "clients": args.clients, "seconds": args.seconds,
            "password_grants": flood,
            "password_200_ms": {"p50": ms(lat200, 50), "p99": ms(lat200, 99), "max": ms(lat200, 100)},
            "password_503_ms": {"p50": ms(lat503, 50), "p99": ms(lat503, 99), "max": ms(lat503, 100)},
            "introspect": {"n": len(probe["introspect"]), "p50_ms": ms(probe["introspect"], 50),
                           "p99_ms": ms(probe["introspect"], 99), "max_ms": ms(probe["introspect"], 100)},
            "refresh": {"n": len(probe["refresh"]), "p50_ms": ms(probe["refresh"], 50),
                        "p99_ms": ms(probe["refresh"], 99), "max_ms": ms(probe["refresh"], 100)},
            "probe_failures": probe["failures"],
            "metrics": rejected,
        }
        print(json.dumps(summary, indent=2))
        ok = (flood["503"] > 0 and flood["503_without_retry_after"] == 0 and flood["other"] == 0
              and not probe["failures"] and probe["introspect"] and probe["refresh"])
        print("OVERLOAD", "PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
