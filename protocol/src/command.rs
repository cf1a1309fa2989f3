//! `RemotingCommand`: the unit every request and response travels in.
//!
//! # Format
//! ```text
//! +---------------+-------------------------+-----------------+-------------+
//! | total_len i32 | ser_type u8 | hdr_len u24 | header          | body        |
//! +---------------+-------------------------+-----------------+-------------+
//! total_len = 4 + hdr_len + body_len (it does not count itself)
//! ```
//! The header is JSON (serialize type 0) or RocketMQ binary (type 1), see [`crate::serialize`].
//! A response is encoded with the request's serialization.

use bytes::{BufMut, Bytes, BytesMut};

use crate::code::{LanguageCode, RequestCode, ResponseCode};
use crate::error::{Error, Result};
use crate::ext_fields::ExtFields;
use crate::header::CommandHeader;
use crate::serialize;

/// Flag bit 0: set on responses.
pub const FLAG_RESPONSE: i32 = 1;
/// Flag bit 1: set on one-way requests (no response will be sent).
pub const FLAG_ONEWAY: i32 = 1 << 1;

/// The `version` we announce: `MQVersion.V5_3_3` ordinal, as current Java components do.
pub const CURRENT_VERSION: i32 = 479;

/// Largest header length the 24-bit field can carry.
pub const MAX_HEADER_BYTES: usize = 0x00FF_FFFF;

/// Header serialization, the top byte of the frame's second word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    /// JSON header (Java's default).
    #[default]
    Json,
    /// RocketMQ's compact binary header.
    RocketMq,
}

impl SerializeType {
    /// The frame byte.
    pub fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    /// Decodes the frame byte.
    pub fn from_code(code: u8) -> Result<Self> {
        match code {
            0 => Ok(SerializeType::Json),
            1 => Ok(SerializeType::RocketMq),
            other => Err(Error::malformed(
                "frame",
                format!("unknown serialize type {other}"),
            )),
        }
    }
}

