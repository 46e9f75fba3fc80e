//! Hostile HTTP against the real server over TCP: XML bombs and external entities, 10,000-deep
//! JSON and XML, a 100 MiB body, invalid UTF-8, lying Content-Length, slow clients, thousands
//! of headers. Each must get a prompt 4xx or a closed connection (bounded waits, no timing
//! assertions), the server must keep serving (a normal login succeeds after each), and its
//! memory must stay bounded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use gatehouse_tests::{proc_status_kib, reset_peak_rss, send_hostile, Outcome, Request};

use crate::support::Server;

/// How long any hostile request may take to be answered or closed before the test calls the
/// connection hung. Generous: the machine is shared; a healthy server answers in milliseconds.
const WAIT: Duration = Duration::from_secs(15);

/// The XML-reading token endpoints with their request root and namespace.
const XML_ENDPOINTS: [(&str, &str, &str); 5] = [
    (
        "/token",
        "OAuthRequest",
        "http://schemas.datacontract.org/2004/07/Yindo.DAL.Types",
    ),
    (
        "/api/Token",
        "AuthMemberModel",
        "http://schemas.datacontract.org/2004/07/AuEAuth_WebAPI.Models",
    ),
    (
        "/api/v1/auth/token",
        "TokenRequest",
        "http://schemas.datacontract.org/2004/07/IO.Swagger.Models",
    ),
    (
        "/admin/login/auth_code",
        "AuthCodeRequest",
        "http://schemas.datacontract.org/2004/07/SaG.OTC.API.Models.Requests",
    ),
    (
        "/oauth2/onetime/authorize",
        "OneTimeAuthorizeRequest",
        "http://schemas.datacontract.org/2004/07/App.Auth.Models",
    ),
];

/// The server still serves: a real password login succeeds.
fn assert_still_serving(server: &Server) {
    let res = server.send(
        Request::post("/token")
            .form("grant_type=password&userName=alice&password=alice-password-1"),
    );
    assert_eq!(res.status, 200, "server stopped serving: {}", res.text());
}

fn hostile(server: &Server, request: Request) -> Outcome {
    send_hostile(server.addr, &request.into_bytes(), [], WAIT).0
}

fn assert_refused(what: &str, outcome: &Outcome) {
    assert!(
        outcome.is_refusal(),
        "{what}: expected a 4xx or a closed connection, got {outcome:?}"
    );
}

fn billion_laughs(root: &str) -> String {
    let mut dtd = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    let mut prev = "lol".to_owned();
    for i in 1..=9 {
        let name = format!("lol{i}");
        dtd.push_str(&format!(
            "<!ENTITY {name} \"{}\">",
            format!("&{prev};").repeat(10)
        ));
        prev = name;
    }
    dtd.push_str("]>");
    format!("<?xml version=\"1.0\"?>{dtd}<{root}><UserName>&{prev};</UserName></{root}>")
}

fn external_entity(root: &str, ns: &str) -> String {
    format!(
        "<!DOCTYPE {root} [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><{root} xmlns=\"{ns}\"><UserName>&xxe;</UserName><Password>&xxe;</Password><Username>&xxe;</Username><MemberId>&xxe;</MemberId></{root}>"
    )
}

#[test]
fn xml_bombs_and_external_entities_are_refused() {
    let server = Server::start();
    for (path, root, ns) in XML_ENDPOINTS {
        let bomb = hostile(&server, Request::post(path).xml(&billion_laughs(root)));
        assert_refused(&format!("billion laughs at {path}"), &bomb);
        assert_eq!(
            bomb.status(),
            Some(400),
            "billion laughs at {path}: {bomb:?}"
        );

        let xxe = hostile(&server, Request::post(path).xml(&external_entity(root, ns)));
        assert_eq!(
            xxe.status(),
            Some(400),
            "external entity at {path}: {xxe:?}"
        );
        if let Outcome::Answered(r) = &xxe {
            let text = String::from_utf8_lossy(&r.body);
            assert!(!text.contains("root:"), "file content leaked: {text}");
        }
        // A processing instruction and a parameter entity are refused too.
        let pi = hostile(
            &server,
            Request::post(path).xml(&format!("<?evil x?><{root} xmlns=\"{ns}\"/>")),
        );
        assert_eq!(pi.status(), Some(400), "processing instruction at {path}");
        let param = hostile(
            &server,
            Request::post(path).xml(&format!(
                "<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://127.0.0.1:9/x\"> %p;]><{root}/>"
            )),
        );
        assert_eq!(param.status(), Some(400), "parameter entity at {path}");
    }
    assert_still_serving(&server);
}

