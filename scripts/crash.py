#!/usr/bin/env python3
"""Crash-safety run: starts the release binary, loads it with password, refresh-token and
code requests from several threads, kills it with SIGKILL mid-load, and after each kill:
  * `PRAGMA integrity_check` is ok (Python's sqlite3, before the restart);
  * after a restart on the same file, every access token acknowledged with 200 is still
    active (introspection), every acknowledged refresh token not yet used still refreshes;
  * no refresh token, authorization code or one-time code was accepted twice (each one
    acknowledged as consumed is replayed after the restart and must be refused; codes are
    also raced by two threads during the load).
Repeats --rounds times (default 20). Prints per-round lines and a JSON summary; exits 1 on
any violation. Traffic stays on 127.0.0.1.

Usage: scripts/crash.py [--binary PATH] [--rounds 20] [--threads 8] [--iterations 10000]"""
import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ghlib  # noqa: E402

USERS = [("alice", "alice-password-1"), ("bob", "bob-password-1")]


class Ledger:
    """What the server acknowledged during one round."""

    def __init__(self):
        self.lock = threading.Lock()
        self.access = []          # acknowledged access tokens
        self.live_refresh = []    # acknowledged refresh tokens not presented since
        self.consumed = []        # (kind, secret) acknowledged as consumed
        self.double_accepts = []  # a code accepted by both racers
        self.requests = 0
        self.in_flight_lost = 0
        self.codes = 0
        self.raced = 0


def worker(port, ledger, stop, seed):
    rnd = random.Random(seed)
    refresh = None
    while not stop.is_set():
        op = rnd.choice(["password", "refresh", "refresh", "auth_code", "onetime"])
        try:
            if op == "password" or (op == "refresh" and refresh is None):
                user, pw = rnd.choice(USERS)
                status, _, body = ghlib.form(port, "/api/v1/auth/token", {
                    "grant_type": "password", "username": user, "password": pw}, basic=True, timeout=10)
                ledger.requests += 1
                if status == 200:
                    got = json.loads(body)
                    with ledger.lock:
                        ledger.access.append(got["access_token"])
                        ledger.live_refresh.append(got["refresh_token"])
                    refresh = got["refresh_token"]
            elif op == "refresh":
                presented = refresh
                with ledger.lock:
                    ledger.live_refresh.remove(presented)  # from now on its fate is uncertain
                refresh = None
                status, _, body = ghlib.form(port, "/api/v1/auth/token", {
                    "grant_type": "refresh_token", "refresh_token": presented}, basic=True, timeout=10)
                ledger.requests += 1
                if status == 200:
                    got = json.loads(body)
                    with ledger.lock:
                        ledger.consumed.append(("refresh", presented))
                        ledger.access.append(got["access_token"])
                        ledger.live_refresh.append(got["refresh_token"])
                    refresh = got["refresh_token"]
            elif op == "auth_code":
                status, _, body = ghlib.post_json(port, "/admin/login/auth_code", {
                    "ClientId": "demo-client", "ClientSecret": "demo-secret",
                    "Username": "alice", "Password": "alice-password-1"}, timeout=10)
                ledger.requests += 1
                if status != 200:
                    continue
                code = json.loads(body)["Body"]["AuthCode"]
                race(port, ledger, "auth_code", code, lambda: ghlib.post_json(
                    port, "/admin/login/token",
                    {"ClientId": "demo-client", "ClientSecret": "demo-secret", "AuthCode": code},
                    timeout=10), lambda b: json.loads(b)["Body"]["AccessToken"]
                    if "AccessToken" in json.loads(b)["Body"] else None)
            else:  # onetime: a bearer issues a code, the client redeems it
                with ledger.lock:
                    bearer = ledger.access[-1] if ledger.access else None
                if bearer is None:
                    continue
                status, _, body = ghlib.post_json(port, "/oauth2/onetime/token", {
                    "clientId": "demo-client"}, bearer=bearer, timeout=10)
                ledger.requests += 1
                if status != 200:
                    continue
                code = json.loads(body)["code"]
                race(port, ledger, "onetime", code, lambda: ghlib.post_json(
                    port, "/oauth2/onetime/authorize",
                    {"code": code, "clientId": "demo-client", "clientSecret": "demo-secret"},
                    timeout=10), lambda b: json.loads(b).get("accessToken") or json.loads(b).get("access_token"))
        except (OSError, ValueError, KeyError):
            ledger.in_flight_lost += 1
            if stop.is_set():
                return
            time.sleep(0.01)