/// A request or response. `code` stays raw so that unknown request codes decode (and can be
/// answered with `REQUEST_CODE_NOT_SUPPORTED`); use [`RemotingCommand::request_code`] for the
/// typed view.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemotingCommand {
    /// Request code (requests) or response code (responses).
    pub code: i32,
    /// Sender's SDK language.
    pub language: LanguageCode,
    /// Sender's `MQVersion` ordinal.
    pub version: i32,
    /// Request id, echoed by the response.
    pub opaque: i32,
    /// [`FLAG_RESPONSE`] and [`FLAG_ONEWAY`] bits.
    pub flag: i32,
    /// Human-readable text, mostly on error responses.
    pub remark: Option<String>,
    /// Typed header fields rendered as strings.
    pub ext_fields: ExtFields,
    /// Body bytes (a slice of the received frame: no copy).
    pub body: Bytes,
    /// Header serialization this command was received in / will be sent in.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A new request with `code` and no header fields.
    pub fn request(code: RequestCode) -> Self {
        Self::request_raw(code.code())
    }

    /// A new request with a raw code (for codes this crate does not type).
    pub fn request_raw(code: i32) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::RUST,
            version: CURRENT_VERSION,
            ..Default::default()
        }
    }

    /// A new request whose extFields come from a typed header.
    pub fn request_with_header<H: CommandHeader>(code: RequestCode, header: &H) -> Self {
        let mut cmd = Self::request(code);
        header.write_to(&mut cmd.ext_fields);
        cmd
    }

    /// A response to `request`: same opaque and serialization, response flag set.
    pub fn response_to(request: &RemotingCommand, code: ResponseCode) -> Self {
        RemotingCommand {
            code: code.code(),
            language: LanguageCode::JAVA,
            version: CURRENT_VERSION,
            opaque: request.opaque,
            flag: FLAG_RESPONSE,
            serialize_type: request.serialize_type,
            ..Default::default()
        }
    }

    /// A response with a remark (errors).
    pub fn error_response(
        request: &RemotingCommand,
        code: ResponseCode,
        remark: impl Into<String>,
    ) -> Self {
        Self::response_to(request, code).with_remark(remark)
    }

    /// Sets the remark.
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Writes a typed header's fields into extFields.
    pub fn with_header<H: CommandHeader>(mut self, header: &H) -> Self {
        header.write_to(&mut self.ext_fields);
        self
    }

    /// Sets the serialization.
    pub fn with_serialize_type(mut self, t: SerializeType) -> Self {
        self.serialize_type = t;
        self
    }

    /// Marks the request one-way.
    pub fn into_oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    /// Decodes a typed header from extFields.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H> {
        H::read_from(&self.ext_fields)
    }

    /// True for responses.
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// True for one-way requests.
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// Typed request code, if known.
    pub fn request_code(&self) -> Option<RequestCode> {
        RequestCode::from_code(self.code)
    }

    /// Typed response code, if known.
    pub fn response_code(&self) -> Option<ResponseCode> {
        ResponseCode::from_code(self.code)
    }

    /// Encodes the whole frame (length prefix, header, body) into `out`.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        self.encode_header(self.body.len(), out)?;
        out.extend_from_slice(&self.body);
        Ok(())
    }

    /// Encodes the whole frame into a new buffer.
    pub fn encode_to_bytes(&self) -> Result<Bytes> {
        let mut out = BytesMut::with_capacity(64 + self.body.len());
        self.encode(&mut out)?;
        Ok(out.freeze())
    }

    /// Encodes length prefix + header for a body of `body_len` bytes that the caller sends
    /// separately (from a file with sendfile: the zero-copy pull path). `self.body` is ignored.
    pub fn encode_header(&self, body_len: usize, out: &mut BytesMut) -> Result<()> {
        let start = out.len();
        out.put_u64(0); // total_len + type/header-length word, patched below
        match self.serialize_type {
            SerializeType::Json => serialize::json::encode(self, out)?,
            SerializeType::RocketMq => serialize::binary::encode(self, out)?,
        }
        let header_len = out.len() - start - 8;
        if header_len > MAX_HEADER_BYTES {
            out.truncate(start);
            return Err(Error::Encode(format!(
                "header of {header_len} bytes exceeds the 24-bit limit"
            )));
        }
        let total = 4 + header_len + body_len;
        let total = i32::try_from(total)
            .map_err(|_| Error::Encode(format!("frame of {total} bytes is too large")))?;
        let word = (u32::from(self.serialize_type.code()) << 24) | header_len as u32;
        out[start..start + 4].copy_from_slice(&total.to_be_bytes());
        out[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
        Ok(())
    }

    /// Decodes a frame payload: everything after the 4-byte length prefix (see
    /// [`crate::frame::split`]). The body is a zero-copy slice of `payload`.
    pub fn decode(mut payload: Bytes) -> Result<RemotingCommand> {
        if payload.len() < 4 {
            return Err(Error::malformed(
                "frame",
                format!(
                    "payload of {} bytes has no header-length word",
                    payload.len()
                ),
            ));
        }
        let word = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
        let serialize_type = SerializeType::from_code((word >> 24) as u8)?;
        let header_len = (word & 0x00FF_FFFF) as usize;
        if header_len > payload.len() - 4 {
            return Err(Error::malformed(
                "frame",
                format!(
                    "header length {header_len} exceeds the {} bytes left in the frame",
                    payload.len() - 4
                ),
            ));
        }
        let header = payload.slice(4..4 + header_len);
        let body = payload.split_off(4 + header_len);
        let mut cmd = match serialize_type {
            SerializeType::Json => serialize::json::decode(&header)?,
            SerializeType::RocketMq => serialize::binary::decode(&header)?,
        };
        cmd.serialize_type = serialize_type;
        cmd.body = body;
        Ok(cmd)
    }
}