#[test]
fn ten_thousand_deep_json_and_xml_are_refused() {
    // A body limit large enough that the depth limit, not the size limit, must catch them.
    let server = Server::start_with(|a| a.body_limit = 512 * 1024);
    let depth = 10_000;
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let in_field = format!(
        "{{\"grant_type\":\"password\",\"userName\":{}\"x\"{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    for (path, root, ns) in XML_ENDPOINTS {
        for (what, body) in [
            ("objects", &objects),
            ("arrays", &arrays),
            ("nested field", &in_field),
        ] {
            let out = hostile(&server, Request::post(path).json(body));
            assert_eq!(
                out.status(),
                Some(400),
                "deep JSON {what} at {path}: {out:?}"
            );
        }
        let xml = format!(
            "<{root} xmlns=\"{ns}\">{}{}</{root}>",
            "<a>".repeat(depth),
            "</a>".repeat(depth)
        );
        let out = hostile(&server, Request::post(path).xml(&xml));
        assert_eq!(out.status(), Some(400), "deep XML at {path}: {out:?}");
        // Unclosed, the same depth.
        let open = format!("<{root} xmlns=\"{ns}\">{}", "<a>".repeat(depth));
        let out = hostile(&server, Request::post(path).xml(&open));
        assert_eq!(
            out.status(),
            Some(400),
            "unclosed deep XML at {path}: {out:?}"
        );
        // Deep form keys.
        let form = format!("Payload{}=1", "[a]".repeat(depth));
        let out = hostile(&server, Request::post(path).form(&form));
        assert_refused(&format!("deep form key at {path}"), &out);
    }
    for path in ["/oauth2/introspect", "/oauth2/revoke"] {
        let out = hostile(
            &server,
            Request::post(path)
                .basic("demo-client", "demo-secret")
                .json(&objects),
        );
        assert_eq!(out.status(), Some(400), "deep JSON at {path}: {out:?}");
    }
    assert_still_serving(&server);
}

fn huge_head(path: &str, length: u64) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

const MIB: usize = 1024 * 1024;

/// One HTTP/1.1 chunk of `size` bytes of `a`.
fn chunk_of(size: usize) -> Vec<u8> {
    let mut c = format!("{size:x}\r\n").into_bytes();
    c.extend_from_slice(&vec![b'a'; size]);
    c.extend_from_slice(b"\r\n");
    c
}

