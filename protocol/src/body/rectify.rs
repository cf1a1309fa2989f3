//! Lexer-level pass that turns fastjson's dialect into standard JSON for serde_json.
//!
//! It understands only tokens and nesting, never numbers or literals (serde_json validates
//! those afterwards). What it changes, and only at object-key positions:
//! * a bare key (`0`, `-1`, `brokerName`) gets double quotes: `{0:"a"}` → `{"0":"a"}`;
//! * an object or array key (fastjson writes `MessageQueue` keys that way) becomes a string key
//!   holding that value's (rectified) JSON text:
//!   `{{"queueId":0}:5}` → `{"{\"queueId\":0}":5}`.
//!
//! Everywhere, single-quoted strings (`'a'`, which fastjson also accepts) become double-quoted.
//! The pass is iterative (no recursion), bounds the nesting of composite keys and the output
//! size, and never panics: malformed input is an [`Error::Malformed`].

use crate::error::{Error, Result};

/// Composite keys inside composite keys: each level re-escapes its content, so the depth is
/// bounded to keep the output linear in the input (real bodies need 1).
const MAX_KEY_NESTING: usize = 2;
/// Nesting bound (serde_json itself stops at 128).
const MAX_DEPTH: usize = 1024;

/// One open `{` or `[`.
#[derive(Debug, Clone, Copy)]
struct Frame {
    is_object: bool,
    /// The next token of this object is a key (set after `{` and `,`).
    expect_key: bool,
    /// This value is an object key: its text is collected in its own buffer.
    is_key: bool,
}

/// Rewrites fastjson-dialect JSON `input` as standard JSON (see the module docs).
pub fn rectify(input: &[u8]) -> Result<Vec<u8>> {
    let mut r = Rectifier {
        input,
        pos: 0,
        frames: Vec::new(),
        bufs: vec![Vec::with_capacity(input.len() + 16)],
        max_output: input.len().saturating_mul(4).saturating_add(1024),
    };
    r.run()?;
    if !r.frames.is_empty() {
        return Err(malformed("unterminated object or array"));
    }
    r.bufs
        .pop()
        .ok_or_else(|| malformed("internal buffer stack empty"))
}

fn malformed(detail: &str) -> Error {
    Error::malformed("JSON body", detail)
}

/// Bytes that end a bare token.
fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b'{' | b'}' | b'[' | b']' | b'"' | b'\''
    )
}

/// Bytes allowed in an unquoted key (fastjson writes digits, `-`; identifiers are accepted).
fn is_bare_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'-' | b'+' | b'.') || b >= 0x80
}

struct Rectifier<'a> {
    input: &'a [u8],
    pos: usize,
    frames: Vec<Frame>,
    /// Output buffers: the body, then one per composite key being collected.
    bufs: Vec<Vec<u8>>,
    max_output: usize,
}

