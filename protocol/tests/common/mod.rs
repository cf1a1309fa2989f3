//! Shared helpers of the header golden tests.
//!
//! [`check`] takes a typed header and a hand-written spec of the extFields it must produce
//! (`("key*", "value")`, `*` marking a required field), then verifies, for both serializations:
//! the exact frame bytes (JSON text built from the spec by [`json_frame`], binary bytes built by
//! the independent encoder [`binary_frame`] that follows wire reference §1.4), the decode round
//! trip, missing-field and bad-number errors, and that unknown keys are ignored.

#![allow(dead_code)] // not every test binary uses every helper

use std::fmt::Debug;

use bytes::Bytes;
use protocol::header::CommandHeader;
use protocol::{Error, ExtFields, LanguageCode, RemotingCommand, Result, SerializeType};

/// Opaque used by every golden frame.
pub const OPAQUE: i32 = 7;
/// Version used by every golden frame (`MQVersion.V5_3_3`).
pub const VERSION: i32 = 479;

/// Keys a server must ignore: 5.x RPC fields, ACL fields, the ONS channel, and `bname`.
pub const EXTRAS: &[(&str, &str)] = &[
    ("ns", "MQ_INST_1"),
    ("nsd", "true"),
    ("oway", "false"),
    ("lo", "true"),
    ("bname", "broker-b"),
    ("AccessKey", "ak"),
    ("Signature", "c2ln"),
    ("SecurityToken", "tok"),
    ("OnsChannel", "ALIYUN"),
];

/// [`EXTRAS`] without `bname`, for the V1 send header (which reads `bname` as its broker name).
pub const EXTRAS_NO_BNAME: &[(&str, &str)] = &[
    ("ns", "MQ_INST_1"),
    ("nsd", "true"),
    ("AccessKey", "ak"),
    ("Signature", "c2ln"),
    ("OnsChannel", "ALIYUN"),
];

/// Splits a spec entry into (key, required).
fn spec_key(raw: &str) -> (&str, bool) {
    match raw.strip_suffix('*') {
        Some(k) => (k, true),
        None => (raw, false),
    }
}

/// The (key, value) pairs of a spec without the required markers.
pub fn spec_pairs<'a>(spec: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    spec.iter().map(|(k, v)| (spec_key(k).0, *v)).collect()
}

/// JSON string literal as serde_json writes it (short escapes, else `\u00xx`).
pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The JSON header text our encoder must produce for a RUST request with these fields.
pub fn json_header(code: i32, pairs: &[(&str, &str)]) -> String {
    let mut s = format!("{{\"code\":{code}");
    if !pairs.is_empty() {
        let fields: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
            .collect();
        s.push_str(&format!(",\"extFields\":{{{}}}", fields.join(",")));
    }
    s.push_str(&format!(
        ",\"flag\":0,\"language\":\"RUST\",\"opaque\":{OPAQUE},\
         \"serializeTypeCurrentRPC\":\"JSON\",\"version\":{VERSION}}}"
    ));
    s
}

/// A whole JSON frame around `header` text.
pub fn json_frame(header: &str) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&(4 + header.len() as i32).to_be_bytes());
    f.extend_from_slice(&(header.len() as u32).to_be_bytes()); // type 0 in the top byte
    f.extend_from_slice(header.as_bytes());
    f
}

/// Independent ROCKETMQ binary frame encoder (wire reference §1.4), no remark, no body.
pub fn binary_frame(
    code: i16,
    lang: u8,
    opaque: i32,
    flag: i32,
    pairs: &[(&str, &str)],
) -> Vec<u8> {
    let mut ext = Vec::new();
    for (k, v) in pairs {
        ext.extend_from_slice(&(k.len() as i16).to_be_bytes());
        ext.extend_from_slice(k.as_bytes());
        ext.extend_from_slice(&(v.len() as i32).to_be_bytes());
        ext.extend_from_slice(v.as_bytes());
    }
    let mut h = Vec::new();
    h.extend_from_slice(&code.to_be_bytes());
    h.push(lang);
    h.extend_from_slice(&(VERSION as i16).to_be_bytes());
    h.extend_from_slice(&opaque.to_be_bytes());
    h.extend_from_slice(&flag.to_be_bytes());
    h.extend_from_slice(&0i32.to_be_bytes()); // remark_len
    h.extend_from_slice(&(ext.len() as i32).to_be_bytes());
    h.extend_from_slice(&ext);
    let mut f = Vec::new();
    f.extend_from_slice(&(4 + h.len() as i32).to_be_bytes());
    f.extend_from_slice(&((1u32 << 24) | h.len() as u32).to_be_bytes());
    f.extend_from_slice(&h);
    f
}