#[test]
fn a_100_mib_body_is_refused_without_being_read() {
    let server = Server::start();
    for path in [
        "/token",
        "/api/Token",
        "/api/v1/auth/token",
        "/admin/login/auth_code",
        "/admin/login/token",
        "/oauth2/onetime/authorize",
        "/oauth2/introspect",
        "/oauth2/revoke",
    ] {
        // Declared: 413 from the Content-Length alone, after only a few KiB were sent.
        let few_kib = vec![b"a=b&".repeat(1024)];
        let (out, _) = send_hostile(
            server.addr,
            &huge_head(path, 100 * MIB as u64),
            few_kib,
            WAIT,
        );
        assert_eq!(
            out.status(),
            Some(413),
            "declared 100 MiB at {path}: {out:?}"
        );
    }

    // Undeclared (chunked): the server must answer 413 once the limit is passed, without
    // waiting for the end of the body. The client sends 128 KiB of chunks (twice the limit)
    // and never the last chunk: only a server that stops at the limit can answer.
    let head = b"POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let (out, _) = send_hostile(server.addr, head, vec![chunk_of(64 * 1024); 2], WAIT);
    assert_eq!(
        out.status(),
        Some(413),
        "unfinished chunked body over the limit: {out:?}"
    );

    // A whole 100 MiB chunked upload: refused. (actix discards, without keeping, the rest of
    // a chunked body after the 413; memory is covered by
    // `memory_stays_bounded_under_hostile_load`.)
    let chunks = std::iter::repeat_n(chunk_of(64 * 1024), 100 * MIB / (64 * 1024));
    let (out, written) = send_hostile(server.addr, head, chunks, WAIT);
    assert!(
        matches!(out.status(), Some(413) | None),
        "chunked 100 MiB: {out:?}"
    );
    eprintln!("chunked upload: the client wrote {written} bytes before the answer");
    assert_still_serving(&server);
}

#[test]
fn invalid_utf8_is_a_clean_400() {
    let server = Server::start();
    let bad: &[u8] = b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x90\x28\xbc";
    for (path, root, ns) in XML_ENDPOINTS {
        let mut json = b"{\"grant_type\":\"password\",\"userName\":\"".to_vec();
        json.extend_from_slice(bad);
        json.extend_from_slice(
            b"\",\"password\":\"x\",\"MemberId\":\"1234\",\"Password\":\"\xff\"}",
        );
        let mut xml = format!("<{root} xmlns=\"{ns}\"><UserName>").into_bytes();
        xml.extend_from_slice(bad);
        xml.extend_from_slice(format!("</UserName></{root}>").as_bytes());
        let mut form = b"grant_type=password&userName=".to_vec();
        form.extend_from_slice(bad);
        form.extend_from_slice(b"&password=%FF%FE&MemberId=%C3%28");
        for (ct, body) in [
            ("application/json", &json),
            ("application/xml", &xml),
            ("application/x-www-form-urlencoded", &form),
            ("text/xml; charset=utf-16", &xml),
        ] {
            let out = hostile(
                &server,
                Request::post(path).header("Content-Type", ct).body(body),
            );
            assert_refused(&format!("invalid UTF-8 {ct} at {path}"), &out);
            assert_ne!(out.status(), Some(500), "{ct} at {path}");
        }
    }
    // Invalid UTF-8 in header values (Authorization, Content-Type, Accept, X-Forwarded-For).
    let head = b"POST /api/v1/auth/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic \xff\xfe\xfd\r\nAccept: application/\xffxml\r\nContent-Type: application/x-www-form-urlencoded\xff\r\nX-Forwarded-For: \xff\r\nContent-Length: 24\r\nConnection: close\r\n\r\ngrant_type=client_creden";
    let (out, _) = send_hostile(server.addr, head, [], WAIT);
    assert_refused("invalid UTF-8 in headers", &out);
    // Invalid UTF-8 inside base64 of a Basic header.
    let res = server.send(
        Request::post("/api/v1/auth/token")
            .header("Authorization", "Basic //79/Q==")
            .form("grant_type=client_credentials"),
    );
    assert!(
        (400..500).contains(&res.status),
        "{}: {}",
        res.status,
        res.text()
    );
    // And in the path.
    let (out, _) = send_hostile(
        server.addr,
        b"GET /\xff\xfe/token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        [],
        WAIT,
    );
    assert_refused("invalid UTF-8 in the path", &out);
    assert_still_serving(&server);
}

