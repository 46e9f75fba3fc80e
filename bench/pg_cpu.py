#!/usr/bin/env python3
"""CPU per client-credentials grant (server process + PostgreSQL backends), SQLite and PostgreSQL,
from /proc (utime+stime), for one binary: independent of how busy the machine is."""
import json, os, subprocess, sys, time
from pathlib import Path
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import run as b
TCK = os.sysconf("SC_CLK_TCK")
def cpu(pid):
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TCK
    except OSError:
        return 0.0
def children(ppid):
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                f = (d / "stat").read_text().rsplit(")", 1)[1].split()
                if int(f[1]) == ppid: out.append(int(d.name))
            except OSError: pass
    return out
def pg_cpu(pg):
    pm = int((pg.dir / "data" / "postmaster.pid").read_text().split()[0])
    # backends exit when their connection closes: count live ones (the server keeps its pool open)
    return cpu(pm) + sum(cpu(c) for c in children(pm))
server = sys.argv[1]; secs = float(sys.argv[2]) if len(sys.argv) > 2 else 3
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
pg = b.PgCluster(b.ensure_postgres()); procs = []
work = Path(subprocess.check_output(["mktemp", "-d"]).decode().strip())
try:
    doc = work / "doc.json"; doc.write_text(json.dumps(b.import_document(0)))
    url = pg.create("bench")
    for db in (str(work / "a.db"), url):
        subprocess.run([server, "--database", db, "import", str(doc)], check=True, capture_output=True)
    def serve(db, name):
        port = b.free_port()
        p = b.start(name, [server, "--database", db, "serve", "--bind", f"127.0.0.1:{port}", "--hash-iterations", "600000",
                           "--workers", "2", "--synchronous", "full", "--database-pool-size", "16"], port, "/healthz", work)
        procs.append(p); return p
    s = serve(str(work / "a.db"), "sqlite"); g = serve(url, "pg")
    res = {"sqlite": [], "pg": []}
    for r in range(rounds):
        for name, p in (("sqlite", s), ("pg", g)):
            c0, p0 = cpu(p.popen.pid), pg_cpu(pg)
            ld = b.wrk_fixed("wrk", p.url + "/api/v1/auth/token", 64, secs, "grant_type=client_credentials",
                             "application/x-www-form-urlencoded", auth=b.BASIC)
            c1, p1 = cpu(p.popen.pid), pg_cpu(pg)
            n = max(ld.requests, 1)
            res[name].append((ld.rps, (c1 - c0) / n * 1e6, (p1 - p0) / n * 1e6 if name == "pg" else 0.0, ld.errors))
            print(f"round {r} {name}: {ld.rps:,.0f}/s, server {1e6*(c1-c0)/n:.0f} us/grant, postgres {1e6*(p1-p0)/n if name=='pg' else 0:.0f} us/grant, errors {ld.errors}, load {os.getloadavg()[0]:.1f}", flush=True)
    def med(xs): xs = sorted(xs); return xs[len(xs)//2]
    sq = med([x[1] for x in res["sqlite"]]); gs = med([x[1] for x in res["pg"]]); gp = med([x[2] for x in res["pg"]])
    rr = [p[0]/q[0] for p, q in zip(res["pg"], res["sqlite"])]
    print(f"SUMMARY cpu/grant: sqlite {sq:.0f} us; pg server {gs:.0f} + postgres {gp:.0f} = {gs+gp:.0f} us; cpu ratio sqlite/pg {sq/(gs+gp):.2f}; rps ratios {', '.join(f'{x:.2f}' for x in rr)}")
finally:
    for p in procs: p.stop()
    pg.stop()
