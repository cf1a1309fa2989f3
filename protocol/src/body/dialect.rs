//! The fastjson dialect of JSON, built on serde_json.
//!
//! Output ([`to_json_vec`], [`to_json_string`]) runs serde_json with a custom
//! [`Formatter`] that knows whether it is writing an object key and what the key was made of:
//! * keys serialized from Rust integers (Java `Integer`/`Long` map keys) are written bare,
//!   `{0:"a"}`, in [`IntKeys::Unquoted`] mode (fastjson's default) and quoted, `{"0":"a"}`, in
//!   [`IntKeys::Quoted`] mode (fastjson with `BrowserCompatible`). String keys are always quoted,
//!   even when they consist of digits, exactly as fastjson treats a `Map<String, _>`;
//! * keys of a [`MqMap`](super::MqMap) are written as raw JSON objects in both modes,
//!   `{{"brokerName":"b","queueId":0,"topic":"T"}:5}`. The map hands the formatter a string key
//!   made of [`RAW_KEY_MARK`] followed by the object's JSON text; the formatter collects the
//!   un-escaped text and writes it without quotes if it is one well-formed JSON object. Any
//!   other key that starts with U+0000 is written as an ordinary quoted string, so peer-supplied
//!   map keys can never inject raw JSON.
//!
//! Input ([`from_json_slice`]) first runs [`rectify`], a lexer-level pass that turns the
//! dialect into standard JSON (bare and single-quoted keys get double quotes, object keys become
//! string keys holding the object's JSON text), then hands the result to serde_json.

use std::fmt;
use std::io;

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

use crate::error::{Error, Result};

pub use super::rectify::rectify;

/// Marks a string map key whose content must be written as raw JSON (see the module docs).
pub const RAW_KEY_MARK: char = '\u{0}';

/// How object keys that come from Rust integers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntKeys {
    /// `{0:"a"}`: fastjson's default, what Java RocketMQ writes almost everywhere.
    #[default]
    Unquoted,
    /// `{"0":"a"}`: standard JSON (fastjson `BrowserCompatible`), used for route data sent to
    /// new clients.
    Quoted,
}

/// Serializes `value` in the fastjson dialect, or fails if its `Serialize` impl fails (for
/// example a map keyed by something that is not a string, integer or `MessageQueue`).
pub fn try_to_json_vec<T: Serialize + ?Sized>(value: &T, keys: IntKeys) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, FastjsonFormatter::new(keys));
    value
        .serialize(&mut ser)
        .map_err(|e| Error::Encode(format!("JSON body: {e}")))?;
    Ok(out)
}

/// Serializes `value` in the fastjson dialect.
///
/// # Panics
/// Only if `T`'s `Serialize` impl fails; every body type of this crate serializes infallibly
/// (string, integer or `MessageQueue` keys only). Use [`try_to_json_vec`] for other types.
pub fn to_json_vec<T: Serialize + ?Sized>(value: &T, keys: IntKeys) -> Vec<u8> {
    // Invariant: callers pass body types whose maps have string, integer or MessageQueue keys,
    // which serde_json always accepts, and the writer is a Vec, which never fails.
    try_to_json_vec(value, keys).expect("body types serialize infallibly")
}

/// Serializes `value` in the fastjson dialect as a `String`; see [`to_json_vec`].
pub fn to_json_string<T: Serialize + ?Sized>(value: &T, keys: IntKeys) -> String {
    let bytes = to_json_vec(value, keys);
    // serde_json emits UTF-8 and the formatter only removes ASCII quotes or replaces ASCII
    // escapes by the ASCII byte they stand for, so the output stays UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Parses a body in fastjson's dialect (also plain JSON, Go's and C++'s variants).
pub fn from_json_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let text = rectify(bytes)?;
    serde_json::from_slice(&text).map_err(|e| Error::Json(e.to_string()))
}