#[test]
fn a_lying_content_length_is_refused() {
    let server = Server::start_with(|a| a.request_timeout = 1);
    let body = b"grant_type=password&userName=alice&password=alice-password-1";
    // Shorter than the body: the server reads the declared prefix only, which is not a login;
    // the rest is garbage for a next request that must not be served as one.
    let head = "POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\n";
    let (out, _) = send_hostile(server.addr, head.as_bytes(), [body.to_vec()], WAIT);
    assert_refused("Content-Length shorter than the body", &out);

    // Longer than the body, connection kept open: the body never completes; the server gives
    // up after its request timeout (1 s here) with a 4xx or a close, instead of waiting forever.
    for path in ["/token", "/api/v1/auth/token", "/oauth2/introspect"] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\nConnection: close\r\n\r\n"
        );
        let (out, _) = send_hostile(server.addr, head.as_bytes(), [body.to_vec()], WAIT);
        assert_refused(
            &format!("Content-Length longer than the body at {path}"),
            &out,
        );
    }

    // Longer than the body, and the client half-closes: a 4xx or a close.
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    stream
        .write_all(
            b"POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\n",
        )
        .expect("write");
    stream.write_all(body).expect("write");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("half close");
    match gatehouse_tests::read_response(&mut stream) {
        Ok(r) => assert!((400..500).contains(&r.status), "half-closed: {r:?}"),
        Err(e) => assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "half-closed lying body hung: {e}"
        ),
    }

    // Two Content-Length headers that disagree, and a Content-Length with Transfer-Encoding
    // (request smuggling shapes): refused.
    for head in [
        "POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 61\r\nConnection: close\r\n\r\n",
        "POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Length: 61\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        "POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\nConnection: close\r\n\r\n",
        "POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999999999999999\r\nConnection: close\r\n\r\n",
    ] {
        let (out, _) = send_hostile(server.addr, head.as_bytes(), [body.to_vec()], WAIT);
        assert_refused(head.lines().nth(2).unwrap_or_default(), &out);
    }
    assert_still_serving(&server);
}

/// One slow client: trickles a request head one byte at a time and never finishes it. Returns
/// whether the server cut it off (answered, closed or reset) within `max_bytes` bytes.
fn trickle(addr: SocketAddr, max_bytes: usize) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return true;
    };
    if stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .is_err()
    {
        return true;
    }
    let head = b"POST /token HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
    let mut buf = [0u8; 512];
    for i in 0..max_bytes {
        let byte = head.get(i).copied().unwrap_or(b'a');
        if stream.write_all(&[byte]).is_err() {
            return true;
        }
        match stream.read(&mut buf) {
            // An answer (408) or an orderly close.
            Ok(_) => return true,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn slow_clients_are_cut_off_and_others_are_served() {
    let server = Server::start_with(|a| a.request_timeout = 1);
    let addr = server.addr;
    // Each trickler sends one byte per ~100 ms for up to 150 bytes (15 s): far past the 1 s
    // request timeout.
    let tricklers: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(move || trickle(addr, 150)))
        .collect();
    // Meanwhile the server keeps answering everybody else.
    for _ in 0..5 {
        assert_still_serving(&server);
        let health = server.send(Request::get("/healthz"));
        assert_eq!(health.status, 200);
    }
    for t in tricklers {
        assert!(t.join().unwrap_or(false), "a slow client was never cut off");
    }
    assert_still_serving(&server);
}

#[test]
fn thousands_of_headers_and_huge_headers_are_refused() {
    let server = Server::start();
    let mut head = String::from("POST /token HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..5_000 {
        head.push_str(&format!("X-Header-{i}: value-{i}\r\n"));
    }
    head.push_str("Content-Length: 0\r\nConnection: close\r\n\r\n");
    let (out, _) = send_hostile(server.addr, head.as_bytes(), [], WAIT);
    assert_refused("5,000 headers", &out);

    let huge = format!(
        "POST /token HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "a".repeat(MIB)
    );
    let (out, _) = send_hostile(server.addr, huge.as_bytes(), [], WAIT);
    assert_refused("a 1 MiB header", &out);

    let long_path = format!(
        "GET /{} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        "a".repeat(MIB)
    );
    let (out, _) = send_hostile(server.addr, long_path.as_bytes(), [], WAIT);
    assert_refused("a 1 MiB path", &out);

    // Many repeated X-Forwarded-For / Authorization headers within the header count limit.
    let mut req = Request::post("/token");
    for i in 0..60 {
        req = req.header("X-Forwarded-For", &format!("10.0.{}.{}", i / 250, i % 250));
    }
    let res = server.send(
        req.header("Authorization", "Basic x")
            .header("Authorization", "Bearer y")
            .form("grant_type=password&userName=alice&password=alice-password-1"),
    );
    assert!(res.status < 500, "{}: {}", res.status, res.text());
    assert_still_serving(&server);
}

/// Every hostile shape above, again and again against one server: the process's peak memory
/// must not grow by more than a generous bound (a server that buffered the 100 MiB body,
/// expanded an entity bomb or kept slow connections' buffers would blow through it).
///
/// The measurement runs in a child process of this test binary (this one test alone), so that
/// the other tests' servers and the security suite's log capture do not share its memory.
#[test]
fn memory_stays_bounded_under_hostile_load() {
    const CHILD: &str = "GATEHOUSE_HOSTILE_MEMORY_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let exe = std::env::current_exe().expect("test binary");
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "hostile::memory_stays_bounded_under_hostile_load",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD, "1")
            .output()
            .expect("child test runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{text}");
        assert!(out.status.success(), "memory child failed:\n{text}");
        assert!(text.contains("1 passed"), "the child ran nothing:\n{text}");
        return;
    }
    memory_bound_in_this_process();
}

