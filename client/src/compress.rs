//! Body compression (zlib, RocketMQ sysflag `COMPRESSED` with type bits `ZLIB`): producers
//! compress bodies above a threshold, consumers inflate compressed bodies from any producer
//! (4.x Java producers set only `COMPRESSED`, 5.x also the zlib type bits 0x300).

use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use protocol::message::sysflag;

use crate::error::{Error, Result};

/// Largest inflated body accepted (guards against decompression bombs).
pub const MAX_INFLATED_BYTES: usize = 128 * 1024 * 1024;

/// zlib-compresses `data` at `level` (0..=9; Java uses 5).
pub fn zlib_compress(data: &[u8], level: u32) -> Result<Vec<u8>> {
    let mut encoder = ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2),
        Compression::new(level.min(9)),
    );
    encoder
        .write_all(data)
        .and_then(|_| encoder.finish())
        .map_err(|e| Error::InvalidMessage(format!("cannot compress the body: {e}")))
}

/// Inflates a zlib body.
pub fn zlib_inflate(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() * 4);
    let decoder = ZlibDecoder::new(data);
    decoder
        .take(MAX_INFLATED_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            Error::Protocol(protocol::Error::malformed("compressed body", e.to_string()))
        })?;
    if out.len() > MAX_INFLATED_BYTES {
        return Err(Error::Protocol(protocol::Error::malformed(
            "compressed body",
            format!("inflates to more than {MAX_INFLATED_BYTES} bytes"),
        )));
    }
    Ok(out)
}

/// The sysflag bits a producer sets on a zlib-compressed body.
pub fn compressed_sys_flag(sys_flag: i32) -> i32 {
    sys_flag | sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB
}

/// Inflates `body` if `sys_flag` says it is compressed; returns the body and the sysflag with
/// the compression bits cleared. LZ4 and Zstandard bodies are reported as errors (no
/// approved codec).
pub fn decompress_if_needed(sys_flag: i32, body: &[u8]) -> Result<Option<(Vec<u8>, i32)>> {
    match sysflag::compression_type(sys_flag) {
        None if !sysflag::is_compressed(sys_flag) => Ok(None),
        Some(sysflag::CompressionType::Zlib) => Ok(Some((
            zlib_inflate(body)?,
            sysflag::clear_compressed(sys_flag),
        ))),
        other => Err(Error::Protocol(protocol::Error::malformed(
            "compressed body",
            format!("unsupported compression {other:?} (sysflag {sys_flag:#x})"),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_flags() {
        let body: Vec<u8> = (0..10_000u32).map(|i| (i % 7) as u8).collect();
        let packed = zlib_compress(&body, 5).unwrap();
        assert!(packed.len() < body.len() / 10);
        let flag = compressed_sys_flag(0x4);
        assert_eq!(flag, 0x305);
        let (plain, cleared) = decompress_if_needed(flag, &packed).unwrap().unwrap();
        assert_eq!(plain, body);
        assert_eq!(cleared, 0x4);
        // A 4.x producer sets only COMPRESSED: still zlib.
        let (plain, cleared) = decompress_if_needed(0x1, &packed).unwrap().unwrap();
        assert_eq!((plain.len(), cleared), (body.len(), 0));
        assert_eq!(decompress_if_needed(0, b"raw").unwrap(), None);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(zlib_inflate(b"not zlib at all").is_err());
        assert!(decompress_if_needed(0x101, b"lz4").is_err());
        let packed = zlib_compress(b"hello world", 9).unwrap();
        assert!(zlib_inflate(&packed[..packed.len() - 3]).is_err());
    }
}
