//! What a legacy request says about itself, read cheaply from its head and raw body (before
//! or after the codec decoded it, whatever the codec decides): the client it names, whether
//! it carries a password, and the legacy-only features it uses. Used for the migration
//! report and to keep passwords away from an upstream not trusted with them.

use actix_web::http::header;
use actix_web::HttpRequest;
use gatehouse_domain::dual_run::FeatureCounts;

use crate::http::Endpoint;

/// The facts of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The client id of the Basic header, else of the body (`client_id`); `None`: none.
    pub client_id: Option<String>,
    /// The body carries a non-empty `password` member (any case, any format).
    pub password: bool,
    /// The features counted for the report.
    pub features: FeatureCounts,
}

/// Reads the facts of a request to `endpoint` with `body`.
pub fn facts(req: &HttpRequest, endpoint: Endpoint, body: &[u8]) -> Facts {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let members = members(&content_type, body);
    let get = |name: &str| {
        members
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let password = get("password").is_some_and(|p| !p.is_empty());
    let windows = get("windowsauthentication").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let client_id = basic_user(req)
        .or_else(|| get("client_id").map(str::to_owned))
        .filter(|c| !c.is_empty());
    let onetime = matches!(
        endpoint,
        Endpoint::OneTimeToken | Endpoint::OneTimeAuthorize
    );
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
    let is_form = content_type.starts_with("application/x-www-form-urlencoded")
        || (endpoint == Endpoint::KatanaToken
            && !content_type.contains("json")
            && !body.is_empty());
    let features = FeatureCounts {
        password_grant: u64::from(password),
        form_body: u64::from(is_form && !body.is_empty()),
        xml_body: u64::from(content_type.contains("xml")),
        windows_auth: u64::from(windows),
        onetime_code: u64::from(onetime),
        // A Bearer token presented to a legacy endpoint (the one-time code issuer takes the
        // access token the legacy service issued: a Katana ticket there).
        katana_ticket: u64::from(bearer && endpoint == Endpoint::OneTimeToken),
    };
    Facts {
        client_id,
        password,
        features,
    }
}

/// The user part of `Authorization: Basic` (the client id), when there is one.
fn basic_user(req: &HttpRequest) -> Option<String> {
    use base64::Engine as _;
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, _) = text.split_once(':')?;
    Some(percent_decode(user))
}

/// The top-level members of a form, JSON or XML body (names and text values), leniently.
fn members(content_type: &str, body: &[u8]) -> Vec<(String, String)> {
    if content_type.contains("json") || content_type.contains("javascript") {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) else {
            return Vec::new();
        };
        return map
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect();
    }
    if content_type.contains("xml") {
        return xml_members(body);
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (!k.is_empty()).then(|| (percent_decode(k), percent_decode(v)))
        })
        .collect()
}

/// Every element of an XML body with its text (local names; nesting ignored).
fn xml_members(body: &[u8]) -> Vec<(String, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut out = Vec::new();
    let mut open: Option<String> = None;
    while let Ok(event) = reader.read_event() {
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                open = Some(name);
            }
            Event::Text(t) => {
                if let Some(name) = open.take() {
                    out.push((name, String::from_utf8_lossy(t.as_ref()).trim().to_owned()));
                }
            }
            Event::Eof => break,
            _ => open = None,
        }
        if out.len() > 64 {
            break;
        }
    }
    out
}

/// `+` and `%XX` decoded (invalid escapes kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| char::from(c).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn password_client_and_features_in_every_format() {
        let form = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .to_http_request();
        let f = facts(
            &form,
            Endpoint::V1Token,
            b"grant_type=password&username=a&Password=x%21&client_id=web",
        );
        assert!(f.password);
        assert_eq!(f.client_id.as_deref(), Some("web"));
        assert_eq!(f.features.form_body, 1);
        assert_eq!(f.features.password_grant, 1);

        let json = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .to_http_request();
        let f = facts(
            &json,
            Endpoint::MemberToken,
            br#"{"UserName":"a","Password":""}"#,
        );
        assert!(!f.password, "an empty password is none");

        let xml = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/xml"))
            .insert_header((
                header::AUTHORIZATION,
                "Basic ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ=",
            ))
            .to_http_request();
        let f = facts(
            &xml,
            Endpoint::V1Token,
            b"<TokenRequest><password>p</password><WindowsAuthentication>true</WindowsAuthentication></TokenRequest>",
        );
        assert!(f.password);
        assert_eq!(f.client_id.as_deref(), Some("demo-client"));
        assert_eq!((f.features.xml_body, f.features.windows_auth), (1, 1));
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode("a%2Bb+c%zz%4"), "a+b c%zz%4");
    }
}