fn memory_bound_in_this_process() {
    let server = Server::start_with(|a| {
        a.request_timeout = 1;
        a.body_limit = 512 * 1024;
    });
    // Warm up: first requests allocate the workers' buffers and pools.
    for _ in 0..3 {
        assert_still_serving(&server);
    }
    let peak_reset = reset_peak_rss();
    let field = if peak_reset { "VmHWM" } else { "VmRSS" };
    let before = proc_status_kib(field);
    let depth = 10_000;
    let deep_json = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let (_, root, ns) = XML_ENDPOINTS[0];
    let deep_xml = format!("<{root} xmlns=\"{ns}\">{}", "<a>".repeat(depth));
    let chunk = chunk_of(64 * 1024);
    for _ in 0..5 {
        assert_refused(
            "bomb",
            &hostile(&server, Request::post("/token").xml(&billion_laughs(root))),
        );
        assert_refused(
            "deep json",
            &hostile(&server, Request::post("/token").json(&deep_json)),
        );
        assert_refused(
            "deep xml",
            &hostile(&server, Request::post("/token").xml(&deep_xml)),
        );
        let (out, _) = send_hostile(
            server.addr,
            b"POST /token HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            std::iter::repeat_n(chunk.clone(), 100 * MIB / (64 * 1024)),
            WAIT,
        );
        assert_refused("chunked 100 MiB", &out);
        let (out, _) = send_hostile(
            server.addr,
            &huge_head("/token", 100 * MIB as u64),
            [vec![b'a'; 4096]],
            WAIT,
        );
        assert_refused("declared 100 MiB", &out);
        let slow: Vec<_> = (0..4)
            .map(|_| {
                let addr = server.addr;
                std::thread::spawn(move || trickle(addr, 150))
            })
            .collect();
        for t in slow {
            assert!(t.join().unwrap_or(false), "slow client not cut off");
        }
    }
    assert_still_serving(&server);
    let after = proc_status_kib(field);
    if let (Some(before), Some(after)) = (before, after) {
        let grown_mib = after.saturating_sub(before) / 1024;
        eprintln!("{field}: {before} KiB -> {after} KiB (+{grown_mib} MiB)");
        // Generous (allocator and runtime noise), yet well under one buffered 100 MiB body.
        assert!(
            grown_mib < 64,
            "{field} grew by {grown_mib} MiB under hostile load"
        );
    }
}