/// Where the formatter is relative to an object key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyState {
    /// Not inside a key.
    Outside,
    /// `begin_object_key` was called; nothing of the key written yet.
    Start,
    /// `begin_string` of the key was swallowed; the first piece decides how to write it.
    Pending,
    /// Writing a quoted key.
    Quoted,
    /// Writing an integer key without quotes.
    Bare,
    /// Collecting a raw (`MessageQueue`) key: escapes become the characters they stand for.
    Raw,
}

/// serde_json formatter that writes fastjson's dialect (compact, see the module docs).
struct FastjsonFormatter {
    keys: IntKeys,
    state: KeyState,
    /// The un-escaped text of the raw key being collected (without the mark).
    raw_key: Vec<u8>,
}

impl FastjsonFormatter {
    fn new(keys: IntKeys) -> Self {
        FastjsonFormatter {
            keys,
            state: KeyState::Outside,
            raw_key: Vec::new(),
        }
    }

    /// Ends a raw key: verbatim if it is one JSON object, else as the quoted original string.
    fn flush_raw_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        let text = std::mem::take(&mut self.raw_key);
        let is_object =
            text.first() == Some(&b'{') && serde_json::from_slice::<IgnoredAny>(&text).is_ok();
        if is_object {
            return w.write_all(&text);
        }
        let mut original = String::with_capacity(text.len() + 1);
        original.push(RAW_KEY_MARK);
        original.push_str(&String::from_utf8_lossy(&text));
        serde_json::to_writer(w, &original).map_err(io::Error::other)
    }

    /// Before a non-integer piece of a key: writes the opening quote if still pending.
    fn open_quoted<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.state == KeyState::Pending {
            self.state = KeyState::Quoted;
            w.write_all(b"\"")?;
        }
        Ok(())
    }

    /// Before an integer piece of a key: bare in `Unquoted` mode, quoted otherwise.
    fn open_integer<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.state == KeyState::Pending && self.keys == IntKeys::Unquoted {
            self.state = KeyState::Bare;
            return Ok(());
        }
        self.open_quoted(w)
    }
}

/// The character an escape stands for (raw keys contain JSON text, so only `"` and `\` occur).
fn unescaped_byte(escape: CharEscape) -> u8 {
    match escape {
        CharEscape::Quote => b'"',
        CharEscape::ReverseSolidus => b'\\',
        CharEscape::Solidus => b'/',
        CharEscape::Backspace => 0x08,
        CharEscape::FormFeed => 0x0c,
        CharEscape::LineFeed => b'\n',
        CharEscape::CarriageReturn => b'\r',
        CharEscape::Tab => b'\t',
        CharEscape::AsciiControl(b) => b,
    }
}

macro_rules! integer_writers {
    ($($method:ident: $ty:ty),*) => {
        $(
            fn $method<W: ?Sized + io::Write>(&mut self, w: &mut W, value: $ty) -> io::Result<()> {
                self.open_integer(w)?;
                CompactFormatter.$method(w, value)
            }
        )*
    };
}

macro_rules! quoted_writers {
    ($($method:ident: $ty:ty),*) => {
        $(
            fn $method<W: ?Sized + io::Write>(&mut self, w: &mut W, value: $ty) -> io::Result<()> {
                self.open_quoted(w)?;
                CompactFormatter.$method(w, value)
            }
        )*
    };
}

