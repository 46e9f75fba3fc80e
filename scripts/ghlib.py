"""Shared helpers of the overload and crash scripts (Python 3 standard library only):
start the release binary on a free 127.0.0.1 port, wait for /healthz, and small HTTP calls."""
import base64
import http.client
import json
import os
import socket
import subprocess
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What `cargo build --release -p gatehouse` writes (docs/security.md, "How to run").
DEFAULT_BINARY = os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "gatehouse")
BASIC = "Basic " + base64.b64encode(b"demo-client:demo-secret").decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The release binary as a child process."""

    def __init__(self, binary, db, port, extra=(), demo=True, log=None):
        self.port = port
        args = [binary, "--database", db, "--log", "warn", "serve", "--bind", f"127.0.0.1:{port}"]
        if demo:
            args.append("--demo")
        args.extend(extra)
        self.proc = subprocess.Popen(args, stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if call(port, "GET", "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError("server did not become healthy in 120 s")

    def kill(self):
        """SIGKILL: no shutdown, no flush."""
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def call(port, method, path, body=None, headers=None, timeout=30):
    """One request on a fresh connection: (status, headers dict lower-case, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = {"Connection": "close"}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        res = conn.getresponse()
        data = res.read()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, data
    finally:
        conn.close()


def form(port, path, fields, basic=False, bearer=None, timeout=30):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if basic:
        headers["Authorization"] = BASIC
    if bearer:
        headers["Authorization"] = "Bearer " + bearer
    return call(port, "POST", path, urllib.parse.urlencode(fields), headers, timeout)


def post_json(port, path, obj, bearer=None, timeout=30):
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = "Bearer " + bearer
    return call(port, "POST", path, json.dumps(obj), headers, timeout)


def introspect(port, token, timeout=30):
    status, _, body = form(port, "/oauth2/introspect", {"token": token}, basic=True, timeout=timeout)
    return status, (json.loads(body) if status == 200 else None)


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