impl Rectifier<'_> {
    fn run(&mut self) -> Result<()> {
        while let Some(&b) = self.input.get(self.pos) {
            match b {
                b'"' => self.double_quoted()?,
                b'\'' => self.single_quoted()?,
                b'{' | b'[' => self.open(b)?,
                b'}' | b']' => self.close(b)?,
                b',' => {
                    if let Some(f) = self.frames.last_mut() {
                        f.expect_key = f.is_object;
                    }
                    self.emit(&[b]);
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\n' | b'\r' | b':' => {
                    self.emit(&[b]);
                    self.pos += 1;
                }
                _ if self.at_key() => self.bare_key()?,
                _ => self.bare_value(),
            }
        }
        Ok(())
    }

    fn emit(&mut self, bytes: &[u8]) {
        // The body buffer is only popped after `run`, so there is always a last buffer.
        if let Some(buf) = self.bufs.last_mut() {
            buf.extend_from_slice(bytes);
        }
    }

    fn at_key(&self) -> bool {
        self.frames
            .last()
            .is_some_and(|f| f.is_object && f.expect_key)
    }

    /// Marks the current key as consumed.
    fn key_done(&mut self) {
        if let Some(f) = self.frames.last_mut() {
            f.expect_key = false;
        }
    }

    fn double_quoted(&mut self) -> Result<()> {
        let start = self.pos;
        let mut i = start + 1;
        loop {
            match self.input.get(i) {
                None => return Err(malformed("unterminated string")),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let end = i + 1;
        let input = self.input;
        self.emit(&input[start..end]);
        self.pos = end;
        if self.at_key() {
            self.key_done();
        }
        Ok(())
    }

    fn single_quoted(&mut self) -> Result<()> {
        let mut text = vec![b'"'];
        let mut i = self.pos + 1;
        loop {
            match self.input.get(i) {
                None => return Err(malformed("unterminated string")),
                Some(b'\\') => {
                    match self.input.get(i + 1) {
                        None => return Err(malformed("unterminated string")),
                        Some(b'\'') => text.push(b'\''),
                        Some(&c) => text.extend_from_slice(&[b'\\', c]),
                    }
                    i += 2;
                }
                Some(b'"') => {
                    text.extend_from_slice(b"\\\"");
                    i += 1;
                }
                Some(b'\'') => break,
                Some(&c) => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        text.push(b'"');
        self.emit(&text);
        self.pos = i + 1;
        if self.at_key() {
            self.key_done();
        }
        Ok(())
    }

    fn open(&mut self, b: u8) -> Result<()> {
        let is_key = self.at_key();
        if is_key {
            if self.bufs.len() > MAX_KEY_NESTING {
                return Err(malformed("object keys nested too deeply"));
            }
            self.key_done();
            self.bufs.push(Vec::new());
        }
        if self.frames.len() >= MAX_DEPTH {
            return Err(malformed("nesting too deep"));
        }
        self.frames.push(Frame {
            is_object: b == b'{',
            expect_key: b == b'{',
            is_key,
        });
        self.emit(&[b]);
        self.pos += 1;
        Ok(())
    }

    fn close(&mut self, b: u8) -> Result<()> {
        let frame = self
            .frames
            .pop()
            .ok_or_else(|| malformed("unbalanced closing bracket"))?;
        if frame.is_object != (b == b'}') {
            return Err(malformed("mismatched brackets"));
        }
        self.emit(&[b]);
        self.pos += 1;
        if frame.is_key {
            let inner = self
                .bufs
                .pop()
                .ok_or_else(|| malformed("internal buffer stack empty"))?;
            let text =
                String::from_utf8(inner).map_err(|_| malformed("object key is not UTF-8"))?;
            let quoted = serde_json::to_string(&text).map_err(|e| malformed(&e.to_string()))?;
            self.emit(quoted.as_bytes());
            if self.bufs.iter().map(Vec::len).sum::<usize>() > self.max_output {
                return Err(malformed("object keys expand too much"));
            }
        }
        Ok(())
    }

    /// Length of the bare token starting at `self.pos` (at least 1: the current byte is not a
    /// delimiter).
    fn token_len(&self) -> usize {
        self.input[self.pos..]
            .iter()
            .position(|&b| is_delimiter(b))
            .unwrap_or(self.input.len() - self.pos)
    }

    fn bare_key(&mut self) -> Result<()> {
        let len = self.token_len();
        let input = self.input;
        let token = &input[self.pos..self.pos + len];
        if !token.iter().all(|&b| is_bare_key_byte(b)) {
            return Err(malformed("invalid unquoted object key"));
        }
        self.emit(b"\"");
        self.emit(token);
        self.emit(b"\"");
        self.pos += len;
        self.key_done();
        Ok(())
    }

    /// Numbers, `true`, `false`, `null` (and garbage, which serde_json rejects) pass through.
    fn bare_value(&mut self) {
        let input = self.input;
        let end = (self.pos + self.token_len().max(1)).min(input.len());
        self.emit(&input[self.pos..end]);
        self.pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(s: &str) -> String {
        let out = rectify(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
    }

    #[test]
    fn quotes_bare_integer_keys() {
        assert_eq!(fix(r#"{0:"a",-1:"b"}"#), r#"{"0":"a","-1":"b"}"#);
        assert_eq!(
            fix(r#"{"brokerAddrs":{0:"10.0.0.1:10911",1:"x"}}"#),
            r#"{"brokerAddrs":{"0":"10.0.0.1:10911","1":"x"}}"#
        );
        assert_eq!(fix("{ 12 : 5 , 13 :6 }"), r#"{ "12" : 5 , "13" :6 }"#);
    }

    #[test]
    fn quotes_identifier_keys_and_single_quoted_strings() {
        assert_eq!(
            fix("{topic:'T',q:'it\\'s \"x\"'}"),
            r#"{"topic":"T","q":"it's \"x\""}"#
        );
        assert_eq!(fix("['a','b']"), r#"["a","b"]"#);
    }

    #[test]
    fn leaves_standard_json_and_string_contents_alone() {
        let s = r#"{"a":[1,2.5e3,true,null,{"b":"{0:1}, [x]"}],"c\"d":"e\\"}"#;
        assert_eq!(fix(s), s);
        assert_eq!(fix("[0,1,-2]"), "[0,1,-2]");
        assert_eq!(fix("\"top\""), "\"top\"");
        assert_eq!(fix(""), "");
    }

    #[test]
    fn object_keys_become_string_keys_holding_their_json() {
        assert_eq!(
            fix(r#"{{"brokerName":"b","queueId":0,"topic":"T"}:{"maxOffset":9}}"#),
            r#"{"{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"T\"}":{"maxOffset":9}}"#
        );
        // Keys inside the object key are rectified too, before it is quoted.
        assert_eq!(
            fix(r#"{{q:0}:1,{q:1}:2}"#),
            r#"{"{\"q\":0}":1,"{\"q\":1}":2}"#
        );
        assert_eq!(fix(r#"{[1,2]:3}"#), r#"{"[1,2]":3}"#);
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bad in [
            "{",
            "[",
            "}",
            "]",
            "{]",
            "[}",
            "\"abc",
            "'abc",
            "{\"a\":\"b\\",
            "{a\\b:1}",
            "{{{{1:2}:3}:4}:5}",
            "{\u{1}:1}",
        ] {
            assert!(rectify(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(rectify(deep.as_bytes()).is_err());
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(fix(&ok), ok);
    }

    #[test]
    fn fixed_garbage_never_panics() {
        let cases: [&[u8]; 12] = [
            b"\xff\xfe\x00",
            b"{\xff:1}",
            b"{{\"a\":\"\xff\"}:1}",
            b"\\\\\\",
            b"{:}",
            b"{,,,}",
            b"[:,]",
            b"{'",
            b"{\"\\",
            b"'\\",
            b"{{}:{}:{}}",
            b"\x00\x00{\x00",
        ];
        for case in cases {
            let _ = rectify(case);
        }
    }
}
