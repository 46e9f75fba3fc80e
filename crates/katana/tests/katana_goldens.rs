//! Against the real Katana and Microsoft code: the goldens the Mono harness recorded
//! (`tests/golden/katana/README.md` of the harness branch says what ran): Katana v4.2.3's
//! `OAuthAuthorizationServerMiddleware` / `OAuthBearerAuthenticationMiddleware` over
//! referencesource's `MachineKey.Protect`, for every validation algorithm and AES key size.

use std::collections::BTreeMap;

use gatehouse_katana::{
    base64url_encode, Claim, MachineKey, Protector, Ticket, TicketError, TicketFormat,
    ACCESS_TOKEN_PURPOSES,
};
use serde_json::Value;

fn golden(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/golden/katana/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("json")
}

fn key(name: &str) -> MachineKey {
    let path = format!(
        "{}/../../tests/golden/katana/keys/{name}.config",
        env!("CARGO_MANIFEST_DIR")
    );
    MachineKey::parse(&std::fs::read_to_string(&path).expect(&path)).expect(name)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn text<'a>(v: &'a Value, member: &str) -> &'a str {
    v[member]
        .as_str()
        .unwrap_or_else(|| panic!("{member} in {v}"))
}

/// What Katana's `/api/me` reported, in our terms: (authentication type, name claim type,
/// role claim type, claims, properties).
type Decoded = (String, String, String, Vec<Claim>, BTreeMap<String, String>);

fn katana_view(ticket: &Value) -> Decoded {
    let claims = ticket["claims"]
        .as_array()
        .expect("claims")
        .iter()
        .map(|c| Claim {
            claim_type: text(c, "type").to_owned(),
            value: text(c, "value").to_owned(),
            value_type: text(c, "valueType").to_owned(),
            issuer: text(c, "issuer").to_owned(),
            original_issuer: text(c, "originalIssuer").to_owned(),
        })
        .collect();
    let properties = ticket["properties"]
        .as_object()
        .expect("properties")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("value").to_owned()))
        .collect();
    (
        text(ticket, "authenticationType").to_owned(),
        text(ticket, "nameClaimType").to_owned(),
        text(ticket, "roleClaimType").to_owned(),
        claims,
        properties,
    )
}

fn our_view(ticket: &Ticket) -> Decoded {
    (
        ticket.authentication_type.clone(),
        ticket.name_claim_type.clone(),
        ticket.role_claim_type.clone(),
        ticket.claims.clone(),
        ticket.properties.iter().cloned().collect(),
    )
}

