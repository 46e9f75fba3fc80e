#!/usr/bin/env python3
"""Records what the release binary answers to each hostile request of tests/it/hostile.rs
(status or "closed") and how long it took, for docs/security.md. Standard library only;
traffic on 127.0.0.1. Usage: scripts/hostile_probe.py [--binary PATH]"""
import argparse
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ghlib  # noqa: E402


def raw(port, data, body_chunks=(), wait=15):
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(wait)
    written = 0
    try:
        s.sendall(data)
        for c in body_chunks:
            s.sendall(c)
            written += len(c)
    except OSError:
        pass
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            got = s.recv(65536)
            if not got:
                break
            buf += got
    except socket.timeout:
        return "HUNG", time.monotonic() - t0, written
    except OSError:
        pass
    finally:
        s.close()
    took = time.monotonic() - t0
    if not buf:
        return "closed", took, written
    return buf.split(b" ", 2)[1].decode(), took, written


def req(path, ctype, body, extra=""):
    return (f"POST {path} HTTP/1.1\r\nHost: l\r\nContent-Type: {ctype}\r\n{extra}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=ghlib.DEFAULT_BINARY)
    args = ap.parse_args()
    db = os.path.join(tempfile.mkdtemp(prefix="gatehouse-probe-"), "g.db")
    port = ghlib.free_port()
    server = ghlib.Server(args.binary, db, port, ["--hash-iterations", "1000", "--request-timeout", "2"])
    ns = "http://schemas.datacontract.org/2004/07/Yindo.DAL.Types"
    lol = "<!DOCTYPE l [<!ENTITY a \"lol\">" + "".join(
        f"<!ENTITY {chr(98 + i)} \"{('&' + chr(97 + i) + ';') * 10}\">" for i in range(9)) + "]>"
    cases = [
        ("billion laughs (XML)", req("/token", "application/xml", (lol + f"<OAuthRequest xmlns=\"{ns}\"><UserName>&j;</UserName></OAuthRequest>").encode())),
        ("external entity (XML)", req("/token", "application/xml", f"<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><OAuthRequest xmlns=\"{ns}\"><UserName>&x;</UserName></OAuthRequest>".encode())),
        ("10,000-deep JSON (40 KB)", req("/api/v1/auth/token", "application/json", b"[" * 10000 + b"]" * 10000)),
        ("10,000-deep XML (30 KB, unclosed)", req("/api/Token", "application/xml", b"<AuthMemberModel>" + b"<a>" * 10000)),
        ("100 MiB declared, 4 KiB sent", (f"POST /token HTTP/1.1\r\nHost: l\r\nContent-Length: {100 << 20}\r\nConnection: close\r\n\r\n").encode() + b"a" * 4096),
        ("invalid UTF-8 (JSON)", req("/token", "application/json", b"{\"userName\":\"\xff\xfe\"}")),
        ("invalid UTF-8 (form)", req("/token", "application/x-www-form-urlencoded", b"grant_type=password&userName=\xff&password=%FF")),
        ("Content-Length 10, body 61", b"POST /token HTTP/1.1\r\nHost: l\r\nContent-Length: 10\r\n\r\ngrant_type=password&userName=alice&password=alice-password-1"),
        ("Content-Length 4000, body 61, kept open", b"POST /token HTTP/1.1\r\nHost: l\r\nContent-Length: 4000\r\n\r\ngrant_type=password&userName=alice&password=alice-password-1"),
        ("5,000 headers", b"GET /healthz HTTP/1.1\r\nHost: l\r\n" + b"".join(b"X-H-%d: v\r\n" % i for i in range(5000)) + b"\r\n"),
        ("1 MiB header", b"GET /healthz HTTP/1.1\r\nHost: l\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"),
        ("request head never finished (slowloris)", b"POST /token HTTP/1.1\r\nHost: l\r\nX-Slow: a"),
    ]
    try:
        print("| hostile request | answer | seconds |")
        print("|---|---|---|")
        for name, data in cases:
            status, took, _ = raw(port, data)
            print(f"| {name} | {status} | {took:.2f} |")
        head = b"POST /token HTTP/1.1\r\nHost: l\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        chunk = b"10000\r\n" + b"a" * 65536 + b"\r\n"
        status, took, written = raw(port, head, [chunk] * 2)
        print(f"| chunked 128 KiB, never finished | {status} | {took:.2f} |")
        status, took, written = raw(port, head, [chunk] * 1600)
        print(f"| chunked 100 MiB | {status} (client wrote {written >> 20} MiB) | {took:.2f} |")
        ok = ghlib.form(port, "/token", {"grant_type": "password", "userName": "alice", "password": "alice-password-1"})[0]
        print(f"| normal login afterwards | {ok} | |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
