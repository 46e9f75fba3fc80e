//! Refusals that need no golden: the machineKey file's shape, secrets in `Debug`, and hostile
//! tickets (size, counts, garbage) refused without a panic.

use gatehouse_katana::{
    base64url_decode, MachineKey, MachineKeyError, Protector, Ticket, TicketError, TicketFormat,
    TicketFormatError, ACCESS_TOKEN_PURPOSES,
};

const VK: &str = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
const DK: &str = "FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210";

fn element(extra: &str) -> String {
    format!(r#"<machineKey validationKey="{VK}" decryptionKey="{DK}" {extra}/>"#)
}

#[test]
fn a_web_config_with_one_machine_key_is_read_and_two_are_refused() {
    let config = format!(
        "<?xml version=\"1.0\"?>\n<configuration>\n<!-- <machineKey validationKey=\"00\"/> -->\n<system.web>{}</system.web></configuration>",
        element("")
    );
    let key = MachineKey::parse(&config).expect("read");
    assert_eq!(key.aes_bits(), 256);
    assert_eq!(key.validation().name(), "HMACSHA256");
    let two = format!("<c>{}{}</c>", element(""), element(""));
    assert_eq!(
        MachineKey::parse(&two).map(|_| ()),
        Err(MachineKeyError::Ambiguous)
    );
    assert_eq!(
        MachineKey::parse("<c/>").map(|_| ()),
        Err(MachineKeyError::Missing)
    );
    let dtd = format!("<!DOCTYPE c [<!ENTITY x \"y\">]><c>{}</c>", element(""));
    assert!(matches!(
        MachineKey::parse(&dtd),
        Err(MachineKeyError::Xml(_))
    ));
    let unknown = MachineKey::parse(&element(r#"foo="bar" "#)).map(|_| ());
    assert!(
        matches!(unknown, Err(MachineKeyError::Attribute { .. })),
        "{unknown:?}"
    );
}

#[test]
fn debug_output_shows_sizes_never_keys() {
    let key = MachineKey::parse(&element(r#"validation="SHA1" "#)).expect("key");
    let format = TicketFormat::access_token(&key);
    let protector = Protector::new(&key, &ACCESS_TOKEN_PURPOSES);
    for text in [
        format!("{key:?}"),
        format!("{format:?}"),
        format!("{protector:?}"),
    ] {
        assert!(
            !text.contains(&VK[..16]) && !text.contains(&DK[..16]),
            "{text}"
        );
        assert!(
            !text.to_ascii_uppercase().contains("0123456789ABCDEF"),
            "{text}"
        );
    }
    assert!(format!("{key:?}").contains("256"));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2_like::encoder();
    gz.write_all(bytes).expect("write");
    gz.finish().expect("finish")
}

/// A gzip stream of `bytes` built by hand (stored deflate blocks), so this test does not rest
/// on the crate's own compressor.
mod flate2_like {
    pub struct Stored(Vec<u8>);
    pub fn encoder() -> Stored {
        Stored(Vec::new())
    }
    impl std::io::Write for Stored {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Stored {
        pub fn finish(self) -> std::io::Result<Vec<u8>> {
            let data = self.0;
            let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
            let chunks: Vec<&[u8]> = if data.is_empty() {
                vec![&[][..]]
            } else {
                data.chunks(65535).collect()
            };
            for (i, chunk) in chunks.iter().enumerate() {
                out.push(u8::from(i + 1 == chunks.len()));
                let len = chunk.len() as u16;
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&(!len).to_le_bytes());
                out.extend_from_slice(chunk);
            }
            out.extend_from_slice(&crc32(&data).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            Ok(out)
        }
    }
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}

#[test]
fn hostile_tickets_are_refused_without_a_panic() {
    let ticket = Ticket::bearer(vec![], vec![]);
    let good = ticket.to_binary();
    // A hand-made gzip of the right bytes reads back (the decompressor is not ours to trust).
    assert_eq!(Ticket::deserialize(&gzip(&good)), Ok(ticket));
    // More than 64 KiB once decompressed.
    let mut big = good.clone();
    big.extend(std::iter::repeat_n(0u8, 70 * 1024));
    assert_eq!(
        Ticket::deserialize(&gzip(&big)),
        Err(TicketFormatError::Compression)
    );
    // Trailing bytes, a claim count past the limit, a negative count, a length past the end.
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        Ticket::from_binary(&trailing),
        Err(TicketFormatError::Malformed)
    );
    let mut many = good.clone();
    many[11 + 4..11 + 8].copy_from_slice(&100_000i32.to_le_bytes());
    assert_eq!(
        Ticket::from_binary(&many),
        Err(TicketFormatError::Malformed)
    );
    let mut negative = good.clone();
    negative[15..19].copy_from_slice(&(-1i32).to_le_bytes());
    assert_eq!(
        Ticket::from_binary(&negative),
        Err(TicketFormatError::Malformed)
    );
    assert_eq!(
        Ticket::from_binary(&[3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        Err(TicketFormatError::Malformed)
    );
    assert_eq!(
        Ticket::from_binary(&[4, 0, 0, 0]),
        Err(TicketFormatError::Version)
    );
    // Every prefix of a real ticket is refused, none panics.
    for n in 0..good.len() {
        assert!(Ticket::from_binary(&good[..n]).is_err(), "prefix {n}");
    }
    // Not Base64Url, padded, or too long: refused before any cryptography.
    let key = MachineKey::parse(&element("")).expect("key");
    let format = TicketFormat::access_token(&key);
    for text in ["a+b/", "abcd==", "ab cd", &"A".repeat(17 * 1024)] {
        assert_eq!(
            format.unprotect(text),
            Err(TicketError::Encoding),
            "{text:.20}"
        );
    }
    assert_eq!(base64url_decode("AB"), None, "non-canonical trailing bits");
}
