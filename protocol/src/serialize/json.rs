//! JSON header (serialize type 0).
//!
//! Encoding follows fastjson's output for Java's `RemotingCommand`: properties in alphabetical
//! order, null ones omitted, enums by name:
//! `{"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":7,
//! "serializeTypeCurrentRPC":"JSON","version":479}`.
//!
//! Decoding is lenient like fastjson: unknown keys are ignored, every key may be missing, and an
//! extFields value may be any JSON scalar (the C++ client sends `"queueId":0`); numbers and
//! booleans become their text, `null` drops the key.

use std::borrow::Cow;
use std::fmt;

use bytes::{BufMut, BytesMut};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::code::LanguageCode;
use crate::command::RemotingCommand;
use crate::error::{Error, Result};
use crate::ext_fields::{static_key, ExtFields};

/// Writes the JSON header of `cmd` to `out`.
pub fn encode(cmd: &RemotingCommand, out: &mut BytesMut) -> Result<()> {
    let mut w = out.writer();
    write_header(cmd, &mut w).map_err(|e| Error::Encode(e.to_string()))
}

fn write_header(cmd: &RemotingCommand, w: &mut impl std::io::Write) -> std::io::Result<()> {
    write!(w, "{{\"code\":{}", cmd.code)?;
    if !cmd.ext_fields.is_empty() {
        w.write_all(b",\"extFields\":{")?;
        for (i, (k, v)) in cmd.ext_fields.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            serde_json::to_writer(&mut *w, k)?;
            w.write_all(b":")?;
            serde_json::to_writer(&mut *w, v)?;
        }
        w.write_all(b"}")?;
    }
    write!(
        w,
        ",\"flag\":{},\"language\":\"{}\",\"opaque\":{}",
        cmd.flag,
        cmd.language.name(),
        cmd.opaque
    )?;
    if let Some(remark) = &cmd.remark {
        w.write_all(b",\"remark\":")?;
        serde_json::to_writer(&mut *w, remark)?;
    }
    write!(
        w,
        ",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":{}}}",
        cmd.version
    )
}

/// Parses a JSON header. The body and serialize type are filled in by the caller.
pub fn decode(header: &[u8]) -> Result<RemotingCommand> {
    if header.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Error::malformed("JSON header", "not a JSON object"));
    }
    let h: JsonHeader = serde_json::from_slice(header)
        .map_err(|e| Error::malformed("JSON header", e.to_string()))?;
    Ok(RemotingCommand {
        code: h.code,
        language: h.language.0,
        version: h.version,
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark,
        ext_fields: h.ext_fields.map(|e| e.0).unwrap_or_default(),
        ..Default::default()
    })
}

#[derive(Deserialize)]
struct JsonHeader {
    #[serde(default)]
    code: i32,
    #[serde(default)]
    language: Lang,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default, rename = "extFields")]
    ext_fields: Option<LenientExt>,
}

/// `language` by name (fastjson enum) or, leniently, by number.
#[derive(Default)]
struct Lang(LanguageCode);

impl<'de> Deserialize<'de> for Lang {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Lang;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a language name or code")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Lang, E> {
                Ok(Lang(LanguageCode::from_name(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Lang, E> {
                Ok(Lang(LanguageCode::from_code(u8::try_from(v).unwrap_or(7))))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Lang, E> {
                Ok(Lang(LanguageCode::OTHER))
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Lang, E> {
                Ok(Lang::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// extFields with any scalar as a value.
struct LenientExt(ExtFields);

impl<'de> Deserialize<'de> for LenientExt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LenientExt;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an extFields object")
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<LenientExt, E> {
                Ok(LenientExt(ExtFields::new()))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<LenientExt, A::Error> {
                let mut ext = ExtFields::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(KeyText(key)) = map.next_key::<KeyText>()? {
                    if let ScalarText(Some(value)) = map.next_value::<ScalarText>()? {
                        ext.insert(key, value);
                    }
                }
                Ok(LenientExt(ext))
            }
        }
        d.deserialize_any(V)
    }
}

/// An extFields key: a static string for frequent keys (no allocation), else owned.
struct KeyText(Cow<'static, str>);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an extFields key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<KeyText, E> {
                Ok(KeyText(
                    static_key(v).map_or_else(|| Cow::Owned(v.to_owned()), Cow::Borrowed),
                ))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<KeyText, E> {
                Ok(KeyText(static_key(&v).map_or(Cow::Owned(v), Cow::Borrowed)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON scalar rendered as text; `None` for null. Nested values are kept as their JSON text.
struct ScalarText(Option<String>);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ScalarText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<ScalarText, E> {
                Ok(ScalarText(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<ScalarText, E> {
                Ok(ScalarText(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<ScalarText, E> {
                Ok(ScalarText(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<ScalarText, E> {
                Ok(ScalarText(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<ScalarText, E> {
                Ok(ScalarText(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<ScalarText, E> {
                Ok(ScalarText(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<ScalarText, E> {
                Ok(ScalarText(None))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<ScalarText, A::Error> {
                let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ScalarText(Some(v.to_string())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> std::result::Result<ScalarText, A::Error> {
                let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(ScalarText(Some(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_style_header_round_trips() {
        let text = br#"{"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#;
        let cmd = decode(text).unwrap();
        assert_eq!(cmd.code, 105);
        assert_eq!(cmd.opaque, 7);
        assert_eq!(cmd.version, 479);
        assert_eq!(cmd.language, LanguageCode::JAVA);
        assert_eq!(cmd.ext_fields.get("topic"), Some("T"));
        let mut out = BytesMut::new();
        encode(&cmd, &mut out).unwrap();
        assert_eq!(&out[..], &text[..]);
    }

    #[test]
    fn scalars_nulls_and_missing_keys_are_tolerated() {
        let text = br#"{"code":10,"language":"CPP","extFields":{"queueId":0,"unitMode":false,"x":null,"y":1.5}}"#;
        let cmd = decode(text).unwrap();
        assert_eq!(cmd.ext_fields.get("queueId"), Some("0"));
        assert_eq!(cmd.ext_fields.get("unitMode"), Some("false"));
        assert_eq!(cmd.ext_fields.get("x"), None);
        assert_eq!(cmd.ext_fields.get("y"), Some("1.5"));
        assert_eq!(cmd.remark, None);
        assert_eq!(cmd.language, LanguageCode::CPP);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode(b"{\"code\":").is_err());
        assert!(decode(b"[1,2]").is_err());
        assert!(decode(b"{\"code\":\"x\"}").is_err());
    }
}
