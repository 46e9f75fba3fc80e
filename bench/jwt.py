#!/usr/bin/env python3
"""Signed-token benchmark: client-credentials grants with opaque and JWT access tokens
(RS256, ES256, EdDSA) and JWKS fetches, at 64 connections, on the release binary with the
real settings of bench/run.py (fsync on every commit). Reuses bench/run.py's helpers.

    python3 bench/jwt.py [--seconds 5] [--conns 64] [--no-build]

Prints a markdown table; the JWT rows give their rate as a share of the opaque one (issue 13:
signing must not cost more than 30% of the opaque grant rate).
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402

JWT_SECRET = "bench-jwt-secret-0123456789"
ALGS = ["RS256", "ES256", "EdDSA"]


def jwt_client(alg: str) -> str:
    return f"bench-jwt-{alg.lower()}"


def basic(cid: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    wrk = run.ensure_wrk()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "gatehouse"], cwd=run.ROOT, check=True)
    server_bin = run.target_dir() / "release" / "gatehouse"
    if not server_bin.exists():
        sys.exit(f"{server_bin} is missing: build first (or drop --no-build)")
    work = Path(tempfile.mkdtemp(prefix="gatehouse-jwt-bench-"))
    db = work / "bench.db"
    kek = work / "kek"
    kek.write_text(base64.urlsafe_b64encode(bytes(range(32))).decode() + "\n")
    kek.chmod(0o600)
    # One JWT client per algorithm (access_token_signed_response_alg); the server's first start
    # creates the RS256 and ES256 keys, the EdDSA key is rotated in before the import (a client
    # is refused while no active key of its algorithm exists).
    doc = {"clients": [
        {"client_id": run.CLIENT_ID, "secret": run.CLIENT_SECRET, "grants": ["client_credentials"],
         "scope": "read"},
    ] + [
        {"client_id": jwt_client(alg), "secret": JWT_SECRET, "grants": ["client_credentials"],
         "scope": "read", "access_token_format": "jwt", "access_token_signed_response_alg": alg}
        for alg in ALGS
    ]}
    (work / "doc.json").write_text(json.dumps(doc))
    port = run.free_port()
    srv = run.start("gatehouse-jwt", [str(server_bin), "--database", str(db), "serve", "--bind",
                                      f"127.0.0.1:{port}", "--workers", str(args.workers),
                                      "--synchronous", "full", "--key-encryption-key-file", str(kek)],
                    port, "/healthz", work)
    subprocess.run([str(server_bin), "--database", str(db), "keys", "rotate", "--alg", "EdDSA",
                    "--publish-delay", "0", "--key-encryption-key-file", str(kek)],
                   check=True, capture_output=True)
    subprocess.run([str(server_bin), "--database", str(db), "import", str(work / "doc.json")], check=True,
                   capture_output=True)
    form = "application/x-www-form-urlencoded"
    rows = []
    try:
        def cc(cid, secret):
            return run.wrk_fixed(wrk, srv.url + "/oauth2/token", args.conns, args.seconds,
                                 "grant_type=client_credentials", form, auth=basic(cid, secret))

        opaque = cc(run.CLIENT_ID, run.CLIENT_SECRET)
        rows.append(("`/oauth2/token` client_credentials, opaque", opaque, ""))
        for alg in ALGS:
            status, body = run.http("POST", srv.url + "/oauth2/token", b"grant_type=client_credentials",
                                    {"Authorization": basic(jwt_client(alg), JWT_SECRET),
                                     "Content-Type": form})
            token = json.loads(body)["access_token"]
            header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
            assert status == 200 and header["alg"] == alg, (status, header)
            ld = cc(jwt_client(alg), JWT_SECRET)
            share = ld.rps / opaque.rps
            verdict = "met" if share >= 0.70 else f"**missed**: {share * 100:.0f}% of opaque vs >= 70%"
            rows.append((f"`/oauth2/token` client_credentials, JWT {alg}", ld,
                         f"{share * 100:.0f}% of opaque; {verdict}"))
        jw = run.run_wrk(wrk, srv.url + "/oauth2/jwks", "get.lua", args.conns, args.seconds, {})
        rows.append(("`GET /oauth2/jwks` (3 keys)", jw, ""))
    finally:
        srv.stop()
    print("| endpoint | conns | requests/s | p50 | p99 | errors | note |")
    print("|---|---|---|---|---|---|---|")
    for name, ld, note in rows:
        print(f"| {name} | {args.conns} | {ld.rps:,.0f} | {ld.p50_ms:.2f} ms | {ld.p99_ms:.2f} ms | "
              f"{ld.errors} | {note} |")


if __name__ == "__main__":
    main()
