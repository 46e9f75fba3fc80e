//! Cross-checks against an implementation nobody here wrote: the PyPI package `badsecrets`
//! (`scripts/katana_badsecrets.py` wrote `tests/golden/katana/badsecrets.json`): its
//! SP800-108 derivations, and real .NET 4.5 `NetFXCryptoService.Protect` outputs captured
//! from an ASP.NET site (validation SHA1, AES-256) that our `Protector` must open.

use gatehouse_katana::{purpose_context, sp800_108, MachineKey, Protector, UnprotectError};
use serde_json::Value;

fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/katana/badsecrets.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("golden")).expect("json")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn str_list(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|p| p.as_str().expect("str"))
        .collect()
}

#[test]
fn sp800_108_matches_badsecrets_for_every_key_size() {
    let g = golden();
    let vectors = g["kdf"].as_array().expect("kdf");
    assert_eq!(vectors.len(), 6);
    for v in vectors {
        let purposes = str_list(&v["purposes"]);
        let context = purpose_context(&purposes);
        assert_eq!(context, hex(v["context"].as_str().expect("context")));
        let derived = sp800_108(
            &hex(v["key"].as_str().expect("key")),
            v["primary"].as_str().expect("primary").as_bytes(),
            &context,
        );
        assert_eq!(
            *derived,
            hex(v["derived"].as_str().expect("derived")),
            "key of {} bytes",
            derived.len()
        );
    }
}

fn dotnet_key(v: &Value) -> MachineKey {
    MachineKey::parse(&format!(
        r#"<machineKey validation="{}" decryption="AES" validationKey="{}" decryptionKey="{}" />"#,
        v["validation"].as_str().expect("validation"),
        v["validationKey"].as_str().expect("vk"),
        v["decryptionKey"].as_str().expect("dk"),
    ))
    .expect("machineKey")
}

#[test]
fn real_dotnet45_ciphertexts_open_with_our_protector() {
    let g = golden();
    let vectors = g["dotnet45"].as_array().expect("dotnet45");
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let key = dotnet_key(v);
        let protector = Protector::with_primary(&key, v["primary"].as_str().expect("primary"), &[]);
        let data = hex(v["protected"].as_str().expect("protected"));
        let clear = protector.unprotect(&data).expect("opens");
        assert_eq!(*clear, hex(v["clear"].as_str().expect("clear")));
        // And re-protecting with the same IV gives the .NET bytes back, MAC included.
        let iv: [u8; 16] = data[..16].try_into().expect("iv");
        assert_eq!(protector.protect(&clear, &iv), data);
    }
}

#[test]
fn real_dotnet45_ciphertexts_refuse_another_purpose_or_a_flipped_bit() {
    let g = golden();
    let v = &g["dotnet45"][0];
    let key = dotnet_key(v);
    let data = hex(v["protected"].as_str().expect("protected"));
    let other = Protector::with_primary(&key, "ScriptResourceHandler.ScriptResourceUrl", &[]);
    assert_eq!(other.unprotect(&data), Err(UnprotectError::Mac));
    let own = Protector::with_primary(&key, v["primary"].as_str().expect("primary"), &[]);
    for i in [0, 17, data.len() - 1] {
        let mut bad = data.clone();
        bad[i] ^= 1;
        assert_eq!(own.unprotect(&bad), Err(UnprotectError::Mac), "byte {i}");
    }
    assert_eq!(own.unprotect(&data[..30]), Err(UnprotectError::Truncated));
}