def race(port, ledger, kind, code, send, token_of):
    """Redeems a code; every other time two threads redeem it at once and at most one may
    succeed. A token won in a race is not held to the "still active" check: the losing
    duplicate legitimately revokes what the code produced (SPEC: a second exchange fails and
    revokes what the first produced)."""
    with ledger.lock:
        ledger.codes += 1
        racing = ledger.codes % 2 == 0
    if not racing:
        status, _, body = send()
        ledger.requests += 1
        if status == 200:
            with ledger.lock:
                ledger.consumed.append((kind, code))
                token = token_of(body)
                if token:
                    ledger.access.append(token)
        return
    results = []

    def one():
        try:
            results.append(send())
        except OSError:
            results.append(None)

    ts = [threading.Thread(target=one) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ledger.requests += 2
    ok = [r for r in results if r is not None and r[0] == 200]
    with ledger.lock:
        if len(ok) > 1:
            ledger.double_accepts.append((kind, code))
        if ok:
            ledger.consumed.append((kind, code))
            ledger.raced += 1


def integrity(db):
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def replay(port, kind, secret):
    if kind == "refresh":
        return ghlib.form(port, "/api/v1/auth/token", {
            "grant_type": "refresh_token", "refresh_token": secret}, basic=True)[0]
    if kind == "auth_code":
        return ghlib.post_json(port, "/admin/login/token", {
            "ClientId": "demo-client", "ClientSecret": "demo-secret", "AuthCode": secret})[0]
    return ghlib.post_json(port, "/oauth2/onetime/authorize", {
        "code": secret, "clientId": "demo-client", "clientSecret": "demo-secret"})[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=ghlib.DEFAULT_BINARY)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=10_000,
                    help="PBKDF2 iterations (cheap, so more requests are in flight at the kill)")
    ap.add_argument("--seed", type=int, default=6)
    args = ap.parse_args()
    rnd = random.Random(args.seed)

    tmp = tempfile.mkdtemp(prefix="gatehouse-crash-")
    db = os.path.join(tmp, "gatehouse.db")
    port = ghlib.free_port()
    extra = ["--hash-iterations", str(args.iterations)]
    server = ghlib.Server(args.binary, db, port, extra)
    totals = {"rounds": 0, "requests": 0, "acknowledged_access": 0, "still_active": 0,
              "live_refresh_checked": 0, "consumed_replayed": 0, "violations": [],
              "integrity": []}
    try:
        for r in range(args.rounds):
            ledger = Ledger()
            stop = threading.Event()
            ts = [threading.Thread(target=worker, args=(port, ledger, stop, rnd.random()))
                  for _ in range(args.threads)]
            for t in ts:
                t.start()
            time.sleep(rnd.uniform(0.5, 2.0))
            server.kill()               # SIGKILL mid-load
            stop.set()
            for t in ts:
                t.join()
            check = integrity(db)
            totals["integrity"].append(check)
            server = ghlib.Server(args.binary, db, port, extra)
            violations = []
            if check != "ok":
                violations.append(("integrity", check))
            for kind, code in ledger.double_accepts:
                violations.append(("accepted twice by racers", kind))
            # 1. every acknowledged access token is still active.
            active = 0
            for token in ledger.access:
                status, info = ghlib.introspect(port, token)
                if status == 200 and info.get("active"):
                    active += 1
                else:
                    violations.append(("acknowledged token forgotten", status))
            # 2. every acknowledged, unused refresh token still refreshes.
            for token in list(ledger.live_refresh):
                status = ghlib.form(port, "/api/v1/auth/token", {
                    "grant_type": "refresh_token", "refresh_token": token}, basic=True)[0]
                if status != 200:
                    violations.append(("acknowledged refresh token forgotten", status))
            # 3. nothing acknowledged as consumed is accepted again.
            for kind, secret in ledger.consumed:
                status = replay(port, kind, secret)
                if status == 200:
                    violations.append(("accepted twice", kind))
            violations = violations[:5] + ([("...", len(violations) - 5)] if len(violations) > 5 else [])
            line = {"round": r + 1, "requests": ledger.requests, "acknowledged_access": len(ledger.access),
                    "still_active": active, "live_refresh": len(ledger.live_refresh),
                    "consumed": len(ledger.consumed), "raced_codes": ledger.raced, "lost_in_flight": ledger.in_flight_lost,
                    "integrity": check, "violations": violations}
            print(json.dumps(line), flush=True)
            totals["rounds"] += 1
            totals["requests"] += ledger.requests
            totals["acknowledged_access"] += len(ledger.access)
            totals["still_active"] += active
            totals["live_refresh_checked"] += len(ledger.live_refresh)
            totals["consumed_replayed"] += len(ledger.consumed)
            totals["violations"].extend(violations)
    finally:
        server.stop()
    totals["integrity"] = sorted(set(totals["integrity"]))
    print(json.dumps(totals, indent=2))
    ok = not totals["violations"] and totals["integrity"] == ["ok"]
    print("CRASH", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