impl Formatter for FastjsonFormatter {
    integer_writers!(write_i8: i8, write_i16: i16, write_i32: i32, write_i64: i64,
        write_i128: i128, write_u8: u8, write_u16: u16, write_u32: u32, write_u64: u64,
        write_u128: u128);
    quoted_writers!(write_bool: bool, write_f32: f32, write_f64: f64, write_number_str: &str,
        write_byte_array: &[u8]);

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.state = KeyState::Start;
        if first {
            Ok(())
        } else {
            w.write_all(b",")
        }
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.state = KeyState::Outside;
        Ok(())
    }

    fn begin_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.state == KeyState::Start {
            self.state = KeyState::Pending;
            return Ok(());
        }
        w.write_all(b"\"")
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        match self.state {
            KeyState::Pending => w.write_all(b"\"\""),
            KeyState::Bare => Ok(()),
            KeyState::Raw => self.flush_raw_key(w),
            _ => w.write_all(b"\""),
        }
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        s: &str,
    ) -> io::Result<()> {
        if self.state == KeyState::Raw {
            self.raw_key.extend_from_slice(s.as_bytes());
            return Ok(());
        }
        self.open_quoted(w)?;
        w.write_all(s.as_bytes())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        e: CharEscape,
    ) -> io::Result<()> {
        match (self.state, e) {
            (KeyState::Pending, CharEscape::AsciiControl(0)) => {
                self.state = KeyState::Raw;
                Ok(())
            }
            (KeyState::Raw, e) => {
                self.raw_key.push(unescaped_byte(e));
                Ok(())
            }
            (_, e) => {
                self.open_quoted(w)?;
                CompactFormatter.write_char_escape(w, e)
            }
        }
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        self.open_quoted(w)?;
        w.write_all(s.as_bytes())
    }
}

/// Any JSON value, reduced to what lenient scalar decoding needs (enums, numbers, booleans that
/// clients send as names, ordinals, strings or numbers).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LenientScalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// An array or object (ignored).
    Composite,
}

impl LenientScalar {
    /// The value as an `i64`: integers, floats (truncated), numeric strings; `None` otherwise.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            LenientScalar::Int(v) => Some(*v),
            LenientScalar::Float(f) if f.is_finite() => Some(*f as i64),
            LenientScalar::Str(s) => s.trim().parse().ok(),
            LenientScalar::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// The value as a `bool`: booleans, Java's `Boolean.parseBoolean` on strings, non-zero ints.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            LenientScalar::Bool(b) => Some(*b),
            LenientScalar::Str(s) => Some(s.trim().eq_ignore_ascii_case("true")),
            LenientScalar::Int(v) => Some(*v != 0),
            _ => None,
        }
    }

    /// The value as a Java enum constant, by name or by ordinal.
    pub(crate) fn as_enum<T>(
        &self,
        from_name: impl Fn(&str) -> Option<T>,
        from_ordinal: impl Fn(i64) -> Option<T>,
    ) -> Option<T> {
        match self {
            LenientScalar::Str(s) => {
                from_name(s.trim()).or_else(|| self.as_i64().and_then(from_ordinal))
            }
            _ => self.as_i64().and_then(from_ordinal),
        }
    }
}

impl<'de> Deserialize<'de> for LenientScalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(LenientScalarVisitor)
    }
}

struct LenientScalarVisitor;