/// A JSON object's members in file order (`serde_json::Value` sorts them).
struct Ordered(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = m.next_entry::<String, String>()? {
                    out.push(kv);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputClaim {
    #[serde(rename = "type")]
    claim_type: String,
    value: String,
}

/// A harness `ticketInput`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    authentication_type: String,
    claims: Vec<InputClaim>,
    properties: Ordered,
}

#[derive(serde::Deserialize)]
struct WithInput {
    #[serde(rename = "ticketInput")]
    ticket_input: Input,
}

/// The `ticketInput`s of a golden file, in order, as Katana's `new Claim(type, value)` and
/// `AuthenticationProperties` (a dictionary in insertion order) build them.
fn ticket_inputs(name: &str) -> Vec<Ticket> {
    let path = format!(
        "{}/../../tests/golden/katana/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let entries: Vec<WithInput> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("inputs");
    entries
        .into_iter()
        .map(|e| {
            let input = e.ticket_input;
            let claims = input
                .claims
                .into_iter()
                .map(|c| Claim::new(c.claim_type, c.value))
                .collect();
            let mut t = Ticket::bearer(claims, input.properties.0);
            t.authentication_type = input.authentication_type;
            t
        })
        .collect()
}

#[test]
fn serializer_and_protect_are_byte_exact_with_microsoft_and_katana() {
    let vectors = golden("katana-vectors.json");
    let vectors = vectors.as_array().expect("array");
    assert_eq!(vectors.len(), 15, "every key file");
    for (v, ticket) in vectors.iter().zip(ticket_inputs("katana-vectors.json")) {
        let name = text(v, "key");
        let key = key(name);
        let purposes: Vec<&str> = v["purposes"]
            .as_array()
            .expect("purposes")
            .iter()
            .map(|p| p.as_str().expect("purpose"))
            .collect();
        assert_eq!(purposes, ACCESS_TOKEN_PURPOSES);
        // TicketSerializer.Write, byte for byte (before gzip).
        assert_eq!(
            ticket.to_binary(),
            hex(text(v, "uncompressedHex")),
            "{name}: TicketSerializer bytes"
        );
        // MachineKey.Protect of Katana's gzip bytes with the same IV: byte for byte.
        let iv: [u8; 16] = hex(text(v, "iv")).try_into().expect("iv");
        let protected =
            Protector::new(&key, &purposes).protect(&hex(text(v, "serializedHex")), &iv);
        assert_eq!(
            protected,
            hex(text(v, "protectedHex")),
            "{name}: MachineKey.Protect bytes"
        );
        assert_eq!(
            base64url_encode(&protected),
            text(v, "token"),
            "{name}: text"
        );
        // And what the real bearer middleware decoded is what we decode.
        assert_eq!(v["meStatus"], 200);
        let ours = TicketFormat::access_token(&key)
            .unprotect(text(v, "token"))
            .expect(name);
        assert_eq!(ours, ticket);
        assert_eq!(our_view(&ours), katana_view(&v["ticket"]), "{name}");
    }
}

#[test]
fn tickets_the_real_authorization_server_issued_decode_as_katana_decoded_them() {
    let issued = golden("katana-issued.json");
    let issued = issued.as_array().expect("array");
    assert!(issued.len() >= 15);
    for entry in issued {
        let name = text(entry, "key");
        let token = text(entry, "token");
        assert_eq!(
            entry["meStatus"], 200,
            "{name}: the real bearer middleware accepted it"
        );
        let ticket = TicketFormat::access_token(&key(name))
            .unprotect(token)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(our_view(&ticket), katana_view(&entry["ticket"]), "{name}");
        assert!(ticket.expires().is_some_and(|e| e.year() > 2100), "{name}");
        // The JSON answer's members are the ticket's properties.
        assert_eq!(
            ticket.property("userName"),
            entry["response"]["userName"].as_str()
        );
        assert_eq!(
            ticket.property("sessionKey"),
            entry["response"]["sessionKey"].as_str()
        );
    }
}

#[test]
fn what_the_real_bearer_middleware_refused_we_refuse_too() {
    let rejected = golden("katana-rejected.json");
    let rejected = rejected.as_array().expect("array");
    // The goldens were recorded on 2026-12-06 after 09:00 UTC; an expired case expired
    // before the recording.
    let now = time::macros::datetime!(2026-12-06 09:30 UTC);
    let mut checked = 0;
    for entry in rejected {
        let (name, case) = (text(entry, "key"), text(entry, "case"));
        assert_eq!(entry["verdict"], "rejected", "{name} {case}");
        let Some(token) = entry["token"].as_str() else {
            assert_eq!(case, "no-authorization");
            continue;
        };
        let format = TicketFormat::access_token(&key(name));
        let result = format.unprotect(token);
        match case {
            // These decode: refused for what they say (Gatehouse checks the same).
            "expired" | "expired-real-token" => {
                let t = result.expect(case);
                assert!(t.expires().expect(".expires") < now, "{name} {case}");
            }
            "unauthenticated-identity" => {
                assert_eq!(result.expect(case).authentication_type, "", "{name}");
            }
            "not-base64url" => assert_eq!(result, Err(TicketError::Encoding), "{name} {case}"),
            _ => assert!(
                matches!(result, Err(TicketError::Unprotect(_))),
                "{name} {case}: {result:?}"
            ),
        }
        checked += 1;
    }
    assert!(checked >= 240, "{checked}");
}

#[test]
fn edge_tickets_the_real_middleware_accepted_decode_alike() {
    let edge = golden("katana-edge.json");
    for entry in edge.as_array().expect("array") {
        let (name, case) = (text(entry, "key"), text(entry, "case"));
        assert_eq!(entry["verdict"], "accepted", "{case}");
        let ticket = TicketFormat::access_token(&key(name))
            .unprotect(text(entry, "token"))
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(our_view(&ticket), katana_view(&entry["ticket"]), "{case}");
        if matches!(
            case,
            "no-expires" | "no-issued-no-expires" | "malformed-expires"
        ) {
            // Katana then checks no expiry at all; Gatehouse sees none and refuses.
            assert_eq!(ticket.expires(), None, "{case}");
        }
    }
}

/// Where Gatehouse is deliberately stricter than `MachineKey.Protect` (documented in
/// docs/migration.md): `MachineKeySection`'s 40-hex-digit minimum for the validation key,
/// DES/3DES (the issue refuses them), `alg:` names.
const STRICTER: [&str; 4] = [
    "validation-key-1-byte",
    "decryption-3DES-24-byte-key",
    "decryption-DES-8-byte-key",
    "validation-alg-prefix",
];

#[test]
fn machine_key_elements_are_accepted_and_refused_like_microsofts_code() {
    let cases = golden("machinekey-cases.json");
    let cases = cases.as_array().expect("array");
    assert!(cases.len() >= 19);
    for c in cases {
        let case = text(c, "case");
        let parsed = MachineKey::parse(text(c, "machineKey"));
        match (text(c, "protect"), STRICTER.contains(&case)) {
            ("ok", false) => {
                let key = parsed.unwrap_or_else(|e| panic!("{case}: {e}"));
                // Microsoft's protected bytes open under our derivation of the same key.
                if let Some(hexed) = c["protectedHex"].as_str() {
                    let p = Protector::new(&key, &[]);
                    let other = Protector::new(&key, &ACCESS_TOKEN_PURPOSES);
                    let data = hex(hexed);
                    assert!(
                        p.unprotect(&data).is_ok() || other.unprotect(&data).is_ok(),
                        "{case}"
                    );
                }
            }
            (_, _) => assert!(parsed.is_err(), "{case}: accepted"),
        }
    }
}
