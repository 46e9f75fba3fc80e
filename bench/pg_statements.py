#!/usr/bin/env python3
"""Counts the statements PostgreSQL receives per client-credentials grant (log_statement=all)."""
import json, os, subprocess, sys, time, re, base64, shutil, urllib.request
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import run as b
server = sys.argv[1]
n_seq = int(sys.argv[2]) if len(sys.argv) > 2 else 50
pg = b.PgCluster(b.ensure_postgres())
procs = []
try:
    work = pg.dir
    pg.psql("ALTER SYSTEM SET log_statement = 'all'")
    pg.psql("ALTER SYSTEM SET log_min_duration_statement = -1")
    pg.psql("SELECT pg_reload_conf()")
    url = pg.create("bench")
    doc = work / "doc.json"
    doc.write_text(json.dumps(b.import_document(0)))
    subprocess.run([server, "--database", url, "import", str(doc)], check=True, capture_output=True)
    port = b.free_port()
    wd = work / "srv"; wd.mkdir()
    p = b.start("gh", [server, "--database", url, "serve", "--bind", f"127.0.0.1:{port}", "--hash-iterations", "1000",
                       "--synchronous", "full", "--database-pool-size", "4"], port, "/healthz", wd)
    procs.append(p)
    # warm-up
    def grant():
        st, body = b.http("POST", p.url + "/api/v1/auth/token", b"grant_type=client_credentials",
                          {"Authorization": b.BASIC, "Content-Type": "application/x-www-form-urlencoded"})
        assert st == 200, (st, body)
    for _ in range(5): grant()
    time.sleep(0.5)
    log = pg.dir / "log"
    start = log.stat().st_size
    for _ in range(n_seq): grant()
    time.sleep(0.5)
    text = log.read_bytes()[start:].decode(errors="replace")
    stmts = re.findall(r"LOG:  (statement|execute [^:]*|parse [^:]*|bind [^:]*): (.*)", text)
    kinds = {}
    for k, s in stmts:
        key = (k.split()[0], s[:90])
        kinds[key] = kinds.get(key, 0) + 1
    print(f"sequential grants: {n_seq}; statements logged: {len(stmts)} ({len(stmts)/n_seq:.2f} per grant)")
    for (k, s), c in sorted(kinds.items(), key=lambda x: -x[1]):
        print(f"{c:6d}  {k:8s} {s}")
    # concurrent
    start = log.stat().st_size
    r = b.run_wrk(b.wrk_path() if hasattr(b, "wrk_path") else "wrk", p.url + "/api/v1/auth/token", "fixed.lua", 32, 2,
                  {"BENCH_BODY": "grant_type=client_credentials", "BENCH_CONTENT_TYPE": "application/x-www-form-urlencoded",
                   "BENCH_AUTH": b.BASIC, "BENCH_ACCEPT": ""})
    time.sleep(0.5)
    text = log.read_bytes()[start:].decode(errors="replace")
    stmts = re.findall(r"LOG:  (statement|execute [^:]*|parse [^:]*|bind [^:]*): (.*)", text)
    kinds = {}
    for k, s in stmts:
        key = (k.split()[0], s[:90])
        kinds[key] = kinds.get(key, 0) + 1
    print(f"\n32 connections, 2 s: {r.requests} grants, {r.rps:.0f}/s; statements logged: {len(stmts)} ({len(stmts)/max(r.requests,1):.2f} per grant)")
    for (k, s), c in sorted(kinds.items(), key=lambda x: -x[1]):
        print(f"{c:6d}  {k:8s} {s}")
finally:
    for p in procs: p.stop()
    pg.stop()