impl<'de> Visitor<'de> for LenientScalarVisitor {
    type Value = LenientScalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(LenientScalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(LenientScalar::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(LenientScalar::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(LenientScalar::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(LenientScalar::Float(v as f64), LenientScalar::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(LenientScalar::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(LenientScalar::Str(v.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LenientScalar::Composite)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(LenientScalar::Composite)
    }
}

/// Deserializes an `i64` from a number, a numeric string or `null` (0); other values become 0.
pub(crate) fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    Ok(LenientScalar::deserialize(d)?.as_i64().unwrap_or(0))
}

/// Deserializes a `bool` from a boolean, a string (`"true"`, any case) or a number; else false.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(LenientScalar::deserialize(d)?.as_bool().unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Sample {
        broker_addrs: BTreeMap<i64, String>,
        names: BTreeMap<String, i32>,
        note: String,
    }

    fn sample() -> Sample {
        Sample {
            broker_addrs: [(0, "a:1".to_owned()), (-1, "b:2".to_owned())].into(),
            names: [("0".to_owned(), 1), ("x\"y".to_owned(), 2)].into(),
            note: "{0:\"not a key\"}".to_owned(),
        }
    }

    #[test]
    fn unquoted_mode_writes_integer_keys_bare_and_string_keys_quoted() {
        assert_eq!(
            to_json_string(&sample(), IntKeys::Unquoted),
            r#"{"brokerAddrs":{-1:"b:2",0:"a:1"},"names":{"0":1,"x\"y":2},"note":"{0:\"not a key\"}"}"#
        );
    }

    #[test]
    fn quoted_mode_is_standard_json() {
        let text = to_json_string(&sample(), IntKeys::Quoted);
        assert_eq!(
            text,
            r#"{"brokerAddrs":{"-1":"b:2","0":"a:1"},"names":{"0":1,"x\"y":2},"note":"{0:\"not a key\"}"}"#
        );
        let back: Sample = serde_json::from_str(&text).expect("standard JSON");
        assert_eq!(back, sample());
    }

    #[test]
    fn both_modes_round_trip() {
        for keys in [IntKeys::Unquoted, IntKeys::Quoted] {
            let bytes = to_json_vec(&sample(), keys);
            assert_eq!(
                from_json_slice::<Sample>(&bytes).expect("round trip"),
                sample()
            );
        }
    }

    #[test]
    fn other_key_kinds_and_empty_keys_are_quoted() {
        let m: BTreeMap<bool, i32> = [(true, 1)].into();
        assert_eq!(to_json_string(&m, IntKeys::Unquoted), r#"{"true":1}"#);
        let m: BTreeMap<String, i32> = [(String::new(), 1)].into();
        assert_eq!(to_json_string(&m, IntKeys::Unquoted), r#"{"":1}"#);
        let m: BTreeMap<u64, i32> = [(u64::MAX, 1)].into();
        assert_eq!(
            to_json_string(&m, IntKeys::Unquoted),
            "{18446744073709551615:1}"
        );
        let m: BTreeMap<String, Vec<i32>> = [("\n".to_owned(), vec![1, 2])].into();
        assert_eq!(to_json_string(&m, IntKeys::Unquoted), r#"{"\n":[1,2]}"#);
    }

    #[test]
    fn raw_keys_are_written_as_json_text() {
        let key = format!("{RAW_KEY_MARK}{{\"a\":\"q\\\"x\",\"b\":1}}");
        let m: BTreeMap<String, i32> = [(key, 7)].into();
        assert_eq!(
            to_json_string(&m, IntKeys::Quoted),
            r#"{{"a":"q\"x","b":1}:7}"#
        );
        assert_eq!(
            to_json_string(&m, IntKeys::Unquoted),
            r#"{{"a":"q\"x","b":1}:7}"#
        );
    }

    #[test]
    fn marked_keys_that_are_not_one_object_stay_quoted() {
        for text in ["\"x\":1,\"y", "{\"a\":1},{", "[1]", "", "{\"a\":"] {
            let key = format!("{RAW_KEY_MARK}{text}");
            let m: BTreeMap<String, i32> = [(key.clone(), 7)].into();
            let out = to_json_string(&m, IntKeys::Unquoted);
            let back: BTreeMap<String, i32> = serde_json::from_str(&out).expect("standard JSON");
            assert_eq!(back.keys().next(), Some(&key), "{out}");
        }
    }

    #[test]
    fn failing_serialize_is_an_error_not_a_panic() {
        let m: BTreeMap<Vec<u8>, i32> = [(vec![1u8], 1)].into();
        assert!(matches!(
            try_to_json_vec(&m, IntKeys::Unquoted),
            Err(Error::Encode(_))
        ));
    }

    #[test]
    fn lenient_scalars() {
        let v: LenientScalar = serde_json::from_str("\" 12 \"").expect("json");
        assert_eq!(v.as_i64(), Some(12));
        let v: LenientScalar = serde_json::from_str("1.9").expect("json");
        assert_eq!(v.as_i64(), Some(1));
        let v: LenientScalar = serde_json::from_str("[1,{\"a\":2}]").expect("json");
        assert_eq!(v, LenientScalar::Composite);
        assert_eq!(v.as_i64(), None);
        let v: LenientScalar = serde_json::from_str("\"TRUE\"").expect("json");
        assert_eq!(v.as_bool(), Some(true));
        let v: LenientScalar = serde_json::from_str("null").expect("json");
        assert_eq!(v.as_bool(), None);
    }
}
