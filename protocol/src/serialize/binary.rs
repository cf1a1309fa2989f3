//! ROCKETMQ binary header (serialize type 1).
//!
//! ```text
//! code i16 | language u8 | version i16 | opaque i32 | flag i32      (13 bytes)
//! remark_len i32 | remark bytes                                     (0 => no remark)
//! ext_len i32 | { key_len i16 | key | val_len i32 | val }*          (ext_len = bytes of entries)
//! ```
//! Every length is checked against what is left in the header before it is used.

use bytes::{BufMut, BytesMut};

use crate::code::LanguageCode;
use crate::command::RemotingCommand;
use crate::error::{Error, Result};
use crate::ext_fields::ExtFields;

const WHAT: &str = "binary header";

/// Writes the binary header of `cmd` to `out`.
pub fn encode(cmd: &RemotingCommand, out: &mut BytesMut) -> Result<()> {
    let code = i16::try_from(cmd.code).map_err(|_| {
        Error::Encode(format!(
            "code {} does not fit the binary header's 16 bits; use JSON",
            cmd.code
        ))
    })?;
    out.put_i16(code);
    out.put_u8(cmd.language.code());
    out.put_i16(cmd.version.clamp(i16::MIN.into(), i16::MAX.into()) as i16);
    out.put_i32(cmd.opaque);
    out.put_i32(cmd.flag);
    match &cmd.remark {
        Some(r) if !r.is_empty() => {
            out.put_i32(len_i32(r.len())?);
            out.put_slice(r.as_bytes());
        }
        _ => out.put_i32(0),
    }
    let ext_len: usize = cmd
        .ext_fields
        .iter()
        .map(|(k, v)| 2 + k.len() + 4 + v.len())
        .sum();
    out.put_i32(len_i32(ext_len)?);
    for (k, v) in cmd.ext_fields.iter() {
        let key_len = i16::try_from(k.len())
            .map_err(|_| Error::Encode(format!("extFields key of {} bytes", k.len())))?;
        out.put_i16(key_len);
        out.put_slice(k.as_bytes());
        out.put_i32(len_i32(v.len())?);
        out.put_slice(v.as_bytes());
    }
    Ok(())
}

fn len_i32(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::Encode(format!("length {n} does not fit an i32")))
}

/// Bounds-checked big-endian reader over the header bytes.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return Err(Error::malformed(
                WHAT,
                format!("{field} needs {n} bytes, {} left", self.buf.len()),
            ));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }

    fn i16(&mut self, field: &str) -> Result<i16> {
        self.array(field).map(i16::from_be_bytes)
    }

    fn i32(&mut self, field: &str) -> Result<i32> {
        self.array(field).map(i32::from_be_bytes)
    }

    fn len(&mut self, field: &str, n: i64) -> Result<usize> {
        usize::try_from(n)
            .map_err(|_| Error::malformed(WHAT, format!("negative {field} length {n}")))
    }

    fn string(&mut self, n: usize, field: &str) -> Result<String> {
        let bytes = self.take(n, field)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::malformed(WHAT, format!("{field} is not UTF-8")))
    }
}

/// Parses a binary header. The body and serialize type are filled in by the caller.
pub fn decode(header: &[u8]) -> Result<RemotingCommand> {
    let mut r = Reader { buf: header };
    let code = r.i16("code")?.into();
    let language = LanguageCode::from_code(r.array::<1>("language")?[0]);
    let version = r.i16("version")?.into();
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;
    let remark_len = r.i32("remark length")?;
    let remark_len = r.len("remark", remark_len.into())?;
    let remark = match remark_len {
        0 => None,
        n => Some(r.string(n, "remark")?),
    };
    let ext_len = r.i32("extFields length")?;
    let ext_len = r.len("extFields", ext_len.into())?;
    let ext_fields = decode_ext(r.take(ext_len, "extFields")?)?;
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        ..Default::default()
    })
}

fn decode_ext(buf: &[u8]) -> Result<ExtFields> {
    let mut r = Reader { buf };
    let mut ext = ExtFields::new();
    while !r.buf.is_empty() {
        let key_len = r.i16("extFields key length")?;
        let key_len = r.len("extFields key", key_len.into())?;
        let key = r.string(key_len, "extFields key")?;
        let val_len = r.i32("extFields value length")?;
        let val_len = r.len("extFields value", val_len.into())?;
        let value = r.string(val_len, "extFields value")?;
        ext.insert(key, value);
    }
    Ok(ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the wire reference §1.4 (header part, after the 8 frame bytes).
    const ROUTE_REQUEST_HEADER: [u8; 33] = [
        0x00, 0x69, 0x00, 0x01, 0xDF, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // fixed
        0x00, 0x00, 0x00, 0x00, // remark_len
        0x00, 0x00, 0x00, 0x0C, // ext_len
        0x00, 0x05, b't', b'o', b'p', b'i', b'c', 0x00, 0x00, 0x00, 0x01, b'T',
    ];

    #[test]
    fn worked_example_decodes_and_re_encodes() {
        let cmd = decode(&ROUTE_REQUEST_HEADER).unwrap();
        assert_eq!(cmd.code, 105);
        assert_eq!(cmd.language, LanguageCode::JAVA);
        assert_eq!(cmd.version, 479);
        assert_eq!(cmd.opaque, 1);
        assert_eq!(cmd.flag, 0);
        assert_eq!(cmd.remark, None);
        assert_eq!(cmd.ext_fields.get("topic"), Some("T"));
        let mut out = BytesMut::new();
        encode(&cmd, &mut out).unwrap();
        assert_eq!(&out[..], &ROUTE_REQUEST_HEADER[..]);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        for n in 0..ROUTE_REQUEST_HEADER.len() {
            assert!(decode(&ROUTE_REQUEST_HEADER[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn negative_and_oversized_lengths_are_rejected() {
        let mut h = ROUTE_REQUEST_HEADER;
        h[13..17].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(decode(&h).is_err());
        let mut h = ROUTE_REQUEST_HEADER;
        h[17..21].copy_from_slice(&1000i32.to_be_bytes());
        assert!(decode(&h).is_err());
    }

    #[test]
    fn codes_above_i16_cannot_be_encoded() {
        let cmd = RemotingCommand::request_raw(200_050);
        assert!(matches!(
            encode(&cmd, &mut BytesMut::new()),
            Err(Error::Encode(_))
        ));
    }
}