/// A RUST request frame with `ext` in serialization `t`, encoded by the crate.
pub fn encode(code: i32, ext: ExtFields, t: SerializeType) -> Vec<u8> {
    let mut cmd = RemotingCommand::request_raw(code).with_serialize_type(t);
    cmd.opaque = OPAQUE;
    cmd.ext_fields = ext;
    cmd.encode_to_bytes()
        .expect("golden headers encode")
        .to_vec()
}

/// Decodes a whole frame (length prefix included) with the crate.
pub fn decode(frame: &[u8]) -> RemotingCommand {
    let total = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
    assert_eq!(total + 4, frame.len(), "length prefix");
    RemotingCommand::decode(Bytes::copy_from_slice(&frame[4..])).expect("golden frame decodes")
}

/// [`check_with`] for a header's own `write_to` / `read_from` and the default extras.
pub fn check<H: CommandHeader + PartialEq + Debug>(code: i32, header: &H, spec: &[(&str, &str)]) {
    check_with(code, header, spec, H::write_to, H::read_from, EXTRAS);
}

/// The full golden check of one header (see the module docs).
pub fn check_with<H: PartialEq + Debug>(
    code: i32,
    header: &H,
    spec: &[(&str, &str)],
    write: fn(&H, &mut ExtFields),
    read: fn(&ExtFields) -> Result<H>,
    extras: &[(&str, &str)],
) {
    let name = std::any::type_name::<H>();
    let pairs = spec_pairs(spec);
    let mut ext = ExtFields::new();
    write(header, &mut ext);
    assert_eq!(ext.iter().collect::<Vec<_>>(), pairs, "{name}: extFields");

    let json = encode(code, ext.clone(), SerializeType::Json);
    let want_text = json_header(code, &pairs);
    assert_eq!(
        String::from_utf8_lossy(&json[8..]),
        want_text,
        "{name}: JSON text"
    );
    assert_eq!(json, json_frame(&want_text), "{name}: JSON frame");
    let bin = encode(code, ext.clone(), SerializeType::RocketMq);
    let want_bin = binary_frame(code as i16, LanguageCode::RUST.code(), OPAQUE, 0, &pairs);
    assert_eq!(bin, want_bin, "{name}: binary frame");

    for frame in [&json, &bin] {
        let cmd = decode(frame);
        assert_eq!((cmd.code, cmd.opaque), (code, OPAQUE), "{name}");
        assert_eq!(
            read(&cmd.ext_fields).as_ref(),
            Ok(header),
            "{name}: round trip"
        );
    }
    check_errors(header, spec, write, read, name);
    let mut with_extras = ext.clone();
    for (k, v) in extras {
        if ext.get(k).is_none() {
            with_extras.insert(k.to_string(), *v);
        }
    }
    assert_eq!(
        read(&with_extras).as_ref(),
        Ok(header),
        "{name}: extras ignored"
    );
}

/// Missing required keys, optional keys, and unparsable numbers.
fn check_errors<H: PartialEq + Debug>(
    header: &H,
    spec: &[(&str, &str)],
    write: fn(&H, &mut ExtFields),
    read: fn(&ExtFields) -> Result<H>,
    name: &str,
) {
    let mut ext = ExtFields::new();
    write(header, &mut ext);
    for (raw, value) in spec {
        let (key, required) = spec_key(raw);
        let mut without = ext.clone();
        without.remove(key);
        match read(&without) {
            Err(Error::MissingField(k)) => assert!(required && k == key, "{name}: {key} {k}"),
            Ok(h) => {
                assert!(!required, "{name}: {key} is required");
                let mut rewritten = ExtFields::new();
                write(&h, &mut rewritten);
                assert_eq!(rewritten, without, "{name}: without optional {key}");
            }
            Err(e) => panic!("{name}: removing {key}: unexpected {e}"),
        }
        if value.parse::<i64>().is_ok() {
            let mut bad = ext.clone();
            bad.insert(key.to_string(), "12x");
            match read(&bad) {
                Err(Error::InvalidField { field, value }) => {
                    assert_eq!((field, value.as_str()), (key, "12x"), "{name}")
                }
                other => panic!("{name}: bad number in {key}: {other:?}"),
            }
        }
    }
}
