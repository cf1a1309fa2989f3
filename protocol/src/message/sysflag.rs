//! `MessageSysFlag`: the bit field stored in every record's SYSFLAG (wire reference §5.2).
//!
//! Owns the bit constants and the small helpers that read or rewrite groups of bits
//! (transaction type, compression). It knows nothing about records themselves.

/// The body is compressed; the algorithm is in bits 8–10 ([`compression_type`]).
pub const COMPRESSED: i32 = 0x1;
/// Set by the broker when the topic's filter type is MULTI_TAG.
pub const MULTI_TAGS: i32 = 0x2;
/// Transaction bits (2–3): not a transactional message, or a committed half turned into a
/// normal record. Half messages are stored with this value.
pub const TRANSACTION_NOT_TYPE: i32 = 0;
/// Transaction bits: a prepared (half) message as sent by the producer.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
/// Transaction bits: a committed transactional message.
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
/// Transaction bits: a rolled-back transactional message.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
/// Mask of the two transaction bits.
pub const TRANSACTION_MASK: i32 = 0xC;
/// BORNHOST is an IPv6 address (20 bytes instead of 8).
pub const BORNHOST_V6: i32 = 0x10;
/// STOREHOST is an IPv6 address (20 bytes instead of 8).
pub const STOREHOST_V6: i32 = 0x20;
/// [5.x] The body wraps another message and must be unwrapped.
pub const NEED_UNWRAP: i32 = 0x40;
/// [5.x] The record is an "inner batch" (batch consume queue feature).
pub const INNER_BATCH: i32 = 0x80;
/// Mask of the compression-type bits (8–10).
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
/// Compression-type bits value for LZ4.
pub const COMPRESSION_LZ4: i32 = 0x100;
/// Compression-type bits value for ZSTD.
pub const COMPRESSION_ZSTD: i32 = 0x200;
/// Compression-type bits value for ZLIB (what 5.x Java producers send: sysFlag `0x301`).
pub const COMPRESSION_ZLIB: i32 = 0x300;

/// The algorithm of a compressed body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionType {
    /// LZ4 (bits value 1).
    Lz4,
    /// Zstandard (bits value 2).
    Zstd,
    /// zlib/deflate (bits value 3, or 0 for 4.x producers that set only [`COMPRESSED`]).
    Zlib,
}

impl CompressionType {
    /// The value to OR into a sysflag (together with [`COMPRESSED`]).
    pub fn sys_flag_bits(self) -> i32 {
        match self {
            CompressionType::Lz4 => COMPRESSION_LZ4,
            CompressionType::Zstd => COMPRESSION_ZSTD,
            CompressionType::Zlib => COMPRESSION_ZLIB,
        }
    }
}

/// The transaction bits of `sys_flag`: one of the `TRANSACTION_*_TYPE` values.
pub fn transaction_value(sys_flag: i32) -> i32 {
    sys_flag & TRANSACTION_MASK
}

/// `sys_flag` with its transaction bits replaced by `transaction_type` (a `TRANSACTION_*_TYPE`).
pub fn reset_transaction_value(sys_flag: i32, transaction_type: i32) -> i32 {
    (sys_flag & !TRANSACTION_MASK) | (transaction_type & TRANSACTION_MASK)
}

/// Whether the body is compressed.
pub fn is_compressed(sys_flag: i32) -> bool {
    sys_flag & COMPRESSED != 0
}

/// The compression algorithm named by bits 8–10. `None` when the body is not compressed or the
/// bits hold a value RocketMQ does not define (4–7). Bits value 0 with [`COMPRESSED`] set means
/// zlib, as written by 4.x producers.
pub fn compression_type(sys_flag: i32) -> Option<CompressionType> {
    if !is_compressed(sys_flag) {
        return None;
    }
    match (sys_flag & COMPRESSION_TYPE_MASK) >> 8 {
        0 | 3 => Some(CompressionType::Zlib),
        1 => Some(CompressionType::Lz4),
        2 => Some(CompressionType::Zstd),
        _ => None,
    }
}

/// `sys_flag` with [`COMPRESSED`] and the compression-type bits cleared (what a consumer does
/// after inflating the body).
pub fn clear_compressed(sys_flag: i32) -> i32 {
    sys_flag & !(COMPRESSED | COMPRESSION_TYPE_MASK)
}

/// Whether BORNHOST is stored as IPv6 (20 bytes).
pub fn is_born_host_v6(sys_flag: i32) -> bool {
    sys_flag & BORNHOST_V6 != 0
}

/// Whether STOREHOST is stored as IPv6 (20 bytes).
pub fn is_store_host_v6(sys_flag: i32) -> bool {
    sys_flag & STOREHOST_V6 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_bits() {
        let flag = COMPRESSED | TRANSACTION_PREPARED_TYPE | BORNHOST_V6;
        assert_eq!(transaction_value(flag), TRANSACTION_PREPARED_TYPE);
        let committed = reset_transaction_value(flag, TRANSACTION_COMMIT_TYPE);
        assert_eq!(
            committed,
            COMPRESSED | TRANSACTION_COMMIT_TYPE | BORNHOST_V6
        );
        assert_eq!(
            reset_transaction_value(committed, TRANSACTION_NOT_TYPE),
            COMPRESSED | BORNHOST_V6
        );
        assert_eq!(transaction_value(TRANSACTION_ROLLBACK_TYPE), 0xC);
    }

    #[test]
    fn compression_bits() {
        assert_eq!(compression_type(0x301), Some(CompressionType::Zlib));
        assert_eq!(compression_type(0x1), Some(CompressionType::Zlib));
        assert_eq!(compression_type(0x101), Some(CompressionType::Lz4));
        assert_eq!(compression_type(0x201), Some(CompressionType::Zstd));
        assert_eq!(compression_type(0x401), None);
        assert_eq!(compression_type(0x300), None);
        assert!(is_compressed(0x301));
        assert_eq!(clear_compressed(0x301 | MULTI_TAGS), MULTI_TAGS);
        assert_eq!(
            COMPRESSED | CompressionType::Zlib.sys_flag_bits(),
            0x301,
            "5.x Java producers send 0x301"
        );
    }

    #[test]
    fn host_bits() {
        assert!(is_born_host_v6(BORNHOST_V6));
        assert!(!is_store_host_v6(BORNHOST_V6));
        assert!(is_store_host_v6(STOREHOST_V6 | INNER_BATCH | NEED_UNWRAP));
    }
}
