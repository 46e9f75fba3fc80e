//! Support for the end-to-end suite in `it/`: a real Gatehouse server on a temporary SQLite
//! file, and a small HTTP/1.1 client over a plain TCP socket that sends exactly the bytes a
//! test asks for (no Content-Type added behind its back, lying Content-Length possible).

pub mod external;
pub mod jwt;
pub mod pg;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text (panics in tests when it is not).
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("response body is UTF-8")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

/// Sends `raw` (a whole HTTP/1.1 request) to `addr` and reads the answer.
///
/// # Errors
/// The connection is refused or cut, or the answer is not HTTP/1.1 ([`read_response`]).
pub fn send_raw(addr: SocketAddr, raw: &[u8]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(raw)?;
    read_response(&mut stream)
}

/// Reads one response from `stream` (Content-Length, chunked, or until close).
///
/// # Errors
/// A read fails or times out (30 s), the stream ends before a whole head or body, or the
/// status line is malformed.
pub fn read_response(stream: &mut TcpStream) -> std::io::Result<Response> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before a response head",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = buf[head_end + 4..].to_vec();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < len {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(len);
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            if let Some(decoded) = dechunk(&body) {
                body = decoded;
                break;
            }
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if status != 204 && status != 304 {
        let _ = stream.read_to_end(&mut body);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).ok()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// A request under construction.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// `POST path`.
    pub fn post(path: &str) -> Self {
        Self {
            method: "POST".into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `GET path`.
    pub fn get(path: &str) -> Self {
        Self {
            method: "GET".into(),
            ..Self::post(path)
        }
    }

    /// `PATCH path`.
    pub fn patch(path: &str) -> Self {
        Self {
            method: "PATCH".into(),
            ..Self::post(path)
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: &str) -> Self {
        self.header("Content-Type", "application/json")
            .body(body.as_bytes())
    }

    /// An XML body with `Content-Type: application/xml`.
    pub fn xml(self, body: &str) -> Self {
        self.header("Content-Type", "application/xml")
            .body(body.as_bytes())
    }

    /// A form body with its Content-Type.
    pub fn form(self, body: &str) -> Self {
        self.header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.as_bytes())
    }

    /// `Authorization: Basic` of `id:secret` (not URL-encoded).
    pub fn basic(self, id: &str, secret: &str) -> Self {
        use base64::Engine as _;
        let v = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        self.header("Authorization", &format!("Basic {v}"))
    }

    /// `Authorization: Bearer`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    /// A raw body (no Content-Type added).
    pub fn body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    /// The request's bytes, with Host, Content-Length and Connection: close.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: localhost\r\n",
            self.method, self.path
        );
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        ));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// The request as sent, consumed ([`Request::to_bytes`]).
    pub fn into_bytes(self) -> Vec<u8> {
        self.to_bytes()
    }

    /// Sends it (once: a request is built for one send).
    pub fn send(self, addr: SocketAddr) -> Response {
        send_raw(addr, &self.to_bytes()).expect("request sent and answered")
    }
}

/// A temporary database path that is removed with its directory.
#[derive(Debug)]
pub struct TempDb {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// The SQLite file.
    pub path: PathBuf,
}

impl TempDb {
    /// A fresh, empty location.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("gatehouse.db");
        Self { dir, path }
    }
}

impl Default for TempDb {
    fn default() -> Self {
        Self::new()
    }
}

// ----- hardening helpers (hostile and security suites) ---------------------------------

/// What a hostile request got: an answer, or a connection the server closed.
#[derive(Debug)]
pub enum Outcome {
    /// The server answered.
    Answered(Response),
    /// The server closed (or reset) the connection without a full answer.
    Closed,
}

impl Outcome {
    /// The status, when answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Answered(r) => Some(r.status),
            Outcome::Closed => None,
        }
    }

    /// A 4xx answer or a closed connection: what every hostile request must get.
    pub fn is_refusal(&self) -> bool {
        match self {
            Outcome::Answered(r) => (400..500).contains(&r.status),
            Outcome::Closed => true,
        }
    }
}

fn is_closed(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
    )
}

/// Sends `head` then `body`, tolerating a server that closes the connection while the body is
/// still being written, and reads the answer within `wait` (panics when the server neither
/// answered nor closed in that time: that is a hung connection). Returns the outcome and how
/// many body bytes were written before the server stopped reading.
pub fn send_hostile(
    addr: SocketAddr,
    head: &[u8],
    body: impl IntoIterator<Item = Vec<u8>>,
    wait: Duration,
) -> (Outcome, usize) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .expect("write timeout");
    stream.set_read_timeout(Some(wait)).expect("read timeout");
    let mut written = 0usize;
    if stream.write_all(head).is_ok() {
        for chunk in body {
            match stream.write_all(&chunk) {
                Ok(()) => written += chunk.len(),
                Err(_) => break,
            }
        }
    }
    let outcome = match read_response(&mut stream) {
        Ok(r) => Outcome::Answered(r),
        Err(e) if is_closed(&e) => Outcome::Closed,
        Err(e) => panic!("the server neither answered nor closed within {wait:?}: {e}"),
    };
    (outcome, written)
}

/// A line of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`): the server runs in-process, so
/// this is the server's memory (plus the test harness). `None` off Linux.
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the process's peak RSS (`VmHWM`) to the current RSS, when the kernel allows it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

/// A writer for `tracing` that appends every log line to a shared buffer.
#[derive(Debug, Clone, Default)]
pub struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogBuffer {
    /// Everything logged so far, as text (lossy).
    pub fn contents(&self) -> String {
        let buf = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&buf).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A Prometheus counter or gauge of `/metrics`, without labels.
pub fn metric(addr: SocketAddr, name: &str) -> Option<f64> {
    let res = Request::get("/metrics").send(addr);
    let text = String::from_utf8_lossy(&res.body).into_owned();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}
